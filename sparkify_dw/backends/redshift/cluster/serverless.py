"""Redshift Serverless: a namespace (database, admin user, IAM role) and a workgroup
(compute: base RPU capacity, port, public access), as ``cluster create|status|delete
--serverless``.

Why: Serverless is what new AWS accounts get by default, and it bills RPU-hours only while
queries run. The IAM role and the security group are the provisioned path's own
(:mod:`.aws`); the namespace and workgroup names, the base capacity and public access come
from dwh.cfg ``[PROVISION]``:

``NAMESPACE`` and ``WORKGROUP`` (default ``CLUSTER_IDENTIFIER``): 3-64 lower-case letters,
digits and hyphens; ``BASE_CAPACITY`` (default 8): RPUs, 4, or 8-512 in steps of 8, or
512-1024 in steps of 32 (in the regions that offer it); ``PUBLICLY_ACCESSIBLE`` and
``INGRESS_CIDR`` as for a cluster. ``[CLUSTER] DB_PORT`` must be 5431-5455 or 8191-8215.

botocore has no waiters for ``redshift-serverless``, so the wait polls GetWorkgroup and
GetNamespace itself, showing progress as the cluster wait does and stopping at the timeout.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError

from sparkify_dw.aws_errors import error_code
from sparkify_dw.backends.redshift import RA3_PORT_RANGES
from sparkify_dw.config import cfg_value, read_cfg
from sparkify_dw.errors import ClusterError, ConfigError
from sparkify_dw.output import Progress, printer

from . import aws as awsops
from . import operations
from .config import PROVISION, ProvisionConfig, check_database_keys, load_config
from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT

NAME_RE_TEXT = "3-64 lower-case letters, digits and hyphens"
DEFAULT_BASE_CAPACITY = 8
SERVERLESS_PORT_RANGES = RA3_PORT_RANGES  # CreateWorkgroup: 5431-5455 and 8191-8215
NOT_FOUND = "ResourceNotFoundException"
TAGS = [{"key": awsops.MANAGED_TAG["Key"], "value": awsops.MANAGED_TAG["Value"]}]
SERVERLESS_PRINCIPAL = "redshift-serverless.amazonaws.com"


@dataclass(frozen=True)
class ServerlessConfig:
    """The provisioning settings plus what only Serverless reads."""

    base: ProvisionConfig
    namespace: str
    workgroup: str
    base_capacity: int


@dataclass(frozen=True)
class ServerlessInfo:
    """What ``create`` and ``status`` found; a state is None when that part doesn't exist."""

    namespace: str
    workgroup: str
    region: str
    namespace_state: str | None = None
    workgroup_state: str | None = None
    host: str | None = None
    port: int | None = None
    base_capacity: int | None = None
    publicly_accessible: bool | None = None
    role_arn: str | None = None

    @property
    def exists(self) -> bool:
        return self.namespace_state is not None or self.workgroup_state is not None


def _valid_base_capacity(rpus: int) -> bool:
    """4; 8-512 in steps of 8; 512-1024 in steps of 32 ("Compute capacity for Amazon
    Redshift Serverless", Amazon Redshift Management Guide)."""
    return (
        rpus == 4 or (8 <= rpus <= 512 and rpus % 8 == 0) or (512 < rpus <= 1024 and rpus % 32 == 0)
    )


def load_serverless_config(config: str | os.PathLike[str] | None = None) -> ServerlessConfig:
    """Read and check the Serverless settings, so bad input fails before any AWS call."""
    base = load_config(config)
    parser = read_cfg(base.path)
    assert parser is not None  # load_config has read it

    def name(key: str) -> str:
        value = (cfg_value(parser, PROVISION, key) or base.cluster_identifier).lower()
        if not (
            3 <= len(value) <= 64 and all(c.isdigit() or c == "-" or "a" <= c <= "z" for c in value)
        ):
            raise ConfigError(f"{base.path}: [{PROVISION}] {key}: {NAME_RE_TEXT}")
        return value

    text = cfg_value(parser, PROVISION, "BASE_CAPACITY") or str(DEFAULT_BASE_CAPACITY)
    try:
        rpus = int(text)
        if not _valid_base_capacity(rpus):
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"{base.path}: [{PROVISION}] BASE_CAPACITY: RPUs, 4, or 8-512 in steps of 8, "
            "or 512-1024 in steps of 32"
        ) from None
    return ServerlessConfig(base, name("NAMESPACE"), name("WORKGROUP"), rpus)


def check_for_create(cfg: ServerlessConfig) -> None:
    """What CreateNamespace and CreateWorkgroup would refuse, before any AWS call."""
    base = cfg.base
    if not any(low <= base.db_port <= high for low, high in SERVERLESS_PORT_RANGES):
        raise ConfigError(
            f"{base.path}: [CLUSTER] DB_PORT: a Serverless workgroup listens only on "
            f"5431-5455 or 8191-8215, not {base.db_port} (the default 5439 is fine)"
        )
    check_database_keys(base)


# --- AWS ---------------------------------------------------------------------------------


def get_namespace(client: Any, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.get_namespace(namespaceName=name)["namespace"]
    except ClientError as exc:
        if error_code(exc) == NOT_FOUND:
            return None
        raise
    return found


def get_workgroup(client: Any, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.get_workgroup(workgroupName=name)["workgroup"]
    except ClientError as exc:
        if error_code(exc) == NOT_FOUND:
            return None
        raise
    return found


def ensure_namespace(
    client: Any, cfg: ServerlessConfig, role_arn: str, say: Callable[[str], None]
) -> None:
    """Create the namespace with the role as its default, or report the existing one."""
    base = cfg.base
    namespace = get_namespace(client, cfg.namespace)
    if namespace is None:
        client.create_namespace(
            namespaceName=cfg.namespace,
            adminUsername=base.db_user,
            adminUserPassword=base.db_password,
            dbName=base.db_name,
            defaultIamRoleArn=role_arn,
            iamRoles=[role_arn],
            tags=TAGS,
        )
        say(f"namespace {cfg.namespace}: creating (database {base.db_name}, role {role_arn})")
        return
    state = namespace.get("status", "unknown")
    say(f"namespace {cfg.namespace}: exists ({state}), reusing")
    if state == "DELETING":
        raise ClusterError(
            f"namespace {cfg.namespace} is being deleted; wait until `status --serverless` "
            "says it is gone, then run create again"
        )
    if namespace.get("dbName") not in (None, base.db_name):
        say(
            f"note: namespace {cfg.namespace} has database {namespace['dbName']} "
            f"(dwh.cfg: {base.db_name})"
        )
    if not any(role_arn in str(role) for role in namespace.get("iamRoles") or []):
        say(
            f"note: role {role_arn} is not attached to namespace {cfg.namespace}; COPY from S3 "
            "will fail until it is (aws redshift-serverless update-namespace --iam-roles)"
        )


def ensure_workgroup(
    client: Any, cfg: ServerlessConfig, group_id: str, say: Callable[[str], None]
) -> None:
    """Create the workgroup in the namespace, or report the existing one and what differs."""
    base = cfg.base
    workgroup = get_workgroup(client, cfg.workgroup)
    if workgroup is None:
        client.create_workgroup(
            workgroupName=cfg.workgroup,
            namespaceName=cfg.namespace,
            baseCapacity=cfg.base_capacity,
            publiclyAccessible=base.publicly_accessible,
            securityGroupIds=[group_id],
            port=base.db_port,
            tags=TAGS,
        )
        say(
            f"workgroup {cfg.workgroup}: creating, base capacity {cfg.base_capacity} RPUs, "
            f"{'publicly accessible' if base.publicly_accessible else 'private'}"
        )
        return
    state = workgroup.get("status", "unknown")
    say(f"workgroup {cfg.workgroup}: exists ({state}), reusing")
    if state == "DELETING":
        raise ClusterError(
            f"workgroup {cfg.workgroup} is being deleted; wait until `status --serverless` "
            "says it is gone, then run create again"
        )
    differs = [
        f"{label} {have} (dwh.cfg: {want})"
        for label, have, want in (
            ("namespace", workgroup.get("namespaceName"), cfg.namespace),
            ("base capacity", workgroup.get("baseCapacity"), cfg.base_capacity),
            ("public access", workgroup.get("publiclyAccessible"), base.publicly_accessible),
            ("port", workgroup.get("port"), base.db_port),
        )
        if have is not None and have != want
    ]
    if differs:
        say(f"note: workgroup {cfg.workgroup} was not changed; it has " + ", ".join(differs))


def wait_for(
    describe: Callable[[], dict[str, Any] | None],
    what: str,
    *,
    until: str,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    progress: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Poll ``describe`` until the resource is AVAILABLE with an endpoint where it has one
    (returned) or gone (``until="deleted"``: None), at most ``timeout`` seconds."""
    start = clock()
    with Progress(progress if progress is not None else sys.stderr) as display:
        while True:
            found = describe()
            state = "deleted" if found is None else str(found.get("status", "unknown"))
            elapsed = clock() - start
            if until == "deleted" and found is None:
                display.done(f"{what}: deleted after {elapsed:.0f}s")
                return None
            if until == "available":
                if found is None:
                    raise ClusterError(f"{what} disappeared while waiting for it")
                if state == "DELETING":
                    raise ClusterError(f"{what} is being deleted; it will not become available")
                endpoint = found.get("endpoint")
                if state == "AVAILABLE" and (endpoint is None or endpoint.get("address")):
                    display.done(f"{what}: available after {elapsed:.0f}s")
                    return found
            if elapsed >= timeout:
                again = (
                    "create --serverless" if until == "available" else "delete --serverless --wait"
                )
                raise ClusterError(
                    f"timed out after {timeout:g}s waiting for {what} (state: {state}); it "
                    f"carries on in AWS: run `sparkify-dw cluster {again}` to keep "
                    "waiting"
                )
            display.update(f"waiting: {what} is {state} ({elapsed:.0f}s of {timeout:g}s)")
            sleep(min(poll_interval, max(0.0, timeout - elapsed)))


# --- The commands --------------------------------------------------------------------------


def _client(aws: awsops.Aws, session: boto3.Session | None) -> Any:
    chosen = session if session is not None else boto3.Session()
    return chosen.client("redshift-serverless", region_name=aws.region)


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
) -> ServerlessInfo:
    """Create (or reuse) role, security group, namespace and workgroup; wait; write HOST and
    ARN to dwh.cfg."""
    say = printer(out)
    cfg = load_serverless_config(config)
    base = cfg.base
    check_for_create(cfg)
    allowed, aws, role_arn = operations.prepare(base, session, region, cidr, allow_public, say)
    client = _client(aws, session)
    trust = str(
        (awsops.get_role(aws.iam, base.iam_role_name) or {}).get("AssumeRolePolicyDocument")
    )
    if SERVERLESS_PRINCIPAL not in trust:
        say(
            f"note: role {base.iam_role_name} does not trust {SERVERLESS_PRINCIPAL}; "
            "COPY may be refused until it does"
        )
    group_id = awsops.ensure_security_group(aws.ec2, aws.region, base, allowed, say)
    ensure_namespace(client, cfg, role_arn, say)
    wait = functools.partial(
        wait_for, timeout=timeout, poll_interval=poll_interval, progress=progress
    )
    wait(
        lambda: get_namespace(client, cfg.namespace),
        f"namespace {cfg.namespace}",
        until="available",
    )
    ensure_workgroup(client, cfg, group_id, say)
    workgroup = wait(
        lambda: get_workgroup(client, cfg.workgroup),
        f"workgroup {cfg.workgroup}",
        until="available",
    )
    assert workgroup is not None
    endpoint = workgroup.get("endpoint") or {}
    host = str(endpoint.get("address"))
    operations.write_endpoint(base, host, role_arn, f"workgroup {cfg.workgroup}", say)
    return ServerlessInfo(
        namespace=cfg.namespace,
        workgroup=cfg.workgroup,
        region=aws.region,
        namespace_state="AVAILABLE",
        workgroup_state=str(workgroup.get("status")),
        host=host,
        port=int(endpoint.get("port", base.db_port)),
        base_capacity=workgroup.get("baseCapacity"),
        publicly_accessible=workgroup.get("publiclyAccessible"),
        role_arn=role_arn,
    )


def status(
    config: str | os.PathLike[str] | None = None,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    out: TextIO | None = None,
) -> ServerlessInfo:
    """Print and return the namespace's and workgroup's state, endpoint, capacity and role."""
    say = printer(out)
    cfg = load_serverless_config(config)
    aws = awsops.connect(cfg.base, session, region)
    client = _client(aws, session)
    namespace = get_namespace(client, cfg.namespace)
    workgroup = get_workgroup(client, cfg.workgroup)
    endpoint = (workgroup or {}).get("endpoint") or {}
    roles = (namespace or {}).get("iamRoles") or []
    info = ServerlessInfo(
        namespace=cfg.namespace,
        workgroup=cfg.workgroup,
        region=aws.region,
        namespace_state=namespace.get("status") if namespace else None,
        workgroup_state=workgroup.get("status") if workgroup else None,
        host=endpoint.get("address"),
        port=endpoint.get("port"),
        base_capacity=(workgroup or {}).get("baseCapacity"),
        publicly_accessible=(workgroup or {}).get("publiclyAccessible"),
        role_arn=(namespace or {}).get("defaultIamRoleArn") or (str(roles[0]) if roles else None),
    )
    missing = "does not exist (run: sparkify-dw cluster create --serverless)"
    say(f"region:     {aws.region}")
    say(f"namespace:  {cfg.namespace} {info.namespace_state or missing}")
    say(f"workgroup:  {cfg.workgroup} {info.workgroup_state or missing}")
    if workgroup is not None:
        say(f"endpoint:   {f'{info.host}:{info.port}' if info.host else '(not yet assigned)'}")
        say(f"capacity:   {info.base_capacity} RPUs base (billed in RPU-hours while queries run)")
        say(f"public:     {'yes' if info.publicly_accessible else 'no'}")
    if namespace is not None:
        say(f"role:       {info.role_arn or '(none)'}")
    return info


@dataclass(frozen=True)
class ServerlessDeleteResult:
    """What ``delete --serverless`` did."""

    workgroup_deleted: bool
    namespace_deleted: bool
    snapshot_name: str | None
    role_deleted: bool
    security_group_deleted: bool


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
) -> ServerlessDeleteResult:
    """Delete the workgroup, then (once it is gone) the namespace with a final snapshot
    unless skipped, then our role and security group."""
    say = printer(out)
    cfg = load_serverless_config(config)
    aws = awsops.connect(cfg.base, session, region)
    client = _client(aws, session)
    say(f"region {aws.region}")
    wait_until = functools.partial(
        wait_for, timeout=timeout, poll_interval=poll_interval, progress=progress
    )

    workgroup = get_workgroup(client, cfg.workgroup)
    workgroup_deleted = False
    if workgroup is None:
        say(f"workgroup {cfg.workgroup}: does not exist")
    elif workgroup.get("status") == "DELETING":
        say(f"workgroup {cfg.workgroup}: already being deleted")
    else:
        client.delete_workgroup(workgroupName=cfg.workgroup)
        workgroup_deleted = True
        say(f"workgroup {cfg.workgroup}: deleting")
    gone = workgroup is None
    if wait and not gone:
        wait_until(
            lambda: get_workgroup(client, cfg.workgroup),
            f"workgroup {cfg.workgroup}",
            until="deleted",
        )
        gone = True

    snapshot: str | None = None
    namespace_deleted = False
    namespace = get_namespace(client, cfg.namespace)
    if namespace is None:
        say(f"namespace {cfg.namespace}: does not exist")
    elif namespace.get("status") == "DELETING":
        say(f"namespace {cfg.namespace}: already being deleted")
    elif not gone:
        say(
            f"namespace {cfg.namespace}: kept until its workgroup is gone; run "
            "`sparkify-dw cluster delete --serverless --wait` to remove it"
        )
    else:
        params: dict[str, Any] = {"namespaceName": cfg.namespace}
        if not skip_final_snapshot:
            snapshot = f"{cfg.namespace}-final-{datetime.now(UTC):%Y%m%d-%H%M%S}"
            params["finalSnapshotName"] = snapshot
        client.delete_namespace(**params)
        namespace_deleted = True
        say(
            f"namespace {cfg.namespace}: deleting"
            + (f", final snapshot {snapshot}" if snapshot else " without a final snapshot")
        )
    if wait and namespace_deleted:
        wait_until(
            lambda: get_namespace(client, cfg.namespace),
            f"namespace {cfg.namespace}",
            until="deleted",
        )

    role_deleted = awsops.delete_role(aws.iam, cfg.base.iam_role_name, say)
    group_deleted = awsops.delete_security_group(aws.ec2, cfg.base.security_group_name, gone, say)
    return ServerlessDeleteResult(
        workgroup_deleted, namespace_deleted, snapshot, role_deleted, group_deleted
    )
