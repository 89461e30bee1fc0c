"""``sparkify-dw`` as a user types it: every command, JSON for scripts, exit codes, misuse
refused before anything runs (no file, no ledger row)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from sparkify_dw import __version__, cli, schema
from sparkify_dw.cli import run_module
from sparkify_dw.models import LOADS
from tests.support import cli as run_cli


def sdw(*args: str, cwd: Path) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli.main, list(args), prog_name="sparkify-dw")
    finally:
        os.chdir(old)


@pytest.fixture
def loaded(tmp_path: Path, duckdb_loaded_url: sa.URL) -> Path:
    """A folder whose ``sparkify.duckdb`` holds the loaded sample (a copy of the session's)."""
    Path(duckdb_loaded_url.database or "").rename(tmp_path / "sparkify.duckdb")
    return tmp_path


def loads(folder: Path) -> int:
    engine = sa.create_engine(f"duckdb:///{folder / 'sparkify.duckdb'}", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(LOADS)).scalar_one())
    engine.dispose()
    return count


def test_console_script_version_and_help_are_fast(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sparkify-dw"
    proc = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"sparkify-dw, version {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "sparkify_dw", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert module.returncode == 0 and "upgrade" in module.stdout and "load" in module.stdout
    assert not list(tmp_path.iterdir())  # asking for help writes nothing


def test_quick_start_then_every_read_command(tmp_path: Path) -> None:
    loaded = tmp_path
    assert sdw("upgrade", cwd=loaded).exit_code == 0
    result = sdw("load", cwd=loaded)
    assert result.exit_code == 0, result.output
    history = json.loads(sdw("history", "--json", cwd=loaded).output)
    assert [(h["load_id"], h["status"], h["rows_inserted"]) for h in history] == [
        (1, "succeeded", 3478)
    ]
    assert history[0]["steps"] == "stage,transform,check" and "log_data=" in history[0]["sources"]
    table = sdw("history", cwd=loaded).output.splitlines()
    assert table[0].split()[:5] == ["load", "started", "(UTC)", "took", "status"]
    assert set(table[1]) == {"-", " "}  # the renderer's rule under the header
    assert "3,478" in table[2] and "4,127" in table[2]
    assert json.loads(sdw("errors", "--json", cwd=loaded).output) == []
    check = sdw("check", "--json", cwd=loaded)
    assert check.exit_code == 0 and all(c["passed"] for c in json.loads(check.output))
    answers = json.loads(sdw("analytics", "--limit", "3", "--json", cwd=loaded).output)
    assert answers["matched_share"][0]["plays"] == 3478
    assert len(answers["most_active_users"]) == 3
    verify = sdw(
        "analytics",
        "--verify",
        str(Path(cli.__file__).parent.parent / "sample" / "expected_analytics.json"),
        cwd=loaded,
    )
    assert verify.exit_code == 0, verify.output
    # `sample` names the bundled file, wherever the package is installed.
    bundled = sdw("analytics", "--verify", "sample", cwd=loaded)
    assert bundled.exit_code == 0 and "answers match" in bundled.output, bundled.output
    missing = sdw("analytics", "--verify", "no-such.json", cwd=loaded)
    assert missing.exit_code == 2 and "no such file (or `sample`" in missing.output
    head = schema.head()
    assert sdw("current", cwd=loaded).output.strip() == f"{head} (head {head})"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-v", "-q", "history"], "-v and -q contradict each other"),
        (["load", "--steps", ""], "name at least one of stage, transform, check"),
        (["load", "--steps", "stage,nope"], "unknown step 'nope'"),
        (["load", "--max-errors", "-1"], "-1 is not a whole number from 0"),
        (["load", "--wait", "-5"], "-5.0 is not a number of seconds from 0 to 86400"),
        (["load", "--since", "2018-11-09", "--until", "2018-11-03"], "is after until"),
        (["history", "--limit", "0"], "0 is not a whole number from 1 to 2,147,483,647"),
        (["errors", "99"], "load #99 does not exist"),
    ],
)
def test_misuse_is_one_line_exit_2_and_records_nothing(
    loaded: Path, args: list[str], message: str
) -> None:
    before = loads(loaded)
    result = sdw(*args, cwd=loaded)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert loads(loaded) == before


@pytest.mark.parametrize("args", [["history"], ["errors"], ["check"], ["analytics"], ["current"]])
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
        conn.exec_driver_sql(
            "DELETE FROM songplays WHERE songplay_id = (SELECT min(songplay_id) FROM songplays)"
        )
    engine.dispose()
    result = sdw("check", cwd=loaded)
    assert result.exit_code == 1 and "FAIL" in result.output


def test_load_before_upgrade_leaves_no_file(tmp_path: Path) -> None:
    result = sdw("load", cwd=tmp_path)
    assert result.exit_code == 2 and "sparkify-dw upgrade" in result.output
    assert not list(tmp_path.iterdir())


def test_upgrade_and_downgrade_speak(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sparkify-dw"
    up = subprocess.run(
        [str(script), "upgrade"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert up.returncode == 0 and "Running upgrade 0002 -> 0003" in up.stderr  # each one said
    down = subprocess.run(
        [str(script), "downgrade", "base", "--yes"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert down.returncode == 0
    assert "dropping the warehouse and its rows: songplays, time" in down.stderr
    unreachable = subprocess.run(
        [str(script), "upgrade", "--url", "postgresql+psycopg://u:Sup3r-s3cret@127.0.0.1:1/db"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert unreachable.returncode != 0
    assert unreachable.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in unreachable.stderr and "Sup3r-s3cret" not in unreachable.stderr


# --- python -m sparkify_dw.load: the same command --------------------------------------------


def entry(how: str, *args: str) -> tuple[int, str]:
    """``sparkify-dw load ARGS`` or ``python -m sparkify_dw.load ARGS`` (what its ``__main__``
    runs), in this process: the exit status and stderr. The processes themselves are
    tested once each (test_console_script_version_and_help_are_fast, test_imports)."""
    if how == "sparkify-dw":
        proc = run_cli.invoke("load", *args)
        return proc.returncode, proc.stderr
    out, err = io.StringIO(), io.StringIO()
    return run_module("load", list(args), out, err), err.getvalue()


@pytest.mark.parametrize("how", ["sparkify-dw", "python -m"])
@pytest.mark.parametrize("warehouse", [False, True], ids=["no-warehouse", "warehouse"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-errors", "-1"], "-1 is not a whole number from 0"),
        (["--wait", "-5"], "-5.0 is not a number of seconds from 0 to 86400"),
        (["--steps", ""], "name at least one of stage, transform, check"),
        (["--errors", "99"], "load #99 does not exist"),
        (["-v", "-q"], "-v and -q contradict each other"),
    ],
)
def test_load_misuse_through_both_entry_points(
    tmp_path: Path, how: str, warehouse: bool, args: list[str], message: str
) -> None:
    if warehouse:
        assert sdw("upgrade", cwd=tmp_path).exit_code == 0
    code, stderr = entry(how, *args)  # in tmp_path, with no SPARKIFY_DW_* set (conftest)
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    if warehouse or args[0] != "--errors":
        assert message in lines[0]
    else:  # nothing to read the ledger from, and nothing created to read it
        assert "no warehouse at" in lines[0] and "sparkify-dw upgrade" in lines[0]
    if warehouse:
        assert loads(tmp_path) == 0
        assert [p.name for p in tmp_path.iterdir()] == ["sparkify.duckdb"]
    else:
        assert not list(tmp_path.iterdir())


def test_module_load_history_and_errors(loaded: Path) -> None:

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(loaded)
    try:
        assert run_module("load", ["--history", "--limit", "1"], out, err) == 0, err.getvalue()
        assert run_module("load", ["--errors"], out, err) == 0, err.getvalue()
        assert run_module("load", ["-q", "--errors", "1"], out, err) == 0, err.getvalue()
    finally:
        os.chdir(old)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "load",
        "started",
        "(UTC)",
        "took",
        "status",
        "read",
        "rejected",
        "songplays",
    ]
    assert "3,478" in lines[2] and "4,127" in lines[2] and "succeeded" in lines[2]
    assert lines[3:] == ["load #1 rejected no records"] * 2
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "sparkify_dw.load", "--help"],
        ["-m", "sparkify_dw", "--help"],
        ["-m", "sparkify_dw", "load", "--help"],
        ["-m", "sparkify_dw.check", "--help"],
        ["-m", "sparkify_dw.analytics", "--help"],
        ["-m", "sparkify_dw.status", "--help"],
        ["-m", "sparkify_dw.docs", "--help"],
        ["-m", "sparkify_dw.synth", "--help"],
        ["-m", "sparkify_dw", "history", "--help"],
        ["-m", "sparkify_dw", "upgrade", "--help"],
    ],
)
def test_help_imports_nothing_heavy(tmp_path: Path, command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0 and "Usage:" in proc.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "click" in imported  # the list is complete
    heavy = {"sqlalchemy", "duckdb", "boto3", "botocore", "alembic", "rich"}
    assert not heavy & {name.split(".")[0] for name in imported}


@pytest.mark.parametrize(
    "module", ["load", "check", "analytics", "status", "docs", "cluster", "synth"]
)
def test_each_python_m_module_is_its_command(tmp_path: Path, module: str) -> None:
    """``python -m sparkify_dw.X`` runs ``sparkify-dw X`` through a thin ``__main__``."""
    proc = subprocess.run(
        [sys.executable, "-m", f"sparkify_dw.{module}", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: sparkify-dw {module} ")
