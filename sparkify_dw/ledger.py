"""The load ledger as data: what each load did (``loads``) and what it rejected
(``load_errors``), as rows or a pandas DataFrame, for commands and notebooks alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import sqlalchemy as sa

from sparkify_dw.config import connection
from sparkify_dw.models import LOAD_ERRORS, LOADS

if TYPE_CHECKING:
    import pandas as pd

HISTORY_COLUMNS = ("load_id", "started_at", "finished_at", "status", "backend", "steps",
                   "sources", "rows_read", "rows_staged", "rows_rejected", "rows_inserted",
                   "message")
ERROR_COLUMNS = ("load_id", "error_no", "table_name", "source", "line_no", "reason",
                 "raw_text")


class NoSuchLoad(LookupError):
    """A load id the ledger doesn't have, worded as one line."""


def _frame(rows: list[sa.Row[Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    from sparkify_dw.analytics import frame_of

    return frame_of([tuple(r) for r in rows], list(columns))


@overload
def history(bind: sa.Connection | sa.Engine, limit: int | None = ...,
            as_frame: Literal[False] = ...) -> list[sa.Row[Any]]: ...
@overload
def history(bind: sa.Connection | sa.Engine, limit: int | None = ..., *,
            as_frame: Literal[True]) -> pd.DataFrame: ...
def history(bind: sa.Connection | sa.Engine, limit: int | None = 20,
            as_frame: bool = False) -> list[sa.Row[Any]] | pd.DataFrame:
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
def errors(bind: sa.Connection | sa.Engine, load_id: int | None = ...,
           as_frame: Literal[False] = ...) -> list[sa.Row[Any]]: ...
@overload
def errors(bind: sa.Connection | sa.Engine, load_id: int | None = ..., *,
           as_frame: Literal[True]) -> pd.DataFrame: ...
def errors(bind: sa.Connection | sa.Engine, load_id: int | None = None,
           as_frame: bool = False) -> list[sa.Row[Any]] | pd.DataFrame:
    """The records load ``load_id`` (default: the latest) rejected, in file order.
    :class:`NoSuchLoad` for a load the ledger doesn't have."""
    with connection(bind) as conn:
        if load_id is None:
            load_id = latest_load_id(conn)
            if load_id is None:
                raise NoSuchLoad("no loads yet")
        elif conn.execute(sa.select(LOADS.c.load_id).where(LOADS.c.load_id == load_id)
                          ).first() is None:
            raise NoSuchLoad(f"load #{load_id} does not exist (see the history)")
        e = LOAD_ERRORS.c
        rows = list(conn.execute(sa.select(*(e[c] for c in ERROR_COLUMNS))
                                 .where(e.load_id == load_id).order_by(e.error_no)).all())
    return _frame(rows, ERROR_COLUMNS) if as_frame else rows
