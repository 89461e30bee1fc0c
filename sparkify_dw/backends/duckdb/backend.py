"""DuckDB, the embedded default: the engine reads, splits and parses the files itself.

Fast path: DuckDB reads a batch of files, numbers their lines and parses each line as a
record, all in one statement. A file with a line that is not JSON on its own (pretty-
printed objects, a broken line, bytes that are not UTF-8) is framed again by Python
(:func:`sparkify_dw.framing.iter_records`), which finds where each record starts and why
a bad one is bad; DuckDB then reads those records from a temporary file.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

import sqlalchemy as sa

from sparkify_dw.backends.contract import Backend, Capabilities, LockBusy
from sparkify_dw.backends.duckdb.options import DuckDBOptions
from sparkify_dw.backends.plan import BulkCopy, Call, Run, Sql, StageCounts, Step, When, sent
from sparkify_dw.constructs import csv_rows, json_lines, suspect_record, tsv_records
from sparkify_dw.dryrun import Sent
from sparkify_dw.errors import ConfigError
from sparkify_dw.framing import iter_records
from sparkify_dw.sources import Reader, SourceFile
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
OPEN_RETRY = 0.2  # seconds between attempts to open a file a load holds
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


# --- staging as a plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame(Step):
    """Records framed by Python (:func:`_write_framed`) into a temporary file per batch,
    read by DuckDB in one statement."""

    request: StageRequest
    checked: sa.Table
    files: tuple[SourceFile, ...]
    reader: Reader

    def run(self, run: Run) -> None:
        if not self.files:
            return
        with tempfile.TemporaryDirectory(prefix="sparkify-dw-") as tmp:
            tsv, names = Path(tmp) / "records.tsv", Path(tmp) / "files.csv"
            _write_csv(names, enumerate(f.uri for f in self.files))
            with tsv.open("w", encoding="utf-8") as sink:
                for file_no, f in enumerate(self.files):
                    _write_framed(file_no, self.reader.open(f, self.request.what), sink)
            run.conn.execute(_framed(self.request, self.checked, str(tsv), str(names)))

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        shown = sent(_framed(self.request, self.checked, "<records.tsv>", "<files.csv>"), dialect)
        note = f"  -- {len(self.files)} small or remote file(s), framed by the client"
        yield Sent(shown.text + note, shown.parameters)


@dataclass(frozen=True)
class _CsvRows(BulkCopy):
    """Rows through a temporary CSV file that DuckDB reads in one statement: compiling a
    VALUES list of 385k song files would take longer than loading them."""

    table: sa.Table
    rows: Iterable[dict[str, object]]
    count: int

    def _insert(self, path: str) -> sa.Insert:
        columns = [c.name for c in self.table.columns]
        reader = csv_rows(path, self.table).table_valued(*columns).alias("files")
        return sa.insert(self.table).from_select(
            columns, sa.select(*(reader.c[c] for c in columns))
        )

    def run(self, run: Run) -> None:
        columns = [c.name for c in self.table.columns]
        with tempfile.TemporaryDirectory(prefix="sparkify-dw-") as tmp:
            path = Path(tmp) / "files.csv"
            _write_csv(path, ([row[c] for c in columns] for row in self.rows))
            run.conn.execute(self._insert(str(path)))

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        shown = sent(self._insert("<files.csv>"), dialect)
        yield Sent(f"{shown.text}  -- {self.count} row(s), written by the client", shown.parameters)


def _unsplittable(checked: sa.Table) -> sa.Select[Any]:
    return sa.select(checked.c.source).where(checked.c.reason == _UNSPLITTABLE).distinct()


@dataclass(frozen=True)
class _FrameAgain(Step):
    """The careful path of a batch DuckDB read: a file with a line that is not JSON on its
    own (or that DuckDB reads leniently) is framed again by Python, whole."""

    request: StageRequest
    checked: sa.Table
    batch: tuple[SourceFile, ...]
    reader: Reader

    def run(self, run: Run) -> None:
        found = set(run.conn.execute(_unsplittable(self.checked)).scalars().all())
        redo = tuple(f for f in self.batch if f.uri in found)
        for f in redo:
            run.conn.execute(sa.delete(self.checked).where(self.checked.c.source == f.uri))
        _Frame(self.request, self.checked, redo, self.reader).run(run)

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield sent(_unsplittable(self.checked), dialect)
        yield Sent("each file it names is framed again by the client:", None)
        yield sent(sa.delete(self.checked).where(self.checked.c.source == "<file>"), dialect)
        shown = sent(_framed(self.request, self.checked, "<records.tsv>", "<files.csv>"), dialect)
        yield Sent(f"{shown.text}  -- those file(s), framed by the client", shown.parameters)


@dataclass(frozen=True)
class _Keep(Step):
    """A batch's classified records: the good ones into staging, the rest into
    load_errors, numbered after the load's earlier rejections."""

    request: StageRequest
    checked: sa.Table

    def run(self, run: Run) -> None:
        conn = run.conn
        read, rejected = conn.execute(tally(self.checked)).one()
        conn.execute(keep_good(self.request, self.checked))
        if rejected:
            first = run.first_error_no + run.counts.rejected
            conn.execute(keep_errors(self.request, self.checked, run.load_id, first))
        run.counts += StageCounts(int(read), int(rejected))

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield sent(tally(self.checked), dialect)
        yield sent(keep_good(self.request, self.checked), dialect)
        yield Sent("only when some records were rejected:", None)
        first = run.first_error_no + run.counts.rejected
        yield sent(keep_errors(self.request, self.checked, run.load_id, first), dialect)


T = TypeVar("T")


def _while_locked(open_file: Callable[[], T], database: str | None, wait: float, held: str) -> T:
    """``open_file()``, tried again every 0.2 s while another process holds DuckDB's file
    (one process writes a file: opening it is taking the lock), for up to ``wait`` seconds.
    Says once what it waits for, then gives up with :class:`LockBusy` in one line: ``held``
    says what the other process probably is."""
    from sparkify_dw.output import waiting

    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            return open_file()
        except Exception as exc:
            message = str(getattr(exc, "orig", exc))
            if "lock" not in message.lower():
                raise
            pid = re.search(r"PID (\d+)", message)
            by = f" (process {pid.group(1)})" if pid else ""
            if time.monotonic() >= deadline:
                raise LockBusy(
                    f"another process{by} has {database} {held}; waited {wait:g}s"
                ) from None
            if not said:  # once: what it waits for, and for how long at most
                said = True
                waiting(
                    f"waiting up to {wait:g}s for another process{by} that has "
                    f"{database} open, probably a load (--wait)"
                )
        time.sleep(OPEN_RETRY)


def _require_file(path: str | None) -> None:
    """Refuse, in one line, a warehouse file that isn't there (opening it would make an
    empty one)."""
    if path and path != ":memory:" and not Path(path).exists():
        raise ConfigError(f"no warehouse at {path}: create it with `sparkify-dw upgrade`")


def _wait_for_writer(engine: sa.Engine, wait: float) -> None:
    """Each of ``engine``'s connections waits for a load holding the file, as
    :func:`_while_locked` says (a notebook user wants to know a load is running, not
    DuckDB's lock error)."""

    @sa.event.listens_for(engine, "do_connect")
    def retry(dialect: sa.Dialect, record: Any, cargs: Any, cparams: Any) -> Any:
        return _while_locked(
            lambda: dialect.connect(*cargs, **cparams),
            engine.url.database,
            wait,
            "open for writing, probably a load",
        )


class DuckDBBackend(Backend):
    name, title = "duckdb", "DuckDB"
    capabilities = Capabilities()

    @property
    def options(self) -> DuckDBOptions:
        """The memory limit and threads this load may use."""
        return self.settings.options_as(DuckDBOptions)

    def connect(self, engine: sa.Engine, *, reading: bool = False) -> sa.Connection:
        # DuckDB lets one process write a database file: opening it is taking the lock.
        # Opening a missing file would make an empty one: a warehouse is made by upgrade.
        _require_file(engine.url.database)
        conn = _while_locked(
            engine.connect, engine.url.database, self.wait, "open, probably another load"
        )
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
        the ``memory_limit`` option. DuckDB's buffer pool gets three quarters of it (beyond
        that it spills to disk or fails cleanly); the rest is for the interpreter and what
        DuckDB allocates outside the pool (at 100x: the process peaked about 160 MiB above
        the pool's limit). Unless the ``threads`` option says, one thread per 256 MiB, at
        most one per CPU."""
        options = self.options
        limit = options.memory_limit
        cpus = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        threads = options.threads or max(1, min(cpus, limit // THREAD_BYTES))
        pool = limit * 3 // 4
        # Validated digits only, so literal text is safe here.
        return [f"SET memory_limit = '{pool // 1024}KiB'", f"SET threads = {threads}"]

    def read_engine(self, *, analysis: bool = False, read_only: bool = True) -> sa.Engine:
        # Read-only: readers never take the writer's lock. A missing file is an error, not
        # a new empty warehouse. An analysis query while a load holds the file waits for
        # it (up to ``wait`` seconds), as a load waits for another, instead of failing
        # with DuckDB's lock error.
        _require_file(self.settings.url.database)
        engine = self.settings.create_engine(
            poolclass=sa.pool.NullPool, connect_args={"read_only": read_only}
        )
        if analysis:
            _wait_for_writer(engine, self.wait)
        return engine

    def bulk_insert(
        self, table: sa.Table, rows: Iterable[dict[str, object]], count: int
    ) -> list[Step]:
        return [_CsvRows(table, rows, count)]

    def stage_plan(self, request: StageRequest) -> list[Step]:
        """Big local files go to DuckDB's reader; small ones (DuckDB opens a file in about
        a millisecond: 385k song files would take minutes), S3 objects and paths DuckDB
        would take for patterns are framed by Python into one temporary file per batch.
        A batch DuckDB read whose file has a line that is not JSON on its own is framed
        again by Python, whole (the careful path)."""
        files = list(request.files)
        checked = checked_table(request)
        what = request.what
        steps: list[Step] = []
        done = 0
        for batch in _batches(files, batch_bytes(self.options.memory_limit)):
            by_engine, framed = _split(batch)
            steps.append(Sql(sa.schema.CreateTable(checked)))
            if by_engine:
                # A clear line for a file gone since the listing, and DuckDB read what
                # was listed, not a newer version.
                verify = Call(partial(_verify, self.reader, tuple(by_engine), what))
                steps += [
                    verify,
                    Sql(sa.schema.CreateTable(LINES)),
                    Sql(_read_lines(by_engine)),
                    verify,
                    Sql(_fast(request, checked)),
                    Sql(sa.schema.DropTable(LINES)),
                    When(
                        sa.select(sa.exists(_unsplittable(checked))),
                        "when a file has a line that is not JSON on its own",
                        [_FrameAgain(request, checked, tuple(by_engine), self.reader)],
                    ),
                ]
            if framed:
                steps.append(_Frame(request, checked, tuple(framed), self.reader))
            done += len(batch)
            steps += [
                _Keep(request, checked),
                Sql(sa.schema.DropTable(checked)),
                Call(partial(_progress, what, done, len(files))),
            ]
        return steps


def _verify(reader: Reader, files: tuple[SourceFile, ...], what: str, run: Run) -> None:
    for f in files:
        reader.verify(f, what)


def _progress(what: str, done: int, total: int, run: Run) -> None:
    run.progress(what, done, total)


BACKEND = DuckDBBackend
