"""The data quality checks' report, for ``sparkify-dw check`` and ``python -m
sparkify_dw.check`` (:mod:`.__main__`).

One row per check (PASS/FAIL, offending count, sample keys; why it matters with
``-v``; with ``-q`` the failed ones only), printed by the one renderer, then a summary.
Exit status 0 when every check passes, 1 when one fails, 2 on a usage or configuration
error, printed as one line with any password masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the checks run: ``--help`` stays fast
    from sparkify_dw.checks import CheckResult

HEADERS = ("ok", "check", "found", "samples")


def result_row(result: CheckResult) -> tuple[Any, ...]:
    """One check as the report's table shows it: PASS/FAIL, name, offenders, samples."""
    status = "PASS" if result.passed else "FAIL"
    return (status, result.name, result.count, result.describe_samples() or None)


def report(
    results: Sequence[CheckResult], *, verbose: bool = False, quiet: bool = False
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The checks as a table for the renderer (:func:`sparkify_dw.output.print_table`):
    headers and rows, with why each matters when ``verbose`` (``-v``). ``quiet`` (``-q``):
    the failed checks only, so a passing run is its summary alone in a cron mail."""
    from sparkify_dw import checks

    shown = [r for r in results if not r.passed] if quiet else list(results)
    if not verbose:
        return HEADERS, [result_row(r) for r in shown]
    why = {c.name: c.why for c in checks.CHECKS}
    return (*HEADERS, "why"), [(*result_row(r), why[r.name]) for r in shown]


def summary(results: Sequence[CheckResult]) -> str:
    """How many checks failed, in one line."""
    failed = sum(not r.passed for r in results)
    return (
        f"{failed} of {len(results)} checks failed"
        if failed
        else f"all {len(results)} checks passed"
    )
