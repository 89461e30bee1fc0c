"""How a raw JSON record becomes a typed staging row, on engines that parse JSON in SQL.

Redshift's COPY does this itself; DuckDB and PostgreSQL run the same expression,
built here once, so the three backends stage the same rows. The rules are COPY's
with BLANKSASNULL and EMPTYASNULL: an empty or blank string is NULL, then the text
is cast to the column's type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from sparkify_dw.constructs import json_text
from sparkify_dw.models import STAGING_EVENTS
from sparkify_dw.sources import JsonPath


@dataclass(frozen=True)
class StageRequest:
    """One staging table and where its records come from."""

    table: sa.Table
    source: str  # path, glob, file:// or s3:// URI, as configured
    jsonpaths: list[JsonPath] | None  # None: match JSON keys to column names ('auto')
    jsonpaths_uri: str | None = None  # the JSONPaths file itself (Redshift's COPY reads it)

    @property
    def what(self) -> str:
        return "log_data" if self.table is STAGING_EVENTS else "song_data"

    def paths(self) -> list[tuple[sa.Column[Any], JsonPath]]:
        columns = list(self.table.columns)
        if self.jsonpaths is None:
            return [(c, (c.name,)) for c in columns]
        return list(zip(columns, self.jsonpaths, strict=True))


def blank_as_null(text: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.case((sa.func.trim(text) == "", sa.null()), else_=text)


def typed_record(document: ColumnElement[Any], request: StageRequest) -> list[ColumnElement[Any]]:
    """One typed expression per staging column, reading ``document`` (a JSON value)."""
    exprs: list[ColumnElement[Any]] = []
    for column, path in request.paths():
        value = blank_as_null(json_text(document, path))
        if not isinstance(column.type, sa.String):
            value = sa.cast(value, column.type)
        exprs.append(value.label(column.name))
    return exprs


def insert_typed(request: StageRequest, document: ColumnElement[Any],
                 source: sa.FromClause) -> sa.Insert:
    """``INSERT INTO staging (…) SELECT typed(document) FROM source``."""
    select = sa.select(*typed_record(document, request)).select_from(source)
    return sa.insert(request.table).from_select([c.name for c, _ in request.paths()], select)

