"""A Redshift ``dwh.cfg`` for tests, and the same pointed at moto's S3 server.

Every Redshift load lists its keys and COPYs through a manifest, so even a ``--dry-run``
needs S3: tests point the configuration at the sample bucket on moto's server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from sparkify_dw import config
from tests.support.redshift_conformance import Statement, from_dry_run
from tests.support.s3_server import REGION, MotoS3

PASSWORD = "Pa55-word-XYZ"
CFG = f"""\
[CLUSTER]
HOST=dwh.abc123.us-west-2.redshift.amazonaws.com
DB_NAME=dev
DB_USER=awsuser
DB_PASSWORD={PASSWORD}
DB_PORT=5439
[IAM_ROLE]
ARN=arn:aws:iam::123456789012:role/dwhRole
[S3]
LOG_DATA=s3://udacity-dend/log_data
LOG_JSONPATH=s3://udacity-dend/log_json_path.json
SONG_DATA=s3://udacity-dend/song_data
REGION=us-west-2
"""


def cfg_for(bucket: str, region: str = REGION) -> str:
    """:data:`CFG` reading ``bucket`` and writing manifests under ``s3://bucket/manifests``,
    with the data region ``region`` (moto's buckets are in its own, us-east-1)."""
    return CFG.replace("s3://udacity-dend", f"s3://{bucket}").replace(
        "REGION=us-west-2", f"REGION={region}"
    ) + (f"MANIFEST_PREFIX=s3://{bucket}/manifests\n")


def write_cfg(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def redshift_on_moto(
    tmp_path: Path, moto_s3: MotoS3, sample_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> config.Settings:
    """Redshift settings whose sources are the sample bucket on moto's server."""
    monkeypatch.setenv(config.ENV_S3_ENDPOINT, moto_s3.endpoint)
    path = write_cfg(tmp_path / "dwh.cfg", cfg_for(sample_bucket))
    return config.resolve(config=path, environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint})


_PLACEHOLDER = re.compile(r"<(\w+)>")


def planned(blocks: Iterable[str]) -> list[Statement]:
    """``--dry-run`` output as statements, its placeholders (``<load_id>``: values only
    the server gives) read as 0 in the parameter lines, where they stand for a number."""

    def numbered(block: str) -> str:
        body, sep, params = block.partition("-- parameters: ")
        return body + sep + _PLACEHOLDER.sub("0", params)

    return from_dry_run(numbered(b) for b in blocks)
