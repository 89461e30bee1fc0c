"""SQL constructs whose text differs per dialect: one construct, one visitor per dialect.

Everything else in the package is dialect-neutral SQLAlchemy Core; a new backend
adds its visitors here (or reuses the PostgreSQL ones, as Redshift does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Integer, Interval, String, func, literal_column
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

    def __init__(self, fields: ColumnElement[Any], document: ColumnElement[Any], index: int,
                 path: Sequence[str | int]) -> None:
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


# --- a strict cast: NULL instead of an error, and the same verdict on every engine -------
#
# The engines hand over a JSON number's text differently: DuckDB re-prints the double it
# parsed (1e1 becomes '10.0'), PostgreSQL's jsonb keeps the exact decimal ('10'). So the
# rules are about values, which both see alike:
#   * an integer column takes a whole number of magnitude below 2**53 (and in the column's
#     range), however it is spelled: 1e1, 10.0 and "10" are 10; 1.5 is rejected. Spellings
#     with a fraction or exponent are judged by their double value, as DuckDB parsed them;
#   * a double column takes any number up to 1.7e308 in magnitude; one below 2.3e-308
#     (1e-400) is 0, as DuckDB reads it;
#   * text that isn't a decimal number, or has an exponent of 5 digits or more, or is longer
#     than 3,000 characters, is no number.

_INTEGER_RE = r"[ \t]*[+-]?[0-9]+[ \t]*"
_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?0*[0-9]{1,4})?[ \t]*"
_PLAIN_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[ \t]*"  # no exponent
SHORT_CHARS = {"SMALLINT": 4, "INTEGER": 9, "BIGINT": 15, "DOUBLE": 60}  # always in range
MAX_NUMBER_CHARS = 3000  # jsonb prints 1e-999 with 1,001 digits: well within numeric's range
EXACT = 2**53  # integers a double holds exactly
_INT_RANGES = {"SMALLINT": (-(2**15), 2**15 - 1), "INTEGER": (-(2**31), 2**31 - 1),
               "BIGINT": (-(EXACT - 1), EXACT - 1)}
TINY, HUGE = "2.3e-308", "1.7e308"  # below: 0; above: not a double


class strict_cast(FunctionElement[Any]):
    """``text`` as ``type_`` by the rules above, else NULL (never an error).

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


def _cast_name(name: str) -> str:
    return "DOUBLE" if name in ("DOUBLE", "DOUBLE PRECISION", "FLOAT") else name


@compiles(strict_cast, "duckdb")
def _strict_cast_duckdb(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"regexp_full_match({text}, {_literal(compiler, pattern)})"

    double = f"TRY_CAST({text} AS DOUBLE)"
    number = f"{matches(_DOUBLE_RE)} AND length({text}) <= {MAX_NUMBER_CHARS}"
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        plain = f"TRY_CAST({text} AS HUGEINT)"
        return (f"CASE WHEN {matches(_INTEGER_RE)} THEN CASE WHEN length({text}) <= 40 AND "
                f"{plain} BETWEEN {lo} AND {hi} THEN CAST({plain} AS {name}) END "
                f"WHEN {number} THEN CASE WHEN abs({double}) < {TINY} THEN CAST(0 AS {name}) "
                f"WHEN {double} = trunc({double}) AND {double} BETWEEN {lo} AND {hi} "
                f"THEN CAST({double} AS {name}) END END")
    short = f"length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
    return (f"CASE WHEN {short} THEN {double} "
            f"WHEN {number} THEN CASE WHEN abs({double}) < {TINY} THEN CAST(0 AS DOUBLE) "
            f"WHEN abs({double}) <= {HUGE} THEN {double} END END")


@compiles(strict_cast, "postgresql")
def _strict_cast_postgresql(element: strict_cast, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    name = _type_name(compiler, element.target)

    def matches(pattern: str) -> str:
        return f"{text} ~ {_literal(compiler, '^' + pattern + '$')}"

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
        return (f"CASE WHEN {short} THEN CAST({text} AS {name}) "
                f"WHEN char_length({text}) <= {MAX_NUMBER_CHARS} AND {matches(_INTEGER_RE)} "
                f"THEN CASE WHEN {exact} BETWEEN {lo} AND {hi} THEN CAST({text} AS {name}) END "
                f"WHEN {number} THEN CASE WHEN abs({exact}) < {TINY} THEN CAST(0 AS {name}) "
                f"WHEN abs({exact}) <= {HUGE} THEN CASE WHEN {double} = trunc({double}) AND "
                f"{double} BETWEEN {lo} AND {hi} THEN CAST({double} AS {name}) END END END")
    short = f"char_length({text}) <= {SHORT_CHARS['DOUBLE']} AND {matches(_PLAIN_DOUBLE_RE)}"
    return (f"CASE WHEN {short} THEN CAST({text} AS {name}) "
            f"WHEN {number} THEN CASE WHEN abs({exact}) < {TINY} THEN CAST(0 AS {name}) "
            f"WHEN abs({exact}) <= {HUGE} THEN CAST({text} AS {name}) END END")


NUMBER_RE = _DOUBLE_RE  # what a number looks like, for reasons that must not show one


# --- a value's length in UTF-8 bytes --------------------------------------------------------


class byte_length(FunctionElement[int]):
    """The UTF-8 length of a text: Redshift's VARCHAR(n) counts bytes, so every backend
    measures bytes and rejects the same values."""

    type = Integer()
    inherit_cache = True
    name = "byte_length"


@compiles(byte_length, "duckdb")
def _byte_length_duckdb(element: byte_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strlen({compiler.process(element.clauses, **kw)})"


@compiles(byte_length, "postgresql")
def _byte_length_postgresql(element: byte_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"octet_length({compiler.process(element.clauses, **kw)})"


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
    path = _literal(compiler, _duckdb_path(element.path))
    return (f"CASE try(json_type({doc}, {path})) WHEN 'VARCHAR' THEN 'string' "
            "WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'object' WHEN 'BOOLEAN' THEN "
            "'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END")


@compiles(json_kind, "postgresql")
def _json_kind_postgresql(element: json_kind, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"jsonb_typeof({doc} -> {_literal(compiler, element.path[0])})"
    steps = ",".join('"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
                     for s in element.path)
    return f"jsonb_typeof({doc} #> {_literal(compiler, '{' + steps + '}')})"


# --- records both engines must see alike ---------------------------------------------------


class duplicate_keys(FunctionElement[bool]):
    """Whether a JSON object names a key twice at the top level. DuckDB reads the first
    value, PostgreSQL's jsonb the last: such a record is ambiguous, and rejected.

    ``text`` is the record's text; ``document`` what :class:`json_fields` reads."""

    type = Boolean()
    inherit_cache = False
    name = "duplicate_keys"

    def __init__(self, text: ColumnElement[Any], document: ColumnElement[Any],
                 distinct_present: ColumnElement[Any] | None = None) -> None:
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
    return (f"coalesce(CASE WHEN len({keys}) <= {present} THEN false "
            f"ELSE len({keys}) <> len(list_distinct({keys})) END, false)")


@compiles(duplicate_keys, "postgresql")
def _duplicate_keys_postgresql(element: duplicate_keys, compiler: SQLCompiler,
                               **kw: Any) -> str:
    text, doc, present = (compiler.process(c, **kw) for c in element.clauses)
    # A key is a string followed by a colon: with no quote followed by white space in the
    # text, every key is spelled '":', so counting those (cheap string functions) bounds
    # the keys from above. No more of them than different keys known present: none twice.
    colons = f"(octet_length({text}) - octet_length(replace({text}, '\":', ''))) / 2"
    spaced = " OR ".join(f"strpos({text}, '\"' || chr({c})) > 0" for c in (32, 9, 10, 13))
    # Otherwise jsonb keeps one value per key: list the keys of the text as json, which
    # keeps all. Nested CASE: the text is parsed as json only once jsonb has read it as an
    # object.
    return (f"CASE WHEN jsonb_typeof({doc}) = 'object' THEN CASE "
            f"WHEN NOT ({spaced}) AND {colons} <= {present} THEN false WHEN "
            f"(SELECT count(*) - count(DISTINCT k) FROM json_object_keys(CAST({text} AS json)) "
            "AS keys (k)) > 0 THEN true ELSE false END ELSE false END")


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
SUSPECT_PATTERN = (r"[:,\[][ \t\r\n]*[-+]?([nN][aA][nN]|[iI][nN][fF])"
                   r"|,[ \t\r\n]*[]}]"
                   r"|\\u(0000|[dD][89a-fA-F])"
                   r"|[0-9.][eE][+-]?0*[1-9][0-9]{3,}([^0-9A-Za-z_]|$)")
SUSPECT_CHARS = 1000  # a longer record may hold a huge number or deep nesting


@compiles(suspect_record, "duckdb")
def _suspect_duckdb(element: suspect_record, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return (f"(length({text}) > {SUSPECT_CHARS} OR "
            f"regexp_matches({text}, {_literal(compiler, SUSPECT_PATTERN)}))")


@compiles(suspect_record, "postgresql")
def _suspect_postgresql(element: suspect_record, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    # octet_length first: counting characters means decoding UTF-8, and a text of at most
    # that many bytes has no more characters.
    return (f"((octet_length({text}) > {SUSPECT_CHARS} AND char_length({text}) > {SUSPECT_CHARS})"
            " OR "
            f"{text} ~ {_literal(compiler, SUSPECT_PATTERN)})")


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
        # Blank: only spaces, tabs and carriage returns. trim() runs only on the lines that
        # start with one of those (trimming every line cost more than splitting them).
        " WHERE body <> '' AND (ascii(body) NOT IN (32, 9, 13)"
        " OR trim(body, chr(32) || chr(9) || chr(13)) <> ''))"
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


# --- statements that take no bind parameters ------------------------------------------------


class Unparameterized(Executable, ClauseElement):
    """``statement`` sent as literal text, with no bind parameters.

    Why: Redshift takes no parameters in COPY (nor in UNLOAD, LOCK, SET, ANALYZE, VACUUM
    or DDL); a driver would send ``$1`` and Redshift refuse it. Every value inside must be
    validated before the statement is built, as :class:`CopyCommand`'s inputs are.
    """

    inherit_cache = False

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@compiles(Unparameterized)
def _unparameterized(element: Unparameterized, compiler: SQLCompiler, **kw: Any) -> str:
    kw["literal_binds"] = True
    return compiler.process(element.statement, **kw)


class SetParameter(Executable, ClauseElement):
    """``SET name TO value`` for a session parameter, with a whole-number value."""

    inherit_cache = False
    _NAMES = frozenset({"statement_timeout", "analyze_threshold_percent"})

    def __init__(self, name: str, value: int) -> None:
        if name not in self._NAMES or not isinstance(value, int) or value < 0:
            raise ValueError(f"unsupported session setting {name!r} = {value!r}")
        self.name, self.value = name, value


@compiles(SetParameter)
def _set_parameter(element: SetParameter, compiler: SQLCompiler, **kw: Any) -> str:
    return f"SET {element.name} TO {element.value}"
