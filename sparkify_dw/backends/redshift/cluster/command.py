"""``sparkify-dw cluster create|status|delete``: the command line.

Exit status, as every command's: 0 success, 1 AWS error or timeout, or ``status`` found no
cluster (a test that failed, as ``status --max-age`` on a stale warehouse: a script can
still ask ``if sparkify-dw cluster status; then``), 2 configuration or usage error, 130
interrupted. Errors are one ``error:`` line on stderr (``-v`` adds the traceback);
passwords and AWS secret keys are never printed.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from sparkify_dw.aws_errors import describe_aws_error
from sparkify_dw.command_options import ArgumentError, Parser
from sparkify_dw.config import DEFAULT_CONFIG_NAME, ENV_CONFIG
from sparkify_dw.errors import ClusterError, ConfigError
from sparkify_dw.secrets import mask, mask_line

from . import serverless
from .config import secrets
from .operations import create, delete, status
from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT

EXIT_OK, EXIT_AWS, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_NO_CLUSTER = 1  # was 3: the codes are 0, 1, 2, 130 and 143 for every command

EPILOG = """\
workflow:
  1. sparkify-dw cluster create   role, security group and cluster;
                                  writes [CLUSTER] HOST and [IAM_ROLE] ARN
  2. sparkify-dw upgrade          create the schema on the cluster
  3. sparkify-dw load             COPY the S3 data into the star schema
  4. sparkify-dw cluster delete   final snapshot, then remove it all

With --serverless each command works on a Redshift Serverless namespace and
workgroup instead of a cluster ([PROVISION] NAMESPACE, WORKGROUP, BASE_CAPACITY).

Settings come from dwh.cfg ([CLUSTER] DB_*, [S3] REGION, [PROVISION] NODE_TYPE,
NUM_NODES, CLUSTER_IDENTIFIER, IAM_ROLE_NAME, INGRESS_CIDR, ...); AWS credentials
from the usual AWS chain (environment, ~/.aws, instance role).
exit status: 0 ok, 1 AWS error, timeout or no cluster (status), 2 configuration or
usage error, 130 interrupted
"""


def _common_options() -> Parser:
    """What every subcommand takes, before or after its name."""
    common = Parser(add_help=False)
    # SUPPRESS: the option may come before or after the subcommand without one
    # occurrence's default overwriting the other.
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"configuration file (default: ${ENV_CONFIG} or ./{DEFAULT_CONFIG_NAME})",
    )
    common.add_argument(
        "--region",
        default=argparse.SUPPRESS,
        help="AWS region (default: $AWS_DEFAULT_REGION, [S3] REGION, profile)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback on errors",
    )
    common.add_argument(
        "--serverless",
        action="store_true",
        default=argparse.SUPPRESS,
        help="a Redshift Serverless namespace and workgroup instead of a cluster",
    )
    return common


def _waiting_options() -> Parser:
    """How long create and delete wait, and how often they look."""
    waiting = Parser(add_help=False)
    waiting.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up waiting after this long (default: %(default)g)",
    )
    waiting.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        metavar="SECONDS",
        help="seconds between checks (default: %(default)g)",
    )
    return waiting


def build_parser() -> argparse.ArgumentParser:
    common, waiting = _common_options(), _waiting_options()
    parser = Parser(
        prog="sparkify-dw cluster",
        parents=[common],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Create, inspect and delete the Redshift cluster for the warehouse.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_create = sub.add_parser(
        "create",
        parents=[common, waiting],
        help="create/reuse role and cluster, write HOST and ARN to dwh.cfg",
        description="Create (or reuse) the IAM role, security group and cluster, wait until "
        "the cluster is available, then write [CLUSTER] HOST and [IAM_ROLE] ARN.",
    )
    p_create.add_argument(
        "--cidr",
        help="addresses allowed to connect (overrides "
        "[PROVISION] INGRESS_CIDR), e.g. 203.0.113.7/32",
    )
    p_create.add_argument(
        "--allow-public",
        action="store_true",
        help="allow 0.0.0.0/0 (used when no CIDR is configured)",
    )
    sub.add_parser(
        "status",
        parents=[common],
        help="show state, endpoint, node type and count, role ARN",
        description="Show the cluster's state, endpoint, size, role ARN and ingress.",
    )
    p_delete = sub.add_parser(
        "delete",
        parents=[common, waiting],
        help="delete the cluster (final snapshot by default) and the role",
        description="Delete the cluster (with a final snapshot unless --skip-final-snapshot), "
        "the IAM role and, once the cluster is gone, the security group.",
    )
    p_delete.add_argument(
        "--skip-final-snapshot", action="store_true", help="delete without keeping a final snapshot"
    )
    p_delete.add_argument(
        "--wait",
        action="store_true",
        help="wait until the cluster is gone (then remove the security group)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status instead of raising."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgumentError as exc:  # one line, never a usage screen (a subcommand's too)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_CONFIG
    except SystemExit as exc:  # --help, already printed
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    config = getattr(args, "config", None)
    region = getattr(args, "region", None)
    verbose = bool(getattr(args, "verbose", False))
    try:
        if getattr(args, "serverless", False):
            return _serverless(args, config, region)
        if args.command == "create":
            create(
                config,
                region=region,
                cidr=args.cidr,
                allow_public=args.allow_public,
                timeout=args.timeout,
                poll_interval=args.poll_interval,
            )
        elif args.command == "status":
            if not status(config, region=region).exists:
                return EXIT_NO_CLUSTER
        else:
            delete(
                config,
                region=region,
                skip_final_snapshot=args.skip_final_snapshot,
                wait=args.wait,
                timeout=args.timeout,
                poll_interval=args.poll_interval,
            )
    except KeyboardInterrupt:
        sys.stderr.write(
            "\nerror: interrupted; AWS carries on with what was started - "
            "run the command again to pick up where it left off\n"
        )
        return EXIT_INTERRUPTED
    except (ConfigError, ClusterError, ClientError, BotoCoreError, OSError) as exc:
        hidden = secrets(config)
        if verbose:
            sys.stderr.write(mask(traceback.format_exc(), hidden))
        if isinstance(exc, ClientError | BotoCoreError):
            message = describe_aws_error(exc)
        elif isinstance(exc, OSError):
            message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        else:
            message = str(exc)
        sys.stderr.write(f"error: {mask_line(message, hidden)}\n")
        return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_AWS
    return EXIT_OK


def _serverless(args: argparse.Namespace, config: str | None, region: str | None) -> int:
    """The same commands on a Serverless namespace and workgroup."""
    if args.command == "create":
        serverless.create(
            config,
            region=region,
            cidr=args.cidr,
            allow_public=args.allow_public,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
        )
    elif args.command == "status":
        if not serverless.status(config, region=region).exists:
            return EXIT_NO_CLUSTER
    else:
        serverless.delete(
            config,
            region=region,
            skip_final_snapshot=args.skip_final_snapshot,
            wait=args.wait,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
        )
    return EXIT_OK
