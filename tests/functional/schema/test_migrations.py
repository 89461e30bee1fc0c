"""Alembic: upgrade/downgrade on each backend, offline Redshift DDL, models == migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sparkify_dw import schema
from sparkify_dw.errors import SchemaError
from sparkify_dw.models import metadata
from tests.support.cli import alembic

ROOT = Path(__file__).resolve().parents[3]
TABLES = {
    "staging_events",
    "staging_songs",
    "songplays",
    "users",
    "songs",
    "artists",
    "time",
    "loads",
    "load_files",
    "load_errors",
}


def tables(url: sa.URL) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        if url.get_backend_name() == "duckdb":
            names = conn.exec_driver_sql("SELECT table_name FROM duckdb_tables()").scalars()
        else:
            names = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).scalars()
        result = set(names) - {"alembic_version"}
    engine.dispose()
    return result


def test_head_constant_matches_scripts() -> None:
    assert ScriptDirectory.from_config(schema.alembic_config()).get_current_head() == schema.head()


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_upgrade_downgrade_upgrade(backend: str, request: pytest.FixtureRequest) -> None:
    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    assert tables(url) == TABLES
    schema.downgrade(url)
    assert tables(url) == set()
    schema.upgrade(url)
    assert tables(url) == TABLES
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == schema.head()
        schema.require_head(conn)
    engine.dispose()


def test_models_and_migrations_agree_on_postgresql(pg_warehouse_url: sa.URL) -> None:
    engine = sa.create_engine(pg_warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts=schema.COMPARE_OPTIONS), metadata
        )
    engine.dispose()
    assert diff == []


def test_autogenerate_notices_a_difference(pg_warehouse_url: sa.URL) -> None:
    """The comparison above can fail: a changed column is reported."""
    engine = sa.create_engine(pg_warehouse_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE users ALTER COLUMN level TYPE varchar(99)")
        diff = compare_metadata(
            MigrationContext.configure(conn, opts=schema.COMPARE_OPTIONS), metadata
        )
    engine.dispose()
    assert any("modify_type" in str(d) for d in diff)


def test_refuses_a_warehouse_not_at_head(duckdb_url: sa.URL) -> None:
    engine = sa.create_engine(duckdb_url, poolclass=sa.pool.NullPool)
    with (
        engine.connect() as conn,
        pytest.raises(SchemaError, match="run `sparkify-dw upgrade`"),
    ):
        schema.require_head(conn)
    engine.dispose()


def test_offline_redshift_ddl() -> None:
    proc = alembic(
        "-x",
        "url=redshift+redshift_connector://user:pw-s3cret@host:5439/dev",
        "upgrade",
        "head",
        "--sql",
    )
    assert proc.returncode == 0, proc.stderr
    sql = proc.stdout
    assert "pw-s3cret" not in sql + proc.stderr
    assert "songplay_id BIGINT IDENTITY(1,1) ENCODE az64 NOT NULL" in sql
    assert ") DISTKEY (start_time) SORTKEY (start_time);" in sql
    assert ") DISTSTYLE ALL SORTKEY (user_id);" in sql
    assert ") DISTSTYLE EVEN;" in sql
    assert "FOREIGN KEY(user_id) REFERENCES users (user_id)" in sql
    assert sql.count("CREATE TABLE") == 11  # ten tables and alembic_version


def test_alembic_cli_uses_the_library_configuration(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    proc = alembic("upgrade", "head", env={"SPARKIFY_DW_URL": url})
    assert proc.returncode == 0, proc.stderr
    assert tables(sa.make_url(url)) == TABLES
    bad = alembic("upgrade", "head", env={"SPARKIFY_DW_CONFIG": str(tmp_path / "nope.cfg")})
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_ledger_migration_keeps_every_row(backend: str, request: pytest.FixtureRequest) -> None:
    """0002 adds songplays.load_id to a populated table and takes it away again."""
    from tests.support.helpers import run_load, star_snapshot

    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    run_load(url)
    loaded = star_snapshot(url)
    schema.downgrade(url, "0001")
    assert "load_id" not in _columns(url, "songplays")
    assert star_snapshot(url) == loaded
    schema.upgrade(url)
    assert star_snapshot(url) == loaded
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        # Plays from before the ledger have no load; every other column is as it was.
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM songplays WHERE load_id IS NOT NULL"
            ).scalar()
            == 0
        )
        assert conn.exec_driver_sql("SELECT count(*) FROM songplays").scalar() == 3478
    engine.dispose()
    result = run_load(url)  # and loads go on: nothing new, nothing duplicated
    assert result.inserted["songplays"] == 0 and star_snapshot(url) == loaded


def _columns(url: sa.URL, table: str) -> set[str]:
    engine = schema.create_engine(url)  # DuckDB: reflects from DuckDB's catalog
    with engine.connect() as conn:
        names = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    engine.dispose()
    return names
