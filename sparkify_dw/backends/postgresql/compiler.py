"""How the shared constructs (:mod:`sparkify_dw.constructs`) compile on this engine: its
``@compiles`` visitors, registered when the engine is prepared (``EngineInfo.setup``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from sparkify_dw.constructs.json_values import (
    _QUOTE_THEN_SPACE,
    SUSPECT_CHARS,
    SUSPECT_PATTERN,
    duplicate_keys,
    json_field,
    json_fields,
    json_kind,
    json_text,
    suspect_record,
)
from sparkify_dw.constructs.ordering import _text, bytewise
from sparkify_dw.constructs.readers import copy_from_stdin
from sparkify_dw.constructs.values import (
    _DOUBLE_RE,
    _INT_RANGES,
    _INTEGER_RE,
    _PLAIN_DOUBLE_RE,
    HUGE,
    MAX_NUMBER_CHARS,
    SHORT_CHARS,
    TINY,
    _type_name,
    byte_length,
    literal_text,
    strict_cast,
)


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"({doc} ->> {literal_text(compiler, element.path[0])})"
    items = ",".join(
        '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"' for s in element.path
    )
    return f"({doc} #>> {literal_text(compiler, '{' + items + '}')})"


@compiles(json_fields, "postgresql")
def _json_fields_postgresql(element: json_fields, compiler: SQLCompiler, **kw: Any) -> str:
    # jsonb is parsed already, and indexing an array of text walks it element by element:
    # each value is read from the document by json_field, this only marks it as valid.
    doc = compiler.process(element.clauses, **kw)
    return f"CASE WHEN {doc} IS NOT NULL THEN ARRAY[]::text[] END"


@compiles(json_field, "postgresql")
def _json_field_postgresql(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    _, doc = (compiler.process(c, **kw) for c in element.clauses)
    return _json_text_postgresql(json_text(literal_column(doc), element.path), compiler, **kw)


@compiles(json_kind, "postgresql")
def _json_kind_postgresql(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"jsonb_typeof({doc} -> {literal_text(compiler, element.path[0])})"
    steps = ",".join(
        '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"' for s in element.path
    )
    return f"jsonb_typeof({doc} #> {literal_text(compiler, '{' + steps + '}')})"


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


@compiles(bytewise, "postgresql")
def _bytewise_postgresql(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({_text(element, compiler, **kw)} COLLATE "C")'


@compiles(copy_from_stdin, "postgresql")
def _copy_from_stdin(element: copy_from_stdin, compiler: SQLCompiler, **kw: Any) -> str:
    preparer = compiler.preparer
    cols = ", ".join(preparer.quote(c) for c in element.columns)
    return f"COPY {preparer.format_table(element.table)} ({cols}) FROM STDIN"


@compiles(strict_cast, "postgresql")
def _strict_cast_postgresql(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"{text} ~ {literal_text(compiler, '^' + pattern + '$')}"

    # The common values take the first branch (one regex, one cast); numeric is parsed only
    # for the rare ones, since PostgreSQL's casts raise instead of giving NULL (float8 input
    # fails on overflow and underflow). Nested CASE where a cast could raise: PostgreSQL
    # may evaluate AND's sides in any order.
    number = f"char_length({text}) <= {MAX_NUMBER_CHARS} AND {matches(_DOUBLE_RE)}"
    exact = f"{text}::numeric"
    double = f"CAST({text} AS DOUBLE PRECISION)"
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        short = f"char_length({text}) <= {SHORT_CHARS[name]} AND {matches(_INTEGER_RE)}"
        return (
            f"CASE WHEN {short} THEN CAST({text} AS {name}) "
            f"WHEN char_length({text}) <= {MAX_NUMBER_CHARS} AND {matches(_INTEGER_RE)} "
            f"THEN CASE WHEN {exact} BETWEEN {lo} AND {hi} THEN CAST({text} AS {name}) END "
            f"WHEN {number} THEN CASE WHEN abs({exact}) < {TINY} THEN CAST(0 AS {name}) "
            f"WHEN abs({exact}) <= {HUGE} THEN CASE WHEN {double} = trunc({double}) AND "
            f"{double} BETWEEN {lo} AND {hi} THEN CAST({double} AS {name}) END END END"
        )
    short = f"char_length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
    return (
        f"CASE WHEN {short} THEN CAST({text} AS {name}) "
        f"WHEN {number} THEN CASE WHEN abs({exact}) < {TINY} THEN CAST(0 AS {name}) "
        f"WHEN abs({exact}) <= {HUGE} THEN CAST({text} AS {name}) END END"
    )


@compiles(byte_length, "postgresql")
def _byte_length_postgresql(element: byte_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"octet_length({compiler.process(element.clauses, **kw)})"
