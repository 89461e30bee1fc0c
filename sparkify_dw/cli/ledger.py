"""``sparkify-dw history`` and ``errors``: the load ledger, as tables or JSON (which
``load --history`` and ``load --errors`` print too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from sparkify_dw.cli.options import (
    command,
    limit_option,
    reader_options,
    settings_from,
)

Read = Callable[[Any], tuple[int | None, list[Any]]]


def _read(
    ctx: click.Context, url: str | None, config_file: str | None, wait: float, read: Read
) -> tuple[int | None, list[Any]]:
    """What ``read`` finds in the ledger, as every reader reads: waiting at most ``wait``
    seconds behind a load, on a warehouse at the head revision."""
    from sparkify_dw import backends, schema

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        schema.require_head(conn)
        return read(conn)


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
    from sparkify_dw import ledger, output

    rows = _read(ctx, url, config_file, wait, lambda conn: (None, ledger.history(conn, limit)))[1]
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
    from sparkify_dw import ledger, output

    def read(conn: Any) -> tuple[int | None, list[Any]]:
        found = load_id or ledger.latest_load_id(conn)
        return found, [] if found is None else ledger.errors(conn, found)

    load_id, rows = _read(ctx, url, config_file, wait, read)
    if as_json:  # an empty ledger is an answer, as `history` says: []
        output.print_json([dict(r._mapping) for r in rows])
    elif load_id is None:
        click.echo("no loads yet")
    elif not rows:
        click.echo(f"load #{load_id} rejected no records")
    else:
        click.echo(f"load #{load_id} rejected {output.cell(len(rows))} record(s)")
        output.print_table(ledger.ERRORS_HEADERS, [ledger.errors_row(r) for r in rows])
