"""Redshift's records of the rows COPY rejected, and the SQL that reads them.

Why a module of its own: which view (SYS or STL), which id joins it to the COPY, and how
a failed COPY's rows are found after the rollback are decided here, in one place, with
the AWS pages that decide them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sparkify_dw.constructs import by_bytes
from sparkify_dw.models import LOAD_ERRORS
from sparkify_dw.staging import StageRequest

# Redshift's records of rejected rows. SYS_LOAD_ERROR_DETAIL covers every deployment
# (AWS: "SYS_LOAD_ERROR_DETAIL"); STL_LOAD_ERRORS only main provisioned clusters
# (AWS: "STL_LOAD_ERRORS"), but keeps the raw line.
SYS_LOAD_ERROR_DETAIL = sa.table(
    "sys_load_error_detail",
    sa.column("query_id", sa.BigInteger),
    sa.column("session_id", sa.Integer),
    sa.column("start_time", sa.DateTime),
    sa.column("file_name", sa.String),
    sa.column("line_number", sa.BigInteger),
    sa.column("column_name", sa.String),
    sa.column("error_message", sa.String),
)
# COPYs of every deployment, running, completed or aborted (AWS: "SYS_LOAD_HISTORY").
SYS_LOAD_HISTORY = sa.table(
    "sys_load_history",
    sa.column("query_id", sa.BigInteger),
    sa.column("session_id", sa.Integer),
    sa.column("start_time", sa.DateTime),
)
STL_LOAD_ERRORS = sa.table(
    "stl_load_errors",
    sa.column("query", sa.Integer),
    sa.column("session", sa.Integer),
    sa.column("starttime", sa.DateTime),
    sa.column("filename", sa.String),
    sa.column("line_number", sa.BigInteger),
    sa.column("colname", sa.String),
    sa.column("err_reason", sa.String),
    sa.column("raw_line", sa.String),
)


def _errors(view: str) -> dict[str, Any]:
    """The columns of ``view`` ("sys" or "stl") under the loader's names."""
    if view == "sys":
        e = SYS_LOAD_ERROR_DETAIL.c
        return {
            "table": SYS_LOAD_ERROR_DETAIL,
            "query": e.query_id,
            "session": e.session_id,
            "start": e.start_time,
            "file": e.file_name,
            "line": e.line_number,
            "column": e.column_name,
            "reason": e.error_message,
            "raw": sa.null(),
        }
    e = STL_LOAD_ERRORS.c
    return {
        "table": STL_LOAD_ERRORS,
        "query": e.query,
        "session": e.session,
        "start": e.starttime,
        "file": e.filename,
        "line": e.line_number,
        "column": e.colname,
        "reason": e.err_reason,
        # Raw lines are CHAR(1024) with multibyte characters replaced: they fit.
        "raw": sa.func.rtrim(e.raw_line),
    }


def last_copy_id(view: str) -> sa.Select[Any]:
    """The id of this session's latest COPY in ``view``'s numbering, -1 if none.

    STL and SYS number queries differently (AWS: "STL_QUERY": its ``query`` is not the
    SYS views' ``query_id``). ``pg_last_copy_id()`` gives the STL id (AWS:
    "PG_LAST_COPY_ID"); the SYS id is this session's newest row in SYS_LOAD_HISTORY,
    whose ``query_id`` is the one SYS_LOAD_ERROR_DETAIL uses (AWS: "SYS_LOAD_HISTORY").
    """
    if view != "sys":
        return sa.select(sa.func.pg_last_copy_id().label("copy_query_id"))
    h = SYS_LOAD_HISTORY.c
    newest = (
        sa.select(h.query_id)
        .where(h.session_id == sa.func.pg_backend_pid())
        .order_by(h.start_time.desc(), h.query_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(sa.func.coalesce(newest, sa.literal_column("-1")).label("copy_query_id"))


def _copy_id(value: Any) -> sa.BindParameter[int]:
    return sa.bindparam("copy_query_id", value, sa.BigInteger)


def last_copy_counts(view: str, copy_id: Any) -> sa.Select[Any]:
    """Rows the last COPY of this session loaded and rejected (``copy_id``: its id in
    ``view``, from :func:`last_copy_id`)."""
    e = _errors(view)
    rejected = (
        sa.select(sa.func.count()).select_from(e["table"]).where(e["query"] == _copy_id(copy_id))
    )
    return sa.select(sa.func.pg_last_copy_count(), rejected.scalar_subquery())


def _errors_select(view: str, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    e = _errors(view)
    # Constants as SQL text, not parameters: Redshift can't infer a parameter's type in ||.
    reason = (
        sa.func.rtrim(e["column"]) + sa.literal_column("': '", sa.Text) + sa.func.rtrim(e["reason"])
    )
    return sa.select(
        sa.func.rtrim(e["file"]).label("source"),
        e["line"].label("line_no"),
        sa.func.left(reason, sa.literal_column("256")).label("reason"),
        e["raw"].label("raw_text"),
    ).where(where)


def copy_errors_select(view: str, copy_id: Any) -> sa.Select[Any]:
    """The records the COPY ``copy_id`` (its id in ``view``) rejected."""
    return _errors_select(view, _errors(view)["query"] == _copy_id(copy_id))


def _in_file_order(select: sa.Select[Any]) -> sa.Select[Any]:
    return select.order_by(sa.literal_column("source"), sa.literal_column("line_no"))


def failed_copy_errors_select(view: str, copy_id: Any, *, after: bool) -> sa.Select[Any]:
    """The records this session's COPY ``copy_id`` rejected, or with ``after`` those of
    its COPYs after ``copy_id`` (STL, where ids grow): after a failed COPY, the failed one.
    By id, not by time, so the session's time zone can't hide them."""
    e = _errors(view)
    query = e["query"] > _copy_id(copy_id) if after else e["query"] == _copy_id(copy_id)
    return _in_file_order(
        _errors_select(view, sa.and_(e["session"] == sa.func.pg_backend_pid(), query))
    )


def keep_copy_errors(
    view: str, request: StageRequest, load_id: int, first_error_no: int, copy_id: Any
) -> sa.Insert:
    errors = copy_errors_select(view, copy_id).subquery("e")
    number = sa.func.row_number().over(order_by=(by_bytes(errors.c.source), errors.c.line_no)) + (
        first_error_no - 1
    )
    table = sa.literal_column(f"'{request.table.name}'", sa.Text)  # a model's own name
    select = sa.select(
        sa.literal(load_id, sa.Integer),
        number,
        table,
        errors.c.source,
        errors.c.line_no,
        errors.c.reason,
        errors.c.raw_text,
    )
    return sa.insert(LOAD_ERRORS).from_select(
        ["load_id", "error_no", "table_name", "source", "line_no", "reason", "raw_text"], select
    )
