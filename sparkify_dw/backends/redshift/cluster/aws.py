"""The AWS side of provisioning: the IAM role, the security group and the cluster.

Each ``ensure_*`` creates what is missing and reuses (and reports) what exists, so
``create`` can be run again safely; everything created is tagged with
:data:`MANAGED_TAG`, and ``delete`` removes only what carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from sparkify_dw import settings_spec as spec
from sparkify_dw.aws_errors import error_code
from sparkify_dw.errors import ClusterError, ConfigError

from .config import ProvisionConfig

S3_READ_POLICY = "policy/AmazonS3ReadOnlyAccess"
# Marks what this module created, so ``delete`` never removes a role or
# security group that merely happens to share the configured name.
MANAGED_TAG = {"Key": "managed-by", "Value": "sparkify_dw.cluster"}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            # Provisioned clusters and Serverless namespaces both assume it for COPY.
            "Principal": {
                "Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
            },
            "Action": "sts:AssumeRole",
        }
    ],
}
# IAM is eventually consistent: a new role may not be usable at once. Waiting for it
# takes seconds; the waiter asks every Delay seconds, MaxAttempts times.
ROLE_WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}


@dataclass
class Aws:
    """The region worked in and a client for each service used there."""

    region: str
    iam: Any
    redshift: Any
    ec2: Any


def connect(cfg: ProvisionConfig, session: boto3.Session | None, region: str | None) -> Aws:
    """Pick the region (argument > $AWS_DEFAULT_REGION > [S3] REGION > profile) and clients."""
    if region is not None:
        chosen: str | None = spec.region(region, "--region")
    else:
        chosen = cfg.aws_region or cfg.region
    session = session if session is not None else boto3.Session()
    chosen = chosen or session.region_name
    if not chosen:
        raise ConfigError(
            "no AWS region: set [S3] REGION in dwh.cfg, $AWS_DEFAULT_REGION or pass --region"
        )
    return Aws(
        region=chosen,
        iam=session.client("iam", region_name=chosen),
        redshift=session.client("redshift", region_name=chosen),
        ec2=session.client("ec2", region_name=chosen),
    )


def describe_cluster(redshift: Any, identifier: str) -> dict[str, Any] | None:
    try:
        clusters = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
    except ClientError as exc:
        if error_code(exc) in ("ClusterNotFound", "ClusterNotFoundFault"):
            return None
        raise
    return clusters[0] if clusters else None


def get_role(iam: Any, name: str) -> dict[str, Any] | None:
    try:
        role: dict[str, Any] = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    return role


def role_is_managed(iam: Any, name: str) -> bool:
    tags = iam.list_role_tags(RoleName=name).get("Tags", [])
    return any(
        t.get("Key") == MANAGED_TAG["Key"] and t.get("Value") == MANAGED_TAG["Value"] for t in tags
    )


def _policy_arn(role_arn: str) -> str:
    partition = role_arn.split(":")[1]  # aws, aws-cn or aws-us-gov
    return f"arn:{partition}:iam::aws:{S3_READ_POLICY}"


def ensure_role(
    iam: Any,
    name: str,
    say: Callable[[str], None],
    *,
    waiter_config: Mapping[str, int] = ROLE_WAITER_CONFIG,
) -> str:
    """Create (or reuse) the role Redshift assumes for COPY, with S3 read-only access."""
    role = get_role(iam, name)
    if role is None:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Lets Redshift read Sparkify's S3 data (sparkify_dw.cluster)",
            Tags=[MANAGED_TAG],
        )["Role"]
        try:
            iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig=dict(waiter_config))
        except WaiterError:
            raise ClusterError(
                f"IAM role {name} was created but IAM does not show it yet; "
                "run create again in a minute"
            ) from None
        say(f"role {name}: created")
    else:
        trust = role.get("AssumeRolePolicyDocument", "")
        if "redshift.amazonaws.com" not in (trust if isinstance(trust, str) else json.dumps(trust)):
            raise ClusterError(
                f"IAM role {name} exists but Redshift cannot assume it; choose "
                "another [PROVISION] IAM_ROLE_NAME"
            )
        note = "" if role_is_managed(iam, name) else " (not created here: delete will keep it)"
        say(f"role {name}: exists, reusing{note}")
    arn = spec.iam_role_arn(str(role["Arn"]), f"IAM role {name}")
    policy = _policy_arn(arn)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    if any(p["PolicyArn"] == policy for p in attached):
        say(f"role {name}: {policy} already attached")
    else:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        say(f"role {name}: attached {policy}")
    return arn


def default_vpc(ec2: Any, region: str) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ClusterError(
            f"no default VPC in {region}: create one (aws ec2 create-default-vpc) "
            "or use another region"
        )
    return str(vpcs[0]["VpcId"])


def find_security_group(ec2: Any, name: str, vpc_id: str) -> dict[str, Any] | None:
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [name]},
            {"Name": "vpc-id", "Values": [vpc_id]},
        ]
    )["SecurityGroups"]
    return groups[0] if groups else None


def sg_is_managed(group: Mapping[str, Any]) -> bool:
    return any(
        t.get("Key") == MANAGED_TAG["Key"] and t.get("Value") == MANAGED_TAG["Value"]
        for t in group.get("Tags", [])
    )


def cidr_rules(group: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Each CIDR-based ingress rule as (minimal IpPermission, CIDR)."""
    rules = []
    for perm in group.get("IpPermissions", []):
        base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
        for item in perm.get("IpRanges", []):
            rules.append(({**base, "IpRanges": [{"CidrIp": item["CidrIp"]}]}, item["CidrIp"]))
        for item in perm.get("Ipv6Ranges", []):
            rules.append(
                ({**base, "Ipv6Ranges": [{"CidrIpv6": item["CidrIpv6"]}]}, item["CidrIpv6"])
            )
    return rules


def describe_rule(perm: Mapping[str, Any], cidr: str) -> str:
    proto = perm.get("IpProtocol", "?")
    if proto == "-1":
        return f"{cidr} on all ports"
    ports = perm.get("FromPort")
    if perm.get("ToPort") not in (None, ports):
        ports = f"{ports}-{perm['ToPort']}"
    return f"{cidr} on {proto}/{ports}"


def ensure_security_group(
    ec2: Any, region: str, cfg: ProvisionConfig, cidr: str, say: Callable[[str], None]
) -> str:
    """A group of our own whose only CIDR rule is ``cidr`` on the database port."""
    vpc_id = default_vpc(ec2, region)
    name = cfg.security_group_name
    group = find_security_group(ec2, name, vpc_id)
    if group is None:
        group_id = ec2.create_security_group(
            GroupName=name,
            VpcId=vpc_id,
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
    for perm, rule_cidr in cidr_rules(group):
        same = (
            rule_cidr == cidr
            and perm.get("IpProtocol") == "tcp"
            and perm.get("FromPort") == cfg.db_port
            and perm.get("ToPort") == cfg.db_port
        )
        if same:
            present = True
        elif sg_is_managed(group):  # ours: keep it to exactly the configured rule
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[perm])
            say(f"security group {name}: removed old ingress {describe_rule(perm, rule_cidr)}")
    if present:
        say(f"security group {name}: ingress {cidr} on tcp/{cfg.db_port} already open")
    else:
        try:
            ec2.authorize_security_group_ingress(
                GroupId=group_id, IpPermissions=[{**wanted, key: [item]}]
            )
        except ClientError as exc:
            if error_code(exc) != "InvalidPermission.Duplicate":
                raise
        say(f"security group {name}: opened tcp/{cfg.db_port} to {cidr}")
    return str(group_id)


def ensure_cluster(
    redshift: Any, cfg: ProvisionConfig, role_arn: str, group_id: str, say: Callable[[str], None]
) -> None:
    """Start creating the cluster, or report the existing one and what differs from dwh.cfg."""
    cid = cfg.cluster_identifier
    cluster = describe_cluster(redshift, cid)
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
            if error_code(exc) not in ("ClusterAlreadyExists", "ClusterAlreadyExistsFault"):
                raise
            say(f"cluster {cid}: created meanwhile by someone else, reusing")
            return
        say(f"cluster {cid}: creating {cfg.num_nodes} x {cfg.node_type}")
        return
    state = cluster.get("ClusterStatus", "unknown")
    say(f"cluster {cid}: exists ({state}), reusing")
    if state in ("deleting", "final-snapshot"):
        raise ClusterError(
            f"cluster {cid} is being deleted; wait until `status` says it is "
            "gone, then run create again"
        )
    differs = [
        f"{label} {have} (dwh.cfg: {want})"
        for label, have, want in (
            ("node type", cluster.get("NodeType"), cfg.node_type),
            ("nodes", cluster.get("NumberOfNodes"), cfg.num_nodes),
            ("database", cluster.get("DBName"), cfg.db_name),
            ("port", (cluster.get("Endpoint") or {}).get("Port", cfg.db_port), cfg.db_port),
        )
        if have is not None and have != want
    ]
    if differs:
        say(f"note: cluster {cid} was not changed; it has " + ", ".join(differs))
    if role_arn not in {r.get("IamRoleArn") for r in cluster.get("IamRoles", [])}:
        say(
            f"note: role {role_arn} is not attached to cluster {cid}; COPY from S3 will fail "
            "until it is (aws redshift modify-cluster-iam-roles)"
        )
    if group_id not in {g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])}:
        say(
            f"note: cluster {cid} does not use security group {group_id}; its ingress was "
            "not changed"
        )


def delete_role(iam: Any, name: str, say: Callable[[str], None]) -> bool:
    """Delete the role if ``create`` made it (its policies first); True when deleted."""
    if get_role(iam, name) is None:
        say(f"role {name}: does not exist")
        return False
    if not role_is_managed(iam, name):
        say(f"role {name}: not created by sparkify_dw.cluster, kept")
        return False
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for inline in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=inline)
    iam.delete_role(RoleName=name)
    say(f"role {name}: policies detached, deleted")
    return True


def own_security_group(ec2: Any, name: str) -> dict[str, Any] | None:
    """The security group of that name in the default VPC, if there is one."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return find_security_group(ec2, name, vpcs[0]["VpcId"]) if vpcs else None


def delete_security_group(
    ec2: Any, name: str, cluster_gone: bool, say: Callable[[str], None]
) -> bool:
    """Delete the group if ``create`` made it and no cluster uses it; True when deleted."""
    group = own_security_group(ec2, name)
    if group is None:
        say(f"security group {name}: does not exist")
        return False
    if not sg_is_managed(group):
        say(f"security group {name}: not created by sparkify_dw.cluster, kept")
        return False
    if not cluster_gone:
        say(
            f"security group {name}: kept until the cluster is gone (costs nothing); "
            "run `sparkify-dw cluster delete --wait` to remove it"
        )
        return False
    try:
        ec2.delete_security_group(GroupId=group["GroupId"])
    except ClientError as exc:
        if error_code(exc) != "DependencyViolation":
            raise
        say(f"security group {name}: still in use, kept; run delete --wait again later")
        return False
    say(f"security group {name}: deleted")
    return True
