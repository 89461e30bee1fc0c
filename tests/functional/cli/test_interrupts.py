"""One line for every failure and the truth in the ledger: SIGINT and SIGTERM end a load
with exit 130 or 143 and an "interrupted" row written after the rollback; a signal in the
commit window never turns a committed load into a failed one; database errors (timeout,
lost connection, bad input the engine refuses) are one line naming the step."""

from __future__ import annotations

import io
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import backends, config
from sparkify_dw.backends import plan
from sparkify_dw.cli import run_module
from sparkify_dw.load import loader
from sparkify_dw.load import steps as load_steps
from sparkify_dw.models import LOADS
from tests.support.helpers import SAMPLE, star_snapshot, table_rows

pytestmark = pytest.mark.serial  # sends signals to real loads


def ledger(url: sa.URL) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                LOADS.c.load_id, LOADS.c.status, LOADS.c.rows_staged, LOADS.c.message
            ).order_by(LOADS.c.load_id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def cli(url: sa.URL, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_module("load", ["--url", url.render_as_string(hide_password=False), *args], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_stage_rolls_back_and_says_so(
    warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals, code: int
) -> None:
    backend_cls = type(
        backends.for_settings(
            config.resolve(url=warehouse_url.render_as_string(hide_password=False))
        )
    )
    real_plan = backend_cls.stage_plan

    def signal_now(run: plan.Run) -> None:
        os.kill(os.getpid(), sig)  # the handler raises at the next bytecode

    def stage_then_signal(self: Any, request: Any) -> list[plan.Step]:
        return [*real_plan(self, request), plan.Call(signal_now)]

    monkeypatch.setattr(backend_cls, "stage_plan", stage_then_signal)
    before = star_snapshot(warehouse_url)
    status, _out, err = cli(warehouse_url)
    assert status == code
    assert err.count("\n") == 1 and err.startswith(f"interrupted: {sig.name}")
    assert "Traceback" not in err
    assert star_snapshot(warehouse_url) == before
    assert table_rows(warehouse_url, "staging_events") == []
    rows = ledger(warehouse_url)
    assert [(r[0], r[1]) for r in rows] == [(1, "interrupted")]
    assert rows[0][3] == f"interrupted by {sig.name} during stage staging_events"
    # the handlers are back as they were
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_commit_window_keeps_the_committed_load(
    warehouse_url: sa.URL, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    real_commit = loader.Load.commit

    def commit_then_signal(self: loader.Load, transaction: sa.RootTransaction) -> None:
        real_commit(self, transaction)
        os.kill(os.getpid(), sig)  # arrives the instant the commit returns

    monkeypatch.setattr(loader.Load, "commit", commit_then_signal)
    status, out, err = cli(warehouse_url)
    assert status == 128 + sig
    assert re.search(r"inserted\s+songplays\s+3,478 rows", out), out
    assert err.count("\n") == 1
    assert err.startswith(
        f"interrupted: {sig.name} arrived as load #1 committed; the load succeeded"
    )
    rows = ledger(warehouse_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "succeeded", 4091 + 36)]  # one row
    assert len(table_rows(warehouse_url, "songplays")) == 3478


def test_interrupted_then_the_next_load_is_whole(
    duckdb_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    real_transform = load_steps._transform

    def transform_then_signal(*args: Any, **kwargs: Any) -> None:
        real_transform(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(load_steps, "_transform", transform_then_signal)
    assert cli(duckdb_url)[0] == 130
    monkeypatch.setattr(load_steps, "_transform", real_transform)
    assert cli(duckdb_url)[0] == 0
    assert [(r[0], r[1]) for r in ledger(duckdb_url)] == [(1, "interrupted"), (2, "succeeded")]
    assert len(table_rows(duckdb_url, "songplays")) == 3478


def test_a_real_sigterm_to_the_command(tmp_path: Path, duckdb_url: sa.URL) -> None:
    """The command itself, in its own process: SIGTERM while it stages 40 days."""
    import subprocess
    import sys
    import time

    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = (SAMPLE / "log_data/2018/11/2018-11-15-events.json").read_bytes()
    for i in range(400):  # many small files: staging takes a while
        (logs / f"{i:04d}-events.json").write_bytes(lines)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sparkify_dw.load",
            "--url",
            duckdb_url.render_as_string(),
            "--log-data",
            str(logs),
            "-v",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the load runs
        if "stage: start" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert err.splitlines()[-1].startswith("interrupted: SIGTERM")
    assert [(r[0], r[1]) for r in ledger(duckdb_url)] == [(1, "interrupted")]


# --- database errors are one line naming the step --------------------------------------------


def test_statement_timeout_is_one_line(pg_url: sa.URL, monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify_dw import schema
    from sparkify_dw.backends.postgresql import backend as postgresql

    schema.upgrade(pg_url)
    real_keep = postgresql._Keep.run

    def keep_with_timeout(self: Any, run: plan.Run) -> None:
        run.conn.exec_driver_sql("SET LOCAL statement_timeout = 1")  # this transaction only
        run.conn.exec_driver_sql("SELECT pg_sleep(0.05)")
        real_keep(self, run)

    monkeypatch.setattr(postgresql._Keep, "run", keep_with_timeout)
    status, _, err = cli(pg_url)
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        "error: stage staging_events: canceling statement due to statement timeout"
    ), err
    rows = ledger(pg_url)
    assert [r[1] for r in rows] == ["failed"] and rows[0][3] == err[len("error: ") :].strip()


def test_a_connection_killed_mid_copy_is_one_line(
    pg_url: sa.URL, pg_admin_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparkify_dw import schema
    from sparkify_dw.backends.postgresql import backend as postgresql

    schema.upgrade(pg_url)
    real_copy = postgresql._CopyRecords.run

    def copy_and_die(self: Any, run: plan.Run) -> None:
        pid = run.conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
        admin = sa.create_engine(pg_admin_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        real_copy(self, run)

    monkeypatch.setattr(postgresql._CopyRecords, "run", copy_and_die)
    status, _, err = cli(pg_url)
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("error: stage staging_events: "), err
    # The session is gone: its failed row was written on a fresh connection (case 8).
    rows = ledger(pg_url)
    assert [(r[0], r[1]) for r in rows] == [(1, "failed")]
    assert rows[0][3] == err.removeprefix("error: ").strip()


def test_bad_input_postgresql_refuses_is_a_rejected_record_not_an_error(
    pg_url: sa.URL, tmp_path: Path
) -> None:
    """A lone surrogate, or 1e1000000 in an unmapped field: PostgreSQL's jsonb refuses them;
    the load quarantines them with file:line under --max-errors."""
    from sparkify_dw import schema

    schema.upgrade(pg_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    good = json.loads(
        (SAMPLE / "log_data/2018/11/2018-11-15-events.json").read_text().splitlines()[0]
    )
    text = json.dumps(good)
    (logs / "a.json").write_text(
        "\n".join(
            [
                text,
                text.replace('"Logged In"', '"\\ud800"'),
                text[:-1] + ', "x": 1e1000000}',
                text[:-1] + ', "y": ' + "[" * 1100 + "]" * 1100 + "}",
            ]
        )
        + "\n"
    )
    status, out, err = cli(pg_url, "--log-data", str(logs), "--max-errors", "3")
    assert status == 0, err
    assert "3 rejected" in out
    status, out, _ = cli(pg_url, "--errors")
    assert "a.json:2" in out and "lone surrogate" in out
    assert "a.json:3" in out and "a number out of range" in out
    assert "a.json:4" in out and "nested deeper than 512" in out


def test_long_lines_on_duckdbs_careful_path(duckdb_url: sa.URL, tmp_path: Path) -> None:
    """A file DuckDB reads itself, re-read through Python because one record is pretty-
    printed, with a 3 MB line: the line is a record like any other."""
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    good = json.loads(
        (SAMPLE / "log_data/2018/11/2018-11-15-events.json").read_text().splitlines()[0]
    )
    huge = dict(good, extra="x" * 3_000_000)
    (logs / "a.json").write_text(json.dumps(good, indent=2) + "\n" + json.dumps(huge) + "\n")
    status, _out, err = cli(duckdb_url, "--log-data", str(logs), "--steps", "stage")
    assert status == 0, err
    assert len(table_rows(duckdb_url, "staging_events")) == 2


def test_disk_full_is_one_line(pg_url: sa.URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that runs out of disk mid-COPY (SQLSTATE 53100): not bad input, so no
    second try through Python's framing; one line naming the step."""
    import psycopg

    from sparkify_dw import schema
    from sparkify_dw.backends.postgresql import backend as postgresql

    schema.upgrade(pg_url)
    calls: list[bool] = []

    def copy_on_a_full_disk(*args: Any, **kw: Any) -> Any:
        # Inside the COPY, as the driver raises it: the fast path's lines, or the careful
        # path's framed records.
        calls.append(kw.get("careful", False))
        raise psycopg.errors.DiskFull('could not extend file "base/1/2": No space left on device')

    monkeypatch.setattr(postgresql, "_copy_text", copy_on_a_full_disk)
    monkeypatch.setattr(
        postgresql, "iter_records", lambda *a, **kw: copy_on_a_full_disk(careful=True)
    )
    status, _, err = cli(pg_url)
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith('error: stage staging_events: could not extend file "base/1/2"'), err
    assert calls == [False]
    assert [r[1] for r in ledger(pg_url)] == ["failed"]


def test_a_signal_during_analyze_after_the_commit(
    pg_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparkify_dw import schema
    from sparkify_dw.backends.postgresql import backend as postgresql

    schema.upgrade(pg_url)
    real = postgresql.PostgreSQLBackend.load_plan

    def maintenance_then_signal(self: Any, phase: str, *args: Any, **kw: Any) -> Any:
        if phase == "committed":
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, phase, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(postgresql.PostgreSQLBackend, "load_plan", maintenance_then_signal)
    status, _out, err = cli(pg_url)
    assert status == 130 and err.startswith("interrupted: SIGINT arrived as load #1 committed")
    assert [(r[0], r[1]) for r in ledger(pg_url)] == [(1, "succeeded")]
