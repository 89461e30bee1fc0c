"""Fixtures of the fuzz tests (test_fuzz_parity, test_fuzz_corpus): a warehouse per backend
for each module, and the fixed window of event times both backends judge ts by."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import schema
from sparkify_dw.config import ENV_EARLIEST_EVENT, ENV_LATEST_EVENT
from tests.functional.load.fuzz_support import LATEST
from tests.support.fixtures import ICU_EN_US

# --- warehouses, one per backend for each module ----------------------------------------------


@contextlib.contextmanager
def _warehouses(root: Path, admin_url: sa.URL, options: str = "") -> Iterator[dict[str, sa.Engine]]:
    """A DuckDB and a PostgreSQL warehouse (CREATE DATABASE ``options``), by backend name."""
    duck = sa.URL.create("duckdb", database=str(root / "w.duckdb"))
    name = f"sdw_fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" {options}'.rstrip())
    pg = admin_url.set(database=name)
    made = {}
    try:
        for url in (duck, pg):
            schema.upgrade(url)
            made[url.get_backend_name()] = sa.create_engine(url)
        yield made
    finally:
        for engine in made.values():
            engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def engines(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: sa.URL
) -> Iterator[dict[str, sa.Engine]]:
    with _warehouses(tmp_path_factory.mktemp("fuzz"), pg_admin_url) as made:
        yield made


@pytest.fixture(scope="module")
def icu_engines(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: sa.URL
) -> Iterator[dict[str, sa.Engine]]:
    """As ``engines``, the PostgreSQL database collated by ICU's en-US: a collation must never
    change what is staged, rejected or picked."""
    with _warehouses(tmp_path_factory.mktemp("fuzz_icu"), pg_admin_url, ICU_EN_US) as made:
        yield made


@pytest.fixture
def fuzz_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz modules use it for every test (``pytestmark``); not autouse, so the other
    tests of this folder keep their own window."""
    monkeypatch.setenv(ENV_EARLIEST_EVENT, "2000-01-01")
    monkeypatch.setenv(ENV_LATEST_EVENT, LATEST)
