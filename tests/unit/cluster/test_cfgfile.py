"""Writing HOST and ARN back into dwh.cfg (sparkify_dw.cluster.cfgfile)."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest

from sparkify_dw.backends.redshift import cluster
from sparkify_dw.errors import ClusterError

# ------------------------------------------------------------------ dwh.cfg edits


def test_update_cfg_inserts_missing_keys_in_place(tmp_path: Path) -> None:
    cfg = tmp_path / "dwh.cfg"
    cfg.write_bytes(
        b"[CLUSTER]\r\nDB_NAME = dwh\r\nDB_PORT = 5439\r\n\r\n"
        b"# about S3\r\n[S3]\r\nREGION = us-west-2"
    )
    cfg.chmod(0o640)
    cluster.update_cfg(
        cfg,
        {
            ("CLUSTER", "HOST"): "h.example.com",
            ("IAM_ROLE", "ARN"): "arn:aws:iam::123456789012:role/r",
        },
    )
    assert cfg.read_bytes() == (
        b"[CLUSTER]\r\nDB_NAME = dwh\r\nDB_PORT = 5439\r\nHOST = h.example.com\r\n\r\n"
        b"# about S3\r\n[S3]\r\nREGION = us-west-2\r\n\r\n"
        b"[IAM_ROLE]\r\nARN = arn:aws:iam::123456789012:role/r\r\n"
    )
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640


def test_update_cfg_keeps_the_file_style(tmp_path: Path) -> None:
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text(
        "# settings\n[CLUSTER]\nDB_NAME=dwh\n\n[IAM_ROLE]\n; set by create\n\n"
        "[S3]\nREGION=us-west-2\n\n"
    )
    cluster.update_cfg(
        cfg,
        {
            ("CLUSTER", "HOST"): "h.example.com",
            ("IAM_ROLE", "ARN"): "arn:aws:iam::123456789012:role/r",
            ("EXTRA", "KEY"): "v",
        },
    )
    assert cfg.read_text() == (
        "# settings\n[CLUSTER]\nDB_NAME=dwh\nHOST=h.example.com\n\n"
        "[IAM_ROLE]\nARN=arn:aws:iam::123456789012:role/r\n; set by create\n\n"
        "[S3]\nREGION=us-west-2\n\n[EXTRA]\nKEY=v\n"
    )


def test_update_cfg_refuses_a_broken_file(tmp_path: Path) -> None:
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[CLUSTER]\nHOST=a\nHOST=b\n")
    with pytest.raises(ClusterError, match="cannot update"):
        cluster.update_cfg(cfg, {("CLUSTER", "HOST"): "h.example.com"})
    assert cfg.read_text() == "[CLUSTER]\nHOST=a\nHOST=b\n"


def test_update_cfg_replaces_multiline_value_and_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.cfg"
    real.write_text("[CLUSTER]\nhost = old\n  continued\nDB_NAME=dwh\n")
    link = tmp_path / "dwh.cfg"
    link.symlink_to(real)
    cluster.update_cfg(link, {("CLUSTER", "HOST"): "new.example.com"})
    assert link.is_symlink()
    assert real.read_text() == "[CLUSTER]\nhost = new.example.com\nDB_NAME=dwh\n"
    parser = configparser.ConfigParser()
    parser.read(real)
    assert parser.get("CLUSTER", "host") == "new.example.com"
