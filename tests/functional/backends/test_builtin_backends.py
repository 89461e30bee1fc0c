"""The built-in backends against the conformance suite (Redshift: see its harness tests,
tests/functional/redshift, which run the loader over the real driver's wire protocol)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.functional.backends.conformance import BackendConformance


class TestDuckDB(BackendConformance):
    scheme = "duckdb"

    @pytest.fixture
    def warehouse(self, duckdb_warehouse_url: sa.URL) -> sa.URL:
        return duckdb_warehouse_url


class TestPostgreSQL(BackendConformance):
    scheme = "postgresql"

    @pytest.fixture
    def warehouse(self, pg_warehouse_url: sa.URL) -> sa.URL:
        return pg_warehouse_url
