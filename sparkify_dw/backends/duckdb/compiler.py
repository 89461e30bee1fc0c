"""How the shared constructs (:mod:`sparkify_dw.constructs`) compile on this engine: its
``@compiles`` visitors, registered when the engine is prepared (``EngineInfo.setup``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateTable, DropTable
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler

from sparkify_dw.constructs.ddl import _identity_columns, identity_sequence_name
from sparkify_dw.constructs.json_values import (
    SUSPECT_CHARS,
    SUSPECT_PATTERN,
    duplicate_keys,
    json_field,
    json_fields,
    json_kind,
    suspect_record,
)
from sparkify_dw.constructs.ordering import _text, bytewise
from sparkify_dw.constructs.readers import (
    MAX_LINE_BYTES,
    NOT_UTF8,
    csv_rows,
    json_lines,
    tsv_records,
)
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
    epoch_ms_to_timestamp,
    literal_text,
    strict_cast,
)


@compiles(CreateColumn, "duckdb")
def _duckdb_create_column(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str:
    column = element.element
    if column.identity is None:
        return compiler.visit_create_column(element, **kw)  # type: ignore[no-any-return,no-untyped-call]
    preparer = compiler.preparer
    type_ = compiler.dialect.type_compiler_instance.process(column.type)
    seq = preparer.quote(identity_sequence_name(column))
    return f"{preparer.format_column(column)} {type_} DEFAULT nextval('{seq}') NOT NULL"


@compiles(CreateTable, "duckdb")
def _duckdb_create_table(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    text = compiler.visit_create_table(element, **kw)  # type: ignore[no-untyped-call]
    for column in _identity_columns(element.element):
        seq = compiler.preparer.quote(identity_sequence_name(column))
        text = f"CREATE SEQUENCE IF NOT EXISTS {seq};\n{text}"
    return text  # type: ignore[no-any-return]


@compiles(DropTable, "duckdb")
def _duckdb_drop_table(element: DropTable, compiler: DDLCompiler, **kw: Any) -> str:
    text = compiler.visit_drop_table(element, **kw)  # type: ignore[no-untyped-call]
    for column in _identity_columns(element.element):
        seq = compiler.preparer.quote(identity_sequence_name(column))
        text += f";\nDROP SEQUENCE IF EXISTS {seq}"
    return text  # type: ignore[no-any-return]


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


@compiles(json_field, "duckdb")
def _json_field_duckdb(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    fields, _ = (compiler.process(c, **kw) for c in element.clauses)
    return f"{fields}[{element.index}]"


@compiles(json_kind, "duckdb")
def _json_kind_duckdb(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    path = literal_text(compiler, _duckdb_path(element.path))
    return (
        f"CASE try(json_type({doc}, {path})) WHEN 'VARCHAR' THEN 'string' "
        "WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'object' WHEN 'BOOLEAN' THEN "
        "'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END"
    )


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


@compiles(suspect_record, "duckdb")
def _suspect_duckdb(element: suspect_record, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return (
        f"(length({text}) > {SUSPECT_CHARS} OR "
        f"regexp_matches({text}, {literal_text(compiler, SUSPECT_PATTERN)}))"
    )


@compiles(bytewise, "duckdb")
def _bytewise_duckdb(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({_text(element, compiler, **kw)} COLLATE "binary")'


@compiles(json_lines, "duckdb")
def _json_lines_duckdb(element: json_lines, compiler: SQLCompiler, **kw: Any) -> str:
    files = ", ".join(literal_text(compiler, f) for f in element.files)
    # One leading byte-order mark is dropped, as Python's framing and PostgreSQL's path
    # drop it: a second one is part of the first record, which is then not JSON.
    text = "CASE WHEN starts_with(text, chr(65279)) THEN substr(text, 2) ELSE text END"
    return (
        "(SELECT source, line_no, body FROM ("
        "SELECT filename AS source, unnest(lines) AS body, "
        "generate_subscripts(lines, 1) AS line_no FROM ("
        f"SELECT filename, string_split({text}, chr(10)) AS lines FROM ("
        f"SELECT filename, coalesce(try(decode(content)), '{NOT_UTF8}') AS text "
        f"FROM read_blob([{files}]))))"
        # Blank: only spaces, tabs and carriage returns. trim() runs only on the lines that
        # start with one of those (trimming every line cost more than splitting them).
        " WHERE body <> '' AND (ascii(body) NOT IN (32, 9, 13)"
        " OR trim(body, chr(32) || chr(9) || chr(13)) <> ''))"
    )


@compiles(tsv_records, "duckdb")
def _tsv_records_duckdb(element: tsv_records, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"read_csv({literal_text(compiler, element.path)}, delim = chr(9), quote = '', "
        "escape = '', header = false, auto_detect = false, "
        # A record may be one line of any length (the default stops at 2 MB).
        f"max_line_size = {MAX_LINE_BYTES}, "
        "columns = {'file_no': 'INTEGER', 'line_no': 'INTEGER', 'reason': 'VARCHAR', "
        "'body': 'VARCHAR'})"
    )


@compiles(csv_rows, "duckdb")
def _csv_rows_duckdb(element: csv_rows, compiler: SQLCompiler, **kw: Any) -> str:
    types = compiler.dialect.type_compiler_instance
    columns = ", ".join(
        f"{literal_text(compiler, c.name)}: {literal_text(compiler, types.process(c.type))}"
        for c in element.table.columns
    )
    return (
        f"read_csv({literal_text(compiler, element.path)}, header = false, "
        f"auto_detect = false, columns = {{{columns}}})"
    )


@compiles(epoch_ms_to_timestamp, "duckdb")
def _epoch_ms_duckdb(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return f"epoch_ms({compiler.process(element.clauses, **kw)})"


@compiles(strict_cast, "duckdb")
def _strict_cast_duckdb(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"regexp_full_match({text}, {literal_text(compiler, pattern)})"

    double = f"TRY_CAST({text} AS DOUBLE)"
    number = f"{matches(_DOUBLE_RE)} AND length({text}) <= {MAX_NUMBER_CHARS}"
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        plain = f"TRY_CAST({text} AS HUGEINT)"
        return (
            f"CASE WHEN {matches(_INTEGER_RE)} THEN CASE WHEN length({text}) <= 40 AND "
            f"{plain} BETWEEN {lo} AND {hi} THEN CAST({plain} AS {name}) END "
            f"WHEN {number} THEN CASE WHEN abs({double}) < {TINY} THEN CAST(0 AS {name}) "
            f"WHEN {double} = trunc({double}) AND {double} BETWEEN {lo} AND {hi} "
            f"THEN CAST({double} AS {name}) END END"
        )
    short = f"length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
    return (
        f"CASE WHEN {short} THEN {double} "
        f"WHEN {number} THEN CASE WHEN abs({double}) < {TINY} THEN CAST(0 AS DOUBLE) "
        f"WHEN abs({double}) <= {HUGE} THEN {double} END END"
    )


@compiles(byte_length, "duckdb")
def _byte_length_duckdb(element: byte_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strlen({compiler.process(element.clauses, **kw)})"
