"""Is the warehouse fresh, and did the last load pass? :mod:`.freshness` reads it (what
``sparkify-dw status`` reports; :mod:`sparkify_dw.cli.status` is the command, and
``python -m sparkify_dw.status`` runs it through :mod:`.__main__`).

Names are loaded when first used, so ``python -m sparkify_dw.status --help`` imports no
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkify_dw.lazy import exports

if TYPE_CHECKING:
    from sparkify_dw.status.freshness import (
        EXIT_STALE,
        MAX_AGE,
        READ_WAIT,
        Status,
        format_age,
        gather,
        newest_event,
        parse_age,
        parse_now,
        readonly_engine,
        recent_loads,
        utcnow,
    )

__all__ = [
    "EXIT_STALE",
    "MAX_AGE",
    "READ_WAIT",
    "Status",
    "format_age",
    "gather",
    "newest_event",
    "parse_age",
    "parse_now",
    "readonly_engine",
    "recent_loads",
    "utcnow",
]


__getattr__ = exports(__name__, (__all__, "sparkify_dw.status.freshness"))
