"""``python -m sparkify_dw.status``: freshness for cron, read-only, one-line errors."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, status, synth
from sparkify_dw.cli import run
from tests.support.helpers import run_load
from tests.support.redshift_mapping import for_postgresql


def run_status(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["status", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def url_text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture
def fresh_data(tmp_path: Path) -> tuple[Path, dt.date]:
    """Synthetic events of yesterday (UTC): as fresh as a nightly load's."""
    yesterday = status.utcnow().date() - dt.timedelta(days=1)
    synth.generate(tmp_path / "data", events=800, songs=40, days=1, seed=3, start_date=yesterday)
    return tmp_path / "data", yesterday


def test_parse_age() -> None:
    assert status.parse_age("26h") == dt.timedelta(hours=26)
    assert status.parse_age("90s") == dt.timedelta(seconds=90)
    assert status.parse_age("45m") == dt.timedelta(minutes=45)
    assert status.parse_age("1.5d") == dt.timedelta(hours=36)
    for bad in ("26", "h", "-1h", "0h", "26 hours", "2w", ""):
        with pytest.raises(ValueError):
            status.parse_age(bad)
    assert status.format_age(dt.timedelta(days=1, hours=2, minutes=3)) == "1d 2h 3m"
    assert status.format_age(dt.timedelta(minutes=5, seconds=10)) == "5m 10s"
    assert status.format_age(dt.timedelta(hours=26)) == "1d 2h"
    assert status.format_age(dt.timedelta(0)) == "0s"


def test_bad_max_age_is_a_one_line_usage_error() -> None:
    code, out, err = run_status("--max-age", "26x")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--max-age" in err and "26x" in err
    code, _, err = run_status("--now", "yesterday")
    assert code == 2 and err.count("\n") == 1 and "--now" in err
    code, _, err = run_status("--no-such-flag")
    assert code == 2 and err.count("\n") == 1


def test_fresh_then_stale(warehouse_url: sa.URL, fresh_data: tuple[Path, dt.date]) -> None:
    data, day = fresh_data
    result = run_load(warehouse_url, log_data=data / "log_data", song_data=data / "song_data")
    assert result.inserted["songplays"] > 0
    # Yesterday's events, the newest late in the day: younger than 26 h, as after a nightly
    # load (a day's file ends near midnight).
    code, out, err = run_status("--url", url_text(warehouse_url), "--max-age", "26h")
    assert code == 0, out + err
    assert "fresh" in out and "load #1 finished" in out and "all 22 checks passed" in out
    assert f"newest event  {day:%Y-%m-%d}" in out
    # The same warehouse, asked from three days on: older than 2d.
    later = (dt.datetime.combine(day, dt.time()) + dt.timedelta(days=3)).isoformat()
    code, out, err = run_status(
        "--url", url_text(warehouse_url), "--max-age", "26h", "--now", later
    )
    assert code == 1, out + err
    assert "STALE" in out


def test_json(warehouse_url: sa.URL, fresh_data: tuple[Path, dt.date]) -> None:
    data, day = fresh_data
    result = run_load(warehouse_url, log_data=data / "log_data", song_data=data / "song_data")
    now = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1, hours=6)
    code, out, _ = run_status(
        "--url", url_text(warehouse_url), "--json", "--max-age", "26h", "--now", now.isoformat()
    )
    doc = json.loads(out)
    assert code == 0 and doc["stale"] is False
    assert doc["rows"]["songplays"] == result.counts["songplays"]
    assert set(doc["rows"]) == {"artists", "songs", "users", "time", "songplays"}
    assert doc["last_successful_load"]["load_id"] == 1
    assert doc["last_load_rejected"] == 0 and doc["failed_checks"] == []
    newest = dt.datetime.fromisoformat(doc["newest_event"].removesuffix("Z"))
    assert newest.date() == day
    assert doc["age_seconds"] == pytest.approx((now - newest).total_seconds())
    assert doc["max_age_seconds"] == 26 * 3600 and doc["checks_run"] == 22


def test_no_max_age_never_fails_on_age(duckdb_url: sa.URL) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    code, out, _ = run_status("--url", url_text(duckdb_url))
    assert code == 0 and "none loaded" in out and "last success  none" in out
    code, out, _ = run_status("--url", url_text(duckdb_url), "--max-age", "1d")
    assert code == 1 and "STALE" in out  # nothing loaded is not fresh


def test_failed_checks_and_rejected_records(duckdb_url: sa.URL, tmp_path: Path) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    sample = config.SAMPLE_DIR / "log_data/2018/11/2018-11-01-events.json"
    (logs / "2018-11-01-events.json").write_bytes(sample.read_bytes() + b"not json\n")
    result = run_load(duckdb_url, log_data=logs, max_errors=5)
    assert result.rejected["staging_events"] == 1
    engine = sa.create_engine(duckdb_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # a staged play that never reached songplays
        conn.exec_driver_sql(
            "INSERT INTO staging_events (page, ts, user_id, session_id, "
            "item_in_session, level) VALUES ('NextSong', 1, 1, 1, 1, 'free')"
        )
    engine.dispose()
    code, out, _ = run_status("--url", url_text(duckdb_url))
    assert code == 0
    assert "1 records rejected" in out
    assert "1 of 22 checks failed: staging_events.next_song_in_songplays: 1" in out
    code, out, _ = run_status("--url", url_text(duckdb_url), "--no-checks")
    assert "checks        not run" in out


def test_missing_duckdb_file_is_an_error_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.duckdb"
    code, out, err = run_status("--url", f"duckdb:///{path}")
    assert code == 2 and out == ""
    assert err.startswith("error: no warehouse at ") and err.count("\n") == 1
    assert not path.exists()


def test_status_is_read_only(warehouse_url: sa.URL) -> None:
    settings = config.resolve(url=url_text(warehouse_url))
    engine = status.readonly_engine(settings)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as caught:
            conn.exec_driver_sql("CREATE TABLE intruder (x INTEGER)")
    finally:
        engine.dispose()
    assert "read" in str(caught.value).lower()  # read-only (DuckDB) / READ ONLY (PostgreSQL)


def test_errors_hide_the_password(duckdb_url: sa.URL) -> None:
    code, out, err = run_status("--url", "postgresql+psycopg://u:s3cret-pw@127.0.0.1:9/x")
    assert code == 1 and out == ""  # a database that can't be reached: 1, as every command
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "s3cret-pw" not in err


def test_command_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sparkify_dw.status", "--max-age", "1x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    proc = subprocess.run(
        [sys.executable, "-m", "sparkify_dw.status", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0 and "--max-age" in proc.stdout


def test_statements_are_plain_sql_that_redshift_runs(pg_url: sa.URL) -> None:
    """Every statement status sends, compiled for Redshift, runs on PostgreSQL as the
    loader's transform does (test_parity): plain SELECTs, nothing PostgreSQL-only."""
    from sparkify_dw import schema
    from tests.functional.load.test_parity import REDSHIFT

    schema.upgrade(pg_url)
    run_load(pg_url)
    sent: list[sa.ClauseElement] = []
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    sa.event.listen(engine, "before_execute", lambda conn, clause, *args: sent.append(clause))
    settings = config.resolve(url=url_text(pg_url))
    with engine.connect() as conn:
        found = status.gather(conn, settings, status.utcnow(), dt.timedelta(hours=1))
    assert found.rows["songplays"] == 3478 and len(sent) > 20
    # Alembic's lookup of the schema revision reflects through the dialect (the loader
    # shares it); what status itself asks is plain Core.
    ours = [c for c in sent if "pg_catalog" not in str(c)]
    assert len(ours) >= len(sent) - 2
    statements = [
        str(c.compile(dialect=REDSHIFT, compile_kwargs={"literal_binds": True})) for c in ours
    ]
    with engine.connect() as conn:
        for text in statements:
            assert text.lstrip().startswith("SELECT"), text
            assert "RETURNING" not in text and "::" not in text, text
            conn.exec_driver_sql(for_postgresql(text))
    engine.dispose()
