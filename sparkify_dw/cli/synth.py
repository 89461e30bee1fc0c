"""``sparkify-dw synth``: write synthetic song_data and log_data trees in the public
layout (the generator is :mod:`sparkify_dw.synth`)."""

from __future__ import annotations

import datetime as dt

import click

from sparkify_dw.cli.options import Failed, command, verbosity_options

DEFAULT_START = "2018-11-01"  # sparkify_dw.synth.DEFAULT_START (a test pins them equal)


def _date(ctx: click.Context, param: click.Parameter, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a YYYY-MM-DD date: {value!r}") from None


@command()
@click.option("--events", type=int, required=True, help="Log events to write.")
@click.option("--songs", type=int, required=True, help="Song files to write.")
@click.option("--days", type=int, required=True, help="Days the events span.")
@click.option("--seed", type=int, required=True, help="Same seed, same bytes.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option(
    "--start-date", default=DEFAULT_START, callback=_date, metavar="DATE", help="First day."
)
@click.option(
    "--match-share",
    type=float,
    default=0.5,
    help="Share of NextSong plays that name a generated song exactly.",
)
@click.option("--users", type=int, show_default="from --events", help="Users.")
@click.option(
    "--blank-line-rate",
    type=float,
    default=1e-4,
    help="Chance of a blank line before a record; 0 for none.",
)
@click.option(
    "--force", is_flag=True, show_default=False, help="Replace data in a non-empty --out."
)
@verbosity_options
def synth(
    events: int,
    songs: int,
    days: int,
    seed: int,
    out: str,
    start_date: dt.date,
    match_share: float,
    users: int | None,
    blank_line_rate: float,
    force: bool,
) -> None:
    """Write synthetic Sparkify song_data and log_data trees."""
    import time
    from pathlib import Path

    from sparkify_dw.synth import generate

    started = time.perf_counter()
    try:
        summary = generate(
            Path(out), events, songs, days, seed,
            start_date=start_date, match_share=match_share, users=users,
            force=force, blank_line_rate=blank_line_rate,
        )  # fmt: skip
    except OSError as exc:
        raise Failed(f"writing {out} failed: {exc}") from None
    elapsed = time.perf_counter() - started
    rate = summary.events / elapsed if elapsed > 0 else 0.0
    click.echo(f"{summary.line()} to {out} in {elapsed:.1f}s ({rate:,.0f} events/s)")
