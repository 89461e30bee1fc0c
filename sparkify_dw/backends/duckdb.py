"""DuckDB, the embedded default: the engine reads, splits and parses the files itself.

Fast path: DuckDB reads a batch of files, numbers their lines and parses each line as a
record, all in one statement. A file with a line that is not JSON on its own (pretty-
printed objects, a broken line, bytes that are not UTF-8) is framed again by Python
(:func:`sparkify_dw.sources.iter_records`), which finds where each record starts and why
a bad one is bad; DuckDB then reads those records from a temporary file.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import sqlalchemy as sa

from sparkify_dw.backends import Backend, Capabilities, LockBusy, Progress, StageCounts
from sparkify_dw.config import ConfigError, memory_bytes
from sparkify_dw.constructs import csv_rows, json_lines, suspect_record, tsv_records
from sparkify_dw.models import LOAD_FILES
from sparkify_dw.sources import SourceFile, iter_records
from sparkify_dw.staging import (
    StageRequest,
    checked_table,
    fill_checked,
    keep_errors,
    keep_good,
    tally,
)

# Files per statement, by size: a quarter of the memory limit, between these two. A bigger
# batch gives DuckDB more row groups to classify in parallel (at 50x, one batch of 170 MB
# took 3.7 s where three of 64 MB took 6.3 s, at the same peak memory).
MIN_BATCH_BYTES = 64 * 1024 * 1024
MAX_BATCH_BYTES = 256 * 1024 * 1024
ENGINE_FILE_BYTES = 64 * 1024 * 1024  # a bigger file is streamed by Python's framing
SMALL_FILE_BYTES = 32 * 1024  # below this, Python frames faster than DuckDB opens a file
THREAD_BYTES = 256 * 1024 * 1024  # of the memory limit, per DuckDB thread
_UNSPLITTABLE = "malformed JSON"  # the fast path's verdict on a line that is not JSON alone


# DuckDB expands these in any path it is given, even in a list of paths: e[1].json would
# read e1.json. Such files are read by Python, by their exact path.
_PATTERN_CHARS = frozenset("*?[")


def _by_engine(f: SourceFile) -> bool:
    """Whether DuckDB reads ``f`` itself: a big local file whose path is not a pattern, and
    not a huge one. DuckDB holds a whole file, and its lines, in memory while it splits
    them: a bigger file (perhaps one line of 200 MB) is streamed by Python's framing
    instead, so memory stays within the limit."""
    return (
        f.path is not None
        and f.path == f.uri  # a name that is not UTF-8 can't be given to DuckDB: Python reads it
        and SMALL_FILE_BYTES <= f.size <= ENGINE_FILE_BYTES
        and not _PATTERN_CHARS.intersection(f.path)
    )


def _batches(files: list[SourceFile], most: int) -> Iterator[list[SourceFile]]:
    """Batches of about ``most`` bytes, in the files' byte order, so rejected records,
    numbered batch after batch, are numbered by file name as on every other backend. A
    batch mixes files DuckDB reads and files Python frames (:func:`_split`): a batch cut at
    every change between the two made the real shape's 50x (day files of 7 kB among ones of
    100 kB) a hundred small statements, each paying the classification's fixed cost."""
    batch: list[SourceFile] = []
    size = 0
    for f in sorted(files, key=lambda f: f.uri.encode("utf-8", "surrogateescape")):
        if batch and size >= most:
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


def _split(files: list[SourceFile]) -> tuple[list[SourceFile], list[SourceFile]]:
    """(files DuckDB reads, files Python frames)."""
    return [f for f in files if _by_engine(f)], [f for f in files if not _by_engine(f)]


def batch_bytes(memory_limit: int) -> int:
    """How many bytes of files one statement reads under ``memory_limit`` bytes."""
    return max(MIN_BATCH_BYTES, min(MAX_BATCH_BYTES, memory_limit // 4))


# A batch's lines, split by DuckDB, kept apart from their classification: splitting and
# classifying in one statement took half as long again as the two.
LINES = sa.Table(
    "batch_lines",
    sa.MetaData(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    prefixes=["TEMPORARY"],
)


def _read_lines(files: list[SourceFile]) -> sa.Insert:
    lines = (
        json_lines([f.uri for f in files]).table_valued("source", "line_no", "body").alias("lines")
    )
    names = [c.name for c in LINES.columns]
    return sa.insert(LINES).from_select(names, sa.select(*(lines.c[n] for n in names)))


def _fast(request: StageRequest, checked: sa.Table) -> sa.Insert:
    lines = LINES
    # A suspect line (what DuckDB reads leniently, e.g. NaN or a trailing comma) sends its
    # file to Python's framing, as a line that isn't JSON on its own does.
    reason = sa.case(
        (suspect_record(lines.c.body), sa.literal(_UNSPLITTABLE, sa.Text)), else_=sa.null()
    )
    records = sa.select(
        lines.c.source, lines.c.line_no, reason.label("reason"), lines.c.body
    ).subquery("records")
    return fill_checked(request, checked, records, records.c.body)


# The files of a batch framed by Python, by number: the records' file is a number in the
# tab-separated records, and its exact path (which may hold tabs or newlines) is here.
FRAMED_FILES = sa.Table(
    "framed_files",
    sa.MetaData(),
    sa.Column("file_no", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
)


def _framed(request: StageRequest, checked: sa.Table, tsv: str, files_csv: str) -> sa.Insert:
    reader = tsv_records(tsv).table_valued("file_no", "line_no", "reason", "body").alias("framed")
    files = csv_rows(files_csv, FRAMED_FILES).table_valued("file_no", "source").alias("files")
    records = (
        sa.select(files.c.source, reader.c.line_no, reader.c.reason, reader.c.body)
        .join_from(reader, files, reader.c.file_no == files.c.file_no)
        .subquery("records")
    )
    return fill_checked(request, checked, records, records.c.body)


_FLAT = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def _write_framed(file_no: int, stream: BinaryIO, sink: TextIO) -> None:
    """Frame ``stream`` into tab-separated (file number, line, reason, one-line text) rows."""
    with stream:
        for line_no, reason, text in iter_records(stream):
            # Tabs and newlines in a JSON text are whitespace between tokens (a string
            # can't hold them raw), so flattening them keeps the value.
            sink.write(f"{file_no}\t{line_no}\t{reason or ''}\t{text.translate(_FLAT)}\n")


def _write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Rows as CSV for DuckDB's ``read_csv``: a value may hold tabs and newlines (quoted),
    and rows end in a bare newline, which DuckDB's reader requires of quoted newlines."""
    with path.open("w", encoding="utf-8", newline="") as sink:
        csv.writer(sink, lineterminator="\n").writerows(rows)


class DuckDBBackend(Backend):
    name, title = "duckdb", "DuckDB"
    # load_files rows go in through a temporary CSV file, read in one statement.
    capabilities = Capabilities(records_files_in_bulk=True)

    def connect(self, engine: sa.Engine, wait: float) -> sa.Connection:
        conn = self._open(engine, wait)
        try:
            for statement in self.session_statements():
                conn.exec_driver_sql(statement)
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def session_statements(self) -> list[str]:
        """DuckDB takes 80% of the machine's memory unless told: the load is bounded by
        ``Settings.memory_limit``. DuckDB's buffer pool gets three quarters of it (beyond
        that it spills to disk or fails cleanly); the rest is for the interpreter and what
        DuckDB allocates outside the pool (at 100x: the process peaked about 160 MiB above
        the pool's limit). One thread per 256 MiB, at most one per CPU."""
        limit = memory_bytes(self.settings.memory_limit)
        cpus = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        threads = max(1, min(cpus, limit // THREAD_BYTES))
        pool = limit * 3 // 4
        # Validated digits only, so literal text is safe here.
        return [f"SET memory_limit = '{pool // 1024}KiB'", f"SET threads = {threads}"]

    def _open(self, engine: sa.Engine, wait: float) -> sa.Connection:
        # DuckDB lets one process write a database file: opening it is taking the lock.
        deadline = time.monotonic() + wait
        while True:
            try:
                return engine.connect()
            except sa.exc.DBAPIError as exc:
                if "lock" not in str(exc.orig).lower():
                    raise
                if time.monotonic() >= deadline:
                    held = re.search(r"PID (\d+)", str(exc.orig))
                    by = f" (process {held.group(1)})" if held else ""
                    raise LockBusy(
                        f"another process{by} has {engine.url.database} open, "
                        f"probably another load; waited {wait:g}s"
                    ) from None
                time.sleep(0.2)

    def require_warehouse(self) -> None:
        path = self.settings.url.database
        if path and path != ":memory:" and not Path(path).exists():
            raise ConfigError(f"no warehouse at {path}: create it with `sparkify-dw upgrade`")

    def read_engine(self) -> sa.Engine:
        # Read-only: readers never take the writer's lock, and a missing file is an error,
        # not a new empty warehouse.
        self.require_warehouse()
        return self.settings.create_engine(
            poolclass=sa.pool.NullPool, connect_args={"read_only": True}
        )

    def record_files(self, conn: sa.Connection, rows: Iterable[dict[str, object]]) -> None:
        # Through a CSV file: compiling a VALUES list of 385k song files would take longer
        # than loading them.
        columns = [c.name for c in LOAD_FILES.columns]
        with tempfile.TemporaryDirectory(prefix="sparkify-dw-") as tmp:
            path = Path(tmp) / "files.csv"
            _write_csv(path, ([row[c] for c in columns] for row in rows))
            reader = csv_rows(str(path), LOAD_FILES).table_valued(*columns).alias("files")
            conn.execute(
                sa.insert(LOAD_FILES).from_select(
                    columns, sa.select(*(reader.c[c] for c in columns))
                )
            )

    def stage(
        self,
        conn: sa.Connection,
        request: StageRequest,
        load_id: int,
        first_error_no: int,
        progress: Progress,
    ) -> StageCounts:
        files = list(request.files)
        # Big local files go to DuckDB's reader; small ones (DuckDB opens a file in about
        # a millisecond: 385k song files would take minutes), S3 objects and paths DuckDB
        # would take for patterns are framed by Python into one temporary file per batch.
        checked = checked_table(request)
        counts = StageCounts()
        done = 0
        for batch in _batches(files, batch_bytes(memory_bytes(self.settings.memory_limit))):
            by_engine, framed = _split(batch)
            checked.create(conn)
            if by_engine:
                for f in by_engine:  # a clear line for a file gone since the listing
                    self.reader.verify(f, request.what)
                LINES.create(conn)
                conn.execute(_read_lines(by_engine))
                for f in by_engine:  # and DuckDB read what was listed, not a newer version
                    self.reader.verify(f, request.what)
                conn.execute(_fast(request, checked))
                LINES.drop(conn)
                self._frame_again(conn, request, checked, by_engine)
            self._frame(conn, request, checked, framed)
            counts += self._keep(conn, request, checked, load_id, first_error_no + counts.rejected)
            checked.drop(conn)
            done += len(batch)
            progress(request.what, done, len(files))
        return counts

    def _frame_again(
        self, conn: sa.Connection, request: StageRequest, checked: sa.Table, batch: list[SourceFile]
    ) -> None:
        unsplittable = set(
            conn.execute(
                sa.select(checked.c.source).where(checked.c.reason == _UNSPLITTABLE).distinct()
            )
            .scalars()
            .all()
        )
        redo = [f for f in batch if f.uri in unsplittable]
        for f in redo:
            conn.execute(sa.delete(checked).where(checked.c.source == f.uri))
        self._frame(conn, request, checked, redo)

    def _frame(
        self, conn: sa.Connection, request: StageRequest, checked: sa.Table, files: list[SourceFile]
    ) -> None:
        if not files:
            return
        with tempfile.TemporaryDirectory(prefix="sparkify-dw-") as tmp:
            tsv, names = Path(tmp) / "records.tsv", Path(tmp) / "files.csv"
            _write_csv(names, enumerate(f.uri for f in files))
            with tsv.open("w", encoding="utf-8") as sink:
                for file_no, f in enumerate(files):
                    _write_framed(file_no, self.reader.open(f, request.what), sink)
            conn.execute(_framed(request, checked, str(tsv), str(names)))

    # A batch's classified records: the good ones into staging, the rest into load_errors.

    def _keep(
        self,
        conn: sa.Connection,
        request: StageRequest,
        checked: sa.Table,
        load_id: int,
        first_error_no: int,
    ) -> StageCounts:
        read, rejected = conn.execute(tally(checked)).one()
        conn.execute(keep_good(request, checked))
        if rejected:
            conn.execute(keep_errors(request, checked, load_id, first_error_no))
        return StageCounts(int(read), int(rejected))

    def _keep_statements(
        self, request: StageRequest, checked: sa.Table, dialect: sa.Dialect
    ) -> Iterator[str]:
        yield self.compile(keep_good(request, checked), dialect)
        yield self.compile(keep_errors(request, checked, 0, 1), dialect)
        yield self.compile(sa.schema.DropTable(checked), dialect)

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        checked = checked_table(request)
        most = batch_bytes(memory_bytes(self.settings.memory_limit))
        for batch in _batches(list(request.files), most):
            by_engine, framed = _split(batch)
            yield self.compile(sa.schema.CreateTable(checked), dialect)
            if by_engine:
                yield self.compile(sa.schema.CreateTable(LINES), dialect)
                yield self.compile(_read_lines(by_engine), dialect)
                yield self.compile(_fast(request, checked), dialect)
                yield self.compile(sa.schema.DropTable(LINES), dialect)
            if framed:
                yield (
                    self.compile(_framed(request, checked, "<records.tsv>", "<files.csv>"), dialect)
                    + f"  -- {len(framed)} small or remote file(s), framed by the client"
                )
            yield from self._keep_statements(request, checked, dialect)


BACKEND = DuckDBBackend
