"""Data quality checks of the star schema, run inside the warehouse.

Each check is a query for its *offenders* (one row per broken key); the warehouse counts
them and returns up to :data:`SAMPLES` of them, so nothing is pulled into Python but the
samples. Every query is dialect-neutral SQLAlchemy Core: the same checks run on DuckDB,
PostgreSQL and Redshift, which declares keys but never enforces them — hence the checks.

``run_checks(conn)`` reports every check; ``verify(conn)`` raises :class:`CheckFailed`
naming the failed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import by_bytes, epoch_ms_to_timestamp
from sparkify_dw.db import connection
from sparkify_dw.errors import CheckFailed as CheckFailed
from sparkify_dw.errors import ConfigError
from sparkify_dw.models import (
    ARTISTS,
    SONGPLAYS,
    SONGS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TIME,
    USERS,
)
from sparkify_dw.transform import playable, sources_of

if TYPE_CHECKING:
    import pandas as pd

SAMPLES = 5
Query = sa.Select[*tuple[Any, ...]]  # a SELECT of any columns


@dataclass(frozen=True)
class Check:
    """A declared check: its name, why it matters, and the query for its offenders.

    ``offenders`` selects the keys that break the rule, one row each; samples are the
    first in the order of its columns.
    """

    name: str
    why: str
    offenders: Query


@dataclass(frozen=True)
class CheckResult:
    """What a check found: how many offenders and a few of their keys."""

    name: str
    count: int
    columns: tuple[str, ...]
    samples: tuple[tuple[Any, ...], ...]

    @property
    def passed(self) -> bool:
        return self.count == 0

    def describe_samples(self) -> str:
        """The sample keys as ``col=value`` groups, e.g. ``user_id=10; user_id=12``."""
        return "; ".join(
            " ".join(f"{c}={_show(v)}" for c, v in zip(self.columns, row, strict=True))
            for row in self.samples
        )

    def __str__(self) -> str:
        text = f"{self.name}: {self.count}"
        return f"{text} ({self.describe_samples()})" if self.samples else text


class CheckResults(list[CheckResult]):
    """Every check's result, in declaration order, with the whole verdict and a table.

    A list (``for r in results``, ``results[0]``), so existing callers keep working."""

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(r.passed for r in self)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self if not r.passed]

    def as_frame(self) -> pd.DataFrame:
        """One row per check: ``check``, ``passed``, ``offenders`` and ``samples`` (the first
        offending keys as text), for a notebook to show or filter."""
        from sparkify_dw.analytics.questions import frame_of

        return frame_of(
            [(r.name, r.passed, r.count, r.describe_samples()) for r in self],
            ["check", "passed", "offenders", "samples"],
        )


def _show(value: Any) -> str:
    # Text quoted (and escaped: a sample never breaks the one-line message), the rest as is.
    return repr(value) if isinstance(value, str) else str(value)


# --- the rules -----------------------------------------------------------------------------


def _pk_not_null(table: sa.Table, key: str, *describe: str) -> Check:
    # A NULL key has no value to show: sample the row's describing columns instead.
    return Check(
        f"{table.name}.pk_not_null",
        f"every {table.name} row has a {key}",
        sa.select(*(table.c[c] for c in describe)).where(table.c[key].is_(None)),
    )


def _unique(name: str, table: sa.Table, *keys: str) -> Check:
    cols = [table.c[k] for k in keys]
    return Check(
        name,
        f"no two {table.name} rows share ({', '.join(keys)})",
        sa.select(*cols)
        .where(*(c.is_not(None) for c in cols))
        .group_by(*cols)
        .having(sa.func.count() > 1),
    )


def _references(
    child: sa.Table, column: str, parent: sa.Table, *, sample_key: str, optional: bool = False
) -> Check:
    # Redshift doesn't enforce foreign keys: a dangling id silently drops rows from joins.
    ref, fk = parent.c[column], child.c[column]
    dangling: list[ColumnElement[bool]] = [~sa.exists().where(ref == fk)]
    if optional:
        dangling.insert(0, fk.is_not(None))
    return Check(
        f"{child.name}.{column}_in_{parent.name}",
        f"every {child.name}.{column}{' that is set' if optional else ''} is in {parent.name}",
        sa.select(child.c[sample_key], fk).where(*dangling),
    )


def _not_empty(table: sa.Table, source: sa.Table) -> Check:
    # One offender, the count of staged rows the table is made from, when there are some
    # but the table has none. Only those rows count: a first load of a quiet day (no
    # playable NextSong event) has nothing to put in songplays or time, and passes.
    staged = sa.func.count()
    return Check(
        f"{table.name}.not_empty",
        f"{table.name} has rows when {source.name} has rows it is made from",
        sa.select(staged.label(f"{source.name}_rows"))
        .select_from(source)
        .where(*sources_of(table))
        .having(staged > 0)
        .having(~sa.exists().select_from(table)),
    )


def _staged_plays_loaded() -> Query:
    e, sp = STAGING_EVENTS, SONGPLAYS
    keys = (e.c.ts, e.c.user_id, e.c.session_id, e.c.item_in_session)
    return (
        sa.select(*keys)
        .distinct()
        .where(
            playable(),
            ~sa.exists().where(
                sp.c.start_time == epoch_ms_to_timestamp(e.c.ts),
                sp.c.user_id == e.c.user_id,
                sp.c.session_id == e.c.session_id,
                sp.c.item_in_session == e.c.item_in_session,
            ),
        )
    )


# songplays' references. The models declare them as foreign keys, which only Redshift
# creates (informational there): the load checks them itself (verify_relationships).
RELATIONSHIPS: tuple[Check, ...] = (
    _references(SONGPLAYS, "user_id", USERS, sample_key="songplay_id"),
    _references(SONGPLAYS, "start_time", TIME, sample_key="songplay_id"),
    _references(SONGPLAYS, "song_id", SONGS, sample_key="songplay_id", optional=True),
    _references(SONGPLAYS, "artist_id", ARTISTS, sample_key="songplay_id", optional=True),
)

CHECKS: tuple[Check, ...] = (
    _pk_not_null(USERS, "user_id", "first_name", "last_name"),
    _unique("users.pk_unique", USERS, "user_id"),
    _pk_not_null(SONGS, "song_id", "title"),
    _unique("songs.pk_unique", SONGS, "song_id"),
    _pk_not_null(ARTISTS, "artist_id", "name"),
    _unique("artists.pk_unique", ARTISTS, "artist_id"),
    _pk_not_null(TIME, "start_time", "hour", "day", "month", "year"),
    _unique("time.pk_unique", TIME, "start_time"),
    _pk_not_null(
        SONGPLAYS, "songplay_id", "start_time", "user_id", "session_id", "item_in_session"
    ),
    _unique("songplays.pk_unique", SONGPLAYS, "songplay_id"),
    _unique(
        "songplays.natural_key_unique",
        SONGPLAYS,
        "start_time",
        "user_id",
        "session_id",
        "item_in_session",
    ),
    *RELATIONSHIPS,
    _references(SONGS, "artist_id", ARTISTS, sample_key="song_id"),
    Check(
        "staging_events.next_song_in_songplays",
        "every staged NextSong event with a user and ts has its songplay",
        _staged_plays_loaded(),
    ),
    _not_empty(USERS, STAGING_EVENTS),
    _not_empty(TIME, STAGING_EVENTS),
    _not_empty(SONGPLAYS, STAGING_EVENTS),
    _not_empty(SONGS, STAGING_SONGS),
    _not_empty(ARTISTS, STAGING_SONGS),
)
NAMES = tuple(c.name for c in CHECKS)


# --- running them --------------------------------------------------------------------------


def sample_query(check: Check) -> Query:
    """The offenders' total count (a window over all of them) beside the first few keys,
    text by its bytes: the same samples whatever the database's collation."""
    offenders = check.offenders.subquery("offenders")
    total = sa.func.count().over().label("_offenders")
    return (
        sa.select(*offenders.c, total)
        .order_by(*(by_bytes(c).asc().nulls_last() for c in offenders.c))
        .limit(SAMPLES)
    )


def run_check(conn: sa.Connection, check: Check) -> CheckResult:
    rows = conn.execute(sample_query(check)).all()
    names = tuple(c.name for c in check.offenders.selected_columns)
    return CheckResult(
        check.name, int(rows[0][-1]) if rows else 0, names, tuple(tuple(r)[:-1] for r in rows)
    )


def _select(names: Sequence[str] | None) -> list[Check]:
    if names is None:
        return list(CHECKS)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ConfigError(f"unknown check {unknown[0]!r}")
    return [c for c in CHECKS if c.name in names]


def run_checks(bind: sa.Connection | sa.Engine, names: Sequence[str] | None = None) -> CheckResults:
    """Run every check (or those named), in declaration order; one query each."""
    with connection(bind) as conn:
        return CheckResults(run_check(conn, check) for check in _select(names))


def verify_relationships(conn: sa.Connection, load_id: int) -> None:
    """The plays load ``load_id`` inserted, checked against users, time, songs and artists
    (:data:`RELATIONSHIPS`, as foreign keys would on every row): the transform runs this in
    the load's transaction, so a dangling key raises :class:`CheckFailed` and nothing of
    the load is kept. The check step checks every play, whoever inserted it."""
    mine = SONGPLAYS.c.load_id == sa.literal(load_id, sa.Integer)
    results = (
        run_check(conn, Check(c.name, c.why, c.offenders.where(mine))) for c in RELATIONSHIPS
    )
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(failed)


def verify(
    bind: sa.Connection | sa.Engine, names: Sequence[str] | None = None
) -> list[CheckResult]:
    """Run the checks; raise :class:`CheckFailed` if any found offenders, else return them."""
    results = run_checks(bind, names)
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(failed)
    return results
