"""The load ledger as data: what each load did (``loads``) and what it rejected
(``load_errors``), as rows or a pandas DataFrame, for commands and notebooks alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import sqlalchemy as sa

from sparkify_dw.config import Settings
from sparkify_dw.db import connection
from sparkify_dw.errors import NoSuchLoad as NoSuchLoad
from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES, LOADS
from sparkify_dw.text import fit_bytes

if TYPE_CHECKING:
    import pandas as pd

    from sparkify_dw.load_result import LoadResult

HISTORY_COLUMNS = (
    "load_id",
    "started_at",
    "finished_at",
    "status",
    "backend",
    "steps",
    "sources",
    "rows_read",
    "rows_staged",
    "rows_rejected",
    "rows_inserted",
    "message",
)
ERROR_COLUMNS = ("load_id", "error_no", "table_name", "source", "line_no", "reason", "raw_text")


def _frame(rows: list[sa.Row[Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    from sparkify_dw.analytics.questions import frame_of

    return frame_of([tuple(r) for r in rows], list(columns))


@overload
def history(
    bind: sa.Connection | sa.Engine, limit: int | None = ..., as_frame: Literal[False] = ...
) -> list[sa.Row[Any]]: ...
@overload
def history(
    bind: sa.Connection | sa.Engine, limit: int | None = ..., *, as_frame: Literal[True]
) -> pd.DataFrame: ...
def history(
    bind: sa.Connection | sa.Engine, limit: int | None = 20, as_frame: bool = False
) -> list[sa.Row[Any]] | pd.DataFrame:
    """The latest ``limit`` loads (all with ``None``), newest first."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    stmt = sa.select(*(LOADS.c[c] for c in HISTORY_COLUMNS)).order_by(LOADS.c.load_id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    with connection(bind) as conn:
        rows = list(conn.execute(stmt).all())
    return _frame(rows, HISTORY_COLUMNS) if as_frame else rows


def latest_load_id(bind: sa.Connection | sa.Engine) -> int | None:
    with connection(bind) as conn:
        newest = conn.execute(sa.select(sa.func.max(LOADS.c.load_id))).scalar()
    return None if newest is None else int(newest)


@overload
def errors(
    bind: sa.Connection | sa.Engine, load_id: int | None = ..., as_frame: Literal[False] = ...
) -> list[sa.Row[Any]]: ...
@overload
def errors(
    bind: sa.Connection | sa.Engine, load_id: int | None = ..., *, as_frame: Literal[True]
) -> pd.DataFrame: ...
def errors(
    bind: sa.Connection | sa.Engine, load_id: int | None = None, as_frame: bool = False
) -> list[sa.Row[Any]] | pd.DataFrame:
    """The records load ``load_id`` (default: the latest) rejected, in file order.
    :class:`NoSuchLoad` for a load the ledger doesn't have."""
    with connection(bind) as conn:
        if load_id is None:
            load_id = latest_load_id(conn)
            if load_id is None:
                raise NoSuchLoad("no loads yet")
        elif (
            conn.execute(sa.select(LOADS.c.load_id).where(LOADS.c.load_id == load_id)).first()
            is None
        ):
            raise NoSuchLoad(f"load #{load_id} does not exist (see the history)")
        e = LOAD_ERRORS.c
        rows = list(
            conn.execute(
                sa.select(*(e[c] for c in ERROR_COLUMNS))
                .where(e.load_id == load_id)
                .order_by(e.error_no)
            ).all()
        )
    return _frame(rows, ERROR_COLUMNS) if as_frame else rows


# --- written by the load, in its transaction ----------------------------------------------


def loaded_files(conn: sa.Connection) -> set[tuple[str, str]]:
    """The (uri, version) of every file whose records reached the star tables: staged by a
    successful load that also ran the transform. (Older ledgers listed the files of
    stage-only loads too; those don't count.)"""
    f, ld = LOAD_FILES.c, LOADS.c
    rows = conn.execute(
        sa.select(f.uri, f.version)
        .join_from(LOAD_FILES, LOADS, f.load_id == ld.load_id)
        .where(ld.status == "succeeded", ld.steps.contains("transform"))
    )
    return {(uri, version or "") for uri, version in rows}


def first_errors(conn: sa.Connection, load_id: int, limit: int) -> list[dict[str, Any]]:
    e = LOAD_ERRORS.c
    rows = conn.execute(
        sa.select(e.table_name, e.source, e.line_no, e.reason, e.raw_text)
        .where(e.load_id == load_id)
        .order_by(e.error_no)
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def next_load_id(conn: sa.Connection) -> int:
    # Taken under the load lock, so two loads never get the same id.
    found = conn.execute(
        sa.select((sa.func.coalesce(sa.func.max(LOADS.c.load_id), 0) + 1).label("load_id"))
    ).scalar_one()
    return found if isinstance(found, int) else int(found)  # a dry run's <load_id> stays


def sources_text(settings: Settings) -> str:
    return fit_bytes(f"log_data={settings.log_data} song_data={settings.song_data}", 2048)


def record_load(
    conn: sa.Connection,
    settings: Settings,
    steps: Sequence[str],
    result: LoadResult,
    started_at: dt.datetime,
    status: str,
    message: str | None,
) -> None:
    conn.execute(
        sa.insert(LOADS).values(
            load_id=result.load_id,
            started_at=started_at,
            status=status,
            backend=settings.backend,
            steps=",".join(steps),
            sources=sources_text(settings),
        )
    )
    finish_load(conn, result, status, message)


def finish_load(conn: sa.Connection, result: LoadResult, status: str, message: str | None) -> None:
    conn.execute(
        sa.update(LOADS)
        .where(LOADS.c.load_id == result.load_id)
        .values(
            finished_at=now() if status != "running" else None,
            status=status,
            rows_read=sum(result.read.values()) if result.read else None,
            rows_staged=sum(result.staged.values()) if result.staged else None,
            rows_rejected=sum(result.rejected.values()) if result.read else None,
            rows_inserted=result.inserted.get("songplays"),
            message=fit_bytes(message, 1024) if message else None,
        )
    )


# --- as text, for the commands ------------------------------------------------------------


def history_text(conn: sa.Connection, limit: int = 50) -> str:
    """The load ledger, newest first, as text."""
    from sparkify_dw import output

    rows = history(conn, limit)
    if not rows:
        return "no loads yet"
    return output.table_text(HISTORY_HEADERS, [history_row(r) for r in rows])


HISTORY_HEADERS = (
    "load",
    "started",
    "finished",
    "status",
    "backend",
    "steps",
    "read",
    "staged",
    "rejected",
    "songplays",
    "sources / message",
)


def history_row(row: Any) -> tuple[Any, ...]:
    """One ledger row as the history table shows it."""
    return (
        row.load_id,
        row.started_at,
        row.finished_at,
        row.status,
        row.backend,
        row.steps,
        row.rows_read,
        row.rows_staged,
        row.rows_rejected,
        row.rows_inserted,
        row.message or row.sources,
    )


HISTORY_NARROW_HEADERS = (
    "load",
    "started (UTC)",
    "took",
    "status",
    "read",
    "rejected",
    "songplays",
)


def _duration(span: dt.timedelta) -> str:
    """``42s``, ``3m 4s``, ``2h 5m``: how long a load took, in a narrow column."""
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def history_row_narrow(row: Any) -> tuple[Any, ...]:
    """One ledger row in 80 columns: what a person scans for (``--wide`` has the rest)."""
    took = (
        _duration(row.finished_at - row.started_at)
        if row.finished_at is not None and row.started_at is not None
        else None
    )
    started = None if row.started_at is None else f"{row.started_at:%Y-%m-%d %H:%M}"
    return (
        row.load_id,
        started,
        took,
        row.status,
        row.rows_read,
        row.rows_rejected,
        row.rows_inserted,
    )


def errors_text(conn: sa.Connection, load_id: str | int = "last") -> str:
    """The records a load (default: the latest) rejected, in file order, as text."""
    from sparkify_dw import output

    if load_id == "last":
        newest = latest_load_id(conn)
        if newest is None:
            return "no loads yet"
        load_id = newest
    try:
        number = int(load_id)
    except ValueError:
        raise NoSuchLoad(f"--errors: {load_id!r} is not a load id") from None
    rows = errors(conn, number)
    if not rows:
        return f"load #{number} rejected no records"
    return f"load #{number} rejected {len(rows)} record(s)\n" + output.table_text(
        ERRORS_HEADERS, [errors_row(r) for r in rows]
    )


ERRORS_HEADERS = ("table", "where", "reason", "text")


def errors_row(row: Any) -> tuple[Any, ...]:
    """One rejected record as the errors table shows it."""
    return (row.table_name, f"{row.source}:{row.line_no}", row.reason, (row.raw_text or "")[:80])
