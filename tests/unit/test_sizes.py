"""A module over about 500 lines, or a function over 80, asks to be split: a reader should
find any table, statement or setting in one guess, and read a function in one screen.

A function that must stay long is listed with why; each listed one must still be over (an
entry leaves the list when its split lands), and nothing else may join them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sparkify_dw

PACKAGE = Path(sparkify_dw.__file__).resolve().parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

# "module:function" -> why it is still long (none now: an entry needs its reason).
LONG_FUNCTIONS: dict[str, str] = {}


def long_modules(root: Path = PACKAGE) -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found[str(path.relative_to(root))] = lines
    return found


def long_functions(root: Path = PACKAGE) -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{path.relative_to(root)}:{node.name}"] = lines
    return found


def test_no_module_is_over_500_lines() -> None:
    assert long_modules() == {}


def test_no_function_is_over_80_lines_but_the_listed_ones() -> None:
    assert set(long_functions()) == set(LONG_FUNCTIONS)


def test_the_counts_see_a_long_module_and_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(90))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n" + "y = 1\n" * 420)
    (tmp_path / "short.py").write_text("def short():\n    return 1\n")
    assert long_modules(tmp_path) == {"long.py": 511}
    assert long_functions(tmp_path) == {"long.py:long": 91}
