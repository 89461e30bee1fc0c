"""Table functions and statements that read staged input: JSON lines, framed records and
CSV files on DuckDB, ``COPY … FROM STDIN`` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Table
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sparkify_dw.constructs.dispatch import engine_first, function_constructs

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


class csv_rows(FunctionElement[Any]):
    """DuckDB: the rows of a headerless CSV file written by the client, typed as ``table``."""

    inherit_cache = False
    name = "csv_rows"

    def __init__(self, path: str, table: Table) -> None:
        super().__init__()
        self.path, self.table = path, table


class copy_from_stdin(Executable, ClauseElement):
    """PostgreSQL's client-side ``COPY table (columns) FROM STDIN``."""

    inherit_cache = False

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)


@compiles(copy_from_stdin)
def _copy_from_stdin_default(element: copy_from_stdin, compiler: SQLCompiler, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    if found is None:
        raise exc.UnsupportedCompilationError(compiler, type(element))
    return found


function_constructs(json_lines, tsv_records, csv_rows)  # each engine's visitors: its package
