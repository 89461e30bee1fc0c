"""Which backend a database URL names: found through the ``sparkify_dw.backends``
entry-point group, by URL scheme.

Each engine package declares one :class:`EngineInfo` (its scheme, drivers, pip extra and
how to import its backend) and names it in setup.cfg's ``[options.entry_points]``. The
info is light: reading it imports no driver, so a missing extra is one line naming it,
and ``--help`` stays fast. Adding an engine is a new package and one entry point;
:func:`register` does the same from Python (a test's toy backend, a plugin under
development).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw.errors import ConfigError
from sparkify_dw.extras import MissingExtra, installed
from sparkify_dw.settings_spec import EngineOptions

if TYPE_CHECKING:
    import configparser
    from pathlib import Path

GROUP = "sparkify_dw.backends"


@dataclass(frozen=True)
class EngineInfo:
    """What the loader, the configuration and the CLI need to know of an engine before
    its driver is imported. An engine package subclasses it for engine-specific URL
    rules (:meth:`check_url`) or a ``dwh.cfg`` section of its own (:meth:`url_from_cfg`)."""

    scheme: str  # the URL's backend name: duckdb:// …
    title: str  # as a user writes it, in messages
    backend: str  # "package.module:Class", imported when a load or reader needs it
    drivers: tuple[str, ...]  # URL drivers accepted; the first is the default
    example_url: str
    extra: str | None = None  # pip extra that installs the driver (None: the base install)
    modules: tuple[str, ...] = ()  # what that extra installs, by import name
    # Drivers named in a URL without "+driver" (sqlalchemy-redshift defaults to psycopg2):
    # False refuses a URL that names no driver.
    default_driver: bool = True
    cfg_section: str | None = None  # a dwh.cfg section that names a warehouse of this engine
    dialect: str | None = None  # the SQLAlchemy dialect's name, when not the scheme
    default_file: str | None = None  # the embedded default's file name (one engine has one)
    staging: str | None = None  # how it fills the staging tables, for the docs site's diagram
    # Commands the engine brings: name -> "module:function" taking the arguments.
    commands: dict[str, str] = field(default_factory=dict)
    # The engine's own settings (memory, roles, …): a class of EngineOptions, whose specs
    # the configuration resolves like every other setting.
    options: type[EngineOptions] = EngineOptions
    # Modules imported before the engine is first used: its dialect subclass, Alembic
    # implementation and @compiles visitors register themselves as they import.
    setup: tuple[str, ...] = ()

    def require_extra(self) -> None:
        """Refuse, in one line naming the extra, when the driver is not installed."""
        if self.extra and not all(installed(m) for m in self.modules):
            raise MissingExtra(
                f"the {self.scheme} backend needs its extra: "
                f"pip install 'sparkify_dw[{self.extra}]'"
            )

    def load(self) -> type[Any]:
        """The backend class (a :class:`~sparkify_dw.backends.contract.Backend`; its
        driver and ``@compiles`` visitors come with it)."""
        self.require_extra()
        module, _, name = self.backend.partition(":")
        backend_cls: type[Any] = getattr(importlib.import_module(module), name)
        return backend_cls

    def prepare(self) -> EngineInfo:
        """Check the extra, then register what the engine brings (:attr:`setup`)."""
        self.require_extra()
        for module in self.setup:
            importlib.import_module(module)
        return self

    def engine_url(self, url: URL) -> URL:
        """The URL the engine is created with (an engine may name its own dialect)."""
        return url

    def configure_engine(self, engine: sa.Engine) -> None:
        """Adjust a new engine (e.g. refuse, as each connection opens, what can't work)."""

    def check_connection(self, conn: sa.Connection) -> None:
        """Refuse, before anything is written, a database this engine can't keep the
        warehouse in (any connection: the library's, or one handed to Alembic)."""

    def migrating(self, conn: sa.Connection) -> AbstractContextManager[sa.Connection]:
        """``conn`` as Alembic should use it while a migration runs."""
        return nullcontext(conn)

    def check_url(self, url: URL, origin: str) -> None:
        """Refuse what this engine can't connect to, in one line naming ``origin``."""

    def url_from_cfg(self, parser: configparser.ConfigParser, path: Path) -> URL:
        """The warehouse's URL from this engine's ``dwh.cfg`` section."""
        raise ConfigError(f"{path}: [{self.cfg_section}] does not name a {self.title} warehouse")


_registered: dict[str, EngineInfo] = {}


def register(info: EngineInfo) -> Callable[[], None]:
    """Add (or replace) the engine for ``info.scheme`` in this process; returns a function
    that undoes it. Installed engines come from entry points; this is for the rest."""
    before = _registered.get(info.scheme)
    _registered[info.scheme] = info
    engines.cache_clear()

    def undo() -> None:
        if before is None:
            _registered.pop(info.scheme, None)
        else:
            _registered[info.scheme] = before
        engines.cache_clear()

    return undo


@cache
def engines() -> dict[str, EngineInfo]:
    """Every engine: entry points, then :func:`register`'s, by scheme."""
    found: dict[str, EngineInfo] = {}
    for point in entry_points(group=GROUP):
        info = point.load()
        if not isinstance(info, EngineInfo) or info.scheme != point.name:
            raise TypeError(f"entry point {point.value} is not the EngineInfo of {point.name!r}")
        found[point.name] = info
    found.update(_registered)
    return dict(sorted(found.items()))


def schemes() -> list[str]:
    return list(engines())


def info_for(scheme: str, origin: str = "the database URL") -> EngineInfo:
    """The engine a URL's scheme names, or one line listing the known ones."""
    known = engines()
    if scheme not in known:
        raise ConfigError(
            f"{origin}: unsupported database {scheme!r}: use one of {', '.join(known)}"
        )
    return known[scheme]


def check_url(url: URL, origin: str) -> URL:
    """Refuse what would fail later with a traceback: an unknown database or driver, a port
    out of range, and each engine's own rules (:meth:`EngineInfo.check_url`)."""
    info = info_for(url.get_backend_name(), origin)
    driver = url.drivername.partition("+")[2]
    if not driver and info.default_driver:
        driver = info.drivers[0]
    if driver not in info.drivers:
        raise ConfigError(
            f"{origin}: the driver {driver or '(default)'!r} is not supported for "
            f"{info.scheme}: use {info.example_url}"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigError(f"{origin}: the port must be a number from 1 to 65535")
    info.check_url(url, origin)
    return url


def example_url() -> str:
    """A server's URL for messages: the first engine's that is not the embedded default
    (whose URL is a file)."""
    known = list(engines().values())
    return next((i.example_url for i in known if not i.default_file), known[0].example_url)


def from_cfg(parser: configparser.ConfigParser, path: Path) -> tuple[URL, str] | None:
    """A warehouse URL from the first engine section ``dwh.cfg`` holds, with the section."""
    for info in engines().values():
        if info.cfg_section and parser.has_section(info.cfg_section):
            return info.url_from_cfg(parser, path), info.cfg_section
    return None


def command(name: str) -> Callable[[Sequence[str] | None], int]:
    """The engine command ``name`` (e.g. ``cluster``), imported: its extra is the
    caller's to check (a command may need more than its engine)."""
    for info in engines().values():
        if name in info.commands:
            module, _, function = info.commands[name].partition(":")
            found: Callable[[Sequence[str] | None], int] = getattr(
                importlib.import_module(module), function
            )
            return found
    raise ConfigError(f"no installed engine offers the {name!r} command")


def embedded_default() -> EngineInfo:
    """The engine that needs no server: a warehouse is a file in the working directory."""
    for info in engines().values():
        if info.default_file:
            return info
    raise ConfigError("no embedded engine is installed: give a database URL (--url)")


def default_url(path: Path) -> URL:
    """The embedded default's URL for the file at ``path``."""
    return URL.create(embedded_default().scheme, database=str(path))


def prepare(url: URL) -> EngineInfo:
    """The prepared engine of ``url`` (:meth:`EngineInfo.prepare`)."""
    return info_for(url.get_backend_name()).prepare()


def for_dialect(name: str) -> EngineInfo | None:
    """The engine whose dialect is ``name`` (a connection's ``dialect.name``), if known."""
    for info in engines().values():
        if info.scheme == name or info.dialect == name:
            return info
    return None


def backend_class(url: URL) -> type[Any]:
    return info_for(url.get_backend_name()).load()


def title(url: URL) -> str:
    return info_for(url.get_backend_name()).title
