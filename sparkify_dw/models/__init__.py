"""The warehouse, defined once: staging tables and the song-play star schema
(:mod:`.staging`, :mod:`.star`), the load ledger (:mod:`.ledger`), on one base (:mod:`.base`).

Redshift physical design lives here as sqlalchemy-redshift dialect options
(``redshift_diststyle``, ``redshift_distkey``, ``redshift_sortkey``,
``redshift_encode``, ``redshift_identity``); the README explains each choice.
DuckDB and PostgreSQL ignore them.
"""

from __future__ import annotations

from sparkify_dw.models.base import (
    ID,
    NAME,
    NAMING,
    PHYSICAL_DESIGN,
    RAW_TEXT_CHARS,
    TAG,
    TEXT,
    Base,
    Timestamp,
    _table,
)
from sparkify_dw.models.ledger import Load, LoadErrorRow, LoadFile
from sparkify_dw.models.staging import StagingEvent, StagingSong
from sparkify_dw.models.star import Artist, Song, SongPlay, Time, User

__all__ = [
    "ARTISTS",
    "ID",
    "LOADS",
    "LOAD_ERRORS",
    "LOAD_FILES",
    "NAME",
    "NAMING",
    "PHYSICAL_DESIGN",
    "RAW_TEXT_CHARS",
    "SONGPLAYS",
    "SONGS",
    "STAGING_EVENTS",
    "STAGING_SONGS",
    "STAGING_TABLES",
    "STAR_TABLES",
    "TAG",
    "TEXT",
    "TIME",
    "USERS",
    "Artist",
    "Base",
    "Load",
    "LoadErrorRow",
    "LoadFile",
    "Song",
    "SongPlay",
    "StagingEvent",
    "StagingSong",
    "Time",
    "Timestamp",
    "User",
    "metadata",
]

# Core handles on the same tables, for SQLAlchemy Core statements.
STAGING_EVENTS = _table(StagingEvent)
STAGING_SONGS = _table(StagingSong)
ARTISTS, SONGS, USERS, TIME, SONGPLAYS = (_table(m) for m in (Artist, Song, User, Time, SongPlay))
LOADS, LOAD_FILES, LOAD_ERRORS = (_table(m) for m in (Load, LoadFile, LoadErrorRow))
STAGING_TABLES = (STAGING_EVENTS, STAGING_SONGS)
# Dependency order: dimensions before the fact that references them.
STAR_TABLES = (ARTISTS, SONGS, USERS, TIME, SONGPLAYS)
metadata = Base.metadata
