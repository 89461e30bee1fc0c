"""Descriptions: on every model table and column, and in each backend's catalog (0003)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sparkify_dw import schema
from sparkify_dw.models import metadata
from tests.support.cli import alembic
from tests.support.helpers import run_load, star_snapshot

Catalog = dict[str, tuple[str | None, dict[str, str | None]]]


def undescribed(meta: sa.MetaData) -> list[str]:
    """Tables and columns without a description (``comment=``): ``table`` / ``table.col``."""
    missing = []
    for table in sorted(meta.tables.values(), key=lambda t: t.name):
        if not (table.comment or "").strip():
            missing.append(table.name)
        missing += [
            f"{table.name}.{c.name}" for c in table.columns if not (c.comment or "").strip()
        ]
    return missing


def model_descriptions() -> Catalog:
    return {
        t.name: (t.comment, {c.name: c.comment for c in t.columns}) for t in metadata.sorted_tables
    }


def catalog(url: sa.URL) -> Catalog:
    """Every table's and column's comment as the database keeps it."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    found: Catalog = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if url.get_backend_name() == "duckdb":
                about = conn.execute(
                    sa.text("SELECT comment FROM duckdb_tables() WHERE table_name = :t"),
                    {"t": table.name},
                ).scalar_one()
                columns = conn.execute(
                    sa.text(
                        "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = :t"
                    ),
                    {"t": table.name},
                ).all()
            else:
                about = conn.execute(
                    sa.text("SELECT obj_description(CAST(:t AS regclass), 'pg_class')"),
                    {"t": table.name},
                ).scalar_one()
                columns = conn.execute(
                    sa.text(
                        "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
                        "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 "
                        "AND NOT attisdropped"
                    ),
                    {"t": table.name},
                ).all()
            found[table.name] = (about, {name: text for name, text in columns})
    engine.dispose()
    return found


def test_every_table_and_column_is_described() -> None:
    assert undescribed(metadata) == []


def test_an_undescribed_column_is_reported() -> None:
    meta = sa.MetaData()
    sa.Table("t", meta, sa.Column("a", sa.Integer, comment="described"), sa.Column("b", sa.Text))
    sa.Table("u", meta, sa.Column("a", sa.Integer, comment="described"), comment="  ")
    assert undescribed(meta) == ["t", "t.b", "u"]


def test_descriptions_fit_every_catalog() -> None:
    """One line of plain ASCII, at most 256 bytes: Redshift keeps a comment as TEXT, which is
    VARCHAR(256) there."""
    for table, (about, columns) in model_descriptions().items():
        for where, text in [(table, about), *((f"{table}.{c}", t) for c, t in columns.items())]:
            assert text is not None and text.isascii() and "\n" not in text, where
            assert len(text.encode()) <= 256, where
            assert text == text.strip() and len(text) >= 10, where


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_descriptions_migration_up_and_down_with_data(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    run_load(url)  # the loader needs the head: load, then go down and up again
    loaded = star_snapshot(url)
    assert sum(len(rows) for rows in loaded.values()) > 0
    assert catalog(url) == model_descriptions()

    schema.downgrade(url, "0002")
    blank = {t: (None, dict.fromkeys(cols)) for t, (_, cols) in model_descriptions().items()}
    assert catalog(url) == blank
    assert star_snapshot(url) == loaded

    schema.upgrade(url)
    assert catalog(url) == model_descriptions()
    assert star_snapshot(url) == loaded
    engine = schema.create_engine(url)  # DuckDB: reflects from DuckDB's catalog
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts=schema.COMPARE_OPTIONS), metadata
        )
    engine.dispose()
    assert diff == []


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_a_changed_description_is_a_difference(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """``alembic check`` compares comments: editing one in the database is noticed."""
    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    engine = schema.create_engine(url)  # DuckDB: reflects from DuckDB's catalog
    with engine.begin() as conn:
        conn.exec_driver_sql("COMMENT ON COLUMN time.weekday IS '1 = Monday'")
        conn.exec_driver_sql("COMMENT ON TABLE users IS NULL")
        diff = compare_metadata(
            MigrationContext.configure(conn, opts=schema.COMPARE_OPTIONS), metadata
        )
    engine.dispose()
    text = str(diff)
    assert "modify_comment" in text and "'1 = Monday'" in text
    assert "add_table_comment" in text and "users" in text


def test_redshift_ddl_comments_every_table_and_column() -> None:
    proc = alembic(
        "-x", "url=redshift+redshift_connector://u:p@h:5439/dev", "upgrade", "head", "--sql"
    )
    assert proc.returncode == 0, proc.stderr
    comments = [
        line.removesuffix(";") for line in proc.stdout.splitlines() if line.startswith("COMMENT ON")
    ]
    expected = []
    for table, (about, columns) in model_descriptions().items():
        assert about is not None
        expected.append(f"COMMENT ON TABLE {table} IS '{about.replace(chr(39), 2 * chr(39))}'")
        expected += [
            f"COMMENT ON COLUMN {table}.{c} IS '{(t or '').replace(chr(39), 2 * chr(39))}'"
            for c, t in columns.items()
        ]
    assert sorted(comments) == sorted(expected)
    down = alembic(
        "-x", "url=redshift+redshift_connector://u:p@h:5439/dev", "downgrade", "0003:0002", "--sql"
    )
    assert down.returncode == 0, down.stderr
    assert down.stdout.count(" IS NULL;") == len(expected)
