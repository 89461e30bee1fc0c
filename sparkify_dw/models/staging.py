"""The staging tables: one row per source record, shaped like the JSON."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
)
from sqlalchemy.orm import Mapped, mapped_column

from sparkify_dw.models.base import (
    ID,
    NAME,
    TAG,
    TEXT,
    Base,
)

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
