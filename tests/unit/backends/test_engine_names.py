"""Only ``sparkify_dw/backends/`` knows an engine by name.

Outside it, an engine's name may appear in documentation (docstrings, comments, help text)
and in the models' Redshift physical design (``redshift_diststyle=…``: the models are
the one schema all engines share). Anywhere else, code that names an engine is code that
asks which engine it talks to, and adding an engine would mean editing it. The modules
still allowed to, and why, are listed in :data:`KNOWN`; the list only shrinks.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import sparkify_dw

PACKAGE = Path(sparkify_dw.__file__).resolve().parent
ENGINE_NAME = re.compile(r"duckdb|postgres|redshift", re.IGNORECASE)

# Modules (or packages, ending in /) outside backends/ allowed to name an engine in code.
KNOWN: dict[str, str] = {
    "models/": "the Redshift physical design (dist and sort keys, encodings)",
    "extras.py": "the docs extra installs sqlalchemy-redshift: the site renders that design",
}


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _help_lines(tree: ast.Module) -> set[int]:
    """Lines of a ``help=`` or ``epilog=`` argument (click options and commands)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("help", "epilog", "short_help"):
            lines.update(range(node.value.lineno, (node.value.end_lineno or 0) + 1))
    return lines


def engine_names_in_code(source: str) -> list[tuple[int, str]]:
    """(line, token) of each engine name in code: names and string literals, not comments,
    docstrings or help text."""
    tree = ast.parse(source)
    documentation = _docstring_lines(tree) | _help_lines(tree)
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and token.start[0] in documentation:
            continue
        if token.type in (tokenize.NAME, tokenize.STRING) and ENGINE_NAME.search(token.string):
            hits.append((token.start[0], token.string))
    return hits


def _known(relative: str) -> bool:
    return any(relative == k or (k.endswith("/") and relative.startswith(k)) for k in KNOWN)


def offenders() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "backends" or _known(str(relative)):
            continue
        hits = engine_names_in_code(path.read_text(encoding="utf-8"))
        if hits:
            found[str(relative)] = hits
    return found


def test_only_backends_name_an_engine() -> None:
    assert offenders() == {}


def test_the_rule_sees_code_and_not_documentation() -> None:
    """The companion: the rule fails on code that names an engine, whatever its form."""
    code = '''"""Loads into DuckDB (a docstring: documentation)."""
import click

# a comment about PostgreSQL: documentation
OPTION = click.option("--memory", help="DuckDB's memory limit")


def pick(url):
    """Redshift, in a docstring."""
    if url.get_backend_name() == "redshift":
        return duckdb_path(url)
    return f"postgresql://{url}"
'''
    hits = [token for _, token in engine_names_in_code(code)]
    assert hits == ['"redshift"', "duckdb_path", 'f"postgresql://{url}"']


def test_known_exceptions_still_need_their_exception() -> None:
    """An exception that no longer names an engine leaves the list."""
    for name in KNOWN:
        paths = sorted((PACKAGE / name).rglob("*.py")) if name.endswith("/") else [PACKAGE / name]
        assert any(engine_names_in_code(p.read_text(encoding="utf-8")) for p in paths), name
