"""The data quality checks' report, for ``sparkify-dw check`` and ``python -m
sparkify_dw.check`` (:mod:`.__main__`).

One line per check (PASS/FAIL, offending count, sample keys; why it matters with
``-v``; with ``-q`` the failed ones only). Exit status 0 when every check passes, 1 when
one fails, 2 on a usage or configuration error, printed as one line with any password masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when the checks run: ``--help`` stays fast
    from sparkify_dw.checks import CheckResult


def format_result(result: CheckResult, width: int) -> str:
    from sparkify_dw.output import cell

    status = "PASS" if result.passed else "FAIL"
    line = f"{status}  {result.name:<{width}} {cell(result.count):>8}"
    return f"{line}  {result.describe_samples()}" if result.samples else line


def report(
    results: Sequence[CheckResult], *, verbose: bool = False, quiet: bool = False
) -> list[str]:
    """The checks as lines under a header, then how many failed. ``quiet`` (``-q``): the
    failed checks only, then the summary, so a passing run is one line in a cron mail."""
    from sparkify_dw import checks

    failed = [r for r in results if not r.passed]
    shown = failed if quiet else list(results)
    width = max(len(r.name) for r in results)
    why = {c.name: c.why for c in checks.CHECKS}
    header = f"{'ok':<4}  {'check':<{width}} {'found':>8}  samples"
    lines = [f"{header}  -- why" if verbose else header] if shown else []
    for result in shown:
        line = format_result(result, width)
        lines.append(f"{line}  -- {why[result.name]}" if verbose else line)
    lines.append(
        f"{len(failed)} of {len(results)} checks failed"
        if failed
        else f"all {len(results)} checks passed"
    )
    return lines
