"""Table functions and statements that read staged input: JSON lines, framed records and
CSV files on DuckDB, ``COPY … FROM STDIN`` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Table
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sparkify_dw.constructs.values import literal_text

# --- staging readers ----------------------------------------------------------------------


class json_lines(FunctionElement[Any]):
    """DuckDB: the lines of UTF-8 files, numbered, as rows (``source``, ``line_no``, ``body``).

    Blank lines are left out and one leading byte-order mark is dropped. A file that is not
    valid UTF-8 becomes one line that is not JSON, which sends it to the careful path.
    """

    inherit_cache = False
    name = "json_lines"

    def __init__(self, files: Sequence[str]) -> None:
        super().__init__()
        self.files = list(files)


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


NOT_UTF8 = "<not UTF-8>"
MAX_LINE_BYTES = 2**31 - 1  # DuckDB's read_csv: the longest line it may meet


class tsv_records(FunctionElement[Any]):
    """DuckDB: records framed in Python (``file_no``, ``line_no``, ``reason``, ``body``),
    tab-separated; the file's number stands for its path, which may hold a tab."""

    inherit_cache = False
    name = "tsv_records"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


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
    columns = ", ".join(
        f"{literal_text(compiler, c.name)}: {literal_text(compiler, types.process(c.type))}"
        for c in element.table.columns
    )
    return (
        f"read_csv({literal_text(compiler, element.path)}, header = false, "
        f"auto_detect = false, columns = {{{columns}}})"
    )


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
