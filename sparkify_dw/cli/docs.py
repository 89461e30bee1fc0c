"""``sparkify-dw docs``: write the warehouse's documentation as a static site."""

from __future__ import annotations

import click

from sparkify_dw.cli.options import (
    command,
    settings_from,
    verbosity_options,
    wait_option,
    warehouse_options,
)

DEFAULT_OUT = "site"  # sparkify_dw.docs.DEFAULT_OUT (not imported: --help stays fast)


@command(
    epilog="Settings come from flags, then SPARKIFY_DW_* environment variables, then "
    "dwh.cfg, then the embedded default (./sparkify.duckdb)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=DEFAULT_OUT,
    metavar="DIR",
    help="Directory to write the site to.",
)
@click.option(
    "--no-warehouse",
    is_flag=True,
    show_default=False,
    help="Don't connect: no row counts, loads or check results.",
)
@click.option("--no-checks", is_flag=True, show_default=False, help="Don't run the checks.")
@warehouse_options
@wait_option
@verbosity_options
@click.pass_context
def docs(
    ctx: click.Context,
    out: str,
    no_warehouse: bool,
    no_checks: bool,
    url: str | None,
    config_file: str | None,
    wait: float,
) -> None:
    """Write the warehouse's documentation as a static site (open DIR/index.html from
    disk). An unreachable warehouse is a note on its pages, not an error."""
    from pathlib import Path

    from sparkify_dw import extras

    extras.require("docs", "sparkify-dw docs")
    from sparkify_dw.docs import site

    settings = settings_from(ctx, url, config_file)
    live = (
        site.Live(False, "not asked (--no-warehouse)")
        if no_warehouse
        else site.read_live(settings, run_checks=not no_checks, wait=wait)
    )
    where = Path(out)
    written = site.write_site(where, settings, live)
    click.echo(
        f"wrote {len(written)} files to {where} (open {where / 'index.html'}); "
        f"warehouse: {live.note}"
    )
