"""How raw JSON records become typed staging rows, or rejected ones, on engines that parse
JSON in SQL.

Redshift's COPY does this itself; DuckDB and PostgreSQL run the same expressions, built
here once, so the backends stage the same rows and reject the same records. The rules
are COPY's with BLANKSASNULL and EMPTYASNULL: an empty or blank string is NULL, then the
text is cast to the column's type. A record that fails (not JSON, not an object, a value
of the wrong type or too long for its column) is kept with its reason for ``load_errors``,
as Redshift keeps ``stl_load_errors``; it never stops the statement.

A backend provides the records (``source``, ``line_no``, ``reason``, ``body``) and the
parsed document; :func:`checked_select` classifies them into a temporary table, then
:func:`keep_good` and :func:`keep_errors` move them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import json_fields, strict_cast
from sparkify_dw.models import LOAD_ERRORS, RAW_TEXT_CHARS, STAGING_EVENTS
from sparkify_dw.sources import NUL_ESCAPE, NUL_REASON, JsonPath, SourceFile

SHOWN_VALUE_CHARS = 40  # of a wrong-typed value, in its reason


@dataclass(frozen=True)
class StageRequest:
    """One staging table and where its records come from."""

    table: sa.Table
    source: str  # path, glob, file:// or s3:// URI, as configured
    jsonpaths: list[JsonPath] | None  # None: match JSON keys to column names ('auto')
    jsonpaths_uri: str | None = None  # the JSONPaths file itself (Redshift's COPY reads it)
    files: tuple[SourceFile, ...] = ()  # what the source names, listed once by the loader
    listed: bool = True  # False: Redshift COPYs the whole source prefix itself

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
        *(sa.Column(c.name, sa.Text if isinstance(c.type, sa.String) else c.type)
          for c in request.table.columns),
        prefixes=["TEMPORARY"],
    )


def blank_as_null(text: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.case((sa.func.trim(text) == "", sa.null()), else_=text)


def _field_name(path: JsonPath) -> str:
    return ".".join(str(step) for step in path)


def _text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.cast(value, sa.Text)


def checked_select(request: StageRequest, records: sa.FromClause,
                   document: ColumnElement[Any], *, fence: bool = False) -> sa.Select[Any]:
    """Classify ``records`` into the columns of :func:`checked_table`.

    ``records`` has ``source``, ``line_no``, ``reason`` (set when the backend already
    rejected the record while framing it) and ``body`` (its text); ``document`` is the
    value :class:`~sparkify_dw.constructs.json_fields` reads (``body`` on DuckDB).
    ``fence`` keeps each stage a separate subquery (``OFFSET 0``) for planners that would
    otherwise inline it and compute the fields once per reference (PostgreSQL).
    """

    def stage(select: sa.Select[Any], name: str) -> sa.Subquery:
        return (select.offset(0) if fence else select).subquery(name)

    pairs = request.paths()
    r = records.c
    fields = stage(sa.select(
        r.source, r.line_no, r.reason.label("pre_reason"), r.body,
        json_fields(document, [p for _, p in pairs]).label("f"),
    ), "fields")
    texts = [blank_as_null(fields.c.f[i + 1]).label(f"t{i}") for i in range(len(pairs))]
    textual = stage(sa.select(fields.c.source, fields.c.line_no, fields.c.pre_reason,
                              fields.c.body, (fields.c.f.is_(None)).label("malformed"),
                              *texts), "texts")

    # Each typed value once, in its own stage: the verdict and the row both read it.
    casts = [strict_cast(textual.c[f"t{i}"], column.type).label(f"v{i}")
             for i, (column, _) in enumerate(pairs) if not isinstance(column.type, sa.String)]
    typed_values = stage(sa.select(*textual.c, *casts), "typed")
    tv = typed_values.c

    typed: list[ColumnElement[Any]] = []
    problems: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
        (tv.pre_reason.is_not(None), tv.pre_reason),
        (tv.malformed, sa.literal("malformed JSON", sa.Text)),
        (sa.func.strpos(tv.body, NUL_ESCAPE) > 0, sa.literal(NUL_REASON, sa.Text)),
        (sa.func.substr(sa.func.ltrim(tv.body), 1, 1) != "{",
         sa.literal("not a JSON object", sa.Text)),
    ]
    for i, (column, path) in enumerate(pairs):
        text = tv[f"t{i}"]
        name = _field_name(path)
        if isinstance(column.type, sa.String):
            value: ColumnElement[Any] = text
            if column.type.length:
                problems.append((sa.func.char_length(text) > column.type.length,
                                 sa.literal(f"{name}: ", sa.Text)
                                 + _text(sa.func.char_length(text))
                                 + sa.literal(f" characters, longer than {column.type.length}",
                                              sa.Text)))
        else:
            value = tv[f"v{i}"]
            type_name = type(column.type).__name__.lower()
            problems.append((sa.and_(text.is_not(None), value.is_(None)),
                             sa.literal(f"{name}: not a valid {type_name}: ", sa.Text)
                             + sa.func.substr(text, 1, SHOWN_VALUE_CHARS)))
        typed.append(value.label(column.name))
    verdict = stage(sa.select(
        tv.source, tv.line_no, tv.body,
        sa.case(*problems, else_=sa.null()).label("reason"), *typed,
    ), "verdict")
    v = verdict.c
    raw_text = sa.case((v.reason.is_not(None), sa.func.substr(v.body, 1, RAW_TEXT_CHARS)),
                       else_=sa.null())
    return sa.select(v.source, v.line_no, v.reason, raw_text.label("raw_text"),
                     *(v[c.name] for c, _ in pairs))


def fill_checked(request: StageRequest, checked: sa.Table, records: sa.FromClause,
                 document: ColumnElement[Any], *, fence: bool = False) -> sa.Insert:
    select = checked_select(request, records, document, fence=fence)
    return sa.insert(checked).from_select([c.name for c in checked.columns], select)


def keep_good(request: StageRequest, checked: sa.FromClause) -> sa.Insert:
    """The records that passed, into staging (``checked``: the table, or the classifying
    query itself as a subquery)."""
    names = [c.name for c in request.table.columns]
    select = sa.select(*(checked.c[n] for n in names)).where(checked.c.reason.is_(None))
    return sa.insert(request.table).from_select(names, select)


def keep_errors(request: StageRequest, checked: sa.FromClause, load_id: int,
                first_error_no: int) -> sa.Insert:
    """The rejected records, numbered in file order, into ``load_errors``."""
    c = checked.c
    number = sa.func.row_number().over(order_by=(c.source, c.line_no)) + (first_error_no - 1)
    select = sa.select(
        sa.literal(load_id, sa.Integer), number, sa.literal(str(request.table.name), sa.Text),
        c.source, c.line_no, sa.func.substr(c.reason, 1, 256), c.raw_text,
    ).where(c.reason.is_not(None))
    return sa.insert(LOAD_ERRORS).from_select(
        ["load_id", "error_no", "table_name", "source", "line_no", "reason", "raw_text"], select)


def tally(checked: sa.Table) -> sa.Select[int, int]:
    """Records read and rejected: read = staged + rejected, always."""
    return sa.select(sa.func.count(), sa.func.count(checked.c.reason))
