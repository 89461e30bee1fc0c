"""The loader: stage raw JSON, build the star schema, check it.

``python -m sparkify_dw.load`` from a shell, :func:`run` from Python. Every statement
is a SQLAlchemy Core construct compiled for the target database; ``--dry-run`` prints
them instead of running them.
"""

from __future__ import annotations

if __name__ == "__main__":  # `python -m sparkify_dw.load`: the command, without the loader's
    import sys  # imports, so --help is fast (the command imports this module when it loads)

    from sparkify_dw.commands import process_main

    sys.exit(process_main(["load", *sys.argv[1:]]))

import datetime as dt
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from sparkify_dw import backends, checks, ledger, schema, transform
from sparkify_dw.backends.requests import Selection as Selection  # re-exported: load.Selection
from sparkify_dw.config import ConfigError, Settings, one_line, resolve
from sparkify_dw.dryrun import DryConnection, Sent
from sparkify_dw.engines import dialect_for
from sparkify_dw.errors import LoadError as LoadError
from sparkify_dw.errors import TooManyRejected as TooManyRejected
from sparkify_dw.interrupts import Interrupted as Interrupted  # re-exported: load.Interrupted
from sparkify_dw.interrupts import Signals, as_interrupted, deferred, interrupts, stoppable
from sparkify_dw.load_result import LoadResult as LoadResult  # re-exported: load.LoadResult
from sparkify_dw.load_result import StepHook, no_step
from sparkify_dw.models import (
    LOAD_ERRORS,
    STAGING_EVENTS,
    STAGING_SONGS,
    STAR_TABLES,
)
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

history = ledger.history_text  # the text of --history
errors_report = ledger.errors_text  # the text of --errors

STEPS = ("stage", "transform", "check")


LOCK_WAIT = 600.0  # seconds a load waits for another one to finish before giving up
MAX_WAIT = 86400.0  # a day: a wait must end (and a server's statement timeout holds it)
ERRORS_KEPT_ON_FAILURE = 1000  # rejected records recorded for a load that was refused


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _rowcount(conn: sa.Connection, statement: sa.Executable, table: str) -> int:
    """Rows ``statement`` wrote, as the driver reports them; a driver that can't say
    (rowcount -1) is an error, not a silent zero."""
    rows = conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    if rows < 0 and not isinstance(conn, DryConnection):
        raise LoadError(f"transform: the driver did not report how many rows {table} got")
    return max(rows, 0)


def _stage(
    conn: sa.Connection,
    backend: backends.Backend,
    planned: list[StageRequest],
    selection: Selection,
    result: LoadResult,
    progress: backends.Progress,
    known_loaded: set[tuple[str, str]] | None = None,
    on_step: StepHook = no_step,
) -> None:
    assert result.load_id is not None
    reqs = planned
    if selection.incremental:
        loaded = ledger.loaded_files(conn)
        if isinstance(conn, DryConnection) and known_loaded is not None:
            loaded = known_loaded  # a dry run reads the ledger beforehand, if it can
        reqs = backends.unloaded(planned, loaded)
    for req in reqs:
        log.info("%s: %d file(s) to stage", req.what, len(req.files))
    for req in reqs:
        conn.execute(sa.delete(req.table))
    total = backends.StageCounts()
    for req in reqs:
        result.step = f"stage {req.table.name}"
        on_step(result.step, result, req)
        if isinstance(conn, DryConnection) and not backend.capabilities.plans_staging:
            conn.sent.extend(Sent(text, ()) for text in backend.stage_statements(req, conn.dialect))
            counts = backends.StageCounts()
        else:
            counts = backend.stage(conn, req, result.load_id, total.rejected + 1, progress)
        total += counts
        name = req.table.name
        result.read[name], result.rejected[name] = counts.read, counts.rejected
        result.staged[name] = counts.staged
        log.info("staged %s: %d read, %d rejected", name, counts.read, counts.rejected)
    if total.rejected > backend.max_errors:
        errors = ledger.first_errors(conn, result.load_id, ERRORS_KEPT_ON_FAILURE)
        first = errors[0] if errors else {}
        where = f"{first.get('source')}:{first.get('line_no')}" if first else "?"
        raise TooManyRejected(
            f"{total.rejected:,} of {total.read:,} records rejected, more than --max-errors "
            f"{backend.max_errors}; first at {where}: {first.get('reason', '?')}; "
            f"nothing was loaded (see them with `python -m sparkify_dw.load --errors`)",
            errors,
        )
    result.staged_requests = list(reqs)
    for statement in backend.after_staging([r.table for r in reqs]):
        conn.execute(statement)


def _record_files(
    conn: sa.Connection, backend: backends.Backend, load_id: int, reqs: Sequence[StageRequest]
) -> None:
    """The ledger's list of files this load staged (what ``--incremental`` skips later)."""

    def rows() -> Iterator[dict[str, object]]:
        for req in reqs:
            for f in req.files:
                yield {
                    "load_id": load_id,
                    "uri": f.uri,
                    "table_name": req.table.name,
                    "size": f.size,
                    "version": f.version,
                }

    if isinstance(conn, DryConnection) and backend.capabilities.records_files_in_bulk:
        # The backend bulk-loads these rows outside SQLAlchemy: shown, not compiled.
        files = sum(len(r.files) for r in reqs)
        conn.note(f"{files} row(s) into load_files through a bulk load")
        return
    backend.record_files(conn, rows())


def _transform(conn: sa.Connection, result: LoadResult, on_step: StepHook = no_step) -> None:
    result.unplayable = int(conn.execute(transform.unplayable()).scalar_one())
    if result.unplayable:
        log.warning(
            "%d NextSong event(s) without a user, session, item or level: not "
            "songplays (they stay in staging_events)",
            result.unplayable,
        )
    # The driver's rowcount (kept by preserve_rowcount): no table is scanned to count.
    for step in transform.steps(result.load_id):
        log.info("transform: %s %s", step.action, step.table)
        on_step(f"transform: {step.action} {step.table}", result, None)
        rows = _rowcount(conn, step.statement, step.table)
        (result.updated if step.action == "update" else result.inserted)[step.table] = rows


def _check(conn: sa.Connection, result: LoadResult) -> None:
    for table in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES):
        result.counts[table.name] = _count(conn, table)
    try:
        checks.verify(conn)
    except checks.CheckFailed as exc:
        raise LoadError(f"check: {exc}") from None


def dry_run(
    settings: Settings,
    steps: Sequence[str] = STEPS,
    max_errors: int = 0,
    selection: Selection = Selection(),
    loaded: set[tuple[str, str]] | None = None,
    vacuum: bool = False,
    wait: float = LOCK_WAIT,
) -> list[str]:
    """Every statement the load would send, in order, as the driver would receive it
    (text and parameters); sends nothing. It is the load's own code, run on a
    :class:`~sparkify_dw.dryrun.DryConnection`.

    For ``--incremental``, ``loaded`` is the ledger's list of staged files (the CLI
    reads it from the warehouse).
    """
    _check_steps(steps)
    _check_wait(wait)
    backend = backends.for_settings(settings, max_errors, wait)
    dry = DryConnection(dialect_for(settings.url))
    conn = cast(sa.Connection, dry)
    result = LoadResult()
    planned = plan(backend, steps, selection)
    # backend.lock() is left out: it may wait on a real server (an advisory lock).
    _load(
        conn,
        backend,
        settings,
        steps,
        selection,
        result,
        _no_progress,
        ledger.now(),
        planned,
        known_loaded=loaded,
    )
    changed = [
        t
        for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES)
        if "transform" in steps or t in (STAGING_EVENTS, STAGING_SONGS)
    ]
    _maintain(
        conn, backend, result, vacuum, changed if "stage" in steps or "transform" in steps else []
    )
    return [s.render(settings.mask) for s in dry.sent]  # secrets in values, never SQL


def plan(
    backend: backends.Backend, steps: Sequence[str], selection: Selection
) -> list[StageRequest]:
    """The files the stage step will take, listed and checked before the load takes its
    lock (``--incremental`` leaves out, under the lock, what the ledger says is loaded): a
    missing source, a bad JSONPaths file or overlapping sources stop the load here, and
    nothing is written. Only a load that stages lists anything."""
    if "stage" not in steps:
        return []
    return backend.requests(selection)


def _check_wait(wait: float) -> None:
    """A wait must end: nan, inf and more than a day are refused, from any caller."""
    if not (isinstance(wait, int | float) and 0 <= wait <= MAX_WAIT):  # nan too
        raise ConfigError(f"wait: {wait!r} is not a number of seconds from 0 to {MAX_WAIT:.0f}")


def _no_progress(what: str, done: int, total: int) -> None:
    log.debug("%s: %d/%d files", what, done, total)


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
    on_step: StepHook | None = None,
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
    ``progress`` hears of files staged, ``on_step`` of each step as it begins.
    """
    if settings is None or any(v is not None for v in (url, log_data, song_data, log_jsonpath)):
        if settings is not None:
            raise LoadError("pass settings, or url/log_data/song_data/log_jsonpath, not both")
        settings = resolve(
            url=url,
            log_data=_text(log_data),
            song_data=_text(song_data),
            log_jsonpath=_text(log_jsonpath),
        )
    if selection is None:
        selection = Selection(incremental, _day_of(since, "since"), _day_of(until, "until"))
    elif incremental or since is not None or until is not None:
        raise LoadError("pass selection, or incremental/since/until, not both")
    if selection.since and selection.until and selection.since > selection.until:
        raise LoadError(f"since {selection.since} is after until {selection.until}")
    _check_steps(steps)
    if max_errors < 0:
        raise LoadError("--max-errors must be 0 or more")
    _check_wait(wait)
    if engine is None:
        engine = settings.create_engine()
    elif engine.url.get_backend_name() != settings.backend:
        settings = _with_url(settings, engine.url)
    backend = backends.for_settings(settings, max_errors, wait)
    progress = progress or _no_progress
    on_step = on_step or no_step
    result = LoadResult()
    with interrupts() as pending:  # an engine's error for our signal comes out as Interrupted
        # What can be refused is refused here, before the lock, so it writes no row.
        planned = plan(backend, steps, selection)
        with backend.connect(engine, wait) as conn:
            schema.require_head(conn)
            conn.commit()
            with backend.lock(conn, wait):
                job = _Job(engine, backend, settings, steps, selection, planned, pending)
                _transaction(conn, job, result, progress, on_step)
                if pending:  # arrived while committing: the load stands, the rest waits
                    return _interrupted_after_commit(result, pending[0])
                try:
                    with stoppable(pending):
                        _maintain(conn, backend, result, vacuum, _changed(result), on_step)
                except BaseException as caught:
                    stop = as_interrupted(caught, pending)
                    if stop is None:
                        raise
                    return _interrupted_after_commit(result, stop.signum)
    return result


@dataclass(frozen=True)
class _Job:
    """What one load was asked to do, for the steps and for its ledger row."""

    engine: sa.Engine
    backend: backends.Backend
    settings: Settings
    steps: Sequence[str]
    selection: Selection
    planned: list[StageRequest]
    pending: Signals


def _transaction(
    conn: sa.Connection,
    job: _Job,
    result: LoadResult,
    progress: backends.Progress,
    on_step: StepHook,
) -> None:
    """The load's one transaction, committed; or rolled back, recorded in the ledger as
    failed or interrupted, and raised as one line."""
    started_at = ledger.now()
    try:
        transaction = conn.begin()
        try:
            _load(
                conn,
                job.backend,
                job.settings,
                job.steps,
                job.selection,
                result,
                progress,
                started_at,
                job.planned,
                on_step=on_step,
            )
            if job.pending.raised:
                # Raised, but swallowed where Python ignores exceptions (a weakref callback,
                # a __del__ that ran at that instant): the load still stops here.
                raise Interrupted(job.pending.raised[-1])
        except BaseException:
            with deferred():
                if transaction.is_active:
                    transaction.rollback()
            raise
        # A signal now must not split "committed" from "reported": it waits, and after
        # the commit it waits until the command has printed its summary.
        with deferred():
            _commit(transaction)
            job.pending.committed = True
    except BaseException as caught:
        # The engine may have turned our signal into its own error ("Query interrupted").
        exc = as_interrupted(caught, job.pending) or caught
        with deferred():
            rejected, unrecorded = _record_failure(conn, job, result, started_at, exc)
        _raise_failure(job, result, exc, caught, rejected, unrecorded)


def _raise_failure(
    job: _Job,
    result: LoadResult,
    exc: BaseException,
    caught: BaseException,
    rejected: list[dict[str, Any]],
    unrecorded: str | None,
) -> None:
    """The failure as the command reports it: one line, which says so when the ledger
    could not record it."""
    unsaid = f"; the ledger could not record it ({unrecorded})" if unrecorded else ""
    if isinstance(exc, Interrupted):
        exc.outcome = "the load was rolled back, nothing changed" + (
            unsaid or " (the ledger says so)"
        )
    elif rejected and isinstance(exc, sa.exc.DBAPIError):
        # The engine's bulk load gave up above --max-errors: say which records, as the
        # engines that classify records in SQL do.
        first = rejected[0]
        raise TooManyRejected(
            f"COPY rejected more than --max-errors {job.backend.max_errors} records; "
            f"first at {first.get('source')}:{first.get('line_no')}: "
            f"{first.get('reason')}; nothing was loaded (see them with "
            f"`python -m sparkify_dw.load --errors`)",
            rejected,
        ) from exc
    elif isinstance(exc, sa.exc.DBAPIError):
        raise LoadError(_failed_at(result, exc) + unsaid) from exc
    if exc is not caught:
        raise exc from caught
    raise caught


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


def _ordered(steps: Sequence[str]) -> list[str]:
    """``steps`` in the order they run, as the ledger records them."""
    return [s for s in STEPS if s in steps]


def _check_steps(steps: Sequence[str]) -> None:
    if not steps:
        raise LoadError(f"no steps to run: name at least one of {', '.join(STEPS)}")
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise LoadError(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")


def _load(
    conn: sa.Connection,
    backend: backends.Backend,
    settings: Settings,
    steps: Sequence[str],
    selection: Selection,
    result: LoadResult,
    progress: backends.Progress,
    started_at: dt.datetime,
    planned: list[StageRequest],
    known_loaded: set[tuple[str, str]] | None = None,
    on_step: StepHook = no_step,
) -> None:
    """The load's transaction, from its lock to its ledger row: what ``--dry-run`` shows."""
    backend.begin_load(conn)
    result.load_id = ledger.next_load_id(conn)
    ledger.record_load(conn, settings, _ordered(steps), result, started_at, "running", None)
    _run_steps(conn, backend, planned, steps, selection, result, progress, known_loaded, on_step)
    ledger.finish_load(conn, result, "succeeded", None)


def _maintain(
    conn: sa.Connection,
    backend: backends.Backend,
    result: LoadResult,
    vacuum: bool,
    changed: Sequence[sa.Table],
    on_step: StepHook = no_step,
) -> None:
    """Statistics (and VACUUM) after the commit. The load has committed by now, so a
    failure here is a warning: it never turns a loaded warehouse into a failed load."""
    maintenance = backend.maintenance(changed, vacuum=vacuum)
    if not maintenance:
        return
    on_step("vacuum and analyze" if vacuum else "analyze", result, None)
    started = time.perf_counter()
    # Outside a transaction block: VACUUM refuses to run in one.
    auto = conn.execution_options(isolation_level="AUTOCOMMIT")
    try:
        for statement in maintenance:
            auto.execute(statement)
    except sa.exc.SQLAlchemyError as exc:
        message = (
            f"the load committed, but maintenance after it failed (run it again "
            f"later): {one_line(exc)}"
        )
        log.warning("%s", message)
        result.warnings.append(message)
    result.seconds["analyze"] = time.perf_counter() - started


def _interrupted_after_commit(result: LoadResult, signum: int) -> LoadResult:
    """A signal after the commit: the load stands (the ledger says succeeded) and what was
    left (ANALYZE) is skipped; the command still exits 128 + the signal, and says so in one
    line (``result.interrupted``): the log repeats it only with ``-v``."""
    result.interrupted = signum
    log.info(
        "%s arrived after load #%s committed: the load succeeded; maintenance skipped",
        signal.Signals(signum).name,
        result.load_id,
    )
    return result


def _commit(transaction: sa.RootTransaction) -> None:
    transaction.commit()


def _failed_at(result: LoadResult, exc: sa.exc.DBAPIError) -> str:
    """A database error as one line naming the step it stopped (timeout, lost connection,
    disk full …)."""
    return f"{result.step or 'load'}: {one_line(exc)}"


def _changed(result: LoadResult) -> list[sa.Table]:
    """Tables the load wrote to, for ANALYZE."""
    names = {n for n, rows in result.staged.items() if rows}
    names |= {n for n, rows in result.inserted.items() if rows}
    names |= {n for n, rows in result.updated.items() if rows}
    return [t for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES) if t.name in names]


def _run_steps(
    conn: sa.Connection,
    backend: backends.Backend,
    planned: list[StageRequest],
    steps: Sequence[str],
    selection: Selection,
    result: LoadResult,
    progress: backends.Progress,
    known_loaded: set[tuple[str, str]] | None = None,
    on_step: StepHook = no_step,
) -> None:
    for step in STEPS:
        if step not in steps:
            continue
        started = time.perf_counter()
        log.info("%s: start", step)
        result.step = step
        if step == "stage":
            _stage(conn, backend, planned, selection, result, progress, known_loaded, on_step)
        elif step == "transform":
            with backend.transform_session(conn):
                _transform(conn, result, on_step)
        else:
            on_step("check", result, None)
            _check(conn, result)
        result.seconds[step] = time.perf_counter() - started
    result.step = "ledger"
    _record_staged_files(conn, backend, steps, result)
    result.step = "commit"
    log.info("commit")


def _record_staged_files(
    conn: sa.Connection, backend: backends.Backend, steps: Sequence[str], result: LoadResult
) -> None:
    """List the staged files in the ledger only when the transform ran: a stage-only load
    leaves them new for ``--incremental``, whose star tables they never reached."""
    if "transform" in steps and result.staged_requests:
        assert result.load_id is not None
        _record_files(conn, backend, result.load_id, result.staged_requests)


RECORD_WAIT = 10.0  # seconds a failed load's ledger row waits for a fresh connection


def _record_failure(
    conn: sa.Connection,
    job: _Job,
    result: LoadResult,
    started_at: dt.datetime,
    exc: BaseException,
) -> tuple[list[dict[str, Any]], str | None]:
    """After the rollback: say in the ledger that the load failed or was interrupted, and
    what it rejected. Returns the first rejected records, and why no row could be
    written (None when it was).

    The row goes on the load's own connection, or on a fresh one when that one is gone (a
    statement cut short by a signal, a terminated backend); only when neither can write
    is the ledger silent, and the caller says so.
    """
    interrupted = isinstance(exc, Interrupted)
    if not (isinstance(exc, Exception) or interrupted):
        return [], None
    if isinstance(exc, backends.LockBusy):  # it never started: another load holds the lock
        return [], None
    if interrupted:
        status, message = "interrupted", f"interrupted by {exc} during {result.step or 'load'}"
    elif isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc, TooManyRejected):
        status, message = "failed", _failed_at(result, exc)
    else:
        status, message = "failed", one_line(exc)
    message = job.settings.mask(message)
    if not (conn.invalidated or conn.closed):
        try:
            return _write_failure(conn, job, result, started_at, exc, status, message), None
        except sa.exc.SQLAlchemyError as first:
            log.info("the load's connection can't record it (%s): trying a fresh one", first)
    try:
        with job.backend.connect(job.engine, RECORD_WAIT) as fresh:
            fresh.commit()
            with job.backend.lock(fresh, RECORD_WAIT):
                written = _write_failure(
                    fresh, job, result, started_at, exc, status, message, own=False
                )
                return written, None
    except (sa.exc.SQLAlchemyError, backends.LockBusy, OSError) as ledger_exc:
        why = job.settings.mask(one_line(ledger_exc))
        log.warning("could not record the %s load in the ledger: %s", status, why)
        return [], why


def _write_failure(
    conn: sa.Connection,
    job: _Job,
    result: LoadResult,
    started_at: dt.datetime,
    exc: BaseException,
    status: str,
    message: str,
    own: bool = True,
) -> list[dict[str, Any]]:
    """The failed load's ledger row and its rejected records, in one transaction.
    ``own``: on the load's own connection, where the engine's error log of its COPY can
    still be read (a fresh session can't tell which COPY was this load's)."""
    if conn.in_transaction():  # e.g. a connection the driver left mid-transaction
        conn.rollback()
    engine_log = job.backend.capabilities.rejects_reported_by == "engine"
    errors: list[dict[str, Any]] = (
        exc.errors
        if isinstance(exc, TooManyRejected)
        else (
            job.backend.failed_copy_errors(conn, ERRORS_KEPT_ON_FAILURE)
            if engine_log and own and not isinstance(exc, Interrupted)
            else []
        )
    )
    if conn.in_transaction():  # reading the engine's own error records began one
        conn.commit()
    with conn.begin():
        job.backend.begin_load(conn)
        result.load_id = ledger.next_load_id(conn)
        ledger.record_load(
            conn, job.settings, _ordered(job.steps), result, started_at, status, message
        )
        if errors:
            conn.execute(
                sa.insert(LOAD_ERRORS).values(
                    [
                        {
                            "load_id": result.load_id,
                            "error_no": n,
                            **{k: e.get(k) for k in ("source", "line_no", "reason", "raw_text")},
                            "table_name": e.get("table_name") or "",
                        }
                        for n, e in enumerate(errors, start=1)
                    ]
                )
            )
    return errors


def _with_url(settings: Settings, url: sa.URL) -> Settings:
    from dataclasses import replace

    return replace(settings, url=url)
