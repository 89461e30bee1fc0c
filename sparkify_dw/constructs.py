"""SQL constructs whose text differs per dialect: one construct, one visitor per dialect.

Everything else in the package is dialect-neutral SQLAlchemy Core; a new backend
adds its visitors here (or reuses the PostgreSQL ones, as Redshift does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Interval, String, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Column, CreateColumn, CreateTable, DropTable, Table
from sqlalchemy.sql import ClauseElement, ColumnElement, Executable
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import ARRAY, TIMESTAMP, TypeEngine

# --- DDL: identity columns on DuckDB ---------------------------------------------------------
# DuckDB has no IDENTITY; the same model column becomes a sequence-backed default there.


def identity_sequence_name(column: Column[Any]) -> str:
    return f"{column.table.name}_{column.name}_seq"


def _identity_columns(table: Any) -> list[Column[Any]]:
    return [c for c in table.columns if c.identity is not None]


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


# --- epoch milliseconds to a UTC timestamp ----------------------------------------------------


class epoch_ms_to_timestamp(FunctionElement[Any]):
    """``ts`` (epoch milliseconds, BIGINT) as a TIMESTAMP with millisecond precision.

    Integer arithmetic only: ``ts / 1000`` on BIGINT is integer division on PostgreSQL
    and Redshift, so the milliseconds are added separately and nothing is rounded.
    """

    type = TIMESTAMP()
    inherit_cache = True
    name = "epoch_ms_to_timestamp"


@compiles(epoch_ms_to_timestamp)
def _epoch_ms_default(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    ms = next(iter(element.clauses))
    epoch = literal_column("TIMESTAMP 'epoch'", TIMESTAMP())
    second = literal_column("INTERVAL '1 second'", Interval())
    milli = literal_column("INTERVAL '1 millisecond'", Interval())
    # // on integers is integer division; MOD() rather than %, which some drivers escape.
    expr = epoch + (ms // 1000) * second + func.mod(ms, 1000) * milli
    return f"({compiler.process(expr, **kw)})"


@compiles(epoch_ms_to_timestamp, "duckdb")
def _epoch_ms_duckdb(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return f"epoch_ms({compiler.process(element.clauses, **kw)})"


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


def _literal(compiler: SQLCompiler, value: str) -> str:
    return compiler.render_literal_value(value, String())  # type: ignore[no-any-return]


@compiles(json_text, "duckdb")
def _json_text_duckdb(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    parts = ["$"]
    for step in element.path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append('."' + step.replace('"', '\\"') + '"')
    doc = compiler.process(element.clauses, **kw)
    return f"json_extract_string({doc}, {_literal(compiler, ''.join(parts))})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"({doc} ->> {_literal(compiler, element.path[0])})"
    items = ",".join('"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
                     for s in element.path)
    return f"({doc} #>> {_literal(compiler, '{' + items + '}')})"


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
    paths = ", ".join(_literal(compiler, _duckdb_path(p)) for p in element.paths)
    # try(): malformed JSON gives NULL instead of failing the statement.
    return f"try(json_extract_string({doc}, [{paths}]))"


@compiles(json_fields, "postgresql")
def _json_fields_postgresql(element: json_fields, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    items = [_json_text_postgresql(json_text(literal_column(doc), p), compiler, **kw)
             for p in element.paths]
    return f"ARRAY[{', '.join(items)}]::text[]"


# --- a strict cast: NULL instead of an error, and the same verdict on every engine -------

_INTEGER_RE = r"[ \t]*[+-]?[0-9]+[ \t]*"
_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*"
_PLAIN_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[ \t]*"  # no exponent
SHORT_CHARS = {"SMALLINT": 4, "INTEGER": 9, "BIGINT": 18, "DOUBLE": 60}  # always in range
_INT_RANGES = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}


class strict_cast(FunctionElement[Any]):
    """``text`` as ``type_`` when it is a plain decimal number in range, else NULL.

    Engines disagree on what else to accept (DuckDB rounds '1.5' to an integer, reads
    '0x10' and '1_000'; PostgreSQL 15 rejects them and has no TRY_CAST), so the accepted
    syntax is spelled out once here: what a JSON number looks like.
    """

    inherit_cache = False
    name = "strict_cast"

    def __init__(self, text: ColumnElement[Any], type_: TypeEngine[Any]) -> None:
        super().__init__(text)
        self.type = type_
        self.target = type_


def _type_name(compiler: SQLCompiler, type_: TypeEngine[Any]) -> str:
    return compiler.dialect.type_compiler_instance.process(type_)


@compiles(strict_cast, "duckdb")
def _strict_cast_duckdb(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"regexp_full_match({text}, {_literal(compiler, pattern)})"

    if name in _INT_RANGES:  # TRY_CAST is NULL out of range, as wanted
        return f"CASE WHEN {matches(_INTEGER_RE)} THEN TRY_CAST({text} AS {name}) END"
    # Exponents can overflow to inf or underflow to 0 where PostgreSQL refuses: same limits.
    value = f"TRY_CAST({text} AS {name})"
    zero = matches(r"[ \t]*[+-]?[0.]*([eE][+-]?[0-9]+)?[ \t]*")
    short = f"char_length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
    return (f"CASE WHEN {short} THEN {value} "
            f"WHEN {matches(_DOUBLE_RE)} THEN CASE WHEN {zero} OR abs({value}) "
            f"BETWEEN 2.3e-308 AND 1.7e308 THEN {value} END END")




@compiles(strict_cast, "postgresql")
def _strict_cast_postgresql(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"{text} ~ {_literal(compiler, '^' + pattern + '$')}"

    # The common values take the first branch (one regex, one cast); numeric is parsed only
    # for the rare ones that could overflow, since PostgreSQL's casts raise instead of NULL
    # (float8 input fails on overflow and underflow; numeric reads any such literal).
    if name in _INT_RANGES:
        bound = _INT_RANGES[name]
        short = f"char_length({text}) <= {SHORT_CHARS[name]} AND {matches(_INTEGER_RE)}"
        in_range = f"{text}::numeric BETWEEN {-bound} AND {bound - 1}"
        long_ = _INTEGER_RE
    else:
        short = f"char_length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
        in_range = (f"abs({text}::numeric) = 0 OR abs({text}::numeric) "
                    f"BETWEEN 2.3e-308 AND 1.7e308")
        long_ = _DOUBLE_RE
    # Nested CASE where a cast could raise: PostgreSQL may evaluate AND's sides in any order.
    return (f"CASE WHEN {short} THEN CAST({text} AS {name}) "
            f"WHEN {matches(long_)} THEN CASE WHEN {in_range} THEN CAST({text} AS {name}) "
            "END END")


# --- staging readers ----------------------------------------------------------------------


class json_lines(FunctionElement[Any]):
    """DuckDB: the lines of UTF-8 files, numbered, as rows (``source``, ``line_no``, ``body``).

    Blank lines are left out and a leading byte-order mark is dropped. A file that is not
    valid UTF-8 becomes one line that is not JSON, which sends it to the careful path.
    """

    inherit_cache = False
    name = "json_lines"

    def __init__(self, files: Sequence[str]) -> None:
        super().__init__()
        self.files = list(files)


@compiles(json_lines, "duckdb")
def _json_lines_duckdb(element: json_lines, compiler: SQLCompiler, **kw: Any) -> str:
    files = ", ".join(_literal(compiler, f) for f in element.files)
    text = f"ltrim(coalesce(try(decode(content)), '{NOT_UTF8}'), chr(65279))"
    return (
        "(SELECT source, line_no, body FROM ("
        "SELECT filename AS source, unnest(lines) AS body, "
        "generate_subscripts(lines, 1) AS line_no FROM ("
        f"SELECT filename, string_split({text}, chr(10)) AS lines FROM read_blob([{files}])))"
        " WHERE trim(body, chr(32) || chr(9) || chr(13)) <> '')"
    )


NOT_UTF8 = "<not UTF-8>"
MAX_LINE_BYTES = 2**31 - 1  # DuckDB's read_csv: the longest line it may meet


class tsv_records(FunctionElement[Any]):
    """DuckDB: records framed in Python (``source``, ``line_no``, ``reason``, ``body``),
    tab-separated."""

    inherit_cache = False
    name = "tsv_records"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


@compiles(tsv_records, "duckdb")
def _tsv_records_duckdb(element: tsv_records, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"read_csv({_literal(compiler, element.path)}, delim = chr(9), quote = '', "
            "escape = '', header = false, auto_detect = false, "
            # A record may be one line of any length (the default stops at 2 MB).
            f"max_line_size = {MAX_LINE_BYTES}, "
            "columns = {'source': 'VARCHAR', 'line_no': 'INTEGER', 'reason': 'VARCHAR', "
            "'body': 'VARCHAR'})")


class csv_rows(FunctionElement[Any]):
    """DuckDB: the rows of a headerless CSV file written by the client, typed as ``table``."""

    inherit_cache = False
    name = "csv_rows"

    def __init__(self, path: str, table: Table) -> None:
        super().__init__()
        self.path, self.table = path, table


@compiles(csv_rows, "duckdb")
def _csv_rows_duckdb(element: csv_rows, compiler: SQLCompiler, **kw: Any) -> str:
    types = compiler.dialect.type_compiler_instance
    columns = ", ".join(f"{_literal(compiler, c.name)}: {_literal(compiler, types.process(c.type))}"
                        for c in element.table.columns)
    return (f"read_csv({_literal(compiler, element.path)}, header = false, "
            f"auto_detect = false, columns = {{{columns}}})")


class copy_from_stdin(Executable, ClauseElement):
    """PostgreSQL's client-side ``COPY table (columns) FROM STDIN``."""

    inherit_cache = False

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)


@compiles(copy_from_stdin, "postgresql")
def _copy_from_stdin(element: copy_from_stdin, compiler: SQLCompiler, **kw: Any) -> str:
    preparer = compiler.preparer
    cols = ", ".join(preparer.quote(c) for c in element.columns)
    return f"COPY {preparer.format_table(element.table)} ({cols}) FROM STDIN"


class LockTables(Executable, ClauseElement):
    """``LOCK t1, t2``: on Redshift, the load's lock, held until the transaction ends."""

    inherit_cache = False

    def __init__(self, *tables: Table) -> None:
        self.tables = tables


@compiles(LockTables)
def _lock_tables(element: LockTables, compiler: SQLCompiler, **kw: Any) -> str:
    return "LOCK " + ", ".join(compiler.preparer.format_table(t) for t in element.tables)


class TableMaintenance(Executable, ClauseElement):
    """``ANALYZE t`` / ``VACUUM t``: run outside a transaction block after a load."""

    inherit_cache = False

    def __init__(self, verb: str, table: Table) -> None:
        if verb not in ("ANALYZE", "VACUUM"):
            raise ValueError(f"unknown maintenance command {verb!r}")
        self.verb, self.table = verb, table


@compiles(TableMaintenance)
def _table_maintenance(element: TableMaintenance, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.verb} {compiler.preparer.format_table(element.table)}"
