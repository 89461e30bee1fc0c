"""The load ledger: what each load read, kept and rejected."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from sparkify_dw.models.base import (
    RAW_TEXT_CHARS,
    TAG,
    Base,
    Timestamp,
)

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
