"""The package's import graph: no import cycle, and every module imports first, on its
own, in a fresh interpreter.

Why: a cycle (``s3`` imported ``SourceError`` from ``sources`` while ``sources`` imported
``s3``) works only in the order the usual entry points happen to use, and breaks for the
user who imports the other module first.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import sparkify_dw
from sparkify_dw import errors

PACKAGE = Path(sparkify_dw.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(p): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if "migrations" not in p.relative_to(PACKAGE).parts
}


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import a module holds: at module level, deferred into a function (a deferred
    import hides a cycle, it does not remove it), for type checkers only, and in an
    ``if __name__ == "__main__":`` block. A module that would need to exempt one of them
    to be free of cycles is not."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            if len(submodules) < len(node.names):  # a name defined in ``base`` itself
                targets.add(base)
            targets.update(submodules)
        graph[name] = {t for t in targets if t in MODULES and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_and_absolute_imports() -> None:
    graph = import_graph()
    assert "sparkify_dw.errors" in graph["sparkify_dw.s3"]  # from .errors import …
    cluster = "sparkify_dw.backends.redshift.cluster"
    assert f"{cluster}.aws" in graph[cluster]  # from .aws import … (for type checkers)
    assert "sparkify_dw.commands" in graph["sparkify_dw.load.__main__"]  # a __main__ module
    assert "sparkify_dw.errors" in graph["sparkify_dw.sources"]  # from sparkify_dw.errors …


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert "sparkify_dw.s3" in graph["sparkify_dw.sources"]  # deferred: boto3 only for S3
    assert "sparkify_dw.sources" not in graph["sparkify_dw.s3"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_errors_imports_nothing_from_the_package_but_text() -> None:
    graph = import_graph()
    assert graph["sparkify_dw.errors"] == {"sparkify_dw.text"}
    assert graph["sparkify_dw.text"] == set()


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module is imported with no other package module loaded before it."""
    script = """
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "sparkify_dw" or m.startswith("sparkify_dw.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""
    names = sorted(n for n in MODULES if not n.endswith("__main__"))
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(names)],
        text=True,
        capture_output=True,
        timeout=300,
        check=True,
    )
    assert json.loads(proc.stdout.splitlines()[-1]) == {}


def test_every_library_error_has_one_base() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type):  # and one_line(), which prints them
            assert issubclass(cls, errors.SparkifyError), name


def test_the_errors_keep_their_standard_bases() -> None:
    assert issubclass(errors.ConfigError, ValueError)  # what ``except ValueError`` caught
    assert issubclass(errors.TooManyRejected, errors.LoadError)
