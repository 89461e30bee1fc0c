"""songplays' foreign keys: declared by the models, created only where they are
informational (Redshift), checked by the load itself on PostgreSQL and DuckDB (0004)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import checks, schema, transform
from sparkify_dw.errors import LoadError
from sparkify_dw.models import SONGPLAYS, STAR_TABLES, TIME
from tests.support.helpers import run_load, star_snapshot

PLAY_KEYS = {
    "fk_songplays_artist_id_artists",
    "fk_songplays_song_id_songs",
    "fk_songplays_start_time_time",
    "fk_songplays_user_id_users",
}


def _play_keys(url: sa.URL) -> set[str]:
    engine = schema.create_engine(url)  # DuckDB: reflects from DuckDB's catalog
    with engine.connect() as conn:
        names = {str(fk["name"]) for fk in sa.inspect(conn).get_foreign_keys("songplays")}
    engine.dispose()
    return names


def _scalar(url: sa.URL, sql: str) -> Any:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return value


def test_the_models_still_declare_the_keys() -> None:
    assert {fk.column.table.name for fk in SONGPLAYS.foreign_keys} == {
        "time",
        "users",
        "songs",
        "artists",
    }


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_0004_drops_the_keys_and_its_downgrade_restores_them(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    assert _play_keys(url) == set()
    run_load(url)
    loaded = star_snapshot(url)
    top = _scalar(url, "SELECT max(songplay_id) FROM songplays")
    schema.downgrade(url, "0003")
    assert _play_keys(url) == PLAY_KEYS
    assert star_snapshot(url) == loaded
    schema.upgrade(url)
    assert _play_keys(url) == set()
    assert star_snapshot(url) == loaded
    assert _scalar(url, "SELECT max(songplay_id) FROM songplays") == top
    if backend == "duckdb":  # rebuilt on the same sequence: new ids come after the old ones
        assert _scalar(url, "SELECT nextval('songplays_songplay_id_seq')") > top
    # Described as before, and the models agree with the warehouse.
    assert "NextSong" in _scalar(
        url,
        "SELECT obj_description('songplays'::regclass)"
        if backend == "postgresql"
        else "SELECT comment FROM duckdb_tables() WHERE table_name = 'songplays'",
    )
    assert run_load(url).inserted["songplays"] == 0  # and loads go on


def test_0004_downgrade_refuses_a_dangling_play(pg_warehouse_url: sa.URL) -> None:
    engine = sa.create_engine(pg_warehouse_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO songplays (start_time, user_id, level, session_id, item_in_session) "
            "VALUES ('2018-11-01', 999999, 'free', 1, 1)"
        )
    engine.dispose()
    with pytest.raises(Exception, match="fk_songplays_"):
        schema.downgrade(pg_warehouse_url, "0003")
    assert _play_keys(pg_warehouse_url) == set()


def _dangling_play(load_id: int | None) -> transform.Step:
    """A play of a user no load staged, at a time that is in ``time``."""
    values = {
        "start_time": sa.func.min(TIME.c.start_time),
        "user_id": sa.literal(999999, sa.Integer),
        "level": sa.literal("free", sa.Text),
        "session_id": sa.literal(1, sa.Integer),
        "item_in_session": sa.literal(1, sa.Integer),
        "load_id": sa.literal(load_id, sa.Integer),
    }
    select = sa.select(*(v.label(k) for k, v in values.items()))
    return transform.Step(
        "songplays", "insert", sa.insert(SONGPLAYS).from_select(list(values), select)
    )


@pytest.mark.parametrize(
    ("backend", "steps"),
    [
        ("duckdb", ("stage", "transform")),
        ("postgresql", ("stage", "transform")),
        ("postgresql", ("stage", "transform", "check")),
    ],
)
def test_a_dangling_key_rolls_the_load_back(
    backend: str,
    steps: tuple[str, ...],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A play with no user stops the load, in one line naming the check, and nothing of
    the load is kept: the transform checks the plays it inserted, or the check step (in
    the same transaction) checks every play."""
    url: sa.URL = request.getfixturevalue(
        "duckdb_warehouse_url" if backend == "duckdb" else "pg_warehouse_url"
    )
    statements = transform.steps

    def with_a_dangling_play(load_id: int | None) -> list[transform.Step]:
        return [*statements(load_id), _dangling_play(load_id)]

    monkeypatch.setattr(transform, "steps", with_a_dangling_play)
    with pytest.raises(LoadError) as raised:
        run_load(url, steps=steps)
    message = str(raised.value)
    assert "\n" not in message
    step = "check" if "check" in steps else "transform"
    assert message.startswith(f"{step}: 1 check failed: songplays.user_id_in_users: 1 (")
    assert "user_id=999999" in message
    kept = star_snapshot(url)
    assert len(kept) == len(STAR_TABLES) and all(rows == [] for rows in kept.values())


def test_the_load_checks_only_its_own_plays(pg_loaded_url: sa.URL) -> None:
    """A play of another load with a dangling key is the check step's to find."""
    engine = sa.create_engine(pg_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(_dangling_play(None).statement)
        checks.verify_relationships(conn, 12345)  # none of its plays: nothing to say
        with pytest.raises(checks.CheckFailed, match=r"songplays\.user_id_in_users: 1 "):
            checks.verify(conn)
    engine.dispose()
