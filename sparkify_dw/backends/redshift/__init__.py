"""Amazon Redshift, production: COPY from S3 through a manifest, rejected records from the
engine's own error views.

This module is the engine's entry point (``sparkify_dw.backends`` group): it names the
backend without importing redshift_connector, and reads a warehouse from ``dwh.cfg``'s
``[CLUSTER]`` section (what ``sparkify-dw cluster create`` writes).
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from sparkify_dw.backends.redshift.options import RedshiftOptions
from sparkify_dw.backends.registry import EngineInfo
from sparkify_dw.config import cfg_value
from sparkify_dw.errors import ConfigError

HOST_RE = re.compile(r"[A-Za-z0-9.-]{1,253}")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,126}")
DEFAULT_PORT = 5439


def _value(parser: configparser.ConfigParser, key: str) -> str | None:
    return cfg_value(parser, "CLUSTER", key)


def _require(parser: configparser.ConfigParser, path: Path, key: str) -> str:
    value = _value(parser, key)
    if value is None:
        raise ConfigError(f"{path}: [CLUSTER] {key} is missing or empty")
    return value


PORT_RANGE = (1150, 65535)  # the ports a Redshift cluster can listen on
RA3_PORT_RANGES = ((5431, 5455), (8191, 8215))  # and on ra3 nodes, only these


def cluster_port(text: str | None, origin: str) -> int:
    """``[CLUSTER] DB_PORT`` (default 5439), one rule for connecting and for ``create``."""
    try:
        port = int(text or DEFAULT_PORT)
        if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
            raise ValueError
    except ValueError:
        ranges = " or ".join(f"{low}-{high}" for low, high in RA3_PORT_RANGES)
        raise ConfigError(
            f"{origin}: a whole number; Redshift ports are {PORT_RANGE[0]}-{PORT_RANGE[1]} "
            f"({ranges} on ra3 nodes)"
        ) from None
    return port


# sqlalchemy-redshift's dialect without what Redshift can't take (:mod:`.dialect`).
OWN_DRIVER = "redshift+sparkify"


@dataclass(frozen=True)
class RedshiftInfo(EngineInfo):
    def engine_url(self, url: URL) -> URL:
        if url.drivername == f"{self.scheme}+{self.drivers[0]}":
            return url.set(drivername=OWN_DRIVER)
        return url

    def url_from_cfg(self, parser: configparser.ConfigParser, path: Path) -> URL:
        """``[CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD`` as a URL, each
        checked before it reaches one."""
        host = _require(parser, path, "HOST")
        if not HOST_RE.fullmatch(host):
            raise ConfigError(f"{path}: [CLUSTER] HOST is not a valid host name")
        port = cluster_port(_value(parser, "DB_PORT"), f"{path}: [CLUSTER] DB_PORT")
        db_name = _require(parser, path, "DB_NAME")
        user = _require(parser, path, "DB_USER")
        for key, value in (("DB_NAME", db_name), ("DB_USER", user)):
            if not IDENT_RE.fullmatch(value):
                raise ConfigError(f"{path}: [CLUSTER] {key} is not a valid identifier")
        return URL.create(
            f"{self.scheme}+{self.drivers[0]}",
            username=user,
            password=_require(parser, path, "DB_PASSWORD"),
            host=host,
            port=port,
            database=db_name,
        )


INFO = RedshiftInfo(
    scheme="redshift",
    title="Redshift",
    staging="COPY from S3 JSON through a manifest",
    backend="sparkify_dw.backends.redshift.backend:RedshiftBackend",
    drivers=("redshift_connector", "sparkify"),
    example_url="redshift+redshift_connector://user@host:5439/dbname",
    extra="redshift",
    modules=("sqlalchemy_redshift", "redshift_connector", "boto3"),
    default_driver=False,  # sqlalchemy-redshift's default would be psycopg2
    cfg_section="CLUSTER",
    options=RedshiftOptions,
    commands={"cluster": "sparkify_dw.backends.redshift.cluster.command:main"},
    setup=("sparkify_dw.backends.redshift.dialect", "sparkify_dw.backends.redshift.compiler"),
)
