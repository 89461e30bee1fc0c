"""What each pip extra brings, and the one line that names a missing one.

``pip install sparkify_dw`` is the DuckDB warehouse alone; every other engine and feature
is an extra (setup.cfg, README "Install"). Asking for one whose extra is not installed is
refused here, before anything connects or is written, as one :class:`MissingExtra` line
naming what to install (exit 2), instead of an ``ImportError`` traceback from deep inside
SQLAlchemy or boto3.
"""

from __future__ import annotations

import importlib.util

from sparkify_dw.errors import ConfigError

# The top-level modules each feature's extra installs (setup.cfg's extras_require, by
# import name). Each engine's extra is declared by its package (EngineInfo.extra).
EXTRAS: dict[str, tuple[str, ...]] = {
    "s3": ("boto3",),
    "cluster": ("boto3", "configupdater"),
    "docs": ("jinja2", "sqlalchemy_redshift", "sqlparse"),  # the physical design; SQL layout
}


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
