"""The warehouse, defined once: staging tables and the song-play star schema.

Redshift physical design lives here as sqlalchemy-redshift dialect options
(``redshift_diststyle``, ``redshift_distkey``, ``redshift_sortkey``,
``redshift_encode``, ``redshift_identity``); the README explains each choice.
DuckDB and PostgreSQL ignore them.
"""

from __future__ import annotations

import datetime as dt
import warnings

from sqlalchemy import (
    BigInteger,
    Double,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TIMESTAMP

from sparkify_dw import constructs  # noqa: F401  (registers per-dialect DDL)
from sparkify_dw.extras import installed

# The dialect whose physical design the tables carry (dist and sort keys, encodings, the
# identity column): what the docs site shows next to each table.
PHYSICAL_DESIGN = "redshift"

# Without sqlalchemy-redshift, SQLAlchemy can't validate the Redshift options below
# (``redshift_diststyle``, ``redshift_encode``…) and warns once per table and column. They
# only matter on Redshift, which needs that extra anyway: the warning is dropped.
if not installed("sqlalchemy_redshift"):
    warnings.filterwarnings(
        "ignore",
        message=r"Can't validate argument 'redshift_\w+'; can't locate any SQLAlchemy "
        r"dialect named 'redshift'",
    )

ID = String(18)  # Million Song Dataset ids: SO… / AR… are 18 characters
NAME = String(256)
TEXT = String(512)
TAG = String(32)
Timestamp = TIMESTAMP(timezone=False)  # UTC, millisecond precision
RAW_TEXT_CHARS = 1024  # a rejected record's text is kept up to this length, as stl_load_errors

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    _repr_columns: tuple[str, ...] = ()  # shown after the key, e.g. a song's title

    def __repr__(self) -> str:
        """``<Song SOZCTXZ12AB0182364 title='Setanta matins'>``: the primary key, then the
        few columns that say which row it is; nothing is loaded from the database for it."""
        state = sa_inspect(self)
        loaded = state.dict
        key = " ".join(
            str(loaded[c.key])
            for c in state.mapper.primary_key
            if c.key is not None and loaded.get(c.key) is not None
        )
        extra = " ".join(
            f"{name}={loaded[name]!r}" for name in self._repr_columns if name in loaded
        )
        return "<" + " ".join(p for p in (type(self).__name__, key, extra) if p) + ">"


# --- staging: one row per source record, shaped like the JSON, loaded by COPY ----------------


class StagingEvent(Base):
    """An app event as logged; columns in JSONPaths order (COPY maps by position)."""

    __tablename__ = "staging_events"
    __table_args__ = {
        "redshift_diststyle": "EVEN",
        "comment": "Raw app events from the log_data JSON files, one row per record, "
        "columns in JSONPaths order; emptied and refilled by each load's stage step",
    }

    artist: Mapped[str | None] = mapped_column(
        TEXT, comment="Artist name as logged by the player (JSON artist); set on NextSong events"
    )
    auth: Mapped[str | None] = mapped_column(
        TAG, comment="Authentication state: Logged In, Logged Out, Guest or Cancelled (JSON auth)"
    )
    first_name: Mapped[str | None] = mapped_column(
        NAME, comment="User's first name (JSON firstName); NULL for logged-out visitors"
    )
    gender: Mapped[str | None] = mapped_column(
        TAG, comment="User's gender, M or F (JSON gender); NULL for logged-out visitors"
    )
    item_in_session: Mapped[int | None] = mapped_column(
        Integer,
        comment="Position of the event in its session, counting from 0 (JSON itemInSession)",
    )
    last_name: Mapped[str | None] = mapped_column(
        NAME, comment="User's last name (JSON lastName); NULL for logged-out visitors"
    )
    length: Mapped[float | None] = mapped_column(
        Double,
        comment="Duration of the played song in seconds, "
        "as logged (JSON length); set on NextSong events",
    )
    level: Mapped[str | None] = mapped_column(
        TAG, comment="User's subscription level at event time, free or paid (JSON level)"
    )
    location: Mapped[str | None] = mapped_column(
        TEXT, comment="User's location as 'City, ST' (JSON location)"
    )
    method: Mapped[str | None] = mapped_column(
        TAG, comment="HTTP method of the request, GET or PUT (JSON method)"
    )
    page: Mapped[str | None] = mapped_column(
        TAG,
        comment="App page of the event, e.g. NextSong, Home, "
        "Logout (JSON page); NextSong is a song play",
    )
    registration: Mapped[float | None] = mapped_column(
        Double, comment="When the user registered, epoch milliseconds, UTC (JSON registration)"
    )
    session_id: Mapped[int | None] = mapped_column(Integer, comment="Session id (JSON sessionId)")
    song: Mapped[str | None] = mapped_column(
        TEXT, comment="Title of the played song, as logged (JSON song); set on NextSong events"
    )
    status: Mapped[int | None] = mapped_column(
        Integer, comment="HTTP status code of the request, e.g. 200 (JSON status)"
    )
    ts: Mapped[int | None] = mapped_column(
        BigInteger, comment="Event time, epoch milliseconds, UTC (JSON ts)"
    )
    user_agent: Mapped[str | None] = mapped_column(
        TEXT, comment="Client's browser user agent string (JSON userAgent)"
    )
    user_id: Mapped[int | None] = mapped_column(
        Integer, comment="User id (JSON userId); NULL for logged-out visitors"
    )

    # Staging has no key in the database (COPY appends); the mapper needs one to map rows.
    __mapper_args__ = {"primary_key": [ts, session_id, item_in_session]}


class StagingSong(Base):
    """A Million Song Dataset record, one per song file."""

    __tablename__ = "staging_songs"
    __table_args__ = {
        "redshift_diststyle": "ALL",
        "comment": "Million Song Dataset records from the song_data JSON files, "
        "one row per file, JSON keys = column names; emptied and refilled by each load",
    }

    num_songs: Mapped[int | None] = mapped_column(
        Integer, comment="Songs in the record, 1 in the Million Song Dataset files (JSON num_songs)"
    )
    artist_id: Mapped[str | None] = mapped_column(
        ID, comment="Million Song Dataset artist id, AR... 18 characters (JSON artist_id)"
    )
    artist_latitude: Mapped[float | None] = mapped_column(
        Double,
        comment="Artist's latitude in decimal degrees; NULL when unknown (JSON artist_latitude)",
    )
    artist_longitude: Mapped[float | None] = mapped_column(
        Double,
        comment="Artist's longitude in decimal degrees; NULL when unknown (JSON artist_longitude)",
    )
    artist_location: Mapped[str | None] = mapped_column(
        TEXT, comment="Artist's location as free text; empty is NULL (JSON artist_location)"
    )
    artist_name: Mapped[str | None] = mapped_column(TEXT, comment="Artist name (JSON artist_name)")
    song_id: Mapped[str | None] = mapped_column(
        ID, comment="Million Song Dataset song id, SO... 18 characters (JSON song_id)"
    )
    title: Mapped[str | None] = mapped_column(TEXT, comment="Song title (JSON title)")
    duration: Mapped[float | None] = mapped_column(
        Double, comment="Song duration in seconds (JSON duration)"
    )
    year: Mapped[int | None] = mapped_column(
        Integer, comment="Release year; 0 when unknown (JSON year)"
    )

    __mapper_args__ = {"primary_key": [song_id]}


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


class SongPlay(Base):
    """One row per NextSong event."""

    __tablename__ = "songplays"
    _repr_columns = ("start_time", "user_id", "song_id")
    __table_args__ = (
        # The event's natural key: reruns and overlapping batches never add a play twice.
        UniqueConstraint("start_time", "user_id", "session_id", "item_in_session"),
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
        ForeignKey("time.start_time"),
        comment="When the play started, UTC, millisecond precision (staging_events.ts, epoch ms)",
    )
    user_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("users.user_id"),
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
        ForeignKey("songs.song_id"),
        redshift_encode="zstd",
        comment="The staged song (staging_songs.song_id) with the play's title, artist name "
        "and duration to the ms; NULL when none matches",
    )
    artist_id: Mapped[str | None] = mapped_column(
        ID,
        ForeignKey("artists.artist_id"),
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


# --- the load ledger: what each load read, kept and rejected ---------------------------------


class Load(Base):
    """One run of the loader. ``load_id`` is taken under the load lock (max + 1): Redshift
    has no RETURNING to hand back an IDENTITY value."""

    __tablename__ = "loads"
    _repr_columns = ("status", "rows_inserted")
    __table_args__ = {
        "redshift_diststyle": "ALL",
        "redshift_sortkey": "load_id",
        "comment": "Load ledger: one row per run of the loader, "
        "with what it read, staged, rejected and inserted",
    }

    load_id: Mapped[int] = mapped_column(
        Integer,
        primary_key=True,
        autoincrement=False,
        comment="Load number, counting from 1, one more than the last recorded",
    )
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, comment="When the load started, UTC")
    finished_at: Mapped[dt.datetime | None] = mapped_column(
        Timestamp, comment="When the load ended, UTC; NULL while it runs"
    )
    status: Mapped[str] = mapped_column(TAG, comment="running, succeeded, failed or abandoned")
    backend: Mapped[str] = mapped_column(
        TAG, comment="Database it loaded: duckdb, postgresql or redshift"
    )
    steps: Mapped[str] = mapped_column(
        TAG, comment="Steps it ran, comma-separated: stage, transform, check"
    )
    sources: Mapped[str] = mapped_column(
        String(2048), comment="The log_data and song_data sources, as configured"
    )
    rows_read: Mapped[int | None] = mapped_column(
        BigInteger, comment="Source records read: staged + rejected"
    )
    rows_staged: Mapped[int | None] = mapped_column(
        BigInteger, comment="Records staged into staging_events and staging_songs"
    )
    rows_rejected: Mapped[int | None] = mapped_column(
        BigInteger, comment="Records rejected into load_errors"
    )
    rows_inserted: Mapped[int | None] = mapped_column(BigInteger, comment="Songplays inserted")
    message: Mapped[str | None] = mapped_column(
        String(1024), comment="The error of a failed load, one line, secrets masked"
    )


class LoadFile(Base):
    """A source file a successful load staged: what ``--incremental`` skips next time."""

    __tablename__ = "load_files"
    __table_args__ = {
        "redshift_diststyle": "EVEN",
        "redshift_sortkey": "load_id",
        "comment": "Source files a successful load staged: what --incremental skips next time",
    }

    load_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("loads.load_id"),
        primary_key=True,
        comment="The load that staged the file (loads.load_id)",
    )
    uri: Mapped[str] = mapped_column(
        String(1024), primary_key=True, comment="Absolute path or s3:// URI of the file"
    )
    table_name: Mapped[str] = mapped_column(TAG, comment="Staging table the file filled")
    size: Mapped[int] = mapped_column(BigInteger, comment="File size in bytes")
    version: Mapped[str | None] = mapped_column(
        String(64), comment="S3 ETag or local modification time: a changed file counts as new"
    )


class LoadErrorRow(Base):
    """A record a load could not stage, as Redshift keeps ``stl_load_errors``."""

    __tablename__ = "load_errors"
    __table_args__ = {
        "redshift_diststyle": "EVEN",
        "redshift_sortkey": "load_id",
        "comment": "Records a load rejected, with file, "
        "line and reason, as Redshift keeps stl_load_errors",
    }

    load_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("loads.load_id"),
        primary_key=True,
        comment="The load that rejected the record (loads.load_id)",
    )
    error_no: Mapped[int] = mapped_column(
        Integer,
        primary_key=True,
        autoincrement=False,
        comment="Number of the rejected record within its load, from 1",
    )
    table_name: Mapped[str] = mapped_column(TAG, comment="Staging table the record was meant for")
    source: Mapped[str] = mapped_column(
        String(1024), comment="File (path or URI) the record came from"
    )
    line_no: Mapped[int | None] = mapped_column(Integer, comment="Line of the record in its file")
    reason: Mapped[str] = mapped_column(
        String(256),
        comment="Why the record was rejected, e.g. not JSON, a value of the wrong type or too long",
    )
    raw_text: Mapped[str | None] = mapped_column(
        String(RAW_TEXT_CHARS), comment="The record's text, cut to 1024 characters"
    )


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Core handles on the same tables, for SQLAlchemy Core statements.
STAGING_EVENTS = _table(StagingEvent)
STAGING_SONGS = _table(StagingSong)
ARTISTS, SONGS, USERS, TIME, SONGPLAYS = (_table(m) for m in (Artist, Song, User, Time, SongPlay))
LOADS, LOAD_FILES, LOAD_ERRORS = (_table(m) for m in (Load, LoadFile, LoadErrorRow))
STAGING_TABLES = (STAGING_EVENTS, STAGING_SONGS)
# Dependency order: dimensions before the fact that references them.
STAR_TABLES = (ARTISTS, SONGS, USERS, TIME, SONGPLAYS)
metadata = Base.metadata
