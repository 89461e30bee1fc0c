"""One configuration resolver for Alembic, the loader, the cluster command and notebooks.

Every setting is a row of a table (:data:`SETTINGS`, and each engine's
``EngineOptions.SPECS``): its flag, environment variable, ``dwh.cfg`` key, default and
parser. Precedence, per setting: explicit argument (a command-line flag) > environment
variable > ``dwh.cfg`` > the default (the embedded engine's file in the working
directory, the sample data bundled with the package). :func:`resolve` reads them once
into a typed :class:`Settings`; nothing else in the package reads the environment or
``dwh.cfg``.
"""

from __future__ import annotations

import configparser
import datetime as dt
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw import settings_spec as spec
from sparkify_dw.errors import ConfigError
from sparkify_dw.secrets import SECRET_ENV as SECRET_ENV
from sparkify_dw.secrets import env_secrets as _env_secrets
from sparkify_dw.secrets import mask as mask
from sparkify_dw.secrets import parse_database_url, text_url_secrets
from sparkify_dw.secrets import url_secrets as url_secrets
from sparkify_dw.settings_spec import EngineOptions, Setting
from sparkify_dw.uris import Source, parse_source

log = logging.getLogger(__name__)

ENV_URL = "SPARKIFY_DW_URL"
ENV_CONFIG = "SPARKIFY_DW_CONFIG"
ENV_LOG_DATA = "SPARKIFY_DW_LOG_DATA"
ENV_SONG_DATA = "SPARKIFY_DW_SONG_DATA"
ENV_LOG_JSONPATH = "SPARKIFY_DW_LOG_JSONPATH"
ENV_S3_ENDPOINT = "SPARKIFY_DW_S3_ENDPOINT"
ENV_S3_REGION = "SPARKIFY_DW_S3_REGION"
ENV_S3_WORKERS = "SPARKIFY_DW_S3_WORKERS"
ENV_EARLIEST_EVENT = "SPARKIFY_DW_EARLIEST_EVENT"
ENV_LATEST_EVENT = "SPARKIFY_DW_LATEST_EVENT"
ENV_AWS_REGION = "AWS_DEFAULT_REGION"  # the AWS default: the cluster command works there

DEFAULT_CONFIG_NAME = "dwh.cfg"
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
DEFAULT_S3_WORKERS = 16
MAX_S3_WORKERS = 256


def _source(name: str, env: str, help: str, default: Path) -> Setting[Source]:
    """A source: a path, a glob, a ``file://`` or ``s3://`` URI (``--log-data``,
    ``[S3] LOG_DATA``); set but empty is refused, not taken for the default."""
    return Setting(
        name,
        parse_source,
        help,
        default=str(default),
        flag="--" + name.replace("_", "-"),
        env=env,
        cfg=("S3", name.upper()),
        keep_empty=True,
    )


def _window_end(name: str, env: str, side: str, default: str) -> Setting[dt.datetime]:
    """An end of the window of plausible event times (``[LOAD] EARLIEST_EVENT``): a date
    or time in UTC, or ``+HOURS`` from now."""
    return Setting(
        name,
        spec.moment,
        f"events {side} this are implausible (UTC; +HOURS: from now)",
        default=default,
        env=env,
        cfg=("LOAD", name.upper()),
    )


SETTINGS: tuple[Setting[Any], ...] = (
    _source("log_data", ENV_LOG_DATA, "event logs", SAMPLE_DIR / "log_data"),
    _source("song_data", ENV_SONG_DATA, "song metadata", SAMPLE_DIR / "song_data"),
    _source(
        "log_jsonpath",
        ENV_LOG_JSONPATH,
        "the JSONPaths file naming the event fields",
        SAMPLE_DIR / "log_json_path.json",
    ),
    # The data's region (COPY's REGION, the S3 reader's): AWS_DEFAULT_REGION is the AWS
    # default for API calls, not where the data lives, so it never overrides this one.
    Setting(
        "region",
        spec.region,
        "the region the S3 data is in",
        env=ENV_S3_REGION,
        cfg=("S3", "REGION"),
    ),
    Setting(
        "s3_endpoint",
        spec.text,
        "an S3-compatible server, http(s)://host[:port]",
        env=ENV_S3_ENDPOINT,
        cfg=("S3", "ENDPOINT"),
    ),
    Setting(
        "s3_workers",
        spec.whole_number(1, MAX_S3_WORKERS),
        "concurrent GETs from S3",
        default=str(DEFAULT_S3_WORKERS),
        env=ENV_S3_WORKERS,
        cfg=("S3", "WORKERS"),
    ),
    _window_end("earliest_event", ENV_EARLIEST_EVENT, "before", "2000-01-01"),
    _window_end("latest_event", ENV_LATEST_EVENT, "after", "+24"),
)
"""Every setting but the URL and the engine's options, as :func:`resolve` reads them."""

COMMAND_SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "aws_region",
        spec.region,
        "the AWS region the cluster command works in",
        env=ENV_AWS_REGION,
    ),
)
"""Settings one command reads (:func:`read_settings`), not a load: AWS's own default
region is checked only where it is used."""

OptionsT = TypeVar("OptionsT", bound=EngineOptions)


@dataclass(frozen=True)
class Settings:
    """The resolved configuration, typed. ``url`` keeps the password; print
    ``display_url``. ``sources`` says where each setting was found."""

    url: URL
    log_data: Source
    song_data: Source
    log_jsonpath: Source
    region: str | None = None
    s3_endpoint: str | None = None
    s3_workers: int = DEFAULT_S3_WORKERS
    earliest_event: dt.datetime = dt.datetime(2000, 1, 1)
    latest_event: dt.datetime = field(
        default_factory=lambda: spec.utc_now() + dt.timedelta(hours=24)
    )
    aws_region: str | None = None
    # The engine's own (its package's options class); the base class: none resolved.
    options: EngineOptions = field(default_factory=EngineOptions)
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def options_as(self, kind: type[OptionsT]) -> OptionsT:
        """The engine's options as ``kind`` (its defaults when none were resolved)."""
        if isinstance(self.options, kind):
            return self.options
        made = kind.defaults()
        assert isinstance(made, kind)
        return made

    @property
    def display_url(self) -> str:
        return self.mask(self.url.render_as_string(hide_password=True))

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def secrets(self) -> list[str]:
        """Values that must never be printed (used to scrub messages): the URL's password
        wherever it sits (user info, a ``?password=`` query, libpq ``options``) and the AWS
        credentials in the environment, and a password in the S3 endpoint's URL."""
        return url_secrets(self.url) + text_url_secrets(self.s3_endpoint or "") + env_secrets()

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        return mask(text, self.secrets())

    def create_engine(self, **kwargs: object) -> sa.Engine:
        from sparkify_dw.engines import create_engine

        return create_engine(self.url, **kwargs)


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The AWS credential values set in the environment: masked wherever text is shown."""
    return _env_secrets(os.environ if environ is None else environ)


def read_cfg(path: Path, explicit: bool = True) -> configparser.ConfigParser | None:
    """Parse a dwh.cfg; ``None`` when an implicit one is absent. Errors are one line."""
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: configuration file not found")
        return None
    if not path.is_file():
        raise ConfigError(f"{path}: not a file")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str.upper  # type: ignore[assignment,method-assign]
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: cannot parse: {first}") from None
    return parser


def _warn_if_exposed(path: Path, parser: configparser.ConfigParser) -> None:
    if not parser.get("CLUSTER", "DB_PASSWORD", fallback=""):
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s holds a password and is readable by other users; run: chmod 600 %s", path, path
        )


def cfg_value(parser: configparser.ConfigParser | None, section: str, key: str) -> str | None:
    """A key's value with quotes and blanks stripped; ``None`` when missing or empty."""
    if parser is None or not parser.has_section(section):
        return None
    value = parser.get(section, key, fallback=None)
    if value is None:
        return None
    value = value.strip().strip("'\"").strip()
    return value or None


def config_file(
    config: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Path, configparser.ConfigParser | None]:
    """``dwh.cfg`` as every command finds it (``--config`` > ``$SPARKIFY_DW_CONFIG`` >
    ``./dwh.cfg``) and its contents; ``None`` when an implicit one is absent."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    explicit = config if config is not None else env.get(ENV_CONFIG) or None
    path = Path(explicit) if explicit is not None else here / DEFAULT_CONFIG_NAME
    if not path.is_absolute():
        path = here / path
    parser = read_cfg(path, explicit=explicit is not None)
    if parser is not None:
        _warn_if_exposed(path, parser)
    return path, parser


def _engines() -> ModuleType:
    """The engine registry, imported when first used: the backends' contract imports
    this module (Settings), so a module-level import would run before Settings exists."""
    from sparkify_dw.backends import registry

    return registry


def parse_url(text: str, origin: str) -> URL:
    """A database URL this project can connect to, or one :class:`ConfigError` naming
    ``origin``; the text itself is never echoed (it may hold a password)."""
    try:
        url = parse_database_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that isn't a number
        why = "the port is not a number" if isinstance(exc, ValueError) else "not a database URL"
        raise ConfigError(f"{origin}: {why} (e.g. {_engines().example_url()})") from None
    return check_database_url(url, origin)


def check_database_url(url: URL, origin: str) -> URL:
    """Refuse what would fail later with a traceback: an unknown database or driver, a port
    out of range, and each engine's own rules (:func:`sparkify_dw.backends.registry.check_url`)."""
    checked: URL = _engines().check_url(url, origin)
    return checked


@dataclass
class _Lookup:
    """Where each setting is looked for, in order (a flag, a variable, ``dwh.cfg``, the
    default), and where each one was found: ``Settings.sources``."""

    env: Mapping[str, str]
    parser: configparser.ConfigParser | None
    cfg_path: Path
    sources: dict[str, str] = field(default_factory=dict)

    def value(self, setting: Setting[Any], flag: str | None) -> Any:
        """The setting's typed value from the first place that sets it (``None``: unset);
        a refusal names that place."""
        text, origin = self._text(setting, flag)
        self.sources[setting.name] = "argument" if flag is not None else origin
        if text is None:
            return None
        return setting.parse(text, origin)

    def _text(self, setting: Setting[Any], flag: str | None) -> tuple[str | None, str]:
        if flag is not None:
            return flag, setting.flag or "argument"
        env = setting.env
        if env is not None and (self.env.get(env) or (setting.keep_empty and env in self.env)):
            return self.env[env], f"${env}"
        if setting.cfg is not None:
            section, key = setting.cfg
            found = cfg_value(self.parser, section, key)
            parser = self.parser
            if found is None and setting.keep_empty and parser is not None:
                found = "" if parser.has_option(section, key) else None
            if found is not None:
                return found, f"{self.cfg_path} [{section}] {key}"
        return setting.default, "default"

    def url(self, url: str | None, here: Path) -> URL:
        """The warehouse: flag > variable > an engine's ``dwh.cfg`` section > the embedded
        default's file in the working directory (or a parent of it)."""
        env, parser = self.env, self.parser
        if url is not None:
            self.sources["url"] = "argument"
            return parse_url(url, "--url")
        if env.get(ENV_URL):
            self.sources["url"] = f"${ENV_URL}"
            return parse_url(env[ENV_URL], f"${ENV_URL}")
        if parser is not None and (found_cfg := _engines().from_cfg(parser, self.cfg_path)):
            resolved: URL = found_cfg[0]
            self.sources["url"] = f"{self.cfg_path} [{found_cfg[1]}]"
            return resolved
        found = find_default_warehouse(here)
        self.sources["url"] = "default" if found is None else f"default, found at {found}"
        default: URL = _engines().default_url(found or here / default_file())
        return default


def resolve(
    *,
    url: str | None = None,
    config: str | os.PathLike[str] | None = None,
    log_data: str | None = None,
    song_data: str | None = None,
    log_jsonpath: str | None = None,
    memory_limit: str | None = None,
    options: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting once; raise :class:`ConfigError` with one line on bad input.

    ``options`` are flags for the engine's own options by name (``memory_limit`` is one
    of DuckDB's); a flag the engine has no option for is refused, not ignored.
    """
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    cfg_path, parser = config_file(config, environ=env, cwd=here)
    look = _Lookup(env, parser, cfg_path)
    resolved_url = look.url(url, here)
    flags = {"log_data": log_data, "song_data": song_data, "log_jsonpath": log_jsonpath}
    values = {s.name: look.value(s, flags.get(s.name)) for s in SETTINGS}
    if values["latest_event"] <= values["earliest_event"]:
        raise ConfigError(
            f"{look.sources['latest_event']} must be after {look.sources['earliest_event']}"
        )
    engine_flags = dict(options or {})
    if memory_limit is not None:
        engine_flags["memory_limit"] = memory_limit
    return Settings(
        url=resolved_url,
        **values,
        options=_engine_options(look, resolved_url, engine_flags),
        config_file=cfg_path if parser is not None else None,
        sources=look.sources,
    )


def read_settings(
    names: Sequence[str],
    cfg_path: Path,
    parser: configparser.ConfigParser | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Some of :data:`SETTINGS`, by name, from the variables and a ``dwh.cfg`` already
    read (:func:`config_file`): for a command that needs no warehouse (``cluster``)."""
    look = _Lookup(os.environ if environ is None else environ, parser, cfg_path)
    wanted = [s for s in (*SETTINGS, *COMMAND_SETTINGS) if s.name in names]
    return {s.name: look.value(s, None) for s in wanted}


def _engine_options(look: _Lookup, url: URL, flags: Mapping[str, str]) -> EngineOptions:
    """The options the URL's engine declares, looked for like every other setting."""
    info = _engines().info_for(url.get_backend_name())
    kind: type[EngineOptions] = info.options
    specs = {s.name: s for s in kind.SPECS}
    for name in flags:
        if name not in specs:
            shown = "--" + name.replace("_", "-")
            raise ConfigError(f"{shown}: the {info.title} backend has no such option")
    found = {name: look.value(s, flags.get(name)) for name, s in specs.items()}
    return kind.from_values({k: v for k, v in found.items() if v is not None})


_PROJECT_MARKERS = (".git", "setup.cfg", "pyproject.toml", DEFAULT_CONFIG_NAME)


def default_file() -> str:
    """The embedded default warehouse's file name (``sparkify.duckdb``)."""
    return str(_engines().embedded_default().default_file)


def find_default_warehouse(start: Path) -> Path | None:
    """The embedded default's file as seen from ``start``: ``./sparkify.duckdb``, or the
    nearest one in a parent directory up to the project's root (a folder holding ``.git``,
    ``setup.cfg``, ``pyproject.toml`` or ``dwh.cfg``). Why: Jupyter starts a notebook's
    kernel in its own folder (``notebooks/``), below where the quick start built the file.
    ``None`` when there is none: the file will be made in ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / default_file()
        if candidate.is_file():
            return candidate
        if folder == Path.home() or any((folder / m).exists() for m in _PROJECT_MARKERS):
            return None
    return None
