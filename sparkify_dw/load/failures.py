"""A load that failed or was interrupted: rolled back, recorded in the ledger (on its own
connection, or a fresh one when that one is gone), and raised as one line."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sparkify_dw import backends, ledger
from sparkify_dw.backends import plan
from sparkify_dw.backends.requests import Selection
from sparkify_dw.config import Settings
from sparkify_dw.errors import LoadError, TooManyRejected, one_line
from sparkify_dw.interrupts import Interrupted, Signals
from sparkify_dw.load.steps import ERRORS_KEPT_ON_FAILURE, _ordered
from sparkify_dw.load_result import LoadResult
from sparkify_dw.models import LOAD_ERRORS
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

RECORD_WAIT = 10.0  # seconds a failed load's ledger row waits for a fresh connection


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


def _failed_at(result: LoadResult, exc: sa.exc.DBAPIError) -> str:
    """A database error as one line naming the step it stopped (timeout, lost connection,
    disk full …)."""
    return f"{result.step or 'load'}: {one_line(exc)}"


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
            f"`sparkify-dw errors`)",
            rejected,
        ) from exc
    elif isinstance(exc, sa.exc.DBAPIError):
        raise LoadError(_failed_at(result, exc) + unsaid) from exc
    if exc is not caught:
        raise exc from caught
    raise caught


def record_failure(
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
        with job.backend.waiting(RECORD_WAIT).load_session(job.engine) as fresh:
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
            job.backend.failed_copy_errors(conn, ERRORS_KEPT_ON_FAILURE, exc)
            if engine_log and own and not isinstance(exc, Interrupted)
            else []
        )
    )
    if conn.in_transaction():  # reading the engine's own error records began one
        conn.commit()
    with conn.begin():
        plan.execute(job.backend.load_plan("begin"), plan.Run(conn))
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
