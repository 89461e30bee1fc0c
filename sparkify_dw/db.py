"""Connections as the library's query functions take them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def connection(bind: sa.Connection | sa.Engine) -> Iterator[sa.Connection]:
    """A connection from an engine (closed after), or the connection given (left open):
    the library's query functions take either."""
    if isinstance(bind, sa.Engine):
        with bind.connect() as conn:
            yield conn
    else:
        yield bind


def row_counts(conn: sa.Connection, tables: Sequence[sa.Table]) -> dict[str, int]:
    """Rows per table, one COUNT(*) each (the check step's counts, ``status``, the docs)."""
    return {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in tables
    }
