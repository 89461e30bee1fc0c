"""``--dry-run``: the load's own code, run against a connection that sends nothing.

Why: a dry run that builds its statements separately from the load drifts from it. Here
the loader runs its usual steps on :class:`DryConnection`, which compiles each statement
exactly as the driver would receive it (text in the driver's parameter style, and the
bound values) and records it; results are empty. Side effects outside the database (a
COPY manifest written to S3) are recorded as notes instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

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

    def render(self) -> str:
        """The statement and its parameters as ``--dry-run`` prints them."""
        if self.is_note:
            return "\n".join("-- " + line if line else "--" for line in self.text.splitlines())
        text = self.text.rstrip().rstrip(";") + ";"
        if self.parameters:
            text += f"\n-- parameters: {self.parameters!r}"
        return text


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


class _DryResult:
    """An empty result shaped like the statement's: zeros where a row is expected."""

    rowcount = 0

    def __init__(self, width: int) -> None:
        self.width = width

    def scalar(self) -> None:
        return None

    def scalar_one(self) -> int:
        return 0

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
        return _DryResult(len(selected) if selected is not None else 0)

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
