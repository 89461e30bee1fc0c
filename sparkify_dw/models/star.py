"""The song-play star schema: users, artists, songs and time around songplays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    SmallInteger,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sparkify_dw.models.base import (
    ID,
    NAME,
    PHYSICAL_DESIGN,
    TAG,
    TEXT,
    Base,
    Timestamp,
)

# --- star schema ---------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    _repr_columns = ("first_name", "last_name", "level")
    __table_args__ = {
        "redshift_diststyle": "ALL",
        "redshift_sortkey": "user_id",
        "comment": "Dimension: one row per user id seen in any event (not only NextSong), "
        "attributes from the user's latest event",
    }

    user_id: Mapped[int] = mapped_column(
        Integer,
        primary_key=True,
        autoincrement=False,
        comment="User id, from staging_events.user_id of any event",
    )
    first_name: Mapped[str | None] = mapped_column(
        NAME, comment="First name, from the user's latest event (staging_events.first_name)"
    )
    last_name: Mapped[str | None] = mapped_column(
        NAME, comment="Last name, from the user's latest event (staging_events.last_name)"
    )
    gender: Mapped[str | None] = mapped_column(
        TAG, comment="Gender, M or F, from the user's latest event (staging_events.gender)"
    )
    level: Mapped[str] = mapped_column(
        TAG,
        comment="Subscription level, free or paid, "
        "as of the user's latest event (staging_events.level)",
    )
    # ts of the event the attributes come from: a later batch only overwrites with newer facts,
    # so loading days in any order gives the same row.
    last_event_at: Mapped[dt.datetime] = mapped_column(
        Timestamp,
        comment="Time of the user's latest event loaded, "
        "UTC (staging_events.ts); only a newer event overwrites the row",
    )

    songplays: Mapped[list[SongPlay]] = relationship(back_populates="user")


class Artist(Base):
    __tablename__ = "artists"
    _repr_columns = ("name",)
    __table_args__ = {
        "redshift_diststyle": "ALL",
        "redshift_sortkey": "artist_id",
        "comment": "Dimension: one row per artist id in song_data, "
        "values from the artist's song with the smallest song_id; loaded rows are kept",
    }

    artist_id: Mapped[str] = mapped_column(
        ID, primary_key=True, comment="Million Song Dataset artist id (staging_songs.artist_id)"
    )
    name: Mapped[str] = mapped_column(TEXT, comment="Artist name (staging_songs.artist_name)")
    location: Mapped[str | None] = mapped_column(
        TEXT,
        comment="Artist location as free text, NULL when empty (staging_songs.artist_location)",
    )
    latitude: Mapped[float | None] = mapped_column(
        Double,
        comment="Artist latitude in decimal degrees, "
        "NULL when unknown (staging_songs.artist_latitude)",
    )
    longitude: Mapped[float | None] = mapped_column(
        Double,
        comment="Artist longitude in decimal degrees, "
        "NULL when unknown (staging_songs.artist_longitude)",
    )

    songs: Mapped[list[Song]] = relationship(back_populates="artist")
    songplays: Mapped[list[SongPlay]] = relationship(back_populates="artist", viewonly=True)


class Song(Base):
    __tablename__ = "songs"
    _repr_columns = ("title", "year")
    __table_args__ = {
        "redshift_diststyle": "ALL",
        "redshift_sortkey": "song_id",
        "comment": "Dimension: one row per song id in song_data; rows already loaded are kept",
    }

    song_id: Mapped[str] = mapped_column(
        ID, primary_key=True, comment="Million Song Dataset song id (staging_songs.song_id)"
    )
    title: Mapped[str] = mapped_column(TEXT, comment="Song title (staging_songs.title)")
    artist_id: Mapped[str] = mapped_column(
        ID,
        ForeignKey("artists.artist_id"),
        comment="The song's artist, a key of artists (staging_songs.artist_id)",
    )
    year: Mapped[int | None] = mapped_column(
        SmallInteger, comment="Release year, NULL where the source says 0 (staging_songs.year)"
    )
    duration: Mapped[float] = mapped_column(
        Double, comment="Song duration in seconds (staging_songs.duration)"
    )

    artist: Mapped[Artist] = relationship(back_populates="songs")
    songplays: Mapped[list[SongPlay]] = relationship(back_populates="song")


class Time(Base):
    __tablename__ = "time"
    __table_args__ = {
        "redshift_distkey": "start_time",
        "redshift_sortkey": "start_time",
        "comment": "Dimension: one row per distinct songplays.start_time, "
        "split into calendar parts, UTC",
    }

    start_time: Mapped[dt.datetime] = mapped_column(
        Timestamp,
        primary_key=True,
        comment="A song play's start, UTC, millisecond precision (songplays.start_time)",
    )
    hour: Mapped[int] = mapped_column(
        SmallInteger, redshift_encode="az64", comment="Hour of the day, 0-23, UTC"
    )
    day: Mapped[int] = mapped_column(
        SmallInteger, redshift_encode="az64", comment="Day of the month, 1-31, UTC"
    )
    week: Mapped[int] = mapped_column(
        SmallInteger, redshift_encode="az64", comment="ISO 8601 week of the year, 1-53"
    )
    month: Mapped[int] = mapped_column(
        SmallInteger, redshift_encode="az64", comment="Month, 1-12, UTC"
    )
    year: Mapped[int] = mapped_column(
        SmallInteger, redshift_encode="az64", comment="Calendar year, UTC"
    )
    weekday: Mapped[int] = mapped_column(
        SmallInteger,
        redshift_encode="az64",
        comment="Day of the week, 0 = Sunday ... 6 = Saturday, as Redshift's DOW",
    )

    songplays: Mapped[list[SongPlay]] = relationship(back_populates="time")


# songplays' keys as declared relationships: the ORM joins, the ER diagram and the docs
# site read them, and Redshift creates them (informational there: nothing enforces them).
# PostgreSQL and DuckDB create none either (migration 0004): checking four keys row by row
# cost about half of the songplays insert. The load checks the plays it inserted against
# their dimensions instead, inside its transaction (:data:`sparkify_dw.checks.RELATIONSHIPS`),
# so a dangling key rolls the whole load back.
_PLAY_REFERENCES = tuple(
    ForeignKeyConstraint([column], [target]).ddl_if(dialect=PHYSICAL_DESIGN)
    for column, target in (
        ("start_time", "time.start_time"),
        ("user_id", "users.user_id"),
        ("song_id", "songs.song_id"),
        ("artist_id", "artists.artist_id"),
    )
)


class SongPlay(Base):
    """One row per NextSong event."""

    __tablename__ = "songplays"
    _repr_columns = ("start_time", "user_id", "song_id")
    __table_args__ = (
        # The event's natural key: reruns and overlapping batches never add a play twice.
        UniqueConstraint("start_time", "user_id", "session_id", "item_in_session"),
        *_PLAY_REFERENCES,
        {
            "redshift_distkey": "start_time",
            "redshift_sortkey": "start_time",
            "comment": "Fact: one row per NextSong event (a song play), keyed by start_time, "
            "user_id, session_id and item_in_session; a rerun never adds it twice",
        },
    )

    songplay_id: Mapped[int] = mapped_column(
        BigInteger,
        Identity(start=1),
        primary_key=True,
        redshift_identity=(1, 1),
        redshift_encode="az64",
        comment="Surrogate key generated by the warehouse (IDENTITY on Redshift)",
    )
    start_time: Mapped[dt.datetime] = mapped_column(
        Timestamp,
        comment="When the play started, UTC, millisecond precision (staging_events.ts, epoch ms)",
    )
    user_id: Mapped[int] = mapped_column(
        Integer,
        redshift_encode="az64",
        comment="Who played, a key of users (staging_events.user_id)",
    )
    level: Mapped[str] = mapped_column(
        TAG,
        redshift_encode="zstd",
        comment="User's subscription level at play time, free or paid (staging_events.level)",
    )
    song_id: Mapped[str | None] = mapped_column(
        ID,
        redshift_encode="zstd",
        comment="The staged song (staging_songs.song_id) with the play's title, artist name "
        "and duration to the ms; NULL when none matches",
    )
    artist_id: Mapped[str | None] = mapped_column(
        ID,
        redshift_encode="zstd",
        comment="Artist of the matched song (staging_songs.artist_id); NULL when no song matches",
    )
    session_id: Mapped[int] = mapped_column(
        Integer, redshift_encode="az64", comment="Session of the play (staging_events.session_id)"
    )
    item_in_session: Mapped[int] = mapped_column(
        Integer,
        redshift_encode="az64",
        comment="Position of the play in its session, from 0 (staging_events.item_in_session)",
    )
    location: Mapped[str | None] = mapped_column(
        TEXT,
        redshift_encode="zstd",
        comment="User's location at play time, 'City, ST' (staging_events.location)",
    )
    user_agent: Mapped[str | None] = mapped_column(
        TEXT,
        redshift_encode="zstd",
        comment="Client's user agent at play time (staging_events.user_agent)",
    )
    # The load that inserted the play (see ``loads``); NULL for plays loaded before the ledger.
    # No foreign key: DuckDB can't add one to a populated table.
    load_id: Mapped[int | None] = mapped_column(
        Integer,
        redshift_encode="az64",
        comment="The load that inserted the play (loads.load_id); "
        "NULL for plays loaded before the ledger",
    )

    user: Mapped[User] = relationship(back_populates="songplays")
    song: Mapped[Song | None] = relationship(back_populates="songplays")
    artist: Mapped[Artist | None] = relationship(back_populates="songplays")
    time: Mapped[Time] = relationship(back_populates="songplays")
