"""The top-level API against real warehouses: what ``sparkify_dw.connect()`` hands out
reflects (pandas, ``sa.inspect``, ``Table(autoload_with=...)``) and only reads, on DuckDB
and PostgreSQL; every function finds the warehouse from a URL, an engine or the
configuration; a DuckDB reader waits behind a writer instead of failing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import sparkify_dw
from sparkify_dw import analytics, config
from sparkify_dw.errors import ConfigError, LockBusy, NoSuchLoad
from tests.support.helpers import run_load


def _text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def test_read_sql_table_works_on_what_connect_returns(sample_warehouse: sa.URL) -> None:
    engine = sparkify_dw.connect(_text(sample_warehouse))
    try:
        plays = pd.read_sql_table("songplays", engine)
        assert len(plays) == 3478
        assert str(plays["start_time"].dtype).startswith("datetime64")
        inspector = sa.inspect(engine)
        assert {"songplays", "users", "loads"} <= set(inspector.get_table_names())
        keys = inspector.get_foreign_keys("songs")  # songplays' are checked by the load
        assert ("artists", ("artist_id",)) in {
            (k["referred_table"], tuple(k["constrained_columns"])) for k in keys
        }
        songs = sa.Table("songs", sa.MetaData(), autoload_with=engine)
        assert songs.c.keys() == ["song_id", "title", "artist_id", "year", "duration"]
        assert isinstance(engine.pool, sa.pool.NullPool)  # nothing held between queries
    finally:
        engine.dispose()


def test_connect_only_reads(loaded_url: sa.URL) -> None:
    engine = sparkify_dw.connect(_text(loaded_url))
    with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM songplays"))
    writer = sparkify_dw.connect(_text(loaded_url), read_only=False)
    with writer.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (a INTEGER)"))
    assert "scratch" in sa.inspect(engine).get_table_names()
    assert pd.read_sql_table("songplays", engine).shape[0] == 3478


def test_each_function_finds_the_warehouse_by_url_engine_or_configuration(
    sample_warehouse: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _text(sample_warehouse)
    engine = sparkify_dw.connect(url)
    by_url = sparkify_dw.table("users", url=url)
    assert len(by_url) == 87 and list(by_url["user_id"]) == sorted(by_url["user_id"])
    pd.testing.assert_frame_equal(sparkify_dw.table("users", engine=engine), by_url)
    monkeypatch.setenv(config.ENV_URL, url)  # neither: the configuration, as the load's
    pd.testing.assert_frame_equal(sparkify_dw.table("users"), by_url)
    assert len(sparkify_dw.table("songplays", limit=5)) == 5

    history = sparkify_dw.history()
    assert list(history["status"]) == ["succeeded"] and history["load_id"].iloc[0] == 1
    # Modules to a type checker, functions when called (sparkify_dw.callable_module).
    rejected = sparkify_dw.errors(1)  # type: ignore[operator]
    assert list(rejected.columns)[:3] == ["load_id", "error_no", "table_name"] and rejected.empty
    with pytest.raises(NoSuchLoad):
        sparkify_dw.errors(99)  # type: ignore[operator]

    results = sparkify_dw.check()  # type: ignore[operator]
    assert results.passed and len(results) == len(results.as_frame())
    frame = results.as_frame()
    assert list(frame.columns) == ["check", "passed", "offenders", "samples"]
    assert frame["passed"].all() and frame["offenders"].sum() == 0

    songs = sparkify_dw.analytics.top_songs(limit=3, start="2018-11-01", end="2018-12-01")
    assert songs == analytics.top_songs(engine, limit=3, start=dt.date(2018, 11, 1))
    assert len(sparkify_dw.analytics.plays_by_hour(url=url, as_frame=True)) == 24
    with pytest.raises(ValueError, match="not both"):
        sparkify_dw.history(engine=engine, url=url)
    with pytest.raises(ValueError, match="no table 'plays'"):
        sparkify_dw.table("plays")


def test_load_is_a_function_that_leaves_the_warehouse_closed(duckdb_warehouse_url: sa.URL) -> None:
    """``sparkify_dw.load()`` from a notebook closes its connection: a read-only reader in
    the same process (DuckDB refuses a second configuration of an open file) and a
    writer in another process both open the file after it."""
    result = sparkify_dw.load(url=_text(duckdb_warehouse_url))  # type: ignore[operator]
    assert result.inserted["songplays"] == 3478
    assert list(sparkify_dw.history(url=_text(duckdb_warehouse_url))["load_id"]) == [1]
    writer = _hold_for_writing(str(duckdb_warehouse_url.database), 0)
    assert writer.wait(30) == 0


_HOLD = """
import sys, time, duckdb
db = duckdb.connect(sys.argv[1])  # read-write: DuckDB's one writer
print("open", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("INSERT INTO loads (load_id, started_at, status, backend, steps, sources) "
           "VALUES (2, now(), 'succeeded', 'duckdb', 'stage', 'x')")
db.close()
"""


def _hold_for_writing(path: str, seconds: float) -> subprocess.Popen[str]:
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLD, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline() == "open\n"
    return writer


def test_a_duckdb_query_waits_behind_a_writer_then_sees_its_work(
    duckdb_loaded_url: sa.URL, tmp_path: Path
) -> None:
    engine = sparkify_dw.connect(_text(duckdb_loaded_url), wait=30)
    assert len(sparkify_dw.history(engine=engine)) == 1
    writer = _hold_for_writing(str(duckdb_loaded_url.database), 1.5)
    began = time.monotonic()
    loads = pd.read_sql_table("loads", engine)  # DuckDB alone would fail at once
    waited = time.monotonic() - began
    assert writer.wait(30) == 0
    assert sorted(loads["load_id"]) == [1, 2] and waited >= 0.5

    impatient = sparkify_dw.connect(_text(duckdb_loaded_url), wait=0.5)
    writer = _hold_for_writing(str(duckdb_loaded_url.database), 3)
    try:
        with pytest.raises(LockBusy, match=r"open for writing, probably a load; waited 0\.5s"):
            sparkify_dw.table("users", engine=impatient)
    finally:
        writer.kill()
        writer.wait(30)


def test_a_missing_duckdb_warehouse_is_one_line_not_a_new_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    with pytest.raises(ConfigError, match="no warehouse at"):
        sparkify_dw.connect(f"duckdb:///{missing}")
    assert not missing.exists()


def test_a_loaded_warehouse_is_read_while_the_engine_lives(duckdb_warehouse_url: sa.URL) -> None:
    """The engine a notebook keeps holds nothing between queries: a load in this process
    runs while it exists, and the next query sees it."""
    engine = sparkify_dw.connect(_text(duckdb_warehouse_url))
    assert sparkify_dw.history(engine=engine).empty
    run_load(duckdb_warehouse_url)
    assert list(sparkify_dw.history(engine=engine)["status"]) == ["succeeded"]
    assert len(sparkify_dw.table("songplays", engine=engine)) == 3478
