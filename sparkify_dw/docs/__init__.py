"""The warehouse's documentation as a static site: :mod:`.site` writes it (what
``sparkify-dw docs`` does; :mod:`sparkify_dw.cli.docs` is the command, and ``python -m
sparkify_dw.docs`` runs it through :mod:`.__main__`).

Names are loaded when first used, so ``python -m sparkify_dw.docs --help`` imports no
SQLAlchemy or Jinja2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkify_dw.lazy import exports

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


__getattr__ = exports(__name__, (__all__, "sparkify_dw.docs.site"))
