"""The loader: stage raw JSON, build the star schema, check it.

``python -m sparkify_dw.load`` from a shell (:mod:`.__main__`), :func:`run` from Python.
The steps inside the load's transaction are in :mod:`.steps`, what a failed load leaves
in the ledger in :mod:`.failures`. Every statement
is a SQLAlchemy Core construct compiled for the target database; ``--dry-run`` prints
them instead of running them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sparkify_dw import backends, ledger, schema
from sparkify_dw.backends import plan as plan_steps
from sparkify_dw.backends.plan import Progress
from sparkify_dw.backends.requests import Selection as Selection  # re-exported: load.Selection
from sparkify_dw.config import Settings, resolve
from sparkify_dw.dryrun import recording
from sparkify_dw.engines import dialect_for
from sparkify_dw.errors import ConfigError, one_line
from sparkify_dw.errors import LoadError as LoadError
from sparkify_dw.errors import TooManyRejected as TooManyRejected
from sparkify_dw.interrupts import Interrupted as Interrupted  # re-exported: load.Interrupted
from sparkify_dw.interrupts import as_interrupted, deferred, interrupts, stoppable
from sparkify_dw.load.failures import RECORD_WAIT as RECORD_WAIT
from sparkify_dw.load.failures import _Job, _raise_failure, record_failure
from sparkify_dw.load.steps import ERRORS_KEPT_ON_FAILURE as ERRORS_KEPT_ON_FAILURE
from sparkify_dw.load.steps import STEPS as STEPS
from sparkify_dw.load.steps import _changed, _load, check_steps
from sparkify_dw.load_result import LoadResult as LoadResult  # re-exported: load.LoadResult
from sparkify_dw.load_result import StepHook, no_step
from sparkify_dw.models import (
    STAGING_EVENTS,
    STAGING_SONGS,
    STAR_TABLES,
)
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

LOCK_WAIT = 600.0  # seconds a load waits for another one to finish before giving up


MAX_WAIT = 86400.0  # a day: a wait must end (and a server's statement timeout holds it)


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
    recording connection (:func:`sparkify_dw.dryrun.recording`).

    For ``--incremental``, ``loaded`` is the ledger's list of staged files (the CLI
    reads it from the warehouse).
    """
    check_steps(steps)
    _check_wait(wait)
    backend = backends.for_settings(settings, max_errors, wait)
    conn, sent = recording(dialect_for(settings.url))
    result = LoadResult()
    planned = plan(backend, steps, selection)
    if selection.incremental and loaded is not None:
        # What the ledger says is loaded, read beforehand: the dry connection's is empty.
        planned = backends.unloaded(planned, loaded)
    # load_session() is left out: its lock may wait on a real server (an advisory lock).
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
    )
    changed = [
        t
        for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES)
        if "transform" in steps or t in (STAGING_EVENTS, STAGING_SONGS)
    ]
    _maintain(
        conn, backend, result, vacuum, changed if "stage" in steps or "transform" in steps else []
    )
    return [s.render(settings.mask) for s in sent]  # secrets in values, never SQL


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
    progress: Progress | None = None,
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
    settings = _settings(settings, url, log_data, song_data, log_jsonpath)
    selection = _selection(selection, incremental, since, until)
    check_steps(steps)
    if max_errors < 0:
        raise LoadError("--max-errors must be 0 or more")
    _check_wait(wait)
    own_engine = engine is None
    if engine is None:
        # Closed with the load: a notebook that ran one keeps no connection (nor, on
        # DuckDB, the file's write lock) open behind it.
        engine = settings.create_engine(poolclass=sa.pool.NullPool)
    elif engine.url.get_backend_name() != settings.backend:
        settings = _with_url(settings, engine.url)
    load = Load(
        engine,
        backends.for_settings(settings, max_errors, wait),
        steps,
        selection,
        vacuum,
        progress or _no_progress,
        on_step or no_step,
    )
    with _disposed_after(engine if own_engine else None):
        return load.execute()


@dataclass
class Load:
    """One load: what it was asked to do, and the calls that do it. :meth:`execute`
    takes the lock, runs the one transaction and the maintenance after it;
    :meth:`commit` and :meth:`record_failure` are its two ends. :func:`run` builds one
    from the configuration; a scheduler may build its own."""

    engine: sa.Engine
    backend: backends.Backend
    steps: Sequence[str] = STEPS
    selection: Selection = field(default_factory=Selection)
    vacuum: bool = False
    progress: Progress = field(default=lambda what, done, total: None)
    on_step: StepHook = no_step
    result: LoadResult = field(default_factory=LoadResult)

    def execute(self) -> LoadResult:
        """The load, start to end; an engine's error for our signal comes out as
        :class:`Interrupted`."""
        backend, result = self.backend, self.result
        with interrupts() as pending:
            # What can be refused is refused here, before the lock, so it writes no row.
            planned = plan(backend, self.steps, self.selection)
            with backend.load_session(self.engine, schema.require_head) as conn:
                job = _Job(
                    self.engine,
                    backend,
                    backend.settings,
                    self.steps,
                    self.selection,
                    planned,
                    pending,
                )
                self.transaction(conn, job)
                if pending:  # arrived while committing: the load stands, the rest waits
                    return _interrupted_after_commit(result, pending[0])
                try:
                    with stoppable(pending):
                        _maintain(
                            conn, backend, result, self.vacuum, _changed(result), self.on_step
                        )
                except BaseException as caught:
                    stop = as_interrupted(caught, pending)
                    if stop is None:
                        raise
                    return _interrupted_after_commit(result, stop.signum)
        return result

    def transaction(self, conn: sa.Connection, job: _Job) -> None:
        """The load's one transaction, committed; or rolled back, recorded in the ledger
        as failed or interrupted, and raised as one line."""
        result, started_at = self.result, ledger.now()
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
                    self.progress,
                    started_at,
                    job.planned,
                    on_step=self.on_step,
                )
                if job.pending.raised:
                    # Raised, but swallowed where Python ignores exceptions (a weakref
                    # callback, a __del__ that ran at that instant): the load stops here.
                    raise Interrupted(job.pending.raised[-1])
            except BaseException:
                with deferred():
                    if transaction.is_active:
                        transaction.rollback()
                raise
            # A signal now must not split "committed" from "reported": it waits, and after
            # the commit it waits until the command has printed its summary.
            with deferred():
                self.commit(transaction)
                job.pending.committed = True
        except BaseException as caught:
            # The engine may have turned our signal into its own ("Query interrupted").
            exc = as_interrupted(caught, job.pending) or caught
            with deferred():
                rejected, unrecorded = self.record_failure(conn, job, started_at, exc)
            _raise_failure(job, result, exc, caught, rejected, unrecorded)

    def commit(self, transaction: sa.RootTransaction) -> None:
        """The load's one commit: everything it wrote becomes visible at once."""
        transaction.commit()

    def record_failure(
        self, conn: sa.Connection, job: _Job, started_at: dt.datetime, exc: BaseException
    ) -> tuple[list[dict[str, Any]], str | None]:
        """After the rollback: the ledger says the load failed or was interrupted, and
        what it rejected (:func:`sparkify_dw.load.failures.record_failure`)."""
        return record_failure(conn, job, self.result, started_at, exc)


@contextmanager
def _disposed_after(engine: sa.Engine | None) -> Iterator[None]:
    try:
        yield
    finally:
        if engine is not None:
            engine.dispose()


def _settings(
    settings: Settings | None,
    url: str | None,
    log_data: str | os.PathLike[str] | None,
    song_data: str | os.PathLike[str] | None,
    log_jsonpath: str | os.PathLike[str] | None,
) -> Settings:
    """``settings``, or the configuration resolved with the arguments given; not both."""
    if settings is None or any(v is not None for v in (url, log_data, song_data, log_jsonpath)):
        if settings is not None:
            raise LoadError("pass settings, or url/log_data/song_data/log_jsonpath, not both")
        settings = resolve(
            url=url,
            log_data=_text(log_data),
            song_data=_text(song_data),
            log_jsonpath=_text(log_jsonpath),
        )
    return settings


def _selection(
    selection: Selection | None,
    incremental: bool,
    since: dt.date | str | None,
    until: dt.date | str | None,
) -> Selection:
    """``selection``, or one made of incremental/since/until; not both, and in order."""
    if selection is None:
        selection = Selection(incremental, _day_of(since, "since"), _day_of(until, "until"))
    elif incremental or since is not None or until is not None:
        raise LoadError("pass selection, or incremental/since/until, not both")
    return selection


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
    maintenance = backend.load_plan("committed", changed, vacuum=vacuum)
    if not maintenance:
        return
    on_step("vacuum and analyze" if vacuum else "analyze", result, None)
    started = time.perf_counter()
    # Outside a transaction block: VACUUM refuses to run in one.
    auto = conn.execution_options(isolation_level="AUTOCOMMIT")
    try:
        plan_steps.execute(maintenance, plan_steps.Run(auto, result.load_id or 0))
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


def _with_url(settings: Settings, url: sa.URL) -> Settings:
    from dataclasses import replace

    return replace(settings, url=url)
