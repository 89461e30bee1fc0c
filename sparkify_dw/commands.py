"""``sparkify-dw``: one command for everything a user does with the warehouse.

Built on click (a well-kept, dependency-light CLI library; typer would add a layer of
type-hint magic over it for little gain here). Options are declared once and shared;
``python -m sparkify_dw.load``, ``.check`` and ``.analytics`` run these same commands
(:func:`run_module`). Heavy imports (SQLAlchemy, Alembic, boto3, DuckDB, rich) happen
inside the commands, so ``--help`` starts fast.

Exit status, for every command:

====  =====================================================
0     done
1     a load, a check or a freshness test failed
2     usage or configuration (a bad flag, file, URL or schema)
130   interrupted (Ctrl-C); 143 terminated
====  =====================================================

Every error is one line on stderr, ``error: …`` (the traceback first with ``-v``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from sparkify_dw import __version__
from sparkify_dw.command_options import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_LIMIT,
    F,
    Failed,
    Usage,
    apply_verbosity,
    flag,
    guarded,
    json_option,
    settings_from,
    verbosity_options,
    wait_option,
    warehouse_options,
    whole_number,
)
from sparkify_dw.load_commands import errors, history, load

PROG = "sparkify-dw"


# --- running: one line per error, the documented exit status ---------------------------------


def run(args: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``sparkify-dw ARGS``, output to ``out`` and ``err`` (default: stdout, stderr); the exit
    status. click's own errors (a bad flag) become one line too, not a usage screen."""
    with contextlib.ExitStack() as stack:
        if out is not None:
            stack.enter_context(contextlib.redirect_stdout(out))
        if err is not None:
            stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main.main(list(args), prog_name=PROG, standalone_mode=False)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `sparkify-dw`: the help
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
            return EXIT_USAGE
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            return exc.exit_code
        except click.Abort:  # Ctrl-C while click itself was busy (a prompt, parsing)
            click.echo("error: interrupted", err=True)
            return EXIT_INTERRUPTED
        return code if isinstance(code, int) else EXIT_OK


def run_module(command: str, argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    """``python -m sparkify_dw.<command> ARGS``: ``sparkify-dw <command> ARGS``."""
    return run([command, *(sys.argv[1:] if argv is None else argv)], out=out, err=err)


def process_main(args: Sequence[str]) -> int:
    """A process that is one command: SIGINT and SIGTERM are the command's to report from
    its first line (one line, 128 + N, never a bare kill), and once it has said everything
    and returned its status, a signal as the interpreter exits changes nothing."""
    import signal

    from sparkify_dw.interrupts import interrupts

    with interrupts():
        code = run(args)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    return code


class _Group(click.Group):
    """The group, run through :func:`run` however it is called (the console script, click's
    test runner), so every error is one line with the documented status."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        sys.exit(run(sys.argv[1:] if args is None else args))


# --- the group -------------------------------------------------------------------------------


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG)
@verbosity_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sparkify's data warehouse on DuckDB, PostgreSQL and Amazon Redshift."""
    if flag(ctx, "verbose") and flag(ctx, "quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")


main.add_command(load)
main.add_command(history)
main.add_command(errors)


# --- schema ----------------------------------------------------------------------------------


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

    from alembic import command

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
        (command.upgrade if upgrading else command.downgrade)(cfg, revision, sql=sql)
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


def revision_options(default: str) -> Callable[[F], F]:
    def apply(f: F) -> F:
        f = click.option(
            "--sql", is_flag=True, help="Print the DDL instead of running it (offline)."
        )(f)
        return click.argument("revision", default=default)(f)

    return apply


@main.command()
@revision_options("head")
@warehouse_options
@verbosity_options
@click.pass_context
@guarded
def upgrade(
    ctx: click.Context, revision: str, sql: bool, url: str | None, config_file: str | None
) -> None:
    """Create or upgrade the warehouse's schema (Alembic, from the installed package)."""
    _migrate(ctx, True, revision, sql, url, config_file)


class _RevisionCommand(click.Command):
    """``downgrade -1`` as Alembic spells a relative revision, without ``downgrade -- -1``:
    a lone negative number is the revision, never a flag."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            relative = [a for a in args if re.fullmatch(r"-[0-9]+", a)]
            if relative:
                args = [a for a in args if a not in relative] + ["--", *relative]
        return super().parse_args(ctx, args)


@main.command(cls=_RevisionCommand)
@click.argument("revision")
@click.option("--sql", is_flag=True, help="Print the DDL instead of running it (offline).")
@click.option(
    "--yes", is_flag=True, help="Drop tables that hold rows (or go to base) without asking."
)
@warehouse_options
@verbosity_options
@click.pass_context
@guarded
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
        downgrades.confirm(loss, revision, yes=yes, interactive=_interactive())
    _migrate(ctx, False, revision, sql, url, config_file)


def _interactive() -> bool:
    """Whether a person can answer a question here (both ends are a terminal)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@main.command()
@warehouse_options
@wait_option
@verbosity_options
@click.pass_context
@guarded
def current(ctx: click.Context, url: str | None, config_file: str | None, wait: float) -> None:
    """The schema revision the warehouse is at, and the package's head."""
    from sparkify_dw import backends, schema

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        revision = schema.current_revision(conn)
    click.echo(f"{revision or 'none'} (head {schema.head()})")


# --- checks and analytics --------------------------------------------------------------------


@main.command()
@warehouse_options
@wait_option
@json_option
@verbosity_options
@click.pass_context
@guarded
def check(
    ctx: click.Context, url: str | None, config_file: str | None, wait: float, as_json: bool
) -> None:
    """Run the data-quality checks; exit 1 when one fails (-v: why each matters; -q: the
    failed ones only, and the summary)."""
    from sparkify_dw import backends, checks, output, schema
    from sparkify_dw.check import report

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        results = checks.run_checks(conn)
    if as_json:
        output.print_json(
            [
                {
                    "check": r.name,
                    "passed": r.passed,
                    "offenders": r.count,
                    "samples": [list(s) for s in r.samples],
                }
                for r in results
            ]
        )
    else:
        for line in report(results, verbose=flag(ctx, "verbose"), quiet=flag(ctx, "quiet")):
            click.echo(line)
    if not all(r.passed for r in results):
        ctx.exit(EXIT_FAILED)


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date or date-time: {value!r}") from None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` comparable with any other: naive UTC, as the warehouse keeps times."""
    return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def _expected_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``sample`` names the bundled sample's expected answers, wherever the package is
    installed (a wheel too); anything else must be an existing file."""
    if value is None:
        return None
    if value == "sample":
        from sparkify_dw.analytics.questions import SAMPLE_EXPECTED

        return str(SAMPLE_EXPECTED)
    if not Path(value).is_file():
        raise click.BadParameter(f"{value!r}: no such file (or `sample` for the bundled one)")
    return value


@main.command()
@click.option(
    "--limit",
    type=click.STRING,
    callback=whole_number(1, MAX_LIMIT),
    metavar="N",
    help="Rows for the top-N questions  [default: 10].",
)
@click.option(
    "--start",
    metavar="DATE",
    callback=_moment,
    help="Only plays at or after this ISO date or time (UTC).",
)
@click.option(
    "--end", metavar="DATE", callback=_moment, help="Only plays before this ISO date or time (UTC)."
)
@click.option(
    "--verify",
    callback=_expected_file,
    metavar="FILE|sample",
    help="Compare with a file of expected answers (its limit and window; `sample`: the "
    "bundled sample's, inside the package); exit 1 on a difference.",
)
@click.option(
    "--write-expected",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the answers as a file of expected answers.",
)
@warehouse_options
@wait_option
@json_option
@verbosity_options
@click.pass_context
@guarded
def analytics(
    ctx: click.Context,
    limit: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    verify: str | None,
    write_expected: str | None,
    url: str | None,
    config_file: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """Answer the analytics team's questions."""
    from pathlib import Path

    from sparkify_dw import answers

    if verify and write_expected:
        raise click.UsageError("--verify and --write-expected exclude each other")
    if start is not None and end is not None and _naive_utc(start) >= _naive_utc(end):
        # An empty window would answer "(no rows)" to every question: a typo, said once.
        raise click.UsageError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    settings = settings_from(ctx, url, config_file)
    code = answers.command(
        settings,
        sys.stdout,
        limit=limit,
        start=start,
        end=end,
        verify=Path(verify) if verify else None,
        write_to=Path(write_expected) if write_expected else None,
        as_json=as_json,
        wait=wait,
    )
    ctx.exit(code)


# --- commands with their own options, run as they are ----------------------------------------


def _delegate(
    name: str, module: str, help: str, streams: bool = False, extra: str | None = None
) -> None:
    """``streams``: the module's ``main`` takes ``out`` and ``err``, given as they are now
    (a test runner's, a notebook's), not as they were when it was imported. ``extra``: the
    pip extra the module needs, named in one line (exit 2) when it is missing."""

    @main.command(
        name,
        help=help,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def delegated(ctx: click.Context, args: tuple[str, ...]) -> None:
        import importlib

        from sparkify_dw import extras

        apply_verbosity(ctx)
        if extra is not None:
            try:
                extras.require(extra, f"{PROG} {name}")
            except extras.MissingExtra as exc:
                click.echo(f"error: {exc}", err=True)
                ctx.exit(EXIT_USAGE)
        main = importlib.import_module(module).main
        code = main(list(args), sys.stdout, sys.stderr) if streams else main(list(args))
        ctx.exit(code or 0)


_delegate(
    "status",
    "sparkify_dw.status",
    "Is the warehouse fresh? Last load, newest event, rows, failed checks (--help).",
    streams=True,
)
_delegate(
    "docs",
    "sparkify_dw.docs",
    "Write the documentation site (--out DIR; --help).",
    streams=True,
    extra="docs",
)
_delegate(
    "cluster",
    "sparkify_dw.cluster",
    help="Create, inspect or delete the Redshift cluster, or with --serverless a Serverless "
    "workgroup (create|status|delete; --help).",
    extra="cluster",
)
_delegate("synth", "sparkify_dw.synth", "Generate synthetic data in the public layout (--help).")


def main_entry() -> None:
    """The ``sparkify-dw`` console script."""
    sys.exit(process_main(sys.argv[1:]))
