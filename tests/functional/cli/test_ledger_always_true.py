"""The ledger is always true, and the last line says what happened (issue 23's adversarial
cases 8, 10 and 16), on DuckDB and PostgreSQL.

- A load whose own connection is gone (a signal cut a statement short, the server ended
  the session) gets its row on a fresh connection.
- Where no row can be written at all, the last line says so instead of "the ledger says so".
- A signal just after the commit prints the summary, then one line, and exits 130 or 143.
- A signal while the warehouse is being opened is an interruption, not a traceback.
"""

from __future__ import annotations

import io
import os
import re
import signal
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import backends, config, load, load_result
from sparkify_dw.backends import plan
from sparkify_dw.commands import run_module
from sparkify_dw.errors import ConfigError
from sparkify_dw.models import LOADS
from tests.support.helpers import star_snapshot, table_rows

pytestmark = pytest.mark.serial  # sends signals to this process


def _ledger(url: sa.URL) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(LOADS.c.load_id, LOADS.c.status, LOADS.c.message).order_by(
                    LOADS.c.load_id
                )
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def _cli(url: sa.URL, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_module("load", ["--url", url.render_as_string(hide_password=False), *args], out, err)
    return code, out.getvalue(), err.getvalue()


def _backend_class(url: sa.URL) -> type[backends.Backend]:
    settings = config.resolve(url=url.render_as_string(hide_password=False))
    return type(backends.for_settings(settings))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_case8_a_signal_that_breaks_the_connection_still_gets_its_row(
    warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals, code: int
) -> None:
    """The statement a signal cut short took the connection with it (DuckDB and psycopg
    both can): the row is written on a fresh connection."""
    cls = _backend_class(warehouse_url)
    real_plan = cls.stage_plan

    def broken_by_a_signal(run: plan.Run) -> None:
        run.conn.invalidate()  # what an interrupted statement may leave
        os.kill(os.getpid(), sig)

    def stage_broken_by_a_signal(self: Any, request: Any) -> list[plan.Step]:
        return [*real_plan(self, request), plan.Call(broken_by_a_signal)]

    monkeypatch.setattr(cls, "stage_plan", stage_broken_by_a_signal)
    before = star_snapshot(warehouse_url)
    status, _out, err = _cli(warehouse_url)
    assert status == code, err
    assert err.splitlines() == [
        f"interrupted: {sig.name}; the load was rolled back, nothing changed (the ledger says so)"
    ]
    assert _ledger(warehouse_url) == [
        (1, "interrupted", f"interrupted by {sig.name} during stage staging_events")
    ]
    assert star_snapshot(warehouse_url) == before
    assert table_rows(warehouse_url, "staging_events") == []


def test_case8_when_no_row_can_be_written_the_last_line_says_so(
    pg_url: sa.URL, pg_admin_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends the session and takes no new ones: nothing can be recorded, and
    the command does not claim otherwise."""
    from sparkify_dw import schema
    from sparkify_dw.backends.postgresql import backend as postgresql

    schema.upgrade(pg_url)
    real_plan = postgresql.PostgreSQLBackend.stage_plan
    database = pg_url.database
    admin = sa.create_engine(pg_admin_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")

    def lose_the_server(run: plan.Run) -> None:
        with admin.connect() as a:
            a.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            a.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": database},
            )
        os.kill(os.getpid(), signal.SIGINT)

    def stage_then_lose_the_server(self: Any, request: Any) -> list[plan.Step]:
        return [*real_plan(self, request), plan.Call(lose_the_server)]

    monkeypatch.setattr(postgresql.PostgreSQLBackend, "stage_plan", stage_then_lose_the_server)
    try:
        status, _out, err = _cli(pg_url)
    finally:
        with admin.connect() as a:
            a.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.dispose()
    assert status == 130, err
    last = err.splitlines()[-1]
    assert last.startswith(
        "interrupted: SIGINT; the load was rolled back, nothing changed; the ledger could "
        "not record it ("
    ), err
    assert "ledger says so" not in err
    assert _ledger(pg_url) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_case16_a_signal_just_after_the_load_prints_the_summary_then_one_line(
    warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals, code: int
) -> None:
    """The signal lands after the load returned, while the command reports it: the summary
    is printed whole, the last line says the load stood, and the exit status is 128 + N."""
    real_summary = load_result.LoadResult.summary

    def summary_after_a_signal(self: load_result.LoadResult) -> str:
        os.kill(os.getpid(), sig)
        return real_summary(self)

    monkeypatch.setattr(load_result.LoadResult, "summary", summary_after_a_signal)
    status, out, err = _cli(warehouse_url)
    assert status == code, err
    assert re.search(r"inserted\s+songplays\s+3,478 rows", out), out
    assert err.splitlines() == [
        f"interrupted: {sig.name} arrived as load #1 committed; the load succeeded"
    ]
    assert [(r[0], r[1]) for r in _ledger(warehouse_url)] == [(1, "succeeded")]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_case10_a_signal_while_the_warehouse_opens_is_an_interruption(
    duckdb_warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB turns a signal during its connect into its own RuntimeError("Query
    interrupted"): the command says interrupted and exits 130, with no traceback."""
    from sparkify_dw.backends.duckdb import backend as duckdb_backend
    from sparkify_dw.interrupts import Interrupted

    real_connect = duckdb_backend.DuckDBBackend.connect

    def connect_interrupted(self: Any, engine: sa.Engine, *, reading: bool = False) -> Any:
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except Interrupted:
            raise RuntimeError("Query interrupted") from None
        return real_connect(self, engine, reading=reading)

    monkeypatch.setattr(duckdb_backend.DuckDBBackend, "connect", connect_interrupted)
    status, _out, err = _cli(duckdb_warehouse_url)
    assert status == 130, err
    assert err.splitlines() == ["interrupted: SIGINT; before the load began; nothing changed"]
    assert _ledger(duckdb_warehouse_url) == []


def test_the_library_takes_a_finite_wait(warehouse_url: sa.URL) -> None:
    for wait in (float("nan"), float("inf"), -1.0, 86401.0):
        with pytest.raises(ConfigError, match="not a number of seconds from 0 to 86400"):
            load.run(url=warehouse_url.render_as_string(hide_password=False), wait=wait)
    assert _ledger(warehouse_url) == []


def test_case10_a_signal_while_the_command_makes_its_engine_is_an_interruption(
    duckdb_warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """duckdb_engine runs a query while SQLAlchemy builds the dialect; a signal then is
    DuckDB's RuntimeError too (found by the signal sweep): the same one line."""
    from sparkify_dw import engines
    from sparkify_dw.interrupts import Interrupted

    real = engines.create_engine

    def create_interrupted(url: Any, **kw: Any) -> sa.Engine:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Interrupted:
            raise RuntimeError("Query interrupted") from None
        return real(url, **kw)

    monkeypatch.setattr(engines, "create_engine", create_interrupted)
    status, _out, err = _cli(duckdb_warehouse_url)
    assert status == 143, err
    assert err.splitlines() == ["interrupted: SIGTERM; before the load began; nothing changed"]
    assert _ledger(duckdb_warehouse_url) == []
