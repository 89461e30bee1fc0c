"""Every message that names a command names the ``sparkify-dw`` one (issue 27): a user told
to run ``python -m sparkify_dw.load --errors`` or ``alembic upgrade head`` is sent to a
side door. Docstrings may still say that ``python -m`` works; what is printed may not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sparkify_dw

PACKAGE = Path(sparkify_dw.__file__).parent
RETIRED = re.compile(r"python -m sparkify_dw\b|\balembic (upgrade|downgrade|history|current)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def retired_in(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string that is not a docstring and names a retired command."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and RETIRED.search(node.value)
    ]


def test_the_scan_finds_a_retired_command_in_a_message() -> None:
    found = retired_in(
        '"""Docs may say python -m sparkify_dw.load."""\n'
        'def f(n):\n    """alembic upgrade head, in a docstring."""\n'
        '    raise ValueError(f"see `python -m sparkify_dw.load --errors {n}`")\n'
        'HINT = "run `alembic upgrade head`"\n'
    )
    assert sorted(line for line, _ in found) == [4, 5]


def test_no_message_names_a_retired_command() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in retired_in(path.read_text(encoding="utf-8"))
    ]
    assert found == []
