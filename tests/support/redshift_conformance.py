"""Checks on every statement the Redshift path sends, as redshift_connector receives it.

A statement is the SQL text handed to the driver's ``cursor.execute`` and its parameters.
Three checks, each of which a statement that would fail on a cluster trips:

1. It parses under sqlfluff's ``redshift`` dialect, in the form the server receives:
   redshift_connector's own ``convert_paramstyle`` turns ``%s`` into ``$1``, ``$2``, ….
2. A statement Redshift can't parameterize (COPY, UNLOAD, LOCK, SET, ANALYZE, VACUUM, DDL)
   carries no parameters.
3. It uses nothing on AWS's lists of unsupported PostgreSQL features, types and functions
   (:mod:`tests.redshift_unsupported`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlfluff
from redshift_connector.core import convert_paramstyle

from tests.support.redshift_unsupported import UNSUPPORTED

UNPARAMETERIZABLE = re.compile(
    r"^\s*(COPY|UNLOAD|LOCK|SET|RESET|ANALYZE|VACUUM|CREATE|ALTER|DROP|COMMENT|TRUNCATE|"
    r"GRANT|REVOKE)\b",
    re.IGNORECASE,
)
_STRING = re.compile(r"'(?:[^']|'')*'")
_COMPILED = [(re.compile(p, re.IGNORECASE), what, page) for p, what, page in UNSUPPORTED]


@dataclass(frozen=True)
class Statement:
    """One ``cursor.execute(text, parameters)`` call."""

    text: str
    parameters: Sequence[Any] | dict[str, Any] | None = None

    @property
    def has_parameters(self) -> bool:
        return bool(self.parameters)


def server_text(statement: Statement, paramstyle: str = "format") -> str:
    """The SQL the server receives: placeholders as ``$n``, ``%%`` as ``%`` (only when
    the driver was given parameters, as redshift_connector does)."""
    if statement.parameters is None:
        return statement.text
    text, _ = convert_paramstyle(paramstyle, statement.text)
    return str(text)


@functools.lru_cache(maxsize=4096)
def grammar_errors(sql: str) -> str | None:
    """sqlfluff's complaint about ``sql`` under the Redshift grammar, or None."""
    try:
        sqlfluff.parse(sql, dialect="redshift")
    except Exception as exc:  # sqlfluff's APIParsingError and its lexing errors
        return " ".join(str(exc).split())[:300]
    return None


def unsupported(sql: str) -> list[str]:
    """What ``sql`` uses that Redshift doesn't support, each with its AWS page."""
    bare = _STRING.sub("''", sql)
    return [f"{what} ({page})" for pattern, what, page in _COMPILED if pattern.search(bare)]


def problems(statement: Statement) -> list[str]:
    """Everything wrong with one statement for Redshift; empty when it conforms."""
    found: list[str] = []
    sql = server_text(statement)
    if UNPARAMETERIZABLE.match(sql) and statement.has_parameters:
        found.append(
            f"sent with bind parameters {statement.parameters!r}, which Redshift "
            "can't take in this statement"
        )
    error = grammar_errors(sql.strip().rstrip(";"))
    if error:
        found.append(f"not Redshift SQL (sqlfluff): {error}")
    found += [f"unsupported on Redshift: {u}" for u in unsupported(sql)]
    return found


def assert_conforms(statements: Iterable[Statement]) -> int:
    """Fail with every offending statement and its problems; return how many were checked."""
    report: list[str] = []
    count = 0
    for statement in statements:
        count += 1
        for problem in problems(statement):
            report.append(f"{problem}\n    {statement.text[:400]}")
    assert not report, "statements Redshift would refuse:\n" + "\n".join(report)
    return count


def from_dry_run(blocks: Iterable[str]) -> list[Statement]:
    """``--dry-run`` output back into statements: each block's SQL, and its parameters from
    the ``-- parameters:`` line (our own ``repr`` of them); notes are left out."""
    out = []
    for block in blocks:
        if block.lstrip().startswith("--"):
            continue
        body, _, params = block.partition("-- parameters: ")
        values = eval(params, {"datetime": dt}) if params else ()  # our own repr() of values
        out.append(Statement(body.strip().rstrip(";"), values))
    return out
