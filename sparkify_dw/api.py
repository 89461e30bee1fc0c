"""The top-level API, as a notebook user first guesses it: ``sparkify_dw.load()``,
``connect()``, ``table()``, ``history()``, ``errors()``, ``check()`` (``sparkify_dw/__init__``
exposes them lazily, so ``import sparkify_dw`` stays cheap).

Each function takes an optional ``engine`` (or connection) or ``url``; with neither it
resolves the configuration as ``sparkify-dw load`` does (``SPARKIFY_DW_URL``, ``dwh.cfg``,
then the nearest ``./sparkify.duckdb``).

:func:`connect` and why it never holds the warehouse open: :mod:`sparkify_dw.reading`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from sparkify_dw import load as loader
from sparkify_dw.config import Settings, resolve
from sparkify_dw.errors import ConfigError
from sparkify_dw.reading import Bind, connection_for
from sparkify_dw.reading import connect as connect

if TYPE_CHECKING:
    import pandas as pd

    from sparkify_dw.checks import CheckResults
    from sparkify_dw.load_result import LoadResult

__all__ = ["check", "connect", "errors", "history", "load", "table"]


def table(
    name: str,
    *,
    limit: int | None = None,
    engine: Bind | None = None,
    url: str | sa.URL | None = None,
) -> pd.DataFrame:
    """A warehouse table as a DataFrame, ordered by its key: ``sparkify_dw.table("songplays")``.

    ``name``: one of the warehouse's tables (``songplays``, ``users``, ``songs``,
    ``artists``, ``time``, the staging tables and the ledger's ``loads``,
    ``load_errors``, ``load_files``). ``limit``: the first rows only. Dates and times come
    back as datetime64, decimals as floats (as every DataFrame the library returns).
    """
    from sparkify_dw.analytics.questions import _pandas, frame_of
    from sparkify_dw.models import Base

    tables = Base.metadata.tables
    if name not in tables:
        raise ConfigError(f"no table {name!r} in the warehouse: one of {', '.join(sorted(tables))}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, not {limit}")
    _pandas()  # before connecting: a missing pandas fails fast, naming its extra
    source = tables[name]
    stmt = sa.select(source).order_by(*(source.primary_key.columns or source.columns))
    if limit is not None:
        stmt = stmt.limit(limit)
    with connection_for(engine, url) as conn:
        result = conn.execute(stmt)
        columns = list(result.keys())
        rows = [tuple(r) for r in result.all()]
    return frame_of(rows, columns)


def history(
    limit: int | None = 20, *, engine: Bind | None = None, url: str | sa.URL | None = None
) -> pd.DataFrame:
    """The load ledger, newest first, as a DataFrame: one row per load (``limit`` of
    them; ``None`` for all), with its status, counts and message, as ``sparkify-dw
    history`` shows them."""
    from sparkify_dw import ledger

    with connection_for(engine, url) as conn:
        return ledger.history(conn, limit, as_frame=True)


def errors(
    load_id: int | None = None, *, engine: Bind | None = None, url: str | sa.URL | None = None
) -> pd.DataFrame:
    """The records load ``load_id`` rejected (default: the latest load), in file order, as
    a DataFrame: where each was (source, line) and why. :class:`~sparkify_dw.errors.
    NoSuchLoad` for a load the ledger doesn't have."""
    from sparkify_dw import ledger

    with connection_for(engine, url) as conn:
        return ledger.errors(conn, load_id, as_frame=True)


def check(
    names: Sequence[str] | None = None,
    *,
    engine: Bind | None = None,
    url: str | sa.URL | None = None,
) -> CheckResults:
    """Run the data-quality checks (all, or those named) in the warehouse, as ``sparkify-dw
    check`` does. The results are a list of :class:`~sparkify_dw.checks.CheckResult`;
    ``.passed`` says whether all passed and ``.as_frame()`` gives a DataFrame (one row per
    check: name, offenders, passed, samples)."""
    from sparkify_dw import checks

    with connection_for(engine, url) as conn:
        return checks.run_checks(conn, names)


def load(
    engine: sa.Engine | None = None, settings: Settings | None = None, **options: Any
) -> LoadResult:
    """``sparkify_dw.load(...)`` is :func:`sparkify_dw.load.run` (its parameters, below),
    except that with no ``engine`` given the one it makes is closed when the load ends:
    ``run`` alone leaves its engine's pool holding the warehouse, and on DuckDB an open
    connection keeps every other process's load and reader out while the notebook lives.
    """
    if engine is not None:
        return loader.run(engine, settings, **options)
    resolved = settings
    given = [options.get(n) for n in ("url", "log_data", "song_data", "log_jsonpath")]
    if resolved is None or any(v is not None for v in given):
        url, log_data, song_data, log_jsonpath = (None if v is None else str(v) for v in given)
        resolved = resolve(
            url=url, log_data=log_data, song_data=song_data, log_jsonpath=log_jsonpath
        )
    own = resolved.create_engine(poolclass=sa.pool.NullPool)
    try:
        return loader.run(own, settings, **options)
    finally:
        own.dispose()


# help() and inspect show run's parameters and doc under load's own paragraph.
load.__signature__ = inspect.signature(loader.run)  # type: ignore[attr-defined]
load.__doc__ = f"{inspect.getdoc(load)}\n\n{inspect.getdoc(loader.run)}"
