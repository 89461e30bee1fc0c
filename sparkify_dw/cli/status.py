"""``sparkify-dw status``: is the warehouse fresh, and did the last load pass?

Exit status 1 when the newest event is older than ``--max-age`` (or there is none), so
cron or an orchestrator can alert, and 1 too when the database fails (unreachable, or busy
beyond ``--wait``) as with every command; 2 is a usage or configuration error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click

from sparkify_dw.cli.options import command, flag, reader_options, settings_from


def _parsed(parse: str) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    """A callback that parses with ``sparkify_dw.status.<parse>``: its ValueError is the
    flag's usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        from sparkify_dw import status

        try:
            return getattr(status, parse)(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@command()
@click.option(
    "--max-age",
    metavar="AGE",
    callback=_parsed("parse_age"),
    show_default="none: any age passes",
    help="Exit 1 when the newest event is older, e.g. 26h (units s, m, h, d).",
)
@click.option(
    "--now",
    metavar="TIME",
    callback=_parsed("parse_now"),
    show_default="now, UTC",
    help="Measure ages from this ISO 8601 time.",
)
@click.option("--no-checks", is_flag=True, show_default=False, help="Skip the data-quality checks.")
@reader_options
@click.pass_context
def status(
    ctx: click.Context,
    max_age: dt.timedelta | None,
    now: dt.datetime | None,
    no_checks: bool,
    url: str | None,
    config_file: str | None,
    wait: float,
    as_json: bool,
) -> None:
    """Is the warehouse fresh, and did the last load pass? The last load, the newest event
    and its age, rows per table, failed checks. Exit 1 when older than --max-age."""
    from sparkify_dw import backends, output
    from sparkify_dw.status import freshness

    settings = settings_from(ctx, url, config_file)
    backend = backends.for_settings(settings, wait=wait)
    # As `check` and `history` read (Backend.reading): waits behind a running load for up
    # to --wait seconds, instead of failing with the driver's lock error.
    engine = freshness.readonly_engine(settings)
    try:
        with backend.reading(engine) as conn:
            found = freshness.gather(
                conn, settings, now or freshness.utcnow(), max_age, run_checks=not no_checks
            )
    finally:
        engine.dispose()
    if flag(ctx, "quiet"):  # the exit status says it (cron: `status -q --max-age 26h`)
        pass
    elif as_json:
        output.print_json(found.as_json())
    else:
        output.print_fields(found.fields())
    if found.stale:
        ctx.exit(freshness.EXIT_STALE)
