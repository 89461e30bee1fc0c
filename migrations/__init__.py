"""The warehouse's Alembic migrations, shipped inside the package as sparkify_dw.migrations."""
