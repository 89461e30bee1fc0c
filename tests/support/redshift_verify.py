"""The end-to-end check a user runs on their own cluster (``pytest -m redshift``), written
once and also run here against the harness, so its steps are known to work.

It uploads the bundled sample under a fresh S3 prefix, works in a fresh schema, and runs:
upgrade; a full load; a rerun (nothing new); an incremental load of one new day; a load
with rejected records just above and exactly at ``--max-errors``; the checks; the
analytics against the sample's expected answers; and compares every star table with a
DuckDB load of the same files. It removes the schema and the objects afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import answers, checks, config, ledger, load, schema
from sparkify_dw.models import STAR_TABLES, metadata
from tests.support.helpers import SAMPLE, run_load, star_snapshot

GOOD_LINES = 5
BAD_LINES = 3


@dataclass(frozen=True)
class Cluster:
    """Where to verify: an engine factory (schema-less), S3, the COPY role and region."""

    make_engine: Callable[[], sa.Engine]
    s3: Any  # a boto3 S3 client
    prefix: str  # s3://bucket/some/prefix the run may write under
    iam_role: str
    region: str
    s3_endpoint: str | None = None


def _upload(cluster: Cluster, root: str) -> None:
    bucket, _, key = root.removeprefix("s3://").partition("/")
    for part in ("log_data", "song_data"):
        for path in sorted((SAMPLE / part).rglob("*.json")):
            cluster.s3.put_object(
                Bucket=bucket,
                Key=f"{key}/{part}/{path.relative_to(SAMPLE / part).as_posix()}",
                Body=path.read_bytes(),
            )
    cluster.s3.put_object(
        Bucket=bucket,
        Key=f"{key}/log_json_path.json",
        Body=(SAMPLE / "log_json_path.json").read_bytes(),
    )


def _remove(cluster: Cluster, root: str) -> None:
    bucket, _, key = root.removeprefix("s3://").partition("/")
    pages = cluster.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key + "/")
    for page in pages:
        for entry in page.get("Contents", []):
            cluster.s3.delete_object(Bucket=bucket, Key=entry["Key"])


def _put(cluster: Cluster, uri: str, body: bytes) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    cluster.s3.put_object(Bucket=bucket, Key=key, Body=body)


@contextmanager
def _in_schema(cluster: Cluster, name: str) -> Iterator[sa.Engine]:
    """An engine whose every connection works in schema ``name`` (created, then dropped).

    The schema exists before the engine's first connection: the dialect takes its default
    schema (``current_schema()``) from that connection, once.
    """
    admin = cluster.make_engine()
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    engine = cluster.make_engine()

    @sa.event.listens_for(engine, "connect", insert=True)  # before the dialect's own
    def _search_path(dbapi_conn: Any, _: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET search_path TO {name}, public")
        cursor.close()
        dbapi_conn.commit()  # a SET in a transaction is undone by its rollback

    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def _settings(cluster: Cluster, root: str, tmp: Path) -> config.Settings:
    cfg = tmp / "dwh.cfg"
    cfg.write_text(
        f"[IAM_ROLE]\nARN={cluster.iam_role}\n[S3]\nREGION={cluster.region}\n"
        f"MANIFEST_PREFIX={root}/manifests\n"
    )
    cfg.chmod(0o600)
    env = {config.ENV_S3_ENDPOINT: cluster.s3_endpoint} if cluster.s3_endpoint else {}
    return config.resolve(
        url="redshift+redshift_connector://verify@localhost:5439/dev",
        config=cfg,
        log_data=f"{root}/log_data",
        song_data=f"{root}/song_data",
        log_jsonpath=f"{root}/log_json_path.json",
        environ=env,
    )


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in STAR_TABLES:
            cols = [
                c
                for c in metadata.tables[table.name].columns
                if c.name not in ("songplay_id", "load_id")
            ]
            rows = conn.execute(sa.select(*cols)).all()
            out[table.name] = sorted(
                (tuple(r) for r in rows), key=lambda r: tuple((v is None, str(v)) for v in r)
            )
    return out


def verify(cluster: Cluster, tmp: Path, duckdb_url: sa.URL) -> None:
    """Every step, each asserting what a user should see; cleans up whatever happens."""
    run = uuid.uuid4().hex[:10]
    root = f"{cluster.prefix.rstrip('/')}/sparkify-dw-verify-{run}"
    _upload(cluster, root)
    try:
        settings = _settings(cluster, root, tmp)
        with _in_schema(cluster, f"sdw_verify_{run}") as engine:
            with engine.begin() as conn:
                schema.upgrade(conn)
            first = load.run(engine, settings)
            assert first.staged == {"staging_events": 4091, "staging_songs": 36}
            assert first.inserted["songplays"] == 3478

            _, expected = answers.read_expected(SAMPLE / "expected_analytics.json")
            params, _ = answers.read_expected(SAMPLE / "expected_analytics.json")
            assert answers.differences(expected, answers.answer_all(engine, params)) == []
            assert all(r.passed for r in checks.run_checks(engine))

            schema.upgrade(duckdb_url)
            run_load(duckdb_url)
            assert _snapshot(engine) == star_snapshot(duckdb_url)

            assert load.run(engine, settings).inserted["songplays"] == 0

            day = (SAMPLE / "log_data/2018/11/2018-11-21-events.json").read_bytes()
            _put(
                cluster,
                f"{root}/log_data/2018/11/2018-11-22-events.json",
                b"\n".join(day.splitlines()[:20]) + b"\n",
            )
            new = load.run(engine, settings, selection=load.Selection(incremental=True))
            assert new.staged["staging_events"] == 20

            lines = day.splitlines()[:GOOD_LINES]
            bad = [b'{"userId": "not-a-number", "ts": 1543000000000, "page": "Home"}'] * BAD_LINES
            _put(
                cluster,
                f"{root}/log_data/2018/11/2018-11-23-events.json",
                b"\n".join([*lines, *bad]) + b"\n",
            )
            incremental = load.Selection(incremental=True)
            with pytest.raises(load.TooManyRejected, match=r"2018-11-23-events\.json"):
                load.run(engine, settings, selection=incremental, max_errors=BAD_LINES - 1)
            at_limit = load.run(engine, settings, selection=incremental, max_errors=BAD_LINES)
            assert at_limit.rejected["staging_events"] == BAD_LINES
            assert at_limit.staged["staging_events"] == GOOD_LINES
            with engine.connect() as conn:
                rejected = ledger.errors(conn, at_limit.load_id or 0)
                assert any("2018-11-23-events.json" in row.source for row in rejected)
            assert all(r.passed for r in checks.run_checks(engine))
            with engine.begin() as conn:
                schema.downgrade(conn)
    finally:
        _remove(cluster, root)
