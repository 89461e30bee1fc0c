"""End to end on the bundled sample, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sparkify_dw.models import Artist, SongPlay, User
from tests.support.helpers import all_days, copy_sample_days, run_load, star_snapshot, table_rows

EXPECTED = {
    "staging_events": 4091,
    "staging_songs": 36,
    "songplays": 3478,
    "users": 87,
    "songs": 36,
    "artists": 35,
    "time": 3476,
}


def test_sample_figures(warehouse_url: sa.URL) -> None:
    result = run_load(warehouse_url)
    assert result.staged == {"staging_events": 4091, "staging_songs": 36}
    for table, rows in EXPECTED.items():
        assert result.counts[table] == rows, table
    assert result.inserted["songplays"] == 3478

    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        levels: dict[str, int] = dict(
            conn.execute(sa.text("SELECT level, count(*) FROM users GROUP BY level")).all()
        )
        assert levels == {"free": 67, "paid": 20}
        matched = conn.execute(
            sa.text(
                "SELECT user_id, start_time, song_id, artist_id FROM songplays "
                "WHERE song_id IS NOT NULL"
            )
        ).all()
        assert matched == [
            (
                15,
                dt.datetime(2018, 11, 21, 21, 56, 47, 796000),
                "SOZCTXZ12AB0182364",
                "AR5KOSW1187FB35FF4",
            )
        ]
        # year 0 and empty locations are unknown, not data
        assert conn.execute(sa.text("SELECT count(*) FROM songs WHERE year = 0")).scalar() == 0
        assert (
            conn.execute(sa.text("SELECT count(*) FROM songs WHERE year IS NULL")).scalar_one() > 0
        )
        assert (
            conn.execute(sa.text("SELECT count(*) FROM artists WHERE trim(location) = ''")).scalar()
            == 0
        )
        # one time row per distinct songplay start, weekday 0 = Sunday as Redshift's DOW
        orphans = conn.execute(
            sa.text(
                "SELECT count(*) FROM songplays sp "
                "LEFT JOIN time t ON t.start_time = sp.start_time "
                "WHERE t.start_time IS NULL"
            )
        ).scalar()
        assert orphans == 0
        sunday = (
            conn.execute(sa.text("SELECT DISTINCT weekday FROM time WHERE day = 4 AND month = 11"))
            .scalars()
            .all()
        )
        assert sunday == [0]  # 2018-11-04 was a Sunday
        ms = conn.execute(sa.text("SELECT min(start_time) FROM songplays")).scalar()
        assert ms == dt.datetime(2018, 11, 1, 21, 1, 46, 796000)
    engine.dispose()


def test_user_level_comes_from_latest_event(sample_warehouse: sa.URL) -> None:
    warehouse_url = sample_warehouse
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        # users whose level changed during the sample: each must carry the latest level
        latest = conn.execute(
            sa.text("""
            SELECT e.user_id, e.level FROM staging_events e
            JOIN (SELECT user_id, max(ts) AS ts FROM staging_events
                  WHERE user_id IS NOT NULL GROUP BY user_id) m
              ON m.user_id = e.user_id AND m.ts = e.ts""")
        ).all()
        users: dict[int, str] = dict(
            conn.execute(sa.text("SELECT user_id, level FROM users")).all()
        )
        changed = conn.execute(
            sa.text("""
            SELECT count(DISTINCT user_id) FROM staging_events
            WHERE user_id IN (SELECT user_id FROM staging_events GROUP BY user_id
                              HAVING count(DISTINCT level) > 1)""")
        ).scalar()
    engine.dispose()
    assert changed and changed > 0
    assert {u: lvl for u, lvl in latest} == users


def test_rerun_is_idempotent(loaded_url: sa.URL) -> None:
    warehouse_url = loaded_url  # loaded once already
    first = star_snapshot(warehouse_url)
    ids = table_rows(warehouse_url, "songplays")
    again = run_load(warehouse_url)
    assert all(v == 0 for v in again.inserted.values()), again.inserted
    assert star_snapshot(warehouse_url) == first
    assert table_rows(warehouse_url, "songplays") == ids


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_batches_in_either_order_equal_one_load(
    warehouse_url: sa.URL, tmp_path: Path, order: str, request: pytest.FixtureRequest
) -> None:
    days = all_days()
    early = copy_sample_days(tmp_path / "early", days[:8])
    late = copy_sample_days(tmp_path / "late", days[8:])
    batches = [early, late] if order == "forward" else [late, early]
    results = [run_load(warehouse_url, log_data=b) for b in batches]
    if order == "backward":
        # users seen in both halves: the earlier days must not overwrite later facts
        assert results[1].updated["users"] == 0
    else:
        assert results[1].updated["users"] > 0
    batched = star_snapshot(warehouse_url)
    whole = "pg" if warehouse_url.get_backend_name() == "postgresql" else "duckdb"
    whole_url: sa.URL = request.getfixturevalue(f"{whole}_sample_warehouse")  # one load
    assert batched == star_snapshot(whole_url)


def test_orm_navigation(sample_warehouse: sa.URL) -> None:
    warehouse_url = sample_warehouse
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        play = session.scalars(sa.select(SongPlay).where(SongPlay.song_id.is_not(None))).one()
        assert play.user.user_id == 15
        assert play.song is not None and play.song.title
        assert play.artist is not None and play.artist.artist_id == "AR5KOSW1187FB35FF4"
        assert play.time.hour == 21
        assert play in play.user.songplays
        user = session.get(User, 15)
        assert user is not None and len(user.songplays) > 1
        artist = session.get(Artist, play.artist.artist_id)
        assert artist is not None and play.song in artist.songs
    engine.dispose()
