"""Cross-backend parity: DuckDB, PostgreSQL, and Redshift's SQL run on PostgreSQL."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sparkify_dw import load, schema, transform
from sparkify_dw.backends import Backend, for_settings
from tests.support.helpers import SAMPLE, run_load, settings_for, star_snapshot, table_rows
from tests.support.redshift_mapping import for_postgresql

REDSHIFT = sa.create_engine(
    "redshift+redshift_connector://u@h:5439/dev", paramstyle="named"
).dialect


def test_star_tables_equal_on_duckdb_and_postgresql(duckdb_url: sa.URL, pg_url: sa.URL) -> None:
    for url in (duckdb_url, pg_url):
        schema.upgrade(url)
        run_load(url)
    assert star_snapshot(duckdb_url) == star_snapshot(pg_url)
    for table in ("staging_events", "staging_songs"):
        assert table_rows(duckdb_url, table) == table_rows(pg_url, table)


def test_redshift_transform_sql_runs_on_postgresql(
    pg_warehouse_url: sa.URL, duckdb_url: sa.URL
) -> None:
    """Compile the transform for Redshift, execute that text on PostgreSQL, compare."""
    run_load(pg_warehouse_url, steps=["stage"])
    engine = sa.create_engine(pg_warehouse_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for step in transform.steps():
            text = str(
                step.statement.compile(dialect=REDSHIFT, compile_kwargs={"literal_binds": True})
            )
            assert "TIMESTAMP 'epoch'" in text or step.table != "songplays"
            conn.exec_driver_sql(for_postgresql(text))
    engine.dispose()
    schema.upgrade(duckdb_url)
    run_load(duckdb_url)
    assert star_snapshot(pg_warehouse_url) == star_snapshot(duckdb_url)


def _write_variants(root: Path) -> tuple[Path, Path]:
    """The sample rewritten as concatenated and pretty-printed JSON, with blank lines."""
    logs, songs = root / "log_data", root / "song_data"
    for src in sorted((SAMPLE / "log_data").rglob("*.json")):
        records = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
        dest = logs / src.relative_to(SAMPLE / "log_data")
        dest.parent.mkdir(parents=True, exist_ok=True)
        half = len(records) // 2
        text = "".join(json.dumps(r) for r in records[:half])  # concatenated on one line
        text += "\n\n" + "\n".join(json.dumps(r, indent=2) for r in records[half:]) + "\n"
        dest.write_text(text)
    for src in sorted((SAMPLE / "song_data").rglob("*.json")):
        dest = songs / src.relative_to(SAMPLE / "song_data")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(json.loads(src.read_text()), indent=4))
    # hidden copies, as notebooks leave them, must be ignored
    hidden = logs / ".ipynb_checkpoints"
    hidden.mkdir()
    (hidden / "2018-11-01-events-checkpoint.json").write_text(
        (SAMPLE / "log_data/2018/11/2018-11-01-events.json").read_text()
    )
    return logs, songs


def test_concatenated_and_pretty_json_stage_the_same_rows(
    tmp_path: Path, duckdb_url: sa.URL, pg_url: sa.URL
) -> None:
    logs, songs = _write_variants(tmp_path / "variants")
    reference = tmp_path / "ref.duckdb"
    ref_url = sa.URL.create("duckdb", database=str(reference))
    for url in (duckdb_url, pg_url, ref_url):
        schema.upgrade(url)
    run_load(ref_url, steps=["stage"])
    for url in (duckdb_url, pg_url):
        result = run_load(url, log_data=logs, song_data=songs, steps=["stage"])
        assert result.staged == {"staging_events": 4091, "staging_songs": 36}
        for table in ("staging_events", "staging_songs"):
            assert table_rows(url, table) == table_rows(ref_url, table)


def test_glob_source(duckdb_warehouse_url: sa.URL) -> None:
    result = run_load(
        duckdb_warehouse_url,
        log_data=SAMPLE / "log_data/2018/11/2018-11-0[1-3]-events.json",
        steps=["stage"],
    )
    assert result.staged["staging_events"] == 15 + 171 + 111


def test_dry_run_runs_nothing(duckdb_warehouse_url: sa.URL) -> None:
    statements = load.dry_run(settings_for(duckdb_warehouse_url))
    # DuckDB splits a batch's files into lines, then classifies the lines.
    assert any(s.startswith("INSERT INTO batch_lines") and "read_blob" in s for s in statements)
    assert any("json_extract_string" in s and "FROM batch_lines" in s for s in statements)
    assert any(s.startswith("INSERT INTO songplays") for s in statements)
    assert table_rows(duckdb_warehouse_url, "staging_events") == []


def _departures(cls: type[Backend]) -> list[str]:
    """The methods of ``Backend``'s interface that ``cls`` overrides with other parameters
    (names, kinds, defaults) or another kind of method (static, class, instance)."""

    def shape(owner: type, name: str) -> tuple[object, ...]:
        kind = type(inspect.getattr_static(owner, name))
        params = inspect.signature(getattr(owner, name)).parameters.values()
        return kind, [(p.name, p.kind, p.default) for p in params]

    names = [n for n, v in vars(Backend).items() if callable(v) or isinstance(v, staticmethod)]
    return [
        n
        for n in names
        if (not n.startswith("_") or n == "__init__") and shape(cls, n) != shape(Backend, n)
    ]


def test_backend_modules_share_one_interface() -> None:
    """Each backend module's class is a complete Backend whose overrides take exactly the
    parameters the loader passes to every backend."""
    classes = set()
    for url in (
        "duckdb:///x.duckdb",
        "postgresql+psycopg://h/db",
        "redshift+redshift_connector://u:p@h:5439/dev",
    ):
        name = sa.make_url(url).get_backend_name()
        backend = for_settings(settings_for(sa.make_url(url)))
        cls = type(backend)
        assert backend.name == name and cls.__module__ == f"sparkify_dw.backends.{name}.backend"
        assert isinstance(backend, Backend) and not inspect.isabstract(cls), name
        assert _departures(cls) == [], name
        classes.add(cls)
    assert len(classes) == 3


def test_a_backend_departing_from_the_interface_is_noticed() -> None:
    from sparkify_dw.backends.duckdb.backend import DuckDBBackend

    class Departing(DuckDBBackend):
        def stage_plan(self) -> list[Any]:  # type: ignore[override]
            return []

        def load_plan(self, phase: Any, tables: Any, *, vacuum: bool = True) -> list[Any]:  # type: ignore[override]
            return []

        @staticmethod
        def bulk_insert(table: Any, rows: Any, count: int) -> list[Any]:  # type: ignore[override]
            return []

    assert sorted(_departures(Departing)) == ["bulk_insert", "load_plan", "stage_plan"]
