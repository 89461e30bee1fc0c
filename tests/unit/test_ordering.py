"""Text ordered by its bytes: what each dialect is sent, and DuckDB keeping byte order when
its default collation says otherwise."""

from __future__ import annotations

import sqlalchemy as sa

from sparkify_dw import engines
from sparkify_dw.constructs import by_bytes
from tests.support.redshift_conformance import Statement, grammar_errors, problems

T = sa.table("t", sa.column("name", sa.Text), sa.column("n", sa.Integer))
QUERY = sa.select(T.c.name).order_by(by_bytes(T.c.name).asc().nulls_last(), by_bytes(T.c.n))


def _sql(url: str) -> str:
    return " ".join(str(QUERY.compile(dialect=engines.dialect_for(url))).split())


def test_each_dialect_names_its_byte_wise_order() -> None:
    assert _sql("duckdb:///:memory:").endswith(
        'ORDER BY (t.name COLLATE "binary") ASC NULLS LAST, t.n'
    )
    assert _sql("postgresql+psycopg://u@h/db").endswith(
        'ORDER BY (t.name COLLATE "C") ASC NULLS LAST, t.n'
    )
    redshift = _sql("redshift+redshift_connector://u@h/db")
    assert redshift.endswith("ORDER BY COLLATE(t.name, 'case_sensitive') ASC NULLS LAST, t.n")
    assert grammar_errors(redshift) is None and problems(Statement(redshift)) == []
    # PostgreSQL's COLLATE clause would be refused by Redshift, and the conformance says so.
    assert problems(Statement(_sql("postgresql+psycopg://u@h/db"))) != []


def test_duckdb_orders_by_bytes_under_a_case_blind_default_collation() -> None:
    engine = sa.create_engine(
        "duckdb:///:memory:", connect_args={"config": {"default_collation": "nocase"}}
    )
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (name VARCHAR, n INTEGER)")
        conn.exec_driver_sql(
            "INSERT INTO t VALUES ('apple', 1), ('Banana', 2), ('é', 3), (NULL, 4)"
        )
        assert conn.execute(sa.select(T.c.name).order_by(T.c.name)).scalars().first() == "apple"
        assert conn.execute(QUERY).scalars().all() == ["Banana", "apple", "é", None]
    engine.dispose()
