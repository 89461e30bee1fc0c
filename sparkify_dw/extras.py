"""What each pip extra brings, and the one line that names a missing one.

``pip install sparkify_dw`` is the DuckDB warehouse alone; every other engine and feature
is an extra (setup.cfg, README "Install"). Asking for one whose extra is not installed is
refused here, before anything connects or is written, as one :class:`MissingExtra` line
naming what to install (exit 2), instead of an ``ImportError`` traceback from deep inside
SQLAlchemy or boto3.
"""

from __future__ import annotations

import importlib.util
import warnings

from sparkify_dw.errors import ConfigError

# The top-level modules each extra installs (setup.cfg's extras_require, by import name).
EXTRAS: dict[str, tuple[str, ...]] = {
    "postgres": ("psycopg",),
    "redshift": ("sqlalchemy_redshift", "redshift_connector", "boto3"),
    "s3": ("boto3",),
    "cluster": ("boto3", "configupdater"),
    "docs": ("jinja2", "sqlalchemy_redshift", "sqlparse"),  # Redshift's physical design; SQL layout
}
# The extra each database URL's backend needs (DuckDB needs none).
BACKEND_EXTRAS = {"postgresql": "postgres", "redshift": "redshift"}


class MissingExtra(ConfigError):
    """A backend or feature whose pip extra is not installed: one line naming the extra."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a ``None`` in
    ``sys.modules``, which blocks an import, counts as missing)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` is installed."""
    if not all(installed(module) for module in EXTRAS[extra]):
        raise MissingExtra(f"{what} needs its extra: pip install 'sparkify_dw[{extra}]'")


def require_backend(backend: str) -> None:
    """The extra of a database URL's backend (``postgresql``, ``redshift``), if it has one."""
    extra = BACKEND_EXTRAS.get(backend)
    if extra is not None:
        require(extra, f"the {backend} backend")


def quiet_redshift_options() -> None:
    """Without sqlalchemy-redshift, SQLAlchemy can't validate the models' Redshift options
    (``redshift_diststyle``, ``redshift_encode``…) and warns once per table and column.
    They only matter on Redshift, which needs that extra anyway: the warning is dropped."""
    if not installed("sqlalchemy_redshift"):
        warnings.filterwarnings(
            "ignore",
            message=r"Can't validate argument 'redshift_\w+'; can't locate any SQLAlchemy "
            r"dialect named 'redshift'",
        )
