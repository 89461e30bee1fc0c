"""Answers to the analytics questions as plain data: printed as tables, written to and
compared with an expected-answers file, and the ``sparkify-dw analytics`` command.

The questions themselves are :mod:`sparkify_dw.analytics`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa

from sparkify_dw.analytics.questions import (
    DEFAULT_LIMIT,
    QUESTIONS,
    Params,
    format_share,
)
from sparkify_dw.config import Settings
from sparkify_dw.db import connection
from sparkify_dw.errors import ExpectedFileError as ExpectedFileError

# --- answers as plain data: printing, expected files, comparison -----------------------------


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO text, Decimals as numbers."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass(frozen=True)
class Answer:
    """A question's answer as plain data: column names and rows of JSON-ready values."""

    columns: list[str]
    rows: list[list[Any]]


def answer_all(bind: sa.Connection | sa.Engine, params: Params) -> dict[str, Answer]:
    """Every question answered with the same parameters, in declaration order."""
    out: dict[str, Answer] = {}
    with connection(bind) as conn:
        for name, question in QUESTIONS.items():
            result = conn.execute(
                question.query(limit=params.limit, start=params.start, end=params.end)
            )
            out[name] = Answer(
                list(result.keys()), [[plain(v) for v in row] for row in result.all()]
            )
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_share(value) if 0 <= value <= 1 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def format_table(answer: Answer) -> str:
    """An aligned text table; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in answer.rows]
    numeric = [
        all(isinstance(r[i], int | float) or r[i] is None for r in answer.rows)
        and bool(answer.rows)
        for i in range(len(answer.columns))
    ]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(answer.columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(answer.columns), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells] if cells else ["(no rows)"]
    return "\n".join(out)


def _params_json(params: Params) -> dict[str, Any]:
    return {"limit": params.limit, "start": plain(params.start), "end": plain(params.end)}


def _layout(value: Any, level: int = 0) -> str:
    """JSON text of ``value`` laid out so a diff of the file reads like the data.

    An object or array that holds another non-empty object or array gets one member
    per line (two more spaces each level); anything else is ``json.dumps`` on one line,
    so a row of an answer is one line.
    """
    nested = isinstance(value, dict | list) and any(
        isinstance(v, dict | list) and v
        for v in (value.values() if isinstance(value, dict) else value)
    )
    if not nested:
        return json.dumps(value, ensure_ascii=False)
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict):
        members = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_layout(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(members) + f"\n{pad}}}"
    return "[\n" + ",\n".join(f"{inner}{_layout(v, level + 1)}" for v in value) + f"\n{pad}]"


def expected_document(params: Params, answers: Mapping[str, Answer]) -> dict[str, Any]:
    """The answers as the plain data an expected-results file holds."""
    return {
        "parameters": _params_json(params),
        "questions": {
            name: {"title": QUESTIONS[name].title, "columns": ans.columns, "rows": ans.rows}
            for name, ans in answers.items()
        },
    }


def write_expected(path: Path, params: Params, answers: Mapping[str, Answer]) -> None:
    """The answers as JSON, one row per line so a diff of the file reads like the data."""
    path.write_text(_layout(expected_document(params, answers)) + "\n", encoding="utf-8")


def read_expected(path: Path) -> tuple[Params, dict[str, Answer]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        p = data["parameters"]
        params = Params(
            int(p["limit"]),
            dt.datetime.fromisoformat(p["start"]) if p.get("start") else None,
            dt.datetime.fromisoformat(p["end"]) if p.get("end") else None,
        )
        answers = {
            name: Answer(list(q["columns"]), [list(r) for r in q["rows"]])
            for name, q in data["questions"].items()
        }
    except FileNotFoundError:
        raise ExpectedFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ExpectedFileError(f"{path}: not an expected-results file ({exc})") from None
    return params, answers


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if not isinstance(expected, int | float) or not isinstance(actual, int | float):
            return False
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    return bool(expected == actual) and type(expected) is type(actual)


def differences(expected: Mapping[str, Answer], actual: Mapping[str, Answer]) -> list[str]:
    """Every difference, one line each: question, row, expected vs actual."""
    out = []
    for name in [*expected, *(n for n in actual if n not in expected)]:
        if name not in actual:
            out.append(f"{name}: expected in the file but not a known question")
            continue
        if name not in expected:
            out.append(f"{name}: missing from the expected file")
            continue
        exp, act = expected[name], actual[name]
        if exp.columns != act.columns:
            out.append(f"{name}: columns: expected {exp.columns} actual {act.columns}")
            continue
        for i in range(max(len(exp.rows), len(act.rows))):
            e = exp.rows[i] if i < len(exp.rows) else None
            a = act.rows[i] if i < len(act.rows) else None
            if (
                e is None
                or a is None
                or len(e) != len(a)
                or not all(_same(x, y) for x, y in zip(e, a, strict=True))
            ):
                out.append(
                    f"{name} row {i + 1}: expected {_row_text(exp.columns, e)} "
                    f"actual {_row_text(act.columns, a)}"
                )
    return out


def _row_text(columns: Sequence[str], row: Sequence[Any] | None) -> str:
    if row is None:
        return "(no row)"
    return "(" + ", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=False)) + ")"


# --- the command ---------------------------------------------------------------------------


def command(
    settings: Settings,
    out: TextIO,
    *,
    limit: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    verify: Path | None,
    write_to: Path | None,
    as_json: bool,
    wait: float,
) -> int:
    """``sparkify-dw analytics``: print, write (``--write-expected``) or verify the answers;
    the exit status (1: ``--verify`` found differences)."""
    from sparkify_dw import backends

    params = Params(DEFAULT_LIMIT if limit is None else limit, start, end)
    expected: dict[str, Answer] = {}
    if verify is not None:
        file_params, expected = read_expected(verify)
        given = {"limit": limit, "start": start, "end": end}
        asked = {k: v for k, v in _params_json(params).items() if given[k] is not None}
        clash = {k: v for k, v in asked.items() if _params_json(file_params)[k] != v}
        if clash:
            raise ValueError(
                f"{verify} was written with {_params_json(file_params)}; "
                f"drop {', '.join('--' + k for k in clash)}"
            )
        params = file_params
    with backends.for_settings(settings, wait=wait).reading() as conn:
        answers = answer_all(conn, params)
    if write_to is not None:
        write_expected(write_to, params, answers)
        print(f"wrote {len(answers)} answers to {write_to}", file=out)
        return 0
    if verify is not None:
        found = differences(expected, answers)
        for line in found:
            print(f"DIFF {line}", file=out)
        if found:
            print(f"{len(found)} differences from {verify}", file=out)
            return 1
        print(f"all {len(answers)} answers match {verify}", file=out)
        return 0
    if as_json:
        print(
            json.dumps(
                {
                    name: [dict(zip(a.columns, row, strict=True)) for row in a.rows]
                    for name, a in answers.items()
                },
                indent=2,
            ),
            file=out,
        )
        return 0
    windowed = params.start is not None or params.end is not None
    span = "".join(
        [
            ", plays" if windowed else "",
            f" from {params.start}" if params.start is not None else "",
            f" before {params.end}" if params.end is not None else "",
        ]
    )
    print(f"answers from {settings.display_url}{span}", file=out)
    for name, answer in answers.items():
        question = QUESTIONS[name]
        title = question.title
        if question.uses_limit:
            title += f" (top {params.limit})"
        if windowed and not question.uses_window:
            title += " (all time: not limited to the window)"
        print(f"\n{title}\n{'=' * len(title)}\n{format_table(answer)}", file=out)
    return 0
