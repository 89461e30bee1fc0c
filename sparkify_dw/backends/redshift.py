"""Amazon Redshift: COPY straight from S3, with sqlalchemy-redshift's ``CopyCommand``.

COPY parses and types the records itself; MAXERROR lets it skip up to the load's
``max_errors`` bad ones, which Redshift lists in ``SYS_LOAD_ERROR_DETAIL`` (every
deployment: provisioned, Serverless, concurrency scaling) or, on clusters without it,
``STL_LOAD_ERRORS``; the loader copies them into ``load_errors`` with one
INSERT … SELECT (no rows pass through Python).

What Redshift can't take as bind parameters (COPY, LOCK, SET, ANALYZE, VACUUM) is sent as
:class:`~sparkify_dw.constructs.Unparameterized` text, its values validated before any SQL
is built. Every COPY reads a manifest of exactly the listed keys, so hidden, non-JSON and
sibling-prefix keys are never loaded and the ledger records every file.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy_redshift.commands import CopyCommand, Format

from sparkify_dw import s3
from sparkify_dw.backends import Backend, Capabilities, LockBusy, Progress, StageCounts
from sparkify_dw.config import ConfigError
from sparkify_dw.constructs import LockTables, SetParameter, TableMaintenance, Unparameterized
from sparkify_dw.errors import LoadError
from sparkify_dw.models import LOAD_ERRORS, LOADS, STAGING_TABLES
from sparkify_dw.staging import StageRequest
from sparkify_dw.uris import S3Uri

log = logging.getLogger(__name__)

# COPY fails once error_count reaches MAXERROR (AWS: COPY data load parameters), and
# MAXERROR is at most 100000: --max-errors N sends N + 1, so exactly N still load.
MAXERROR_LIMIT = 100_000
MAX_ERRORS = MAXERROR_LIMIT - 1

# SQLSTATE of a statement cancelled by statement_timeout (PostgreSQL and Redshift).
_QUERY_CANCELED = "57014"


def maxerror(max_errors: int) -> int:
    """The MAXERROR that lets exactly ``max_errors`` rejected records through."""
    if not 0 <= max_errors <= MAX_ERRORS:
        raise ConfigError(
            f"--max-errors must be from 0 to {MAX_ERRORS:,} on Redshift "
            f"(COPY's MAXERROR is at most {MAXERROR_LIMIT:,}); got {max_errors}"
        )
    return max_errors + 1


# statement_timeout is a count of milliseconds (AWS: "statement_timeout"); PostgreSQL, whose
# setting Redshift keeps, stores it as a 32-bit integer: past this the server refuses SET.
STATEMENT_TIMEOUT_MAX_MS = 2**31 - 1
MAX_WAIT = STATEMENT_TIMEOUT_MAX_MS // 1000  # whole seconds: 2,147,483 (about 24.8 days)


def statement_timeout(wait: float) -> int:
    """``wait`` seconds as statement_timeout's milliseconds: at least 1 (0 would turn the
    limit off, so a lock could wait for ever), at most the server's integer range.
    Any other ``wait`` (negative, NaN, infinite, too long) is one line, never a server
    error, whoever passed it (``--wait`` or ``load.run(wait=…)``)."""
    if isinstance(wait, bool) or not isinstance(wait, int | float):
        raise ConfigError(f"--wait must be a number of seconds; got {wait!r}")
    if not (math.isfinite(wait) and 0 <= wait <= MAX_WAIT):
        raise ConfigError(
            f"--wait must be from 0 to {MAX_WAIT:,} seconds on Redshift (statement_timeout "
            f"is a 32-bit count of milliseconds); got {wait:g}"
        )
    return max(1, int(wait * 1000))


def manifest_uri(prefix: S3Uri | None, table: sa.Table, body: str) -> S3Uri:
    """Where a COPY's manifest goes: named by its content, so ``--dry-run`` shows the very
    name the load writes, and a rerun of the same files reuses the same object."""
    if not prefix:
        raise ConfigError(
            "Redshift COPYs through a manifest of the listed files: set "
            "[S3] MANIFEST_PREFIX in dwh.cfg or $SPARKIFY_DW_MANIFEST_PREFIX "
            "to an s3:// prefix the cluster's role can read and you can write"
        )
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    return prefix.child(f"{table.name}-{digest}.manifest")


def copy_text(value: object, what: str) -> str:
    """An S3 URI as COPY's literal text. Only an :class:`S3Uri` is taken: it cannot exist
    without passing :meth:`S3Uri.parse`'s check, so no unchecked text reaches the SQL.

    ``%`` is refused: SQLAlchemy doubles it inside literals for the driver's ``%s``
    parameter style and redshift_connector leaves quoted text alone, so Redshift would
    read ``log%%20data``, another key. Only the manifest's and the JSONPaths file's URIs
    are in the SQL: data files are listed in the manifest (JSON, written as is), so their
    keys may hold ``%``."""
    if not isinstance(value, S3Uri):
        raise TypeError(f"{what}: COPY takes a parsed S3Uri, not {type(value).__name__}")
    text = str(value)
    if "%" in text:
        raise ConfigError(
            f"{what} {text}: Redshift's COPY can't name an S3 key with '%' "
            "(the driver would send it doubled); use a location without it"
        )
    return text


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg's ``sqlstate``, redshift_connector's dict)."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    if state:
        return str(state)
    for arg in getattr(orig, "args", ()):
        if isinstance(arg, dict) and "C" in arg:
            return str(arg["C"])
    return None


class RedshiftBackend(Backend):
    name, title = "redshift", "Redshift"
    capabilities = Capabilities(
        sources=frozenset({"s3"}),  # COPY reads S3 itself
        needs_manifest=True,
        rejects_reported_by="engine",  # SYS_LOAD_ERROR_DETAIL / STL_LOAD_ERRORS
        plans_staging=True,  # stage() runs, or on a dry run records, what it plans
    )

    def __init__(self, settings: Any, max_errors: int = 0, wait: float = 600.0) -> None:
        super().__init__(settings, max_errors, wait)
        self.maxerror = maxerror(max_errors)
        self.lock_timeout = statement_timeout(wait)
        self.errors_view = "sys"  # SYS_LOAD_ERROR_DETAIL unless the cluster lacks it
        # This session's latest COPY id in errors_view before the COPY now running: after a
        # failed COPY, its records are found by id, never by time.
        self.copy_before: Any = None
        self.copy_failed = False  # whether the latest COPY raised (above MAXERROR, say)

    # --- statements -------------------------------------------------------------------

    def copy(self, request: StageRequest, manifest: S3Uri) -> Unparameterized:
        """The COPY for one staging table through ``manifest``; its URIs were checked when
        they were parsed, and the statement goes out as literal text."""
        settings = self.settings
        if not settings.iam_role_arn:
            raise ConfigError("Redshift's COPY needs an IAM role: set [IAM_ROLE] ARN in dwh.cfg")
        if request.jsonpaths is not None:
            path_file = copy_text(request.jsonpaths_uri, "LOG_JSONPATH")
        else:
            path_file = "auto"
        return Unparameterized(
            CopyCommand(
                list(request.table.columns),
                data_location=copy_text(manifest, "the manifest (MANIFEST_PREFIX)"),
                manifest=True,
                iam_role_arns=[settings.iam_role_arn],
                format=Format.json,
                path_file=path_file,
                region=settings.region,
                blanks_as_null=True,
                empty_as_null=True,
                comp_update=False,
                stat_update=False,
                max_error=self.maxerror,
            )
        )

    def begin_statements(self) -> list[Any]:
        # LOCK waits without a timeout on Redshift: statement_timeout bounds it by --wait.
        return [
            SetParameter("statement_timeout", self.lock_timeout),
            LockTables(LOADS, *STAGING_TABLES),
            SetParameter("statement_timeout", 0),
        ]

    def begin_load(self, conn: sa.Connection) -> None:
        try:
            for statement in self.begin_statements():
                conn.execute(statement)
        except sa.exc.DBAPIError as exc:
            if _sqlstate(exc) == _QUERY_CANCELED:
                raise LockBusy(
                    f"another session holds the load ledger (a load is running); "
                    f"waited {self.wait:g}s"
                ) from None
            raise

    def read_session(self, conn: sa.Connection, wait: float) -> None:
        """Readers (``--history``, ``--errors``) wait at most ``wait`` seconds for a
        running load's lock instead of for ever."""
        millis = statement_timeout(wait)  # refused before anything is sent
        conn.execute(SetParameter("statement_timeout", millis))

    def maintenance(self, tables: Sequence[sa.Table], *, vacuum: bool = False) -> list[Any]:
        # COPY runs with STATUPDATE OFF: statistics are refreshed once, after the commit.
        # ANALYZE skips tables with under analyze_threshold_percent (10%) changed rows,
        # which is every small incremental load: 0 makes it analyze them all.
        if not tables:
            return []
        verbs = ["ANALYZE", "VACUUM"] if vacuum else ["ANALYZE"]
        return [
            SetParameter("analyze_threshold_percent", 0),
            *(TableMaintenance(v, t) for v in verbs for t in tables),
        ]

    def after_staging(self, tables: Sequence[sa.Table]) -> list[Any]:
        # COPY ran with STATUPDATE OFF: the transform's planner gets statistics here.
        return [
            SetParameter("analyze_threshold_percent", 0),
            *(TableMaintenance("ANALYZE", t) for t in tables),
        ]

    # --- staging ----------------------------------------------------------------------

    def connect(self, engine: sa.Engine, wait: float) -> sa.Connection:
        conn = engine.connect()
        self.errors_view = "sys" if _has_sys_load_errors(conn) else "stl"
        return conn

    def stage(
        self,
        conn: sa.Connection,
        request: StageRequest,
        load_id: int,
        first_error_no: int,
        progress: Progress,
    ) -> StageCounts:
        """COPY ``request``'s listed files through a manifest; keep what COPY rejected.

        In a dry run (``conn.dry``) the same statements are recorded and the manifest is
        shown, not written.
        """
        dry = bool(getattr(conn, "dry", False))
        if not request.files:
            log.info("%s: no files to COPY", request.what)
            progress(request.what, 0, 0)
            return StageCounts()
        objects = [f.s3_object for f in request.files]
        body = s3.manifest_body(objects)
        manifest = manifest_uri(self.settings.manifest_location, request.table, body)
        copy = self.copy(request, manifest)
        if dry:
            listing = "\n".join(f"  {o.uri}" for o in objects)
            cast(Any, conn).note(
                f"manifest {manifest}, written before the COPY, lists "
                f"{len(objects)} file(s):\n{listing}"
            )
        else:
            s3.write_manifest(manifest, objects, self.reader.client())
        self.copy_before = conn.execute(last_copy_id(self.errors_view)).scalar_one()
        self.copy_failed = True
        conn.execute(copy)
        self.copy_failed = False
        copy_id = conn.execute(last_copy_id(self.errors_view)).scalar_one()
        if not dry and copy_id == self.copy_before:
            raise LoadError(
                f"{request.what}: Redshift shows no {self.errors_view.upper()} query id for "
                "this COPY, so its rejected records can't be counted; nothing was loaded"
            )
        loaded, rejected = conn.execute(last_copy_counts(self.errors_view, copy_id)).one()
        loaded, rejected = int(loaded or 0), int(rejected or 0)
        if rejected or dry:
            conn.execute(
                keep_copy_errors(self.errors_view, request, load_id, first_error_no, copy_id)
            )
        progress(request.what, len(request.files), len(request.files))
        return StageCounts(read=loaded + rejected, rejected=rejected)

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        """Not used: a dry run records what :meth:`stage` sends (``plans_staging``)."""
        raise NotImplementedError

    def failed_copy_errors(self, conn: sa.Connection, limit: int) -> list[dict[str, object]]:
        """After a COPY failed and was rolled back: its rejected records, found by this
        session and query id, never by time (the error views are in UTC, GETDATE() in the
        session's time zone and whole seconds).

        ``pg_last_copy_id()`` is not updated when the COPY's transaction is rolled back
        (AWS: "PG_LAST_COPY_ID"), so on STL the failed COPY is this session's one after
        the COPY id taken before it (STL query ids only grow). On SYS the failed COPY is
        this session's latest row in SYS_LOAD_HISTORY, which holds aborted COPYs too
        (AWS: "SYS_LOAD_HISTORY", status running, completed or aborted); if that is still
        the id taken before the COPY, the failed one left no row and nothing is reported.
        """
        if self.copy_before is None or not self.copy_failed:
            return []
        view = self.errors_view
        if view == "sys":
            failed = conn.execute(last_copy_id(view)).scalar_one()
            if failed is None or failed == self.copy_before:
                return []
            select = failed_copy_errors_select(view, failed, after=False)
        else:
            select = failed_copy_errors_select(view, self.copy_before, after=True)
        return [dict(r) for r in conn.execute(select.limit(limit)).mappings().all()]


def _has_sys_load_errors(conn: sa.Connection) -> bool:
    """Whether ``SYS_LOAD_ERROR_DETAIL`` exists here; probed outside any load transaction
    (Redshift has no savepoints to try it inside one)."""
    try:
        conn.execute(sa.select(sa.literal(1)).select_from(SYS_LOAD_ERROR_DETAIL).where(sa.false()))
        conn.commit()
        return True
    except sa.exc.DBAPIError:
        conn.rollback()
        log.info(
            "no SYS_LOAD_ERROR_DETAIL on this cluster: rejected records come from STL_LOAD_ERRORS"
        )
        return False


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
    number = sa.func.row_number().over(order_by=(errors.c.source, errors.c.line_no)) + (
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


BACKEND = RedshiftBackend
