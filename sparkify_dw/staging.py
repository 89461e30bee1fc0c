"""How raw JSON records become typed staging rows, or rejected ones, on engines that parse
JSON in SQL.

Redshift's COPY does this itself; DuckDB and PostgreSQL run the same expressions, built
here once, so the backends stage the same rows and reject the same records. The rules
are COPY's with BLANKSASNULL and EMPTYASNULL: an empty or blank (ASCII spaces) string is
NULL, then the text is cast to the column's type by value
(:class:`~sparkify_dw.constructs.strict_cast`). A record that fails (not JSON, not an
object, a key twice, an array or object where a value belongs, a value of the wrong kind
or type or too many UTF-8 bytes for its column, or what the star tables can't take) is
kept with its reason for ``load_errors``, as Redshift keeps ``stl_load_errors``; it never
stops the statement. The rule: a record that stages always transforms.

What one engine parses and another refuses (NaN, trailing commas, ``\\u0000``, lone
surrogates, huge exponents, deep nesting) is decided before SQL sees it, by Python's
framing (:func:`sparkify_dw.framing.record_fault`); the fast paths hand it every record
:class:`~sparkify_dw.constructs.suspect_record` flags.

A backend provides the records (``source``, ``line_no``, ``reason``, ``body``) and the
parsed document; :func:`checked_select` classifies them into a temporary table, then
:func:`keep_good` and :func:`keep_errors` move them on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import (
    by_bytes,
    byte_length,
    duplicate_keys,
    json_field,
    json_fields,
    json_kind,
    strict_cast,
)
from sparkify_dw.models import LOAD_ERRORS, RAW_TEXT_CHARS, STAGING_EVENTS, STAGING_SONGS
from sparkify_dw.sources import JsonPath, SourceFile
from sparkify_dw.uris import Source

SHOWN_VALUE_CHARS = 40  # of a wrong-typed value, in its reason


@dataclass(frozen=True)
class StageRequest:
    """One staging table and where its records come from."""

    table: sa.Table
    source: Source  # path, glob, file:// or s3:// URI, as configured (parsed)
    jsonpaths: list[JsonPath] | None  # None: match JSON keys to column names ('auto')
    jsonpaths_uri: Source | None = None  # the JSONPaths file itself (Redshift's COPY reads it)
    files: tuple[SourceFile, ...] = ()  # what the source names, listed once by the loader
    # When events may have happened (the configuration's earliest_event, latest_event).
    window: EventWindow = field(default_factory=lambda: EventWindow.default())

    @property
    def what(self) -> str:
        return "log_data" if self.table is STAGING_EVENTS else "song_data"

    def paths(self) -> list[tuple[sa.Column[Any], JsonPath]]:
        columns = list(self.table.columns)
        if self.jsonpaths is None:
            return [(c, (c.name,)) for c in columns]
        return list(zip(columns, self.jsonpaths, strict=True))


def checked_table(request: StageRequest) -> sa.Table:
    """A temporary table of classified records: staging's columns plus the verdict."""
    return sa.Table(
        f"checked_{request.table.name}",
        sa.MetaData(),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("line_no", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("raw_text", sa.Text),
        # Unbounded text: a value too long for staging is a rejected record, not an error.
        *(
            sa.Column(c.name, sa.Text if isinstance(c.type, sa.String) else c.type)
            for c in request.table.columns
        ),
        prefixes=["TEMPORARY"],
    )


def _code(number: int) -> ColumnElement[int]:
    return sa.literal_column(str(number), sa.Integer)


def first_char_in(text: ColumnElement[Any], chars: str) -> ColumnElement[bool]:
    """Whether ``text`` starts with one of ``chars`` (ASCII): its first character's code
    (``ascii()``, the same on both engines, 0 for empty text) against integers, which
    costs neither a copy of the character (``substr``) nor a text comparison per choice."""
    codes = sorted({ord(c) for c in chars})
    assert codes and codes[-1] < 128, chars
    return sa.func.ascii(text).in_([_code(c) for c in codes])


def blank_as_null(text: ColumnElement[Any]) -> ColumnElement[Any]:
    # Blank is ASCII spaces only, spelled out: DuckDB's trim() alone also strips Unicode
    # spaces (U+00A0, U+3000), PostgreSQL's doesn't. trim() copies its value, so it runs
    # only on values that start with a space (literal text: no parameter to plan around).
    space: ColumnElement[str] = sa.literal_column("' '", sa.Text)
    empty: ColumnElement[str] = sa.literal_column("''", sa.Text)
    blank = sa.or_(
        text == empty,
        sa.and_(first_char_in(text, " "), sa.func.trim(text, space) == empty),
    )
    return sa.case((blank, sa.null()), else_=text)


def _field_name(path: JsonPath) -> str:
    return ".".join(str(step) for step in path)


def _text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.cast(value, sa.Text)


def _lit(text: str) -> ColumnElement[Any]:
    return sa.literal(text, sa.Text)


def _keys_present(
    values: Sequence[ColumnElement[Any]], paths: list[JsonPath]
) -> ColumnElement[Any]:
    """How many different top-level keys a record surely has: those of its one-step paths
    whose value was found (not missing, not JSON null). A record with no more keys than
    this has none twice, so the exact test (hashing every key) can be skipped."""
    first: dict[str, int] = {}
    for i, path in enumerate(paths):
        if len(path) == 1 and isinstance(path[0], str):
            first.setdefault(path[0], i)
    # Literal text, not bind parameters: a dialect that ignores the count renders nothing.
    one, zero = sa.literal_column("1", sa.Integer), sa.literal_column("0", sa.Integer)
    counts = [sa.case((values[i].is_not(None), one), else_=zero) for i in first.values()]
    return sum(counts[1:], counts[0]) if counts else zero


Stage = Callable[[Any, str], sa.Subquery]  # a Select, as its own subquery
Pairs = list[tuple[sa.Column[Any], JsonPath]]


def checked_select(
    request: StageRequest,
    records: sa.FromClause,
    document: ColumnElement[Any],
    *,
    fence: bool = False,
) -> sa.Select[Any]:
    """Classify ``records`` into the columns of :func:`checked_table`.

    ``records`` has ``source``, ``line_no``, ``reason`` (set when the backend already
    rejected the record while framing it) and ``body`` (its text); ``document`` is the
    value :class:`~sparkify_dw.constructs.json_fields` reads (``body`` on DuckDB).
    ``fence`` keeps each stage a separate subquery (``OFFSET 0``) for planners that would
    otherwise inline it and compute the fields once per reference (PostgreSQL).

    The first problem found is the reason, in this order: framing, not an object, a key
    twice, then each column in order (a JSON array or object, the wrong kind or type, too
    many bytes), then what the star tables need (:func:`_star_problems`).
    """

    def stage(select: sa.Select[Any], name: str) -> sa.Subquery:
        return (select.offset(0) if fence else select).subquery(name)

    pairs = request.paths()
    textual = _texts(stage, records, document, [p for _, p in pairs])
    v = _verdict(stage, request, _typed(stage, textual, pairs), pairs).c
    raw_text = sa.case(
        (v.reason.is_not(None), sa.func.substr(v.body, 1, RAW_TEXT_CHARS)), else_=sa.null()
    )
    return sa.select(
        v.source, v.line_no, v.reason, raw_text.label("raw_text"), *(v[c.name] for c, _ in pairs)
    )


def _texts(
    stage: Stage, records: sa.FromClause, document: ColumnElement[Any], paths: list[JsonPath]
) -> sa.Subquery:
    """Each field's text, read once in its own stage (the checks read it several times),
    blank as NULL, and whether a key appears twice."""
    r = records.c
    fields = stage(
        sa.select(
            r.source,
            r.line_no,
            r.reason.label("pre_reason"),
            r.body,
            document.label("doc"),
            json_fields(document, paths).label("f"),
        ),
        "fields",
    )
    read = stage(
        sa.select(
            fields.c.source,
            fields.c.line_no,
            fields.c.pre_reason,
            fields.c.body,
            fields.c.doc,
            (fields.c.f.is_(None)).label("malformed"),
            *(
                json_field(fields.c.f, fields.c.doc, i + 1, path).label(f"r{i}")
                for i, path in enumerate(paths)
            ),
        ),
        "found",
    )
    found = [read.c[f"r{i}"] for i in range(len(paths))]
    texts = [blank_as_null(value).label(f"t{i}") for i, value in enumerate(found)]
    twice = duplicate_keys(read.c.body, read.c.doc, _keys_present(found, paths))
    return stage(
        sa.select(
            read.c.source,
            read.c.line_no,
            read.c.pre_reason,
            read.c.body,
            read.c.doc,
            read.c.malformed,
            twice.label("twice"),
            *texts,
        ),
        "texts",
    )


def _typed(stage: Stage, textual: sa.Subquery, pairs: Pairs) -> sa.Subquery:
    """Each typed value once, in its own stage: the verdict and the row both read it."""
    casts = [
        strict_cast(textual.c[f"t{i}"], column.type).label(f"v{i}")
        for i, (column, _) in enumerate(pairs)
        if not isinstance(column.type, sa.String)
    ]
    return stage(sa.select(*textual.c, *casts), "typed")


Problem = tuple[ColumnElement[bool], ColumnElement[Any]]


def _verdict(
    stage: Stage, request: StageRequest, typed_values: sa.Subquery, pairs: Pairs
) -> sa.Subquery:
    """The first problem of each record (its reason, or NULL) and its typed values."""
    tv = typed_values.c
    typed: list[ColumnElement[Any]] = []
    problems: list[Problem] = [
        (tv.pre_reason.is_not(None), tv.pre_reason),
        (tv.malformed, _lit("malformed JSON")),
        (_not_an_object(tv.body), _lit("not a JSON object")),
        (tv.twice, _lit("a key appears twice, so its value is ambiguous")),
    ]
    values: dict[str, ColumnElement[Any]] = {}
    for i, (column, path) in enumerate(pairs):
        value, found = _column_problems(tv, i, column, path)
        problems += found
        values[column.name] = value
        typed.append(value.label(column.name))
    problems += _star_problems(request, values)
    return stage(
        sa.select(
            tv.source,
            tv.line_no,
            tv.body,
            sa.case(*problems, else_=sa.null()).label("reason"),
            *typed,
        ),
        "verdict",
    )


def _not_an_object(body: ColumnElement[Any]) -> ColumnElement[bool]:
    # ltrim() copies the text: only for a record that doesn't start with '{' right away.
    return sa.and_(~first_char_in(body, "{"), ~first_char_in(sa.func.ltrim(body, " \t\r\n"), "{"))


def _column_problems(
    tv: Any, i: int, column: sa.Column[Any], path: JsonPath
) -> tuple[ColumnElement[Any], list[Problem]]:
    """One column's value and what can be wrong with it: a JSON array or object, the
    wrong kind or type, too many bytes."""
    text = tv[f"t{i}"]
    kind = json_kind(tv.doc, path)  # computed only where a CASE below needs it
    name = _field_name(path)
    if not isinstance(column.type, sa.String):
        value = tv[f"v{i}"]
        type_name = type(column.type).__name__.lower()
        shown = sa.case(
            (
                kind.in_(["array", "object"]),
                _lit(f"{name}: a JSON ") + kind + _lit(", not a single value"),
            ),
            (
                kind == "number",
                _lit(
                    f"{name}: not a valid {type_name}: a number out of "
                    "range" + ("" if isinstance(column.type, sa.Double) else " or not whole")
                ),
            ),
            else_=_lit(f"{name}: not a valid {type_name}: ")
            + sa.func.substr(text, 1, SHOWN_VALUE_CHARS),
        )
        return value, [(sa.and_(text.is_not(None), value.is_(None)), shown)]
    # Only strings are text: a number's spelling differs between engines. A value that
    # isn't a string reads as a number, true, false, [… or {…
    maybe = sa.or_(first_char_in(text, "-0123456789[{"), text.in_(["true", "false"]))
    problems: list[Problem] = [
        (
            sa.case((sa.and_(text.is_not(None), maybe), kind != "string"), else_=sa.false()),
            _lit(f"{name}: a JSON ") + kind + _lit(", not a string"),
        )
    ]
    if column.type.length:
        problems.append(
            (
                byte_length(text) > column.type.length,
                _lit(f"{name}: ")
                + _text(byte_length(text))
                + _lit(f" bytes, longer than {column.type.length}"),
            )
        )
    return text, problems


# --- what the star tables need: a record that stages always transforms -------------------

MAX_SECONDS = 1_000_000_000  # a song longer than 31 years is a broken value
YEARS = (1000, 9999)  # besides 0, "unknown"


def _star_problems(
    request: StageRequest, values: dict[str, ColumnElement[Any]]
) -> list[tuple[ColumnElement[bool], ColumnElement[Any]]]:
    problems: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []

    def seconds(name: str) -> None:
        if name in values:
            value = values[name]
            problems.append(
                (
                    sa.or_(value < 0, value > MAX_SECONDS),
                    _lit(f"{name}: out of range (0 to {MAX_SECONDS:,} seconds)"),
                )
            )

    if request.table is STAGING_SONGS:
        # songs and artists take a song only with its id, title, artist and duration.
        for name in ("song_id", "title", "artist_id", "artist_name", "duration"):
            problems.append((values[name].is_(None), _lit(f"{name}: missing or blank")))
        year = values["year"]
        problems.append(
            (
                sa.and_(year != 0, sa.or_(year < YEARS[0], year > YEARS[1])),
                _lit("year: ")
                + _text(year)
                + _lit(f" is not a year (0 for unknown, or {YEARS[0]} to {YEARS[1]})"),
            )
        )
        seconds("duration")
    elif "ts" in values:
        problems += request.window.problems(values["ts"])
        seconds("length")
    return problems


@dataclass(frozen=True)
class EventWindow:
    """When an event may have happened: ``ts`` (epoch milliseconds) outside this window is
    implausible, most often seconds or microseconds taken for milliseconds. A load's comes
    from its settings (``earliest_event``, ``latest_event``)."""

    earliest: dt.datetime
    latest: dt.datetime

    @classmethod
    def default(cls) -> EventWindow:
        """The settings' defaults: from 2000-01-01 to 24 hours from now (UTC)."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return cls(dt.datetime(2000, 1, 1), now + dt.timedelta(hours=24))

    def millis(self) -> tuple[int, int]:
        epoch = dt.datetime(1970, 1, 1)
        return (
            (self.earliest - epoch) // dt.timedelta(milliseconds=1),
            (self.latest - epoch) // dt.timedelta(milliseconds=1),
        )

    def problems(
        self, ts: ColumnElement[Any]
    ) -> list[tuple[ColumnElement[bool], ColumnElement[Any]]]:
        lo, hi = self.millis()

        def hint(low: int, high: int, unit: str) -> ColumnElement[Any]:
            # The window scaled, not ts: no arithmetic that could overflow.
            return sa.case(
                (ts.between(low, high), _lit(f": epoch {unit}, not milliseconds?")), else_=_lit("")
            )

        shown = "%Y-%m-%d %H:%M:%S UTC"
        return [
            (
                ts < lo,
                _lit("ts: ")
                + _text(ts)
                + _lit(f" is before {self.earliest:{shown}}")
                + hint(-(-lo // 1000), hi // 1000, "seconds"),
            ),
            (
                ts > hi,
                _lit("ts: ")
                + _text(ts)
                + _lit(f" is after {self.latest:{shown}}")
                + hint(lo * 1000, hi * 1000, "microseconds"),
            ),
        ]


def fill_checked(
    request: StageRequest,
    checked: sa.Table,
    records: sa.FromClause,
    document: ColumnElement[Any],
    *,
    fence: bool = False,
) -> sa.Insert:
    select = checked_select(request, records, document, fence=fence)
    return sa.insert(checked).from_select([c.name for c in checked.columns], select)


def keep_good(request: StageRequest, checked: sa.FromClause) -> sa.Insert:
    """The records that passed, into staging (``checked``: the table, or the classifying
    query itself as a subquery)."""
    names = [c.name for c in request.table.columns]
    select = sa.select(*(checked.c[n] for n in names)).where(checked.c.reason.is_(None))
    return sa.insert(request.table).from_select(names, select)


def keep_errors(
    request: StageRequest, checked: sa.FromClause, load_id: int, first_error_no: int
) -> sa.Insert:
    """The rejected records, numbered in file order, into ``load_errors``: file names by
    their bytes, so a database's collation never renumbers them."""
    c = checked.c
    order = (by_bytes(c.source), c.line_no)
    number = sa.func.row_number().over(order_by=order) + (first_error_no - 1)
    select = sa.select(
        sa.literal(load_id, sa.Integer),
        number,
        sa.literal(str(request.table.name), sa.Text),
        c.source,
        c.line_no,
        sa.func.substr(c.reason, 1, 256),
        c.raw_text,
    ).where(c.reason.is_not(None))
    return sa.insert(LOAD_ERRORS).from_select(
        ["load_id", "error_no", "table_name", "source", "line_no", "reason", "raw_text"], select
    )


def tally(checked: sa.Table) -> sa.Select[int, int]:
    """Records read and rejected: read = staged + rejected, always."""
    return sa.select(sa.func.count(), sa.func.count(checked.c.reason))
