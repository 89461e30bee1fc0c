"""Verifying on your cluster: ``pytest -m redshift`` against a real Redshift (provisioned
or Serverless), and the same steps against the harness on every run.

Needs, for the live test:

* ``SPARKIFY_DW_TEST_REDSHIFT_URL``: ``redshift+redshift_connector://user:password@host:5439/db``
  of a user that may create a schema on a provisioned cluster, and/or
  ``SPARKIFY_DW_TEST_REDSHIFT_SERVERLESS_URL``: the same for a Serverless workgroup's
  endpoint (each target runs when its URL is set; both should pass before a release);
* ``SPARKIFY_DW_TEST_REDSHIFT_S3_PREFIX``: ``s3://bucket/prefix`` the run may write under
  (it uploads the sample there and deletes it afterwards);
* ``SPARKIFY_DW_TEST_REDSHIFT_IAM_ROLE``: the role the cluster's COPY assumes to read it;
* ``AWS_DEFAULT_REGION`` (or ``SPARKIFY_DW_TEST_REDSHIFT_REGION``): the bucket's region.

Without them the live test is skipped with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import engines, s3
from tests.support.redshift_harness import Harness
from tests.support.redshift_relay import RedshiftRelay
from tests.support.redshift_verify import Cluster, verify
from tests.support.s3_server import MotoS3

LIVE = (
    "SPARKIFY_DW_TEST_REDSHIFT_URL",
    "SPARKIFY_DW_TEST_REDSHIFT_S3_PREFIX",
    "SPARKIFY_DW_TEST_REDSHIFT_IAM_ROLE",
)
# The endpoint of each kind of deployment: a provisioned cluster, a Serverless workgroup.
TARGETS = {
    "cluster": "SPARKIFY_DW_TEST_REDSHIFT_URL",
    "workgroup": "SPARKIFY_DW_TEST_REDSHIFT_SERVERLESS_URL",
}


@pytest.mark.redshift
@pytest.mark.parametrize("target", list(TARGETS))
def test_live_cluster(tmp_path: Path, duckdb_url: sa.URL, target: str) -> None:
    url_variable = TARGETS[target]
    missing = [name for name in (url_variable, *LIVE[1:]) if not os.environ.get(name)]
    region = os.environ.get("SPARKIFY_DW_TEST_REDSHIFT_REGION") or os.environ.get(
        "AWS_DEFAULT_REGION"
    )
    if not region:
        missing.append("AWS_DEFAULT_REGION or SPARKIFY_DW_TEST_REDSHIFT_REGION")
    if missing:
        pytest.skip(f"verifying on a Redshift {target} needs " + ", ".join(missing))
    url = os.environ[url_variable]
    cluster = Cluster(
        make_engine=lambda: engines.create_engine(url, poolclass=sa.pool.NullPool),
        s3=s3.client(region),
        prefix=os.environ[LIVE[1]],
        iam_role=os.environ[LIVE[2]],
        region=region or "",
    )
    verify(cluster, tmp_path, duckdb_url)


@pytest.mark.slow  # every live step through the relay: about 25 s
def test_the_live_steps_on_the_harness(
    tmp_path: Path, duckdb_url: sa.URL, pg_url: sa.URL, moto_s3: MotoS3
) -> None:
    bucket = "sparkify-verify"
    moto_s3.client.create_bucket(Bucket=bucket)
    admin = pg_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with RedshiftRelay() as relay:
        harness = Harness(relay, pg_url.database or "", admin, moto_s3.client)
        harness.setup()
        cluster = Cluster(
            make_engine=harness.engine,
            s3=moto_s3.client,
            prefix=f"s3://{bucket}/runs",
            region=moto_s3.region,
            iam_role="arn:aws:iam::123456789012:role/verify",
            s3_endpoint=moto_s3.endpoint,
        )
        verify(cluster, tmp_path, duckdb_url)
    left = moto_s3.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    assert left == 0  # the run cleans up after itself
