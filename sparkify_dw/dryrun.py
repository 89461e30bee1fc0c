"""``--dry-run``: the load's own code, run against a connection that sends nothing.

Why: a dry run that builds its statements separately from the load drifts from it. Here
the loader runs its usual steps on :class:`DryConnection`, which compiles each statement
exactly as the driver would receive it (text in the driver's parameter style, and the
bound values) and records it; results are empty. Side effects outside the database (a
COPY manifest written to S3) are recorded as notes instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class Sent:
    """One statement as the driver receives it, or a note (``parameters`` is None)."""

    text: str
    parameters: tuple[Any, ...] | dict[str, Any] | None = ()

    @property
    def is_note(self) -> bool:
        return self.parameters is None

    def render(self, mask: Callable[[str], str] = str) -> str:
        """The statement and its parameters as ``--dry-run`` prints them, ``mask`` applied
        to each text parameter only: SQL is never masked, so a password that is also a
        word of it (``LOCK``, ``s3``) can't turn the statement into ``***``."""
        if self.is_note:  # free text, not SQL: masked whole
            return "\n".join(
                "-- " + line if line else "--" for line in mask(self.text).splitlines()
            )
        text = self.text.rstrip().rstrip(";") + ";"
        if self.parameters:
            text += f"\n-- parameters: {_masked(self.parameters, mask)!r}"
        return text


def _masked(
    parameters: tuple[Any, ...] | dict[str, Any], mask: Callable[[str], str]
) -> tuple[Any, ...] | dict[str, Any]:
    if isinstance(parameters, dict):
        return {k: mask(v) if isinstance(v, str) else v for k, v in parameters.items()}
    return tuple(mask(v) if isinstance(v, str) else v for v in parameters)


def as_sent(
    statement: ClauseElement, dialect: sa.Dialect, parameters: dict[str, Any] | None = None
) -> Sent:
    """``statement`` compiled as the driver gets it: final text (expanded IN lists and
    literal-execute values included) and the processed parameter values in order."""
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        return Sent(str(compiled).strip(), ())
    state = compiled.construct_expanded_state(parameters)
    processors = state.processors
    if dialect.positional:
        names = state.positiontup or []
        values: tuple[Any, ...] | dict[str, Any] = tuple(
            processors[n](state.parameters[n]) if n in processors else state.parameters[n]
            for n in names
        )
    else:
        values = {
            n: processors[n](v) if n in processors else v for n, v in state.parameters.items()
        }
    return Sent(state.statement.strip(), values)


class Placeholder(int):
    """A value only the server can give (a new load's id, a COPY's query id): 0 to the
    code that runs on, ``<name>`` where ``--dry-run`` prints it, so no made-up number is
    shown as if it were the one a load would send."""

    name: str

    def __new__(cls, name: str) -> Placeholder:
        value = super().__new__(cls, 0)
        value.name = name
        return value

    def __repr__(self) -> str:
        return f"<{self.name}>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return True  # stands for a value that exists, whatever it is


class _DryResult:
    """An empty result shaped like the statement's: zeros where a row is expected, and a
    :class:`Placeholder` named by the column where one value is."""

    rowcount = 0

    def __init__(self, columns: Sequence[str]) -> None:
        self.width = len(columns)
        self.columns = columns

    def scalar(self) -> None:
        return None

    def scalar_one(self) -> int:
        return Placeholder(self.columns[0] if self.columns else "value")

    def one(self) -> tuple[int, ...]:
        return (0,) * self.width

    def all(self) -> list[Any]:
        return []

    def first(self) -> None:
        return None

    def mappings(self) -> _DryResult:
        return self

    def scalars(self) -> _DryResult:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class DryConnection:
    """Stands in for the load's :class:`sqlalchemy.Connection`: records, never sends."""

    dry = True
    closed = False
    invalidated = False

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self.sent: list[Sent] = []

    def execute(
        self,
        statement: ClauseElement,
        parameters: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        execution_options: dict[str, Any] | None = None,
    ) -> _DryResult:
        if isinstance(parameters, dict) or parameters is None:
            self.sent.append(as_sent(statement, self.dialect, parameters))
        else:
            self.sent.extend(as_sent(statement, self.dialect, p) for p in parameters)
        selected = getattr(statement, "selected_columns", None)
        return _DryResult([str(c.key) for c in selected] if selected is not None else [])

    def note(self, text: str) -> None:
        """A step outside the database (e.g. a manifest written to S3), shown as a comment."""
        self.sent.append(Sent(text, None))

    def begin(self) -> AbstractContextManager[None]:
        return nullcontext()

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def execution_options(self, **_: Any) -> DryConnection:
        return self


def recording(dialect: sa.Dialect) -> tuple[sa.Connection, list[Sent]]:
    """A connection that records what the load's code sends, for ``dialect``, and the list
    it records into: what ``--dry-run`` prints."""
    conn = DryConnection(dialect)
    return cast(sa.Connection, conn), conn.sent
