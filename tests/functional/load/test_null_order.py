"""The transform's window ORDER BY keys without a NULLS clause (Redshift doesn't support
one in window functions), and the same order of NULLs on every backend."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import load
from sparkify_dw.transform import desc_nulls_last
from tests.support.redshift_config import redshift_on_moto

redshift_on_moto = redshift_on_moto

VALUES = sa.values(sa.column("x", sa.Integer), name="t").data([(1,), (None,), (2,)])


def _ranked(url: sa.URL, order: list[Any]) -> list[int | None]:
    rank = sa.func.row_number().over(order_by=order).label("rank")
    query = sa.select(VALUES.c.x, rank).order_by(sa.literal_column("rank"))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [row.x for row in conn.execute(query)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_desc_nulls_last_is_the_same_everywhere(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = sa.make_url("duckdb://") if backend == "duckdb" else request.getfixturevalue("pg_url")
    assert _ranked(url, desc_nulls_last(VALUES.c.x)) == [2, 1, None]
    assert _ranked(url, [VALUES.c.x.asc()]) == [1, 2, None]  # ASC: NULLs last by default
    # Why the helper: a bare DESC puts NULLs first on PostgreSQL (and Redshift), last on DuckDB.
    assert _ranked(url, [VALUES.c.x.desc()])[0] == (2 if backend == "duckdb" else None)


def _windows(statement: str) -> list[str]:
    """Each ``OVER (…)`` clause of a statement, up to its closing parenthesis."""
    found = []
    for start in (i for i in range(len(statement)) if statement.startswith("OVER (", i)):
        depth, end = 0, start + len("OVER ")
        for end in range(start + len("OVER "), len(statement)):
            depth += {"(": 1, ")": -1}.get(statement[end], 0)
            if depth == 0:
                break
        found.append(statement[start : end + 1])
    return found


def test_no_nulls_clause_reaches_redshift(redshift_on_moto: Any) -> None:
    """In a window's ORDER BY (a query's own ORDER BY may have one: the checks' samples)."""
    statements = load.dry_run(redshift_on_moto, ["transform"])
    windows = [w for s in statements for w in _windows(s)]
    assert windows and not [w for w in windows if "NULLS" in w.upper()]
    assert any(
        "CASE WHEN (staging_events.session_id IS NULL) THEN 1 ELSE 0 END" in w for w in windows
    )
