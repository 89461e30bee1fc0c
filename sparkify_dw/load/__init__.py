"""The loader: stage raw JSON, build the star schema, check it.

``python -m sparkify_dw.load`` from a shell (:mod:`.__main__`), :func:`run` from Python.
:mod:`.loader` holds the load's entry points (run, dry_run, plan, and :class:`Load`),
:mod:`.steps` the steps inside its one transaction, :mod:`.failures` what a failed load
leaves in the ledger.

The names below are loaded when first used, so ``python -m sparkify_dw.load --help``
imports no SQLAlchemy (the command imports the loader when it runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkify_dw.lazy import exports

if TYPE_CHECKING:
    from sparkify_dw.load.loader import (
        LOCK_WAIT,
        MAX_WAIT,
        STEPS,
        Interrupted,
        Load,
        LoadError,
        LoadResult,
        Selection,
        TooManyRejected,
        dry_run,
        plan,
        run,
    )

__all__ = [
    "LOCK_WAIT",
    "MAX_WAIT",
    "STEPS",
    "Interrupted",
    "Load",
    "LoadError",
    "LoadResult",
    "Selection",
    "TooManyRejected",
    "dry_run",
    "plan",
    "run",
]


__getattr__ = exports(__name__, (__all__, "sparkify_dw.load.loader"))
