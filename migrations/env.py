"""Alembic environment: the library's models and the library's configuration."""

from alembic import context

from sparkify_dw import engines, schema
from sparkify_dw.config import ConfigError
from sparkify_dw.models import metadata

target_metadata = metadata

connection = context.config.attributes.get("connection")  # shared by schema.upgrade()
try:
    url = context.config.attributes.get("url") or (
        connection.engine.url if connection is not None else
        schema.url_for_alembic(context.get_x_argument(as_dictionary=True).get("url")))
except ConfigError as exc:
    raise SystemExit(f"error: {exc}") from None

options = {"target_metadata": target_metadata, **schema.COMPARE_OPTIONS}

if context.is_offline_mode():
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
                      **options)
    engines.adapt_dialect(context.get_context().dialect)  # Redshift: no RETURNING
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = schema.create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
