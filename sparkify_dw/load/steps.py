"""The load's steps inside its one transaction: stage, transform, check, and the ledger
rows that say what was loaded. What ``--dry-run`` shows is this code, run on a connection
that records."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from sparkify_dw import backends, checks, ledger, transform
from sparkify_dw.backends import plan
from sparkify_dw.backends.plan import Progress, StageCounts
from sparkify_dw.backends.requests import Selection
from sparkify_dw.config import Settings
from sparkify_dw.db import row_counts
from sparkify_dw.errors import LoadError, TooManyRejected
from sparkify_dw.load_result import LoadResult, StepHook, no_step
from sparkify_dw.models import LOAD_FILES, STAGING_EVENTS, STAGING_SONGS, STAR_TABLES
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

STEPS = ("stage", "transform", "check")


ERRORS_KEPT_ON_FAILURE = 1000  # rejected records recorded for a load that was refused


def _rowcount(conn: sa.Connection, statement: sa.Executable, table: str) -> int:
    """Rows ``statement`` wrote, as the driver reports them; a driver that can't say
    (rowcount -1) is an error, not a silent zero."""
    rows = conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    if rows < 0:
        raise LoadError(f"transform: the driver did not report how many rows {table} got")
    return max(rows, 0)


def _ordered(steps: Sequence[str]) -> list[str]:
    """``steps`` in the order they run, as the ledger records them."""
    return [s for s in STEPS if s in steps]


def check_steps(steps: Sequence[str]) -> None:
    if not steps:
        raise LoadError(f"no steps to run: name at least one of {', '.join(STEPS)}")
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise LoadError(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")


def _stage(
    conn: sa.Connection,
    backend: backends.Backend,
    planned: list[StageRequest],
    selection: Selection,
    result: LoadResult,
    progress: Progress,
    on_step: StepHook = no_step,
) -> None:
    assert result.load_id is not None
    reqs = planned
    if selection.incremental:
        reqs = backends.unloaded(planned, ledger.loaded_files(conn))
    for req in reqs:
        log.info("%s: %d file(s) to stage", req.what, len(req.files))
    for req in reqs:
        conn.execute(sa.delete(req.table))
    total = StageCounts()
    for req in reqs:
        result.step = f"stage {req.table.name}"
        on_step(result.step, result, req)
        run = plan.Run(conn, result.load_id, total.rejected + 1, progress)
        counts = plan.execute(backend.stage_plan(req), run)
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
            f"nothing was loaded (see them with `sparkify-dw errors`)",
            errors,
        )
    result.staged_requests = list(reqs)
    tables = [r.table for r in reqs]
    plan.execute(backend.load_plan("staged", tables), plan.Run(conn, result.load_id))


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

    count = sum(len(r.files) for r in reqs)
    plan.execute(backend.bulk_insert(LOAD_FILES, rows(), count), plan.Run(conn, load_id))


def _transform(
    conn: sa.Connection, result: LoadResult, on_step: StepHook = no_step, *, checked: bool = False
) -> None:
    """The transform's statements; ``checked``: the check step follows in this transaction."""
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
    # songplays' foreign keys are checked by the load, not row by row (migration 0004): a
    # play inserted with a dangling key rolls the whole load back. The check step checks
    # every play; without it, the plays this load inserted are checked here.
    if checked:
        return
    try:
        checks.verify_relationships(conn, result.load_id or 0)
    except checks.CheckFailed as exc:
        raise LoadError(f"transform: {exc}") from None


def _check(conn: sa.Connection, result: LoadResult) -> None:
    result.counts.update(row_counts(conn, (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES)))
    try:
        checks.verify(conn)
    except checks.CheckFailed as exc:
        raise LoadError(f"check: {exc}") from None


def _load(
    conn: sa.Connection,
    backend: backends.Backend,
    settings: Settings,
    steps: Sequence[str],
    selection: Selection,
    result: LoadResult,
    progress: Progress,
    started_at: dt.datetime,
    planned: list[StageRequest],
    on_step: StepHook = no_step,
) -> None:
    """The load's transaction, from its lock to its ledger row: what ``--dry-run`` shows."""
    plan.execute(backend.load_plan("begin"), plan.Run(conn))
    result.load_id = ledger.next_load_id(conn)
    ledger.record_load(conn, settings, _ordered(steps), result, started_at, "running", None)
    _run_steps(conn, backend, planned, steps, selection, result, progress, on_step)
    ledger.finish_load(conn, result, "succeeded", None)


def _run_steps(
    conn: sa.Connection,
    backend: backends.Backend,
    planned: list[StageRequest],
    steps: Sequence[str],
    selection: Selection,
    result: LoadResult,
    progress: Progress,
    on_step: StepHook = no_step,
) -> None:
    for step in STEPS:
        if step not in steps:
            continue
        started = time.perf_counter()
        log.info("%s: start", step)
        result.step = step
        if step == "stage":
            _stage(conn, backend, planned, selection, result, progress, on_step)
        elif step == "transform":
            run = plan.Run(conn, result.load_id or 0)  # one run: "transformed" reads its values
            plan.execute(backend.load_plan("transform"), run)
            _transform(conn, result, on_step, checked="check" in steps)
            plan.execute(backend.load_plan("transformed"), run)
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


def _changed(result: LoadResult) -> list[sa.Table]:
    """Tables the load wrote to, for ANALYZE."""
    names = {n for n, rows in result.staged.items() if rows}
    names |= {n for n, rows in result.inserted.items() if rows}
    names |= {n for n, rows in result.updated.items() if rows}
    return [t for t in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES) if t.name in names]
