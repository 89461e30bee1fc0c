"""``sparkify-dw check``: run the data-quality checks; exit 1 when one fails."""

from __future__ import annotations

import click

from sparkify_dw.cli.options import command, flag, reader_options, settings_from
from sparkify_dw.cli.report import EXIT_FAILED


@command()
@reader_options
@click.pass_context
def check(
    ctx: click.Context, url: str | None, config_file: str | None, wait: float, as_json: bool
) -> None:
    """Run the data-quality checks; exit 1 when one fails (-v: why each matters; -q: the
    failed ones only, and the summary)."""
    from sparkify_dw import backends, checks, output, schema
    from sparkify_dw.check import report, summary

    settings = settings_from(ctx, url, config_file)
    with backends.for_settings(settings, wait=wait).reading() as conn:
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
        headers, rows = report(results, verbose=flag(ctx, "verbose"), quiet=flag(ctx, "quiet"))
        if rows:
            output.print_table(headers, rows)
        click.echo(summary(results))
    if not all(r.passed for r in results):
        ctx.exit(EXIT_FAILED)
