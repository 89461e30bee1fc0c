"""The loader: stage raw JSON, build the star schema, check it.

``python -m sparkify_dw.load`` from a shell, :func:`run` from Python. Every statement
is a SQLAlchemy Core construct compiled for the target database; ``--dry-run`` prints
them instead of running them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO, cast

import sqlalchemy as sa

from sparkify_dw import backends, checks, cli, schema, transform
from sparkify_dw.backends.requests import Selection as Selection  # re-exported: load.Selection
from sparkify_dw.backends.requests import staging_requests
from sparkify_dw.config import ConfigError, Settings, fit_bytes, one_line, resolve
from sparkify_dw.dryrun import DryConnection, Sent
from sparkify_dw.engines import dialect_for
from sparkify_dw.models import (
    LOAD_ERRORS,
    LOAD_FILES,
    LOADS,
    STAGING_EVENTS,
    STAGING_SONGS,
    STAR_TABLES,
)
from sparkify_dw.sources import Reader, SourceError
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

STEPS = ("stage", "transform", "check")


class LoadError(RuntimeError):
    """A load that cannot go on, worded as one line for the user."""


LOCK_WAIT = 600.0  # seconds a load waits for another one to finish before giving up
ERRORS_KEPT_ON_FAILURE = 1000  # rejected records recorded for a load that was refused


class TooManyRejected(LoadError):
    """More records were rejected than ``max_errors`` allows."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass
class LoadResult:
    """What a load did: records read and rejected, rows per table, seconds per step."""

    load_id: int | None = None
    read: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    unplayable: int = 0  # NextSong events that lack a column songplays requires
    warnings: list[str] = field(default_factory=list)  # e.g. maintenance after the commit
    # What the stage step read: the ledger lists its files once the transform built the
    # star tables from them, in the same transaction.
    staged_requests: list[StageRequest] = field(default_factory=list, repr=False)
    step: str = ""  # what the load was doing, for a one-line error
    interrupted: int | None = None  # the signal that arrived as the load committed

    def summary(self) -> str:
        lines = [f"  load      #{self.load_id}"] if self.load_id is not None else []
        for table, rows in self.staged.items():
            extra = ""
            if self.rejected.get(table):
                extra = f" ({self.read[table]:,} read, {self.rejected[table]:,} rejected)"
            lines.append(f"  staged    {table:<15} {rows:>10,} rows{extra}")
        for table, rows in self.inserted.items():
            extra = f", {self.updated[table]:,} updated" if table in self.updated else ""
            lines.append(f"  inserted  {table:<15} {rows:>10,} rows{extra}")
        for table, rows in self.counts.items():
            lines.append(f"  total     {table:<15} {rows:>10,} rows")
        if self.unplayable:
            lines.append(f"  skipped   {self.unplayable:,} NextSong event(s) without a user, "
                         "session, item or level (kept in staging_events)")
        rejected = sum(self.rejected.values())
        if rejected:
            lines.append(f"  rejected  {rejected:,} record(s): list them with "
                         f"`python -m sparkify_dw.load --errors {self.load_id}`")
        lines += [f"  warning   {w}" for w in self.warnings]
        timing = ", ".join(f"{step} {secs:.2f}s" for step, secs in self.seconds.items())
        return "\n".join([*lines, f"  time      {timing}"])


def requests(settings: Settings, reader: Reader | None = None,
             selection: Selection = Selection(),
             loaded: set[tuple[str, str]] | None = None) -> list[StageRequest]:
    """What the stage step loads (see :func:`sparkify_dw.backends.requests.staging_requests`);
    a load asks its backend, which also refuses sources it can't stage from."""
    return staging_requests(settings, reader, selection, loaded)


def loaded_files(conn: sa.Connection) -> set[tuple[str, str]]:
    """The (uri, version) of every file whose records reached the star tables: staged by a
    successful load that also ran the transform. (Older ledgers listed the files of
    stage-only loads too; those don't count.)"""
    f, ld = LOAD_FILES.c, LOADS.c
    rows = conn.execute(sa.select(f.uri, f.version).join_from(
        LOAD_FILES, LOADS, f.load_id == ld.load_id).where(
        ld.status == "succeeded", ld.steps.contains("transform")))
    return {(uri, version or "") for uri, version in rows}


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _rowcount(conn: sa.Connection, statement: sa.Executable, table: str) -> int:
    """Rows ``statement`` wrote, as the driver reports them; a driver that can't say
    (rowcount -1) is an error, not a silent zero."""
    rows = conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    if rows < 0 and not isinstance(conn, DryConnection):
        raise LoadError(f"transform: the driver did not report how many rows {table} got")
    return max(rows, 0)


def _stage(conn: sa.Connection, backend: backends.Backend, settings: Settings,
           selection: Selection, result: LoadResult, progress: backends.Progress,
           known_loaded: set[tuple[str, str]] | None = None) -> None:
    assert result.load_id is not None
    loaded = loaded_files(conn) if selection.incremental else None
    if isinstance(conn, DryConnection) and known_loaded is not None:
        loaded = known_loaded  # a dry run reads the ledger beforehand, if it can
    reqs = backend.requests(selection, loaded)
    for req in reqs:
        conn.execute(sa.delete(req.table))
    total = backends.StageCounts()
    for req in reqs:
        result.step = f"stage {req.table.name}"
        if isinstance(conn, DryConnection) and not backend.capabilities.plans_staging:
            conn.sent.extend(Sent(text, ()) for text in
                             backend.stage_statements(req, conn.dialect))
            counts = backends.StageCounts()
        else:
            counts = backend.stage(conn, req, result.load_id, total.rejected + 1, progress)
        total += counts
        name = req.table.name
        result.read[name], result.rejected[name] = counts.read, counts.rejected
        result.staged[name] = counts.staged
        log.info("staged %s: %d read, %d rejected", name, counts.read, counts.rejected)
    if total.rejected > backend.max_errors:
        errors = _first_errors(conn, result.load_id)
        first = errors[0] if errors else {}
        where = f"{first.get('source')}:{first.get('line_no')}" if first else "?"
        raise TooManyRejected(
            f"{total.rejected:,} of {total.read:,} records rejected, more than --max-errors "
            f"{backend.max_errors}; first at {where}: {first.get('reason', '?')}; "
            f"nothing was loaded (see them with `python -m sparkify_dw.load --errors`)",
            errors)
    result.staged_requests = list(reqs)
    for statement in backend.after_staging([r.table for r in reqs]):
        conn.execute(statement)


def _first_errors(conn: sa.Connection, load_id: int,
                  limit: int = ERRORS_KEPT_ON_FAILURE) -> list[dict[str, Any]]:
    e = LOAD_ERRORS.c
    rows = conn.execute(sa.select(e.table_name, e.source, e.line_no, e.reason, e.raw_text)
                        .where(e.load_id == load_id).order_by(e.error_no).limit(limit))
    return [dict(r) for r in rows.mappings()]


def _record_files(conn: sa.Connection, backend: backends.Backend, load_id: int,
                  reqs: Sequence[StageRequest]) -> None:
    """The ledger's list of files this load staged (what ``--incremental`` skips later)."""

    def rows() -> Iterator[dict[str, object]]:
        for req in reqs:
            for f in req.files:
                yield {"load_id": load_id, "uri": f.uri, "table_name": req.table.name,
                       "size": f.size, "version": f.version}

    if isinstance(conn, DryConnection) and backend.capabilities.records_files_in_bulk:
        # The backend bulk-loads these rows outside SQLAlchemy: shown, not compiled.
        files = sum(len(r.files) for r in reqs)
        conn.note(f"{files} row(s) into load_files through a bulk load")
        return
    backend.record_files(conn, rows())


def _transform(conn: sa.Connection, result: LoadResult) -> None:
    result.unplayable = int(conn.execute(transform.unplayable()).scalar_one())
    if result.unplayable:
        log.warning("%d NextSong event(s) without a user, session, item or level: not "
                    "songplays (they stay in staging_events)", result.unplayable)
    # The driver's rowcount (kept by preserve_rowcount): no table is scanned to count.
    for step in transform.steps(result.load_id):
        log.info("transform: %s %s", step.action, step.table)
        rows = _rowcount(conn, step.statement, step.table)
        (result.updated if step.action == "update" else result.inserted)[step.table] = rows


def _check(conn: sa.Connection, result: LoadResult) -> None:
    for table in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES):
        result.counts[table.name] = _count(conn, table)
    try:
        checks.verify(conn)
    except checks.CheckFailed as exc:
        raise LoadError(f"check: {exc}") from None


def dry_run(settings: Settings, steps: Sequence[str] = STEPS, max_errors: int = 0,
            selection: Selection = Selection(), loaded: set[tuple[str, str]] | None = None,
            vacuum: bool = False, wait: float = LOCK_WAIT) -> list[str]:
    """Every statement the load would send, in order, as the driver would receive it
    (text and parameters); sends nothing. It is the load's own code, run on a
    :class:`~sparkify_dw.dryrun.DryConnection`.

    For ``--incremental``, ``loaded`` is the ledger's list of staged files (the CLI
    reads it from the warehouse).
    """
    _check_steps(steps)
    backend = backends.for_settings(settings, max_errors, wait)
    dry = DryConnection(dialect_for(settings.url))
    conn = cast(sa.Connection, dry)
    result = LoadResult()
    # backend.lock() is left out: it may wait on a real server (an advisory lock).
    _load(conn, backend, settings, steps, selection, result, _no_progress, _now(),
          known_loaded=loaded)
    changed = [t for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES)
               if "transform" in steps or t in (STAGING_EVENTS, STAGING_SONGS)]
    _maintain(conn, backend, result, vacuum,
              changed if "stage" in steps or "transform" in steps else [])
    return [settings.mask(s.render()) for s in dry.sent]


def _no_progress(what: str, done: int, total: int) -> None:
    log.debug("%s: %d/%d files", what, done, total)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _next_load_id(conn: sa.Connection) -> int:
    # Taken under the load lock, so two loads never get the same id.
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(LOADS.c.load_id), 0) + 1))
               .scalar_one())


def _sources(settings: Settings) -> str:
    return fit_bytes(f"log_data={settings.log_data} song_data={settings.song_data}", 2048)


def run(
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    *,
    url: str | None = None,
    log_data: str | os.PathLike[str] | None = None,
    song_data: str | os.PathLike[str] | None = None,
    log_jsonpath: str | os.PathLike[str] | None = None,
    incremental: bool = False,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    steps: Sequence[str] = STEPS,
    progress: backends.Progress | None = None,
    max_errors: int = 0,
    wait: float = LOCK_WAIT,
    selection: Selection | None = None,
    vacuum: bool = False,
) -> LoadResult:
    """Run the load's ``steps`` in order, as ``sparkify-dw load`` does, e.g. from a notebook::

        load.run(log_data="data/log_data", incremental=True, max_errors=10)
        load.run(since="2018-11-03", until="2018-11-09")

    Settings not given come from the configuration (``--url`` etc.: flags, then
    ``SPARKIFY_DW_*`` variables, then ``dwh.cfg``, then the embedded default); ``settings``
    (from :func:`sparkify_dw.config.resolve`) and ``engine`` may be passed instead.

    The whole load is one transaction: killed or failed at any point, it leaves staging,
    the star tables and the ledger as they were. Up to ``max_errors`` bad records are
    rejected into ``load_errors`` and the rest load; more, and nothing loads. One load
    runs at a time per warehouse; another waits up to ``wait`` seconds for it.
    """
    if settings is None or any(v is not None for v in (url, log_data, song_data, log_jsonpath)):
        if settings is not None:
            raise LoadError("pass settings, or url/log_data/song_data/log_jsonpath, not both")
        settings = resolve(url=url, log_data=_text(log_data), song_data=_text(song_data),
                           log_jsonpath=_text(log_jsonpath))
    if selection is None:
        selection = Selection(incremental, _day_of(since, "since"), _day_of(until, "until"))
    elif incremental or since is not None or until is not None:
        raise LoadError("pass selection, or incremental/since/until, not both")
    if selection.since and selection.until and selection.since > selection.until:
        raise LoadError(f"since {selection.since} is after until {selection.until}")
    _check_steps(steps)
    if max_errors < 0:
        raise LoadError("--max-errors must be 0 or more")
    if engine is None:
        engine = settings.create_engine()
    elif engine.url.get_backend_name() != settings.backend:
        settings = _with_url(settings, engine.url)
    backend = backends.for_settings(settings, max_errors, wait)
    progress = progress or _no_progress
    result = LoadResult()
    with _interrupts() as pending, backend.connect(engine, wait) as conn:
        schema.require_head(conn)
        conn.commit()
        with backend.lock(conn, wait):
            started_at = _now()
            try:
                transaction = conn.begin()
                try:
                    _load(conn, backend, settings, steps, selection, result, progress,
                          started_at)
                except BaseException:
                    with _deferred():
                        if transaction.is_active:
                            transaction.rollback()
                    raise
                # A signal now must not split "committed" from "reported": it waits.
                with _deferred():
                    _commit(transaction)
            except BaseException as caught:
                exc = caught
                if pending.raised and not isinstance(exc, Interrupted):
                    # The engine turned our signal into its own error ("Query interrupted").
                    exc = Interrupted(pending.raised[-1])
                    exc.__cause__ = caught
                with _deferred():
                    rejected = _record_failure(conn, backend, settings, steps, result,
                                               started_at, exc)
                if rejected and isinstance(exc, sa.exc.DBAPIError):
                    # The engine's bulk load gave up above --max-errors: say which records,
                    # as the engines that classify records in SQL do.
                    first = rejected[0]
                    raise TooManyRejected(
                        f"COPY rejected more than --max-errors {backend.max_errors} records; "
                        f"first at {first.get('source')}:{first.get('line_no')}: "
                        f"{first.get('reason')}; nothing was loaded (see them with "
                        f"`python -m sparkify_dw.load --errors`)", rejected) from exc
                if isinstance(exc, sa.exc.DBAPIError):
                    raise LoadError(_failed_at(result, exc)) from exc
                if exc is not caught:
                    raise exc from caught
                raise
            if pending:  # arrived while committing: the load stands, the rest is skipped
                return _interrupted_after_commit(result, pending[0])
            try:
                _maintain(conn, backend, result, vacuum, _changed(result))
            except Interrupted as exc:
                return _interrupted_after_commit(result, exc.signum)
    return result


def _text(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


def _day_of(value: dt.date | str | None, what: str) -> dt.date | None:
    """A day from a date or its ISO text ("2018-11-03"); one line when it is neither."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise LoadError(f"{what}: not a date (YYYY-MM-DD): {value!r}") from None


def _check_steps(steps: Sequence[str]) -> None:
    if not steps:
        raise LoadError(f"no steps to run: name at least one of {', '.join(STEPS)}")
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise LoadError(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")


def _load(conn: sa.Connection, backend: backends.Backend, settings: Settings,
          steps: Sequence[str], selection: Selection, result: LoadResult,
          progress: backends.Progress, started_at: dt.datetime,
          known_loaded: set[tuple[str, str]] | None = None) -> None:
    """The load's transaction, from its lock to its ledger row: what ``--dry-run`` shows."""
    backend.begin_load(conn)
    result.load_id = _next_load_id(conn)
    _record_load(conn, settings, steps, result, started_at, "running", None)
    _run_steps(conn, backend, settings, steps, selection, result, progress, known_loaded)
    _finish_load(conn, result, "succeeded", None)


def _maintain(conn: sa.Connection, backend: backends.Backend, result: LoadResult,
              vacuum: bool, changed: Sequence[sa.Table]) -> None:
    """Statistics (and VACUUM) after the commit. The load has committed by now, so a
    failure here is a warning: it never turns a loaded warehouse into a failed load."""
    maintenance = backend.maintenance(changed, vacuum=vacuum)
    if not maintenance:
        return
    started = time.perf_counter()
    # Outside a transaction block: VACUUM refuses to run in one.
    auto = conn.execution_options(isolation_level="AUTOCOMMIT")
    try:
        for statement in maintenance:
            auto.execute(statement)
    except sa.exc.SQLAlchemyError as exc:
        message = (f"the load committed, but maintenance after it failed (run it again "
                   f"later): {one_line(exc)}")
        log.warning("%s", message)
        result.warnings.append(message)
    result.seconds["analyze"] = time.perf_counter() - started


def _interrupted_after_commit(result: LoadResult, signum: int) -> LoadResult:
    """A signal after the commit: the load stands (the ledger says succeeded) and what was
    left (ANALYZE) is skipped; the command still exits 128 + the signal."""
    result.interrupted = signum
    log.warning("%s arrived after load #%s committed: the load succeeded; maintenance "
                "skipped", signal.Signals(signum).name, result.load_id)
    return result


def _commit(transaction: sa.RootTransaction) -> None:
    transaction.commit()


def _failed_at(result: LoadResult, exc: sa.exc.DBAPIError) -> str:
    """A database error as one line naming the step it stopped (timeout, lost connection,
    disk full …)."""
    return f"{result.step or 'load'}: {one_line(exc)}"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the load stops, rolls back and says so in the ledger."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_deferring: list[bool] = []  # non-empty while a signal must wait (commit, ledger writes)


@contextmanager
def _deferred() -> Iterator[None]:
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()


class _Signals(list[int]):
    """Signals kept for after a deferred block; ``raised``: those already raised."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[int] = []


@contextmanager
def _interrupts() -> Iterator[_Signals]:
    """SIGINT and SIGTERM raise :class:`Interrupted` during a load, except inside
    :func:`_deferred` blocks, where they are kept (the yielded list) for after. Only the
    main thread can take signals; elsewhere nothing changes."""
    pending = _Signals()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def handler(signum: int, frame: object) -> None:
        if _deferring:
            pending.append(signum)
            return
        pending.raised.append(signum)  # an engine may wrap the exception in its own
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield pending
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _changed(result: LoadResult) -> list[sa.Table]:
    """Tables the load wrote to, for ANALYZE."""
    names = {n for n, rows in result.staged.items() if rows}
    names |= {n for n, rows in result.inserted.items() if rows}
    names |= {n for n, rows in result.updated.items() if rows}
    return [t for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES) if t.name in names]


def _run_steps(conn: sa.Connection, backend: backends.Backend, settings: Settings,
               steps: Sequence[str], selection: Selection, result: LoadResult,
               progress: backends.Progress,
               known_loaded: set[tuple[str, str]] | None = None) -> None:
    for step in STEPS:
        if step not in steps:
            continue
        started = time.perf_counter()
        log.info("%s: start", step)
        result.step = step
        if step == "stage":
            _stage(conn, backend, settings, selection, result, progress, known_loaded)
        elif step == "transform":
            _transform(conn, result)
        else:
            _check(conn, result)
        result.seconds[step] = time.perf_counter() - started
    result.step = "ledger"
    _record_staged_files(conn, backend, steps, result)
    result.step = "commit"
    log.info("commit")


def _record_staged_files(conn: sa.Connection, backend: backends.Backend,
                         steps: Sequence[str], result: LoadResult) -> None:
    """List the staged files in the ledger only when the transform ran: a stage-only load
    leaves them new for ``--incremental``, whose star tables they never reached."""
    if "transform" in steps and result.staged_requests:
        assert result.load_id is not None
        _record_files(conn, backend, result.load_id, result.staged_requests)


def _record_load(conn: sa.Connection, settings: Settings, steps: Sequence[str],
                 result: LoadResult, started_at: dt.datetime, status: str,
                 message: str | None) -> None:
    conn.execute(sa.insert(LOADS).values(
        load_id=result.load_id, started_at=started_at, status=status,
        backend=settings.backend, steps=",".join(s for s in STEPS if s in steps),
        sources=_sources(settings)))
    _finish_load(conn, result, status, message)


def _finish_load(conn: sa.Connection, result: LoadResult, status: str,
                 message: str | None) -> None:
    conn.execute(sa.update(LOADS).where(LOADS.c.load_id == result.load_id).values(
        finished_at=_now() if status != "running" else None, status=status,
        rows_read=sum(result.read.values()) if result.read else None,
        rows_staged=sum(result.staged.values()) if result.staged else None,
        rows_rejected=sum(result.rejected.values()) if result.read else None,
        rows_inserted=result.inserted.get("songplays"),
        message=fit_bytes(message, 1024) if message else None,
    ))


def _record_failure(conn: sa.Connection, backend: backends.Backend, settings: Settings,
                    steps: Sequence[str], result: LoadResult, started_at: dt.datetime,
                    exc: BaseException) -> list[dict[str, Any]]:
    """After the rollback: say in the ledger that the load failed or was interrupted, and
    what it rejected (returned: the first rejected records, if any)."""
    interrupted = isinstance(exc, Interrupted)
    if not (isinstance(exc, Exception) or interrupted) or conn.invalidated or conn.closed:
        return []
    if isinstance(exc, backends.LockBusy):  # it never started: another load holds the lock
        return []
    errors: list[dict[str, Any]] = []
    if interrupted:
        status, message = "interrupted", f"interrupted by {exc} during {result.step or 'load'}"
    elif isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc, TooManyRejected):
        status, message = "failed", _failed_at(result, exc)
    else:
        status, message = "failed", one_line(exc)
    try:
        if conn.in_transaction():  # e.g. a connection the driver left mid-transaction
            conn.rollback()
        engine_log = backend.capabilities.rejects_reported_by == "engine"
        errors = exc.errors if isinstance(exc, TooManyRejected) else (
            backend.failed_copy_errors(conn, ERRORS_KEPT_ON_FAILURE)
            if engine_log and not interrupted else [])
        if conn.in_transaction():  # reading the engine's own error records began one
            conn.commit()
        with conn.begin():
            backend.begin_load(conn)
            result.load_id = _next_load_id(conn)
            _record_load(conn, settings, steps, result, started_at, status,
                         settings.mask(message))
            if errors:
                conn.execute(sa.insert(LOAD_ERRORS).values([
                    {"load_id": result.load_id, "error_no": n, **{
                        k: e.get(k) for k in ("source", "line_no", "reason", "raw_text")},
                     "table_name": e.get("table_name") or "", }
                    for n, e in enumerate(errors, start=1)]))
    except sa.exc.SQLAlchemyError as ledger_exc:
        log.warning("could not record the %s load in the ledger: %s", status,
                    settings.mask(one_line(ledger_exc)))
    return errors


def _with_url(settings: Settings, url: sa.URL) -> Settings:
    from dataclasses import replace

    return replace(settings, url=url)


class _TerminalProgress:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        self.stream.write(f"\r  {what:<10} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{total} files")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sparkify_dw.load",
        description="Load Sparkify's raw JSON into the warehouse: stage, transform, check.",
        epilog="Settings come from flags, then SPARKIFY_DW_* environment variables, then "
               "dwh.cfg, then the embedded default (./sparkify.duckdb and the bundled sample).",
    )
    p.add_argument("--url", help="database URL (default: ./sparkify.duckdb)")
    p.add_argument("--config", help="dwh.cfg to read (default: ./dwh.cfg if present)")
    p.add_argument("--log-data", help="event logs: file, directory, glob or s3:// URI")
    p.add_argument("--song-data", help="song files: file, directory, glob or s3:// URI")
    p.add_argument("--log-jsonpath", help="JSONPaths file mapping event fields to columns")
    p.add_argument("--steps", default=",".join(STEPS),
                   help="comma-separated subset of stage,transform,check (run in that order)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every statement compiled for the target database; run nothing")
    p.add_argument("--max-errors", type=int, default=0, metavar="N",
                   help="records that may be rejected (kept in load_errors) while the rest "
                        "loads; above N nothing loads (default 0, like Redshift's MAXERROR)")
    p.add_argument("--wait", type=float, default=LOCK_WAIT, metavar="SECONDS",
                   help=f"how long to wait for another load to finish (default {LOCK_WAIT:g})")
    p.add_argument("--incremental", action="store_true",
                   help="stage only log files no successful load has staged (see --history)")
    p.add_argument("--since", type=_day, metavar="YYYY-MM-DD",
                   help="only log files of this day or later (backfills)")
    p.add_argument("--until", type=_day, metavar="YYYY-MM-DD",
                   help="only log files of this day or earlier")
    p.add_argument("--vacuum", action="store_true",
                   help="on Redshift, VACUUM the changed tables after the load")
    p.add_argument("--history", action="store_true", help="print the load ledger and exit")
    p.add_argument("--errors", nargs="?", const="last", metavar="LOAD_ID",
                   help="print the records a load rejected (default: the latest load) and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    cli.setup_logging(err, verbose=args.verbose, quiet=args.quiet)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    settings: Settings | None = None
    say: Callable[[str], None] = (lambda _: None) if args.quiet else (
        lambda text: print(text, file=out))
    try:
        settings = resolve(url=args.url, config=args.config, log_data=args.log_data,
                           song_data=args.song_data, log_jsonpath=args.log_jsonpath)
        cli.mask_logs(settings)
        selection = Selection(args.incremental, args.since, args.until)
        if args.since and args.until and args.since > args.until:
            raise LoadError(f"--since {args.since} is after --until {args.until}")
        if args.history or args.errors:
            with settings.create_engine().connect() as conn:
                backends.for_settings(settings).read_session(conn, args.wait)
                schema.require_head(conn)
                text = history(conn) if args.history else errors_report(conn, args.errors)
            print(text, file=out)
            return 0
        if args.dry_run:
            loaded = None
            if selection.incremental:  # the ledger is in the warehouse: read it
                with settings.create_engine().connect() as conn:
                    loaded = loaded_files(conn)
            for statement in dry_run(settings, steps, args.max_errors, selection, loaded,
                                     args.vacuum, args.wait):
                print(statement + "\n", file=out)
            return 0
        say(f"loading into {settings.display_url}")
        result = run(settings=settings, steps=steps, progress=_TerminalProgress(err),
                     max_errors=args.max_errors, wait=args.wait, selection=selection,
                     vacuum=args.vacuum)
        say(result.summary())
        if result.interrupted is not None:
            name = signal.Signals(result.interrupted).name
            print(f"interrupted: {name} arrived as load #{result.load_id} committed; the "
                  "load succeeded", file=err)  # not a failure: the ledger says succeeded
            return 128 + result.interrupted
        return 0
    except Interrupted as exc:
        print(f"interrupted: {exc}; the load was rolled back, nothing changed (the ledger "
              "says so)", file=err)
        return exc.exit_code
    except (ConfigError, SourceError, LoadError, schema.SchemaError, sa.exc.SQLAlchemyError,
            backends.LockBusy, OSError, ValueError, RecursionError) as exc:
        cli.report_error(exc, settings, err, verbose=args.verbose)
        return 1


def _table_text(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def history(conn: sa.Connection, limit: int = 50) -> str:
    """The load ledger, newest first."""
    c = LOADS.c
    cols = [c.load_id, c.started_at, c.finished_at, c.status, c.backend, c.rows_read,
            c.rows_staged, c.rows_rejected, c.rows_inserted, c.message]
    rows = conn.execute(sa.select(*cols).order_by(c.load_id.desc()).limit(limit)).all()
    if not rows:
        return "no loads yet"
    return _table_text(["load", "started", "finished", "status", "backend", "read", "staged",
                        "rejected", "songplays", "message"], rows)


def errors_report(conn: sa.Connection, load_id: str | int = "last") -> str:
    """The records a load rejected, in file order."""
    if load_id == "last":
        newest = conn.execute(sa.select(sa.func.max(LOADS.c.load_id))).scalar()
        if newest is None:
            return "no loads yet"
        load_id = int(newest)
    try:
        number = int(load_id)
    except ValueError:
        raise LoadError(f"--errors: {load_id!r} is not a load id") from None
    e = LOAD_ERRORS.c
    rows = conn.execute(sa.select(e.table_name, e.source, e.line_no, e.reason, e.raw_text)
                        .where(e.load_id == number).order_by(e.error_no)).all()
    if not rows:
        return f"load #{number} rejected no records"
    shown = [(t, f"{src}:{line}", reason, (raw or "")[:80]) for t, src, line, reason, raw in rows]
    return f"load #{number} rejected {len(rows)} record(s)\n" + _table_text(
        ["table", "where", "reason", "text"], shown)




if __name__ == "__main__":
    sys.exit(main())
