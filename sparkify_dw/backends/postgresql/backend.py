"""PostgreSQL: records streamed verbatim by a client-side COPY, parsed by PostgreSQL.

The server can't read the client's files, so the client streams each line unchanged into
a temporary table; PostgreSQL's JSON functions then type the records with the same
expressions DuckDB uses (:mod:`sparkify_dw.staging`). Only when a line is not a record on
its own does Python frame the records (:func:`sparkify_dw.framing.iter_records`). Client
memory stays at one block of lines.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from sparkify_dw.backends.contract import Backend, Capabilities, LockBusy, Phase
from sparkify_dw.backends.plan import (
    BulkCopy,
    Fallback,
    Query,
    Run,
    Sql,
    StageCounts,
    Step,
    When,
    sent,
)
from sparkify_dw.backends.postgresql.encoding import require_utf8
from sparkify_dw.constructs import SetLocal, TableMaintenance, copy_from_stdin, suspect_record
from sparkify_dw.dryrun import Sent
from sparkify_dw.errors import LoadError, one_line
from sparkify_dw.framing import BOM, iter_records
from sparkify_dw.models import STAR_TABLES
from sparkify_dw.sources import Reader, SourceFile
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


# --- staging as a plan ---------------------------------------------------------------------


def _driver_cursor(conn: sa.Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


@dataclass(frozen=True)
class _CopyRows(BulkCopy):
    """Rows through the driver's COPY FROM STDIN, not statement by statement."""

    table: sa.Table
    rows: Iterable[dict[str, object]]
    count: int

    def run(self, run: Run) -> None:
        columns = [c.name for c in self.table.columns]
        copy_sql = str(copy_from_stdin(self.table, columns).compile(dialect=run.conn.dialect))
        try:
            with _driver_cursor(run.conn).copy(copy_sql) as copy:
                for row in self.rows:
                    copy.write_row(tuple(row[c] for c in columns))
        except psycopg.Error as exc:  # the driver's own COPY: one line, as any database error
            raise LoadError(f"ledger: {one_line(exc)}") from exc

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        columns = [c.name for c in self.table.columns]
        shown = sent(copy_from_stdin(self.table, columns), dialect)
        yield Sent(f"{shown.text}  -- {self.count} row(s), streamed by the client", ())


@dataclass(frozen=True)
class _CopyFiles(BulkCopy):
    """Each file's number and exact name, for the records' rows to point at."""

    files: tuple[SourceFile, ...]
    source: object

    def run(self, run: Run) -> None:
        columns = ["file_id", "source"]
        copy_sql = str(copy_from_stdin(RAW_FILES, columns).compile(dialect=run.conn.dialect))
        try:
            with _driver_cursor(run.conn).copy(copy_sql) as copy:
                for i, f in enumerate(self.files):
                    copy.write_row((i, f.uri))
        except psycopg.Error as exc:  # the driver's own COPY: one line, as any database error
            raise sa.exc.DBAPIError(f"staging {RAW_FILES.name}", None, exc) from None

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        shown = sent(copy_from_stdin(RAW_FILES, ["file_id", "source"]), dialect)
        yield Sent(f"{shown.text}  -- {len(self.files)} file(s) from {self.source}", ())


@dataclass(frozen=True)
class _CopyRecords(BulkCopy):
    """Every record of the files into the raw table, in one COPY: each line as it is
    (``careful=False``), or framed by Python, which finds each bad record and why."""

    files: tuple[SourceFile, ...]
    what: str
    reader: Reader
    careful: bool

    def run(self, run: Run) -> None:
        columns = ["file_id", "line_no", "reason", "body"]
        copy_sql = str(copy_from_stdin(RAW, columns).compile(dialect=_DIALECT))
        try:
            with _driver_cursor(run.conn).copy(copy_sql) as copy:
                for file_id, f in enumerate(self.files):
                    with self.reader.open(f, self.what) as stream:
                        if self.careful:
                            for line_no, reason, text in iter_records(stream):
                                copy.write_row((file_id, line_no, reason, text))
                        else:
                            for block in _copy_text(file_id, stream):
                                copy.write(block)
                    run.progress(self.what, file_id + 1, len(self.files))
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError(f"staging {self.what}", None, exc) from None

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        shown = sent(copy_from_stdin(RAW, ["file_id", "line_no", "reason", "body"]), dialect)
        how = "framed by the client" if self.careful else "each line as it is"
        yield Sent(f"{shown.text}  -- each record's text, {how}", ())


@dataclass(frozen=True)
class _RefuseSuspects(Step):
    """The fast path stops at a record only Python's framing judges exactly."""

    def run(self, run: Run) -> None:
        if run.conn.execute(_any_suspect()).scalar():
            raise _Suspect

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield sent(_any_suspect(), dialect)


@dataclass(frozen=True)
class _Keep(Step):
    """Good records straight into staging; only when some were rejected does a second
    pass classify them again, into load_errors (no temporary copy of every row)."""

    request: StageRequest

    def _counts(self) -> tuple[sa.Select[Any], sa.Select[Any]]:
        raw = sa.select(sa.func.count()).select_from(RAW)
        return raw, sa.select(sa.func.count()).select_from(self.request.table)

    def run(self, run: Run) -> None:
        conn, (raw, staged) = run.conn, self._counts()
        read = conn.execute(raw).scalar_one()
        before = conn.execute(staged).scalar_one()
        verdicts = _verdicts(self.request)
        conn.execute(keep_good(self.request, verdicts))
        after = conn.execute(staged).scalar_one()
        counts = StageCounts(read=int(read), rejected=int(read) - int(after - before))
        if counts.rejected:
            first = run.first_error_no + run.counts.rejected
            conn.execute(keep_errors(self.request, verdicts, run.load_id, first))
        run.counts += counts

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        raw, staged = self._counts()
        verdicts = _verdicts(self.request)
        yield from (sent(s, dialect) for s in (raw, staged))
        yield sent(keep_good(self.request, verdicts), dialect)
        yield sent(staged, dialect)
        yield Sent("only when some records were rejected:", None)
        first = run.first_error_no + run.counts.rejected
        yield sent(keep_errors(self.request, verdicts, run.load_id, first), dialect)


def _falls_back(exc: BaseException) -> bool:
    """The fast path met a record it can't judge (a suspect one), or PostgreSQL refused a
    line as input (not JSON, bad encoding, too deep): the careful path decides."""
    return isinstance(exc, _Suspect) or _bad_input(getattr(exc, "orig", None))


def _holder(conn: sa.Connection) -> str:
    """`` (backend pid N)``: the session holding the load lock, or "" when it is gone."""
    holder = conn.execute(
        sa.text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) LIMIT 1"
        ),
        {"key": LOCK_KEY},
    ).scalar()
    conn.commit()
    return f" (backend pid {holder})" if holder else ""


class PostgreSQLBackend(Backend):
    name, title = "postgresql", "PostgreSQL"
    capabilities = Capabilities()

    def connect(self, engine: sa.Engine, *, reading: bool = False) -> sa.Connection:
        # A database that can't hold UTF-8 text is refused before the lock and the ledger.
        conn = engine.connect()
        try:
            require_utf8(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def read_engine(self, *, analysis: bool = False, read_only: bool = True) -> sa.Engine:
        # Read-only transactions: a reader can't change the warehouse, whatever it sends.
        # A reader never waits for a load here: it reads the last committed one.
        return self.settings.create_engine(
            poolclass=sa.pool.NullPool, execution_options={"postgresql_readonly": read_only}
        )

    @contextmanager
    def lock(self, conn: sa.Connection) -> Iterator[None]:
        """PostgreSQL's advisory lock, tried every 0.2 s for up to ``wait`` seconds; a
        wait is said once, naming the session that holds the lock."""
        from sparkify_dw.output import waiting

        wait = self.wait
        deadline = time.monotonic() + wait
        said = False
        while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar():
            conn.commit()
            by = _holder(conn) if not said or time.monotonic() >= deadline else ""
            if time.monotonic() >= deadline:
                raise LockBusy(f"another load is running on this database{by}; waited {wait:g}s")
            if not said:  # once: what it waits for, and for how long at most
                said = True
                waiting(f"waiting up to {wait:g}s for another load on this database{by} (--wait)")
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

    def load_plan(
        self, phase: Phase, tables: Sequence[sa.Table] = (), *, vacuum: bool = False
    ) -> list[Step]:
        if phase in ("staged", "committed"):
            # Freshly filled tables have no statistics yet: without them the planner
            # matched every play against every song (a 10x sample took minutes, not
            # seconds). After the commit, the star tables get theirs too.
            return [Sql(TableMaintenance("ANALYZE", t)) for t in tables]
        # A star table vacuumed or analyzed while empty is known to the planner as empty,
        # so it anti-joins the new rows against it with a nested loop over a sequential
        # scan: each row rescans the table the statement is filling. Quadratic: a 10x
        # first load took 52 s instead of 7.5, 50x some ten minutes. With a star table
        # empty, every join of the transform is a bulk one: no nested loops.
        when = "when a star table is empty"
        if phase == "transform":
            return [
                Query(any_empty(STAR_TABLES), ("star_table_empty",)),
                When("star_table_empty", when, [Sql(SetLocal("enable_nestloop", False))]),
            ]
        if phase == "transformed":
            return [When("star_table_empty", when, [Sql(SetLocal("enable_nestloop", None))])]
        return []

    def bulk_insert(
        self, table: sa.Table, rows: Iterable[dict[str, object]], count: int
    ) -> list[Step]:
        return [_CopyRows(table, rows, count)]

    def stage_plan(self, request: StageRequest) -> list[Step]:
        """Optimistic: every line a whole JSON record, streamed as is for PostgreSQL to
        parse. If a line isn't (pretty-printed or broken JSON, bytes that aren't UTF-8),
        PostgreSQL refuses the statement, or a line holds what only Python's framing
        judges exactly: back to the savepoint, and Python frames every record, finding
        each bad one and why (the careful path)."""
        files = tuple(request.files)

        def records(careful: bool) -> _CopyRecords:
            return _CopyRecords(files, request.what, self.reader, careful)

        return [
            Sql(sa.schema.CreateTable(RAW)),
            Sql(sa.schema.CreateTable(RAW_FILES)),
            _CopyFiles(files, request.source),
            Fallback(
                "a line is not a JSON record on its own, or holds what only Python's "
                "framing judges exactly",
                fast=[records(False), _RefuseSuspects(), _Keep(request)],
                careful=[records(True), _Keep(request)],
                falls_back=_falls_back,
            ),
            Sql(sa.schema.DropTable(RAW)),
            Sql(sa.schema.DropTable(RAW_FILES)),
        ]


BACKEND = PostgreSQLBackend
