"""A PostgreSQL database that can't hold UTF-8 text is refused with one line (exit 2) by every
command that writes, before anything is written: no table, no ledger row, no mojibake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sparkify_dw import schema
from tests.support.cli import alembic, invoke
from tests.support.fixtures import PgDatabases

ENCODINGS = {
    "LATIN1": "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
    "SQL_ASCII": "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
}


@pytest.fixture(params=sorted(ENCODINGS))
def not_utf8(request: pytest.FixtureRequest, pg_databases: PgDatabases) -> Iterator[sa.URL]:
    with pg_databases.database(kind="enc", options=ENCODINGS[request.param]) as url:
        yield url


def _text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def _tables(url: sa.URL) -> list[str]:
    engine = sa.create_engine(
        url, poolclass=sa.pool.NullPool, connect_args={"client_encoding": "utf8"}
    )
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _refusal(url: sa.URL, stderr: str) -> None:
    """One error line, naming the database and its encoding (Alembic may speak before)."""
    encoding = "LATIN1" if "LATIN1" in stderr else "SQL_ASCII"
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if "error" in line.lower()] == [
        f"error: database {url.database} has encoding {encoding}, and the warehouse stores "
        "UTF-8 text: create it with ENCODING 'UTF8' (e.g. CREATE DATABASE … ENCODING 'UTF8' "
        "TEMPLATE template0)"
    ]


def test_upgrade_refuses_a_database_not_in_utf8(not_utf8: sa.URL) -> None:
    done = invoke("upgrade", "--url", _text(not_utf8))
    assert done.returncode == 2, done.stderr
    _refusal(not_utf8, done.stderr)
    assert _tables(not_utf8) == []


def test_alembic_refuses_a_database_not_in_utf8(not_utf8: sa.URL) -> None:
    done = alembic("-x", f"url={_text(not_utf8)}", "upgrade", "head")
    assert done.returncode == 1
    _refusal(not_utf8, done.stderr)
    assert _tables(not_utf8) == []


def test_load_refuses_a_database_not_in_utf8(
    not_utf8: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A warehouse made there before the rule (by an engine of the test's own, which reads
    # the server's text as UTF-8): the load still writes nothing.
    plain = sa.create_engine(
        not_utf8, poolclass=sa.pool.NullPool, connect_args={"client_encoding": "utf8"}
    )
    with monkeypatch.context() as m, plain.begin() as conn:
        m.setattr(schema, "check_connection", lambda conn: None)
        schema.upgrade(conn)
    plain.dispose()
    done = invoke("load", "--url", _text(not_utf8))
    assert done.returncode == 2, done.stderr
    _refusal(not_utf8, done.stderr)
    engine = sa.create_engine(
        not_utf8, poolclass=sa.pool.NullPool, connect_args={"client_encoding": "utf8"}
    )
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
            for table in ("loads", "load_errors", "staging_events", "users", "songplays"):
                assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
    finally:
        engine.dispose()


def test_load_refuses_before_reading_the_schema(not_utf8: sa.URL) -> None:
    done = invoke("load", "--url", _text(not_utf8))
    assert done.returncode == 2, done.stderr
    _refusal(not_utf8, done.stderr)
