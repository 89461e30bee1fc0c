"""``create``, ``status`` and ``delete``: what the commands do, as functions.

Each prints what it finds and does, one line at a time, to ``out`` (default
stdout) and returns a summary for callers that want more than the printed lines.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3

from sparkify_dw.backends.redshift import HOST_RE
from sparkify_dw.errors import ClusterError
from sparkify_dw.output import printer

from . import aws as awsops
from .cfgfile import update_cfg
from .config import PROVISION, ProvisionConfig, check_for_create, ingress_cidr, load_config
from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, wait_for_cluster


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


def prepare(
    cfg: ProvisionConfig,
    session: boto3.Session | None,
    region: str | None,
    cidr: str | None,
    allow_public: bool,
    say: Callable[[str], None],
) -> tuple[str, awsops.Aws, str]:
    """What a cluster and a workgroup both need first: the ingress CIDR checked, a word
    when dwh.cfg is readable by others, the AWS clients and our IAM role. Returns
    (the allowed CIDR, the clients, the role's ARN)."""
    origin = "--cidr" if cidr is not None else f"{cfg.path}: [{PROVISION}] INGRESS_CIDR"
    allowed = ingress_cidr(
        cidr if cidr is not None else cfg.ingress_cidr, allow_public=allow_public, origin=origin
    )
    if cfg.path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        say(
            f"warning: {cfg.path} holds a password and is readable by other users; "
            f"run: chmod 600 {cfg.path}"
        )
    aws = awsops.connect(cfg, session, region)
    say(f"region {aws.region}")
    return allowed, aws, awsops.ensure_role(aws.iam, cfg.iam_role_name, say)


def write_endpoint(
    cfg: ProvisionConfig, host: str, role_arn: str, what: str, say: Callable[[str], None]
) -> None:
    """The endpoint and role into dwh.cfg, once the endpoint is a host name."""
    if not HOST_RE.fullmatch(host):
        raise ClusterError(f"{what} reported an odd endpoint; dwh.cfg not changed")
    update_cfg(cfg.path, {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): role_arn})
    say(f"{cfg.path}: wrote [CLUSTER] HOST={host} and [IAM_ROLE] ARN={role_arn}")
    say("next: sparkify-dw upgrade, then sparkify-dw load")


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
    say = printer(out)
    cfg = load_config(config)
    check_for_create(cfg)
    allowed, aws, role_arn = prepare(cfg, session, region, cidr, allow_public, say)
    group_id = awsops.ensure_security_group(aws.ec2, aws.region, cfg, allowed, say)
    awsops.ensure_cluster(aws.redshift, cfg, role_arn, group_id, say)
    cluster = wait_for_cluster(
        aws.redshift,
        cfg.cluster_identifier,
        timeout=timeout,
        poll_interval=poll_interval,
        progress=progress,
    )
    assert cluster is not None
    endpoint = cluster["Endpoint"]
    host = str(endpoint["Address"])
    write_endpoint(cfg, host, role_arn, f"cluster {cfg.cluster_identifier}", say)
    return ClusterInfo(
        identifier=cfg.cluster_identifier,
        region=aws.region,
        state=cluster["ClusterStatus"],
        host=host,
        port=int(endpoint.get("Port", cfg.db_port)),
        node_type=cluster.get("NodeType"),
        num_nodes=cluster.get("NumberOfNodes"),
        role_arn=role_arn,
        ingress=(f"{allowed} on tcp/{cfg.db_port}",),
    )


def status(
    config: str | os.PathLike[str] | None = None,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    out: TextIO | None = None,
) -> ClusterInfo:
    """Print and return the cluster's state, endpoint, size, role ARN and ingress."""
    say = printer(out)
    cfg = load_config(config)
    aws = awsops.connect(cfg, session, region)
    cid = cfg.cluster_identifier
    role = awsops.get_role(aws.iam, cfg.iam_role_name)
    role_arn = str(role["Arn"]) if role else None
    ingress: tuple[str, ...] = ()
    group = awsops.own_security_group(aws.ec2, cfg.security_group_name)
    if group is not None:
        ingress = tuple(awsops.describe_rule(perm, cidr) for perm, cidr in awsops.cidr_rules(group))
    cluster = awsops.describe_cluster(aws.redshift, cid)

    say(f"region:    {aws.region}")
    say(f"cluster:   {cid}")
    role_line = role_arn or f"{cfg.iam_role_name} does not exist"
    if cluster is None:
        say(f"state:     does not exist in {aws.region} (run: sparkify-dw cluster create)")
        say(f"role:      {role_line}")
        return ClusterInfo(identifier=cid, region=aws.region, role_arn=role_arn, ingress=ingress)
    endpoint = cluster.get("Endpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port")
    info = ClusterInfo(
        identifier=cid,
        region=aws.region,
        state=cluster.get("ClusterStatus", "unknown"),
        host=host,
        port=port,
        node_type=cluster.get("NodeType"),
        num_nodes=cluster.get("NumberOfNodes"),
        role_arn=role_arn,
        ingress=ingress,
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
    say = printer(out)
    cfg = load_config(config)
    aws = awsops.connect(cfg, session, region)
    cid = cfg.cluster_identifier
    say(f"region {aws.region}")

    snapshot: str | None = None
    cluster_deleted = False
    cluster = awsops.describe_cluster(aws.redshift, cid)
    if cluster is None:
        say(f"cluster {cid}: does not exist")
    elif cluster.get("ClusterStatus") in ("deleting", "final-snapshot"):
        say(f"cluster {cid}: already being deleted")
    else:
        params: dict[str, Any] = {
            "ClusterIdentifier": cid,
            "SkipFinalClusterSnapshot": skip_final_snapshot,
        }
        if not skip_final_snapshot:
            snapshot = f"{cid}-final-{datetime.now(UTC):%Y%m%d-%H%M%S}"
            params["FinalClusterSnapshotIdentifier"] = snapshot
        aws.redshift.delete_cluster(**params)
        cluster_deleted = True
        say(
            f"cluster {cid}: deleting"
            + (f", final snapshot {snapshot}" if snapshot else " without a final snapshot")
        )
    gone = cluster is None
    if wait and not gone:
        wait_for_cluster(
            aws.redshift,
            cid,
            until="deleted",
            timeout=timeout,
            poll_interval=poll_interval,
            progress=progress,
        )
        gone = True

    role_deleted = awsops.delete_role(aws.iam, cfg.iam_role_name, say)
    group_deleted = awsops.delete_security_group(aws.ec2, cfg.security_group_name, gone, say)
    return DeleteResult(cluster_deleted, snapshot, role_deleted, group_deleted)
