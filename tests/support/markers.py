"""Markers from what a test uses, so none is forgotten by hand (a pytest plugin).

- ``postgres``: the test uses a PostgreSQL fixture, or runs with the parameter
  ``postgresql`` (a fixture or test parametrized by backend). Without a server, and outside
  CI, these are skipped with one reason, said once at the end of the run; under ``CI=true``
  a missing server fails them.
- ``browser``: the test drives Chromium (the ``browser`` fixture).
- ``notebook``: the test runs a notebook's kernel.
- ``subprocess``: the test starts a process: its own code, or a helper of its module that
  it calls, names ``subprocess`` or ``sys.executable``, or it uses a fixture that does.
- ``serial``: the test times, kills or measures: run on one xdist worker, with the others
  marked so (``xdist_group("serial")``).
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import fixtures

PG_FIXTURES = frozenset({"pg_admin_url", "pg_databases"})
PROCESS_FIXTURES = frozenset({"moto_server", "relay", "browser"})
PROCESS_WORDS = ("subprocess", "sys.executable")
_PG_SKIPPED = "no PostgreSQL server: "


def _spawning_helpers(module: ModuleType) -> frozenset[str]:
    """Names of the module's own functions whose code starts a process."""
    names = set()
    for name, value in vars(module).items():
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            try:
                source = inspect.getsource(value)
            except (OSError, TypeError):
                continue
            if any(word in source for word in PROCESS_WORDS):
                names.add(name)
    return frozenset(names)


def _called_names(function: object) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    except (OSError, TypeError, SyntaxError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }


def _starts_a_process(item: pytest.Function, helpers: frozenset[str]) -> bool:
    if PROCESS_FIXTURES & set(item.fixturenames):
        return True
    names = _called_names(item.function)
    return bool(names & helpers) or any(
        name.startswith("subprocess.") or name == "sys.executable" for name in names
    )


def _on_postgresql(item: pytest.Function) -> bool:
    """A test parametrized by backend (``warehouse_url``, ``loaded_url`` or its own
    ``backend``) reaches PostgreSQL's fixtures through ``getfixturevalue``, which the
    fixture closure doesn't show: its parameter says so."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    helpers: dict[str, frozenset[str]] = {}
    pg_reason: str | None = None
    pg_checked = False
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        names = set(item.fixturenames)
        path = Path(str(item.fspath))
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        if path.name == "test_notebook.py":
            item.add_marker(pytest.mark.notebook)
        module = sys.modules.get(item.module.__name__) if item.module else None
        if module is not None:
            if module.__name__ not in helpers:
                helpers[module.__name__] = _spawning_helpers(module)
            if _starts_a_process(item, helpers[module.__name__]):
                item.add_marker(pytest.mark.subprocess)
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))
        if PG_FIXTURES & names or _on_postgresql(item):
            item.add_marker(pytest.mark.postgres)
            if not pg_checked:
                pg_reason, pg_checked = fixtures.pg_unavailable(), True
            if pg_reason is not None and not fixtures.IN_CI:
                item.add_marker(pytest.mark.skip(reason=f"{_PG_SKIPPED}{pg_reason}"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line for every PostgreSQL test skipped, with the reason (xdist workers too)."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if _PG_SKIPPED in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        longrepr = skipped[0].longrepr  # (path, line, "Skipped: <reason>")
        text = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        reason = text[text.index(_PG_SKIPPED) + len(_PG_SKIPPED) :]
        terminalreporter.write_line(
            f"skipped {len(skipped)} tests on PostgreSQL: {reason}", yellow=True
        )
