"""``python -m sparkify_dw.load`` as a user runs it: in this process, but for output into a
closed pipe, which a real process shows."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from rich.console import Console

from sparkify_dw import output, schema
from tests.support import cli as run_cli
from tests.support.redshift_config import cfg_for, write_cfg
from tests.support.s3_server import MotoS3


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m sparkify_dw.load ARGS``, run in this process (tests/support/cli.py)."""
    return run_cli.module("load", *args, cwd=cwd, env=env)


def test_default_run_prints_summary(tmp_path: Path) -> None:
    schema.upgrade(f"duckdb:///{tmp_path / 'sparkify.duckdb'}")
    proc = cli(cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "staged    staging_events       4,091 rows" in proc.stdout
    assert "inserted  songplays            3,478 rows" in proc.stdout
    assert "time      stage" in proc.stdout
    quiet = cli("-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_refuses_warehouse_not_at_head(tmp_path: Path) -> None:
    proc = cli(cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: no warehouse at {tmp_path / 'sparkify.duckdb'}: "
        "create it with `sparkify-dw upgrade`"
    )
    assert not list(tmp_path.iterdir())
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'sparkify.duckdb'}")
    with engine.connect():  # a database, but no schema in it
        pass
    engine.dispose()
    proc = cli(cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: the warehouse has no sparkify_dw schema, this library "
        f"needs {schema.head()}: run `sparkify-dw upgrade`"
    )


def test_steps_subset_and_bad_step(tmp_path: Path) -> None:
    schema.upgrade(f"duckdb:///{tmp_path / 'sparkify.duckdb'}")
    proc = cli("--steps", "stage", cwd=tmp_path)
    assert proc.returncode == 0 and "inserted" not in proc.stdout
    proc = cli("--steps", "transform,check", cwd=tmp_path)
    assert proc.returncode == 0 and "inserted  songplays            3,478" in proc.stdout
    bad = cli("--steps", "stage,explode", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("error: ") and "unknown step 'explode'" in bad.stderr


def test_bad_sources_one_line_no_traceback(tmp_path: Path) -> None:
    schema.upgrade(f"duckdb:///{tmp_path / 'sparkify.duckdb'}")
    for args, message in [
        (["--log-data", str(tmp_path / "missing")], "no such file or directory"),
        (["--log-jsonpath", str(tmp_path / "none.json")], "log_jsonpath"),
        (["--url", "nonsense"], "not a database URL"),
    ]:
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    verbose = cli("-v", "--log-data", str(tmp_path / "missing"), cwd=tmp_path)
    assert "Traceback" in verbose.stderr


def test_redshift_dry_run_masks_password(
    tmp_path: Path, moto_s3: MotoS3, sample_bucket: str
) -> None:
    write_cfg(tmp_path / "dwh.cfg", cfg_for(sample_bucket))
    for extra in ([], ["-v"]):
        proc = cli(
            "--dry-run", *extra, cwd=tmp_path, env={"SPARKIFY_DW_S3_ENDPOINT": moto_s3.endpoint}
        )
        assert proc.returncode == 0, proc.stderr
        assert "COPY staging_events" in proc.stdout and "INSERT INTO songplays" in proc.stdout
        assert "Pa55-word-XYZ" not in proc.stdout + proc.stderr


def test_postgresql_via_environment(pg_url: sa.URL, tmp_path: Path) -> None:
    url = pg_url.render_as_string(hide_password=False)
    schema.upgrade(pg_url)
    proc = cli(cwd=tmp_path, env={"SPARKIFY_DW_URL": url})
    assert proc.returncode == 0, proc.stderr
    assert "inserted  songplays            3,478 rows" in proc.stdout
    dry = cli("--dry-run", cwd=tmp_path, env={"SPARKIFY_DW_URL": url})
    assert "COPY raw_records (file_id, line_no, reason, body) FROM STDIN" in dry.stdout


def test_output_into_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """``python -m sparkify_dw.load --dry-run | head -1``: no ``error: Broken pipe``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparkify_dw.load", "--dry-run"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b"SELECT coa"  # the load's first statement: its id
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "error" not in err.lower() and "Traceback" not in err


def _staging(name: str, *sizes: int) -> SimpleNamespace:
    """A stand-in for a StageRequest: a table and its files, by size."""
    return SimpleNamespace(
        table=SimpleNamespace(name=name), files=[SimpleNamespace(size=s) for s in sizes]
    )


def _drive(display: output.LoadProgress) -> None:
    """What a load tells its display: the backend's files done, then each step."""
    result = SimpleNamespace(read={})
    with display:
        display.on_step("stage staging_events", result, _staging("staging_events", 1000, 500, 2500))
        display("log_data", 0, 3)
        display("log_data", 2, 3)  # 1,500 bytes of 4,000
        result.read["staging_events"] = 4091
        display.on_step(
            "stage staging_songs", result, _staging("staging_songs", 700_000, 1_800_000)
        )
        display("song_data", 2, 2)
        result.read["staging_songs"] = 71
        display.on_step("transform: insert songplays", result, None)
        display.on_step("check", result, None)


def test_progress_shows_bytes_and_records_on_a_terminal() -> None:
    screen = io.StringIO()
    _drive(output.LoadProgress(Console(file=screen, force_terminal=True, width=120)))
    text = screen.getvalue()
    assert "staged staging_events: 4,091 records" in text and "1.5/4.0 kB" in text
    assert "staged staging_songs: 71 records" in text and "2.5/2.5 MB" in text
    assert "transform: insert songplays" in text and "check" in text
    assert "files" not in text


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_is_silent_when_quiet_or_not_a_terminal(terminal: bool) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=terminal, width=120)
    _drive(output.LoadProgress(console, quiet=terminal))
    assert screen.getvalue() == ""
    plain = io.StringIO()  # a stream that is no terminal, as a log file or a pipe
    _drive(output.LoadProgress(plain))
    assert plain.getvalue() == ""
