"""DuckDB reflection from DuckDB's catalog (sparkify_dw.backends.duckdb.dialect), and Alembic
autogenerate on DuckDB: models == migrations, and real differences are still reported."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sparkify_dw import models, schema
from sparkify_dw.backends.duckdb.dialect import DuckDBDialect, _split_index_expressions
from sparkify_dw.backends.duckdb.migrations import reflecting

SMALL_DDL = """
CREATE TABLE parent (
    id INTEGER PRIMARY KEY,
    code VARCHAR(10) NOT NULL,
    UNIQUE (code)
);
CREATE TABLE child (
    id BIGINT,
    parent_id INTEGER NOT NULL REFERENCES parent (id),
    label VARCHAR(18),
    amount DECIMAL(10, 2),
    ratio DOUBLE,
    small SMALLINT NOT NULL DEFAULT 0,
    seen_at TIMESTAMP,
    seen_tz TIMESTAMPTZ,
    flag BOOLEAN,
    tags VARCHAR[],
    CONSTRAINT whatever_name PRIMARY KEY (id),
    UNIQUE (parent_id, small),
    CHECK (small >= 0)
);
CREATE INDEX ix_child_seen_at ON child (seen_at, label);
CREATE UNIQUE INDEX ux_child_lower_label ON child ((lower(label)));
CREATE VIEW child_labels AS SELECT id, label FROM child;
"""


@pytest.fixture
def engine(duckdb_url: sa.URL) -> Iterator[sa.Engine]:
    engine = schema.create_engine(duckdb_url)
    yield engine
    engine.dispose()


@pytest.fixture
def small(engine: sa.Engine) -> sa.Engine:
    with engine.begin() as conn:
        for statement in SMALL_DDL.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    return engine


def _diff(engine: sa.Engine, **opts: Any) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={**schema.COMPARE_OPTIONS, **opts})
        return list(compare_metadata(ctx, models.metadata))


# --- wiring ---------------------------------------------------------------------------------


def test_duckdb_urls_use_the_reflecting_dialect(engine: sa.Engine) -> None:
    assert isinstance(engine.dialect, DuckDBDialect)
    assert engine.dialect.name == "duckdb"  # Alembic's DuckDBImpl is found by this name


def test_duckdb_engine_execution_still_works(engine: sa.Engine) -> None:
    """DDL (the identity emulation), inserts and selects go through duckdb_engine as before."""
    models.metadata.create_all(engine)
    at = dt.datetime(2018, 11, 1, 0, 0, 0, 123000)
    with engine.begin() as conn:
        conn.execute(sa.insert(models.User), [{"user_id": 1, "level": "free", "last_event_at": at}])
        conn.execute(
            sa.insert(models.Time),
            [
                {
                    "start_time": at,
                    "hour": 0,
                    "day": 1,
                    "week": 44,
                    "month": 11,
                    "year": 2018,
                    "weekday": 4,
                }
            ],
        )
        conn.execute(
            sa.insert(models.SongPlay),
            [
                {
                    "start_time": at,
                    "user_id": 1,
                    "level": "free",
                    "session_id": 1,
                    "item_in_session": 0,
                }
            ],
        )
        assert conn.execute(sa.select(models.SongPlay.songplay_id)).scalar_one() == 1


# --- reflection of a small hand-written schema ------------------------------------------------


def test_table_and_view_names(small: sa.Engine) -> None:
    with small.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE scratch (a INTEGER)")
        insp = sa.inspect(conn)
        assert insp.get_table_names() == ["child", "parent"]
        assert insp.get_temp_table_names() == ["scratch"]
        assert insp.get_view_names() == ["child_labels"]
        assert [c["name"] for c in insp.get_columns("child_labels")] == ["id", "label"]
        assert [c["name"] for c in insp.get_columns("scratch")] == ["a"]
    with pytest.raises(sa.exc.NoSuchTableError):
        sa.inspect(small).get_columns("nope")


def test_columns(small: sa.Engine) -> None:
    columns = {c["name"]: c for c in sa.inspect(small).get_columns("child")}
    assert list(columns) == [
        "id",
        "parent_id",
        "label",
        "amount",
        "ratio",
        "small",
        "seen_at",
        "seen_tz",
        "flag",
        "tags",
    ]
    expected_types = {
        "id": sa.BIGINT,
        "parent_id": sa.INTEGER,
        "label": sa.VARCHAR,
        "amount": sa.NUMERIC,
        "ratio": sa.DOUBLE,
        "small": sa.SMALLINT,
        "seen_at": sa.TIMESTAMP,
        "seen_tz": sa.TIMESTAMP,
        "flag": sa.BOOLEAN,
        "tags": sa.ARRAY,
    }
    for name, type_ in expected_types.items():
        assert type(columns[name]["type"]) is type_, name
    assert columns["amount"]["type"].precision == 10  # type: ignore[attr-defined]
    assert columns["amount"]["type"].scale == 2  # type: ignore[attr-defined]
    assert columns["seen_tz"]["type"].timezone is True  # type: ignore[attr-defined]
    assert columns["seen_at"]["type"].timezone is False  # type: ignore[attr-defined]
    assert isinstance(columns["tags"]["type"].item_type, sa.VARCHAR)  # type: ignore[attr-defined]
    assert {n for n, c in columns.items() if not c["nullable"]} == {"id", "parent_id", "small"}
    assert columns["small"]["default"] == "0"
    assert columns["label"]["default"] is None


def test_constraints(small: sa.Engine) -> None:
    insp = sa.inspect(small)
    # DuckDB keeps no constraint names: reflected ones follow models.NAMING.
    assert insp.get_pk_constraint("child") == {"name": "pk_child", "constrained_columns": ["id"]}
    assert insp.get_foreign_keys("child") == [
        {
            "name": "fk_child_parent_id_parent",
            "constrained_columns": ["parent_id"],
            "referred_schema": None,
            "referred_table": "parent",
            "referred_columns": ["id"],
        }
    ]
    assert insp.get_unique_constraints("child") == [
        {"name": "uq_child_parent_id", "column_names": ["parent_id", "small"]}
    ]
    assert insp.get_unique_constraints("parent") == [
        {"name": "uq_parent_code", "column_names": ["code"]}
    ]
    [check] = insp.get_check_constraints("child")
    assert check["sqltext"].replace(" ", "") == "(small>=0)"
    assert insp.get_table_comment("child") == {"text": None}
    assert insp.get_foreign_keys("parent") == []


def test_indexes(small: sa.Engine) -> None:
    indexes = {ix["name"]: ix for ix in sa.inspect(small).get_indexes("child")}
    assert indexes["ix_child_seen_at"]["column_names"] == ["seen_at", "label"]
    assert indexes["ix_child_seen_at"]["unique"] is False
    expr = indexes["ux_child_lower_label"]
    assert expr["unique"] is True
    assert expr["column_names"] == [None]
    assert "lower(label)" in expr["expressions"][0].replace('"', "")


def test_index_expression_lists() -> None:
    assert _split_index_expressions("[b, '(lower(c))']") == ["b", "(lower(c))"]
    assert _split_index_expressions("['\"it\\'s\"', '\"x,y\"', Upper]") == [
        '"it\'s"',
        '"x,y"',
        "Upper",
    ]
    assert _split_index_expressions("['((c || \\'x, y\\'))']") == ["((c || 'x, y'))"]
    assert _split_index_expressions("[]") == []


def test_reflect_table_and_other_schema(small: sa.Engine) -> None:
    with small.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA other")
        conn.exec_driver_sql("CREATE TABLE other.parent (k VARCHAR PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE other.kid (k VARCHAR REFERENCES other.parent (k))")
    child = sa.Table("child", sa.MetaData(), autoload_with=small)
    assert [c.name for c in child.primary_key] == ["id"]
    assert {fk.target_fullname for fk in child.foreign_keys} == {"parent.id"}
    insp = sa.inspect(small)
    assert insp.get_table_names(schema="other") == ["kid", "parent"]
    assert insp.get_pk_constraint("parent", schema="other")["constrained_columns"] == ["k"]
    [fk] = insp.get_foreign_keys("kid", schema="other")
    assert (fk["referred_schema"], fk["referred_table"]) == ("other", "parent")


# --- the project's own models ------------------------------------------------------------------


def test_models_reflect_as_defined(engine: sa.Engine) -> None:
    models.metadata.create_all(engine)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    assert set(reflected.tables) == set(models.metadata.tables)
    for table in models.metadata.sorted_tables:
        got = reflected.tables[table.name]
        assert [c.name for c in got.columns] == [c.name for c in table.columns]
        for col in table.columns:
            other = got.c[col.name]
            assert other.type._type_affinity is col.type._type_affinity, col
            assert other.nullable == col.nullable, col
        assert [c.name for c in got.primary_key] == [c.name for c in table.primary_key]
        if table.primary_key.columns:
            assert got.primary_key.name == table.primary_key.name
        assert {(fk.name, fk.parent.name, fk.target_fullname) for fk in got.foreign_keys} == {
            (fk.constraint.name, fk.parent.name, fk.target_fullname)  # type: ignore[union-attr]
            for fk in table.foreign_keys
            # songplays' keys are created on Redshift only (ddl_if): none here
            if getattr(fk.constraint, "_ddl_if", None) is None
        }

        def uniques(t: sa.Table) -> set[tuple[str | None, tuple[str, ...]]]:
            return {
                (str(c.name), tuple(c.columns.keys()))
                for c in t.constraints
                if isinstance(c, sa.UniqueConstraint)
            }

        assert uniques(got) == uniques(table)
    # constructs' DuckDB identity emulation (sequence + DEFAULT nextval) reads back as Identity
    identity = reflected.tables["songplays"].c.songplay_id.identity
    assert identity is not None and identity.start == 1


# --- Alembic autogenerate -----------------------------------------------------------------------


@pytest.mark.parametrize("compare_server_default", [False, True])
def test_models_and_migrations_agree_on_duckdb(
    duckdb_warehouse_url: sa.URL, engine: sa.Engine, compare_server_default: bool
) -> None:
    assert _diff(engine, compare_server_default=compare_server_default) == []


def test_create_all_matches_models_on_duckdb(engine: sa.Engine) -> None:
    models.metadata.create_all(engine)
    assert _diff(engine) == []


def _ops(diff: list[Any]) -> set[tuple[str, ...]]:
    """(operation, table, column or constraint name) for each difference."""
    out: set[tuple[str, ...]] = set()
    for item in diff:
        for d in item if isinstance(item, list) else [item]:
            op = d[0]
            if op in {"add_column", "remove_column"}:
                out.add((op, d[2], d[3].name))
            elif op.startswith("modify_"):
                out.add((op, d[2], d[3]))
            elif op in {
                "add_constraint",
                "remove_constraint",
                "add_index",
                "remove_index",
                "add_fk",
                "remove_fk",
            }:
                out.add((op, d[1].table.name, str(d[1].name)))
            else:
                out.add((op,))
    return out


def test_autogenerate_notices_differences_on_duckdb(
    duckdb_warehouse_url: sa.URL, engine: sa.Engine
) -> None:
    """The comparison above can fail: missing and retyped columns, a new index are reported.

    (DuckDB keeps no VARCHAR length, so VARCHAR(18) vs VARCHAR(32) can't be seen there.)
    """
    with engine.begin() as conn:
        # (DuckDB alters no table that a foreign key refers to: staging tables here.)
        conn.exec_driver_sql("ALTER TABLE staging_songs DROP COLUMN artist_longitude")
        conn.exec_driver_sql("ALTER TABLE staging_events ALTER COLUMN status TYPE BIGINT")
        conn.exec_driver_sql("ALTER TABLE staging_events ALTER COLUMN auth SET NOT NULL")
        conn.exec_driver_sql("CREATE INDEX ix_staging_events_page ON staging_events (page)")
    ops = _ops(_diff(engine))
    assert ops == {
        ("add_column", "staging_songs", "artist_longitude"),
        ("modify_type", "staging_events", "status"),
        ("modify_nullable", "staging_events", "auth"),
        ("remove_index", "staging_events", "ix_staging_events_page"),
    }


def test_autogenerate_notices_constraint_differences_on_duckdb(engine: sa.Engine) -> None:
    """A database whose songplays lacks the natural-key unique, and songs a foreign key.
    (songplays' own keys are created on Redshift only: not missing here.)"""
    other = sa.MetaData(naming_convention=models.NAMING)
    for table in models.metadata.sorted_tables:
        table.to_metadata(other)
    songplays, songs = other.tables["songplays"], other.tables["songs"]
    for const in list(songplays.constraints):
        if isinstance(const, sa.UniqueConstraint):
            songplays.constraints.remove(const)
    for const in list(songs.constraints):
        if isinstance(const, sa.ForeignKeyConstraint):
            songs.constraints.remove(const)
    songs.c.artist_id.foreign_keys.clear()
    other.create_all(engine)
    ops = _ops(_diff(engine))
    assert ops == {
        ("add_constraint", "songplays", "uq_songplays_start_time"),
        ("add_fk", "songs", "fk_songs_artist_id_artists"),
    }


def test_alembic_check_cli(duckdb_url: sa.URL, tmp_path: Path) -> None:
    """``alembic upgrade head`` then ``alembic check`` on a DuckDB file, as a user runs them
    (in-process: importing the module is what makes ``duckdb://`` reflect)."""
    from alembic import command
    from alembic.util.exc import AutogenerateDiffsDetected

    cfg = schema._bound(duckdb_url)
    command.upgrade(cfg, "head")
    command.check(cfg)  # raises AutogenerateDiffsDetected on any difference
    engine = schema.create_engine(duckdb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE staging_events DROP COLUMN gender")
    engine.dispose()
    with pytest.raises(AutogenerateDiffsDetected):
        command.check(cfg)


# --- scope: only where Alembic reflects ---------------------------------------------------------

_PROBE = """
import json, sys
import duckdb_engine
import sqlalchemy as sa
if sys.argv[1] == "with":
    import sparkify_dw, sparkify_dw.schema, sparkify_dw.load  # noqa: F401, E401
from alembic.ddl.base import ColumnComment
engine = sa.create_engine("duckdb:///:memory:")
cls = type(engine.dialect)
seen = {"class": f"{cls.__module__}.{cls.__qualname__}",
        "is_duckdb_engine": cls is duckdb_engine.Dialect}
for name in ("get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes",
             "get_unique_constraints", "get_multi_columns", "has_table", "get_table_names"):
    method = getattr(cls, name)
    seen[name] = f"{method.__module__}.{method.__qualname__}"
with engine.connect() as conn:
    conn.exec_driver_sql("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    try:
        seen["columns"] = [c["name"] for c in sa.inspect(conn).get_columns("t")]
    except Exception as exc:
        seen["columns"] = type(exc).__name__
try:
    seen["comment"] = str(ColumnComment("t", "a", "x").compile(dialect=engine.dialect))
except Exception as exc:
    seen["comment"] = type(exc).__name__
print(json.dumps(seen))
"""


def _probe(mode: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_the_library_leaves_a_users_duckdb_engine_alone() -> None:
    """A notebook user's own ``duckdb://`` engine, after ``import sparkify_dw.schema`` and
    ``sparkify_dw.load``, is exactly what it is without the library: duckdb_engine's class,
    its reflection methods, and the same behaviour (here: its reflection still fails)."""
    without, with_library = _probe("without"), _probe("with")
    assert with_library == without
    assert with_library["is_duckdb_engine"] is True
    assert not [v for v in with_library.values() if str(v).startswith("sparkify_dw")]


def test_reflecting_switches_a_connection_for_the_block_only(duckdb_url: sa.URL) -> None:
    engine = sa.create_engine(duckdb_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            original = type(conn.dialect)
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER PRIMARY KEY)")
            with reflecting(conn):
                assert isinstance(conn.dialect, DuckDBDialect)
                assert [c["name"] for c in sa.inspect(conn).get_columns("t")] == ["a"]
            assert type(conn.dialect) is original and original is not DuckDBDialect
    finally:
        engine.dispose()


def test_upgrade_on_a_users_own_connection_then_leaves_it_as_it_was(duckdb_url: sa.URL) -> None:
    """0003 writes column comments through Alembic, which needs the reflecting dialect; the
    caller's engine has duckdb_engine's own again afterwards."""
    engine = sa.create_engine(duckdb_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            original = type(conn.dialect)
            schema.upgrade(conn)
            conn.commit()
            assert schema.current_revision(conn) == schema.head()
            assert type(conn.dialect) is original and original is not DuckDBDialect
    finally:
        engine.dispose()
    assert _diff(schema.create_engine(duckdb_url)) == []


def test_only_duckdb_urls_are_pointed_at_the_reflecting_dialect() -> None:
    assert schema.alembic_url("duckdb:///w.duckdb").drivername == "duckdb+sparkify"
    pg = "postgresql+psycopg://u@h/db"
    assert schema.alembic_url(pg) == sa.make_url(pg)
