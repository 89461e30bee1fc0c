"""sparkify_dw: Sparkify's data warehouse, defined once, loaded the same way on DuckDB,
PostgreSQL and Amazon Redshift."""

__version__ = "0.1.0"
