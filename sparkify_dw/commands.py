"""``sparkify-dw``: one command for everything a user does with the warehouse.

Built on click (a well-kept, dependency-light CLI library; typer would add a layer of
type-hint magic over it for little gain here). Options are declared once and shared.
Heavy imports (SQLAlchemy, Alembic, boto3, DuckDB) happen inside the commands, so
``sparkify-dw --help`` starts fast.

Exit status, for every command:

====  =====================================================
0     done
1     a load, a check or a freshness test failed
2     usage or configuration (a bad flag, file, URL or schema)
130   interrupted (Ctrl-C); 143 terminated
====  =====================================================
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sparkify_dw import __version__

if TYPE_CHECKING:
    from sparkify_dw.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
F = TypeVar("F", bound=Callable[..., Any])


class Failed(click.ClickException):
    """A load or check that ran and failed: exit 1, one line."""

    exit_code = EXIT_FAILED

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class Usage(click.ClickException):
    """Configuration or schema trouble: exit 2, one line."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


# --- shared options --------------------------------------------------------------------------


def warehouse_options(f: F) -> F:
    """``--url`` and ``--config``: where the warehouse is (see the README's Configuration)."""
    f = click.option("--config", "config_file", metavar="FILE",
                     help="dwh.cfg to read (default: ./dwh.cfg if present).")(f)
    return click.option("--url", metavar="URL",
                        help="Database URL (default: the nearest ./sparkify.duckdb).")(f)


def wait_option(f: F) -> F:
    return click.option("--wait", type=click.FloatRange(min=0), default=600.0,
                        show_default=True, metavar="SECONDS",
                        help="How long to wait behind a running load.")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON for scripts instead of a table.")(f)


def _settings(ctx: click.Context, url: str | None, config_file: str | None, *,
              log_data: str | None = None, song_data: str | None = None,
              log_jsonpath: str | None = None, memory_limit: str | None = None) -> Settings:
    from sparkify_dw import cli
    from sparkify_dw.config import resolve

    settings = resolve(url=url, config=config_file, log_data=log_data, song_data=song_data,
                       log_jsonpath=log_jsonpath, memory_limit=memory_limit)
    cli.mask_logs(settings)
    ctx.meta["settings"] = settings
    return settings


def guarded(f: F) -> F:
    """Library errors as one line with the documented exit status; secrets masked."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # translated below, or re-raised
            code = _exit_code(exc)
            if code is None:
                raise
            from sparkify_dw import cli

            cli.report_error(exc, ctx.meta.get("settings"), sys.stderr,
                             verbose=ctx.find_root().params.get("verbose", False))
            ctx.exit(code)

    return run  # type: ignore[return-value]


def _exit_code(exc: Exception) -> int | None:
    import sqlalchemy as sa

    from sparkify_dw import backends, ledger, load, schema
    from sparkify_dw.config import ConfigError
    from sparkify_dw.sources import SourceError

    if isinstance(exc, (ConfigError, SourceError, schema.SchemaError, ledger.NoSuchLoad)):
        return EXIT_USAGE
    if isinstance(exc, (load.LoadError, backends.LockBusy, sa.exc.SQLAlchemyError, OSError)):
        return EXIT_FAILED
    if isinstance(exc, ValueError):
        return EXIT_USAGE
    return None


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table with a header on every column and thousands separators in numbers."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    console = Console()
    if not console.is_terminal:  # piped or captured: whole cells, never folded to 80 columns
        console = Console(width=10_000)
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# --- the group -------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sparkify-dw")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging; tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """Sparkify's data warehouse on DuckDB, PostgreSQL and Amazon Redshift."""
    if verbose and quiet:
        raise click.UsageError("-v and -q contradict each other: choose one")
    from sparkify_dw import cli

    cli.setup_logging(sys.stderr, verbose=verbose, quiet=quiet)


# --- schema ----------------------------------------------------------------------------------


def _migrate(ctx: click.Context, upgrading: bool, revision: str, sql: bool,
             url: str | None, config_file: str | None) -> None:
    """Alembic's own upgrade or downgrade, on the configured warehouse, speaking each step."""
    import logging

    from alembic import command

    from sparkify_dw import schema

    settings = _settings(ctx, url, config_file)
    if not ctx.find_root().params.get("quiet"):
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
        f = click.option("--sql", is_flag=True,
                         help="Print the DDL instead of running it (offline).")(f)
        return click.argument("revision", default=default)(f)
    return apply


@main.command()
@revision_options("head")
@warehouse_options
@click.pass_context
@guarded
def upgrade(ctx: click.Context, revision: str, sql: bool, url: str | None,
            config_file: str | None) -> None:
    """Create or upgrade the warehouse's schema (Alembic, from the installed package)."""
    _migrate(ctx, True, revision, sql, url, config_file)


@main.command()
@revision_options("base")
@warehouse_options
@click.pass_context
@guarded
def downgrade(ctx: click.Context, revision: str, sql: bool, url: str | None,
              config_file: str | None) -> None:
    """Downgrade the schema; to `base` drops every table (it names them first)."""
    _migrate(ctx, False, revision, sql, url, config_file)


@main.command()
@warehouse_options
@wait_option
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
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many loads, newest first.")
@warehouse_options
@wait_option
@json_option
@click.pass_context
@guarded
def history(ctx: click.Context, limit: int, url: str | None, config_file: str | None,
            wait: float, as_json: bool) -> None:
    """The load ledger: one row per load, newest first."""
    from sparkify_dw import backends, ledger, schema

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        schema.require_head(conn)
        rows = ledger.history(conn, limit)
    if as_json:
        _print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo("no loads yet")
    else:
        _print_table(["load", "started", "finished", "status", "backend", "steps", "read",
                      "staged", "rejected", "songplays", "sources / message"],
                     [(r.load_id, r.started_at, r.finished_at, r.status, r.backend, r.steps,
                       r.rows_read, r.rows_staged, r.rows_rejected, r.rows_inserted,
                       r.message or r.sources) for r in rows])


@main.command()
@click.argument("load_id", type=click.IntRange(min=1), required=False)
@warehouse_options
@wait_option
@json_option
@click.pass_context
@guarded
def errors(ctx: click.Context, load_id: int | None, url: str | None,
           config_file: str | None, wait: float, as_json: bool) -> None:
    """The records a load rejected (default: the latest load), in file order."""
    from sparkify_dw import backends, ledger, schema

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        schema.require_head(conn)
        load_id = load_id or ledger.latest_load_id(conn)
        rows = ledger.errors(conn, load_id)
    if as_json:
        _print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo(f"load #{load_id} rejected no records")
    else:
        _print_table(["table", "where", "reason", "text"],
                     [(r.table_name, f"{r.source}:{r.line_no}", r.reason, (r.raw_text or "")[:80])
                      for r in rows])


# --- checks and analytics --------------------------------------------------------------------


@main.command()
@warehouse_options
@wait_option
@json_option
@click.pass_context
@guarded
def check(ctx: click.Context, url: str | None, config_file: str | None, wait: float,
          as_json: bool) -> None:
    """Run the data-quality checks; exit 1 when one fails."""
    from sparkify_dw import backends, checks, schema

    settings = _settings(ctx, url, config_file)
    with backends.for_settings(settings).reading(wait) as conn:
        schema.require_head(conn)
        results = checks.run_checks(conn)
    failed = [r for r in results if not r.passed]
    if as_json:
        _print_json([{"check": r.name, "passed": r.passed, "offenders": r.count,
                      "samples": [list(s) for s in r.samples]} for r in results])
    else:
        _print_table(["result", "check", "offenders", "samples"],
                     [("PASS" if r.passed else "FAIL", r.name, r.count,
                       r.describe_samples() if r.samples else "") for r in results])
        click.echo(f"{len(failed)} of {len(results)} checks failed" if failed
                   else f"all {len(results)} checks passed")
    if failed:
        ctx.exit(EXIT_FAILED)


@main.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rows for the top-N questions.")
@click.option("--start", metavar="DATE", help="Only plays from this ISO date or time on.")
@click.option("--end", metavar="DATE", help="Only plays before this ISO date or time.")
@click.option("--verify", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Compare with a file of expected answers; exit 1 on a difference.")
@warehouse_options
@wait_option
@json_option
@click.pass_context
@guarded
def analytics(ctx: click.Context, limit: int, start: str | None, end: str | None,
              verify: str | None, url: str | None, config_file: str | None, wait: float,
              as_json: bool) -> None:
    """Answer the analytics team's questions."""
    from pathlib import Path

    from sparkify_dw import analytics as questions
    from sparkify_dw import backends

    settings = _settings(ctx, url, config_file)
    if verify:
        params, expected = questions.read_expected(Path(verify))
    else:
        params = questions.Params(limit, questions.parse_moment(start, "--start")
                                  if start else None,
                                  questions.parse_moment(end, "--end") if end else None)
    with backends.for_settings(settings).reading(wait) as conn:
        answers = questions.answer_all(conn, params)
    if verify:
        differences = questions.differences(expected, answers)
        for line in differences:
            click.echo(line)
        if differences:
            raise Failed(f"{len(differences)} difference(s) from {verify}")
        click.echo(f"all {len(answers)} answers match {verify}")
        return
    if as_json:
        _print_json({name: [dict(zip(a.columns, row, strict=True)) for row in a.rows]
                     for name, a in answers.items()})
        return
    for name, answer in answers.items():
        click.echo(f"\n{questions.QUESTIONS[name].title}")
        _print_table(answer.columns, answer.rows)


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
@click.option("--steps", default="stage,transform,check", show_default=True, callback=_steps,
              help="Comma-separated subset of stage,transform,check (run in that order).")
@click.option("--max-errors", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="N", help="Records that may be rejected while the rest loads.")
@click.option("--incremental", is_flag=True, help="Stage only log files no load has loaded.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only log files of this day or later.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only log files of this day or earlier.")
@wait_option
@click.option("--vacuum", is_flag=True, help="On Redshift, VACUUM the changed tables after.")
@click.option("--memory-limit", metavar="SIZE",
              help="DuckDB's memory limit, e.g. 512MB or 2GB (default 1GB; "
                   "$SPARKIFY_DW_MEMORY_LIMIT, dwh.cfg [DUCKDB] MEMORY_LIMIT).")
@click.option("--dry-run", is_flag=True,
              help="Print every statement as the driver would receive it; run nothing.")
@click.pass_context
@guarded
def load(ctx: click.Context, url: str | None, config_file: str | None, log_data: str | None,
         song_data: str | None, log_jsonpath: str | None, steps: list[str], max_errors: int,
         incremental: bool, since: dt.datetime | None, until: dt.datetime | None, wait: float,
         vacuum: bool, memory_limit: str | None, dry_run: bool) -> None:
    """Stage the raw JSON, build the star schema, check it: one transaction."""
    from sparkify_dw import load as loader

    if since and until and since > until:
        raise click.BadParameter(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}")
    settings = _settings(ctx, url, config_file, log_data=log_data, song_data=song_data,
                         log_jsonpath=log_jsonpath, memory_limit=memory_limit)
    selection = loader.Selection(incremental, since.date() if since else None,
                                 until.date() if until else None)
    quiet = ctx.find_root().params.get("quiet", False)
    if dry_run:
        loaded = None
        if incremental:  # the ledger is in the warehouse: read it
            from sparkify_dw import backends

            with backends.for_settings(settings).reading(wait) as conn:
                loaded = loader.loaded_files(conn)
        for statement in loader.dry_run(settings, steps, max_errors, selection, loaded,
                                        vacuum, wait):
            click.echo(statement + "\n")
        return
    import sqlalchemy as sa

    from sparkify_dw import backends

    backends.for_settings(settings).require_warehouse()
    if not quiet:
        click.echo(f"loading into {settings.display_url}")
    engine = settings.create_engine(poolclass=sa.pool.NullPool)
    try:
        result = loader.run(engine, settings, steps=steps, max_errors=max_errors, wait=wait,
                            selection=selection, vacuum=vacuum)
    except loader.Interrupted as exc:
        click.echo(f"interrupted: {exc}; the load was rolled back, nothing changed (the "
                   "ledger says so)", err=True)
        ctx.exit(exc.exit_code)
    finally:
        engine.dispose()  # nothing of the load stays open (a notebook may read next)
    if not quiet:
        click.echo(result.summary())
    if result.interrupted is not None:  # after the commit: the load stands
        click.echo(f"interrupted as load #{result.load_id} committed; the load succeeded",
                   err=True)
        ctx.exit(128 + result.interrupted)


# --- commands with their own options, run as they are ----------------------------------------


def _delegate(name: str, module: str, summary: str) -> None:
    @main.command(name, help=summary, add_help_option=False,
                  context_settings={"ignore_unknown_options": True,
                                    "allow_extra_args": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def delegated(ctx: click.Context, args: tuple[str, ...]) -> None:
        import importlib

        code = importlib.import_module(module).main(list(args))
        ctx.exit(code or 0)


_delegate("status", "sparkify_dw.status",
          "Is the warehouse fresh? Last load, newest event, rows, failed checks (--help).")
_delegate("docs", "sparkify_dw.docs", "Write the documentation site (--out DIR; --help).")
_delegate("cluster", "sparkify_dw.cluster",
          "Create, inspect or delete the Redshift cluster (create|status|delete; --help).")
_delegate("synth", "sparkify_dw.synth", "Generate synthetic data in the public layout (--help).")


def main_entry() -> None:
    """The ``sparkify-dw`` console script."""
    main(prog_name="sparkify-dw")
