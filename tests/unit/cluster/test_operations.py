"""create, status and delete (sparkify_dw.cluster.operations) against moto's AWS."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from sparkify_dw.backends.redshift import cluster
from sparkify_dw.errors import ConfigError
from tests.unit.cluster.support import (
    CIDR,
    CLUSTER_ID,
    PASSWORD,
    REGION,
    ROLE,
    client,
    cluster_exists,
    ingress_cidrs,
    role_exists,
    run,
    write_cfg,
)

# --------------------------------------------------------------------- full cycle


def test_create_status_delete_cycle(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == 0
    out = capsys.readouterr().out

    described = client("redshift").describe_clusters(ClusterIdentifier=CLUSTER_ID)["Clusters"][0]
    assert (described["NodeType"], described["NumberOfNodes"]) == ("dc2.large", 2)
    assert (described["DBName"], described["MasterUsername"]) == ("dwh", "dwhuser")
    assert described["Endpoint"]["Port"] == 5439
    role_arn = client("iam").get_role(RoleName=ROLE)["Role"]["Arn"]
    assert [r["IamRoleArn"] for r in described["IamRoles"]] == [role_arn]
    attached = client("iam").list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    trust = client("iam").get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {
        "Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }
    assert ingress_cidrs() == [CIDR]
    assert role_arn in out

    # dwh.cfg: HOST and ARN written; comments, other keys and mode 0600 kept.
    text = cfg.read_text()
    host = described["Endpoint"]["Address"]
    assert f"HOST={host}\n" in text
    assert f"ARN={role_arn}\n" in text
    assert "# Sparkify warehouse settings; this comment must survive create\n" in text
    assert "; filled in by create\n" in text
    assert f"DB_PASSWORD={PASSWORD}\n" in text
    assert "SONG_DATA=s3://udacity-dend/song_data\n" in text
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dwh.cfg")] == []

    assert run("status", "--config", str(cfg)) == 0
    out = capsys.readouterr().out
    assert "available" in out
    assert f"{host}:5439" in out
    assert "2 x dc2.large" in out
    assert role_arn in out
    assert f"{CIDR} on tcp/5439" in out

    assert run("delete", "--config", str(cfg), "--wait", "--poll-interval", "0") == 0
    out = capsys.readouterr().out
    assert not cluster_exists()
    assert not role_exists()
    assert ingress_cidrs() == []
    snapshots = client("redshift").describe_cluster_snapshots(SnapshotType="manual")["Snapshots"]
    assert [s["SnapshotIdentifier"] for s in snapshots] == [
        s for s in out.split() if s.startswith(f"{CLUSTER_ID}-final-")
    ]
    assert len(snapshots) == 1

    # Deleting again is harmless and says so.
    assert run("delete", "--config", str(cfg)) == 0
    assert "does not exist" in capsys.readouterr().out


def test_delete_can_skip_final_snapshot(aws: None, tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path)
    cluster.create(cfg, poll_interval=0, out=io.StringIO(), progress=io.StringIO())
    result = cluster.delete(cfg, skip_final_snapshot=True, out=io.StringIO())
    assert result.cluster_deleted and result.role_deleted
    assert result.snapshot_identifier is None
    assert client("redshift").describe_cluster_snapshots(SnapshotType="manual")["Snapshots"] == []
    assert not cluster_exists()


def test_status_without_cluster(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path)
    assert run("status", "--config", str(cfg)) == cluster.EXIT_NO_CLUSTER
    out = capsys.readouterr().out
    assert f"does not exist in {REGION}" in out
    assert f"{ROLE} does not exist" in out


# ------------------------------------------------------------------------ CIDR guard


def test_create_refuses_without_cidr(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path, cidr=None)
    before = cfg.read_text()
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith("error: no ingress CIDR")
    assert "INGRESS_CIDR" in err and err.count("\n") == 1
    assert not role_exists() and not cluster_exists()
    assert cfg.read_text() == before


def test_create_refuses_whole_internet_without_flag(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path, cidr="0.0.0.0/0")
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--allow-public" in err and err.count("\n") == 1
    assert not role_exists() and not cluster_exists()

    assert run("create", "--config", str(cfg), "--poll-interval", "0", "--allow-public") == 0
    assert ingress_cidrs() == ["0.0.0.0/0"]


def test_allow_public_without_cidr_and_cidr_flag(aws: None, tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, cidr=None)
    assert (
        run("create", "--config", str(cfg), "--poll-interval", "0", "--cidr", "198.51.100.0/24")
        == 0
    )
    assert ingress_cidrs() == ["198.51.100.0/24"]


@pytest.mark.parametrize(
    "value, message",
    [
        ("203.0.113.7/24", "did you mean 203.0.113.0/24"),
        ("not-a-cidr", "not a CIDR block"),
        ("::/0", "whole internet"),
    ],
)
def test_ingress_cidr_validation(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cluster.ingress_cidr(value)


def test_ingress_cidr_accepts_ipv6_and_public_with_flag() -> None:
    assert cluster.ingress_cidr("2001:db8::/32") == "2001:db8::/32"
    assert cluster.ingress_cidr("0.0.0.0/0", allow_public=True) == "0.0.0.0/0"
    assert cluster.ingress_cidr(None, allow_public=True) == "0.0.0.0/0"


# ----------------------------------------------------------------------- idempotence


def test_create_twice_reuses_everything(aws: None, tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path)
    first = cluster.create(cfg, poll_interval=0, out=io.StringIO(), progress=io.StringIO())
    second_out = io.StringIO()
    second = cluster.create(cfg, poll_interval=0, out=second_out, progress=io.StringIO())
    text = second_out.getvalue()
    assert second.role_arn == first.role_arn
    assert second.host == first.host
    assert f"role {ROLE}: exists, reusing" in text
    assert f"cluster {CLUSTER_ID}: exists (available), reusing" in text
    assert "already open" in text
    assert len(client("redshift").describe_clusters()["Clusters"]) == 1
    assert ingress_cidrs() == [CIDR]
    assert cfg.read_text().count("HOST=") == 1


def test_changed_cidr_replaces_the_old_rule(aws: None, tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path)
    cluster.create(cfg, poll_interval=0, out=io.StringIO(), progress=io.StringIO())
    out = io.StringIO()
    cluster.create(cfg, cidr="198.51.100.9/32", poll_interval=0, out=out, progress=io.StringIO())
    assert ingress_cidrs() == ["198.51.100.9/32"]
    assert f"removed old ingress {CIDR}" in out.getvalue()


def test_delete_keeps_a_role_it_did_not_create(aws: None, tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path)
    client("iam").create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(cluster.TRUST_POLICY)
    )
    cluster.create(cfg, poll_interval=0, out=io.StringIO(), progress=io.StringIO())
    out = io.StringIO()
    result = cluster.delete(cfg, wait=True, poll_interval=0, out=out, progress=io.StringIO())
    assert not result.role_deleted and role_exists()
    assert "not created by sparkify_dw.cluster, kept" in out.getvalue()
    assert not cluster_exists()
