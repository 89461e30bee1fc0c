"""No password, secret key or session token in any output, with or without -v."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import s3_server
from tests.redshift_config import cfg_for, write_cfg
from tests.s3_server import MotoS3

moto_s3 = s3_server.moto_s3
sample_bucket = s3_server.sample_bucket

SECRETS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID1234",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIsecretKEYexample0123456789",
           "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123"}
PASSWORD = "Pa55-word-XYZ"  # in CFG


def run(args: list[str], cwd: Path, extra: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    env.update(SECRETS)
    env.update(extra or {})
    return subprocess.run([sys.executable, "-m", "sparkify_dw.load", *args], cwd=cwd, text=True,
                          capture_output=True, env=env, timeout=120)


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    for secret in (*SECRETS.values(), PASSWORD, "Sup3r-s3cret"):
        if secret == SECRETS["AWS_ACCESS_KEY_ID"]:
            continue  # a key id is not a secret; it is printed by nothing here anyway
        assert secret not in text, f"{secret!r} leaked:\n{text}"


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_connection_failure_with_password(tmp_path: Path, verbose: list[str]) -> None:
    url = "postgresql+psycopg://root:Sup3r-s3cret@127.0.0.1:1/nowhere"
    proc = run(["--url", url, *verbose], tmp_path)
    assert proc.returncode == 1 and "error:" in proc.stderr
    assert_clean(proc)
    assert "***" in proc.stdout  # "loading into postgresql+psycopg://root:***@…"


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_redshift_dry_run_and_errors(tmp_path: Path, verbose: list[str], moto_s3: MotoS3,
                                     sample_bucket: str) -> None:
    write_cfg(tmp_path / "dwh.cfg", cfg_for(sample_bucket))
    dry = run(["--dry-run", *verbose], tmp_path, {"SPARKIFY_DW_S3_ENDPOINT": moto_s3.endpoint})
    assert dry.returncode == 0 and "COPY staging_events" in dry.stdout
    assert_clean(dry)
    history = run(["--history", *verbose], tmp_path)  # can't reach the cluster: one line
    assert history.returncode == 1
    assert history.stderr.splitlines()[-1].startswith("error: ")
    assert_clean(history)


def test_s3_source_with_bad_endpoint_verbose(tmp_path: Path) -> None:
    proc = run(["--url", f"duckdb:///{tmp_path / 'w.duckdb'}", "--log-data", "s3://bucket/logs",
                "-v"], tmp_path, {"SPARKIFY_DW_S3_ENDPOINT": "http://127.0.0.1:1",
                                  "AWS_MAX_ATTEMPTS": "1"})
    assert proc.returncode == 1
    assert_clean(proc)
