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
    from sparkify_dw import schema

    schema.upgrade(f"duckdb:///{tmp_path / 'w.duckdb'}")  # the load reaches the endpoint
    proc = run(["--url", f"duckdb:///{tmp_path / 'w.duckdb'}", "--log-data", "s3://bucket/logs",
                "-v"], tmp_path, {"SPARKIFY_DW_S3_ENDPOINT": "http://127.0.0.1:1",
                                  "AWS_MAX_ATTEMPTS": "1"})
    assert proc.returncode == 2  # the endpoint is configuration
    assert "cannot reach http://127.0.0.1:1" in proc.stderr
    assert_clean(proc)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://root@127.0.0.1:1/nowhere?password=Sup3r-s3cret",
    "postgresql+psycopg://root@127.0.0.1:1/nowhere?sslpassword=Sup3r-s3cret&connect_timeout=2",
    "postgresql+psycopg://root:Sup3r-s3cret@127.0.0.1:1/nowhere?options=-c%20x%3D1",
    "postgresql+psycopg://root@127.0.0.1:1/nowhere?options=-c%20password%3DSup3r-s3cret",
])
@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_password_anywhere_in_the_url_is_masked(tmp_path: Path, url: str,
                                                verbose: list[str]) -> None:
    proc = run(["--url", url, *verbose], tmp_path,
               {"AWS_SECURITY_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLEsecurityTOKEN"})
    assert proc.returncode == 1 and "error:" in proc.stderr
    assert_clean(proc)
    assert "IQoJb3JpZ2luX2VjEXAMPLEsecurityTOKEN" not in proc.stdout + proc.stderr
    assert "loading into postgresql+psycopg://root" in proc.stdout and "***" in proc.stdout


def test_settings_mask_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify_dw import config

    for name, value in (("AWS_SECRET_ACCESS_KEY", "k-secret"), ("AWS_SESSION_TOKEN", "s-tok"),
                        ("AWS_SECURITY_TOKEN", "sec-tok")):
        monkeypatch.setenv(name, value)
    settings = config.resolve(
        url="postgresql+psycopg://u:pw1@h/db?password=pw2&options=-c%20password%3Dpw3")
    text = f"pw1 pw2 pw3 k-secret s-tok sec-tok {settings.display_url}"
    masked = settings.mask(text)
    for secret in ("pw1", "pw2", "pw3", "k-secret", "s-tok", "sec-tok"):
        assert secret not in masked, masked
    assert "pw" not in settings.display_url.replace("password", "")
