"""Reading JSON records in SQL, alike on every engine: a field as text, the fields of a
record parsed once, what kind of value sits at a path, and the records (duplicate keys,
suspect spellings) that both engines must see alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, String, literal_column
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import ARRAY

from sparkify_dw.constructs.dispatch import function_constructs

# --- a field of a JSON document, as text -----------------------------------------------------


class json_text(FunctionElement[str]):
    """The value at a JSON path as text (NULL for JSON null or a missing key).

    ``path`` is a tuple of keys and array indexes, from a JSONPaths file.
    """

    type = String()
    inherit_cache = False
    name = "json_text"

    def __init__(self, document: ColumnElement[Any], path: Sequence[str | int]) -> None:
        super().__init__(document)
        self.path = tuple(path)


# --- the fields of a JSON record, parsed once -------------------------------------------------


class json_fields(FunctionElement[Any]):
    """The values at several JSON paths of one document, as an array of text (1-based).

    NULL when the document is not valid JSON (DuckDB parses text here; on PostgreSQL
    the caller hands in ``jsonb`` that is already valid). One parse per record, however
    many fields: the cost of staging is the cost of this expression.
    """

    type = ARRAY(String())
    inherit_cache = False
    name = "json_fields"

    def __init__(self, document: ColumnElement[Any], paths: Sequence[Sequence[str | int]]) -> None:
        super().__init__(document)
        self.paths = [tuple(p) for p in paths]


class json_field(FunctionElement[str]):
    """The ``index``-th value (1-based) of a :class:`json_fields`: read from ``fields``
    where parsing the text once per record is the cost (DuckDB), straight from the parsed
    ``document`` where that is cheaper (PostgreSQL's jsonb)."""

    type = String()
    inherit_cache = False
    name = "json_field"

    def __init__(
        self,
        fields: ColumnElement[Any],
        document: ColumnElement[Any],
        index: int,
        path: Sequence[str | int],
    ) -> None:
        super().__init__(fields, document)
        self.index, self.path = index, tuple(path)


# --- what kind of JSON value sits at a path ------------------------------------------------


class json_kind(FunctionElement[str]):
    """The JSON type at a path of a document: 'string', 'number', 'boolean', 'null',
    'array', 'object' (NULL when missing). Used where the text alone can't tell, so only
    for the few values that could be something other than a string."""

    type = String()
    inherit_cache = False
    name = "json_kind"

    def __init__(self, document: ColumnElement[Any], path: Sequence[str | int]) -> None:
        super().__init__(document)
        self.path = tuple(path)


# --- records both engines must see alike ---------------------------------------------------


class duplicate_keys(FunctionElement[bool]):
    """Whether a JSON object names a key twice at the top level. DuckDB reads the first
    value, PostgreSQL's jsonb the last: such a record is ambiguous, and rejected.

    ``text`` is the record's text; ``document`` what :class:`json_fields` reads."""

    type = Boolean()
    inherit_cache = False
    name = "duplicate_keys"

    def __init__(
        self,
        text: ColumnElement[Any],
        document: ColumnElement[Any],
        distinct_present: ColumnElement[Any] | None = None,
    ) -> None:
        # distinct_present: how many different top-level keys the record is known to
        # hold (counted by the caller from values it extracted anyway). When the record
        # has no more keys than that, none can repeat: engines may skip the exact test.
        present = distinct_present if distinct_present is not None else literal_column("0")
        super().__init__(text, document, present)


_QUOTE_THEN_SPACE = '"[[:space:]]'


class suspect_record(FunctionElement[bool]):
    """Whether a record's text might hold what one engine parses and another refuses (NaN,
    trailing commas, \\u0000, surrogates, huge numbers, deep nesting): the fast paths hand
    such records to Python's framing (:func:`sparkify_dw.framing.record_fault`), which
    decides exactly. A superset: a false alarm costs time, not a verdict."""

    type = Boolean()
    inherit_cache = False
    name = "suspect_record"

    def __init__(self, text: ColumnElement[Any]) -> None:
        super().__init__(text)


# A superset of what record_fault rejects, as one pattern (one pass over the text): NaN,
# Infinity, inf; a trailing comma; \\u0000 and surrogate escapes; an exponent of 4 digits
# or more. A number over 1,000 characters or nesting deeper than 512 needs a longer record.
SUSPECT_PATTERN = (
    r"[:,\[][ \t\r\n]*[-+]?([nN][aA][nN]|[iI][nN][fF])"
    r"|,[ \t\r\n]*[]}]"
    r"|\\u(0000|[dD][89a-fA-F])"
    r"|[0-9.][eE][+-]?0*[1-9][0-9]{3,}([^0-9A-Za-z_]|$)"
)
SUSPECT_CHARS = 1000  # a longer record may hold a huge number or deep nesting


function_constructs(
    json_text, json_fields, json_field, json_kind, duplicate_keys, suspect_record
)  # each engine's visitors: its package
