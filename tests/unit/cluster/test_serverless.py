"""``cluster create|status|delete --serverless``: a namespace and a workgroup.

moto has no ``redshift-serverless``, so that service is botocore's ``Stubber``: each call
must be the next one queued, with exactly the parameters expected, and botocore validates
every request (and every stubbed answer) against the service model before the stub
answers. IAM and EC2 (the role and the security group) are moto's, as for a cluster.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import ANY, Stubber

from sparkify_dw.backends.redshift import cluster
from sparkify_dw.backends.redshift.cluster import serverless
from sparkify_dw.errors import ClusterError
from tests.unit.cluster.support import (
    CIDR,
    CLUSTER_ID,
    PASSWORD,
    REGION,
    ROLE,
    client,
    fast_session,
    ingress_cidrs,
    role_exists,
    run,
    write_cfg,
)

ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"
HOST = f"{CLUSTER_ID}.123456789012.{REGION}.redshift-serverless.amazonaws.com"
TAGS = [{"key": "managed-by", "value": "sparkify_dw.cluster"}]
NOT_FOUND = "ResourceNotFoundException"


class StubbedSession(boto3.Session):  # type: ignore[misc]  # boto3 has no types
    """A boto3 session whose redshift-serverless client is stubbed; other services are
    whatever ``fast_session`` gives (moto's, under the ``aws`` fixture)."""

    def __init__(self) -> None:
        super().__init__(botocore_session=fast_session()._session, region_name=REGION)
        self.client_ = super().client("redshift-serverless", region_name=REGION)
        self.stub = Stubber(self.client_)
        self.sent: dict[str, dict[str, Any]] = {}
        self.client_.meta.events.register("before-parameter-build", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.sent[model.name] = dict(params)

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        if service == "redshift-serverless":
            return self.client_
        return super().client(service, *args, **kwargs)

    # What the service answers.
    def namespace(self, status: str | None, **extra: Any) -> None:
        if status is None:
            self.stub.add_client_error(
                "get_namespace", NOT_FOUND, http_status_code=400,
                expected_params={"namespaceName": CLUSTER_ID},
            )  # fmt: skip
            return
        body = {"namespaceName": CLUSTER_ID, "status": status, "dbName": "dwh", **extra}
        self.stub.add_response("get_namespace", {"namespace": body}, {"namespaceName": CLUSTER_ID})

    def workgroup(self, status: str | None, address: str | None = HOST, **extra: Any) -> None:
        if status is None:
            self.stub.add_client_error(
                "get_workgroup", NOT_FOUND, http_status_code=400,
                expected_params={"workgroupName": CLUSTER_ID},
            )  # fmt: skip
            return
        body: dict[str, Any] = {
            "workgroupName": CLUSTER_ID,
            "namespaceName": CLUSTER_ID,
            "status": status,
            "baseCapacity": 8,
            "publiclyAccessible": True,
            "port": 5439,
            **extra,
        }
        if address:
            body["endpoint"] = {"address": address, "port": 5439}
        self.stub.add_response("get_workgroup", {"workgroup": body}, {"workgroupName": CLUSTER_ID})


@pytest.fixture
def session(aws: None) -> Iterator[StubbedSession]:
    stubbed = StubbedSession()
    with stubbed.stub:
        yield stubbed
        stubbed.stub.assert_no_pending_responses()


def test_every_request_is_validated_against_the_service_model(aws: None) -> None:
    """The stub answers nothing the real service would refuse to be asked: a call queued
    with exactly its parameters still fails when they break the service model."""
    for call, params, wrong in (
        ("get_namespace", {"namespaceName": "ab"}, "namespaceName"),  # under 3 characters
        (
            "create_workgroup",
            {"workgroupName": CLUSTER_ID, "namespaceName": CLUSTER_ID, "baseCapacity": "8"},
            "baseCapacity",  # a string, not an integer
        ),
    ):
        stubbed = StubbedSession()
        answer: dict[str, Any] = {"namespace": {}} if call == "get_namespace" else {}
        stubbed.stub.add_response(call, answer, params)
        with stubbed.stub, pytest.raises(ParamValidationError, match=wrong):
            getattr(stubbed.client_, call)(**params)


def test_create_makes_namespace_and_workgroup_and_writes_the_endpoint(
    session: StubbedSession, tmp_path: Path
) -> None:
    cfg = write_cfg(tmp_path)
    stub = session.stub
    session.namespace(None)
    stub.add_response(
        "create_namespace",
        {"namespace": {"namespaceName": CLUSTER_ID, "status": "CREATING"}},
        {
            "namespaceName": CLUSTER_ID,
            "adminUsername": "dwhuser",
            "adminUserPassword": PASSWORD,
            "dbName": "dwh",
            "defaultIamRoleArn": ROLE_ARN,
            "iamRoles": [ROLE_ARN],
            "tags": TAGS,
        },
    )
    session.namespace("MODIFYING")
    session.namespace("AVAILABLE")
    session.workgroup(None)
    stub.add_response(
        "create_workgroup",
        {"workgroup": {"workgroupName": CLUSTER_ID, "status": "CREATING"}},
        {
            "workgroupName": CLUSTER_ID,
            "namespaceName": CLUSTER_ID,
            "baseCapacity": 8,
            "publiclyAccessible": True,
            "securityGroupIds": ANY,
            "port": 5439,
            "tags": TAGS,
        },
    )
    session.workgroup("CREATING", address=None)
    session.workgroup("AVAILABLE")
    out = io.StringIO()
    info = serverless.create(cfg, session=session, poll_interval=0, out=out, progress=io.StringIO())

    assert (info.host, info.port, info.base_capacity, info.role_arn) == (HOST, 5439, 8, ROLE_ARN)
    text = cfg.read_text()
    assert f"HOST={HOST}\n" in text and f"ARN={ROLE_ARN}\n" in text
    assert "# Sparkify warehouse settings; this comment must survive create\n" in text
    # The workgroup sits behind the security group create opened to INGRESS_CIDR only.
    groups = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{CLUSTER_ID}-ingress"]}]
    )["SecurityGroups"]
    assert session.sent["CreateWorkgroup"]["securityGroupIds"] == [groups[0]["GroupId"]]
    assert ingress_cidrs() == [CIDR]
    trust = client("iam").get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert "redshift-serverless.amazonaws.com" in trust["Statement"][0]["Principal"]["Service"]
    assert PASSWORD not in out.getvalue()


def test_create_reuses_what_exists_and_says_what_differs(
    session: StubbedSession, tmp_path: Path
) -> None:
    cfg = write_cfg(tmp_path)
    session.namespace("AVAILABLE", iamRoles=["arn:aws:iam::123456789012:role/other"])
    session.namespace("AVAILABLE")
    session.workgroup("AVAILABLE", baseCapacity=32)
    session.workgroup("AVAILABLE", baseCapacity=32)
    out = io.StringIO()
    serverless.create(cfg, session=session, poll_interval=0, out=out, progress=io.StringIO())
    said = out.getvalue()
    assert f"namespace {CLUSTER_ID}: exists (AVAILABLE), reusing" in said
    assert f"note: role {ROLE_ARN} is not attached to namespace {CLUSTER_ID}" in said
    assert "was not changed; it has base capacity 32 (dwh.cfg: 8)" in said
    assert "CreateNamespace" not in session.sent and "CreateWorkgroup" not in session.sent


def test_status_shows_both_and_says_when_there_is_nothing(
    session: StubbedSession, tmp_path: Path
) -> None:
    cfg = write_cfg(tmp_path)
    session.namespace("AVAILABLE", defaultIamRoleArn=ROLE_ARN)
    session.workgroup("AVAILABLE")
    out = io.StringIO()
    info = serverless.status(cfg, session=session, out=out)
    assert info.exists and info.host == HOST and info.role_arn == ROLE_ARN
    said = out.getvalue()
    assert f"endpoint:   {HOST}:5439" in said and "8 RPUs base" in said

    session.namespace(None)
    session.workgroup(None)
    assert not serverless.status(cfg, session=session, out=io.StringIO()).exists


def test_delete_wait_removes_workgroup_then_namespace_with_a_final_snapshot(
    session: StubbedSession, tmp_path: Path
) -> None:
    cfg = write_cfg(tmp_path)
    serverless_role_and_group(tmp_path)
    stub = session.stub
    session.workgroup("AVAILABLE")
    stub.add_response(
        "delete_workgroup",
        {"workgroup": {"workgroupName": CLUSTER_ID, "status": "DELETING"}},
        {"workgroupName": CLUSTER_ID},
    )
    session.workgroup("DELETING")
    session.workgroup(None)
    session.namespace("AVAILABLE")
    stub.add_response(
        "delete_namespace",
        {"namespace": {"namespaceName": CLUSTER_ID, "status": "DELETING"}},
        {"namespaceName": CLUSTER_ID, "finalSnapshotName": ANY},
    )
    session.namespace("DELETING")
    session.namespace(None)
    result = serverless.delete(
        cfg, session=session, wait=True, poll_interval=0, out=io.StringIO(), progress=io.StringIO()
    )
    assert result.workgroup_deleted and result.namespace_deleted
    assert result.snapshot_name == session.sent["DeleteNamespace"]["finalSnapshotName"]
    assert (result.snapshot_name or "").startswith(f"{CLUSTER_ID}-final-")
    assert result.role_deleted and result.security_group_deleted and not role_exists()


def test_delete_without_wait_keeps_the_namespace_until_the_workgroup_is_gone(
    session: StubbedSession, tmp_path: Path
) -> None:
    cfg = write_cfg(tmp_path)
    session.workgroup("AVAILABLE")
    session.stub.add_response(
        "delete_workgroup",
        {"workgroup": {"workgroupName": CLUSTER_ID, "status": "DELETING"}},
        {"workgroupName": CLUSTER_ID},
    )
    session.namespace("AVAILABLE")
    out = io.StringIO()
    result = serverless.delete(cfg, session=session, skip_final_snapshot=True, out=out)
    assert result.workgroup_deleted and not result.namespace_deleted
    assert "DeleteNamespace" not in session.sent
    assert f"namespace {CLUSTER_ID}: kept until its workgroup is gone" in out.getvalue()


def serverless_role_and_group(tmp_path: Path) -> None:
    """The role and security group a create made (moto's IAM and EC2)."""
    from sparkify_dw.backends.redshift.cluster import aws as awsops

    cfg = cluster.load_config(write_cfg(tmp_path))
    iam, ec2 = client("iam"), client("ec2")
    awsops.ensure_role(iam, cfg.iam_role_name, lambda _: None)
    awsops.ensure_security_group(ec2, REGION, cfg, CIDR, lambda _: None)


def test_the_wait_stops_at_the_timeout_with_one_line(session: StubbedSession) -> None:
    now = iter([0.0, 0.0, 5.0, 11.0])
    session.workgroup("CREATING", address=None)
    session.workgroup("CREATING", address=None)
    session.workgroup("CREATING", address=None)
    with pytest.raises(ClusterError, match=r"timed out after 10s waiting for workgroup .*CREATING"):
        serverless.wait_for(
            lambda: serverless.get_workgroup(session.client_, CLUSTER_ID),
            f"workgroup {CLUSTER_ID}",
            until="available",
            timeout=10,
            poll_interval=5,
            progress=io.StringIO(),
            clock=lambda: next(now),
            sleep=lambda _: None,
        )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("NUM_NODES=2", "BASE_CAPACITY=12"), "BASE_CAPACITY: RPUs, 4, or 8-512 in steps of 8"),
        (("NUM_NODES=2", "BASE_CAPACITY=2048"), "BASE_CAPACITY"),
        (("NUM_NODES=2", "NAMESPACE=ab"), "NAMESPACE: 3-64 lower-case letters"),
        (("NUM_NODES=2", "WORKGROUP=wg_1"), "WORKGROUP: 3-64 lower-case letters"),
        (("DB_PORT=5439", "DB_PORT=6000"), "a Serverless workgroup listens only on 5431-5455"),
        ((f"DB_PASSWORD={PASSWORD}", "DB_PASSWORD=short"), "DB_PASSWORD does not meet"),
    ],
)
def test_bad_settings_stop_create_before_any_aws_call(
    no_aws: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[str, str],
    message: str,
) -> None:
    cfg = write_cfg(tmp_path)
    cfg.write_text(cfg.read_text().replace(*edit))
    assert run("create", "--serverless", "--config", str(cfg)) == cluster.EXIT_CONFIG
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "short" not in err
    assert no_aws == []


def test_the_command_line_runs_serverless_create_and_status(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed = StubbedSession()
    monkeypatch.setattr(boto3, "Session", lambda **_: stubbed)
    cfg = write_cfg(tmp_path)
    with stubbed.stub:
        stubbed.namespace(None)
        stubbed.workgroup(None)
        assert run("status", "--serverless", "--config", str(cfg)) == cluster.EXIT_NO_CLUSTER
        stubbed.namespace("AVAILABLE")
        stubbed.workgroup("AVAILABLE")
        assert run("status", "--config", str(cfg), "--serverless") == cluster.EXIT_OK
        stubbed.stub.assert_no_pending_responses()
    assert HOST in capsys.readouterr().out
