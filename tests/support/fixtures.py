"""The suite's warehouses, as a pytest plugin (loaded by ``tests/conftest.py``).

Migrating a warehouse costs more than copying one, and loading the sample more still, so
each is done once per session (per xdist worker) and copied per test:

- ``duckdb_url`` / ``pg_url``: a new, empty database (migration tests start from nothing);
- ``warehouse_url``: an empty warehouse at the Alembic head, on each backend, copied from a
  migrated template (a DuckDB file copy, PostgreSQL's ``CREATE DATABASE … TEMPLATE``);
- ``loaded_url``: a warehouse holding the loaded sample, on each backend, copied the same
  way: a test may write to its own copy;
- ``sample_warehouse``: one loaded sample per backend for the whole session, which read-only
  tests share; PostgreSQL's is read-only for every session, DuckDB's is opened read-only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, schema

PG_ENV = "SPARKIFY_DW_TEST_PG_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
SAMPLE = config.SAMPLE_DIR
BACKENDS = ("duckdb", "postgresql")


# --- PostgreSQL: the server, new databases, copies of a template -----------------------------


def pg_unavailable() -> str | None:
    """Why the PostgreSQL tests can't run here, or None when the server answers."""
    text = os.environ.get(PG_ENV)
    if not text:
        return f"they need ${PG_ENV} (e.g. postgresql+psycopg://root@127.0.0.1/postgres)"
    url = sa.make_url(text)
    try:
        with sa.create_engine(url, poolclass=sa.pool.NullPool).connect():
            return None
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {url.render_as_string()} is not answering: {exc.orig}".strip()


def _pg_admin_url() -> sa.URL:
    reason = pg_unavailable()
    if reason is None:
        return sa.make_url(os.environ[PG_ENV])
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _admin(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _new_name(kind: str) -> str:
    return f"sdw_{kind}_{uuid.uuid4().hex[:12]}"


class PgDatabases:
    """Creates and drops the session's databases on one server."""

    def __init__(self, admin_url: sa.URL) -> None:
        self.admin_url = admin_url

    def create(
        self, *, template: str | None = None, kind: str = "test", options: str = ""
    ) -> sa.URL:
        """A new database; ``options`` are CREATE DATABASE's own (``ENCODING 'LATIN1' …``)."""
        name = _new_name(kind)
        clause = f' TEMPLATE "{template}"' if template else ""
        with _admin(self.admin_url).connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clause} {options}'.rstrip())
        return self.admin_url.set(database=name)

    def drop(self, url: sa.URL) -> None:
        with _admin(self.admin_url).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    @contextlib.contextmanager
    def database(
        self, template: sa.URL | None = None, kind: str = "test", options: str = ""
    ) -> Iterator[sa.URL]:
        """A new database (a copy of ``template``, or made with CREATE DATABASE's
        ``options``), dropped when the block ends."""
        url = self.create(
            template=template.database if template else None, kind=kind, options=options
        )
        try:
            yield url
        finally:
            self.drop(url)


@pytest.fixture(scope="session")
def pg_admin_url() -> sa.URL:
    return _pg_admin_url()


@pytest.fixture(scope="session")
def pg_databases(pg_admin_url: sa.URL) -> PgDatabases:
    return PgDatabases(pg_admin_url)


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> Iterator[sa.URL]:
    """A new, empty PostgreSQL database, dropped after the test."""
    with pg_databases.database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_databases: PgDatabases) -> Iterator[sa.URL]:
    """A PostgreSQL database at the Alembic head that only ever serves as a template."""
    with pg_databases.database(kind="template") as url:
        schema.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def pg_sample_template(pg_databases: PgDatabases, pg_template: sa.URL) -> Iterator[sa.URL]:
    """A copy of the template holding the loaded sample, itself a template."""
    from tests.support.helpers import run_load

    with pg_databases.database(pg_template, kind="sample") as url:
        run_load(url)
        yield url


@pytest.fixture
def pg_warehouse_url(pg_databases: PgDatabases, pg_template: sa.URL) -> Iterator[sa.URL]:
    """A new PostgreSQL warehouse at the head, copied from the template."""
    with pg_databases.database(pg_template) as url:
        yield url


@pytest.fixture
def pg_loaded_url(pg_databases: PgDatabases, pg_sample_template: sa.URL) -> Iterator[sa.URL]:
    """A new PostgreSQL warehouse holding the loaded sample, the test's own to write."""
    with pg_databases.database(pg_sample_template) as url:
        yield url


# A linguistic collation: 'apple' sorts before 'Banana' (bytes put 'B' first).
ICU_EN_US = "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0"


@pytest.fixture(scope="session")
def pg_icu_template(pg_databases: PgDatabases) -> Iterator[sa.URL]:
    """A PostgreSQL warehouse at the head in a database collated by ICU's en-US, a template."""
    with pg_databases.database(kind="icu", options=ICU_EN_US) as url:
        schema.upgrade(url)
        yield url


@pytest.fixture
def pg_icu_warehouse_url(pg_databases: PgDatabases, pg_icu_template: sa.URL) -> Iterator[sa.URL]:
    """A new PostgreSQL warehouse at the head whose database collation is ICU's en-US."""
    with pg_databases.database(pg_icu_template) as url:
        yield url


@pytest.fixture(scope="session")
def pg_sample_warehouse(pg_databases: PgDatabases, pg_sample_template: sa.URL) -> Iterator[sa.URL]:
    """The loaded sample that read-only tests share: every transaction on it is read-only."""
    with pg_databases.database(pg_sample_template, kind="shared") as url:
        with _admin(pg_databases.admin_url).connect() as conn:
            conn.exec_driver_sql(
                f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on'
            )
        yield url


# --- DuckDB: a file, copies of a file ---------------------------------------------------------


def _duckdb_file(url: sa.URL) -> Path:
    return Path(url.database or "")


def _copy_duckdb(template: sa.URL, dest: Path) -> sa.URL:
    source = _duckdb_file(template)
    # Closed cleanly, a DuckDB database is one file: no write-ahead log to carry along.
    assert not source.with_name(source.name + ".wal").exists(), source
    shutil.copyfile(source, dest)
    return sa.URL.create("duckdb", database=str(dest))


@pytest.fixture
def duckdb_url(tmp_path: Path) -> sa.URL:
    """A DuckDB file that does not exist yet."""
    return sa.URL.create("duckdb", database=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture(scope="session")
def duckdb_template(tmp_path_factory: pytest.TempPathFactory) -> sa.URL:
    url = sa.URL.create(
        "duckdb", database=str(tmp_path_factory.mktemp("template") / "template.duckdb")
    )
    schema.upgrade(url)
    return url


@pytest.fixture(scope="session")
def duckdb_sample_template(
    tmp_path_factory: pytest.TempPathFactory, duckdb_template: sa.URL
) -> sa.URL:
    from tests.support.helpers import run_load

    url = _copy_duckdb(duckdb_template, tmp_path_factory.mktemp("sample") / "sample.duckdb")
    run_load(url)
    return url


@pytest.fixture
def duckdb_warehouse_url(tmp_path: Path, duckdb_template: sa.URL) -> sa.URL:
    """A DuckDB warehouse at the head, copied from the template."""
    return _copy_duckdb(duckdb_template, tmp_path / "warehouse.duckdb")


@pytest.fixture
def duckdb_loaded_url(tmp_path: Path, duckdb_sample_template: sa.URL) -> sa.URL:
    """A DuckDB warehouse holding the loaded sample, the test's own to write."""
    return _copy_duckdb(duckdb_sample_template, tmp_path / "warehouse.duckdb")


@pytest.fixture(scope="session")
def duckdb_sample_warehouse(duckdb_sample_template: sa.URL) -> sa.URL:
    """The loaded sample that read-only tests share, opened read-only."""
    return duckdb_sample_template.update_query_dict({"access_mode": "read_only"})


# --- on each backend ---------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def warehouse_url(request: pytest.FixtureRequest) -> sa.URL:
    """An empty warehouse at the Alembic head, on each backend."""
    url: sa.URL = request.getfixturevalue(f"{_prefix(request.param)}_warehouse_url")
    return url


@pytest.fixture(params=BACKENDS)
def loaded_url(request: pytest.FixtureRequest) -> sa.URL:
    """A warehouse holding the loaded sample, on each backend: the test's own copy."""
    url: sa.URL = request.getfixturevalue(f"{_prefix(request.param)}_loaded_url")
    return url


@pytest.fixture(params=BACKENDS)
def sample_warehouse(request: pytest.FixtureRequest) -> sa.URL:
    """The loaded sample on each backend, shared by the session: read it, never write it."""
    url: sa.URL = request.getfixturevalue(f"{_prefix(request.param)}_sample_warehouse")
    return url


def _prefix(backend: str) -> str:
    return "pg" if backend == "postgresql" else backend


# --- every test ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's environment or a dwh.cfg lying around."""
    for name in (
        config.ENV_URL,
        config.ENV_CONFIG,
        config.ENV_LOG_DATA,
        config.ENV_SONG_DATA,
        config.ENV_LOG_JSONPATH,
        config.ENV_S3_ENDPOINT,
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
