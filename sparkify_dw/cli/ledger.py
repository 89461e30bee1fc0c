"""``sparkify-dw history`` and ``errors``: the load ledger, as tables or JSON (which
``load --history`` and ``load --errors`` print too)."""

from __future__ import annotations

import click

from sparkify_dw.cli.options import (
    command,
    limit_option,
    reader_options,
    settings_from,
)


@command()
@limit_option
@click.option(
    "--wide",
    is_flag=True,
    show_default=False,
    help="Every column: finished, backend, steps, staged, and each load's sources or message "
    "(the default fits 80 columns).",
)
@reader_options
@click.pass_context
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

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        rows = ledger.history(conn, limit)
    if as_json:
        output.print_json([dict(r._mapping) for r in rows])
    elif not rows:
        click.echo("no loads yet")
    elif wide:
        output.print_table(ledger.HISTORY_HEADERS, [ledger.history_row(r) for r in rows])
    else:
        narrow = [ledger.history_row_narrow(r) for r in rows]
        output.print_table(ledger.HISTORY_NARROW_HEADERS, narrow)


def load_id(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """A load id (a whole number from 1), or None for ``latest``."""
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


@command()
@click.argument("load_id", required=False, callback=load_id)
@reader_options
@click.pass_context
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

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        load_id = load_id or ledger.latest_load_id(conn)
        rows = [] if load_id is None else ledger.errors(conn, load_id)
    if as_json:  # an empty ledger is an answer, as `history` says: []
        output.print_json([dict(r._mapping) for r in rows])
    elif load_id is None:
        click.echo("no loads yet")
    elif not rows:
        click.echo(f"load #{load_id} rejected no records")
    else:
        click.echo(f"load #{load_id} rejected {output.cell(len(rows))} record(s)")
        output.print_table(ledger.ERRORS_HEADERS, [ledger.errors_row(r) for r in rows])
