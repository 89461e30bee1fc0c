"""DuckDB, the embedded default: its JSON reader parses the files in the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from sparkify_dw.backends import Backend, Progress
from sparkify_dw.constructs import json_records
from sparkify_dw.sources import list_files
from sparkify_dw.staging import StageRequest, insert_typed

BATCH_BYTES = 256 * 1024 * 1024  # files per statement: progress without losing the scan's speed


def _batches(files: list[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for f in files:
        batch.append(f)
        size += f.stat().st_size
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _statement(request: StageRequest, files: list[Path]) -> sa.Insert:
    reader = json_records([str(f.resolve()) for f in files]).table_valued("json").alias("raw")
    return insert_typed(request, reader.c.json, reader)


class DuckDBBackend(Backend):
    name = "duckdb"

    def stage(self, conn: sa.Connection, request: StageRequest, progress: Progress) -> None:
        files = list_files(request.source, request.what)
        done = 0
        for batch in _batches(files):
            conn.execute(_statement(request, batch))
            done += len(batch)
            progress(request.what, done, len(files))

    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        files = list_files(request.source, request.what)
        for batch in _batches(files):
            stmt = _statement(request, batch)
            yield str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


BACKEND = DuckDBBackend
