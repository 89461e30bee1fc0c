"""``sparkify-dw analytics``: answer the analytics team's questions, as tables or JSON;
write them as a file of expected answers, or verify them against one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sparkify_dw.cli.options import (
    MAX_LIMIT,
    command,
    reader_options,
    settings_from,
    whole_number,
)

if TYPE_CHECKING:
    from sparkify_dw.analytics.questions import Params
    from sparkify_dw.answers import Answer


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


@command()
@click.option(
    "--limit",
    type=click.STRING,
    callback=whole_number(1, MAX_LIMIT),
    metavar="N",
    show_default="10",
    help="Rows for the top-N questions.",
)
@click.option(
    "--start",
    metavar="DATE",
    callback=_moment,
    show_default="the first play",
    help="Only plays at or after this ISO date or time (UTC).",
)
@click.option(
    "--end",
    metavar="DATE",
    callback=_moment,
    show_default="after the last play",
    help="Only plays before this ISO date or time (UTC).",
)
@click.option(
    "--verify",
    callback=_expected_file,
    metavar="FILE|sample",
    show_default="print the answers",
    help="Compare with a file of expected answers (its limit and window; `sample`: the "
    "bundled sample's, inside the package); exit 1 on a difference.",
)
@click.option(
    "--write-expected",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    show_default="print the answers",
    help="Write the answers as a file of expected answers.",
)
@reader_options
@click.pass_context
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
    from sparkify_dw import answers, backends, output

    if verify and write_expected:
        raise click.UsageError("--verify and --write-expected exclude each other")
    if start is not None and end is not None and _naive_utc(start) >= _naive_utc(end):
        # An empty window would answer "(no rows)" to every question: a typo, said once.
        raise click.UsageError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    settings = settings_from(ctx, url, config_file)
    expected_path = Path(verify) if verify else None
    params, expected = answers.parameters(limit, start, end, expected_path)
    with backends.for_settings(settings, wait=wait).reading() as conn:
        found = answers.answer_all(conn, params)
    if write_expected:
        answers.write_expected(Path(write_expected), params, found)
        click.echo(f"wrote {len(found)} answers to {write_expected}")
    elif expected_path is not None:
        ctx.exit(_verify(expected, found, expected_path))
    elif as_json:
        output.print_json(answers.as_json(found))
    else:
        _print(settings.display_url, params, found)


def _verify(expected: dict[str, Answer], found: dict[str, Answer], path: Path) -> int:
    """Each difference on a line; 1 when there is one."""
    from sparkify_dw import answers

    differences = answers.differences(expected, found)
    for line in differences:
        click.echo(f"DIFF {line}")
    if differences:
        click.echo(f"{len(differences)} differences from {path}")
        return 1
    click.echo(f"all {len(found)} answers match {path}")
    return 0


def _print(warehouse: str, params: Params, found: dict[str, Answer]) -> None:
    """Each question's title, then its answer as a table."""
    from sparkify_dw import output
    from sparkify_dw.analytics.questions import QUESTIONS

    windowed = params.start is not None or params.end is not None
    span = "".join(
        [
            ", plays" if windowed else "",
            f" from {params.start}" if params.start is not None else "",
            f" before {params.end}" if params.end is not None else "",
        ]
    )
    click.echo(f"answers from {warehouse}{span}")
    for name, answer in found.items():
        question = QUESTIONS[name]
        title = question.title
        if question.uses_limit:
            title += f" (top {params.limit})"
        if windowed and not question.uses_window:
            title += " (all time: not limited to the window)"
        click.echo(f"\n{title}\n{'=' * len(title)}")
        output.print_table(answer.columns, answer.rows)
