"""``sparkify-dw load``: stage the raw JSON, build the star schema, check it, in one
transaction; drawn as it runs on a terminal, then its summary."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from sparkify_dw.cli.ledger import errors, history, load_id
from sparkify_dw.cli.options import (
    DEFAULT_MEMORY_LIMIT,
    ENV_LOG_DATA,
    ENV_LOG_JSONPATH,
    ENV_MEMORY_LIMIT,
    ENV_SONG_DATA,
    command,
    env_option,
    flag,
    limit_option,
    settings_from,
    verbosity_options,
    wait_option,
    warehouse_options,
    whole_number,
)

if TYPE_CHECKING:
    from sparkify_dw.backends.requests import Selection
    from sparkify_dw.config import Settings


def _steps(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from sparkify_dw.errors import LoadError
    from sparkify_dw.load.steps import check_steps

    steps = [s.strip() for s in value.split(",") if s.strip()]
    try:
        check_steps(steps)
    except LoadError as exc:
        raise click.BadParameter(str(exc)) from None
    return steps


@command()
@warehouse_options
@env_option(
    "--log-data",
    envvar=ENV_LOG_DATA,
    metavar="SRC",
    show_default="dwh.cfg's [S3] LOG_DATA, else the bundled sample",
    help="Event logs: file, directory, glob or s3:// URI.",
)
@env_option(
    "--song-data",
    envvar=ENV_SONG_DATA,
    metavar="SRC",
    show_default="dwh.cfg's [S3] SONG_DATA, else the bundled sample",
    help="Song files: file, directory, glob or s3:// URI.",
)
@env_option(
    "--log-jsonpath",
    envvar=ENV_LOG_JSONPATH,
    metavar="FILE",
    show_default="dwh.cfg's [S3] LOG_JSONPATH, else the bundled one",
    help="JSONPaths file mapping event fields.",
)
@click.option(
    "--steps",
    default="stage,transform,check",
    show_default=True,
    callback=_steps,
    help="Comma-separated subset of stage,transform,check (run in that order).",
)
@click.option(
    "--max-errors",
    type=click.STRING,
    callback=whole_number(0),
    default=0,
    show_default=True,
    metavar="N",
    help="Records that may be rejected while the rest loads.",
)
@click.option(
    "--incremental",
    is_flag=True,
    show_default=False,
    help="Stage only log files no load has loaded.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    show_default="the first day",
    help="Only log files of this day or later.",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    show_default="the last day",
    help="Only log files of this day or earlier.",
)
@wait_option
@click.option(
    "--vacuum",
    is_flag=True,
    show_default=False,
    help="On Redshift, VACUUM the changed tables after.",
)
@env_option(
    "--memory-limit",
    envvar=ENV_MEMORY_LIMIT,
    metavar="SIZE",
    show_default=f"dwh.cfg's, else {DEFAULT_MEMORY_LIMIT}",
    help="The embedded engine's memory limit, e.g. 512MB or 2GB (DuckDB only).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    show_default=False,
    help="Print every statement as the driver would receive it; run nothing.",
)
@click.option(
    "--history",
    "show_history",
    is_flag=True,
    show_default=False,
    help="Print the load ledger instead of loading (as `sparkify-dw history`).",
)
@limit_option
@click.option(
    "--errors",
    "errors_of",
    is_flag=False,
    flag_value="latest",
    callback=load_id,
    metavar="[LOAD_ID]",
    show_default="the latest load",
    help="Print the records a load rejected (default: the "
    "latest) instead of loading (as `sparkify-dw errors`).",
)
@verbosity_options
@click.pass_context
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
    settings = settings_from(
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

            with backends.for_settings(settings, wait=wait).reading() as conn:
                loaded = ledger.loaded_files(conn)
        for statement in loader.dry_run(
            settings, steps, max_errors, selection, loaded, vacuum, wait
        ):
            click.echo(statement + "\n")
        return
    ctx.exit(
        run_load(
            settings,
            steps=steps,
            max_errors=max_errors,
            selection=selection,
            wait=wait,
            vacuum=vacuum,
            quiet=flag(ctx, "quiet"),
        )
    )


def run_load(
    settings: Settings,
    *,
    steps: Sequence[str],
    max_errors: int,
    selection: Selection,
    wait: float,
    vacuum: bool,
    quiet: bool,
) -> int:
    """``sparkify-dw load``: the load, drawn as it runs on a terminal, then its summary;
    the exit status (128 + the signal when interrupted)."""
    import signal

    import sqlalchemy as sa

    from sparkify_dw import output
    from sparkify_dw.interrupts import as_interrupted, deferred, interrupts
    from sparkify_dw.load import run

    # One block for the load and its report: a signal after the commit waits for the
    # summary, so what committed is always said before the command ends.
    with interrupts() as pending:
        engine: sa.Engine | None = None
        try:
            if not quiet:
                print(f"loading into {settings.display_url}", flush=True)
            engine = settings.create_engine(poolclass=sa.pool.NullPool)
            with output.LoadProgress(sys.stderr, quiet=quiet) as display:
                result = run(
                    engine,
                    settings,
                    steps=steps,
                    max_errors=max_errors,
                    wait=wait,
                    selection=selection,
                    vacuum=vacuum,
                    progress=display,
                    on_step=display.on_step,
                )
        except BaseException as caught:
            stop = as_interrupted(caught, pending)  # DuckDB's "Query interrupted" too
            if stop is None:
                raise
            print(f"interrupted: {stop}; {stop.outcome}", file=sys.stderr)
            return stop.exit_code
        finally:
            with deferred():
                if engine is not None:  # nothing of the load stays open (a notebook may read)
                    engine.dispose()
        with deferred():
            if not quiet:
                print(result.summary(), flush=True)
            skipped = result.interrupted is not None
            # pending: kept after the commit; raised: raised but swallowed by Python (in a
            # weakref callback, say) while the maintenance ran on.
            late = [*pending, *pending.raised]
            signum = result.interrupted if skipped else next(iter(late), None)
            if signum is None:
                return 0
            # After the commit: not a failure, the load stands.
            name = signal.Signals(signum).name
            print(
                f"interrupted: {name} arrived as load #{result.load_id} committed; the load "
                "succeeded" + ("; maintenance after it skipped" if skipped else ""),
                file=sys.stderr,
            )
            return 128 + signum
