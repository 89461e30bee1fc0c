"""PostgreSQL: records streamed verbatim by a client-side COPY, parsed by PostgreSQL.

The server can't read the client's files, so Python frames the JSON values (see
:func:`sparkify_dw.sources.iter_records`) and streams each one's text unchanged into a
temporary table; PostgreSQL's JSON functions then type them into staging with the
same expression DuckDB uses. Client memory stays at one record.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from sparkify_dw.backends import Backend, Progress
from sparkify_dw.constructs import copy_from_stdin
from sparkify_dw.sources import RecordError, SourceError, iter_records, list_files
from sparkify_dw.staging import StageRequest, insert_typed

_raw_metadata = sa.MetaData()
RAW = sa.Table(
    "raw_records",
    _raw_metadata,
    sa.Column("file_id", sa.Integer, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def _insert(request: StageRequest) -> sa.Insert:
    # Parse each record once (jsonb), behind an OFFSET 0 fence so the planner doesn't
    # inline the cast into every field's expression.
    docs = sa.select(sa.cast(RAW.c.body, JSONB).label("doc")).offset(0).subquery("docs")
    return insert_typed(request, docs.c.doc, docs)


class PostgreSQLBackend(Backend):
    name = "postgresql"

    def stage(self, conn: sa.Connection, request: StageRequest, progress: Progress) -> None:
        files = list_files(request.source, request.what)
        RAW.create(conn)
        copy_sql = str(copy_from_stdin(RAW, ["file_id", "line_no", "body"]).compile(
            dialect=conn.dialect))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for file_id, path in enumerate(files):
            try:
                with path.open(encoding="utf-8-sig", newline="") as stream, \
                        cursor.copy(copy_sql) as copy:
                    for line_no, text in iter_records(stream):
                        copy.write_row((file_id, line_no, text))
            except RecordError as exc:
                raise SourceError(f"{path}:{exc.line}: {exc.reason}") from None
            except UnicodeDecodeError as exc:
                raise SourceError(f"{path}: not UTF-8 text ({exc.reason})") from None
            progress(request.what, file_id + 1, len(files))
        conn.execute(_insert(request))
        RAW.drop(conn)

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        files = list_files(request.source, request.what)
        yield str(sa.schema.CreateTable(RAW).compile(dialect=dialect)).strip()
        copy = copy_from_stdin(RAW, ["file_id", "line_no", "body"]).compile(dialect=dialect)
        yield f"{copy}  -- {len(files)} file(s) from {request.source}"
        yield str(_insert(request).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        yield f"DROP TABLE {RAW.name}"


BACKEND = PostgreSQLBackend
