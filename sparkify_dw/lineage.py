"""Where each warehouse column comes from, read from the code that loads it.

Raw JSON field → staging column: the JSONPaths file for events (as the loader reads it,
:func:`sparkify_dw.sources.read_jsonpaths`, paired by :class:`StageRequest`), JSON keys
named like the columns for songs (COPY's ``'auto'``). Staging column → star column: the
transform's Core statements (:func:`sparkify_dw.transform.steps`), walking each INSERT …
SELECT's selected expressions (and the users UPDATE's assignments) down through their
subqueries to the staging columns they read. Nothing here is a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.elements import ColumnClause

from sparkify_dw import transform
from sparkify_dw.config import Settings
from sparkify_dw.errors import SourceError
from sparkify_dw.models import STAGING_EVENTS, STAGING_SONGS, STAGING_TABLES
from sparkify_dw.sources import JsonPath, read_jsonpaths
from sparkify_dw.staging import StageRequest


@dataclass(frozen=True)
class RawField:
    """A staging column and the JSON path COPY (or the loader) fills it from."""

    table: str
    column: str
    path: str  # JSONPath text, e.g. $['userId']
    source: str  # the JSONPaths file, or 'auto' (JSON keys named like the columns)


@dataclass(frozen=True)
class StarSource:
    """A star column and the staging columns its value is computed from (empty: the loader
    or the database supplies it, e.g. ``load_id``, ``songplay_id``)."""

    table: str
    column: str
    staging: tuple[str, ...]  # "staging_events.ts", …
    how: str  # "insert" or "insert, update"


def jsonpath_text(path: JsonPath) -> str:
    """A parsed path back in Redshift's bracket notation, e.g. ``$['userId']``."""
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in path)


def raw_fields(settings: Settings) -> list[RawField]:
    """Each staging column's JSON path, from the configured JSONPaths file (events) and
    COPY's 'auto' rule (songs). Raises SourceError when the JSONPaths file can't be read."""
    from sparkify_dw.sources import Reader

    paths = read_jsonpaths(
        settings.log_jsonpath,
        len(STAGING_EVENTS.columns),
        Reader.of(settings),
    )
    requests = [
        StageRequest(STAGING_EVENTS, settings.log_data, paths, settings.log_jsonpath),
        StageRequest(STAGING_SONGS, settings.song_data, None),
    ]
    return [
        RawField(r.table.name, column.name, jsonpath_text(path), str(r.jsonpaths_uri or "auto"))
        for r in requests
        for column, path in r.paths()
    ]


def raw_fields_or_error(settings: Settings) -> tuple[list[RawField], str | None]:
    """:func:`raw_fields`, or the reason they could not be read (the site still builds)."""
    try:
        return raw_fields(settings), None
    except SourceError as exc:
        return [], settings.mask(str(exc))


def staging_columns(element: ClauseElement) -> set[sa.Column[Any]]:
    """The staging-table columns an expression reads, through any subqueries."""
    found: set[sa.Column[Any]] = set()
    for column in _column_refs(element):
        table = column.table
        if isinstance(column, sa.Column) and isinstance(table, sa.Table):
            if table in STAGING_TABLES:
                found.add(column)
        elif isinstance(table, sa.Subquery):
            inner = table.element
            if isinstance(inner, sa.Select):
                found |= staging_columns(inner.selected_columns[column.key])
    return found


def _column_refs(element: ClauseElement) -> Iterator[ColumnClause[Any]]:
    """Column references in an expression, without descending into their tables."""
    if isinstance(element, ColumnClause) and element.table is not None:
        yield element
        return
    for child in element.get_children():
        yield from _column_refs(child)


def _assignments(step: transform.Step) -> list[tuple[str, ColumnElement[Any]]]:
    """(star column, expression) pairs a transform statement writes."""
    stmt = step.statement
    if isinstance(stmt, sa.Insert):
        select = stmt.select
        names = stmt._select_names  # the INSERT's column list, in SELECT order
        if select is None or names is None:
            raise ValueError(f"{step.table}: not an INSERT … SELECT")
        selected = list(select.selected_columns)
        return [(str(getattr(n, "name", n)), expr) for n, expr in zip(names, selected, strict=True)]
    values: dict[Any, Any] = dict(stmt._values or {})  # UPDATE … SET column = expression
    return [
        (str(getattr(key, "name", key)), expr)
        for key, expr in values.items()
        if isinstance(expr, ColumnElement)
    ]


def join_columns() -> dict[str, tuple[str, ...]]:
    """Per star table, the staging columns its INSERT's joins match on (songplays: the
    event's song, artist and length against the song's title, artist name and duration)."""
    found: dict[str, set[str]] = {}
    for step in transform.steps(load_id=None):
        stmt = step.statement
        select = stmt.select if isinstance(stmt, sa.Insert) else None
        if select is None:
            continue
        for joined in select.get_final_froms():
            if isinstance(joined, sa.Join) and joined.onclause is not None:
                found.setdefault(step.table, set()).update(
                    f"{c.table.name}.{c.name}" for c in staging_columns(joined.onclause)
                )
    return {table: tuple(sorted(cols)) for table, cols in found.items()}


def star_sources() -> list[StarSource]:
    """Every column the transform writes, with the staging columns it comes from."""
    found: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    for step in transform.steps(load_id=None):
        for column, expr in _assignments(step):
            cols, hows = found.setdefault((step.table, column), (set(), []))
            cols.update(f"{c.table.name}.{c.name}" for c in staging_columns(expr))
            if step.action not in hows:
                hows.append(step.action)
    return [
        StarSource(table, column, tuple(sorted(cols)), ", ".join(hows))
        for (table, column), (cols, hows) in found.items()
    ]
