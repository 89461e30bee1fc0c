"""AWS errors as one scrubbed line: missing credentials, no endpoint, refused requests."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from sparkify_dw.aws_errors import describe_aws_error
from sparkify_dw.backends.redshift import cluster
from sparkify_dw.backends.redshift.cluster import aws as cluster_aws
from tests.unit.cluster.support import PASSWORD, isolate_from_real_aws, run, write_cfg

# ---------------------------------------------------------------------- AWS errors


def test_no_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_from_real_aws(monkeypatch, tmp_path)
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
    isolate_from_real_aws(monkeypatch, tmp_path)
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
