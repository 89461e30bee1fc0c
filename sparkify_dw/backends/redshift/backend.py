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
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy_redshift.commands import CopyCommand, Format

from sparkify_dw import s3
from sparkify_dw.backends.contract import Backend, Capabilities, LockBusy, Phase
from sparkify_dw.backends.plan import Call, PutObject, Query, Run, Sql, StageCounts, Step, sent
from sparkify_dw.backends.redshift.errors import (
    SYS_LOAD_ERROR_DETAIL,
    failed_copy_errors_select,
    keep_copy_errors,
    last_copy_counts,
    last_copy_id,
)
from sparkify_dw.backends.redshift.options import (
    ENV_IAM_ROLE_ARN,
    ENV_MANIFEST_PREFIX,
    RedshiftOptions,
)
from sparkify_dw.backends.requests import Selection
from sparkify_dw.config import ENV_S3_REGION
from sparkify_dw.constructs import LockTables, SetParameter, TableMaintenance, Unparameterized
from sparkify_dw.dryrun import Sent
from sparkify_dw.errors import ConfigError, LoadError
from sparkify_dw.models import LOADS, STAGING_TABLES
from sparkify_dw.sources import Reader
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


NO_MANIFEST_PREFIX = (
    "Redshift COPYs through a manifest of the listed files: set [S3] MANIFEST_PREFIX in "
    f"dwh.cfg or ${ENV_MANIFEST_PREFIX} to an s3:// prefix the cluster's role can read "
    "and you can write"
)


def manifest_uri(prefix: S3Uri | None, table: sa.Table, body: str) -> S3Uri:
    """Where a COPY's manifest goes: named by its content, so ``--dry-run`` shows the very
    name the load writes, and a rerun of the same files reuses the same object."""
    if not prefix:
        raise ConfigError(NO_MANIFEST_PREFIX)
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


# --- staging as a plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class FailedCopy:
    """What the failure path needs to find a failed COPY's rejected records: the error view
    and this session's latest COPY id before it. Carried on the COPY's exception."""

    view: str
    copy_before: Any


@dataclass(frozen=True)
class _WriteManifest(PutObject):
    """The manifest of exactly the listed keys, written before the COPY that reads it."""

    manifest: S3Uri
    objects: tuple[Any, ...]
    reader: Reader

    def run(self, run: Run) -> None:
        s3.write_manifest(self.manifest, list(self.objects), self.reader.client())

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        listing = "\n".join(f"  {o.uri}" for o in self.objects)
        yield Sent(
            f"manifest {self.manifest}, written before the COPY, lists "
            f"{len(self.objects)} file(s):\n{listing}",
            None,
        )


@dataclass(frozen=True)
class _Copy(Step):
    """COPY, whose failure carries what finds its rejected records (:class:`FailedCopy`)."""

    statement: sa.Executable
    view: str

    def run(self, run: Run) -> None:
        try:
            run.conn.execute(self.statement)
        except sa.exc.DBAPIError as exc:
            exc.failed_copy = FailedCopy(self.view, run.values.get("copy_before"))  # type: ignore[attr-defined]
            raise

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield sent(self.statement, dialect)


@dataclass(frozen=True)
class _KeepCopyErrors(Step):
    """COPY's counts, then its rejected records into load_errors (when it rejected any)."""

    request: StageRequest
    view: str

    def run(self, run: Run) -> None:
        conn, values = run.conn, run.values
        copy_id = values["copy_query_id"]
        if copy_id == values["copy_before"]:
            raise LoadError(
                f"{self.request.what}: Redshift shows no {self.view.upper()} query id for "
                "this COPY, so its rejected records can't be counted; nothing was loaded"
            )
        loaded, rejected = conn.execute(last_copy_counts(self.view, copy_id)).one()
        loaded, rejected = int(loaded or 0), int(rejected or 0)
        if rejected:
            first = run.first_error_no + run.counts.rejected
            conn.execute(keep_copy_errors(self.view, self.request, run.load_id, first, copy_id))
        run.counts += StageCounts(read=loaded + rejected, rejected=rejected)

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        copy_id = run.values["copy_query_id"]
        yield sent(last_copy_counts(self.view, copy_id), dialect)
        first = run.first_error_no + run.counts.rejected
        yield sent(keep_copy_errors(self.view, self.request, run.load_id, first, copy_id), dialect)


class RedshiftBackend(Backend):
    name, title = "redshift", "Redshift"
    capabilities = Capabilities(
        sources=frozenset({"s3"}),  # COPY reads S3 itself
        needs_manifest=True,
        rejects_reported_by="engine",  # SYS_LOAD_ERROR_DETAIL / STL_LOAD_ERRORS
    )

    def __init__(self, settings: Any, max_errors: int = 0, wait: float = 600.0) -> None:
        super().__init__(settings, max_errors, wait)
        self.maxerror = maxerror(max_errors)
        self.lock_timeout = statement_timeout(wait)
        self.errors_view = "sys"  # SYS_LOAD_ERROR_DETAIL unless the cluster lacks it
        self.bucket_regions: dict[str, str | None] = {}  # each bucket's, None: not readable
        self.options = settings.options_as(RedshiftOptions)

    def requests(
        self, selection: Selection = Selection(), loaded: set[tuple[str, str]] | None = None
    ) -> list[StageRequest]:
        """As every backend's, once the manifests have a place to go."""
        if self.options.manifest_prefix is None:
            raise ConfigError(NO_MANIFEST_PREFIX)
        return super().requests(selection, loaded)

    # --- statements -------------------------------------------------------------------

    def copy(self, request: StageRequest, manifest: S3Uri) -> Unparameterized:
        """The COPY for one staging table through ``manifest``; its URIs were checked when
        they were parsed, and the statement goes out as literal text."""
        settings, role = self.settings, self.options.iam_role_arn
        if not role:
            raise ConfigError(
                "Redshift's COPY needs an IAM role: set [IAM_ROLE] ARN in dwh.cfg "
                f"or ${ENV_IAM_ROLE_ARN}"
            )
        if request.jsonpaths is not None:
            path_file = copy_text(request.jsonpaths_uri, "LOG_JSONPATH")
        else:
            path_file = "auto"
        return Unparameterized(
            CopyCommand(
                list(request.table.columns),
                data_location=copy_text(manifest, "the manifest (MANIFEST_PREFIX)"),
                manifest=True,
                iam_role_arns=[role],
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

    def check_regions(self, request: StageRequest, manifest: S3Uri) -> None:
        """Every bucket this COPY reads (data files, manifest, JSONPaths) whose region can
        be read must be in COPY's REGION, the configured data region: COPY reads from that
        one region, and the manifest must be there too (AWS: "COPY", REGION). Without a
        data region (no REGION clause: the cluster's own), the buckets must agree."""
        buckets = {manifest.bucket, *(f.s3_object.bucket for f in request.files)}
        if isinstance(request.jsonpaths_uri, S3Uri) and request.jsonpaths is not None:
            buckets.add(request.jsonpaths_uri.bucket)
        for bucket in sorted(buckets - self.bucket_regions.keys()):
            self.bucket_regions[bucket] = s3.bucket_region(bucket, self.reader.client())
        found = {b: r for b in sorted(buckets) if (r := self.bucket_regions[b]) is not None}
        wanted = self.settings.region
        if wanted is not None:
            for bucket, region in found.items():
                if region != wanted:
                    origin = self.settings.sources.get("region", "the data region")
                    raise ConfigError(
                        f"s3://{bucket} is in {region}, but COPY's REGION is {wanted} (from "
                        f"{origin}): set [S3] REGION or ${ENV_S3_REGION} to the data's region"
                    )
        elif len(set(found.values())) > 1:
            where = ", ".join(f"s3://{b} in {r}" for b, r in found.items())
            raise ConfigError(
                f"COPY reads from one region but its buckets are in several ({where}); "
                "put them in one region and set [S3] REGION to it"
            )

    def load_plan(
        self, phase: Phase, tables: Sequence[sa.Table] = (), *, vacuum: bool = False
    ) -> list[Step]:
        if phase == "begin":
            # LOCK waits without a timeout on Redshift: statement_timeout bounds it by
            # --wait. It holds for the load's transaction, so it is taken in it.
            return [
                _Lock(
                    [
                        SetParameter("statement_timeout", self.lock_timeout),
                        LockTables(LOADS, *STAGING_TABLES),
                        SetParameter("statement_timeout", 0),
                    ],
                    self.wait,
                )
            ]
        if phase not in ("staged", "committed") or not tables:
            return []
        # COPY runs with STATUPDATE OFF: the transform's planner gets statistics once
        # staging is filled, the star tables theirs after the commit. ANALYZE skips
        # tables with under analyze_threshold_percent (10%) changed rows, which is every
        # small incremental load: 0 makes it analyze them all.
        verbs = ["ANALYZE", "VACUUM"] if vacuum and phase == "committed" else ["ANALYZE"]
        return [
            Sql(SetParameter("analyze_threshold_percent", 0)),
            *(Sql(TableMaintenance(v, t)) for v in verbs for t in tables),
        ]

    # --- staging ----------------------------------------------------------------------

    def connect(self, engine: sa.Engine, *, reading: bool = False) -> sa.Connection:
        conn = engine.connect()
        self.errors_view = "sys" if _has_sys_load_errors(conn) else "stl"
        if reading:
            _wait_at_most(conn, self.wait)
        return conn

    def read_engine(self, *, analysis: bool = False, read_only: bool = True) -> sa.Engine:
        engine = super().read_engine(analysis=analysis, read_only=read_only)
        if analysis:  # each query waits at most ``wait`` seconds behind a running load
            wait = self.wait

            @sa.event.listens_for(engine, "engine_connect")
            def bounded(conn: sa.Connection) -> None:
                _wait_at_most(conn, wait)

        return engine

    def stage_plan(self, request: StageRequest) -> list[Step]:
        """COPY ``request``'s listed files through a manifest; keep what COPY rejected.
        This session's latest COPY id before the COPY: a failed COPY's records are found
        by id, never by time (:meth:`failed_copy_errors`)."""
        if not request.files:
            log.info("%s: no files to COPY", request.what)
            return [Call(partial(_progress, request.what, 0))]
        objects = tuple(f.s3_object for f in request.files)
        manifest = manifest_uri(
            self.options.manifest_prefix, request.table, s3.manifest_body(list(objects))
        )
        self.check_regions(request, manifest)
        view = self.errors_view
        return [
            _WriteManifest(manifest, objects, self.reader),
            Query(last_copy_id(view), ("copy_before",)),
            _Copy(self.copy(request, manifest), view),
            Query(last_copy_id(view), ("copy_query_id",)),
            _KeepCopyErrors(request, view),
            Call(partial(_progress, request.what, len(request.files))),
        ]

    def failed_copy_errors(
        self, conn: sa.Connection, limit: int, failure: BaseException
    ) -> list[dict[str, object]]:
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
        found = getattr(failure, "failed_copy", None)
        if not isinstance(found, FailedCopy) or found.copy_before is None:
            return []  # not a COPY that failed
        view = found.view
        if view == "sys":
            failed = conn.execute(last_copy_id(view)).scalar_one()
            if failed is None or failed == found.copy_before:
                return []
            select = failed_copy_errors_select(view, failed, after=False)
        else:
            select = failed_copy_errors_select(view, found.copy_before, after=True)
        return [dict(r) for r in conn.execute(select.limit(limit)).mappings().all()]


def _wait_at_most(conn: sa.Connection, wait: float) -> None:
    """A reader (``history``, ``errors``, a notebook) waits at most ``wait`` seconds for a
    running load's lock instead of for ever."""
    conn.execute(SetParameter("statement_timeout", statement_timeout(wait)))


@dataclass(frozen=True)
class _Lock(Step):
    """The load's LOCK, bounded by ``statement_timeout``: a timeout is another load
    holding the ledger, said in one line."""

    statements: list[Any]
    wait: float

    def run(self, run: Run) -> None:
        try:
            for statement in self.statements:
                run.conn.execute(statement)
        except sa.exc.DBAPIError as exc:
            if _sqlstate(exc) == _QUERY_CANCELED:
                raise LockBusy(
                    f"another session holds the load ledger (a load is running); "
                    f"waited {self.wait:g}s"
                ) from None
            raise

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        for statement in self.statements:
            yield sent(statement, dialect)


def _progress(what: str, total: int, run: Run) -> None:
    run.progress(what, total, total)


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


BACKEND = RedshiftBackend
