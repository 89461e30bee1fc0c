"""The analytics team's song-play questions, as SQLAlchemy Core queries over the star schema.

Every question is a function of a Connection (or Engine): ``top_songs(conn, limit=5)``
returns a list of rows (named tuples), ``as_frame=True`` a pandas DataFrame. Questions
over songplays take a time window, ``start <= start_time < end`` (either may be omitted).
The SQL is dialect-neutral (user agents are parsed with CASE/LIKE), so the same
answers come from DuckDB, PostgreSQL and Redshift, and every ORDER BY ends in a unique
key, text by its bytes whatever the database's collation, so answers compare row by row.

``python -m sparkify_dw.analytics`` (:mod:`.__main__`) prints every answer as a table;
``--verify FILE`` compares them with expected answers (``--write-expected FILE`` writes
such a file): see :mod:`sparkify_dw.answers`.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import by_bytes
from sparkify_dw.errors import ConfigError
from sparkify_dw.errors import ExpectedFileError as ExpectedFileError
from sparkify_dw.models import ARTISTS, SONGPLAYS, SONGS, TIME, USERS

if TYPE_CHECKING:
    import pandas as pd

SP = SONGPLAYS
Query = sa.Select[*tuple[Any, ...]]  # a SELECT of any columns
DEFAULT_LIMIT = 10
# The answers for the bundled sample, freshly loaded (regenerate with --write-expected).
SAMPLE_EXPECTED = Path(__file__).resolve().parents[1] / "sample" / "expected_analytics.json"
Moment = dt.datetime | dt.date | str  # a str is an ISO date or date-time: "2018-11-10"


@dataclass(frozen=True)
class Params:
    """A question's parameters: how many rows (top-N questions) and the time window."""

    limit: int = DEFAULT_LIMIT
    start: Moment | None = None
    end: Moment | None = None

    def window(self) -> list[ColumnElement[bool]]:
        """Conditions on ``songplays.start_time``; a date means its midnight."""
        where: list[ColumnElement[bool]] = []
        if self.start is not None:
            where.append(SP.c.start_time >= _midnight(self.start))
        if self.end is not None:
            where.append(SP.c.start_time < _midnight(self.end))
        return where


def _midnight(moment: Moment) -> dt.datetime:
    moment = parse_moment(moment)
    if isinstance(moment, dt.datetime):
        return moment
    return dt.datetime.combine(moment, dt.time())


def parse_moment(moment: Moment, what: str = "start/end") -> dt.datetime | dt.date:
    """A date, a date-time, or its ISO text (``"2018-11-10"``, ``"2018-11-10T06:00"``)."""
    if not isinstance(moment, str):
        if not isinstance(moment, (dt.date, dt.datetime)):
            raise TypeError(
                f"{what}: expected a date, a datetime or ISO text, not {type(moment).__name__}"
            )
        return moment
    text = moment.strip()
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: not an ISO date or date-time: {moment!r}") from None


class Question:
    """A named question: builds its query from :class:`Params`, runs it, returns rows.

    ``uses_limit`` / ``uses_window``: whether ``limit`` / ``start`` and ``end`` shape the
    answer; a question ignores the parameters it has no use for.
    """

    def __init__(
        self, build: Callable[[Params], Query], title: str, uses_limit: bool, uses_window: bool
    ) -> None:
        self.name = build.__name__
        self.title = title
        self.uses_limit = uses_limit
        self.uses_window = uses_window
        self.description = (build.__doc__ or "").strip()  # what it answers, for the docs site
        self.__name__ = self.__qualname__ = build.__name__
        self.__module__ = build.__module__
        self.__doc__ = (
            f"{title}: {build.__doc__}\n\n"
            "``bind``: an Engine or Connection (e.g. ``sparkify_dw.connect()``); ``url``: a "
            "database URL instead; neither: the configuration, as the load resolves it. "
            "Rows (named tuples), or a DataFrame with ``as_frame=True``."
            + ("\n``limit``: how many rows." if uses_limit else "")
            + (
                "\n``start`` <= start_time < ``end``: the window (a date, a datetime or ISO "
                "text; either may be omitted)."
                if uses_window
                else "\n``start``/``end`` are accepted and ignored: the answer has no time window."
            )
        )
        self._build = build
        call = inspect.signature(type(self).__call__)
        self.__signature__ = call.replace(parameters=list(call.parameters.values())[1:])

    def __get__(self, instance: object, owner: type | None = None) -> Question:
        """A question is a routine to ``inspect`` and ``help()``, as a function is (a
        non-data descriptor), so ``help(analytics.top_songs)`` shows its parameters; got
        from a class, it is the same question."""
        return self

    def __repr__(self) -> str:
        return f"<analytics question {self.name}>"

    def query(
        self, *, limit: int = DEFAULT_LIMIT, start: Moment | None = None, end: Moment | None = None
    ) -> Query:
        """The question's SELECT, e.g. to compile it for another dialect."""
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, not {limit}")
        return self._build(
            Params(
                limit,
                None if start is None else parse_moment(start, "start"),
                None if end is None else parse_moment(end, "end"),
            )
        )

    @overload
    def __call__(
        self,
        bind: sa.Connection | sa.Engine | None = ...,
        *,
        limit: int = ...,
        start: Moment | None = ...,
        end: Moment | None = ...,
        as_frame: Literal[False] = ...,
        url: str | sa.URL | None = ...,
    ) -> list[sa.Row[Any]]: ...

    @overload
    def __call__(
        self,
        bind: sa.Connection | sa.Engine | None = ...,
        *,
        limit: int = ...,
        start: Moment | None = ...,
        end: Moment | None = ...,
        as_frame: Literal[True],
        url: str | sa.URL | None = ...,
    ) -> pd.DataFrame: ...

    def __call__(
        self,
        bind: sa.Connection | sa.Engine | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        start: Moment | None = None,
        end: Moment | None = None,
        as_frame: bool = False,
        url: str | sa.URL | None = None,
    ) -> list[sa.Row[Any]] | pd.DataFrame:
        from sparkify_dw.reading import connection_for

        stmt = self.query(limit=limit, start=start, end=end)
        if as_frame:
            _pandas()  # before the query: a missing pandas fails fast
        with connection_for(bind, url) as conn:
            result = conn.execute(stmt)
            columns = list(result.keys())
            rows = list(result.all())
        if not as_frame:
            return rows
        return frame_of([tuple(r) for r in rows], columns)


def frame_of(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a DataFrame with dates and times as datetime64 and decimals as floats, not
    Python objects: drivers return ``datetime.date``/``Decimal``, which pandas keeps as
    ``object``."""
    pandas = _pandas()
    frame: pd.DataFrame = pandas.DataFrame.from_records(list(rows), columns=list(columns))
    for name in frame.columns:
        values = [v for v in frame[name] if v is not None]
        if values and all(isinstance(v, (dt.date, dt.datetime)) for v in values):
            frame[name] = pandas.to_datetime(frame[name])
        elif values and all(isinstance(v, Decimal) for v in values):
            frame[name] = frame[name].astype("float64")
    return frame


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "as_frame=True needs pandas: pip install 'sparkify_dw[notebook]'"
        ) from None
    return pandas


def format_share(share: float | None) -> str:
    """A share (0..1) as the command prints it: ``0.000288`` is ``0.0288%``."""
    return "n/a" if share is None else f"{share:.4%}"


def describe_window(
    bind: sa.Connection | sa.Engine | None = None,
    *,
    start: Moment | None = None,
    end: Moment | None = None,
    url: str | sa.URL | None = None,
) -> str:
    """The window a question covers, in words for a chart's title: the dates asked for
    (an open side: the first or last play's date) and how many plays fall in it, e.g.
    ``2018-11-01 to 2018-11-30 (UTC), 3,478 plays``. ``end`` is exclusive: a date end
    is shown as the day before it."""
    from sparkify_dw.reading import connection_for

    since = None if start is None else parse_moment(start, "start")
    until = None if end is None else parse_moment(end, "end")
    params = Params(start=since, end=until)
    stmt = sa.select(
        sa.func.min(SP.c.start_time), sa.func.max(SP.c.start_time), sa.func.count()
    ).where(*params.window())
    with connection_for(bind, url) as conn:
        first, last, plays = conn.execute(stmt).one()
    if since is not None:
        low = _day_or_moment(since)
    else:
        low = "the first play" if first is None else f"{first:%Y-%m-%d}"
    if isinstance(until, dt.datetime):
        high = f"before {until.isoformat(sep=' ', timespec='minutes')}"
    elif isinstance(until, dt.date):
        high = f"{until - dt.timedelta(days=1):%Y-%m-%d}"
    else:
        high = "the last play" if last is None else f"{last:%Y-%m-%d}"
    count = "no plays" if not plays else f"{plays:,} play{'s' if plays != 1 else ''}"
    return f"{low} to {high} (UTC), {count}"


def _day_or_moment(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        return moment.isoformat(sep=" ", timespec="minutes")
    return f"{moment:%Y-%m-%d}"


QUESTIONS: dict[str, Question] = {}


def _question(
    title: str, *, limit: bool = False, window: bool = True
) -> Callable[[Callable[[Params], Query]], Question]:
    def register(build: Callable[[Params], Query]) -> Question:
        question = Question(build, title, limit, window)
        QUESTIONS[question.name] = question
        return question

    return register


def _plays() -> sa.Label[int]:
    return sa.func.count().label("plays")


def _users() -> sa.Label[int]:
    return sa.func.count(SP.c.user_id.distinct()).label("users")


# --- the questions -------------------------------------------------------------------------


@_question("Most played songs", limit=True)
def top_songs(p: Params) -> Query:
    """Songs by plays (only plays matched to a known song count)."""
    plays = _plays()
    return (
        sa.select(SONGS.c.song_id, SONGS.c.title, ARTISTS.c.name.label("artist"), plays, _users())
        .select_from(
            SP.join(SONGS, SONGS.c.song_id == SP.c.song_id).outerjoin(
                ARTISTS, ARTISTS.c.artist_id == SONGS.c.artist_id
            )
        )
        .where(*p.window())
        .group_by(SONGS.c.song_id, SONGS.c.title, ARTISTS.c.name)
        .order_by(plays.desc(), by_bytes(SONGS.c.song_id))
        .limit(p.limit)
    )


@_question("Most played artists", limit=True)
def top_artists(p: Params) -> Query:
    """Artists by plays of their matched songs, with how many users listened."""
    plays = _plays()
    return (
        sa.select(ARTISTS.c.artist_id, ARTISTS.c.name.label("artist"), plays, _users())
        .select_from(SP.join(ARTISTS, ARTISTS.c.artist_id == SP.c.artist_id))
        .where(*p.window())
        .group_by(ARTISTS.c.artist_id, ARTISTS.c.name)
        .order_by(plays.desc(), by_bytes(ARTISTS.c.artist_id))
        .limit(p.limit)
    )


@_question("Plays by hour of day (UTC)")
def plays_by_hour(p: Params) -> Query:
    """When people listen: plays per hour of the day, from the time dimension."""
    return (
        sa.select(TIME.c.hour, _plays(), _users())
        .select_from(SP.join(TIME, TIME.c.start_time == SP.c.start_time))
        .where(*p.window())
        .group_by(TIME.c.hour)
        .order_by(TIME.c.hour)
    )


WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@_question("Plays by weekday")
def plays_by_weekday(p: Params) -> Query:
    """Plays per day of the week (0 = Sunday, as Redshift's DOW)."""
    name = sa.case({i: day for i, day in enumerate(WEEKDAYS)}, value=TIME.c.weekday)
    return (
        sa.select(TIME.c.weekday, name.label("day_name"), _plays(), _users())
        .select_from(SP.join(TIME, TIME.c.start_time == SP.c.start_time))
        .where(*p.window())
        .group_by(TIME.c.weekday)
        .order_by(TIME.c.weekday)
    )


@_question("Free vs paid plays")
def plays_by_level(p: Params) -> Query:
    """Plays and distinct users per subscription level at the time of the play."""
    return (
        sa.select(SP.c.level, _plays(), _users())
        .where(*p.window())
        .group_by(SP.c.level)
        .order_by(by_bytes(SP.c.level))
    )


@_question("Free vs paid users (current level)", window=False)
def users_by_level(p: Params) -> Query:
    """Users per current level (the users table: each user's latest event)."""
    return (
        sa.select(USERS.c.level, sa.func.count().label("users"))
        .group_by(USERS.c.level)
        .order_by(by_bytes(USERS.c.level))
    )


@_question("Most active users", limit=True)
def most_active_users(p: Params) -> Query:
    """Users by plays, with their sessions and current level."""
    plays = _plays()
    return (
        sa.select(
            USERS.c.user_id,
            USERS.c.first_name,
            USERS.c.last_name,
            USERS.c.level,
            plays,
            sa.func.count(SP.c.session_id.distinct()).label("sessions"),
        )
        .select_from(SP.join(USERS, USERS.c.user_id == SP.c.user_id))
        .where(*p.window())
        .group_by(USERS.c.user_id, USERS.c.first_name, USERS.c.last_name, USERS.c.level)
        .order_by(plays.desc(), USERS.c.user_id)
        .limit(p.limit)
    )


@_question("Plays per day (UTC)")
def plays_per_day(p: Params) -> Query:
    """Daily plays, split free / paid, and daily active users."""
    day = sa.cast(SP.c.start_time, sa.Date).label("day")

    def at(level: str) -> sa.Label[int]:
        return sa.func.count(sa.case((SP.c.level == level, SP.c.songplay_id))).label(level)

    return (
        sa.select(day, _plays(), at("free"), at("paid"), _users())
        .where(*p.window())
        .group_by(day)
        .order_by(day)
    )


@_question("Plays matched to a known song")
def matched_share(p: Params) -> Query:
    """How much of the listening the song catalogue explains (share = matched / plays)."""
    plays, matched = sa.func.count(), sa.func.count(SP.c.song_id)
    # An explicit operator: SQLAlchemy's true division would CAST the divisor again.
    share = sa.cast(matched, sa.Double).op("/", return_type=sa.Double)(sa.func.nullif(plays, 0))
    return sa.select(plays.label("plays"), matched.label("matched"), share.label("share")).where(
        *p.window()
    )


@_question("Top locations", limit=True)
def top_locations(p: Params) -> Query:
    """Where plays come from (the user's location as logged)."""
    plays = _plays()
    return (
        sa.select(SP.c.location, plays, _users())
        .where(SP.c.location.is_not(None), *p.window())
        .group_by(SP.c.location)
        .order_by(plays.desc(), by_bytes(SP.c.location))
        .limit(p.limit)
    )


def _classify(
    column: ColumnElement[Any],
    rules: Sequence[tuple[str, Sequence[str]]],
) -> ColumnElement[str]:
    """The first rule whose LIKE patterns match; 'Unknown' for NULL, else 'Other'."""
    whens: list[tuple[ColumnElement[bool], str]] = [(column.is_(None), "Unknown")]
    whens += [(sa.or_(*(column.like(pat) for pat in patterns)), label) for label, patterns in rules]
    return sa.case(*whens, else_="Other")


# Order matters: Edge and Opera also claim Chrome; Chrome claims Safari; iOS claims Mac OS X.
BROWSERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Edge", ("%Edge/%", "%Edg/%")),
    ("Opera", ("%OPR/%", "%Opera%")),
    ("Firefox", ("%Firefox/%",)),
    ("Internet Explorer", ("%MSIE %", "%Trident/%")),
    ("Chromium", ("%Chromium/%",)),
    ("Chrome", ("%Chrome/%", "%CriOS/%")),
    ("Safari", ("%Safari/%",)),
)
OPERATING_SYSTEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Windows", ("%Windows%",)),
    ("iOS", ("%iPhone%", "%iPad%", "%iPod%")),
    ("Android", ("%Android%",)),
    ("macOS", ("%Macintosh%", "%Mac OS X%")),
    ("Linux", ("%Linux%", "%X11%")),
)


def _by_agent(
    p: Params,
    label: str,
    rules: Sequence[tuple[str, Sequence[str]]],
) -> Query:
    # Classified in a subquery and grouped on its column: grouping on the CASE itself
    # fails on PostgreSQL, whose bound parameters make the two CASEs differ.
    classified = (
        sa.select(_classify(SP.c.user_agent, rules).label(label), SP.c.user_id)
        .where(*p.window())
        .subquery("classified")
    )
    plays = sa.func.count().label("plays")
    users = sa.func.count(classified.c.user_id.distinct()).label("users")
    return (
        sa.select(classified.c[label], plays, users)
        .group_by(classified.c[label])
        .order_by(plays.desc(), by_bytes(classified.c[label]))
    )


@_question("Plays by browser")
def plays_by_browser(p: Params) -> Query:
    """Browser families parsed from the user agent."""
    return _by_agent(p, "browser", BROWSERS)


@_question("Plays by operating system")
def plays_by_os(p: Params) -> Query:
    """Operating systems parsed from the user agent."""
    return _by_agent(p, "os", OPERATING_SYSTEMS)
