"""The contract every backend implements: one narrow interface.

A backend declares what it can do (:class:`Capabilities`), builds its own staging
requests from the configuration, stages raw JSON into the staging tables (quarantining
the records it can't stage) and keeps two loads from running at once. The loader reads
the capabilities and calls the interface; it never asks which backend it talks to.
Everything after staging is dialect-neutral SQLAlchemy Core (see
:mod:`sparkify_dw.transform`). Each engine's package subclasses :class:`Backend` and
names itself in :mod:`sparkify_dw.backends.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sparkify_dw.backends.requests import Selection, check_schemes, staging_requests
from sparkify_dw.config import ConfigError, Settings
from sparkify_dw.errors import LockBusy as LockBusy
from sparkify_dw.models import LOAD_FILES
from sparkify_dw.sources import Reader
from sparkify_dw.staging import StageRequest

Progress = Callable[[str, int, int], None]  # (what, done, total)

FILE_ROWS_PER_STATEMENT = 1000


@dataclass
class StageCounts:
    """Records read from the sources and rejected: staged = read - rejected."""

    read: int = 0
    rejected: int = 0

    @property
    def staged(self) -> int:
        return self.read - self.rejected

    def __iadd__(self, other: StageCounts) -> StageCounts:
        self.read += other.read
        self.rejected += other.rejected
        return self


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared once; the loader reads this, never the name."""

    # Where it stages from: "file" (local paths, globs, file://) and/or "s3" (the client
    # fetches the objects, or the engine reads them itself, as COPY does).
    sources: frozenset[str] = frozenset({"file", "s3"})
    # Whether staging goes through a COPY manifest written under MANIFEST_PREFIX.
    needs_manifest: bool = False
    # Where rejected records are reported: "quarantine" (classified in SQL into
    # load_errors, in the load's transaction) or "engine" (the engine's own error log,
    # kept after a rollback, read by failed_copy_errors()).
    rejects_reported_by: str = "quarantine"
    # Whether stage() itself records what it would send on a dry run; otherwise the dry
    # run shows stage_statements().
    plans_staging: bool = False
    # Whether load_files rows go through the driver's bulk copy (shown, not compiled, on
    # a dry run) rather than compiled INSERTs.
    records_files_in_bulk: bool = False


class Backend(ABC):
    name: str  # the URL's backend name (``duckdb://``)
    title: str  # as a user writes it, in messages
    capabilities: Capabilities = Capabilities()

    def __init__(self, settings: Settings, max_errors: int = 0, wait: float = 600.0) -> None:
        self.settings = settings
        self.max_errors = max_errors  # records a load may reject and still succeed
        self.wait = wait  # seconds to wait for another load's lock
        self.reader = Reader(settings.region, settings.s3_endpoint)

    def requests(
        self, selection: Selection = Selection(), loaded: set[tuple[str, str]] | None = None
    ) -> list[StageRequest]:
        """The files this load stages, per staging table, refused in one line when the
        backend can't stage from where they are."""
        check_schemes(self.settings, self.capabilities.sources, self.title)
        if self.capabilities.needs_manifest and not self.settings.manifest_prefix:
            raise ConfigError(
                f"{self.title} COPYs through a manifest of the listed files: set "
                "[S3] MANIFEST_PREFIX in dwh.cfg or $SPARKIFY_DW_MANIFEST_PREFIX "
                "to an s3:// prefix the cluster's role can read and you can write"
            )
        return staging_requests(self.settings, self.reader, selection, loaded)

    @abstractmethod
    def stage(
        self,
        conn: sa.Connection,
        request: StageRequest,
        load_id: int,
        first_error_no: int,
        progress: Progress,
    ) -> StageCounts:
        """Append the good records of ``request.source`` to ``request.table`` and the bad
        ones to ``load_errors`` (numbered from ``first_error_no``)."""

    @abstractmethod
    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        """The statements :meth:`stage` runs, as text, for ``--dry-run``."""

    def connect(self, engine: sa.Engine, wait: float) -> sa.Connection:
        """A connection for the whole load (DuckDB's file lock is taken here)."""
        return engine.connect()

    def lock(self, conn: sa.Connection, wait: float) -> AbstractContextManager[None]:
        """Hold the warehouse's load lock while a load runs, waiting up to ``wait`` seconds."""
        return nullcontext()

    def require_warehouse(self) -> None:
        """Refuse, in one line, a warehouse that can't exist yet (DuckDB: a missing file,
        which opening would create empty); servers report their own."""
        return None

    def read_engine(self) -> sa.Engine:
        """An engine for commands that only read (history, errors, check, analytics)."""
        self.require_warehouse()
        return self.settings.create_engine(poolclass=sa.pool.NullPool)

    @contextmanager
    def reading(self, wait: float) -> Iterator[sa.Connection]:
        """A connection that only reads, waiting at most ``wait`` seconds behind a load."""
        engine = self.read_engine()
        try:
            with self.connect(engine, wait) as conn:
                self.read_session(conn, wait)
                yield conn
        finally:
            engine.dispose()

    def read_session(self, conn: sa.Connection, wait: float) -> None:
        """Prepare a reader's connection (``--history``, ``--errors``): wait at most
        ``wait`` seconds behind a running load. Only Redshift's readers can block."""
        return None

    def begin_statements(self) -> list[Any]:
        """Statements that open the load's transaction (Redshift takes its lock here)."""
        return []

    def begin_load(self, conn: sa.Connection) -> None:
        for statement in self.begin_statements():
            conn.execute(statement)

    def after_staging(self, tables: Sequence[sa.Table]) -> list[Any]:
        """Statements in the load's transaction once staging is filled, before the transform."""
        return []

    def transform_session(self, conn: sa.Connection) -> AbstractContextManager[None]:
        """What the transform's statements run under in the load's transaction: nothing
        by default; PostgreSQL steers its planner away from a plan that would be
        quadratic on a first load."""
        return nullcontext()

    def record_files(self, conn: sa.Connection, rows: Iterable[dict[str, object]]) -> None:
        """Append ``rows`` to ``load_files`` (one per staged file: there may be 385k)."""
        chunk: list[dict[str, object]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == FILE_ROWS_PER_STATEMENT:
                conn.execute(sa.insert(LOAD_FILES).values(chunk))
                chunk = []
        if chunk:
            conn.execute(sa.insert(LOAD_FILES).values(chunk))

    def maintenance(self, tables: Sequence[sa.Table], *, vacuum: bool = False) -> list[Any]:
        """Statements after a load's commit: fresh planner statistics where the engine
        needs them to be told (ANALYZE), VACUUM where asked and supported."""
        return []

    def failed_copy_errors(self, conn: sa.Connection, limit: int) -> list[dict[str, object]]:
        """After staging failed and was rolled back: the records the engine rejected, where
        it keeps them outside the transaction (``rejects_reported_by == "engine"``)."""
        return []

    @staticmethod
    def compile(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})).strip()
