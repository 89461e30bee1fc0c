"""Packages whose names are imported when first used.

Why: ``sparkify-dw COMMAND --help`` and ``python -m sparkify_dw.X --help`` must not import
SQLAlchemy to describe a command, yet ``from sparkify_dw.load import run`` should work as
from any package. A package lists its names and where each lives; its ``__getattr__``
(PEP 562) imports the home the first time a name is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(
    package: str, homes: Mapping[str, str] | tuple[Iterable[str], str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps each name to the module
    it lives in, or is ``(names, module)`` when they all live in one."""
    if isinstance(homes, tuple):
        names, home = homes
        homes = dict.fromkeys(names, home)
    where = dict(homes)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    return __getattr__
