"""Issue 27, "make the commands one family": each misbehaviour a new user met, as they met it
(in this process through click's runner, except where another process holds the file)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.cli import invoke


def _path(url: sa.URL) -> Path:
    return Path(url.database or "")


def _one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    return r.stderr


def test_docs_writes_to_site_without_out(tmp_path: Path) -> None:
    r = invoke("docs", "--no-warehouse", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert "to site" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--max-ag", "1h"],
        ["docs", "--no-ware"],
        [
            "synth",
            *[
                "--events",
                "10",
                "--songs",
                "2",
                "--days",
                "1",
                "--seed",
                "1",
                "--out",
                "x",
                "--forc",
            ],
        ],
        ["cluster", "status", "--conf", "dwh.cfg"],
    ],
    ids=["status", "docs", "synth", "cluster"],
)
def test_click_commands_refuse_abbreviations_in_one_line(tmp_path: Path, args: list[str]) -> None:
    r = invoke(*args, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "No such option" in _one_line(r)
    assert not list(tmp_path.iterdir())  # nothing was read, written or created


@pytest.fixture
def held(duckdb_loaded_url: sa.URL) -> Iterator[sa.URL]:
    """The loaded warehouse, opened for writing by another process (as a load holds it)
    for about three seconds."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', "
            "flush=True); time.sleep(3)",
            str(_path(duckdb_loaded_url)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield duckdb_loaded_url
    finally:
        proc.kill()
        proc.wait()


def test_status_waits_for_a_running_load_and_says_so_once(held: sa.URL) -> None:
    started = time.monotonic()
    r = invoke("status", "--url", held.render_as_string(), "--no-checks", "--wait", "60", "-v")
    assert r.returncode == 0, r.stderr
    assert "songplays 3,478" in r.stdout and time.monotonic() - started < 60
    said = [line for line in r.stderr.splitlines() if "waiting up to 60s" in line]
    assert len(said) == 1 and "open, probably a load" in said[0], r.stderr


def test_status_gives_up_after_wait_with_one_line_exit_1(held: sa.URL) -> None:
    r = invoke("status", "--url", held.render_as_string(), "--wait", "0.5")
    assert r.returncode == 1 and r.stdout == ""
    assert "open, probably another load; waited 0.5s" in _one_line(r)
    assert "Conflicting lock" not in r.stderr  # not DuckDB's raw message


def test_check_quiet_prints_only_failures(duckdb_loaded_url: sa.URL) -> None:
    url = duckdb_loaded_url.render_as_string()
    r = invoke("check", "-q", "--url", url)
    assert r.returncode == 0 and r.stdout == "all 22 checks passed\n"
    engine = sa.create_engine(duckdb_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # a staged play that never made it into songplays
        conn.exec_driver_sql(
            "DELETE FROM songplays WHERE songplay_id = (SELECT min(songplay_id) FROM songplays)"
        )
    engine.dispose()
    r = invoke("check", "--url", url, "-q")
    lines = r.stdout.splitlines()
    assert r.returncode == 1 and lines[0].startswith("ok ")
    assert all(line.startswith("FAIL") for line in lines[2:-1]) and len(lines) > 3
    assert lines[-1].endswith(" of 22 checks failed")


def test_errors_on_an_empty_ledger_exits_0(duckdb_warehouse_url: sa.URL) -> None:
    url = duckdb_warehouse_url.render_as_string()
    r = invoke("errors", "--url", url)
    assert (r.returncode, r.stdout, r.stderr) == (0, "no loads yet\n", "")
    r = invoke("errors", "--url", url, "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = invoke("errors", "3", "--url", url)  # a load that doesn't exist is still usage
    assert r.returncode == 2 and "load #3 does not exist" in _one_line(r)


def test_downgrade_takes_a_relative_revision_without_dashes(tmp_path: Path) -> None:
    assert invoke("upgrade", "-q", cwd=tmp_path).returncode == 0
    head = invoke("current", cwd=tmp_path).stdout.split()[0]
    r = invoke("downgrade", "-1", "--yes", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    now = invoke("current", cwd=tmp_path).stdout.split()[0]
    assert now != head and int(now) == int(head) - 1
    r = invoke("downgrade", "--bogus", cwd=tmp_path)  # a flag it doesn't know still is one
    assert r.returncode == 2 and "--bogus" in _one_line(r)


def test_analytics_refuses_a_start_after_its_end(duckdb_loaded_url: sa.URL) -> None:
    r = invoke(
        "analytics",
        "--url",
        duckdb_loaded_url.render_as_string(),
        "--start",
        "2019-01-01",
        "--end",
        "2018-01-01",
    )
    assert r.returncode == 2 and r.stdout == ""
    assert "--start 2019-01-01T00:00:00 is not before --end 2018-01-01T00:00:00" in _one_line(r)
    r = invoke(  # an offset is compared as UTC: 23:00 the day before is before midnight
        "analytics",
        "--url",
        duckdb_loaded_url.render_as_string(),
        "--start",
        "2018-11-30T00:00+01:00",
        "--end",
        "2018-11-30",
        "--json",
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["load", "--max-errors", "abc"], "'abc' is not a whole number"),
        (["load", "--max-errors", "-1"], "-1 is not a whole number from 0"),
        (["load", "--max-errors", "1.5"], "'1.5' is not a whole number"),
        (["history", "--limit", "x"], "'x' is not a whole number"),
        (["analytics", "--limit", "0"], "0 is not a whole number from 1"),
    ],
)
def test_numbers_are_refused_in_words(tmp_path: Path, args: list[str], said: str) -> None:
    r = invoke(*args, cwd=tmp_path)
    assert r.returncode == 2 and said in _one_line(r)
    assert "integer range" not in r.stderr and "valid integer" not in r.stderr


def test_history_fits_80_columns_and_wide_shows_sources(duckdb_loaded_url: sa.URL) -> None:
    url = duckdb_loaded_url.render_as_string()
    r = invoke("history", "--url", url)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == 3  # header, rule, one load
    assert max(len(line.rstrip()) for line in lines) <= 80, r.stdout
    assert lines[0].split()[:5] == ["load", "started", "(UTC)", "took", "status"]
    assert "succeeded" in lines[2] and "3,478" in lines[2] and "log_data=" not in r.stdout
    wide = invoke("history", "--wide", "--url", url)
    assert wide.returncode == 0 and "log_data=" in wide.stdout and "staged" in wide.stdout
