"""Amazon Redshift: COPY straight from S3, with sqlalchemy-redshift's ``CopyCommand``.

COPY parses and types the records itself; MAXERROR lets it skip up to the load's
``max_errors`` bad ones, which Redshift lists in ``stl_load_errors`` and the loader copies
into ``load_errors`` with one INSERT … SELECT (no rows pass through Python).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy_redshift.commands import CopyCommand, Format

from sparkify_dw import s3
from sparkify_dw.backends import Backend, Progress, StageCounts
from sparkify_dw.config import ConfigError, validate_source
from sparkify_dw.constructs import LockTables, TableMaintenance
from sparkify_dw.models import LOAD_ERRORS, LOADS, RAW_TEXT_CHARS, STAGING_TABLES
from sparkify_dw.staging import StageRequest


class RedshiftBackend(Backend):
    name = "redshift"

    def manifest_uri(self, request: StageRequest, load_id: int) -> str:
        """Where the manifest of a listed (incremental or by-day) COPY goes."""
        prefix = self.settings.manifest_prefix
        if not prefix:
            raise ConfigError("a Redshift load of selected files COPYs through a manifest: set "
                              "[S3] MANIFEST_PREFIX in dwh.cfg or $SPARKIFY_DW_MANIFEST_PREFIX")
        uri = f"{prefix.rstrip('/')}/load-{load_id}-{request.table.name}.manifest"
        return validate_source(uri, "manifest")

    def copy(self, request: StageRequest, manifest: str | None = None) -> CopyCommand:
        """The COPY for one staging table; inputs are validated before any SQL is built."""
        settings = self.settings
        if not settings.iam_role_arn:
            raise ConfigError("Redshift's COPY needs an IAM role: set [IAM_ROLE] ARN in dwh.cfg")
        if not request.source.startswith("s3://"):
            raise ConfigError(f"{request.what}: Redshift's COPY reads from S3; "
                              f"{request.source!r} is not an s3:// URI")
        validate_source(request.source, request.what)
        if request.jsonpaths is not None:
            uri = request.jsonpaths_uri or ""
            if not uri.startswith("s3://"):
                raise ConfigError(f"log_jsonpath: Redshift's COPY reads the JSONPaths file from "
                                  f"S3; {uri!r} is not an s3:// URI")
            validate_source(uri, "log_jsonpath")
            path_file = uri
        else:
            path_file = "auto"
        return CopyCommand(
            [request.table.c[c.name] for c, _ in request.paths()],
            data_location=manifest or request.source,
            manifest=manifest is not None,
            iam_role_arns=[settings.iam_role_arn],
            format=Format.json,
            path_file=path_file,
            region=settings.region,
            blanks_as_null=True,
            empty_as_null=True,
            comp_update=False,
            stat_update=False,
            max_error=self.max_errors,
        )

    def begin_statements(self) -> list[LockTables]:
        return [LockTables(LOADS, *STAGING_TABLES)]

    def maintenance(self, tables: Sequence[sa.Table], *, vacuum: bool = False
                    ) -> list[TableMaintenance]:
        # COPY runs with STATUPDATE OFF: statistics are refreshed once, after the commit.
        verbs = ["ANALYZE", "VACUUM"] if vacuum else ["ANALYZE"]
        return [TableMaintenance(v, t) for v in verbs for t in tables]

    def after_staging(self, tables: Sequence[sa.Table]) -> list[TableMaintenance]:
        # COPY ran with STATUPDATE OFF: the transform's planner gets statistics here.
        return [TableMaintenance("ANALYZE", t) for t in tables]

    def stage(self, conn: sa.Connection, request: StageRequest, load_id: int,
              first_error_no: int, progress: Progress) -> StageCounts:
        manifest = None
        if request.listed:
            if not request.files:
                progress(request.what, 0, 0)
                return StageCounts()
            manifest = self.manifest_uri(request, load_id)
            s3.write_manifest(manifest, [f.remote for f in request.files], self.reader.client())
        conn.execute(self.copy(request, manifest))
        loaded, rejected = conn.execute(last_copy_counts()).one()
        if rejected:
            conn.execute(keep_copy_errors(request, load_id, first_error_no))
        progress(request.what, 1, 1)
        return StageCounts(read=int(loaded) + int(rejected), rejected=int(rejected))

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        manifest = None
        if request.listed:
            if not request.files:
                yield f"-- {request.what}: no new files to COPY"
                return
            manifest = self.manifest_uri(request, 0).replace("load-0-", "load-<id>-")
            body = s3.manifest_body([f.remote for f in request.files])
            yield f"-- manifest {manifest}:\n" + "\n".join(
                "-- " + line for line in body.splitlines())
        yield self.compile(self.copy(request, manifest), dialect)
        yield self.compile(last_copy_counts(), dialect)
        yield self.compile(keep_copy_errors(request, 0, 1), dialect)

    def failed_copy_errors(self, conn: sa.Connection, limit: int) -> list[dict[str, object]]:
        rows = conn.execute(copy_errors_select().limit(limit)).mappings().all()
        return [dict(r) for r in rows]


# Redshift's record of rejected rows, per COPY (the ``query`` column is the COPY's id).
STL_LOAD_ERRORS = sa.table(
    "stl_load_errors",
    sa.column("query", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("line_number", sa.BigInteger),
    sa.column("colname", sa.String),
    sa.column("err_reason", sa.String),
    sa.column("raw_line", sa.String),
)


def _this_copy() -> sa.ColumnElement[bool]:
    return STL_LOAD_ERRORS.c.query == sa.func.pg_last_copy_id()


def last_copy_counts() -> sa.Select[Any]:
    """Rows the last COPY loaded and rejected, in this session."""
    rejected = sa.select(sa.func.count()).select_from(STL_LOAD_ERRORS).where(_this_copy())
    return sa.select(sa.func.pg_last_copy_count(), rejected.scalar_subquery())


def copy_errors_select() -> sa.Select[Any]:
    e = STL_LOAD_ERRORS.c
    reason = sa.func.trim(e.colname) + sa.literal(": ", sa.Text) + sa.func.trim(e.err_reason)
    return (sa.select(sa.func.trim(e.filename).label("source"), e.line_number.label("line_no"),
                      reason.label("reason"),
                      sa.func.substr(e.raw_line, 1, RAW_TEXT_CHARS).label("raw_text"))
            .where(_this_copy()).order_by(e.filename, e.line_number))


def keep_copy_errors(request: StageRequest, load_id: int, first_error_no: int) -> sa.Insert:
    errors = copy_errors_select().subquery("e")
    number = sa.func.row_number().over(order_by=(errors.c.source, errors.c.line_no)) + (
        first_error_no - 1)
    table = sa.literal(str(request.table.name), sa.Text)
    select = sa.select(sa.literal(load_id, sa.Integer), number, table,
                       errors.c.source, errors.c.line_no, sa.func.substr(errors.c.reason, 1, 256),
                       errors.c.raw_text)
    return sa.insert(LOAD_ERRORS).from_select(
        ["load_id", "error_no", "table_name", "source", "line_no", "reason", "raw_text"], select)


BACKEND = RedshiftBackend
