"""Tests for ``python -m sparkify_dw.cluster`` against moto's in-memory AWS."""

from __future__ import annotations

import configparser
import io
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import moto.iam.models
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from botocore.stub import Stubber
from moto import mock_aws

from sparkify_dw import cluster
from sparkify_dw.aws_errors import describe_aws_error
from sparkify_dw.cluster import aws as cluster_aws
from sparkify_dw.config import ENV_CONFIG, ConfigError

PASSWORD = "Pw4Sparkify-q7Zx"
REGION = "us-west-2"
CLUSTER_ID = "sparkify-test"
ROLE = "sparkify-test-role"
CIDR = "203.0.113.7/32"

CFG = """\
# Sparkify warehouse settings; this comment must survive create
[CLUSTER]
HOST=
DB_NAME=dwh
DB_USER=dwhuser
DB_PASSWORD={password}
DB_PORT=5439

[IAM_ROLE]
; filled in by create
ARN=

[S3]
LOG_DATA=s3://udacity-dend/log_data
LOG_JSONPATH=s3://udacity-dend/log_json_path.json
SONG_DATA=s3://udacity-dend/song_data
REGION={region}

[PROVISION]
CLUSTER_IDENTIFIER={cluster_id}
NODE_TYPE=dc2.large
NUM_NODES=2
IAM_ROLE_NAME={role}
{cidr_line}
"""


def write_cfg(directory: Path, *, cidr: str | None = CIDR, password: str = PASSWORD) -> Path:
    path = directory / "dwh.cfg"
    path.write_text(
        CFG.format(
            password=password,
            region=REGION,
            cluster_id=CLUSTER_ID,
            role=ROLE,
            cidr_line=f"INGRESS_CIDR={cidr}" if cidr else "",
        )
    )
    path.chmod(0o600)
    return path


def _isolate_from_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_REDSHIFT",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        ENV_CONFIG,
    ):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "Session", fast_session)


# Parsing botocore's service models (EC2's is large) dominates the run time;
# share one loader so each new session doesn't parse them again.
_LOADER = botocore.loaders.create_loader()
_SESSION = boto3.Session
# moto parses ~1,000 AWS managed policies at every IAM reset; keep the one we use.
_S3_READ_ONLY = json.dumps(
    {
        "AmazonS3ReadOnlyAccess": json.loads(vars(moto.iam.models)["aws_managed_policies_data"])[
            "AmazonS3ReadOnlyAccess"
        ]
    }
)


def fast_session(**kwargs: Any) -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return _SESSION(botocore_session=core, **kwargs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and moto's AWS; the region comes from dwh.cfg [S3] REGION."""
    _isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake/secret+access-key-do-not-print")
    # moto only knows AWS managed policies (AmazonS3ReadOnlyAccess) when asked to.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setattr("moto.iam.models.aws_managed_policies_data", _S3_READ_ONLY)
    with mock_aws():
        yield


def client(service: str) -> Any:
    return fast_session().client(service, region_name=REGION)


def cluster_exists() -> bool:
    try:
        client("redshift").describe_clusters(ClusterIdentifier=CLUSTER_ID)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ClusterNotFound"
        return False
    return True


def role_exists() -> bool:
    try:
        client("iam").get_role(RoleName=ROLE)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def ingress_cidrs() -> list[str]:
    groups = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{CLUSTER_ID}-ingress"]}]
    )["SecurityGroups"]
    return [r["CidrIp"] for g in groups for p in g["IpPermissions"] for r in p["IpRanges"]]


def run(*argv: str) -> int:
    return cluster.main([*argv])


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
    assert trust["Statement"][0]["Principal"] == {"Service": "redshift.amazonaws.com"}
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


# ---------------------------------------------------------------------- AWS errors


def test_no_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    cfg = write_cfg(tmp_path)
    assert run("status", "--config", str(cfg)) == cluster.EXIT_AWS
    captured = capsys.readouterr()
    assert captured.err.startswith("error: no AWS credentials found")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err

    assert run("status", "--config", str(cfg), "-v") == cluster.EXIT_AWS
    assert "Traceback" in capsys.readouterr().err


def test_unreachable_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    with socket.socket() as sock:  # a local port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    cfg = write_cfg(tmp_path)
    assert run("status", "--config", str(cfg)) == cluster.EXIT_AWS
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach http://127.0.0.1:{port}")
    assert err.endswith(": check the region name and your network\n")
    assert err.count("\n") == 1


def test_client_error_is_one_scrubbed_line(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_key = os.environ["AWS_SECRET_ACCESS_KEY"]

    def boom(*args: object, **kwargs: object) -> str:
        raise ClientError(
            {
                "Error": {
                    "Code": "ClusterQuotaExceeded",
                    "Message": f"quota hit for {PASSWORD} and {secret_key}",
                }
            },
            "CreateCluster",
        )

    monkeypatch.setattr(cluster_aws, "ensure_role", boom)
    cfg = write_cfg(tmp_path)
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_AWS
    err = capsys.readouterr().err
    assert err.startswith("error: AWS quota or capacity limit reached")
    assert "CreateCluster" in err and err.count("\n") == 1
    assert PASSWORD not in err and secret_key not in err and "***" in err

    assert run("-v", "create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_AWS
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert PASSWORD not in err and secret_key not in err


@pytest.mark.parametrize(
    "code, start",
    [
        ("ExpiredToken", "AWS rejected the credentials"),
        ("InvalidAccessKeyId", "AWS rejected the credentials"),
        ("AccessDenied", "not allowed by your IAM permissions"),
        ("403", "not allowed by your IAM permissions"),
        ("PermanentRedirect", "the resource is in another region"),
        ("ThrottlingException", "AWS is throttling the requests"),
        ("SlowDown", "AWS is throttling the requests"),
        ("NoSuchEntity", "not found"),
        ("NoSuchBucket", "not found"),
        ("ClusterQuotaExceeded", "AWS quota or capacity limit reached"),
        ("EntityAlreadyExists", "name already taken"),
        ("SomethingNew", "AWS refused the request"),
    ],
)
def test_aws_errors_are_grouped_by_what_to_do(
    code: str, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-key-value")
    exc = ClientError(
        {"Error": {"Code": code, "Message": "it\nfailed for s3cr3t-key-value"}}, "GetRole"
    )
    text = describe_aws_error(exc)
    assert text.startswith(start) and text.endswith(f": GetRole: {code}: it failed for ***")
    assert describe_aws_error(exc, service="S3").startswith(
        "S3 refused the request" if code == "SomethingNew" else start
    )


def test_aws_errors_outside_a_response() -> None:
    assert describe_aws_error(NoCredentialsError()).startswith("no AWS credentials found")
    assert describe_aws_error(NoRegionError()).startswith("no AWS region")
    unreachable = EndpointConnectionError(endpoint_url="https://redshift.example:443")
    assert describe_aws_error(unreachable) == (
        "cannot reach https://redshift.example:443: check the region name and your network"
    )
    assert describe_aws_error(unreachable, endpoint="http://s3.local") == (
        "cannot reach http://s3.local: check the region name and your network"
    )


# ------------------------------------------------ CreateCluster's rules, before any AWS call


def _record_calls(monkeypatch: pytest.MonkeyPatch, *, block: bool) -> list[str]:
    """Record the name of every AWS operation called through ``boto3.Session``;
    with ``block``, stop each one before it is sent."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    def refuse(request: Any, **_: Any) -> None:
        raise AssertionError(f"an AWS request was sent: {request.url}")

    def recording_session(**kwargs: Any) -> boto3.Session:
        session = fast_session(**kwargs)
        session.events.register("before-call", record)
        if block:
            session.events.register("before-send", refuse)
        return session

    monkeypatch.setattr(boto3, "Session", recording_session)
    return calls


@pytest.fixture
def aws_calls(aws: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """moto's AWS, and the AWS operations the module calls on it."""
    return _record_calls(monkeypatch, block=False)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """No AWS at all (not even moto): the operations attempted, each stopped unsent."""
    _isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake/secret+access-key-do-not-print")
    return _record_calls(monkeypatch, block=True)


def test_no_aws_records_and_stops_a_call(no_aws: list[str], tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="an AWS request was sent"):
        run("status", "--config", str(write_cfg(tmp_path)))
    assert len(no_aws) == 1  # the first operation, stopped: nothing more followed


def set_keys(path: Path, **values: str) -> Path:
    """Replace ``KEY=value`` lines of a dwh.cfg written by write_cfg."""
    lines = path.read_text().splitlines(keepends=True)
    for key, value in values.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(f"{key}=")]
        assert len(hits) == 1, key
        lines[hits[0]] = f"{key}={value}\n"
    path.write_text("".join(lines))
    return path


def assert_refused(
    cfg: Path,
    calls: list[str],
    capsys: pytest.CaptureFixture[str],
    key: str,
    fragment: str,
    password: str = PASSWORD,
) -> None:
    """``create`` exits 2 with one line naming dwh.cfg and the key, calls no AWS
    operation, and never prints the password (nor had to scrub it)."""
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {cfg}: {key}")
    assert fragment in captured.err
    assert captured.err.count("\n") == 1
    assert calls == []
    assert password not in captured.out + captured.err
    assert "***" not in captured.err


NODES_AND_PORTS = [
    # NUM_NODES: CreateCluster's NumberOfNodes is 1-100.
    ({"NUM_NODES": "101"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "0"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "-2"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "2.5"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "two"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    # DB_PORT: ra3 nodes take 5431-5455 or 8191-8215 only ...
    (
        {"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5430"},
        "[CLUSTER] DB_PORT",
        "ra3.xlplus nodes listen only on 5431-5455 or 8191-8215, not 5430",
    ),
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5456"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8190"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.16xlarge", "DB_PORT": "8216"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.large", "DB_PORT": "1150"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    # ... other node types (dc2) 1150-65535, and it must be a number.
    ({"DB_PORT": "1149"}, "[CLUSTER] DB_PORT", "Redshift ports are 1150-65535"),
    ({"DB_PORT": "65536"}, "[CLUSTER] DB_PORT", "Redshift ports are 1150-65535"),
    ({"DB_PORT": "port"}, "[CLUSTER] DB_PORT", "a whole number"),
]


@pytest.mark.parametrize("values, key, fragment", NODES_AND_PORTS)
def test_create_refuses_node_count_and_port(
    values: dict[str, str],
    key: str,
    fragment: str,
    no_aws: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path), **values)
    assert_refused(cfg, no_aws, capsys, key, fragment)


NAMES = [
    # DB_NAME: 1-64 lower-case letters, digits, underscores; no $ (URLs are built from it).
    ("DB_NAME", "Dwh", "1-64 lower-case letters, digits and underscores; try 'dwh'"),
    ("DB_NAME", "DWH_PROD", "try 'dwh_prod'"),
    ("DB_NAME", "dwh$1", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwh-prod", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwh.prod", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "d" * 65, "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwé", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "Table", "1-64 lower-case letters"),  # no hint: 'table' is reserved
    # ... not a reserved word ...
    ("DB_NAME", "public", "'public' is a Redshift reserved word"),
    ("DB_NAME", "user", "'user' is a Redshift reserved word"),
    ("DB_NAME", "table", "'table' is a Redshift reserved word"),
    ("DB_NAME", "select", "'select' is a Redshift reserved word"),
    ("DB_NAME", "default", "'default' is a Redshift reserved word"),
    ("DB_NAME", "snapshot", "'snapshot' is a Redshift reserved word"),
    # ... and an identifier sparkify_dw can connect to.
    ("DB_NAME", "1dwh", "accepted by Redshift but not by sparkify_dw"),
    # DB_USER (MasterUsername): a lower-case letter, then a-z 0-9 _ + . @ -; 1-128.
    (
        "DB_USER",
        "DwhUser",
        "a lower-case letter first, then lower-case letters, digits and _ + . @ -; try 'dwhuser'",
    ),
    ("DB_USER", "1dwh", "a lower-case letter first"),
    ("DB_USER", "_dwh", "a lower-case letter first"),
    ("DB_USER", "dwh$user", "a lower-case letter first"),
    ("DB_USER", "dwh:user", "a lower-case letter first"),
    ("DB_USER", "dwh/user", "a lower-case letter first"),
    ("DB_USER", "dwh user", "a lower-case letter first"),
    ("DB_USER", "u" * 129, "1-128 characters"),
    ("DB_USER", "public", "'public' is a Redshift reserved word"),
    ("DB_USER", "user", "'user' is a Redshift reserved word"),
    ("DB_USER", "current_user", "'current_user' is a Redshift reserved word"),
    # Redshift takes + . @ - and 128 characters, the warehouse URL does not.
    ("DB_USER", "etl.user", "accepted by Redshift but not by sparkify_dw"),
    ("DB_USER", "etl+user@example-corp", "accepted by Redshift but not by sparkify_dw"),
    ("DB_USER", "u" * 128, "accepted by Redshift but not by sparkify_dw"),
]


@pytest.mark.parametrize("key, value, fragment", NAMES)
def test_create_refuses_database_and_user_names(
    key: str,
    value: str,
    fragment: str,
    no_aws: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path), **{key: value})
    assert_refused(cfg, no_aws, capsys, f"[CLUSTER] {key}: {value!r}", fragment)


def test_reserved_words_are_lower_case_data() -> None:
    words = cluster.REDSHIFT_RESERVED_WORDS
    assert {"user", "table", "select", "default", "snapshot", "tag"} <= words
    assert all(word == word.lower() and " " not in word for word in words)
    assert "public" not in words and "public" in cluster.RESERVED_NAMES
    assert "dwh" not in cluster.RESERVED_NAMES and "dev" not in cluster.RESERVED_NAMES


BAD_PASSWORDS = [
    "Ab1defg",  # 7 characters
    "Ab1" + "x" * 62,  # 65 characters
    "alllowercase1",  # no upper-case letter
    "ALLUPPERCASE1",  # no lower-case letter
    "NoDigitsHere",  # no digit
    "Abc'defg1",  # single quote
    'Abc"defg1',  # double quote
    "Abc\\defg1",  # backslash
    "Abc/defg1",  # slash
    "Abc@defg1",  # at sign
    "Abc defg1",  # space
    "Abc\tdefg1",  # not printable
    "Abcdéfg1",  # not ASCII
]


@pytest.mark.parametrize("password", BAD_PASSWORDS)
def test_create_refuses_password_without_printing_it(
    password: str, no_aws: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path, password=password)
    assert cluster.load_config(cfg).db_password == password  # written as meant
    assert_refused(
        cfg,
        no_aws,
        capsys,
        "[CLUSTER] DB_PASSWORD",
        "does not meet Redshift's rules: 8-64 characters",
        password=password,
    )
    # Not in the traceback either, and not merely scrubbed out of the message.
    assert run("-v", "create", "--config", str(cfg)) == cluster.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "Traceback" in err and password not in err and "***" not in err
    with pytest.raises(ConfigError) as raised:
        cluster.create(cfg, out=io.StringIO())
    assert password not in str(raised.value)
    assert no_aws == []


ACCEPTED = [
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5431", "NUM_NODES": "1"}, PASSWORD),
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5455", "NUM_NODES": "100"}, "Aa1!#$%&"),
    (
        {"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8191", "DB_NAME": "d" * 64},
        "Aa1()*+,-.:;<=>?[]^_`{|}~",
    ),
    ({"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8215", "DB_USER": "u" * 127}, "Aa1" + "~" * 61),
    ({"DB_PORT": "1150", "DB_NAME": "_sparkify_2", "DB_USER": "etl_2"}, PASSWORD),
    ({"DB_PORT": "65535", "DB_NAME": "dev", "DB_USER": "awsuser"}, PASSWORD),
]


@pytest.mark.parametrize("values, password", ACCEPTED)
def test_create_accepts_the_limits(
    values: dict[str, str],
    password: str,
    aws_calls: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path, password=password), **values)
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == 0
    captured = capsys.readouterr()
    assert "CreateCluster" in aws_calls  # the recorder sees calls when there are some
    assert password not in captured.out + captured.err
    described = client("redshift").describe_clusters(ClusterIdentifier=CLUSTER_ID)["Clusters"][0]
    assert described["Endpoint"]["Port"] == int(values["DB_PORT"])
    assert described["NodeType"] == values.get("NODE_TYPE", "dc2.large")
    assert described["NumberOfNodes"] == int(values.get("NUM_NODES", "2"))
    assert described["DBName"] == values.get("DB_NAME", "dwh")
    assert described["MasterUsername"] == values.get("DB_USER", "dwhuser")


def test_status_and_delete_take_a_resized_cluster(aws_calls: list[str], tmp_path: Path) -> None:
    # More than CreateCluster's 100 nodes is only refused by create.
    cfg = set_keys(write_cfg(tmp_path), NUM_NODES="128")
    assert run("status", "--config", str(cfg)) == cluster.EXIT_NO_CLUSTER
    assert run("delete", "--config", str(cfg)) == 0
    assert "DescribeClusters" in aws_calls


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


# -------------------------------------------------------------------- waiting


NO_ENDPOINT = "available, no endpoint yet"


def scripted_redshift(states: list[str | None]) -> tuple[Any, Stubber]:
    """A real Redshift client whose DescribeClusters answers are ``states`` in turn
    (None: ClusterNotFound), as the boto3 waiters see them; nothing is sent."""
    redshift = fast_session(
        aws_access_key_id="AKIAFAKE", aws_secret_access_key="fake", region_name=REGION
    ).client("redshift")
    stub = Stubber(redshift)
    for state in states:
        if state is None:
            stub.add_client_error("describe_clusters", "ClusterNotFound", "gone", 404)
            continue
        found: dict[str, Any] = {
            "ClusterIdentifier": "c",
            "ClusterStatus": "available" if state == NO_ENDPOINT else state,
        }
        if state == "available":
            found["Endpoint"] = {"Address": "h.example.com", "Port": 5439}
        stub.add_response("describe_clusters", {"Clusters": [found]})
    stub.activate()
    return redshift, stub


def test_wait_prints_a_line_per_poll() -> None:
    progress = io.StringIO()
    fake, stub = scripted_redshift(["creating", "creating", "available"])
    found = cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=progress)
    assert found is not None and found["ClusterStatus"] == "available"
    lines = progress.getvalue().splitlines()
    assert lines == ["waiting: cluster c is creating (0s of 1800s)"] * 2 + [
        "cluster c: available after 0s"
    ]
    stub.assert_no_pending_responses()


def test_wait_asks_again_until_the_endpoint_is_assigned() -> None:
    fake, stub = scripted_redshift(["creating", NO_ENDPOINT, "available"])
    progress = io.StringIO()
    found = cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=progress)
    assert found is not None and found["Endpoint"]["Address"] == "h.example.com"
    assert "waiting: cluster c has no endpoint yet (0s of 1800s)" in progress.getvalue()
    stub.assert_no_pending_responses()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wait_spins_on_a_terminal() -> None:
    screen = Terminal()
    fake, _ = scripted_redshift(["creating", "creating", "available"])
    cluster.wait_for_cluster(fake, "c", poll_interval=0.01, progress=screen)
    text = screen.getvalue()
    assert "waiting: cluster c is creating" in text  # the status line, drawn in place
    assert "\u280b" in text  # a spinner frame (rich's "dots")
    # the status line is erased (transient), then the final line written
    assert text.endswith("\x1b[2Kcluster c: available after 0s\n")


def test_wait_times_out_with_a_way_forward() -> None:
    fake, _ = scripted_redshift(["creating"] * 6)
    with pytest.raises(cluster.ClusterError, match=r"timed out after 0.05s .*creating.* create"):
        cluster.wait_for_cluster(
            fake, "c", timeout=0.05, poll_interval=0.01, progress=io.StringIO()
        )


def test_wait_stops_at_the_timeout_on_the_clock() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0  # every look at the clock is ten seconds later
        return now[0]

    fake, _ = scripted_redshift(["deleting"] * 5)
    with pytest.raises(cluster.ClusterError, match=r"timed out after 25s .*deleting.* delete"):
        cluster.wait_for_cluster(
            fake,
            "c",
            until="deleted",
            timeout=25,
            poll_interval=0,
            progress=io.StringIO(),
            clock=clock,
        )


def test_wait_for_deletion_and_dead_states() -> None:
    fake, _ = scripted_redshift(["deleting", None])
    assert (
        cluster.wait_for_cluster(
            fake, "c", until="deleted", poll_interval=0, progress=io.StringIO()
        )
        is None
    )
    fake, _ = scripted_redshift(["deleting"])
    with pytest.raises(cluster.ClusterError, match="is deleting"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["paused"])
    with pytest.raises(cluster.ClusterError, match="is paused; it will not become available"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["creating", None])
    with pytest.raises(cluster.ClusterError, match="disappeared while waiting"):
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    fake, _ = scripted_redshift(["creating"])
    with pytest.raises(cluster.ClusterError, match="is creating, not being deleted"):
        cluster.wait_for_cluster(
            fake, "c", until="deleted", poll_interval=0, progress=io.StringIO()
        )


def test_wait_reports_other_aws_errors_as_they_came() -> None:
    fake, stub = scripted_redshift([])
    stub.add_client_error("describe_clusters", "AccessDenied", "no", 403)
    with pytest.raises(ClientError) as raised:
        cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    assert cluster.describe_aws_error(raised.value).startswith(
        "not allowed by your IAM permissions: DescribeClusters: AccessDenied"
    )


def test_a_new_role_is_waited_for() -> None:
    """IAM is eventually consistent: create waits (role_exists) until the role shows."""
    iam = fast_session(
        aws_access_key_id="AKIAFAKE", aws_secret_access_key="fake", region_name=REGION
    ).client("iam")
    stub = Stubber(iam)
    stub.add_client_error("get_role", "NoSuchEntity", "no", 404)
    role = {
        "Path": "/",
        "RoleName": ROLE,
        "RoleId": "AROAFAKEFAKEFAKEFAKE",
        "Arn": f"arn:aws:iam::123456789012:role/{ROLE}",
        "CreateDate": "2026-01-01",
    }
    stub.add_response("create_role", {"Role": role})
    for _ in range(3):
        stub.add_client_error("get_role", "NoSuchEntity", "not yet", 404)
    stub.activate()
    with pytest.raises(cluster.ClusterError, match="created but IAM does not show it yet"):
        cluster_aws.ensure_role(
            iam, ROLE, lambda line: None, waiter_config={"Delay": 0, "MaxAttempts": 3}
        )
    stub.assert_no_pending_responses()


def test_wait_unregisters_its_hook() -> None:
    fake, _ = scripted_redshift(["available", "creating"])
    cluster.wait_for_cluster(fake, "c", poll_interval=0, progress=io.StringIO())
    assert (
        fake.describe_clusters(ClusterIdentifier="c")["Clusters"][0]["ClusterStatus"] == "creating"
    )  # no progress line, no ClusterError from a stale hook


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
    with pytest.raises(cluster.ClusterError, match="cannot update"):
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


# ----------------------------------------------------------------------------- CLI


def test_help_shows_the_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--help") == 0
    out = capsys.readouterr().out
    for command in ("create", "status", "delete"):
        assert f"    {command} " in out
    steps = [
        "python -m sparkify_dw.cluster create",
        "alembic upgrade head",
        "python -m sparkify_dw.load",
        "python -m sparkify_dw.cluster delete",
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
