"""Shared fixtures: warehouses on DuckDB (a file in tmp_path) and PostgreSQL (a fresh
database per test, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, schema

PG_ENV = "SPARKIFY_DW_TEST_PG_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
SAMPLE = config.SAMPLE_DIR


def _pg_admin_url() -> sa.URL:
    text = os.environ.get(PG_ENV)
    reason = None
    if not text:
        reason = (
            f"PostgreSQL tests need ${PG_ENV} (e.g. postgresql+psycopg://root@127.0.0.1/postgres)"
        )
    else:
        url = sa.make_url(text)
        try:
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            with engine.connect():
                pass
            return url
        except sa.exc.OperationalError as exc:
            reason = f"PostgreSQL at {url.render_as_string()} is not answering: {exc.orig}"
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin_url() -> sa.URL:
    return _pg_admin_url()


@pytest.fixture
def pg_url(pg_admin_url: sa.URL) -> Iterator[sa.URL]:
    """A new, empty PostgreSQL database, dropped after the test."""
    name = f"sdw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def duckdb_url(tmp_path: Path) -> sa.URL:
    return sa.URL.create("duckdb", database=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest) -> sa.URL:
    """An empty warehouse at the Alembic head, on each backend."""
    url: sa.URL = request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "pg_url")
    schema.upgrade(url)
    return url


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's environment or a dwh.cfg lying around."""
    for name in (
        config.ENV_URL,
        config.ENV_CONFIG,
        config.ENV_LOG_DATA,
        config.ENV_SONG_DATA,
        config.ENV_LOG_JSONPATH,
        config.ENV_S3_ENDPOINT,
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
