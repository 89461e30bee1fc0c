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
from typing import Any, Literal

import sqlalchemy as sa

from sparkify_dw.backends.plan import InsertInChunks, Step
from sparkify_dw.backends.requests import Selection, check_schemes, staging_requests
from sparkify_dw.config import Settings
from sparkify_dw.errors import LockBusy as LockBusy
from sparkify_dw.models import LOAD_FILES
from sparkify_dw.sources import Reader
from sparkify_dw.staging import StageRequest

FILE_ROWS_PER_STATEMENT = 1000

Source = Literal["file", "s3"]
Rejects = Literal["quarantine", "engine"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared once; the loader reads this, never the name."""

    # Where it stages from: "file" (local paths, globs, file://) and/or "s3" (the client
    # fetches the objects, or the engine reads them itself, as COPY does).
    sources: frozenset[Source] = frozenset({"file", "s3"})
    # Whether staging goes through a COPY manifest written under MANIFEST_PREFIX.
    needs_manifest: bool = False
    # Where rejected records are reported: "quarantine" (classified in SQL into
    # load_errors, in the load's transaction) or "engine" (the engine's own error log,
    # kept after a rollback, read by failed_copy_errors()).
    rejects_reported_by: Rejects = "quarantine"


class Backend(ABC):
    name: str  # the URL's backend name (``duckdb://``)
    title: str  # as a user writes it, in messages
    capabilities: Capabilities = Capabilities()

    def __init__(self, settings: Settings, max_errors: int = 0, wait: float = 600.0) -> None:
        self.settings = settings
        self.max_errors = max_errors  # records a load may reject and still succeed
        self.wait = wait  # seconds to wait for another load's lock
        self.reader = Reader.of(settings)

    def requests(
        self, selection: Selection = Selection(), loaded: set[tuple[str, str]] | None = None
    ) -> list[StageRequest]:
        """The files this load stages, per staging table, refused in one line when the
        backend can't stage from where they are."""
        check_schemes(self.settings, self.capabilities.sources, self.title)
        return staging_requests(self.settings, self.reader, selection, loaded)

    @abstractmethod
    def stage_plan(self, request: StageRequest) -> list[Step]:
        """The steps that append the good records of ``request``'s files to
        ``request.table`` and the bad ones to ``load_errors``; the load runs them
        (:func:`~sparkify_dw.backends.plan.execute`), ``--dry-run`` prints them."""

    @contextmanager
    def load_session(
        self,
        engine: sa.Engine,
        wait: float | None = None,
        before_lock: Callable[[sa.Connection], None] | None = None,
    ) -> Iterator[sa.Connection]:
        """The load's connection, holding the warehouse's load lock (one load at a time),
        waiting up to ``wait`` seconds (the backend's own by default) for another load:
        the only way the loader connects. ``before_lock`` checks the connection before
        the wait (the schema's revision), and its transaction is ended before the lock."""
        wait = self.wait if wait is None else wait
        with self.open_session(engine, wait) as conn:
            if before_lock is not None:
                before_lock(conn)
                conn.commit()
            with self.hold_lock(conn, wait):
                yield conn

    # How a backend takes its lock: opening the connection (DuckDB: the file's lock),
    # holding a lock on it (PostgreSQL: an advisory lock), or in the load's transaction
    # (Redshift: LOCK, begin_statements). Only load_session and reading call these.

    def open_session(self, engine: sa.Engine, wait: float) -> sa.Connection:
        """A connection for the whole load (DuckDB's file lock is taken here)."""
        return engine.connect()

    def hold_lock(self, conn: sa.Connection, wait: float) -> AbstractContextManager[None]:
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

    def analysis_engine(self, wait: float, read_only: bool = True) -> sa.Engine:
        """An engine for analysis (notebooks, pandas) that never holds the warehouse between
        queries (no pool), reads only unless told, and waits at most ``wait`` seconds
        behind a running load (:meth:`read_session` on each connection)."""
        if read_only:
            engine = self.read_engine()
        else:
            self.require_warehouse()
            engine = self.settings.create_engine(poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "engine_connect")
        def bounded(conn: sa.Connection) -> None:
            self.read_session(conn, wait)

        return engine

    @contextmanager
    def reading(self, wait: float, engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
        """A connection that only reads, waiting at most ``wait`` seconds behind a load;
        from ``engine`` when given (the caller's to dispose of), else a :meth:`read_engine`."""
        own = engine is None
        bind = self.read_engine() if engine is None else engine
        try:
            with self.open_session(bind, wait) as conn:
                self.read_session(conn, wait)
                yield conn
        finally:
            if own:
                bind.dispose()

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

    def transform_plan(self) -> tuple[list[Step], list[Step]]:
        """Steps before and after the transform's statements, in the load's transaction:
        none by default; PostgreSQL steers its planner away from a plan that would be
        quadratic on a first load."""
        return [], []

    def files_plan(self, rows: Iterable[dict[str, object]], count: int) -> list[Step]:
        """The steps that append ``rows`` (``count`` of them: one per staged file, there
        may be 385k) to ``load_files``: INSERTs of a thousand rows each, by default."""
        return [InsertInChunks(LOAD_FILES, rows, FILE_ROWS_PER_STATEMENT)]

    def maintenance(self, tables: Sequence[sa.Table], *, vacuum: bool = False) -> list[Any]:
        """Statements after a load's commit: fresh planner statistics where the engine
        needs them to be told (ANALYZE), VACUUM where asked and supported."""
        return []

    def failed_copy_errors(
        self, conn: sa.Connection, limit: int, failure: BaseException
    ) -> list[dict[str, object]]:
        """After staging failed (``failure``) and was rolled back: the records the engine
        rejected, where it keeps them outside the transaction (``rejects_reported_by ==
        "engine"``); what finds them travels on the exception."""
        return []
