"""``sparkify-dw cluster create|status|delete``: the command line, a click group the
``sparkify-dw`` group mounts through the backend registry (``EngineInfo.commands``).

Exit status, as every command's: 0 success, 1 AWS error or timeout, or ``status`` found no
cluster (a test that failed, as ``status --max-age`` on a stale warehouse: a script can
still ask ``if sparkify-dw cluster status; then``), 2 configuration or usage error, 130
interrupted, 143 terminated. Errors are one ``error:`` line on stderr through the
command line's one handler (``-v`` adds the traceback); passwords and AWS secret keys are
never printed. boto3 is imported when a subcommand runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sparkify_dw.cli.options import (
    CONTEXT,
    Command,
    apply_verbosity,
    config_option,
    verbosity_options,
)

EXIT_OK, EXIT_AWS, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_NO_CLUSTER = 1  # a test that failed: the codes are 0, 1, 2, 130 and 143 everywhere
DEFAULT_TIMEOUT = 1800.0  # .waiting.DEFAULT_TIMEOUT (a test pins them equal)
DEFAULT_POLL_INTERVAL = 15.0  # .waiting.DEFAULT_POLL_INTERVAL

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
workflow:
  1. sparkify-dw cluster create   role, security group and cluster;
                                  writes [CLUSTER] HOST and [IAM_ROLE] ARN
  2. sparkify-dw upgrade          create the schema on the cluster
  3. sparkify-dw load             COPY the S3 data into the star schema
  4. sparkify-dw cluster delete   final snapshot, then remove it all

\b
With --serverless each command works on a Redshift Serverless namespace and
workgroup instead of a cluster ([PROVISION] NAMESPACE, WORKGROUP, BASE_CAPACITY).

\b
Settings come from dwh.cfg ([CLUSTER] DB_*, [S3] REGION, [PROVISION] NODE_TYPE,
NUM_NODES, CLUSTER_IDENTIFIER, IAM_ROLE_NAME, INGRESS_CIDR, ...); AWS credentials
from the usual AWS chain (environment, ~/.aws, instance role).
exit status: 0 ok, 1 AWS error, timeout or no cluster (status), 2 configuration or
usage error, 130 interrupted, 143 terminated
"""

INTERRUPTED = (
    "interrupted; AWS carries on with what was started - "
    "run the command again to pick up where it left off"
)


# --- options: --config, --region and --serverless, before or after the subcommand ------------


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value and param.name:  # ctx.meta is shared by the group and its subcommand
        ctx.meta[f"cluster.{param.name}"] = value
    return value


def _common(f: F) -> F:
    """What the group and every subcommand take, before or after the subcommand's name."""
    f = click.option(
        "--serverless",
        is_flag=True,
        expose_value=False,
        callback=_keep,
        show_default=False,
        help="A Redshift Serverless namespace and workgroup instead of a cluster.",
    )(f)
    f = click.option(
        "--region",
        expose_value=False,
        callback=_keep,
        show_default="$AWS_DEFAULT_REGION, [S3] REGION, the profile's",
        help="AWS region.",
    )(f)
    f = config_option(f, expose_value=False, callback=_keep)
    return verbosity_options(f)


def _waiting(f: F) -> F:
    """How long create and delete wait, and how often they look."""
    f = click.option(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        metavar="SECONDS",
        help="Seconds between checks.",
    )(f)
    return click.option(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="Give up waiting after this long.",
    )(f)


def _settings(ctx: click.Context) -> tuple[Any, str | None, str | None]:
    """The operations (a cluster's or a workgroup's), the config file and the region; from
    now on the handler masks the config's secrets."""
    from sparkify_dw.secrets import mask

    from . import operations, serverless
    from .config import secrets

    config = ctx.meta.get("cluster.config_file")
    ctx.meta["secrets"] = lambda text: mask(text, secrets(config))
    ops = serverless if ctx.meta.get("cluster.serverless") else operations
    return ops, config, ctx.meta.get("cluster.region")


def _aws(f: F) -> F:
    """AWS's errors as the library's (one line, exit 1), and Ctrl-C saying what AWS does."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        from sparkify_dw.aws_errors import describe_aws_error
        from sparkify_dw.errors import ClusterError, SparkifyError

        try:
            return f(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise ClusterError(describe_aws_error(exc)) from exc
        except SparkifyError:
            raise
        except OSError as exc:
            text = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
            raise ClusterError(text) from exc
        except KeyboardInterrupt as exc:
            if getattr(exc, "exit_code", None):  # SIGINT or SIGTERM: 128 + N
                raise
            raise KeyboardInterrupt(INTERRUPTED) from exc

    return run  # type: ignore[return-value]


class _Group(click.Group):
    """The cluster group: ``-v``/``-q`` applied before a subcommand runs."""

    def invoke(self, ctx: click.Context) -> Any:
        apply_verbosity(ctx)
        return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # create, status, delete: the order they are used in


@click.group(cls=_Group, epilog=EPILOG, context_settings=CONTEXT)
@_common
def cluster() -> None:
    """Create, inspect and delete the Redshift cluster for the warehouse."""


@cluster.command(
    cls=Command, short_help="Create/reuse role and cluster, write HOST and ARN to dwh.cfg."
)
@click.option(
    "--cidr",
    show_default="[PROVISION] INGRESS_CIDR",
    help="Addresses allowed to connect, e.g. 203.0.113.7/32.",
)
@click.option(
    "--allow-public",
    is_flag=True,
    show_default=False,
    help="Allow 0.0.0.0/0 (used when no CIDR is configured).",
)
@_waiting
@_common
@click.pass_context
@_aws
def create(
    ctx: click.Context, cidr: str | None, allow_public: bool, timeout: float, poll_interval: float
) -> None:
    """Create (or reuse) the IAM role, security group and cluster, wait until the cluster
    is available, then write [CLUSTER] HOST and [IAM_ROLE] ARN."""
    ops, config, region = _settings(ctx)
    ops.create(
        config,
        region=region,
        cidr=cidr,
        allow_public=allow_public,
        timeout=timeout,
        poll_interval=poll_interval,
    )


@cluster.command(cls=Command, short_help="Show state, endpoint, node type and count, role ARN.")
@_common
@click.pass_context
@_aws
def status(ctx: click.Context) -> None:
    """Show the cluster's state, endpoint, size, role ARN and ingress; exit 1 when there
    is none."""
    ops, config, region = _settings(ctx)
    if not ops.status(config, region=region).exists:
        ctx.exit(EXIT_NO_CLUSTER)


@cluster.command(
    cls=Command, short_help="Delete the cluster (final snapshot by default) and the role."
)
@click.option(
    "--skip-final-snapshot",
    is_flag=True,
    show_default=False,
    help="Delete without keeping a final snapshot.",
)
@click.option(
    "--wait",
    is_flag=True,
    show_default=False,
    help="Wait (up to --timeout) until the cluster is gone, then remove the security group.",
)
@_waiting
@_common
@click.pass_context
@_aws
def delete(
    ctx: click.Context,
    skip_final_snapshot: bool,
    wait: bool,
    timeout: float,
    poll_interval: float,
) -> None:
    """Delete the cluster (with a final snapshot unless --skip-final-snapshot), the IAM
    role and, once the cluster is gone, the security group."""
    ops, config, region = _settings(ctx)
    ops.delete(
        config,
        region=region,
        skip_final_snapshot=skip_final_snapshot,
        wait=wait,
        timeout=timeout,
        poll_interval=poll_interval,
    )
