"""What the library hands to analysis: an Engine that never holds the warehouse open.

A DuckDB file has one writer at a time, and any open connection to it, even a read-only
one, keeps a writer out; a process holding a read-write connection keeps every other
process out. An analyst's notebook stays open all day, so nothing this module hands out
holds a connection between queries: :func:`connect` returns an :class:`~sqlalchemy.Engine`
with no pool (``NullPool``, from the backend's ``read_engine()``) that opens the file
read-only for each query and closes it after. A load (or ``sparkify-dw status``) started
while the notebook is idle finds the file free; one started during a query waits for that
query (the loader waits up to ``--wait`` seconds for the lock). A query started during a
load waits for the load (up to ``wait`` seconds) instead of failing with DuckDB's lock
error, and then sees the committed load. On PostgreSQL and Redshift readers never block a
load's writes; the engine runs read-only transactions (PostgreSQL) and bounds how long a
reader waits behind a load's lock (Redshift: a statement timeout on each connection).

How each engine keeps these promises is its backend's (``read_engine(analysis=True)``); on
DuckDB the engine reflects through the reflecting dialect (``duckdb+sparkify``), so
``pd.read_sql_table``, ``sa.inspect`` and ``Table(autoload_with=...)`` work on DuckDB as on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from sparkify_dw import backends
from sparkify_dw.config import Settings, resolve
from sparkify_dw.errors import ConfigError

__all__ = ["READ_WAIT", "Bind", "connect", "connection_for"]

READ_WAIT = 600.0  # seconds a query waits behind a running load, as the commands' --wait
MAX_WAIT = 86400.0  # a wait must end: a day at most, as the loader's

Bind = sa.Engine | sa.Connection


def _settings(url: str | sa.URL | None) -> Settings:
    """The configuration as the load resolves it, with ``url`` (if given) in front."""
    if isinstance(url, sa.URL):
        url = url.render_as_string(hide_password=False)
    return resolve(url=url)


def connect(
    url: str | sa.URL | None = None, read_only: bool = True, *, wait: float = READ_WAIT
) -> sa.Engine:
    """An Engine on the warehouse for pandas and SQLAlchemy, which never holds it open::

        engine = sparkify_dw.connect()
        pd.read_sql_table("songplays", engine)
        sa.inspect(engine).get_table_names()

    ``url``: a database URL; ``None`` resolves the configuration as the load does.
    ``read_only`` (the default): DuckDB opens the file read-only and PostgreSQL runs
    read-only transactions, so an analysis can't change the warehouse. ``False`` is for
    your own writes (e.g. a scratch table). Either way the engine has no pool: each
    query opens a connection and closes it, so an idle notebook never keeps a load out
    (DuckDB allows one writer per file, and any open connection keeps it out). A query
    while a load runs waits for it, up to ``wait`` seconds. Holding ``engine.connect()``
    open yourself does keep a load waiting: prefer ``with engine.connect() as conn:``.
    """
    if not (isinstance(wait, int | float) and 0 <= wait <= MAX_WAIT):  # nan and inf too
        raise ConfigError(f"wait: {wait!r} is not a number of seconds from 0 to {MAX_WAIT:.0f}")
    return backends.for_settings(_settings(url), wait=wait).read_engine(
        analysis=True, read_only=read_only
    )


@contextmanager
def connection_for(engine: Bind | None, url: str | sa.URL | None) -> Iterator[sa.Connection]:
    """A connection from ``engine`` (left as it was), from ``url`` or from the
    configuration (a :func:`connect` engine, disposed of after)."""
    if engine is not None and url is not None:
        raise ValueError("pass an engine or a url, not both")
    if isinstance(engine, sa.Connection):
        yield engine
        return
    own = engine is None
    bind = connect(url) if engine is None else engine
    try:
        with bind.connect() as conn:
            yield conn
    finally:
        if own:
            bind.dispose()
