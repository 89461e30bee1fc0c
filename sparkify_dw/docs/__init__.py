"""The warehouse's documentation as a static site: :mod:`.site` writes it (what
``sparkify-dw docs`` does; :mod:`sparkify_dw.cli.docs` is the command, and ``python -m
sparkify_dw.docs`` runs it through :mod:`.__main__`).

Names are loaded when first used, so ``python -m sparkify_dw.docs --help`` imports no
SQLAlchemy or Jinja2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkify_dw.docs.site import (
        DEFAULT_OUT,
        Live,
        compile_sql,
        format_sql,
        group_of,
        read_live,
        table_pages,
        write_site,
    )

__all__ = [
    "DEFAULT_OUT",
    "Live",
    "compile_sql",
    "format_sql",
    "group_of",
    "read_live",
    "table_pages",
    "write_site",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("sparkify_dw.docs.site"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
