"""``sparkify-dw`` as a user types it: every command, JSON for scripts, exit codes, misuse
refused before anything runs (no file, no ledger row)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from sparkify_dw import __version__, commands
from sparkify_dw.models import LOADS


def sdw(*args: str, cwd: Path) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(commands.main, list(args), prog_name="sparkify-dw")
    finally:
        os.chdir(old)


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    assert sdw("upgrade", cwd=tmp_path).exit_code == 0
    result = sdw("load", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    return tmp_path


def loads(folder: Path) -> int:
    engine = sa.create_engine(f"duckdb:///{folder / 'sparkify.duckdb'}", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(LOADS)).scalar_one())
    engine.dispose()
    return count


def test_console_script_version_and_help_are_fast(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sparkify-dw"
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"sparkify-dw, version {__version__}"
    module = subprocess.run([sys.executable, "-m", "sparkify_dw", "--help"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert module.returncode == 0 and "upgrade" in module.stdout and "load" in module.stdout
    assert not list(tmp_path.iterdir())  # asking for help writes nothing


def test_quick_start_then_every_read_command(loaded: Path) -> None:
    history = json.loads(sdw("history", "--json", cwd=loaded).output)
    assert [(h["load_id"], h["status"], h["rows_inserted"]) for h in history] == [
        (1, "succeeded", 3478)]
    assert history[0]["steps"] == "stage,transform,check" and "log_data=" in history[0]["sources"]
    table = sdw("history", cwd=loaded).output.splitlines()
    assert table[0].split()[:4] == ["load", "started", "finished", "status"]
    assert "3,478" in table[1] and "4,127" in table[1]
    assert json.loads(sdw("errors", "--json", cwd=loaded).output) == []
    check = sdw("check", "--json", cwd=loaded)
    assert check.exit_code == 0 and all(c["passed"] for c in json.loads(check.output))
    answers = json.loads(sdw("analytics", "--limit", "3", "--json", cwd=loaded).output)
    assert answers["matched_share"][0]["plays"] == 3478
    assert len(answers["most_active_users"]) == 3
    verify = sdw("analytics", "--verify",
                 str(Path(commands.__file__).parent / "sample" / "expected_analytics.json"),
                 cwd=loaded)
    assert verify.exit_code == 0, verify.output
    assert sdw("current", cwd=loaded).output.strip() == "0003 (head 0003)"


@pytest.mark.parametrize(("args", "message"), [
    (["-v", "-q", "history"], "-v and -q contradict each other"),
    (["load", "--steps", ""], "name at least one of stage, transform, check"),
    (["load", "--steps", "stage,nope"], "unknown step 'nope'"),
    (["load", "--max-errors", "-1"], "-1 is not in the range x>=0"),
    (["load", "--wait", "-5"], "-5.0 is not in the range x>=0"),
    (["load", "--since", "2018-11-09", "--until", "2018-11-03"], "is after --until"),
    (["history", "--limit", "0"], "0 is not in the range x>=1"),
    (["errors", "99"], "load #99 does not exist"),
])
def test_misuse_is_one_line_exit_2_and_records_nothing(loaded: Path, args: list[str],
                                                       message: str) -> None:
    before = loads(loaded)
    result = sdw(*args, cwd=loaded)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert loads(loaded) == before


@pytest.mark.parametrize("args", [["history"], ["errors"], ["check"], ["analytics"],
                                  ["current"]])
def test_read_commands_never_create_a_warehouse(tmp_path: Path, args: list[str]) -> None:
    result = sdw(*args, cwd=tmp_path)
    assert result.exit_code == 2
    assert "no warehouse at" in result.output and "sparkify-dw upgrade" in result.output
    assert not list(tmp_path.iterdir())


def test_read_commands_work_on_a_read_only_file(loaded: Path) -> None:
    path = loaded / "sparkify.duckdb"
    path.chmod(0o444)
    try:
        assert sdw("history", "--json", cwd=loaded).exit_code == 0
        assert sdw("check", cwd=loaded).exit_code == 0
    finally:
        path.chmod(0o644)


def test_a_failed_check_exits_1(loaded: Path) -> None:
    engine = sa.create_engine(f"duckdb:///{loaded / 'sparkify.duckdb'}", poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # a staged play that never made it into songplays
        conn.exec_driver_sql("DELETE FROM songplays WHERE songplay_id = (SELECT min(songplay_id) "
                             "FROM songplays)")
    engine.dispose()
    result = sdw("check", cwd=loaded)
    assert result.exit_code == 1 and "FAIL" in result.output


def test_load_before_upgrade_leaves_no_file(tmp_path: Path) -> None:
    result = sdw("load", cwd=tmp_path)
    assert result.exit_code == 2 and "sparkify-dw upgrade" in result.output
    assert not list(tmp_path.iterdir())


def test_upgrade_and_downgrade_speak(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sparkify-dw"
    up = subprocess.run([str(script), "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                        timeout=120)
    assert up.returncode == 0 and "Running upgrade 0002 -> 0003" in up.stderr
    down = subprocess.run([str(script), "downgrade"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert down.returncode == 0
    assert "dropping the warehouse and its rows: songplays, time" in down.stderr
    unreachable = subprocess.run([str(script), "upgrade", "--url",
                                  "postgresql+psycopg://u:Sup3r-s3cret@127.0.0.1:1/db"],
                                 capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert unreachable.returncode != 0
    assert unreachable.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in unreachable.stderr and "Sup3r-s3cret" not in unreachable.stderr
