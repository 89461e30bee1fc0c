"""Create, inspect and delete the Amazon Redshift cluster behind the warehouse.

Why: the Redshift path needs a cluster plus an IAM role that lets ``COPY`` read
Sparkify's S3 data. Clicking that together in the console is slow, easy to get
wrong (a database port open to the world) and easy to forget (a cluster left
running keeps billing). This package makes it three repeatable commands::

    python -m sparkify_dw.cluster create   # role + cluster; writes HOST and ARN into dwh.cfg
    alembic upgrade head                   # create the schema on the cluster
    python -m sparkify_dw.load             # COPY the S3 data and fill the star schema
    python -m sparkify_dw.cluster delete   # final snapshot, then remove cluster and role

``create`` and ``delete`` are idempotent: running them again reports and reuses
(or skips) what already exists. With ``--serverless`` the same three commands work on a
Redshift Serverless namespace and workgroup instead (:mod:`.serverless`).

The modules: :mod:`.config` reads and checks the dwh.cfg keys (listed there);
:mod:`.cfgfile` writes HOST and ARN back; :mod:`.aws` creates, finds and deletes
the role, security group and cluster; :mod:`.waiting` waits for the cluster with
boto3's waiters; :mod:`.operations` holds ``create``, ``status`` and ``delete``;
:mod:`.command` is the command line (exit status and error lines described there).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkify_dw.aws_errors import describe_aws_error
    from sparkify_dw.secrets import mask as scrub  # the name the cluster package knew it by

    from .aws import MANAGED_TAG, TRUST_POLICY
    from .cfgfile import update_cfg
    from .command import (
        EXIT_AWS,
        EXIT_CONFIG,
        EXIT_INTERRUPTED,
        EXIT_NO_CLUSTER,
        EXIT_OK,
        build_parser,
        main,
    )
    from .config import (
        REDSHIFT_RESERVED_WORDS,
        RESERVED_NAMES,
        ProvisionConfig,
        ingress_cidr,
        load_config,
        read_config,
        secrets,
    )
    from .operations import ClusterInfo, DeleteResult, create, delete, status
    from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, wait_for_cluster

# Loaded when first used, so the package imports without its extra (boto3) and
# `python -m sparkify_dw.cluster` can say which extra is missing in one line.
_HOMES = {
    "describe_aws_error": ("sparkify_dw.aws_errors", "describe_aws_error"),
    "scrub": ("sparkify_dw.secrets", "mask"),  # the name the cluster package knew it by
    **{name: (".aws", name) for name in ("MANAGED_TAG", "TRUST_POLICY")},
    "update_cfg": (".cfgfile", "update_cfg"),
    **{
        name: (".command", name)
        for name in (
            "EXIT_AWS",
            "EXIT_CONFIG",
            "EXIT_INTERRUPTED",
            "EXIT_NO_CLUSTER",
            "EXIT_OK",
            "build_parser",
            "main",
        )
    },
    **{
        name: (".config", name)
        for name in (
            "REDSHIFT_RESERVED_WORDS",
            "RESERVED_NAMES",
            "ProvisionConfig",
            "read_config",
            "ingress_cidr",
            "load_config",
            "secrets",
        )
    },
    **{
        name: (".operations", name)
        for name in ("ClusterInfo", "DeleteResult", "create", "delete", "status")
    },
    **{
        name: (".waiting", name)
        for name in ("DEFAULT_POLL_INTERVAL", "DEFAULT_TIMEOUT", "wait_for_cluster")
    },
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _HOMES[name]
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TIMEOUT",
    "EXIT_AWS",
    "EXIT_CONFIG",
    "EXIT_INTERRUPTED",
    "EXIT_NO_CLUSTER",
    "EXIT_OK",
    "MANAGED_TAG",
    "REDSHIFT_RESERVED_WORDS",
    "RESERVED_NAMES",
    "TRUST_POLICY",
    "ClusterInfo",
    "DeleteResult",
    "ProvisionConfig",
    "build_parser",
    "create",
    "delete",
    "describe_aws_error",
    "ingress_cidr",
    "load_config",
    "main",
    "read_config",
    "scrub",
    "secrets",
    "status",
    "update_cfg",
    "wait_for_cluster",
]
