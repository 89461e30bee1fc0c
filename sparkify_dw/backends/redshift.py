"""Amazon Redshift: COPY straight from S3, with sqlalchemy-redshift's ``CopyCommand``."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy_redshift.commands import CopyCommand, Format

from sparkify_dw.backends import Backend, Progress
from sparkify_dw.config import ConfigError, validate_source
from sparkify_dw.staging import StageRequest


class RedshiftBackend(Backend):
    name = "redshift"

    def copy(self, request: StageRequest) -> CopyCommand:
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
            data_location=request.source,
            iam_role_arns=[settings.iam_role_arn],
            format=Format.json,
            path_file=path_file,
            region=settings.region,
            blanks_as_null=True,
            empty_as_null=True,
            comp_update=False,
            stat_update=False,
        )

    def stage(self, conn: sa.Connection, request: StageRequest, progress: Progress) -> None:
        conn.execute(self.copy(request))
        progress(request.what, 1, 1)

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        yield str(self.copy(request).compile(dialect=dialect,
                                             compile_kwargs={"literal_binds": True}))


BACKEND = RedshiftBackend
