"""Staging as a plan: the ordered, typed steps a backend takes, which one runner executes
and ``--dry-run`` prints.

Why: a dry run that prints a separately written list of statements drifts from what the
load sends. A backend builds each request's plan once (``stage_plan``); :func:`execute`
runs it on the load's connection, or, on the dry run's recording connection, prints the
very same steps, each as the driver would receive it. Neither the loader nor a backend
asks which it is.

The careful path is a step too. :class:`Fallback` runs its fast steps under a savepoint
and, when they meet what only the careful path judges exactly, rolls back and runs the
careful ones; :class:`When` runs its steps only when a query says so. A dry run shows
both branches with the condition that chooses. Steps outside SQL (a client-side COPY, a
manifest written to S3, records framed by Python) are subclasses of :class:`Step` in the
engine's package; they print what they send, or a note saying what they do.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql import ClauseElement

from sparkify_dw.dryrun import DryConnection, Placeholder, Sent, as_sent

log = logging.getLogger(__name__)

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


def sent(statement: sa.Executable, dialect: sa.Dialect) -> Sent:
    """``statement`` as the driver receives it (:func:`~sparkify_dw.dryrun.as_sent`)."""
    return as_sent(cast(ClauseElement, statement), dialect)


@dataclass
class Run:
    """What the steps of one plan share while they run: the connection, the load's ids,
    the counts they build up and the values queries give later steps."""

    conn: sa.Connection
    load_id: int = 0
    first_error_no: int = 1
    progress: Progress = lambda what, done, total: None
    counts: StageCounts = field(default_factory=StageCounts)
    values: dict[str, Any] = field(default_factory=dict)


class Step(ABC):
    """One thing a plan does: :meth:`run` does it, :meth:`describe` says what it sends."""

    @abstractmethod
    def run(self, run: Run) -> None: ...

    @abstractmethod
    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        """What :meth:`run` sends, as the driver receives it; values only the server can
        give (a query's answer) are :class:`~sparkify_dw.dryrun.Placeholder` in
        ``run.values``."""


@dataclass(frozen=True)
class Sql(Step):
    """A statement; ``build`` makes it from values earlier steps found (a COPY's id)."""

    statement: sa.Executable | None = None
    build: Callable[[dict[str, Any]], sa.Executable] | None = None

    def _statement(self, values: dict[str, Any]) -> sa.Executable:
        if self.build is not None:
            return self.build(values)
        assert self.statement is not None
        return self.statement

    def run(self, run: Run) -> None:
        run.conn.execute(self._statement(run.values))

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield sent(self._statement(run.values), dialect)


@dataclass(frozen=True)
class Query(Step):
    """A statement whose first row's values later steps use, under ``keys``."""

    statement: sa.Executable
    keys: tuple[str, ...]

    def run(self, run: Run) -> None:
        row = run.conn.execute(self.statement).one()
        run.values.update(zip(self.keys, row, strict=True))

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        run.values.update({key: Placeholder(key) for key in self.keys})
        yield sent(self.statement, dialect)


@dataclass(frozen=True)
class Note(Step):
    """Nothing sent: what a dry run should say at this point."""

    text: str

    def run(self, run: Run) -> None:
        return None

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield Sent(self.text, None)


@dataclass(frozen=True)
class Call(Step):
    """Client-side work that sends nothing (a file checked, progress reported)."""

    action: Callable[[Run], None]
    says: str | None = None  # what a dry run should say it does, if anything

    def run(self, run: Run) -> None:
        self.action(run)

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        if self.says:
            yield Sent(self.says, None)


@dataclass(frozen=True)
class InsertInChunks(Step):
    """``rows`` into ``table`` as INSERTs of ``chunk`` rows each (the portable bulk path)."""

    table: sa.Table
    rows: Iterable[dict[str, object]]
    chunk: int

    def _inserts(self) -> Iterator[sa.Executable]:
        batch: list[dict[str, object]] = []
        for row in self.rows:
            batch.append(row)
            if len(batch) == self.chunk:
                yield sa.insert(self.table).values(batch)
                batch = []
        if batch:
            yield sa.insert(self.table).values(batch)

    def run(self, run: Run) -> None:
        for insert in self._inserts():
            run.conn.execute(insert)

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield from (sent(insert, dialect) for insert in self._inserts())


class BulkCopy(Step):
    """Rows into a table through the engine's bulk path, not statement by statement (a
    client-side COPY, a file the engine reads): each engine's package implements it."""


class PutObject(Step):
    """An object written to S3 before the statements that read it (a COPY's manifest)."""


@dataclass(frozen=True)
class When(Step):
    """``steps`` only when ``condition`` is true: a one-value query, or the name of a value
    an earlier :class:`Query` found; ``when`` says so."""

    condition: sa.Executable | str
    when: str
    steps: Sequence[Step]

    def run(self, run: Run) -> None:
        if isinstance(self.condition, str):
            holds = run.values[self.condition]
        else:
            holds = run.conn.execute(self.condition).scalar()
        if holds:
            run_steps(self.steps, run)

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        if not isinstance(self.condition, str):
            yield sent(self.condition, dialect)
        yield Sent(f"only {self.when}:", None)
        yield from describe(self.steps, run, dialect)


@dataclass(frozen=True)
class Fallback(Step):
    """``fast`` under a savepoint; when it meets what only the careful path judges
    exactly (``falls_back`` of the error says so), back to the savepoint and ``careful``."""

    when: str
    fast: Sequence[Step]
    careful: Sequence[Step]
    falls_back: Callable[[BaseException], bool]

    def run(self, run: Run) -> None:
        savepoint = run.conn.begin_nested()
        counts = StageCounts(run.counts.read, run.counts.rejected)
        try:
            run_steps(self.fast, run)
        except Exception as exc:
            if not self.falls_back(exc):
                raise
            savepoint.rollback()
            log.info("%s; the careful path instead", self.when)
            run.counts = counts
            run_steps(self.careful, run)
            return
        savepoint.commit()

    def describe(self, run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
        yield from describe(self.fast, run, dialect)
        yield Sent(f"if {self.when}: back to the savepoint, then instead:", None)
        yield from describe(self.careful, run, dialect)


def run_steps(steps: Iterable[Step], run: Run) -> None:
    for step in steps:
        step.run(run)


def describe(steps: Iterable[Step], run: Run, dialect: sa.Dialect) -> Iterator[Sent]:
    for step in steps:
        yield from step.describe(run, dialect)


def execute(steps: Sequence[Step], run: Run) -> StageCounts:
    """Run ``steps``, or on a dry run's recording connection print them: the one place
    that tells the two apart."""
    conn = run.conn
    if isinstance(conn, DryConnection):
        conn.sent.extend(describe(steps, run, conn.dialect))
    else:
        run_steps(steps, run)
    return run.counts
