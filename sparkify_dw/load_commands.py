"""``sparkify-dw load``, and the ledger's ``history`` and ``errors`` (which ``load
--history`` and ``load --errors`` run too)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from sparkify_dw.command_options import (
    Usage,
    flag,
    guarded,
    json_option,
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

# --- the ledger ------------------------------------------------------------------------------


@click.command()
@limit_option
@click.option(
    "--wide",
    is_flag=True,
    help="Every column: finished, backend, steps, staged, and each load's sources or message "
    "(the default fits 80 columns).",
)
@warehouse_options
@wait_option
@json_option
@verbosity_options
@click.pass_context
@guarded
def history(
    ctx: click.Context,
    limit: int,
    wide: bool,
    url: str | None,
    config_file: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """The load ledger: one row per load, newest first."""
    from sparkify_dw import backends, ledger, output, schema
    from sparkify_dw.ledger import (
        HISTORY_HEADERS,
        HISTORY_NARROW_HEADERS,
        history_row,
        history_row_narrow,
    )

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        rows = ledger.history(conn, limit)
    if as_json:
        output.print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo("no loads yet")
    elif wide:
        output.print_table(HISTORY_HEADERS, [history_row(r) for r in rows])
    else:
        output.print_table(HISTORY_NARROW_HEADERS, [history_row_narrow(r) for r in rows])


def _load_id(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None or value == "latest":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a load id") from None
    if number < 1:
        raise click.BadParameter(f"{number} is not a load id (they start at 1)")
    if number > 2**31 - 1:  # the ledger's INTEGER: no such load, on every engine
        raise click.BadParameter(f"load #{number} does not exist")
    return number


@click.command()
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

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        load_id = load_id or ledger.latest_load_id(conn)
        rows = [] if load_id is None else ledger.errors(conn, load_id)
    if load_id is None:  # an empty ledger is an answer, as `history` says
        if as_json:
            output.print_json([])
        else:
            click.echo("no loads yet")
        return
    if as_json:
        output.print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo(f"load #{load_id} rejected no records")
    else:
        click.echo(f"load #{load_id} rejected {len(rows):,} record(s)")
        output.print_table(ERRORS_HEADERS, [errors_row(r) for r in rows])


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


@click.command()
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
    type=click.STRING,
    callback=whole_number(0),
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
