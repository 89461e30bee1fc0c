"""The command line (sparkify_dw.cluster.command): help, config errors, nothing secret printed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkify_dw.backends.redshift import cluster
from tests.unit.cluster.support import CLUSTER_ID, PASSWORD, run, write_cfg

# ----------------------------------------------------------------------------- CLI


def test_help_shows_the_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--help") == 0
    out = capsys.readouterr().out
    for command in ("create", "status", "delete"):
        assert f"  {command} " in out
    steps = [
        "sparkify-dw cluster create",
        "sparkify-dw upgrade",
        "sparkify-dw load",
        "sparkify-dw cluster delete",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)


def test_missing_node_type_and_bad_identifier(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    cfg.write_text(cfg.read_text().replace("NODE_TYPE=dc2.large\n", ""))
    assert run("create", "--config", str(cfg)) == cluster.EXIT_CONFIG
    assert "[PROVISION] NODE_TYPE is missing" in capsys.readouterr().err
    cfg.write_text(cfg.read_text().replace(f"={CLUSTER_ID}", "=bad--name"))
    assert run("status", "--config", str(cfg)) == cluster.EXIT_CONFIG
    assert "CLUSTER_IDENTIFIER" in capsys.readouterr().err


def test_password_never_printed(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    secret_key = os.environ["AWS_SECRET_ACCESS_KEY"]
    outputs = []
    for argv in (
        ["create", "--poll-interval", "0"],
        ["create", "--poll-interval", "0"],
        ["status"],
        ["delete", "--wait", "--poll-interval", "0"],
        ["status"],
    ):
        run(*argv, "--config", str(cfg), "-v")
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    everything = "".join(outputs)
    assert "available" in everything  # the commands did produce output
    assert PASSWORD not in everything
    assert secret_key not in everything
    assert PASSWORD not in repr(cluster.load_config(cfg))
