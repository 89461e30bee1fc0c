"""Alembic environment: the library's models and the library's configuration.

The database comes from, in order: a connection shared by ``sparkify_dw.schema`` through
``config.attributes``, a URL given the same way, ``-x url=…`` on the command line, or the
library's configuration resolver. Logging follows ``alembic.ini`` when Alembic was started
with one, so each migration step prints a line.
"""

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from sparkify_dw import schema
from sparkify_dw.backends import registry
from sparkify_dw.config import env_secrets
from sparkify_dw.errors import ConfigError, SchemaError, one_line
from sparkify_dw.models import metadata
from sparkify_dw.secrets import mask, url_secrets

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

target_metadata = metadata
connection = config.attributes.get("connection")
try:
    url = config.attributes.get("url") or (
        connection.engine.url
        if connection is not None
        else schema.url_for_alembic(context.get_x_argument(as_dictionary=True).get("url"))
    )
    engine_info = registry.prepare(sa.make_url(url))  # its extra, dialect and impl; offline too
except ConfigError as exc:
    raise SystemExit(f"error: {exc}") from None

options = {"target_metadata": target_metadata, **schema.COMPARE_OPTIONS}


def run_online(conn: sa.Connection) -> None:
    schema.check_connection(conn)  # before any table is created or changed
    # As the engine's package wants it (DuckDB: reflecting from DuckDB's own catalog).
    with engine_info.migrating(conn):
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=schema.alembic_url(url),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    run_online(connection)
else:
    engine = schema.create_engine(url)
    log.info("database %s", url.render_as_string(hide_password=True))
    try:
        with engine.connect() as conn:
            run_online(conn)
    except sa.exc.OperationalError as exc:
        # Unreachable server, refused login, missing database: one line, no password.
        raise SystemExit(
            "error: " + mask(one_line(exc), url_secrets(url) + env_secrets())
        ) from None
    except SchemaError as exc:
        if config.attributes.get("url") is not None:
            raise  # the library's own caller reports it (sparkify-dw upgrade: exit 2)
        raise SystemExit(f"error: {exc}") from None  # Alembic's command line: one line
    finally:
        engine.dispose()
