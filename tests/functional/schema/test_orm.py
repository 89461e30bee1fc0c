"""The ORM as a notebook user meets it: relationships and readable objects."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sparkify_dw.models import Song, SongPlay, User
from tests.support.helpers import run_load


def test_objects_print_as_their_keys_and_names(duckdb_warehouse_url: sa.URL) -> None:
    run_load(duckdb_warehouse_url)
    engine = sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        play = session.scalars(sa.select(SongPlay).where(SongPlay.song_id.is_not(None))).one()
        assert repr(play).startswith(f"<SongPlay {play.songplay_id} start_time=")
        assert play.song is not None
        assert repr(play.song) == (
            f"<Song SOZCTXZ12AB0182364 title='Setanta matins' year={play.song.year!r}>"
        )
        assert repr(play.user) == (
            f"<User 15 first_name={play.user.first_name!r} "
            f"last_name={play.user.last_name!r} "
            f"level={play.user.level!r}>"
        )
        assert " object at 0x" not in repr(session.get(Song, play.song_id))
        assert repr(session.get(User, 15)) == repr(play.user)
    engine.dispose()
