"""Adding a backend is a package and an entry point: a toy one, DuckDB again under the
``toyduck://`` scheme, registered through the registry's API (as its entry point would),
passes the same conformance suite as the built-in ones, and nothing outside its own
module changed to make it work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw import schema
from sparkify_dw.backends import registry
from sparkify_dw.backends.duckdb import INFO as DUCKDB
from sparkify_dw.backends.duckdb import DuckDBInfo
from sparkify_dw.backends.duckdb.backend import DuckDBBackend
from sparkify_dw.errors import ConfigError
from tests.functional.backends.conformance import BackendConformance


class ToyBackend(DuckDBBackend):
    name, title = "toyduck", "ToyDuck"


@dataclass(frozen=True)
class ToyInfo(DuckDBInfo):
    def engine_url(self, url: URL) -> URL:
        # The toy's own scheme names DuckDB's reflecting dialect.
        return url.set(drivername="duckdb+sparkify")


TOY = ToyInfo(
    scheme="toyduck",
    title="ToyDuck",
    backend=f"{__name__}:ToyBackend",
    drivers=("duckdb_engine",),
    example_url="toyduck:///path/to/toy.duckdb",
    setup=DUCKDB.setup,
)


@pytest.fixture
def toy_registered() -> Iterator[None]:
    undo = registry.register(TOY)
    try:
        yield
    finally:
        undo()


class TestToyBackend(BackendConformance):
    scheme = "toyduck"
    info = f"{__name__}:TOY"

    @pytest.fixture
    def warehouse(self, toy_registered: None, tmp_path: Path) -> sa.URL:
        url = sa.make_url(f"toyduck:///{tmp_path / 'toy.duckdb'}")
        schema.upgrade(url)
        return url


def test_an_unregistered_scheme_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as refused:
        registry.info_for("toyduck")
    assert "unsupported database 'toyduck'" in str(refused.value)
    assert "duckdb, postgresql, redshift" in str(refused.value)


def test_registering_is_undone(toy_registered: None) -> None:
    assert "toyduck" in registry.schemes()
