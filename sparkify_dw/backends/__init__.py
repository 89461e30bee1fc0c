"""Everything that knows an engine: one package per engine behind one narrow contract.

:mod:`~sparkify_dw.backends.contract` is what the loader calls; each engine's package
(``duckdb/``, ``postgresql/``, ``redshift/``) holds its backend, its dialect, its Alembic
implementation and its ``@compiles`` visitors, and declares itself to
:mod:`~sparkify_dw.backends.registry` through the ``sparkify_dw.backends`` entry point.
The loader never asks which engine it talks to: adding one is a new package and one
entry point (README, "Adding a backend").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkify_dw.backends import registry
from sparkify_dw.lazy import exports

if TYPE_CHECKING:
    from sparkify_dw.backends.contract import Backend, Capabilities, LockBusy
    from sparkify_dw.backends.plan import Progress, StageCounts
    from sparkify_dw.backends.requests import (
        Selection,
        check_schemes,
        staging_requests,
        unloaded,
    )
    from sparkify_dw.config import Settings

__all__ = [
    "Backend",
    "Capabilities",
    "LockBusy",
    "Progress",
    "Selection",
    "StageCounts",
    "check_schemes",
    "for_settings",
    "registry",
    "staging_requests",
    "unloaded",
]

# Where each name lives: imported when first used, so the registry (which engines there
# are, their extras, their commands) is read without SQLAlchemy (``cluster --help``).
_HOMES = {
    "Backend": "contract",
    "Capabilities": "contract",
    "LockBusy": "contract",
    "Progress": "plan",
    "StageCounts": "plan",
    "Selection": "requests",
    "check_schemes": "requests",
    "staging_requests": "requests",
    "unloaded": "requests",
}


__getattr__ = exports(__name__, {n: f"sparkify_dw.backends.{m}" for n, m in _HOMES.items()})


def for_settings(settings: Settings, max_errors: int = 0, wait: float = 600.0) -> Backend:
    """The backend of ``settings.url``: its extra is checked before its driver is imported."""
    backend_cls: type[Backend] = registry.backend_class(settings.url)
    return backend_cls(settings, max_errors, wait)
