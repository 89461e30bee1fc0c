"""Reading JSON records in SQL, alike on every engine: a field as text, the fields of a
record parsed once, what kind of value sits at a path, and the records (duplicate keys,
suspect spellings) that both engines must see alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import ARRAY

from sparkify_dw.constructs.values import literal_text

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


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"({doc} ->> {literal_text(compiler, element.path[0])})"
    items = ",".join(
        '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"' for s in element.path
    )
    return f"({doc} #>> {literal_text(compiler, '{' + items + '}')})"


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


def _duckdb_path(path: Sequence[str | int]) -> str:
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append('."' + step.replace('"', '\\"') + '"')
    return "".join(parts)


@compiles(json_fields, "duckdb")
def _json_fields_duckdb(element: json_fields, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    paths = ", ".join(literal_text(compiler, _duckdb_path(p)) for p in element.paths)
    # try(): malformed JSON gives NULL instead of failing the statement.
    return f"try(json_extract_string({doc}, [{paths}]))"


@compiles(json_fields, "postgresql")
def _json_fields_postgresql(element: json_fields, compiler: SQLCompiler, **kw: Any) -> str:
    # jsonb is parsed already, and indexing an array of text walks it element by element:
    # each value is read from the document by json_field, this only marks it as valid.
    doc = compiler.process(element.clauses, **kw)
    return f"CASE WHEN {doc} IS NOT NULL THEN ARRAY[]::text[] END"


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


@compiles(json_field, "duckdb")
def _json_field_duckdb(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    fields, _ = (compiler.process(c, **kw) for c in element.clauses)
    return f"{fields}[{element.index}]"


@compiles(json_field, "postgresql")
def _json_field_postgresql(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    _, doc = (compiler.process(c, **kw) for c in element.clauses)
    return _json_text_postgresql(json_text(literal_column(doc), element.path), compiler, **kw)


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


@compiles(json_kind, "duckdb")
def _json_kind_duckdb(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    path = literal_text(compiler, _duckdb_path(element.path))
    return (
        f"CASE try(json_type({doc}, {path})) WHEN 'VARCHAR' THEN 'string' "
        "WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'object' WHEN 'BOOLEAN' THEN "
        "'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END"
    )


@compiles(json_kind, "postgresql")
def _json_kind_postgresql(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"jsonb_typeof({doc} -> {literal_text(compiler, element.path[0])})"
    steps = ",".join(
        '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"' for s in element.path
    )
    return f"jsonb_typeof({doc} #> {literal_text(compiler, '{' + steps + '}')})"


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


@compiles(duplicate_keys, "duckdb")
def _duplicate_keys_duckdb(element: duplicate_keys, compiler: SQLCompiler, **kw: Any) -> str:
    text, _, present = (compiler.process(c, **kw) for c in element.clauses)
    keys = f"try(json_keys({text}))"
    # Counting the keys is cheap; list_distinct (hashing every key) only runs when the
    # count exceeds the different keys already seen, as it does in every record with a
    # null or missing field.
    return (
        f"coalesce(CASE WHEN len({keys}) <= {present} THEN false "
        f"ELSE len({keys}) <> len(list_distinct({keys})) END, false)"
    )


_QUOTE_THEN_SPACE = '"[[:space:]]'


@compiles(duplicate_keys, "postgresql")
def _duplicate_keys_postgresql(element: duplicate_keys, compiler: SQLCompiler, **kw: Any) -> str:
    text, doc, present = (compiler.process(c, **kw) for c in element.clauses)
    # A key is a string followed by a colon: with no quote followed by white space in the
    # text, every key is spelled '":', so counting those (cheap string functions) bounds
    # the keys from above. No more of them than different keys known present: none twice.
    colons = f"(octet_length({text}) - octet_length(replace({text}, '\":', ''))) / 2"
    # One regular expression, not four strpos(): a third of this test's cost. Any space
    # class is a superset of JSON's four: a false alarm only means the exact test.
    spaced = f"{text} ~ {literal_text(compiler, _QUOTE_THEN_SPACE)}"
    # Otherwise jsonb keeps one value per key: list the keys of the text as json, which
    # keeps all. Nested CASE: the text is parsed as json only once jsonb has read it as an
    # object.
    return (
        f"CASE WHEN jsonb_typeof({doc}) = 'object' THEN CASE "
        f"WHEN NOT ({spaced}) AND {colons} <= {present} THEN false WHEN "
        f"(SELECT count(*) - count(DISTINCT k) FROM json_object_keys(CAST({text} AS json)) "
        "AS keys (k)) > 0 THEN true ELSE false END ELSE false END"
    )


class suspect_record(FunctionElement[bool]):
    """Whether a record's text might hold what one engine parses and another refuses (NaN,
    trailing commas, \\u0000, surrogates, huge numbers, deep nesting): the fast paths hand
    such records to Python's framing (:func:`sparkify_dw.sources.record_fault`), which
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


@compiles(suspect_record, "duckdb")
def _suspect_duckdb(element: suspect_record, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return (
        f"(length({text}) > {SUSPECT_CHARS} OR "
        f"regexp_matches({text}, {literal_text(compiler, SUSPECT_PATTERN)}))"
    )


@compiles(suspect_record, "postgresql")
def _suspect_postgresql(element: suspect_record, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    # octet_length first: counting characters means decoding UTF-8, and a text of at most
    # that many bytes has no more characters.
    return (
        f"((octet_length({text}) > {SUSPECT_CHARS} AND char_length({text}) > {SUSPECT_CHARS})"
        " OR "
        f"{text} ~ {literal_text(compiler, SUSPECT_PATTERN)})"
    )
