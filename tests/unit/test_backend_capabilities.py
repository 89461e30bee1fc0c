"""Backends declare what they can do; the loader reads that and never names a backend."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import replace
from pathlib import Path

import pytest

from sparkify_dw import backends, config
from sparkify_dw.backends import Capabilities
from sparkify_dw.backends.duckdb.backend import DuckDBBackend
from sparkify_dw.backends.postgresql.backend import PostgreSQLBackend
from sparkify_dw.backends.redshift.backend import RedshiftBackend
from sparkify_dw.errors import ConfigError
from sparkify_dw.uris import S3Uri
from tests.support.redshift_config import CFG, write_cfg

ROOT = Path(__file__).resolve().parents[2]
BACKEND_NAMES = re.compile(r"redshift|duckdb|postgres", re.IGNORECASE)


def _code_without_docs(path: Path) -> str:
    """The module's code with its comments and docstrings left out."""
    source = path.read_text()
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    kept = [
        tok
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type != tokenize.COMMENT and tok.start[0] not in docstrings
    ]
    return " ".join(tok.string for tok in kept)


def test_every_backend_declares_its_capabilities() -> None:
    for cls in (DuckDBBackend, PostgreSQLBackend, RedshiftBackend):
        assert isinstance(cls.capabilities, Capabilities)
        assert cls.capabilities.sources <= {"file", "s3"}
        assert cls.capabilities.rejects_reported_by in {"quarantine", "engine"}
    assert RedshiftBackend.capabilities.sources == {"s3"}
    assert RedshiftBackend.capabilities.needs_manifest
    assert (
        DuckDBBackend.capabilities.sources
        == PostgreSQLBackend.capabilities.sources
        == {"file", "s3"}
    )


@pytest.mark.parametrize(
    "key, value",
    [
        ("LOG_DATA", "/data/log_data"),
        ("SONG_DATA", "file:///data/song_data"),
        ("LOG_JSONPATH", "/data/log_json_path.json"),
    ],
)
def test_a_source_the_backend_cant_read_is_refused_before_listing(
    tmp_path: Path, key: str, value: str
) -> None:
    text = re.sub(rf"^{key}=.*$", f"{key}={value}", CFG, flags=re.MULTILINE)
    text += "MANIFEST_PREFIX=s3://bkt/manifests\n"
    settings = config.resolve(config=write_cfg(tmp_path / "dwh.cfg", text), environ={})
    backend = backends.for_settings(settings)
    with pytest.raises(ConfigError) as caught:
        backend.requests()  # nothing is listed: S3 is unreachable here
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{key.lower()}: Redshift stages only from an s3:// URI")
    assert value in message


def test_a_backend_that_needs_a_manifest_prefix_says_so_first(tmp_path: Path) -> None:
    settings = config.resolve(config=write_cfg(tmp_path / "dwh.cfg", CFG), environ={})
    with pytest.raises(ConfigError, match="MANIFEST_PREFIX"):
        backends.for_settings(settings).requests()


def test_local_backends_take_both_kinds_of_source(duckdb_url: object) -> None:
    settings = config.resolve(url=str(duckdb_url))
    reqs = backends.for_settings(settings).requests()
    assert [r.table.name for r in reqs] == ["staging_events", "staging_songs"]
    assert all(r.files for r in reqs)
    s3 = replace(settings, log_data=S3Uri("bkt", "log_data"))
    backends.check_schemes(s3, DuckDBBackend.capabilities.sources, "DuckDB")  # no error
