"""The cluster tests' AWS: moto's in memory, a recorder of the calls made, or none at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from tests.unit.cluster.support import S3_READ_ONLY, isolate_from_real_aws, record_calls


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and moto's AWS; the region comes from dwh.cfg [S3] REGION."""
    isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake/secret+access-key-do-not-print")
    # moto only knows AWS managed policies (AmazonS3ReadOnlyAccess) when asked to.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setattr("moto.iam.models.aws_managed_policies_data", S3_READ_ONLY)
    with mock_aws():
        yield


@pytest.fixture
def aws_calls(aws: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """moto's AWS, and the AWS operations the module calls on it."""
    return record_calls(monkeypatch, block=False)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """No AWS at all (not even moto): the operations attempted, each stopped unsent."""
    isolate_from_real_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake/secret+access-key-do-not-print")
    return record_calls(monkeypatch, block=True)
