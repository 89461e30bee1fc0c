"""Answers to the analytics questions as plain data: written to and compared with an
expected-answers file, and handed to the renderer (:mod:`sparkify_dw.output`) by the
``sparkify-dw analytics`` command.

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
from typing import Any

import sqlalchemy as sa

from sparkify_dw.analytics.questions import (
    DEFAULT_LIMIT,
    QUESTIONS,
    Params,
)
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


# --- the command's parameters ------------------------------------------------------------


def parameters(
    limit: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    verify: Path | None,
) -> tuple[Params, dict[str, Answer]]:
    """The parameters ``sparkify-dw analytics`` answers with, and the answers it expects
    (none without ``verify``): a file of expected answers brings its own limit and window,
    and a flag that contradicts them is a usage error naming it."""
    params = Params(DEFAULT_LIMIT if limit is None else limit, start, end)
    if verify is None:
        return params, {}
    file_params, expected = read_expected(verify)
    given = {"limit": limit, "start": start, "end": end}
    asked = {k: v for k, v in _params_json(params).items() if given[k] is not None}
    clash = {k: v for k, v in asked.items() if _params_json(file_params)[k] != v}
    if clash:
        raise ExpectedFileError(
            f"{verify} was written with {_params_json(file_params)}; "
            f"drop {', '.join('--' + k for k in clash)}"
        )
    return file_params, expected


def as_json(answers: Mapping[str, Answer]) -> dict[str, list[dict[str, Any]]]:
    """The answers as ``--json`` prints them: per question, one object per row."""
    return {
        name: [dict(zip(a.columns, row, strict=True)) for row in a.rows]
        for name, a in answers.items()
    }
