"""PostgreSQL: records streamed verbatim by a client-side COPY, parsed by PostgreSQL.

The server can't read the client's files, so Python frames the JSON values (see
:func:`sparkify_dw.sources.iter_records`) and streams each one's text unchanged into a
temporary table; PostgreSQL's JSON functions then type them with the same expressions
DuckDB uses (:mod:`sparkify_dw.staging`). Client memory stays at one record.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from sparkify_dw.backends import Backend, LockBusy, Progress, StageCounts
from sparkify_dw.constructs import TableMaintenance, copy_from_stdin
from sparkify_dw.models import LOAD_FILES
from sparkify_dw.sources import iter_records
from sparkify_dw.staging import StageRequest, checked_select, keep_errors, keep_good

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


def _verdicts(request: StageRequest) -> sa.Subquery:
    # Parse each good record once (jsonb), behind an OFFSET 0 fence so the planner doesn't
    # inline the cast into every field's expression. Framing already rejected the rest.
    doc = sa.case((RAW.c.reason.is_(None), sa.cast(RAW.c.body, JSONB)), else_=sa.null())
    records = (
        sa.select(RAW_FILES.c.source, RAW.c.line_no, RAW.c.reason, RAW.c.body,
                  doc.label("doc"))
        .join_from(RAW, RAW_FILES, RAW.c.file_id == RAW_FILES.c.file_id)
        .offset(0)
        .subquery("records")
    )
    return checked_select(request, records, records.c.doc, fence=True).subquery("checked")


class PostgreSQLBackend(Backend):
    name = "postgresql"

    def lock(self, conn: sa.Connection, wait: float) -> AbstractContextManager[None]:
        return self._advisory_lock(conn, wait)

    @contextmanager
    def _advisory_lock(self, conn: sa.Connection, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar():
            conn.commit()
            if time.monotonic() >= deadline:
                holder = conn.execute(sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                    "AND granted AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) LIMIT 1"), {"key": LOCK_KEY}).scalar()
                conn.commit()
                by = f" (backend pid {holder})" if holder else ""
                raise LockBusy(f"another load is running on this database{by}; "
                               f"waited {wait:g}s")
            time.sleep(0.2)
        conn.commit()
        try:
            yield
        finally:
            if not conn.closed and not conn.invalidated:
                conn.rollback()
                conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
                conn.commit()

    def maintenance(self, tables: Sequence[sa.Table], *, vacuum: bool = False
                    ) -> list[TableMaintenance]:
        return [TableMaintenance("ANALYZE", t) for t in tables]

    def after_staging(self, tables: Sequence[sa.Table]) -> list[TableMaintenance]:
        # Freshly filled staging tables have no statistics yet: without them the planner
        # matched every play against every song (a 10x sample took minutes, not seconds).
        return [TableMaintenance("ANALYZE", t) for t in tables]

    def record_files(self, conn: sa.Connection, rows: Iterable[dict[str, object]]) -> None:
        columns = [c.name for c in LOAD_FILES.columns]
        copy_sql = str(copy_from_stdin(LOAD_FILES, columns).compile(dialect=conn.dialect))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in columns))

    def stage(self, conn: sa.Connection, request: StageRequest, load_id: int,
              first_error_no: int, progress: Progress) -> StageCounts:
        files = list(request.files)
        RAW.create(conn)
        RAW_FILES.create(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        files_sql = str(copy_from_stdin(RAW_FILES, ["file_id", "source"]).compile(
            dialect=conn.dialect))
        with cursor.copy(files_sql) as copy:
            for i, f in enumerate(files):
                copy.write_row((i, f.uri))
        copy_sql = str(copy_from_stdin(RAW, ["file_id", "line_no", "reason", "body"]).compile(
            dialect=conn.dialect))
        with cursor.copy(copy_sql) as copy:  # one COPY for all files: one round trip
            for file_id, f in enumerate(files):
                with self.reader.open(f, request.what) as stream:
                    for line_no, reason, text in iter_records(stream):
                        copy.write_row((file_id, line_no, reason, text))
                progress(request.what, file_id + 1, len(files))
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
        for table in (RAW, RAW_FILES):
            table.drop(conn)
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
            "  -- only when some records were rejected")
        for table in (RAW, RAW_FILES):
            yield self.compile(sa.schema.DropTable(table), dialect)


BACKEND = PostgreSQLBackend
