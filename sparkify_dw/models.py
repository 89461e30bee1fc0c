"""The warehouse, defined once: staging tables and the song-play star schema.

Redshift physical design lives here as sqlalchemy-redshift dialect options
(``redshift_diststyle``, ``redshift_distkey``, ``redshift_sortkey``,
``redshift_encode``, ``redshift_identity``); the README explains each choice.
DuckDB and PostgreSQL ignore them.
"""

from __future__ import annotations

import datetime as dt

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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TIMESTAMP

from sparkify_dw import constructs  # noqa: F401  (registers per-dialect DDL)

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


# --- staging: one row per source record, shaped like the JSON, loaded by COPY ----------------


class StagingEvent(Base):
    """An app event as logged; columns in JSONPaths order (COPY maps by position)."""

    __tablename__ = "staging_events"
    __table_args__ = {"redshift_diststyle": "EVEN"}

    artist: Mapped[str | None] = mapped_column(TEXT)
    auth: Mapped[str | None] = mapped_column(TAG)
    first_name: Mapped[str | None] = mapped_column(NAME)
    gender: Mapped[str | None] = mapped_column(TAG)
    item_in_session: Mapped[int | None] = mapped_column(Integer)
    last_name: Mapped[str | None] = mapped_column(NAME)
    length: Mapped[float | None] = mapped_column(Double)
    level: Mapped[str | None] = mapped_column(TAG)
    location: Mapped[str | None] = mapped_column(TEXT)
    method: Mapped[str | None] = mapped_column(TAG)
    page: Mapped[str | None] = mapped_column(TAG)
    registration: Mapped[float | None] = mapped_column(Double)
    session_id: Mapped[int | None] = mapped_column(Integer)
    song: Mapped[str | None] = mapped_column(TEXT)
    status: Mapped[int | None] = mapped_column(Integer)
    ts: Mapped[int | None] = mapped_column(BigInteger)
    user_agent: Mapped[str | None] = mapped_column(TEXT)
    user_id: Mapped[int | None] = mapped_column(Integer)

    # Staging has no key in the database (COPY appends); the mapper needs one to map rows.
    __mapper_args__ = {"primary_key": [ts, session_id, item_in_session]}


class StagingSong(Base):
    """A Million Song Dataset record, one per song file."""

    __tablename__ = "staging_songs"
    __table_args__ = {"redshift_diststyle": "ALL"}

    num_songs: Mapped[int | None] = mapped_column(Integer)
    artist_id: Mapped[str | None] = mapped_column(ID)
    artist_latitude: Mapped[float | None] = mapped_column(Double)
    artist_longitude: Mapped[float | None] = mapped_column(Double)
    artist_location: Mapped[str | None] = mapped_column(TEXT)
    artist_name: Mapped[str | None] = mapped_column(TEXT)
    song_id: Mapped[str | None] = mapped_column(ID)
    title: Mapped[str | None] = mapped_column(TEXT)
    duration: Mapped[float | None] = mapped_column(Double)
    year: Mapped[int | None] = mapped_column(Integer)

    __mapper_args__ = {"primary_key": [song_id]}


# --- star schema ---------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"redshift_diststyle": "ALL", "redshift_sortkey": "user_id"}

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_name: Mapped[str | None] = mapped_column(NAME)
    last_name: Mapped[str | None] = mapped_column(NAME)
    gender: Mapped[str | None] = mapped_column(TAG)
    level: Mapped[str] = mapped_column(TAG)
    # ts of the event the attributes come from: a later batch only overwrites with newer facts,
    # so loading days in any order gives the same row.
    last_event_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    songplays: Mapped[list[SongPlay]] = relationship(back_populates="user")


class Artist(Base):
    __tablename__ = "artists"
    __table_args__ = {"redshift_diststyle": "ALL", "redshift_sortkey": "artist_id"}

    artist_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(TEXT)
    location: Mapped[str | None] = mapped_column(TEXT)
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)

    songs: Mapped[list[Song]] = relationship(back_populates="artist")
    songplays: Mapped[list[SongPlay]] = relationship(back_populates="artist", viewonly=True)


class Song(Base):
    __tablename__ = "songs"
    __table_args__ = {"redshift_diststyle": "ALL", "redshift_sortkey": "song_id"}

    song_id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(TEXT)
    artist_id: Mapped[str] = mapped_column(ID, ForeignKey("artists.artist_id"))
    year: Mapped[int | None] = mapped_column(SmallInteger)
    duration: Mapped[float] = mapped_column(Double)

    artist: Mapped[Artist] = relationship(back_populates="songs")
    songplays: Mapped[list[SongPlay]] = relationship(back_populates="song")


class Time(Base):
    __tablename__ = "time"
    __table_args__ = {"redshift_distkey": "start_time", "redshift_sortkey": "start_time"}

    start_time: Mapped[dt.datetime] = mapped_column(Timestamp, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")
    day: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")
    week: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")
    month: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")
    year: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")
    weekday: Mapped[int] = mapped_column(SmallInteger, redshift_encode="az64")  # 0 = Sunday

    songplays: Mapped[list[SongPlay]] = relationship(back_populates="time")


class SongPlay(Base):
    """One row per NextSong event."""

    __tablename__ = "songplays"
    __table_args__ = (
        # The event's natural key: reruns and overlapping batches never add a play twice.
        UniqueConstraint("start_time", "user_id", "session_id", "item_in_session"),
        {"redshift_distkey": "start_time", "redshift_sortkey": "start_time"},
    )

    songplay_id: Mapped[int] = mapped_column(
        BigInteger, Identity(start=1), primary_key=True, redshift_identity=(1, 1),
        redshift_encode="az64",
    )
    start_time: Mapped[dt.datetime] = mapped_column(Timestamp, ForeignKey("time.start_time"))
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.user_id"), redshift_encode="az64")
    level: Mapped[str] = mapped_column(TAG, redshift_encode="zstd")
    song_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("songs.song_id"), redshift_encode="zstd")
    artist_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("artists.artist_id"), redshift_encode="zstd")
    session_id: Mapped[int] = mapped_column(Integer, redshift_encode="az64")
    item_in_session: Mapped[int] = mapped_column(Integer, redshift_encode="az64")
    location: Mapped[str | None] = mapped_column(TEXT, redshift_encode="zstd")
    user_agent: Mapped[str | None] = mapped_column(TEXT, redshift_encode="zstd")
    # The load that inserted the play (see ``loads``); NULL for plays loaded before the ledger.
    # No foreign key: DuckDB can't add one to a populated table.
    load_id: Mapped[int | None] = mapped_column(Integer, redshift_encode="az64")

    user: Mapped[User] = relationship(back_populates="songplays")
    song: Mapped[Song | None] = relationship(back_populates="songplays")
    artist: Mapped[Artist | None] = relationship(back_populates="songplays")
    time: Mapped[Time] = relationship(back_populates="songplays")


# --- the load ledger: what each load read, kept and rejected ---------------------------------


class Load(Base):
    """One run of the loader. ``load_id`` is taken under the load lock (max + 1): Redshift
    has no RETURNING to hand back an IDENTITY value."""

    __tablename__ = "loads"
    __table_args__ = {"redshift_diststyle": "ALL", "redshift_sortkey": "load_id"}

    load_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(TAG)  # running, succeeded, failed, abandoned
    backend: Mapped[str] = mapped_column(TAG)
    steps: Mapped[str] = mapped_column(TAG)
    sources: Mapped[str] = mapped_column(String(2048))
    rows_read: Mapped[int | None] = mapped_column(BigInteger)
    rows_staged: Mapped[int | None] = mapped_column(BigInteger)
    rows_rejected: Mapped[int | None] = mapped_column(BigInteger)
    rows_inserted: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(String(1024))


class LoadFile(Base):
    """A source file a successful load staged: what ``--incremental`` skips next time."""

    __tablename__ = "load_files"
    __table_args__ = {"redshift_diststyle": "EVEN", "redshift_sortkey": "load_id"}

    load_id: Mapped[int] = mapped_column(Integer, ForeignKey("loads.load_id"), primary_key=True)
    uri: Mapped[str] = mapped_column(String(1024), primary_key=True)
    table_name: Mapped[str] = mapped_column(TAG)
    size: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str | None] = mapped_column(String(64))  # S3 ETag or local mtime


class LoadErrorRow(Base):
    """A record a load could not stage, as Redshift keeps ``stl_load_errors``."""

    __tablename__ = "load_errors"
    __table_args__ = {"redshift_diststyle": "EVEN", "redshift_sortkey": "load_id"}

    load_id: Mapped[int] = mapped_column(Integer, ForeignKey("loads.load_id"), primary_key=True)
    error_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    table_name: Mapped[str] = mapped_column(TAG)
    source: Mapped[str] = mapped_column(String(1024))
    line_no: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(256))
    raw_text: Mapped[str | None] = mapped_column(String(RAW_TEXT_CHARS))


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
