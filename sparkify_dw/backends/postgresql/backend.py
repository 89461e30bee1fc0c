"""PostgreSQL: records streamed verbatim by a client-side COPY, parsed by PostgreSQL.

The server can't read the client's files, so the client streams each line unchanged into
a temporary table; PostgreSQL's JSON functions then type the records with the same
expressions DuckDB uses (:mod:`sparkify_dw.staging`). Only when a line is not a record on
its own does Python frame the records (:func:`sparkify_dw.sources.iter_records`). Client
memory stays at one block of lines.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, BinaryIO, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from sparkify_dw.backends.contract import Backend, Capabilities, LockBusy, Progress, StageCounts
from sparkify_dw.backends.postgresql.encoding import require_utf8
from sparkify_dw.config import one_line
from sparkify_dw.constructs import SetLocal, TableMaintenance, copy_from_stdin, suspect_record
from sparkify_dw.errors import LoadError
from sparkify_dw.models import LOAD_FILES, STAR_TABLES
from sparkify_dw.sources import BOM, SourceFile, iter_records
from sparkify_dw.staging import StageRequest, checked_select, keep_errors, keep_good

log = logging.getLogger(__name__)
_DIALECT: sa.Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]

# One advisory lock per database for loads; the key is a fixed hash of the name.
LOCK_KEY = zlib.crc32(b"sparkify_dw.load")

_raw_metadata = sa.MetaData()
RAW = sa.Table(
    "raw_records",
    _raw_metadata,
    sa.Column("file_id", sa.Integer, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
RAW_FILES = sa.Table(
    "raw_files",
    _raw_metadata,
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


_JSON_WS = b" \t\r\n"
_COPY_ESCAPES = {b"\\": b"\\\\", b"\t": b"\\t"}


def _copy_text(file_id: int, stream: BinaryIO, block_lines: int = 2000) -> Iterator[bytes]:
    """The non-blank lines of ``stream`` as COPY text rows (file, line, NULL, body)."""
    rows: list[bytes] = []
    for line_no, raw in enumerate(stream, start=1):
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        line = raw.strip(_JSON_WS)
        if not line:
            continue
        for char, escaped in _COPY_ESCAPES.items():
            if char in line:
                line = line.replace(char, escaped)
        rows.append(b"%d\t%d\t\\N\t%s\n" % (file_id, line_no, line))
        if len(rows) >= block_lines:
            yield b"".join(rows)
            rows.clear()
    if rows:
        yield b"".join(rows)


def _verdicts(request: StageRequest) -> sa.Subquery:
    # Parse each good record once (jsonb), behind an OFFSET 0 fence so the planner doesn't
    # inline the cast into every field's expression. Framing already rejected the rest.
    doc = sa.case((RAW.c.reason.is_(None), sa.cast(RAW.c.body, JSONB)), else_=sa.null())
    records = (
        sa.select(RAW_FILES.c.source, RAW.c.line_no, RAW.c.reason, RAW.c.body, doc.label("doc"))
        .join_from(RAW, RAW_FILES, RAW.c.file_id == RAW_FILES.c.file_id)
        .offset(0)
        .subquery("records")
    )
    return checked_select(request, records, records.c.doc, fence=True).subquery("checked")


def any_empty(tables: Sequence[sa.Table]) -> sa.Select[Any]:
    """Whether one of ``tables`` has no row: one index-free probe each."""
    return sa.select(sa.or_(*(~sa.exists().select_from(t) for t in tables)))


class _Suspect(Exception):
    """The fast path met a record only Python's framing judges exactly."""


def _any_suspect() -> sa.Select[Any]:
    return sa.select(sa.exists().where(RAW.c.reason.is_(None), suspect_record(RAW.c.body)))


# SQLSTATE classes that mean the input, not the server, is at fault: data exceptions (22…,
# invalid JSON text, bad encoding, numeric overflow) and program limits (54…, e.g. nesting
# beyond the stack depth). Anything else (a timeout, a lost connection, a full disk) is a
# real failure, reported as one.
_BAD_INPUT_CLASSES = ("22", "54")


def _bad_input(exc: BaseException | None) -> bool:
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state[:2] in _BAD_INPUT_CLASSES


class PostgreSQLBackend(Backend):
    name, title = "postgresql", "PostgreSQL"
    capabilities = Capabilities(records_files_in_bulk=True)  # COPY FROM STDIN

    def connect(self, engine: sa.Engine, wait: float) -> sa.Connection:
        # A database that can't hold UTF-8 text is refused before the lock and the ledger.
        conn = engine.connect()
        try:
            require_utf8(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def read_engine(self) -> sa.Engine:
        # Read-only transactions: a reader can't change the warehouse, whatever it sends.
        return self.settings.create_engine(
            poolclass=sa.pool.NullPool, execution_options={"postgresql_readonly": True}
        )

    def lock(self, conn: sa.Connection, wait: float) -> AbstractContextManager[None]:
        return self._advisory_lock(conn, wait)

    @contextmanager
    def _advisory_lock(self, conn: sa.Connection, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar():
            conn.commit()
            if time.monotonic() >= deadline:
                holder = conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                        "AND granted AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database()) LIMIT 1"
                    ),
                    {"key": LOCK_KEY},
                ).scalar()
                conn.commit()
                by = f" (backend pid {holder})" if holder else ""
                raise LockBusy(f"another load is running on this database{by}; waited {wait:g}s")
            time.sleep(0.2)
        conn.commit()
        try:
            yield
        finally:
            if not conn.closed and not conn.invalidated:
                try:
                    conn.rollback()
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
                    conn.commit()
                except sa.exc.DBAPIError as exc:
                    # A lost connection took the lock with it; the load's own error (already
                    # on its way) is the one to report.
                    log.warning("could not release the load lock: %s", one_line(exc))

    def maintenance(
        self, tables: Sequence[sa.Table], *, vacuum: bool = False
    ) -> list[TableMaintenance]:
        return [TableMaintenance("ANALYZE", t) for t in tables]

    def after_staging(self, tables: Sequence[sa.Table]) -> list[TableMaintenance]:
        # Freshly filled staging tables have no statistics yet: without them the planner
        # matched every play against every song (a 10x sample took minutes, not seconds).
        return [TableMaintenance("ANALYZE", t) for t in tables]

    @contextmanager
    def transform_session(self, conn: sa.Connection) -> Iterator[None]:
        # A star table vacuumed or analyzed while empty is known to the planner as empty,
        # so it anti-joins the new rows against it with a nested loop over a sequential
        # scan: each row rescans the table the statement is filling. Quadratic: a 10x
        # first load took 52 s instead of 7.5, 50x some ten minutes. With a star table
        # empty, every join of the transform is a bulk one: no nested loops.
        empty = conn.execute(any_empty(STAR_TABLES)).scalar()
        if getattr(conn, "dry", False):
            cast(Any, conn).note("the two SET LOCALs only when a star table is empty")
        elif not empty:
            yield
            return
        conn.execute(SetLocal("enable_nestloop", False))
        yield
        conn.execute(SetLocal("enable_nestloop", None))

    def record_files(self, conn: sa.Connection, rows: Iterable[dict[str, object]]) -> None:
        columns = [c.name for c in LOAD_FILES.columns]
        copy_sql = str(copy_from_stdin(LOAD_FILES, columns).compile(dialect=conn.dialect))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(tuple(row[c] for c in columns))
        except psycopg.Error as exc:  # the driver's own COPY: one line, as any database error
            raise LoadError(f"ledger: {one_line(exc)}") from exc

    def stage(
        self,
        conn: sa.Connection,
        request: StageRequest,
        load_id: int,
        first_error_no: int,
        progress: Progress,
    ) -> StageCounts:
        files = list(request.files)
        RAW.create(conn)
        RAW_FILES.create(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        files_sql = str(
            copy_from_stdin(RAW_FILES, ["file_id", "source"]).compile(dialect=conn.dialect)
        )
        with cursor.copy(files_sql) as copy:
            for i, f in enumerate(files):
                copy.write_row((i, f.uri))
        # Optimistic: every line a whole JSON record, streamed as is for PostgreSQL to parse.
        # If any line isn't (pretty-printed or broken JSON, bytes that aren't UTF-8),
        # PostgreSQL refuses the statement: back to the savepoint, and frame every record
        # in Python, which finds each bad one and why.
        savepoint = conn.begin_nested()
        try:
            try:
                self._copy(cursor, files, request.what, progress, careful=False)
                if conn.execute(_any_suspect()).scalar():
                    raise _Suspect
                counts = self._keep(conn, request, load_id, first_error_no)
                savepoint.commit()
            except _Suspect:
                savepoint.rollback()
                log.info(
                    "%s: a line may hold what only Python's framing judges exactly; "
                    "framing each record",
                    request.what,
                )
                counts = self._careful(
                    conn, cursor, request, files, load_id, first_error_no, progress
                )
            except (sa.exc.DBAPIError, psycopg.Error) as exc:
                orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
                if not _bad_input(orig):
                    raise
                savepoint.rollback()
                log.info(
                    "%s: a line is not a JSON record on its own (%s); framing each record",
                    request.what,
                    one_line(exc),
                )
                counts = self._careful(
                    conn, cursor, request, files, load_id, first_error_no, progress
                )
        except psycopg.Error as exc:  # raised by the driver itself (COPY): one line too
            raise sa.exc.DBAPIError(f"staging {request.table.name}", None, exc) from None
        for table in (RAW, RAW_FILES):
            table.drop(conn)
        return counts

    def _careful(
        self,
        conn: sa.Connection,
        cursor: Any,
        request: StageRequest,
        files: list[SourceFile],
        load_id: int,
        first_error_no: int,
        progress: Progress,
    ) -> StageCounts:
        self._copy(cursor, files, request.what, progress, careful=True)
        return self._keep(conn, request, load_id, first_error_no)

    def _copy(
        self, cursor: Any, files: list[SourceFile], what: str, progress: Progress, *, careful: bool
    ) -> None:
        """One COPY of every record of ``files`` into the raw table."""
        columns = ["file_id", "line_no", "reason", "body"]
        copy_sql = str(copy_from_stdin(RAW, columns).compile(dialect=_DIALECT))
        with cursor.copy(copy_sql) as copy:
            for file_id, f in enumerate(files):
                with self.reader.open(f, what) as stream:
                    if careful:
                        for line_no, reason, text in iter_records(stream):
                            copy.write_row((file_id, line_no, reason, text))
                    else:
                        for block in _copy_text(file_id, stream):
                            copy.write(block)
                progress(what, file_id + 1, len(files))

    def _keep(
        self, conn: sa.Connection, request: StageRequest, load_id: int, first_error_no: int
    ) -> StageCounts:
        # Good records straight into staging; only when some were rejected does a second
        # pass classify them again, into load_errors (no temporary copy of every row).
        read = conn.execute(sa.select(sa.func.count()).select_from(RAW)).scalar_one()
        before = conn.execute(sa.select(sa.func.count()).select_from(request.table)).scalar_one()
        verdicts = _verdicts(request)
        conn.execute(keep_good(request, verdicts))
        after = conn.execute(sa.select(sa.func.count()).select_from(request.table)).scalar_one()
        counts = StageCounts(read=int(read), rejected=int(read) - int(after - before))
        if counts.rejected:
            conn.execute(keep_errors(request, verdicts, load_id, first_error_no))
        return counts

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        files = list(request.files)
        for table in (RAW, RAW_FILES):
            yield self.compile(sa.schema.CreateTable(table), dialect)
        files_copy = copy_from_stdin(RAW_FILES, ["file_id", "source"])
        yield f"{self.compile(files_copy, dialect)}  -- {len(files)} file(s) from {request.source}"
        copy = copy_from_stdin(RAW, ["file_id", "line_no", "reason", "body"])
        yield f"{self.compile(copy, dialect)}  -- each record's text, framed by the client"
        verdicts = _verdicts(request)
        yield self.compile(keep_good(request, verdicts), dialect)
        yield self.compile(keep_errors(request, verdicts, 0, 1), dialect) + (
            "  -- only when some records were rejected"
        )
        for table in (RAW, RAW_FILES):
            yield self.compile(sa.schema.DropTable(table), dialect)


BACKEND = PostgreSQLBackend
