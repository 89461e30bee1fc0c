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
import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from sparkify_dw import __version__

if TYPE_CHECKING:
    from sparkify_dw.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "sparkify-dw"
F = TypeVar("F", bound=Callable[..., Any])


class Usage(click.ClickException):
    """Configuration or schema trouble: exit 2, one line."""

    exit_code = EXIT_USAGE


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


# --- shared options --------------------------------------------------------------------------


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and param.name:
        ctx.meta[param.name] = True  # ctx.meta is shared by the group and its command
    return value


def verbosity_options(f: F) -> F:
    """``-v`` and ``-q``, before or after the command's name."""
    f = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Print errors only.",
    )(f)
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Debug logging; tracebacks on errors.",
    )(f)


def flag(ctx: click.Context, name: str) -> bool:
    """Whether ``-v`` (``verbose``) or ``-q`` (``quiet``) was given, anywhere."""
    return bool(ctx.meta.get(name))


def _verbosity(ctx: click.Context) -> None:
    if flag(ctx, "verbose") and flag(ctx, "quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")
    from sparkify_dw import cli

    cli.setup_logging(sys.stderr, verbose=flag(ctx, "verbose"), quiet=flag(ctx, "quiet"))


def warehouse_options(f: F) -> F:
    """``--url`` and ``--config``: where the warehouse is (see the README's Configuration)."""
    f = click.option(
        "--config",
        "config_file",
        metavar="FILE",
        help="dwh.cfg to read (default: ./dwh.cfg if present).",
    )(f)
    return click.option(
        "--url", metavar="URL", help="Database URL (default: the nearest ./sparkify.duckdb)."
    )(f)


def wait_option(f: F) -> F:
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        default=600.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait behind a running load.",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table."
    )(f)


def limit_option(f: F) -> F:
    return click.option(
        "--limit",
        type=click.IntRange(min=1),
        default=20,
        show_default=True,
        help="How many loads the history shows, newest first.",
    )(f)


def _settings(
    ctx: click.Context,
    url: str | None,
    config_file: str | None,
    *,
    log_data: str | None = None,
    song_data: str | None = None,
    log_jsonpath: str | None = None,
    memory_limit: str | None = None,
) -> Settings:
    from sparkify_dw import cli
    from sparkify_dw.config import resolve

    settings = resolve(
        url=url,
        config=config_file,
        log_data=log_data,
        song_data=song_data,
        log_jsonpath=log_jsonpath,
        memory_limit=memory_limit,
    )
    cli.mask_logs(settings)
    ctx.meta["settings"] = settings
    return settings


def guarded(f: F) -> F:
    """``-v``/``-q`` applied; library errors as one line with the documented exit status;
    secrets masked."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        _verbosity(ctx)
        try:
            return f(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # translated below, or re-raised
            from sparkify_dw import cli

            code = cli.exit_code(exc)
            if code is None:
                raise
            cli.report_error(
                exc, ctx.meta.get("settings"), sys.stderr, verbose=flag(ctx, "verbose")
            )
            ctx.exit(code)

    return run  # type: ignore[return-value]


# --- the group -------------------------------------------------------------------------------


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG)
@verbosity_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sparkify's data warehouse on DuckDB, PostgreSQL and Amazon Redshift."""
    if flag(ctx, "verbose") and flag(ctx, "quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")


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

    settings = _settings(ctx, url, config_file)
    if not flag(ctx, "quiet"):
        logging.getLogger("alembic").setLevel(logging.INFO)
    cfg = schema.alembic_config()
    cfg.attributes["url"] = settings.url
    if upgrading:
        command.upgrade(cfg, revision, sql=sql)
        return
    if sql and ":" not in revision:  # offline, Alembic needs to know where it starts
        revision = f"{schema.head()}:{revision}"
    command.downgrade(cfg, revision, sql=sql)


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


@main.command()
@revision_options("base")
@warehouse_options
@verbosity_options
@click.pass_context
@guarded
def downgrade(
    ctx: click.Context, revision: str, sql: bool, url: str | None, config_file: str | None
) -> None:
    """Downgrade the schema; to `base` drops every table (it names them first)."""
    _migrate(ctx, False, revision, sql, url, config_file)


@main.command()
@warehouse_options
@wait_option
@verbosity_options
@click.pass_context
@guarded
def current(ctx: click.Context, url: str | None, config_file: str | None, wait: float) -> None:
    """The schema revision the warehouse is at, and the package's head."""
    from sparkify_dw import backends, schema

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        revision = schema.current_revision(conn)
    click.echo(f"{revision or 'none'} (head {schema.head()})")


# --- the ledger ------------------------------------------------------------------------------


@main.command()
@limit_option
@warehouse_options
@wait_option
@json_option
@verbosity_options
@click.pass_context
@guarded
def history(
    ctx: click.Context,
    limit: int,
    url: str | None,
    config_file: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """The load ledger: one row per load, newest first."""
    from sparkify_dw import backends, ledger, output, schema
    from sparkify_dw.ledger import HISTORY_HEADERS, history_row

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        schema.require_head(conn)
        rows = ledger.history(conn, limit)
    if as_json:
        output.print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo("no loads yet")
    else:
        output.print_table(HISTORY_HEADERS, [history_row(r) for r in rows])


def _load_id(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None or value == "latest":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a load id") from None
    if number < 1:
        raise click.BadParameter(f"{number} is not a load id (they start at 1)")
    return number


@main.command()
@click.argument("load_id", required=False, callback=_load_id)
@warehouse_options
@wait_option
@json_option
@verbosity_options
@click.pass_context
@guarded
def errors(
    ctx: click.Context,
    load_id: int | None,
    url: str | None,
    config_file: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """The records a load rejected (default: the latest load), in file order."""
    from sparkify_dw import backends, ledger, output, schema
    from sparkify_dw.ledger import ERRORS_HEADERS, errors_row

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        schema.require_head(conn)
        load_id = load_id or ledger.latest_load_id(conn)
        rows = ledger.errors(conn, load_id)
    if as_json:
        output.print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo(f"load #{load_id} rejected no records")
    else:
        click.echo(f"load #{load_id} rejected {len(rows):,} record(s)")
        output.print_table(ERRORS_HEADERS, [errors_row(r) for r in rows])


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
    """Run the data-quality checks; exit 1 when one fails (-v: why each matters)."""
    from sparkify_dw import backends, checks, output, schema
    from sparkify_dw.check import report

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
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
        for line in report(results, verbose=flag(ctx, "verbose")):
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


@main.command()
@click.option(
    "--limit",
    type=click.IntRange(min=1),
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
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Compare with a file of expected answers (its limit and window); exit 1 on a difference.",
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

    from sparkify_dw import analytics as questions

    if verify and write_expected:
        raise click.UsageError("--verify and --write-expected exclude each other")
    settings = _settings(ctx, url, config_file)
    code = questions.command(
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


# --- loading ---------------------------------------------------------------------------------


def _steps(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from sparkify_dw.load import STEPS

    steps = [s.strip() for s in value.split(",") if s.strip()]
    if not steps:
        raise click.BadParameter("name at least one of " + ", ".join(STEPS))
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise click.BadParameter(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")
    return steps


@main.command()
@warehouse_options
@click.option("--log-data", metavar="SRC", help="Event logs: file, directory, glob or s3:// URI.")
@click.option("--song-data", metavar="SRC", help="Song files: file, directory, glob or s3:// URI.")
@click.option("--log-jsonpath", metavar="FILE", help="JSONPaths file mapping event fields.")
@click.option(
    "--steps",
    default="stage,transform,check",
    show_default=True,
    callback=_steps,
    help="Comma-separated subset of stage,transform,check (run in that order).",
)
@click.option(
    "--max-errors",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Records that may be rejected while the rest loads.",
)
@click.option("--incremental", is_flag=True, help="Stage only log files no load has loaded.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only log files of this day or later.",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only log files of this day or earlier.",
)
@wait_option
@click.option("--vacuum", is_flag=True, help="On Redshift, VACUUM the changed tables after.")
@click.option(
    "--memory-limit",
    metavar="SIZE",
    help="DuckDB's memory limit, e.g. 512MB or 2GB (default 1GB; "
    "$SPARKIFY_DW_MEMORY_LIMIT, dwh.cfg [DUCKDB] MEMORY_LIMIT).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print every statement as the driver would receive it; run nothing.",
)
@click.option(
    "--history",
    "show_history",
    is_flag=True,
    help="Print the load ledger instead of loading (as `sparkify-dw history`).",
)
@limit_option
@click.option(
    "--errors",
    "errors_of",
    is_flag=False,
    flag_value="latest",
    callback=_load_id,
    metavar="[LOAD_ID]",
    help="Print the records a load rejected (default: the "
    "latest) instead of loading (as `sparkify-dw errors`).",
)
@verbosity_options
@click.pass_context
@guarded
def load(
    ctx: click.Context,
    url: str | None,
    config_file: str | None,
    log_data: str | None,
    song_data: str | None,
    log_jsonpath: str | None,
    steps: list[str],
    max_errors: int,
    incremental: bool,
    since: dt.datetime | None,
    until: dt.datetime | None,
    wait: float,
    vacuum: bool,
    memory_limit: str | None,
    dry_run: bool,
    show_history: bool,
    limit: int,
    errors_of: int | None,
) -> None:
    """Stage the raw JSON, build the star schema, check it: one transaction."""
    from sparkify_dw import load as loader

    if show_history:
        ctx.invoke(history, limit=limit, url=url, config_file=config_file, wait=wait)
        return
    if ctx.get_parameter_source("errors_of") is click.core.ParameterSource.COMMANDLINE:
        ctx.invoke(errors, load_id=errors_of, url=url, config_file=config_file, wait=wait)
        return
    if since and until and since > until:
        raise Usage(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}")
    settings = _settings(
        ctx,
        url,
        config_file,
        log_data=log_data,
        song_data=song_data,
        log_jsonpath=log_jsonpath,
        memory_limit=memory_limit,
    )
    selection = loader.Selection(
        incremental, since.date() if since else None, until.date() if until else None
    )
    if dry_run:
        loaded = None
        if incremental:  # the ledger is in the warehouse: read it
            from sparkify_dw import backends, ledger

            with backends.for_settings(settings).reading(wait) as conn:
                loaded = ledger.loaded_files(conn)
        for statement in loader.dry_run(
            settings, steps, max_errors, selection, loaded, vacuum, wait
        ):
            click.echo(statement + "\n")
        return
    from sparkify_dw import backends

    backends.for_settings(settings).require_warehouse()
    ctx.exit(
        loader.command(
            settings,
            steps=steps,
            max_errors=max_errors,
            selection=selection,
            wait=wait,
            vacuum=vacuum,
            quiet=flag(ctx, "quiet"),
        )
    )


# --- commands with their own options, run as they are ----------------------------------------


def _delegate(name: str, module: str, summary: str) -> None:
    @main.command(
        name,
        help=summary,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def delegated(ctx: click.Context, args: tuple[str, ...]) -> None:
        import importlib

        _verbosity(ctx)
        code = importlib.import_module(module).main(list(args))
        ctx.exit(code or 0)


_delegate(
    "status",
    "sparkify_dw.status",
    "Is the warehouse fresh? Last load, newest event, rows, failed checks (--help).",
)
_delegate("docs", "sparkify_dw.docs", "Write the documentation site (--out DIR; --help).")
_delegate(
    "cluster",
    "sparkify_dw.cluster",
    "Create, inspect or delete the Redshift cluster (create|status|delete; --help).",
)
_delegate("synth", "sparkify_dw.synth", "Generate synthetic data in the public layout (--help).")


def main_entry() -> None:
    """The ``sparkify-dw`` console script."""
    sys.exit(run(sys.argv[1:]))
