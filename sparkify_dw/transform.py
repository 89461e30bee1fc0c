"""Staging → star schema: one dialect-neutral SQLAlchemy Core statement per step.

Semantics (identical on every backend):

* ``songplays``: exactly one row per NextSong event (its natural key: start time, user,
  session, item in session), never duplicated by a rerun. song_id / artist_id come from
  the staged song with the same title, artist name and duration to the millisecond; when
  several songs share those, the smallest song_id wins, so a join can never fan out.
* ``users``: every user id seen in any event; attributes from the user's latest event,
  and a later load only overwrites them with a newer event, so batches in any order
  give the same rows.
* ``songs``, ``artists``: one row per id, the values of the smallest song_id when staging
  disagrees; year 0 and empty locations are stored as NULL. Rows already in the
  warehouse are kept.
* ``time``: one row per distinct songplay start time.

Every tie-break orders text by its bytes (:func:`~sparkify_dw.constructs.by_bytes`), so a
database's collation never changes which row wins. The per-dialect pieces (that, epoch
milliseconds to timestamp) are constructs in :mod:`sparkify_dw.constructs`; nothing here
knows which database it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import by_bytes, epoch_ms_to_timestamp
from sparkify_dw.models import (
    ARTISTS,
    SONGPLAYS,
    SONGS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TIME,
    USERS,
)

E = STAGING_EVENTS
S = STAGING_SONGS
NEXT_SONG = "NextSong"


@dataclass(frozen=True)
class Step:
    """One statement of the transform; ``table`` is the star table it writes."""

    table: str
    action: str  # "insert" or "update"
    statement: sa.Insert | sa.Update


def _play_key() -> list[ColumnElement[Any]]:
    return [E.c.ts, E.c.user_id, E.c.session_id, E.c.item_in_session]


def desc_nulls_last(column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """``column DESC NULLS LAST`` without the NULLS clause, the same on every backend.

    Why: AWS lists NULLS FIRST/LAST in a window's ORDER BY among the PostgreSQL features
    Redshift doesn't support ("Unsupported PostgreSQL features"), though its window
    syntax page shows it. Without the clause the backends disagree for DESC (PostgreSQL
    and Redshift put NULLs first, DuckDB last); a NULL-last key first settles it. ASC
    needs nothing: all three put NULLs last there by default.
    """
    is_null = sa.case((column.is_(None), sa.literal_column("1")), else_=sa.literal_column("0"))
    return [is_null.asc(), column.desc()]


def _first(
    select_cols: list[ColumnElement[Any]],
    partition: list[ColumnElement[Any]],
    order: list[ColumnElement[Any]],
    source: sa.FromClause,
    *where: ColumnElement[bool],
    name: str,
) -> sa.Subquery:
    """The first row per ``partition`` in ``order``: a deterministic choice among duplicates."""
    rank = sa.func.row_number().over(partition_by=partition, order_by=order).label("_rank")
    ranked = (
        sa.select(*select_cols, rank).select_from(source).where(*where).subquery(f"{name}_ranked")
    )
    return (
        sa.select(*[c for c in ranked.c if c.name != "_rank"])
        .where(ranked.c._rank == 1)
        .subquery(name)
    )


def _missing(table: sa.Table, key: str, source: sa.Subquery) -> ColumnElement[bool]:
    return ~sa.exists().where(table.c[key] == source.c[key])


def _insert_new(table: sa.Table, key: str, source: sa.Subquery) -> sa.Insert:
    names = [c.name for c in source.c]
    select = sa.select(*source.c).where(_missing(table, key, source))
    return sa.insert(table).from_select(names, select)


def sources_of(table: sa.Table) -> list[ColumnElement[bool]]:
    """Which staged rows a star table is made from (of ``staging_songs`` for songs and
    artists, ``staging_events`` for the rest): the transform's filters, which the
    ``not_empty`` checks share, so a quiet day with nothing to insert passes them."""
    made_from: dict[str, list[ColumnElement[bool]]] = {
        ARTISTS.name: [S.c.artist_id.is_not(None), S.c.artist_name.is_not(None)],
        SONGS.name: [
            S.c.song_id.is_not(None),
            S.c.title.is_not(None),
            S.c.artist_id.is_not(None),
            S.c.duration.is_not(None),
        ],
        USERS.name: [E.c.user_id.is_not(None), E.c.ts.is_not(None), E.c.level.is_not(None)],
        TIME.name: [playable()],
        SONGPLAYS.name: [playable()],
    }
    return made_from[table.name]


def artists() -> list[Step]:
    t = ARTISTS
    source = _first(
        [
            S.c.artist_id,
            S.c.artist_name.label("name"),
            S.c.artist_location.label("location"),
            S.c.artist_latitude.label("latitude"),
            S.c.artist_longitude.label("longitude"),
        ],
        # Every column in the order: duplicates that differ pick the same row everywhere.
        [S.c.artist_id],
        [
            by_bytes(S.c.song_id).asc(),
            by_bytes(S.c.artist_name).asc(),
            by_bytes(S.c.artist_location).asc(),
            S.c.artist_latitude.asc(),
            S.c.artist_longitude.asc(),
        ],
        S,
        *sources_of(ARTISTS),
        name="new_artists",
    )
    return [Step(t.name, "insert", _insert_new(t, "artist_id", source))]


def songs() -> list[Step]:
    t = SONGS
    year = sa.case((S.c.year == 0, sa.null()), else_=S.c.year)
    source = _first(
        [
            S.c.song_id,
            S.c.title,
            S.c.artist_id,
            sa.cast(year, sa.SmallInteger).label("year"),
            S.c.duration,
        ],
        [S.c.song_id],
        [
            by_bytes(S.c.title).asc(),
            by_bytes(S.c.artist_id).asc(),
            S.c.duration.asc(),
            S.c.year.asc(),
        ],
        S,
        *sources_of(SONGS),
        name="new_songs",
    )
    return [Step(t.name, "insert", _insert_new(t, "song_id", source))]


def users() -> list[Step]:
    t = USERS
    latest = _first(
        [
            E.c.user_id,
            E.c.first_name,
            E.c.last_name,
            E.c.gender,
            E.c.level,
            epoch_ms_to_timestamp(E.c.ts).label("last_event_at"),
        ],
        [E.c.user_id],
        [
            E.c.ts.desc(),
            *desc_nulls_last(E.c.session_id),
            *desc_nulls_last(E.c.item_in_session),
            by_bytes(E.c.level).asc(),
            by_bytes(E.c.first_name).asc(),
            by_bytes(E.c.last_name).asc(),
            by_bytes(E.c.gender).asc(),
        ],
        E,
        *sources_of(USERS),
        name="latest_users",
    )
    update = (
        sa.update(t)
        .values(
            {
                c: latest.c[c]
                for c in ("first_name", "last_name", "gender", "level", "last_event_at")
            }
        )
        .where(t.c.user_id == latest.c.user_id, t.c.last_event_at < latest.c.last_event_at)
    )
    return [
        Step(t.name, "update", update),
        Step(t.name, "insert", _insert_new(t, "user_id", latest)),
    ]


def playable() -> ColumnElement[bool]:
    """A staged event that makes a songplay: a NextSong with every column songplays
    requires. The others are counted and reported by the loader, not silently dropped."""
    return sa.and_(
        E.c.page == NEXT_SONG,
        E.c.ts.is_not(None),
        E.c.user_id.is_not(None),
        E.c.session_id.is_not(None),
        E.c.item_in_session.is_not(None),
        E.c.level.is_not(None),
    )


def unplayable() -> sa.Select[int]:
    """How many NextSong events can't be songplays (no user, session, item or level)."""
    return sa.select(sa.func.count()).select_from(E).where(E.c.page == NEXT_SONG, ~playable())


def _plays() -> sa.Subquery:
    """NextSong events, one per natural key."""
    start = epoch_ms_to_timestamp(E.c.ts).label("start_time")
    return _first(
        [
            start,
            E.c.user_id,
            E.c.level,
            E.c.session_id,
            E.c.item_in_session,
            E.c.location,
            E.c.user_agent,
            E.c.song,
            E.c.artist,
            E.c.length,
        ],
        _play_key(),
        [
            by_bytes(E.c.level).asc(),
            by_bytes(E.c.location).asc(),
            by_bytes(E.c.user_agent).asc(),
            by_bytes(E.c.song).asc(),
            by_bytes(E.c.artist).asc(),
            E.c.length.asc(),
        ],
        E,
        playable(),
        name="plays",
    )


def _millis(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """A duration in seconds rounded to whole milliseconds (the song-matching key)."""
    return sa.cast(sa.func.floor(seconds * 1000 + 0.5), sa.BigInteger)


def time() -> list[Step]:
    t = TIME
    # The start times of the songplays are those of the playable events: deduplicating
    # plays keeps one event per key, and every event of a key has its start time. So no
    # ranking here, only DISTINCT.
    starts = (
        sa.select(epoch_ms_to_timestamp(E.c.ts).label("start_time"))
        .where(playable())
        .distinct()
        .subquery("starts")
    )

    def part(field: str) -> ColumnElement[Any]:
        return sa.cast(sa.extract(field, starts.c.start_time), sa.SmallInteger).label(
            {"dow": "weekday"}.get(field, field)
        )

    source = sa.select(
        starts.c.start_time,
        part("hour"),
        part("day"),
        part("week"),
        part("month"),
        part("year"),
        part("dow"),
    ).subquery("new_times")
    return [Step(t.name, "insert", _insert_new(t, "start_time", source))]


def songplays(load_id: int | None = None) -> list[Step]:
    t = SONGPLAYS
    plays = _plays()
    catalogue = (
        sa.select(
            S.c.title,
            S.c.artist_name,
            _millis(S.c.duration).label("millis"),
            S.c.song_id,
            S.c.artist_id,
        )
        .where(
            S.c.song_id.is_not(None),
            S.c.title.is_not(None),
            S.c.artist_name.is_not(None),
            S.c.duration.is_not(None),
        )
        .subquery("catalogue")
    )
    match = _first(
        [
            catalogue.c.title,
            catalogue.c.artist_name,
            catalogue.c.millis,
            catalogue.c.song_id,
            catalogue.c.artist_id,
        ],
        [catalogue.c.title, catalogue.c.artist_name, catalogue.c.millis],
        [by_bytes(catalogue.c.song_id).asc(), by_bytes(catalogue.c.artist_id).asc()],
        catalogue,
        name="song_match",
    )
    joined = plays.outerjoin(
        match,
        sa.and_(
            match.c.title == plays.c.song,
            match.c.artist_name == plays.c.artist,
            match.c.millis == _millis(plays.c.length),
        ),
    )
    existing = ~sa.exists().where(
        t.c.start_time == plays.c.start_time,
        t.c.user_id == plays.c.user_id,
        t.c.session_id == plays.c.session_id,
        t.c.item_in_session == plays.c.item_in_session,
    )
    columns = [
        "start_time",
        "user_id",
        "level",
        "song_id",
        "artist_id",
        "session_id",
        "item_in_session",
        "location",
        "user_agent",
        "load_id",
    ]
    select = sa.select(
        plays.c.start_time,
        plays.c.user_id,
        plays.c.level,
        match.c.song_id,
        match.c.artist_id,
        plays.c.session_id,
        plays.c.item_in_session,
        plays.c.location,
        plays.c.user_agent,
        sa.literal(load_id, sa.Integer),
    ).select_from(joined)
    select = select.where(existing)
    return [Step(t.name, "insert", sa.insert(t).from_select(columns, select))]


def steps(load_id: int | None = None) -> list[Step]:
    """Every statement of the transform, in foreign-key order; run them in one transaction.

    New songplays carry ``load_id``, the load that inserted them.
    """
    return [*artists(), *songs(), *users(), *time(), *songplays(load_id)]
