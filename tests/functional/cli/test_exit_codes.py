"""Every command's exit status is one of 0, 1, 2, 130, 143, and its error is one line:
a bad flag is 2, a database that can't be reached is 1, a warehouse that isn't there is 2
(issue 27). In this process, through click's runner, as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkify_dw.backends.redshift import cluster
from tests.support.cli import invoke

UNREACHABLE = "postgresql+psycopg://root@127.0.0.1:9/nowhere"  # port 9: refused at once

# Each command with what it needs to run (-q: upgrade and downgrade say each step on stderr).
COMMANDS = {
    "upgrade": ["upgrade", "-q"],
    "downgrade": ["downgrade", "base", "--yes", "-q"],
    "current": ["current"],
    "load": ["load"],
    "history": ["history"],
    "errors": ["errors"],
    "check": ["check"],
    "analytics": ["analytics"],
    "status": ["status"],
    "docs": ["docs"],
    "cluster": ["cluster", "status"],
    "synth": [
        "synth",
        *["--events", "10", "--songs", "2", "--days", "1", "--seed", "1", "--out", "data"],
    ],
}
# Commands that read or write the warehouse (docs writes its site without it: below).
WAREHOUSE = [c for c in COMMANDS if c not in ("docs", "cluster", "synth")]


def _error_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert "Traceback" not in stderr
    return stderr


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_bad_flag_is_2_in_one_line(tmp_path: Path, name: str) -> None:
    r = invoke(*COMMANDS[name], "--no-such-flag", cwd=tmp_path)
    assert r.returncode == 2 and "--no-such-flag" in _error_line(r.stderr), r.stderr
    assert not list(tmp_path.iterdir())  # refused before anything ran


@pytest.mark.parametrize("name", WAREHOUSE)
def test_an_unreachable_database_is_1_in_one_line(tmp_path: Path, name: str) -> None:
    r = invoke(*COMMANDS[name], "--url", UNREACHABLE, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "connection failed" in _error_line(r.stderr)


@pytest.mark.parametrize("name", [c for c in WAREHOUSE if c != "upgrade"])
def test_a_missing_warehouse_is_2_in_one_line_and_not_created(tmp_path: Path, name: str) -> None:
    missing = tmp_path / "missing.duckdb"
    r = invoke(*COMMANDS[name], "--url", f"duckdb:///{missing}", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"no warehouse at {missing}" in _error_line(r.stderr)
    assert not missing.exists()


def test_upgrade_creates_the_warehouse_a_missing_folder_is_1(tmp_path: Path) -> None:
    """``upgrade`` is how a warehouse comes to be: only a folder that isn't there fails."""
    missing = tmp_path / "no-such-folder" / "w.duckdb"
    r = invoke("upgrade", "-q", "--url", f"duckdb:///{missing}", cwd=tmp_path)
    assert r.returncode == 1 and "missing" not in r.stdout
    assert "No such file or directory" in _error_line(r.stderr)


@pytest.mark.parametrize("url", [UNREACHABLE, "duckdb:///{tmp}/missing.duckdb"])
def test_docs_without_a_warehouse_still_writes_the_site(tmp_path: Path, url: str) -> None:
    """The site documents the models whatever the warehouse's state; each page says why it
    has no counts (exit 0)."""
    r = invoke("docs", "--url", url.format(tmp=tmp_path), cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert (tmp_path / "site" / "index.html").is_file() and "warehouse: " in r.stdout
    assert not (tmp_path / "missing.duckdb").exists()


def test_no_cluster_is_1() -> None:
    """``cluster status`` finding nothing is a test that failed (1), as a stale ``status``:
    never 3, which no other command uses."""
    assert cluster.EXIT_NO_CLUSTER == 1
    assert {cluster.EXIT_OK, cluster.EXIT_AWS, cluster.EXIT_CONFIG} == {0, 1, 2}
    assert cluster.EXIT_INTERRUPTED == 130


def test_cluster_without_its_config_is_2_in_one_line(tmp_path: Path) -> None:
    r = invoke("cluster", "status", "--config", str(tmp_path / "none.cfg"), cwd=tmp_path)
    assert r.returncode == 2 and "configuration file not found" in _error_line(r.stderr)


CLUSTER_CFG = """\
[CLUSTER]
DB_NAME=dev
DB_USER=awsuser
DB_PASSWORD=Secr3t-Passw0rd
DB_PORT=5439
[PROVISION]
NODE_TYPE=dc2.large
CLUSTER_IDENTIFIER=sparkify
IAM_ROLE_NAME=sparkify-role
[S3]
REGION=us-west-2
"""


@pytest.mark.parametrize("serverless", [[], ["--serverless"]], ids=["cluster", "serverless"])
def test_cluster_with_aws_unreachable_is_1_in_one_line(
    tmp_path: Path, serverless: list[str]
) -> None:
    """AWS that can't be reached is a failure (1), as a database that can't be: one line,
    no secret in it, whichever way the options are placed."""
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text(CLUSTER_CFG)
    cfg.chmod(0o600)
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "an-example-secret-access-key-0000000000",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # port 9: refused at once
        "AWS_MAX_ATTEMPTS": "1",
    }
    r = invoke("cluster", *serverless, "status", "--config", str(cfg), cwd=tmp_path, env=env)
    assert r.returncode == 1, r.stderr
    line = _error_line(r.stderr)
    assert "cannot reach" in line and "Secr3t" not in line and "example-secret" not in line
