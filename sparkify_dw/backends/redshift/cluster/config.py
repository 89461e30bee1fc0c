"""The ``[PROVISION]`` settings and the ``[CLUSTER]`` keys ``create`` needs, read from
dwh.cfg and checked against what CreateCluster would refuse, before any AWS call.

dwh.cfg keys read here (the file is found like :mod:`sparkify_dw.config` does:
``--config`` > ``$SPARKIFY_DW_CONFIG`` > ``./dwh.cfg``):

``[CLUSTER]``
    ``DB_NAME``, ``DB_USER``, ``DB_PASSWORD``: database and master user of the new
    cluster (lower-case names, not Redshift reserved words; ``create`` checks them
    and the password against CreateCluster's rules before any AWS call).
    ``DB_PORT`` (default 5439): its port, also the port opened in the security
    group; 1150-65535, and 5431-5455 or 8191-8215 on ra3 nodes.
    ``HOST`` is *written* by ``create``.
``[IAM_ROLE]``
    ``ARN`` is *written* by ``create``.
``[S3]``
    ``REGION`` (or ``$SPARKIFY_DW_S3_REGION``): the region to work in, unless
    ``--region`` or ``$AWS_DEFAULT_REGION`` is set; falls back to the AWS profile's
    region.
``[PROVISION]`` (provisioning only; nothing else in the project reads it)
    ``NODE_TYPE`` (required, e.g. ``ra3.xlplus``, ``dc2.large``);
    ``NUM_NODES`` (default 1, a single-node cluster; at most 100);
    ``CLUSTER_IDENTIFIER`` (default ``sparkify-dw``);
    ``IAM_ROLE_NAME`` (default ``sparkify-dw-redshift-s3``);
    ``SECURITY_GROUP_NAME`` (default ``<CLUSTER_IDENTIFIER>-ingress``): a security
    group of its own in the default VPC, so opening the port touches nothing else;
    ``INGRESS_CIDR`` (required by ``create``, e.g. ``203.0.113.7/32``): the only
    addresses allowed to reach ``DB_PORT``. There is deliberately no default:
    ``0.0.0.0/0`` is refused unless ``--allow-public`` is given;
    ``PUBLICLY_ACCESSIBLE`` (default true): give the cluster a public address so
    the loader can reach it from outside the VPC (still limited to INGRESS_CIDR).
"""

from __future__ import annotations

import configparser
import contextlib
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkify_dw.backends.redshift import IDENT_RE, RA3_PORT_RANGES, cluster_port
from sparkify_dw.config import cfg_value, config_file, env_secrets, read_settings
from sparkify_dw.errors import ConfigError
from sparkify_dw.secrets import cfg_secrets

PROVISION = "PROVISION"
DEFAULT_CLUSTER_IDENTIFIER = "sparkify-dw"
DEFAULT_ROLE_NAME = "sparkify-dw-redshift-s3"
DEFAULT_DB_PORT = 5439
CLUSTER_ID_RE = re.compile(r"[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)")
ROLE_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
SG_NAME_RE = re.compile(r"[A-Za-z0-9 ._:/()#,@+=-]{1,255}")
NODE_TYPE_RE = re.compile(r"[a-z0-9]+\.[a-z0-9]+")

# What CreateCluster refuses, checked before any AWS call. Source: Amazon Redshift
# API Reference, CreateCluster (DBName, MasterUsername, MasterUserPassword,
# NumberOfNodes, Port), docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
MAX_NODES = 100
# DBName: 1-64 lower-case letters and digits; underscores, which Redshift names
# allow, are let through too. No ``$``: the warehouse URL is built from it.
DB_NAME_RE = re.compile(r"[a-z0-9_]{1,64}")
# MasterUsername: 1-128 characters, a lower-case letter first, then lower-case
# letters, digits, _ + . @ -; not PUBLIC.
MASTER_USER_RE = re.compile(r"[a-z][a-z0-9_+.@-]{0,127}")
# MasterUserPassword: 8-64 printable ASCII characters (33-126) except ' " \ / @,
# with an upper-case letter, a lower-case letter and a digit.
PASSWORD_RE = re.compile(r"(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])[!#-&(-.0-?A-[\]-~]{8,64}")
# DBName and MasterUsername "cannot be a reserved word": the list on the Amazon
# Redshift Database Developer Guide page "Reserved words",
# https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html (lower-cased).
_RESERVED_WORDS_PAGE = """
    aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64
    backup between binary blanksasnull both bytedict bzip2 case cast check collate column
    constraint create credentials cross current_date current_time current_timestamp
    current_user current_user_id default deferrable deflate defrag delta delta32k desc
    disable distinct do else emptyasnull enable encode encrypt encryption end except explicit
    false for foreign freeze from full globaldict256 globaldict64k grant group gzip having
    identity ignore ilike in initially inner intersect interval into is isnull join leading
    left like limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8
    natural new not notnull null nulls off offline offset oid old on only open or order outer
    overlaps parallel partition percent permissions pivot placing primary raw readratio
    recover references rejectlog resort respect restore right select session_user similar
    snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing
    true truncatecolumns union unique unnest unpivot user using verbose wallet when where with
    without
"""
REDSHIFT_RESERVED_WORDS = frozenset(_RESERVED_WORDS_PAGE.split())
# Not on that page but refused all the same: MasterUsername "can't be PUBLIC", and
# PUBLIC names the group of all users and the default schema, so not a database either.
RESERVED_NAMES = REDSHIFT_RESERVED_WORDS | {"public"}


@dataclass(frozen=True)
class ProvisionConfig:
    """What dwh.cfg says about the cluster; the password is kept out of ``repr``."""

    path: Path
    cluster_identifier: str
    iam_role_name: str
    security_group_name: str
    node_type: str | None
    num_nodes: int
    ingress_cidr: str | None
    publicly_accessible: bool
    db_name: str | None
    db_user: str | None
    db_port: int
    region: str | None  # the data's ([S3] REGION)
    aws_region: str | None = None  # $AWS_DEFAULT_REGION
    db_password: str | None = field(default=None, repr=False)


def read_config(
    config: str | os.PathLike[str] | None = None,
) -> tuple[Path, configparser.ConfigParser, dict[str, Any]]:
    """dwh.cfg found and read as every command does (:func:`sparkify_dw.config.config_file`;
    here it must exist), and the shared settings the cluster works with, resolved by the
    same table: the data's ``region`` and the AWS default region."""
    path, parser = config_file(config)
    if parser is None:
        raise ConfigError(f"{path}: configuration file not found")
    return path, parser, read_settings(("region", "aws_region"), path, parser)


_get = cfg_value  # a key's value, None when missing or empty


def load_config(config: str | os.PathLike[str] | None = None) -> ProvisionConfig:
    """Read and check the provisioning settings, so bad input fails before any AWS call."""
    path, parser, shared = read_config(config)

    def where(section: str, key: str) -> str:
        return f"{path}: [{section}] {key}"

    cluster_id = _get(parser, PROVISION, "CLUSTER_IDENTIFIER") or DEFAULT_CLUSTER_IDENTIFIER
    cluster_id = cluster_id.lower()
    if not CLUSTER_ID_RE.fullmatch(cluster_id):
        raise ConfigError(
            f"{where(PROVISION, 'CLUSTER_IDENTIFIER')}: 1-63 letters, digits and "
            "single hyphens, starting with a letter"
        )
    role = _get(parser, PROVISION, "IAM_ROLE_NAME") or DEFAULT_ROLE_NAME
    if not ROLE_NAME_RE.fullmatch(role):
        raise ConfigError(f"{where(PROVISION, 'IAM_ROLE_NAME')}: not a valid IAM role name")
    sg_name = _get(parser, PROVISION, "SECURITY_GROUP_NAME") or f"{cluster_id}-ingress"
    if not SG_NAME_RE.fullmatch(sg_name) or sg_name.lower().startswith("sg-"):
        raise ConfigError(
            f"{where(PROVISION, 'SECURITY_GROUP_NAME')}: not a valid security group name"
        )
    node_type = _get(parser, PROVISION, "NODE_TYPE")
    if node_type is not None and not NODE_TYPE_RE.fullmatch(node_type):
        raise ConfigError(f"{where(PROVISION, 'NODE_TYPE')}: not a node type (e.g. ra3.xlplus)")
    try:
        # Only ``create`` holds it to CreateCluster's 100: a resized cluster may have more.
        num_nodes = int(_get(parser, PROVISION, "NUM_NODES") or "1")
        if num_nodes < 1:
            raise ValueError
    except ValueError:
        raise _num_nodes_error(where(PROVISION, "NUM_NODES")) from None
    public_text = (_get(parser, PROVISION, "PUBLICLY_ACCESSIBLE") or "true").lower()
    if public_text not in configparser.ConfigParser.BOOLEAN_STATES:
        raise ConfigError(f"{where(PROVISION, 'PUBLICLY_ACCESSIBLE')}: use true or false")
    port = cluster_port(_get(parser, "CLUSTER", "DB_PORT"), where("CLUSTER", "DB_PORT"))
    return ProvisionConfig(
        path=path,
        cluster_identifier=cluster_id,
        iam_role_name=role,
        security_group_name=sg_name,
        node_type=node_type,
        num_nodes=num_nodes,
        ingress_cidr=_get(parser, PROVISION, "INGRESS_CIDR"),
        publicly_accessible=configparser.ConfigParser.BOOLEAN_STATES[public_text],
        db_name=_get(parser, "CLUSTER", "DB_NAME"),
        db_user=_get(parser, "CLUSTER", "DB_USER"),
        db_port=port,
        region=shared["region"],
        aws_region=shared["aws_region"],
        db_password=_get(parser, "CLUSTER", "DB_PASSWORD"),
    )


def _num_nodes_error(where: str) -> ConfigError:
    return ConfigError(
        f"{where}: a whole number from 1 to {MAX_NODES} (1 is a single-node cluster)"
    )


def _ranges(ranges: Iterable[tuple[int, int]]) -> str:
    return " or ".join(f"{low}-{high}" for low, high in ranges)


def _check_name(where: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    """CreateCluster's rule for DBName or MasterUsername, then the library's own.

    Names are not secret, so the value is quoted; a lower-cased suggestion is
    offered when that alone would make it valid.
    """

    def usable(name: str) -> bool:
        return bool(
            pattern.fullmatch(name) and IDENT_RE.fullmatch(name) and name not in RESERVED_NAMES
        )

    if not pattern.fullmatch(value):
        lowered = value.lower()
        hint = f"; try {lowered!r}" if lowered != value and usable(lowered) else ""
        raise ConfigError(f"{where}: {value!r} is not accepted by Redshift: {rule}{hint}")
    if value in RESERVED_NAMES:
        raise ConfigError(f"{where}: {value!r} is a Redshift reserved word; choose another name")
    # sparkify_dw.config builds the warehouse URL from these and accepts only
    # identifiers (IDENT_RE): no + . @ - (which MasterUsername allows), no leading
    # digit, at most 127 characters.
    if not IDENT_RE.fullmatch(value):
        raise ConfigError(
            f"{where}: {value!r} is accepted by Redshift but not by sparkify_dw, "
            "which connects with it: use up to 127 letters, digits and "
            "underscores, not starting with a digit"
        )


def check_for_create(cfg: ProvisionConfig) -> None:
    """``create`` needs more keys than ``status``/``delete``; check them all up front.

    CreateCluster's rules for these keys are checked here, before any AWS call.
    """

    def where(section: str, key: str) -> str:
        return f"{cfg.path}: [{section}] {key}"

    if cfg.node_type is None:
        raise ConfigError(
            f"{cfg.path}: [{PROVISION}] NODE_TYPE is missing (e.g. NODE_TYPE=ra3.xlplus)"
        )
    if cfg.num_nodes > MAX_NODES:
        raise _num_nodes_error(where(PROVISION, "NUM_NODES"))
    if cfg.node_type.startswith("ra3.") and not any(
        low <= cfg.db_port <= high for low, high in RA3_PORT_RANGES
    ):
        raise ConfigError(
            f"{where('CLUSTER', 'DB_PORT')}: {cfg.node_type} nodes listen only "
            f"on {_ranges(RA3_PORT_RANGES)}, not {cfg.db_port} "
            f"(the default {DEFAULT_DB_PORT} is fine)"
        )
    check_database_keys(cfg)


def check_database_keys(cfg: ProvisionConfig) -> None:
    """DB_NAME, DB_USER and DB_PASSWORD against CreateCluster's rules (a Serverless
    namespace's admin user and database take the same)."""

    def where(section: str, key: str) -> str:
        return f"{cfg.path}: [{section}] {key}"

    for key, value, pattern, rule in (
        ("DB_NAME", cfg.db_name, DB_NAME_RE, "1-64 lower-case letters, digits and underscores"),
        (
            "DB_USER",
            cfg.db_user,
            MASTER_USER_RE,
            "1-128 characters, a lower-case letter first, then lower-case letters, digits "
            "and _ + . @ -",
        ),
    ):
        if value is None:
            raise ConfigError(f"{where('CLUSTER', key)} is missing or empty")
        _check_name(where("CLUSTER", key), value, pattern, rule)
    if cfg.db_password is None:
        raise ConfigError(f"{where('CLUSTER', 'DB_PASSWORD')} is missing or empty")
    if not PASSWORD_RE.fullmatch(cfg.db_password):
        # Never quote the value, nor say which character or how many.
        raise ConfigError(
            f"{where('CLUSTER', 'DB_PASSWORD')} does not meet Redshift's rules: "
            "8-64 characters with an upper-case letter, a lower-case letter and "
            "a digit; printable ASCII without quotes, backslash, slash, @ or "
            "spaces"
        )


def ingress_cidr(
    value: str | None, *, allow_public: bool = False, origin: str = "[PROVISION] INGRESS_CIDR"
) -> str:
    """Return the CIDR to open; refuse to guess, and refuse the whole internet unless asked."""
    if value is None:
        if allow_public:
            return "0.0.0.0/0"
        raise ConfigError(
            "no ingress CIDR: set [PROVISION] INGRESS_CIDR in dwh.cfg (e.g. your "
            "address as 203.0.113.7/32) or pass --cidr; nothing was created"
        )
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        try:
            hint = f" (did you mean {ipaddress.ip_network(value.strip(), strict=False)}?)"
        except ValueError:
            hint = " (e.g. 203.0.113.7/32)"
        raise ConfigError(f"{origin}: {value!r} is not a CIDR block{hint}") from None
    if network.prefixlen == 0 and not allow_public:
        raise ConfigError(
            f"{origin}: {network} would open the database port to the whole "
            "internet; pass --allow-public if you really mean it; "
            "nothing was created"
        )
    return str(network)


def secrets(cfg_file: str | os.PathLike[str] | None = None) -> list[str]:
    """Values that must never reach the terminal: the AWS secrets in the environment
    and dwh.cfg's secret values (DB_PASSWORD), used to scrub error text."""
    parser = None
    with contextlib.suppress(ConfigError, OSError):
        parser = read_config(cfg_file)[1]
    return env_secrets() + cfg_secrets(parser)
