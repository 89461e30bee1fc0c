"""One small module per backend behind one narrow interface.

A backend knows how to stage raw JSON into the staging tables and how to keep two
loads from running at once; everything after staging is dialect-neutral SQLAlchemy
Core (see :mod:`sparkify_dw.transform`). Adding a backend touches this package only.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import sqlalchemy as sa

from sparkify_dw.config import Settings
from sparkify_dw.staging import StageRequest

Progress = Callable[[str, int, int], None]  # (what, done, total)

_MODULES = {"duckdb": "duckdb", "postgresql": "postgresql", "redshift": "redshift"}


class Backend(ABC):
    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def stage(self, conn: sa.Connection, request: StageRequest, progress: Progress) -> None:
        """Append the records of ``request.source`` to ``request.table``."""

    @abstractmethod
    def stage_statements(self, request: StageRequest, dialect: sa.Dialect) -> Iterator[str]:
        """The statements :meth:`stage` runs, as text, for ``--dry-run``."""

    def lock(self, conn: sa.Connection) -> AbstractContextManager[None]:
        """Hold the warehouse's load lock while a load runs (no-op where the engine locks)."""
        from contextlib import nullcontext

        return nullcontext()


def for_settings(settings: Settings) -> Backend:
    name = settings.url.get_backend_name()
    module = _MODULES.get(name)
    if module is None:
        supported = ", ".join(sorted(_MODULES))
        raise ValueError(f"unsupported database {name!r}: use one of {supported}")
    backend_cls: type[Backend] = importlib.import_module(f"sparkify_dw.backends.{module}").BACKEND
    return backend_cls(settings)
