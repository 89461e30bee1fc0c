"""``sparkify-dw upgrade``, ``downgrade`` and ``current``: the warehouse's schema, through
Alembic's own commands and the migrations shipped in the package."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from sparkify_dw.cli.options import (
    Command,
    Failed,
    Usage,
    command,
    flag,
    settings_from,
    verbosity_options,
    wait_option,
    warehouse_options,
)

_SQL_HELP = "Print the DDL instead of running it (offline)."


def _migrate(
    ctx: click.Context,
    upgrading: bool,
    revision: str,
    sql: bool,
    url: str | None,
    config_file: str | None,
) -> None:
    """Alembic's own upgrade or downgrade, on the configured warehouse, speaking each step."""
    import logging

    from alembic import command as alembic

    from sparkify_dw import schema
    from sparkify_dw.backends import registry

    settings = settings_from(ctx, url, config_file)
    registry.prepare(settings.url)  # its extra, for --sql too, which creates no engine
    cfg = schema.alembic_config()
    cfg.attributes["url"] = settings.url
    _require_revision(cfg, revision)
    if not upgrading and sql and ":" not in revision:  # offline, Alembic needs a start
        revision = f"{schema.head()}:{revision}"
    speaking = logging.getLogger("alembic")
    level = speaking.level  # Alembic speaks for this command only (a notebook runs more)
    if not flag(ctx, "quiet"):
        speaking.setLevel(logging.INFO)
    try:
        (alembic.upgrade if upgrading else alembic.downgrade)(cfg, revision, sql=sql)
    except SystemExit as exc:
        # migrations/env.py ends Alembic's own command line with SystemExit("error: …") for
        # a database it can't reach (its other errors are raised to us as they are): the
        # same line through our handler, exit 1, not a string a test runner prints on stdout.
        if not isinstance(exc.code, str):
            raise
        raise Failed(exc.code.removeprefix("error: ")) from None
    finally:
        speaking.setLevel(level)


def _require_revision(cfg: Any, revision: str) -> None:
    """A revision Alembic doesn't know is refused before anything connects (relative ones,
    ``-1`` or ``head+1``, are Alembic's to resolve)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(cfg)
    for part in revision.split(":"):
        if part and not any(c in part for c in "+-@") and part not in ("base", "head", "heads"):
            try:
                script.get_revisions(part)
            except CommandError as exc:
                known = sorted(r.revision for r in script.walk_revisions())
                raise Usage(f"{exc} (revisions: {', '.join(known)}, base, head)") from None


@command()
@click.argument("revision", default="head")
@click.option("--sql", is_flag=True, show_default=False, help=_SQL_HELP)
@warehouse_options
@verbosity_options
@click.pass_context
def upgrade(
    ctx: click.Context, revision: str, sql: bool, url: str | None, config_file: str | None
) -> None:
    """Create or upgrade the warehouse's schema to REVISION (default: head), with Alembic
    and the migrations in the installed package."""
    _migrate(ctx, True, revision, sql, url, config_file)


class _RevisionCommand(Command):
    """``downgrade -1`` as Alembic spells a relative revision, without ``downgrade -- -1``:
    a lone negative number is the revision, never a flag."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            relative = [a for a in args if re.fullmatch(r"-[0-9]+", a)]
            if relative:
                args = [a for a in args if a not in relative] + ["--", *relative]
        return super().parse_args(ctx, args)


@command(cls=_RevisionCommand)
@click.argument("revision")
@click.option("--sql", is_flag=True, show_default=False, help=_SQL_HELP)
@click.option(
    "--yes",
    is_flag=True,
    show_default=False,
    help="Drop tables that hold rows (or go to base) without asking.",
)
@warehouse_options
@verbosity_options
@click.pass_context
def downgrade(
    ctx: click.Context,
    revision: str,
    sql: bool,
    yes: bool,
    url: str | None,
    config_file: str | None,
) -> None:
    """Downgrade the schema to REVISION (required; `base` drops every table). What it would
    drop is counted first: rows are dropped only after a yes at a terminal, or with --yes."""
    if not sql:
        from sparkify_dw import downgrades

        settings = settings_from(ctx, url, config_file)
        # Read as readers read: a warehouse that isn't there is one line (exit 2), never
        # a new empty file.
        loss = downgrades.what_it_drops(settings, revision)
        downgrades.confirm(loss, revision, yes=yes, interactive=interactive())
    _migrate(ctx, False, revision, sql, url, config_file)


def interactive() -> bool:
    """Whether a person can answer a question here (both ends are a terminal)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@command()
@warehouse_options
@wait_option
@verbosity_options
@click.pass_context
def current(ctx: click.Context, url: str | None, config_file: str | None, wait: float) -> None:
    """The schema revision the warehouse is at, and the package's head."""
    from sparkify_dw import backends, schema

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        revision = schema.current_revision(conn)
    click.echo(f"{revision or 'none'} (head {schema.head()})")
