"""Checks on every statement the Redshift path sends, as redshift_connector receives it.

A statement is the SQL text handed to the driver's ``cursor.execute`` and its parameters.
Each of these checks is tripped by a statement that would fail, or do harm, on a cluster:

1. It parses under sqlfluff's ``redshift`` dialect, in the form the server receives:
   redshift_connector's own ``convert_paramstyle`` turns ``%s`` into ``$1``, ``$2``, ….
2. A statement Redshift can't parameterize (COPY, UNLOAD, LOCK, SET, ANALYZE, VACUUM, DDL)
   carries no parameters.
3. Everything it uses is on the allow-list taken from the Redshift SQL reference
   (:mod:`tests.support.redshift_allowlist`, data in ``redshift_allowed.toml``): statement
   kinds, clauses, keywords, functions, operators, settings, and COPY's options valid with
   FORMAT JSON; plus the rules on correlated subqueries and IDENTITY columns.
4. Nothing that commits or is refused inside a transaction (TRUNCATE, ALTER COLUMN … TYPE)
   runs inside one. The driver opens a transaction before any statement it isn't told to
   autocommit, so a recorded statement is inside one unless marked ``autocommit``; in a
   script, BEGIN … COMMIT (or END, ROLLBACK) bound it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redshift_connector.core import convert_paramstyle

from sparkify_dw import models
from tests.support import redshift_allowlist as allow

UNPARAMETERIZABLE = re.compile(
    r"^\s*(COPY|UNLOAD|LOCK|SET|RESET|ANALYZE|VACUUM|CREATE|ALTER|DROP|COMMENT|TRUNCATE|"
    r"GRANT|REVOKE)\b",
    re.IGNORECASE,
)
_BEGIN = re.compile(r"^\s*(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_END = re.compile(r"^\s*(COMMIT|END|ROLLBACK|ABORT)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One ``cursor.execute(text, parameters)`` call; ``autocommit`` when the connection
    ran it outside a transaction (isolation level AUTOCOMMIT)."""

    text: str
    parameters: Sequence[Any] | dict[str, Any] | None = None
    autocommit: bool = False

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


def grammar_errors(sql: str) -> str | None:
    """sqlfluff's complaint about ``sql`` under the Redshift grammar, or None."""
    return allow.parse_with_errors(sql)[1]


@functools.cache
def model_identity_columns() -> dict[str, set[str]]:
    """The warehouse's IDENTITY columns (``redshift_identity`` in the models)."""
    out: dict[str, set[str]] = {}
    for table in models.metadata.tables.values():
        for column in table.columns:
            if column.dialect_options["redshift"].get("identity"):
                out.setdefault(table.name, set()).add(column.name)
    return out


@functools.lru_cache(maxsize=4096)
def _tree_problems(sql: str) -> tuple[tuple[str, ...], str | None, tuple[tuple[str, str], ...]]:
    """Allow-list and subquery problems of ``sql``, why it can't run in a transaction, and
    the IDENTITY columns it creates (cached: the same statements recur across a session)."""
    found = allow.copy_problems(sql)
    tree = allow.parse(sql)
    if tree is None:
        return tuple(found), None, ()
    found += allow.list_problems(tree) + allow.subquery_problems(tree)
    created = allow.identity_columns_created(tree)
    return (
        tuple(found),
        allow.commits_or_refuses_in_transaction(tree),
        tuple((t, c) for t, cs in created.items() for c in sorted(cs)),
    )


def problems(
    statement: Statement,
    in_transaction: bool | None = None,
    identity: dict[str, set[str]] | None = None,
) -> list[str]:
    """Everything wrong with one statement for Redshift; empty when it conforms.

    ``in_transaction`` defaults to the driver's view (inside one unless autocommit);
    ``identity`` to the models' IDENTITY columns.
    """
    found: list[str] = []
    sql = server_text(statement).strip().rstrip(";")
    if UNPARAMETERIZABLE.match(sql) and statement.has_parameters:
        found.append(
            f"sent with bind parameters {statement.parameters!r}, which Redshift "
            "can't take in this statement"
        )
    error = grammar_errors(sql)
    if error:
        found.append(f"not Redshift SQL (sqlfluff): {error}")
    listed, outside_only, _ = _tree_problems(sql)
    found += [f"not allowed on Redshift: {p}" for p in listed]
    if outside_only and (not statement.autocommit if in_transaction is None else in_transaction):
        found.append(outside_only)
    tree = allow.parse(sql)
    if tree is not None:
        columns = model_identity_columns() if identity is None else identity
        found += allow.identity_problems(tree, columns)
    return found


def sequence_problems(statements: Iterable[Statement]) -> list[tuple[Statement, list[str]]]:
    """Each statement's problems, knowing the transactions and tables of those before it."""
    identity = {table: set(columns) for table, columns in model_identity_columns().items()}
    explicit = False
    out = []
    for statement in statements:
        text = server_text(statement)
        if _BEGIN.match(text):
            explicit = True
        elif _END.match(text):
            explicit = False
        _, _, created = _tree_problems(text.strip().rstrip(";"))
        for table, column in created:
            identity.setdefault(table, set()).add(column)
        inside = explicit or not statement.autocommit
        out.append((statement, problems(statement, in_transaction=inside, identity=identity)))
    return out


def assert_conforms(statements: Iterable[Statement]) -> int:
    """Fail with every offending statement and its problems; return how many were checked."""
    report: list[str] = []
    checked = sequence_problems(statements)
    for statement, found in checked:
        report += [f"{problem}\n    {statement.text[:400]}" for problem in found]
    assert not report, "statements Redshift would refuse:\n" + "\n".join(report)
    return len(checked)


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
