"""Create, inspect and delete the Amazon Redshift cluster behind the warehouse.

Why: the Redshift path needs a cluster plus an IAM role that lets ``COPY`` read
Sparkify's S3 data. Clicking that together in the console is slow, easy to get
wrong (a database port open to the world) and easy to forget (a cluster left
running keeps billing). This module makes it three repeatable commands::

    python -m sparkify_dw.cluster create   # role + cluster; writes HOST and ARN into dwh.cfg
    alembic upgrade head                   # create the schema on the cluster
    python -m sparkify_dw.load             # COPY the S3 data and fill the star schema
    python -m sparkify_dw.cluster delete   # final snapshot, then remove cluster and role

``create`` and ``delete`` are idempotent: running them again reports and reuses
(or skips) what already exists.

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
    ``REGION``: the region to work in, unless ``--region`` or
    ``$AWS_DEFAULT_REGION`` is set (same precedence as the rest of the project);
    falls back to the AWS profile's region.
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

Exit status: 0 success, 1 AWS error or timeout, 2 configuration or usage error,
3 ``status`` found no cluster, 130 interrupted. Errors are one ``error:`` line on
stderr (``-v`` adds the traceback); passwords and AWS secret keys are never printed.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import ipaddress
import json
import os
import re
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .config import (
    DEFAULT_CONFIG_NAME,
    ENV_CONFIG,
    HOST_RE,
    IDENT_RE,
    ConfigError,
    cfg_value,
    read_cfg,
    validate_iam_role_arn,
    validate_region,
)

PROVISION = "PROVISION"
DEFAULT_CLUSTER_IDENTIFIER = "sparkify-dw"
DEFAULT_ROLE_NAME = "sparkify-dw-redshift-s3"
DEFAULT_DB_PORT = 5439
DEFAULT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 15.0
S3_READ_POLICY = "policy/AmazonS3ReadOnlyAccess"
# Marks what this module created, so ``delete`` never removes a role or
# security group that merely happens to share the configured name.
MANAGED_TAG = {"Key": "managed-by", "Value": "sparkify_dw.cluster"}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "redshift.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}
EXIT_OK, EXIT_AWS, EXIT_CONFIG, EXIT_NO_CLUSTER, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

CLUSTER_ID_RE = re.compile(r"[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)")
ROLE_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
SG_NAME_RE = re.compile(r"[A-Za-z0-9 ._:/()#,@+=-]{1,255}")
NODE_TYPE_RE = re.compile(r"[a-z0-9]+\.[a-z0-9]+")

# What CreateCluster refuses, checked before any AWS call. Source: Amazon Redshift
# API Reference, CreateCluster (DBName, MasterUsername, MasterUserPassword,
# NumberOfNodes, Port), docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
MAX_NODES = 100
# Port: ra3 nodes only listen in these ranges; other node types (dc2) in 1150-65535.
RA3_PORT_RANGES = ((5431, 5455), (8191, 8215))
PORT_RANGE = (1150, 65535)
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
# States in which waiting for "available" can never succeed.
DEAD_STATES = {"deleting", "final-snapshot", "paused", "pausing", "hardware-failure",
               "incompatible-hsm", "incompatible-network", "incompatible-parameters",
               "incompatible-restore", "storage-full"}


class ClusterError(RuntimeError):
    """A provisioning problem worded as one line for the user."""


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
    region: str | None
    db_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ClusterInfo:
    """What ``create`` and ``status`` found; ``state`` is None when there is no cluster."""

    identifier: str
    region: str
    state: str | None = None
    host: str | None = None
    port: int | None = None
    node_type: str | None = None
    num_nodes: int | None = None
    role_arn: str | None = None
    ingress: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return self.state is not None


@dataclass(frozen=True)
class DeleteResult:
    """What ``delete`` did, for callers that want more than the printed lines."""

    cluster_deleted: bool
    snapshot_identifier: str | None
    role_deleted: bool
    security_group_deleted: bool


# --------------------------------------------------------------------------- config


def config_path(config: str | os.PathLike[str] | None = None) -> Path:
    """Locate dwh.cfg the way :func:`sparkify_dw.config.resolve` does."""
    chosen = config if config is not None else os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_NAME
    return Path(chosen).absolute()


def _read_parser(path: Path) -> configparser.ConfigParser:
    parser = read_cfg(path)
    assert parser is not None  # read_cfg raises for a missing file it was asked for
    return parser


_get = cfg_value


def load_config(config: str | os.PathLike[str] | None = None) -> ProvisionConfig:
    """Read and check the provisioning settings, so bad input fails before any AWS call."""
    path = config_path(config)
    parser = _read_parser(path)

    def where(section: str, key: str) -> str:
        return f"{path}: [{section}] {key}"

    cluster_id = _get(parser, PROVISION, "CLUSTER_IDENTIFIER") or DEFAULT_CLUSTER_IDENTIFIER
    cluster_id = cluster_id.lower()
    if not CLUSTER_ID_RE.fullmatch(cluster_id):
        raise ConfigError(f"{where(PROVISION, 'CLUSTER_IDENTIFIER')}: 1-63 letters, digits and "
                          "single hyphens, starting with a letter")
    role = _get(parser, PROVISION, "IAM_ROLE_NAME") or DEFAULT_ROLE_NAME
    if not ROLE_NAME_RE.fullmatch(role):
        raise ConfigError(f"{where(PROVISION, 'IAM_ROLE_NAME')}: not a valid IAM role name")
    sg_name = _get(parser, PROVISION, "SECURITY_GROUP_NAME") or f"{cluster_id}-ingress"
    if not SG_NAME_RE.fullmatch(sg_name) or sg_name.lower().startswith("sg-"):
        raise ConfigError(f"{where(PROVISION, 'SECURITY_GROUP_NAME')}: not a valid security "
                          "group name")
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
    try:
        port = int(_get(parser, "CLUSTER", "DB_PORT") or DEFAULT_DB_PORT)
        if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
            raise ValueError
    except ValueError:
        raise ConfigError(f"{where('CLUSTER', 'DB_PORT')}: a whole number; Redshift ports are "
                          f"{_ranges((PORT_RANGE,))} ({_ranges(RA3_PORT_RANGES)} on ra3 "
                          "nodes)") from None
    region = _get(parser, "S3", "REGION")
    if region is not None:
        validate_region(region, where("S3", "REGION"))
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
        region=region,
        db_password=_get(parser, "CLUSTER", "DB_PASSWORD"),
    )


def _num_nodes_error(where: str) -> ConfigError:
    return ConfigError(f"{where}: a whole number from 1 to {MAX_NODES} "
                       "(1 is a single-node cluster)")


def _ranges(ranges: Iterable[tuple[int, int]]) -> str:
    return " or ".join(f"{low}-{high}" for low, high in ranges)


def _check_name(where: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    """CreateCluster's rule for DBName or MasterUsername, then the library's own.

    Names are not secret, so the value is quoted; a lower-cased suggestion is
    offered when that alone would make it valid.
    """
    def usable(name: str) -> bool:
        return bool(pattern.fullmatch(name) and IDENT_RE.fullmatch(name)
                    and name not in RESERVED_NAMES)

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
        raise ConfigError(f"{where}: {value!r} is accepted by Redshift but not by sparkify_dw, "
                          "which connects with it: use up to 127 letters, digits and "
                          "underscores, not starting with a digit")


def _check_for_create(cfg: ProvisionConfig) -> None:
    """``create`` needs more keys than ``status``/``delete``; check them all up front.

    CreateCluster's rules for these keys are checked here, before any AWS call.
    """
    def where(section: str, key: str) -> str:
        return f"{cfg.path}: [{section}] {key}"

    if cfg.node_type is None:
        raise ConfigError(f"{cfg.path}: [{PROVISION}] NODE_TYPE is missing "
                          "(e.g. NODE_TYPE=ra3.xlplus)")
    if cfg.num_nodes > MAX_NODES:
        raise _num_nodes_error(where(PROVISION, "NUM_NODES"))
    if cfg.node_type.startswith("ra3.") and not any(
            low <= cfg.db_port <= high for low, high in RA3_PORT_RANGES):
        raise ConfigError(f"{where('CLUSTER', 'DB_PORT')}: {cfg.node_type} nodes listen only "
                          f"on {_ranges(RA3_PORT_RANGES)}, not {cfg.db_port} "
                          f"(the default {DEFAULT_DB_PORT} is fine)")
    for key, value, pattern, rule in (
        ("DB_NAME", cfg.db_name, DB_NAME_RE,
         "1-64 lower-case letters, digits and underscores"),
        ("DB_USER", cfg.db_user, MASTER_USER_RE,
         "1-128 characters, a lower-case letter first, then lower-case letters, digits "
         "and _ + . @ -"),
    ):
        if value is None:
            raise ConfigError(f"{where('CLUSTER', key)} is missing or empty")
        _check_name(where("CLUSTER", key), value, pattern, rule)
    if cfg.db_password is None:
        raise ConfigError(f"{where('CLUSTER', 'DB_PASSWORD')} is missing or empty")
    if not PASSWORD_RE.fullmatch(cfg.db_password):
        # Never quote the value, nor say which character or how many.
        raise ConfigError(f"{where('CLUSTER', 'DB_PASSWORD')} does not meet Redshift's rules: "
                          "8-64 characters with an upper-case letter, a lower-case letter and "
                          "a digit; printable ASCII without quotes, backslash, slash, @ or "
                          "spaces")


def ingress_cidr(value: str | None, *, allow_public: bool = False,
                 origin: str = "[PROVISION] INGRESS_CIDR") -> str:
    """Return the CIDR to open; refuse to guess, and refuse the whole internet unless asked."""
    if value is None:
        if allow_public:
            return "0.0.0.0/0"
        raise ConfigError("no ingress CIDR: set [PROVISION] INGRESS_CIDR in dwh.cfg (e.g. your "
                          "address as 203.0.113.7/32) or pass --cidr; nothing was created")
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        try:
            hint = f" (did you mean {ipaddress.ip_network(value.strip(), strict=False)}?)"
        except ValueError:
            hint = " (e.g. 203.0.113.7/32)"
        raise ConfigError(f"{origin}: {value!r} is not a CIDR block{hint}") from None
    if network.prefixlen == 0 and not allow_public:
        raise ConfigError(f"{origin}: {network} would open the database port to the whole "
                          "internet; pass --allow-public if you really mean it; "
                          "nothing was created")
    return str(network)


def secrets(cfg_file: str | os.PathLike[str] | None = None) -> list[str]:
    """Values that must never reach the terminal (used to scrub error text)."""
    found = [os.environ.get(name) for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                                "AWS_SECURITY_TOKEN")]
    with contextlib.suppress(ConfigError, OSError):
        found.append(_get(_read_parser(config_path(cfg_file)), "CLUSTER", "DB_PASSWORD"))
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, hidden: Iterable[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


# ----------------------------------------------------------------- dwh.cfg write-back

_SECTION_RE = re.compile(r"\[(?P<name>.+)\]\s*$")
_KEY_RE = re.compile(r"(?P<key>[^\s=:;#\[][^=:]*?)(?P<sep>\s*[=:]\s*)(?P<value>.*)$")


def _edit_cfg_text(text: str, updates: Mapping[tuple[str, str], str]) -> str:
    """Set ``[section] KEY = value`` in INI text, touching only those lines.

    Why line-based: ``ConfigParser.write`` drops every comment, and dwh.cfg is a
    hand-edited file whose notes should survive.
    """
    pending = {(section, key.upper()): value for (section, key), value in updates.items()}
    lines = re.findall(r"[^\n]*\n|[^\n]+", text)
    newline = "\r\n" if "\r\n" in text else "\n"
    out: list[str] = []
    insert_at: dict[str, int] = {}  # section -> index after its last key line
    sep_style = "="
    section: str | None = None
    in_value = False  # inside a key whose value we replaced: drop its continuation lines
    for line in lines:
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        indented = body[:1] in (" ", "\t") and body.strip() != ""
        if in_value and indented:
            continue
        in_value = False
        stripped = body.strip()
        header = _SECTION_RE.match(stripped) if not indented else None
        if header:
            section = header["name"]
            out.append(line)
            insert_at[section] = len(out)
            continue
        if section is None or not stripped or stripped[0] in "#;":
            out.append(line)
            continue
        match = None if indented else _KEY_RE.match(body)
        if match and (section, match["key"].strip().upper()) in pending:
            value = pending.pop((section, match["key"].strip().upper()))
            out.append(f"{match['key']}{match['sep']}{value}{ending or newline}")
            in_value = True
        else:
            if match and sep_style == "=":
                sep_style = match["sep"] if match["sep"].strip() else sep_style
            out.append(line)
        insert_at[section] = len(out)

    if out and not out[-1].endswith("\n"):
        out[-1] += newline
    by_section: dict[str, list[tuple[str, str]]] = {}
    for (sect, key), value in pending.items():
        by_section.setdefault(sect, []).append((key, value))
    # Existing sections: insert after their last key, from the bottom up so indexes hold.
    for sect in sorted((s for s in by_section if s in insert_at),
                       key=lambda s: insert_at[s], reverse=True):
        index = insert_at[sect]
        out[index:index] = [f"{key}{sep_style}{value}{newline}" for key, value in by_section[sect]]
    for sect, items in by_section.items():
        if sect not in insert_at:
            if out and out[-1].strip():
                out.append(newline)
            out.append(f"[{sect}]{newline}")
            out.extend(f"{key}{sep_style}{value}{newline}" for key, value in items)
    return "".join(out)


def update_cfg(path: str | os.PathLike[str], updates: Mapping[tuple[str, str], str]) -> None:
    """Write values into dwh.cfg atomically, keeping comments, other keys and the file mode."""
    for value in updates.values():
        if "\n" in value or "\r" in value:
            raise ValueError("dwh.cfg values must be single lines")
    real = Path(os.path.realpath(path))  # replace a symlink's target, not the link
    original = real.stat()
    text = _edit_cfg_text(real.read_bytes().decode("utf-8"), updates)

    check = configparser.ConfigParser(interpolation=None)
    check.optionxform = str.upper  # type: ignore[assignment,method-assign]
    try:
        check.read_string(text)
    except configparser.Error as exc:
        raise ClusterError(f"{real}: cannot update: {str(exc).splitlines()[0]}") from None
    for (section, key), value in updates.items():
        if check.get(section, key, fallback=None) != value:
            raise ClusterError(f"{real}: could not update [{section}] {key} safely; set it by "
                               f"hand to {value}")

    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(original.st_mode))
        if hasattr(os, "chown") and (original.st_uid, original.st_gid) != (os.getuid(),
                                                                           os.getgid()):
            # Not allowed to give the file away? The mode still holds.
            with contextlib.suppress(OSError):
                os.chown(tmp, original.st_uid, original.st_gid)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- AWS helpers


@dataclass
class _Aws:
    region: str
    iam: Any
    redshift: Any
    ec2: Any


def _connect(cfg: ProvisionConfig, session: boto3.Session | None, region: str | None) -> _Aws:
    """Pick the region (argument > $AWS_DEFAULT_REGION > [S3] REGION > profile) and clients."""
    env_region = os.environ.get("AWS_DEFAULT_REGION")
    if region is not None:
        chosen: str | None = validate_region(region, "--region")
    elif env_region:
        chosen = validate_region(env_region, "$AWS_DEFAULT_REGION")
    elif cfg.region is not None:
        chosen = cfg.region
    else:
        chosen = None
    session = session if session is not None else boto3.Session()
    chosen = chosen or session.region_name
    if not chosen:
        raise ConfigError("no AWS region: set [S3] REGION in dwh.cfg, $AWS_DEFAULT_REGION "
                          "or pass --region")
    return _Aws(
        region=chosen,
        iam=session.client("iam", region_name=chosen),
        redshift=session.client("redshift", region_name=chosen),
        ec2=session.client("ec2", region_name=chosen),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe_cluster(redshift: Any, identifier: str) -> dict[str, Any] | None:
    try:
        clusters = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
    except ClientError as exc:
        if _code(exc) in ("ClusterNotFound", "ClusterNotFoundFault"):
            return None
        raise
    return clusters[0] if clusters else None


def _get_role(iam: Any, name: str) -> dict[str, Any] | None:
    try:
        role: dict[str, Any] = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    return role


def _role_is_managed(iam: Any, name: str) -> bool:
    tags = iam.list_role_tags(RoleName=name).get("Tags", [])
    return any(t.get("Key") == MANAGED_TAG["Key"] and t.get("Value") == MANAGED_TAG["Value"]
               for t in tags)


def _policy_arn(role_arn: str) -> str:
    partition = role_arn.split(":")[1]  # aws, aws-cn or aws-us-gov
    return f"arn:{partition}:iam::aws:{S3_READ_POLICY}"


def _ensure_role(iam: Any, name: str, say: Callable[[str], None]) -> str:
    """Create (or reuse) the role Redshift assumes for COPY, with S3 read-only access."""
    role = _get_role(iam, name)
    if role is None:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Lets Redshift read Sparkify's S3 data (sparkify_dw.cluster)",
            Tags=[MANAGED_TAG],
        )["Role"]
        say(f"role {name}: created")
    else:
        trust = role.get("AssumeRolePolicyDocument", "")
        if "redshift.amazonaws.com" not in (trust if isinstance(trust, str) else json.dumps(trust)):
            raise ClusterError(f"IAM role {name} exists but Redshift cannot assume it; choose "
                               "another [PROVISION] IAM_ROLE_NAME")
        note = "" if _role_is_managed(iam, name) else " (not created here: delete will keep it)"
        say(f"role {name}: exists, reusing{note}")
    arn = validate_iam_role_arn(str(role["Arn"]), f"IAM role {name}")
    policy = _policy_arn(arn)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    if any(p["PolicyArn"] == policy for p in attached):
        say(f"role {name}: {policy} already attached")
    else:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        say(f"role {name}: attached {policy}")
    return arn


def _default_vpc(ec2: Any, region: str) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ClusterError(f"no default VPC in {region}: create one (aws ec2 create-default-vpc) "
                           "or use another region")
    return str(vpcs[0]["VpcId"])


def _find_security_group(ec2: Any, name: str, vpc_id: str) -> dict[str, Any] | None:
    groups = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]},
    ])["SecurityGroups"]
    return groups[0] if groups else None


def _sg_is_managed(group: Mapping[str, Any]) -> bool:
    return any(t.get("Key") == MANAGED_TAG["Key"] and t.get("Value") == MANAGED_TAG["Value"]
               for t in group.get("Tags", []))


def _cidr_rules(group: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Each CIDR-based ingress rule as (minimal IpPermission, CIDR)."""
    rules = []
    for perm in group.get("IpPermissions", []):
        base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
        for item in perm.get("IpRanges", []):
            rules.append(({**base, "IpRanges": [{"CidrIp": item["CidrIp"]}]}, item["CidrIp"]))
        for item in perm.get("Ipv6Ranges", []):
            rules.append(({**base, "Ipv6Ranges": [{"CidrIpv6": item["CidrIpv6"]}]},
                          item["CidrIpv6"]))
    return rules


def _describe_rule(perm: Mapping[str, Any], cidr: str) -> str:
    proto = perm.get("IpProtocol", "?")
    if proto == "-1":
        return f"{cidr} on all ports"
    ports = perm.get("FromPort")
    if perm.get("ToPort") not in (None, ports):
        ports = f"{ports}-{perm['ToPort']}"
    return f"{cidr} on {proto}/{ports}"


def _ensure_security_group(ec2: Any, region: str, cfg: ProvisionConfig, cidr: str,
                           say: Callable[[str], None]) -> str:
    """A group of our own whose only CIDR rule is ``cidr`` on the database port."""
    vpc_id = _default_vpc(ec2, region)
    name = cfg.security_group_name
    group = _find_security_group(ec2, name, vpc_id)
    if group is None:
        group_id = ec2.create_security_group(
            GroupName=name, VpcId=vpc_id,
            Description=f"Database access to Redshift cluster {cfg.cluster_identifier}",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [MANAGED_TAG]}],
        )["GroupId"]
        say(f"security group {name} ({group_id}): created in {vpc_id}")
        group = {"GroupId": group_id, "IpPermissions": [], "Tags": [MANAGED_TAG]}
    else:
        group_id = group["GroupId"]
        say(f"security group {name} ({group_id}): exists, reusing")
    wanted = {"IpProtocol": "tcp", "FromPort": cfg.db_port, "ToPort": cfg.db_port}
    key = "Ipv6Ranges" if ":" in cidr else "IpRanges"
    item = {"CidrIpv6": cidr} if ":" in cidr else {"CidrIp": cidr}
    present = False
    for perm, rule_cidr in _cidr_rules(group):
        same = (rule_cidr == cidr and perm.get("IpProtocol") == "tcp"
                and perm.get("FromPort") == cfg.db_port and perm.get("ToPort") == cfg.db_port)
        if same:
            present = True
        elif _sg_is_managed(group):  # ours: keep it to exactly the configured rule
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[perm])
            say(f"security group {name}: removed old ingress {_describe_rule(perm, rule_cidr)}")
    if present:
        say(f"security group {name}: ingress {cidr} on tcp/{cfg.db_port} already open")
    else:
        try:
            ec2.authorize_security_group_ingress(
                GroupId=group_id, IpPermissions=[{**wanted, key: [item]}])
        except ClientError as exc:
            if _code(exc) != "InvalidPermission.Duplicate":
                raise
        say(f"security group {name}: opened tcp/{cfg.db_port} to {cidr}")
    return str(group_id)


def _ensure_cluster(redshift: Any, cfg: ProvisionConfig, role_arn: str, group_id: str,
                    say: Callable[[str], None]) -> None:
    """Start creating the cluster, or report the existing one and what differs from dwh.cfg."""
    cid = cfg.cluster_identifier
    cluster = _describe_cluster(redshift, cid)
    if cluster is None:
        params: dict[str, Any] = {
            "ClusterIdentifier": cid,
            "NodeType": cfg.node_type,
            "DBName": cfg.db_name,
            "MasterUsername": cfg.db_user,
            "MasterUserPassword": cfg.db_password,
            "Port": cfg.db_port,
            "IamRoles": [role_arn],
            "VpcSecurityGroupIds": [group_id],
            "PubliclyAccessible": cfg.publicly_accessible,
            "Tags": [MANAGED_TAG],
        }
        if cfg.num_nodes == 1:
            params["ClusterType"] = "single-node"
        else:
            params.update(ClusterType="multi-node", NumberOfNodes=cfg.num_nodes)
        try:
            redshift.create_cluster(**params)
        except ClientError as exc:
            if _code(exc) not in ("ClusterAlreadyExists", "ClusterAlreadyExistsFault"):
                raise
            say(f"cluster {cid}: created meanwhile by someone else, reusing")
            return
        say(f"cluster {cid}: creating {cfg.num_nodes} x {cfg.node_type}")
        return
    state = cluster.get("ClusterStatus", "unknown")
    say(f"cluster {cid}: exists ({state}), reusing")
    if state in ("deleting", "final-snapshot"):
        raise ClusterError(f"cluster {cid} is being deleted; wait until `status` says it is "
                           "gone, then run create again")
    differs = [f"{label} {have} (dwh.cfg: {want})" for label, have, want in (
        ("node type", cluster.get("NodeType"), cfg.node_type),
        ("nodes", cluster.get("NumberOfNodes"), cfg.num_nodes),
        ("database", cluster.get("DBName"), cfg.db_name),
        ("port", (cluster.get("Endpoint") or {}).get("Port", cfg.db_port), cfg.db_port),
    ) if have is not None and have != want]
    if differs:
        say(f"note: cluster {cid} was not changed; it has " + ", ".join(differs))
    if role_arn not in {r.get("IamRoleArn") for r in cluster.get("IamRoles", [])}:
        say(f"note: role {role_arn} is not attached to cluster {cid}; COPY from S3 will fail "
            "until it is (aws redshift modify-cluster-iam-roles)")
    if group_id not in {g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])}:
        say(f"note: cluster {cid} does not use security group {group_id}; its ingress was "
            "not changed")


class _Progress:
    """A spinner on a terminal, one line per poll otherwise (CI logs, files)."""

    FRAMES = "|/-\\"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.frame = 0

    def update(self, message: str) -> None:
        if self.tty:
            self.stream.write(f"\r\033[K{self.FRAMES[self.frame % 4]} {message}")
            self.frame += 1
        else:
            self.stream.write(message + "\n")
        self.stream.flush()

    def done(self, message: str | None) -> None:
        """End the display; ``None`` when an error line will say what happened."""
        if self.tty:
            self.stream.write("\r\033[K" + (f"{message}\n" if message else ""))
        elif message:
            self.stream.write(message + "\n")
        self.stream.flush()


def wait_for_cluster(
    redshift: Any,
    identifier: str,
    *,
    until: str = "available",
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    progress: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Poll until the cluster is ``available`` (returned) or ``deleted`` (None).

    Why not a boto3 waiter: waiters print nothing for many minutes and fail with
    an opaque message; this shows the state as it goes and names the way out.
    """
    if until not in ("available", "deleted"):
        raise ValueError("until must be 'available' or 'deleted'")
    display = _Progress(progress if progress is not None else sys.stderr)
    start = clock()
    while True:
        cluster = _describe_cluster(redshift, identifier)
        elapsed = clock() - start
        state = cluster.get("ClusterStatus", "unknown") if cluster else "deleted"
        if until == "deleted" and cluster is None:
            display.done(f"cluster {identifier}: deleted after {elapsed:.0f}s")
            return None
        if until == "available" and cluster is None:
            display.done(None)
            raise ClusterError(f"cluster {identifier} disappeared while waiting for it")
        if (until == "available" and cluster is not None and state == "available"
                and (cluster.get("Endpoint") or {}).get("Address")):
            display.done(f"cluster {identifier}: available after {elapsed:.0f}s")
            return cluster
        if until == "available" and state in DEAD_STATES:
            display.done(None)
            raise ClusterError(f"cluster {identifier} is {state}; it will not become available "
                               "(check the Redshift console)")
        if elapsed >= timeout:
            display.done(None)
            again = "create" if until == "available" else "delete --wait"
            raise ClusterError(f"timed out after {timeout:g}s waiting for cluster {identifier} "
                               f"(state: {state}); it carries on in AWS: run "
                               f"`python -m sparkify_dw.cluster {again}` to keep waiting")
        pause = max(0.0, min(poll_interval, timeout - elapsed))
        if not display.tty:
            display.update(f"waiting: cluster {identifier} is {state} "
                           f"({elapsed:.0f}s of {timeout:g}s)")
            sleep(pause)
            continue
        wake = clock() + pause
        while True:  # keep the spinner turning between polls
            now = clock()
            display.update(f"cluster {identifier} is {state} "
                           f"({now - start:.0f}s of {timeout:g}s)")
            if now >= wake:
                break
            sleep(min(0.25, wake - now))


def _printer(out: TextIO | None) -> Callable[[str], None]:
    def say(message: str) -> None:
        stream = out if out is not None else sys.stdout
        stream.write(message + "\n")
        stream.flush()
    return say


# ---------------------------------------------------------------------- public API


def create(
    config: str | os.PathLike[str] | None = None,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    cidr: str | None = None,
    allow_public: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    out: TextIO | None = None,
    progress: TextIO | None = None,
) -> ClusterInfo:
    """Create (or reuse) role, security group and cluster; wait; write HOST and ARN to dwh.cfg."""
    say = _printer(out)
    cfg = load_config(config)
    _check_for_create(cfg)
    origin = "--cidr" if cidr is not None else f"{cfg.path}: [{PROVISION}] INGRESS_CIDR"
    allowed = ingress_cidr(cidr if cidr is not None else cfg.ingress_cidr,
                           allow_public=allow_public, origin=origin)
    if cfg.path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        say(f"warning: {cfg.path} holds a password and is readable by other users; "
            f"run: chmod 600 {cfg.path}")
    aws = _connect(cfg, session, region)
    say(f"region {aws.region}")
    role_arn = _ensure_role(aws.iam, cfg.iam_role_name, say)
    group_id = _ensure_security_group(aws.ec2, aws.region, cfg, allowed, say)
    _ensure_cluster(aws.redshift, cfg, role_arn, group_id, say)
    cluster = wait_for_cluster(aws.redshift, cfg.cluster_identifier, timeout=timeout,
                               poll_interval=poll_interval, progress=progress)
    assert cluster is not None
    endpoint = cluster["Endpoint"]
    host = str(endpoint["Address"])
    if not HOST_RE.fullmatch(host):
        raise ClusterError(f"cluster {cfg.cluster_identifier} reported an odd endpoint; "
                           "dwh.cfg not changed")
    update_cfg(cfg.path, {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): role_arn})
    say(f"{cfg.path}: wrote [CLUSTER] HOST={host} and [IAM_ROLE] ARN={role_arn}")
    say("next: alembic upgrade head, then python -m sparkify_dw.load")
    return ClusterInfo(
        identifier=cfg.cluster_identifier, region=aws.region, state=cluster["ClusterStatus"],
        host=host, port=int(endpoint.get("Port", cfg.db_port)),
        node_type=cluster.get("NodeType"), num_nodes=cluster.get("NumberOfNodes"),
        role_arn=role_arn, ingress=(f"{allowed} on tcp/{cfg.db_port}",),
    )


def status(
    config: str | os.PathLike[str] | None = None,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    out: TextIO | None = None,
) -> ClusterInfo:
    """Print and return the cluster's state, endpoint, size, role ARN and ingress."""
    say = _printer(out)
    cfg = load_config(config)
    aws = _connect(cfg, session, region)
    cid = cfg.cluster_identifier
    role = _get_role(aws.iam, cfg.iam_role_name)
    role_arn = str(role["Arn"]) if role else None
    ingress: tuple[str, ...] = ()
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    group = (_find_security_group(aws.ec2, cfg.security_group_name, vpcs[0]["VpcId"])
             if vpcs else None)
    if group is not None:
        ingress = tuple(_describe_rule(perm, cidr) for perm, cidr in _cidr_rules(group))
    cluster = _describe_cluster(aws.redshift, cid)

    say(f"region:    {aws.region}")
    say(f"cluster:   {cid}")
    role_line = role_arn or f"{cfg.iam_role_name} does not exist"
    if cluster is None:
        say(f"state:     does not exist in {aws.region} "
            "(run: python -m sparkify_dw.cluster create)")
        say(f"role:      {role_line}")
        return ClusterInfo(identifier=cid, region=aws.region, role_arn=role_arn, ingress=ingress)
    endpoint = cluster.get("Endpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port")
    info = ClusterInfo(
        identifier=cid, region=aws.region, state=cluster.get("ClusterStatus", "unknown"),
        host=host, port=port, node_type=cluster.get("NodeType"),
        num_nodes=cluster.get("NumberOfNodes"), role_arn=role_arn, ingress=ingress,
    )
    say(f"state:     {info.state}")
    say(f"endpoint:  {f'{host}:{port}' if host else '(not yet assigned)'}")
    say(f"nodes:     {info.num_nodes} x {info.node_type}")
    say(f"role:      {role_line}")
    say(f"ingress:   {', '.join(ingress) if ingress else '(no security group of ours)'}")
    return info


def delete(
    config: str | os.PathLike[str] | None = None,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    skip_final_snapshot: bool = False,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    out: TextIO | None = None,
    progress: TextIO | None = None,
) -> DeleteResult:
    """Delete the cluster (final snapshot unless skipped), then our role and security group."""
    say = _printer(out)
    cfg = load_config(config)
    aws = _connect(cfg, session, region)
    cid = cfg.cluster_identifier
    say(f"region {aws.region}")

    snapshot: str | None = None
    cluster_deleted = False
    cluster = _describe_cluster(aws.redshift, cid)
    if cluster is None:
        say(f"cluster {cid}: does not exist")
    elif cluster.get("ClusterStatus") in ("deleting", "final-snapshot"):
        say(f"cluster {cid}: already being deleted")
    else:
        params: dict[str, Any] = {"ClusterIdentifier": cid,
                                  "SkipFinalClusterSnapshot": skip_final_snapshot}
        if not skip_final_snapshot:
            snapshot = f"{cid}-final-{datetime.now(UTC):%Y%m%d-%H%M%S}"
            params["FinalClusterSnapshotIdentifier"] = snapshot
        aws.redshift.delete_cluster(**params)
        cluster_deleted = True
        say(f"cluster {cid}: deleting" + (f", final snapshot {snapshot}" if snapshot
                                          else " without a final snapshot"))
    gone = cluster is None
    if wait and not gone:
        wait_for_cluster(aws.redshift, cid, until="deleted", timeout=timeout,
                         poll_interval=poll_interval, progress=progress)
        gone = True

    role_deleted = False
    name = cfg.iam_role_name
    if _get_role(aws.iam, name) is None:
        say(f"role {name}: does not exist")
    elif not _role_is_managed(aws.iam, name):
        say(f"role {name}: not created by sparkify_dw.cluster, kept")
    else:
        for policy in aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            aws.iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for inline in aws.iam.list_role_policies(RoleName=name)["PolicyNames"]:
            aws.iam.delete_role_policy(RoleName=name, PolicyName=inline)
        aws.iam.delete_role(RoleName=name)
        role_deleted = True
        say(f"role {name}: policies detached, deleted")

    group_deleted = False
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    group = (_find_security_group(aws.ec2, cfg.security_group_name, vpcs[0]["VpcId"])
             if vpcs else None)
    sg = cfg.security_group_name
    if group is None:
        say(f"security group {sg}: does not exist")
    elif not _sg_is_managed(group):
        say(f"security group {sg}: not created by sparkify_dw.cluster, kept")
    elif not gone:
        say(f"security group {sg}: kept until the cluster is gone (costs nothing); "
            "run `python -m sparkify_dw.cluster delete --wait` to remove it")
    else:
        try:
            aws.ec2.delete_security_group(GroupId=group["GroupId"])
            group_deleted = True
            say(f"security group {sg}: deleted")
        except ClientError as exc:
            if _code(exc) != "DependencyViolation":
                raise
            say(f"security group {sg}: still in use, kept; run delete --wait again later")
    return DeleteResult(cluster_deleted, snapshot, role_deleted, group_deleted)


# ------------------------------------------------------------------------------ CLI

_CREDENTIAL_CODES = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                     "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure",
                     "RequestExpired", "InvalidToken"}
_QUOTA_CODES = {"ClusterQuotaExceeded", "ClusterQuotaExceededFault", "NumberOfNodesQuotaExceeded",
                "NumberOfNodesPerClusterLimitExceeded", "LimitExceeded", "LimitExceededException",
                "InsufficientClusterCapacity", "RulesPerSecurityGroupLimitExceeded",
                "SecurityGroupLimitExceeded", "VpcLimitExceeded"}
_TAKEN_CODES = {"ClusterAlreadyExists", "ClusterAlreadyExistsFault", "EntityAlreadyExists",
                "InvalidGroup.Duplicate", "ClusterSnapshotAlreadyExists"}
_ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                 "UnauthorizedOperationException"}


def describe_aws_error(exc: BaseException) -> str:
    """One line that says what went wrong with AWS and what to do about it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = " ".join(str(error.get("Message", "")).split())
        if code in _CREDENTIAL_CODES:
            what = "AWS rejected the credentials (check the access key, profile or session)"
        elif code in _QUOTA_CODES:
            what = "AWS quota or capacity limit reached (delete unused clusters or ask for more)"
        elif code in _TAKEN_CODES:
            what = "name already taken (choose another identifier in [PROVISION])"
        elif code in _ACCESS_CODES:
            what = "not allowed by your IAM permissions"
        else:
            what = "AWS refused the request"
        return f"{what}: {exc.operation_name}: {code}: {message}".rstrip(": ")
    if isinstance(exc, NoCredentialsError):
        return ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE, or run `aws configure`")
    if isinstance(exc, PartialCredentialsError):
        return f"incomplete AWS credentials: {exc}"
    if isinstance(exc, EndpointConnectionError | BotoConnectionError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "AWS")
        return f"cannot reach {url}: check the region name and your network"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set [S3] REGION in dwh.cfg, $AWS_DEFAULT_REGION or pass --region"
    return "AWS client error: " + " ".join(str(exc).split())


EPILOG = """\
workflow:
  1. python -m sparkify_dw.cluster create   role, security group and cluster;
                                            writes [CLUSTER] HOST and [IAM_ROLE] ARN
  2. alembic upgrade head                   create the schema on the cluster
  3. python -m sparkify_dw.load             COPY the S3 data into the star schema
  4. python -m sparkify_dw.cluster delete   final snapshot, then remove it all

Settings come from dwh.cfg ([CLUSTER] DB_*, [S3] REGION, [PROVISION] NODE_TYPE,
NUM_NODES, CLUSTER_IDENTIFIER, IAM_ROLE_NAME, INGRESS_CIDR, ...); AWS credentials
from the usual AWS chain (environment, ~/.aws, instance role).
exit status: 0 ok, 1 AWS error or timeout, 2 configuration error, 3 no cluster (status)
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the option may come before or after the subcommand without one
    # occurrence's default overwriting the other.
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                        help=f"configuration file (default: ${ENV_CONFIG} or "
                             f"./{DEFAULT_CONFIG_NAME})")
    common.add_argument("--region", default=argparse.SUPPRESS,
                        help="AWS region (default: $AWS_DEFAULT_REGION, [S3] REGION, profile)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback on errors")
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                         help="give up waiting after this long (default: %(default)g)")
    waiting.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL,
                         metavar="SECONDS", help="seconds between checks (default: %(default)g)")

    parser = argparse.ArgumentParser(
        prog="python -m sparkify_dw.cluster", parents=[common], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Create, inspect and delete the Redshift cluster for the warehouse.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_create = sub.add_parser(
        "create", parents=[common, waiting],
        help="create/reuse role and cluster, write HOST and ARN to dwh.cfg",
        description="Create (or reuse) the IAM role, security group and cluster, wait until "
                    "the cluster is available, then write [CLUSTER] HOST and [IAM_ROLE] ARN.")
    p_create.add_argument("--cidr", help="addresses allowed to connect (overrides "
                                         "[PROVISION] INGRESS_CIDR), e.g. 203.0.113.7/32")
    p_create.add_argument("--allow-public", action="store_true",
                          help="allow 0.0.0.0/0 (used when no CIDR is configured)")
    sub.add_parser("status", parents=[common],
                   help="show state, endpoint, node type and count, role ARN",
                   description="Show the cluster's state, endpoint, size, role ARN and ingress.")
    p_delete = sub.add_parser(
        "delete", parents=[common, waiting],
        help="delete the cluster (final snapshot by default) and the role",
        description="Delete the cluster (with a final snapshot unless --skip-final-snapshot), "
                    "the IAM role and, once the cluster is gone, the security group.")
    p_delete.add_argument("--skip-final-snapshot", action="store_true",
                          help="delete without keeping a final snapshot")
    p_delete.add_argument("--wait", action="store_true",
                          help="wait until the cluster is gone (then remove the security group)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status instead of raising."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error, already printed
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    config = getattr(args, "config", None)
    region = getattr(args, "region", None)
    verbose = bool(getattr(args, "verbose", False))
    try:
        if args.command == "create":
            create(config, region=region, cidr=args.cidr, allow_public=args.allow_public,
                   timeout=args.timeout, poll_interval=args.poll_interval)
        elif args.command == "status":
            if not status(config, region=region).exists:
                return EXIT_NO_CLUSTER
        else:
            delete(config, region=region, skip_final_snapshot=args.skip_final_snapshot,
                   wait=args.wait, timeout=args.timeout, poll_interval=args.poll_interval)
    except KeyboardInterrupt:
        sys.stderr.write("\nerror: interrupted; AWS carries on with what was started - "
                         "run the command again to pick up where it left off\n")
        return EXIT_INTERRUPTED
    except (ConfigError, ClusterError, ClientError, BotoCoreError, OSError) as exc:
        hidden = secrets(config)
        if verbose:
            sys.stderr.write(scrub(traceback.format_exc(), hidden))
        if isinstance(exc, ClientError | BotoCoreError):
            message = describe_aws_error(exc)
        elif isinstance(exc, OSError):
            message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        else:
            message = str(exc)
        sys.stderr.write(f"error: {scrub(' '.join(message.split()), hidden)}\n")
        return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_AWS
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
