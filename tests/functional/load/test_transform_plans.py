"""PostgreSQL plans the transform in bulk on a first load, even when its star tables were
vacuumed or analyzed while empty.

Such a table is known to the planner as empty, so it anti-joins the new rows against it
with a nested loop over a sequential scan of the very table the statement fills: each row
rescans every row inserted before it. A 10x first load took 52 s instead of 7.5 s."""

from __future__ import annotations

import sqlalchemy as sa

from sparkify_dw import load, schema, transform
from sparkify_dw.backends import for_settings, plan
from tests.support.helpers import run_load, settings_for


def _plans(conn: sa.Connection) -> str:
    plans = []
    for step in transform.steps(1):
        compiled = step.statement.compile(dialect=conn.dialect)
        lines = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars()
        plans.append("\n".join(lines))
    return "\n\n".join(plans)


def _analyzed_while_empty(url: sa.URL) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _setting(conn: sa.Connection) -> str:
    return str(conn.exec_driver_sql("SHOW enable_nestloop").scalar())


def test_a_first_load_after_vacuum_is_planned_in_bulk(pg_url: sa.URL) -> None:
    warehouse_url = pg_url
    schema.upgrade(warehouse_url)
    _analyzed_while_empty(warehouse_url)
    run_load(warehouse_url, steps=["stage"])
    backend = for_settings(settings_for(warehouse_url))
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    before, after = backend.load_plan("transform"), backend.load_plan("transformed")
    with engine.connect() as conn, conn.begin():
        # The hazard this guards against: without it, the planner rescans the target.
        assert "Nested Loop Anti Join" in _plans(conn)
        run = plan.Run(conn)
        plan.execute(before, run)
        assert _setting(conn) == "off"
        inside = _plans(conn)
        plan.execute(after, run)
        assert _setting(conn) == "on"
    engine.dispose()
    assert "Nested Loop" not in inside, inside


def test_a_later_load_keeps_the_planner_free(pg_warehouse_url: sa.URL) -> None:
    run_load(pg_warehouse_url)
    backend = for_settings(settings_for(pg_warehouse_url))
    engine = sa.create_engine(pg_warehouse_url, poolclass=sa.pool.NullPool)
    before = backend.load_plan("transform")
    with engine.connect() as conn, conn.begin():
        plan.execute(before, plan.Run(conn))
        # Index probes into a large star table stay possible on incremental loads.
        assert _setting(conn) == "on"
    engine.dispose()


def test_the_dry_run_shows_the_guard(pg_url: sa.URL) -> None:
    text = "\n".join(load.dry_run(settings_for(pg_url)))
    assert text.count("-- only when a star table is empty:") == 2
    off, back = "SET LOCAL enable_nestloop TO off", "SET LOCAL enable_nestloop TO DEFAULT"
    assert text.index(off) < text.index("INSERT INTO artists") < text.index(back)
    assert text.index("INSERT INTO songplays") < text.index(back)
