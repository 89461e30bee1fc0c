"""Create the staging tables and the song-play star schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

ID = sa.String(18)
NAME = sa.String(256)
TEXT = sa.String(512)
TAG = sa.String(32)
TIMESTAMP = sa.TIMESTAMP(timezone=False)


def upgrade() -> None:
    op.create_table(
        "staging_events",
        sa.Column("artist", TEXT),
        sa.Column("auth", TAG),
        sa.Column("first_name", NAME),
        sa.Column("gender", TAG),
        sa.Column("item_in_session", sa.Integer),
        sa.Column("last_name", NAME),
        sa.Column("length", sa.Double),
        sa.Column("level", TAG),
        sa.Column("location", TEXT),
        sa.Column("method", TAG),
        sa.Column("page", TAG),
        sa.Column("registration", sa.Double),
        sa.Column("session_id", sa.Integer),
        sa.Column("song", TEXT),
        sa.Column("status", sa.Integer),
        sa.Column("ts", sa.BigInteger),
        sa.Column("user_agent", TEXT),
        sa.Column("user_id", sa.Integer),
        redshift_diststyle="EVEN",
    )
    op.create_table(
        "staging_songs",
        sa.Column("num_songs", sa.Integer),
        sa.Column("artist_id", ID),
        sa.Column("artist_latitude", sa.Double),
        sa.Column("artist_longitude", sa.Double),
        sa.Column("artist_location", TEXT),
        sa.Column("artist_name", TEXT),
        sa.Column("song_id", ID),
        sa.Column("title", TEXT),
        sa.Column("duration", sa.Double),
        sa.Column("year", sa.Integer),
        redshift_diststyle="ALL",
    )
    op.create_table(
        "artists",
        sa.Column("artist_id", ID, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("location", TEXT),
        sa.Column("latitude", sa.Double),
        sa.Column("longitude", sa.Double),
        sa.PrimaryKeyConstraint("artist_id", name="pk_artists"),
        redshift_diststyle="ALL",
        redshift_sortkey="artist_id",
    )
    op.create_table(
        "songs",
        sa.Column("song_id", ID, nullable=False),
        sa.Column("title", TEXT, nullable=False),
        sa.Column("artist_id", ID, nullable=False),
        sa.Column("year", sa.SmallInteger),
        sa.Column("duration", sa.Double, nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["artists.artist_id"], name="fk_songs_artist_id_artists"
        ),
        sa.PrimaryKeyConstraint("song_id", name="pk_songs"),
        redshift_diststyle="ALL",
        redshift_sortkey="song_id",
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("first_name", NAME),
        sa.Column("last_name", NAME),
        sa.Column("gender", TAG),
        sa.Column("level", TAG, nullable=False),
        sa.Column("last_event_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_users"),
        redshift_diststyle="ALL",
        redshift_sortkey="user_id",
    )
    op.create_table(
        "time",
        sa.Column("start_time", TIMESTAMP, nullable=False),
        *(
            sa.Column(name, sa.SmallInteger, nullable=False, redshift_encode="az64")
            for name in ("hour", "day", "week", "month", "year", "weekday")
        ),
        sa.PrimaryKeyConstraint("start_time", name="pk_time"),
        redshift_distkey="start_time",
        redshift_sortkey="start_time",
    )
    op.create_table(
        "songplays",
        sa.Column(
            "songplay_id",
            sa.BigInteger,
            sa.Identity(start=1),
            nullable=False,
            redshift_identity=(1, 1),
            redshift_encode="az64",
        ),
        sa.Column("start_time", TIMESTAMP, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False, redshift_encode="az64"),
        sa.Column("level", TAG, nullable=False, redshift_encode="zstd"),
        sa.Column("song_id", ID, redshift_encode="zstd"),
        sa.Column("artist_id", ID, redshift_encode="zstd"),
        sa.Column("session_id", sa.Integer, nullable=False, redshift_encode="az64"),
        sa.Column("item_in_session", sa.Integer, nullable=False, redshift_encode="az64"),
        sa.Column("location", TEXT, redshift_encode="zstd"),
        sa.Column("user_agent", TEXT, redshift_encode="zstd"),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["artists.artist_id"], name="fk_songplays_artist_id_artists"
        ),
        sa.ForeignKeyConstraint(["song_id"], ["songs.song_id"], name="fk_songplays_song_id_songs"),
        sa.ForeignKeyConstraint(
            ["start_time"], ["time.start_time"], name="fk_songplays_start_time_time"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name="fk_songplays_user_id_users"),
        sa.PrimaryKeyConstraint("songplay_id", name="pk_songplays"),
        sa.UniqueConstraint(
            "start_time", "user_id", "session_id", "item_in_session", name="uq_songplays_start_time"
        ),
        redshift_distkey="start_time",
        redshift_sortkey="start_time",
    )


def downgrade() -> None:
    tables = ("songplays", "time", "users", "songs", "artists", "staging_songs", "staging_events")
    log.warning("dropping the warehouse and its rows: %s", ", ".join(tables))
    for table in tables:
        op.drop_table(table)
