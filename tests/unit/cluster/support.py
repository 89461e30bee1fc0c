"""Helpers for the cluster tests: a dwh.cfg, fast boto3 sessions, lookups on moto's AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import moto.iam.models
import pytest
from botocore.exceptions import ClientError

from sparkify_dw.config import ENV_CONFIG

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


def isolate_from_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
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
S3_READ_ONLY = json.dumps(
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
    from sparkify_dw.cli import run as run_command

    return run_command(["cluster", *argv])


def record_calls(monkeypatch: pytest.MonkeyPatch, *, block: bool) -> list[str]:
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
