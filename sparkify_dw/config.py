"""One configuration resolver for Alembic, the loader and notebooks.

Precedence, per setting: explicit argument (a command-line flag) > environment
variable > ``dwh.cfg`` > the embedded default (DuckDB file in the working
directory, sample data bundled with the package).
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw.errors import ConfigError

# Secrets are found and masked by sparkify_dw.secrets; these names were first defined here.
from sparkify_dw.secrets import SECRET_ENV as SECRET_ENV
from sparkify_dw.secrets import env_secrets as env_secrets
from sparkify_dw.secrets import mask as mask
from sparkify_dw.secrets import parse_database_url, text_url_secrets
from sparkify_dw.secrets import url_secrets as url_secrets
from sparkify_dw.uris import S3Uri, Source, is_s3, parse_source

log = logging.getLogger(__name__)

ENV_URL = "SPARKIFY_DW_URL"
ENV_CONFIG = "SPARKIFY_DW_CONFIG"
ENV_LOG_DATA = "SPARKIFY_DW_LOG_DATA"
ENV_SONG_DATA = "SPARKIFY_DW_SONG_DATA"
ENV_LOG_JSONPATH = "SPARKIFY_DW_LOG_JSONPATH"
ENV_S3_ENDPOINT = "SPARKIFY_DW_S3_ENDPOINT"
ENV_S3_REGION = "SPARKIFY_DW_S3_REGION"
ENV_MANIFEST_PREFIX = "SPARKIFY_DW_MANIFEST_PREFIX"
ENV_MEMORY_LIMIT = "SPARKIFY_DW_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"  # DuckDB's own default is 80% of RAM: unbounded on a shared box
MEMORY_LIMIT_RE = re.compile(
    r"\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE
)
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
MIN_MEMORY_LIMIT = 64 * 1024**2  # below this DuckDB can't load a batch of files
MAX_MEMORY_LIMIT = 1024**5  # 1024TiB: far beyond any machine, well within DuckDB's range

DEFAULT_CONFIG_NAME = "dwh.cfg"
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"

IAM_ROLE_ARN_RE = re.compile(
    r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"
)
REGION_RE = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")


@dataclass(frozen=True)
class Settings:
    """The resolved configuration. ``url`` keeps the password; print ``display_url``."""

    url: URL
    log_data: str
    song_data: str
    log_jsonpath: str
    iam_role_arn: str | None = None
    region: str | None = None
    s3_endpoint: str | None = None
    manifest_prefix: str | None = None  # s3:// prefix for Redshift COPY manifests
    memory_limit: str = DEFAULT_MEMORY_LIMIT  # DuckDB's memory_limit, e.g. "1GB"
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    # The source settings above as typed values: resolve() parses them, once; text given
    # to dataclasses.replace() is parsed when the copy is made.
    parsed: Mapping[str, Source] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = dict(self.parsed)
        for name in SOURCE_SETTINGS:
            text = getattr(self, name)
            if text is None:
                parsed.pop(name, None)
            elif name not in parsed or str(parsed[name]) != text:
                parsed[name] = parse_setting(name, text, name)  # not from resolve: no origin
        object.__setattr__(self, "parsed", parsed)

    @property
    def log_data_source(self) -> Source:
        return self.parsed["log_data"]

    @property
    def song_data_source(self) -> Source:
        return self.parsed["song_data"]

    @property
    def log_jsonpath_source(self) -> Source:
        return self.parsed["log_jsonpath"]

    @property
    def manifest_location(self) -> S3Uri | None:
        """Where Redshift's COPY manifests go (``manifest_prefix``, parsed)."""
        found = self.parsed.get("manifest_prefix")
        return found if isinstance(found, S3Uri) else None

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


def _require(parser: configparser.ConfigParser, path: Path, section: str, key: str) -> str:
    value = cfg_value(parser, section, key)
    if value is None:
        raise ConfigError(f"{path}: [{section}] {key} is missing or empty")
    return value


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


def validate_iam_role_arn(value: str, origin: str) -> str:
    if not IAM_ROLE_ARN_RE.fullmatch(value):
        raise ConfigError(f"{origin}: not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
    return value


def validate_region(value: str, origin: str) -> str:
    if not REGION_RE.fullmatch(value):
        raise ConfigError(f"{origin}: not an AWS region name (e.g. us-west-2)")
    return value


SOURCE_SETTINGS = ("log_data", "song_data", "log_jsonpath", "manifest_prefix")


def parse_setting(name: str, text: str, origin: str) -> Source:
    """One of :data:`SOURCE_SETTINGS` as a typed value: a local path, ``file://`` URI or
    well-formed ``s3://`` URI (``manifest_prefix``: only the last); errors name ``origin``."""
    if name == "manifest_prefix":
        if not is_s3(text):
            raise ConfigError(f"{origin}: MANIFEST_PREFIX must be an s3:// URI")
        return S3Uri.parse(text, origin)
    return parse_source(text, origin)


def memory_bytes(text: str, origin: str = "memory limit") -> int:
    """A DuckDB memory size ("1GB", "512MiB") in bytes; one line when it isn't one."""
    match = MEMORY_LIMIT_RE.fullmatch(text)
    if match is None:
        raise ConfigError(f"{origin}: not a memory size like 1GB or 512MB: {text!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < MIN_MEMORY_LIMIT:
        raise ConfigError(f"{origin}: {text.strip()} is too little; at least 64MiB")
    if size > MAX_MEMORY_LIMIT:
        raise ConfigError(f"{origin}: {text.strip()} is more than any machine has; at most 1024TiB")
    return size


@dataclass
class _Lookup:
    """Where each setting is looked for, in order (a flag, a variable, ``dwh.cfg``, the
    default), and where each one was found: ``Settings.sources``."""

    env: Mapping[str, str]
    parser: configparser.ConfigParser | None
    cfg_path: Path
    sources: dict[str, str] = field(default_factory=dict)
    parsed: dict[str, Source] = field(default_factory=dict)

    def pick(
        self,
        name: str,
        flag: str | None,
        env_name: str,
        section: str,
        key: str,
        default: str | None,
        keep_empty: bool = False,
    ) -> str | None:
        """The first of the flag, the variable, dwh.cfg and ``default`` that is set. With
        ``keep_empty`` a variable or key that is set but empty counts as set (a source:
        refused, where falling through to the default would load something else)."""
        if flag is not None:
            self.sources[name] = "argument"
            return flag
        if self.env.get(env_name) or (keep_empty and env_name in self.env):
            self.sources[name] = f"${env_name}"
            return self.env[env_name]
        parser = self.parser
        cfg = cfg_value(parser, section, key)
        if cfg is None and keep_empty and parser is not None and parser.has_option(section, key):
            cfg = ""
        if cfg is not None:
            self.sources[name] = f"{self.cfg_path} [{section}] {key}"
            return cfg
        self.sources[name] = "default"
        return default

    def source(self, name: str, flag: str | None, env_name: str, key: str, default: Path) -> str:
        """A source (``[S3]`` key), parsed once: a path, a glob, or an s3:// URI."""
        value = self.pick(name, flag, env_name, "S3", key, str(default), keep_empty=True)
        assert value is not None
        origin = "--" + name.replace("_", "-") if flag is not None else self.sources[name]
        self.parsed[name] = parse_setting(name, value, origin)
        return value

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
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting; raise :class:`ConfigError` with one line on bad input."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    explicit_cfg = config if config is not None else env.get(ENV_CONFIG) or None
    cfg_path = Path(explicit_cfg) if explicit_cfg is not None else here / DEFAULT_CONFIG_NAME
    if not cfg_path.is_absolute():
        cfg_path = here / cfg_path
    parser = read_cfg(cfg_path, explicit=explicit_cfg is not None)
    if parser is not None:
        _warn_if_exposed(cfg_path, parser)
    look = _Lookup(env, parser, cfg_path)
    resolved_url = look.url(url, here)
    s_log = look.source("log_data", log_data, ENV_LOG_DATA, "LOG_DATA", SAMPLE_DIR / "log_data")
    s_song = look.source(
        "song_data", song_data, ENV_SONG_DATA, "SONG_DATA", SAMPLE_DIR / "song_data"
    )
    s_paths = look.source(
        "log_jsonpath",
        log_jsonpath,
        ENV_LOG_JSONPATH,
        "LOG_JSONPATH",
        SAMPLE_DIR / "log_json_path.json",
    )
    arn = cfg_value(parser, "IAM_ROLE", "ARN")
    if arn is not None:
        validate_iam_role_arn(arn, f"{cfg_path}: [IAM_ROLE] ARN")
    # The data's region (COPY's REGION): AWS_DEFAULT_REGION is the AWS default for API
    # calls, not where the data lives, so it never overrides it (boto3 still reads it
    # for the S3 client when no data region is set).
    region = look.pick("region", None, ENV_S3_REGION, "S3", "REGION", None)
    if region is not None:
        validate_region(region, look.sources["region"])
    endpoint = look.pick("s3_endpoint", None, ENV_S3_ENDPOINT, "S3", "ENDPOINT", None)
    manifests = look.pick(
        "manifest_prefix", None, ENV_MANIFEST_PREFIX, "S3", "MANIFEST_PREFIX", None
    )
    if manifests is not None:
        look.parsed["manifest_prefix"] = parse_setting(
            "manifest_prefix", manifests, look.sources["manifest_prefix"]
        )
    memory_section, memory_key = _engines().cfg_key("memory_limit")
    memory = look.pick(
        "memory_limit",
        memory_limit,
        ENV_MEMORY_LIMIT,
        memory_section,
        memory_key,
        DEFAULT_MEMORY_LIMIT,
    )
    assert memory is not None
    origin = "--memory-limit" if memory_limit is not None else look.sources["memory_limit"]
    memory_bytes(memory, origin)
    return Settings(
        url=resolved_url,
        log_data=s_log,
        song_data=s_song,
        log_jsonpath=s_paths,
        iam_role_arn=arn,
        region=region,
        s3_endpoint=endpoint,
        manifest_prefix=manifests,
        memory_limit=memory.strip(),
        config_file=cfg_path if parser is not None else None,
        sources=look.sources,
        parsed=look.parsed,
    )


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
