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
from typing import Literal

import sqlalchemy as sa

from sparkify_dw.backends.plan import InsertInChunks, Step
from sparkify_dw.backends.requests import Selection, check_schemes, staging_requests
from sparkify_dw.config import Settings
from sparkify_dw.errors import LockBusy as LockBusy
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


Phase = Literal["begin", "staged", "transform", "transformed", "committed"]
"""Where a load asks an engine for steps of its own (:meth:`Backend.load_plan`): as its
transaction begins, once staging is filled, around the transform's statements, and after
the commit (statistics, VACUUM)."""


class Backend(ABC):
    """One engine behind the contract the loader and the readers call: ``requests``,
    ``stage_plan``, ``load_plan``, ``bulk_insert``, ``load_session``,
    ``failed_copy_errors``, ``reading`` and ``read_engine``. An engine adapts two hooks
    besides: :meth:`connect` (DuckDB's lock is its connection) and :meth:`lock`
    (PostgreSQL's advisory lock); Redshift's LOCK is a step of its ``load_plan("begin")``,
    since it holds only for the transaction."""

    name: str  # the URL's backend name (``duckdb://``)
    title: str  # as a user writes it, in messages
    capabilities: Capabilities = Capabilities()

    def __init__(self, settings: Settings, max_errors: int = 0, wait: float = 600.0) -> None:
        self.settings = settings
        self.max_errors = max_errors  # records a load may reject and still succeed
        self.wait = wait  # seconds to wait behind another load: given once, here
        self.reader = Reader.of(settings)

    def waiting(self, wait: float) -> Backend:
        """The same backend waiting ``wait`` seconds instead (a failed load's ledger row
        waits less for a fresh connection than the load did)."""
        return type(self)(self.settings, self.max_errors, wait)

    # --- what the loader calls ---------------------------------------------------------

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
        (:func:`sparkify_dw.backends.plan.execute`) and ``--dry-run`` prints them."""

    def load_plan(
        self, phase: Phase, tables: Sequence[sa.Table] = (), *, vacuum: bool = False
    ) -> list[Step]:
        """The engine's own steps at ``phase`` of a load (``tables``: those the load
        filled or changed; ``vacuum``: asked for after the commit). None by default."""
        return []

    def bulk_insert(
        self, table: sa.Table, rows: Iterable[dict[str, object]], count: int
    ) -> list[Step]:
        """The steps that append ``rows`` (``count`` of them: one per staged file in
        ``load_files``, there may be 385k) to ``table``: INSERTs of a thousand rows each,
        by default."""
        return [InsertInChunks(table, rows, FILE_ROWS_PER_STATEMENT)]

    @contextmanager
    def load_session(
        self,
        engine: sa.Engine,
        before_lock: Callable[[sa.Connection], None] | None = None,
    ) -> Iterator[sa.Connection]:
        """The load's connection, holding the warehouse's load lock (one load at a time),
        waiting up to :attr:`wait` seconds for another load: the only way the loader
        connects. ``before_lock`` checks the connection before the wait (the schema's
        revision), and its transaction is ended before the lock."""
        with self.connect(engine) as conn:
            if before_lock is not None:
                before_lock(conn)
                conn.commit()
            with self.lock(conn):
                yield conn

    def failed_copy_errors(
        self, conn: sa.Connection, limit: int, failure: BaseException
    ) -> list[dict[str, object]]:
        """After staging failed (``failure``) and was rolled back: the records the engine
        rejected, where it keeps them outside the transaction (``rejects_reported_by ==
        "engine"``); what finds them travels on the exception."""
        return []

    # --- what the readers call ---------------------------------------------------------

    @contextmanager
    def reading(self, engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
        """A connection that only reads, waiting at most :attr:`wait` seconds behind a
        load; from ``engine`` when given (the caller's to dispose of), else a
        :meth:`read_engine`'s."""
        own = engine is None
        bind = self.read_engine() if engine is None else engine
        try:
            with self.connect(bind, reading=True) as conn:
                yield conn
        finally:
            if own:
                bind.dispose()

    def read_engine(self, *, analysis: bool = False, read_only: bool = True) -> sa.Engine:
        """An engine for commands that only read (history, errors, check, analytics), with
        no pool. ``analysis``: for notebooks and pandas, each of whose connections waits
        at most :attr:`wait` seconds behind a running load; ``read_only=False`` lets it
        write (a notebook's own tables)."""
        return self.settings.create_engine(poolclass=sa.pool.NullPool)

    # --- hooks an engine adapts --------------------------------------------------------

    def connect(self, engine: sa.Engine, *, reading: bool = False) -> sa.Connection:
        """A connection for a load (``reading``: for a reader), refused in one line when
        it can't serve one."""
        return engine.connect()

    def lock(self, conn: sa.Connection) -> AbstractContextManager[None]:
        """Hold the warehouse's load lock while a load runs, waiting up to :attr:`wait`."""
        return nullcontext()
