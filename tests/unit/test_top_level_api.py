"""The top-level API a notebook user guesses: ``dir(sparkify_dw)`` lists it, ``help()``
shows each function's parameters, and ``sparkify_dw.load``, ``check`` and ``errors`` are
callable although each is also a module that the library itself imports."""

from __future__ import annotations

import importlib
import inspect
import pydoc
import types

import pytest

import sparkify_dw
from sparkify_dw import analytics, api
from sparkify_dw.callable_module import CallableModule, make_callable
from sparkify_dw.errors import ConfigError

PLAIN: pydoc.TextDoc = pydoc.plaintext  # type: ignore[attr-defined]
API = ("analytics", "check", "connect", "errors", "history", "load", "table")


def test_dir_lists_the_api_and_not_the_packages_helpers() -> None:
    names = dir(sparkify_dw)
    assert set(API) <= set(names) and "__version__" in names
    assert not {"sys", "types", "TYPE_CHECKING", "Any", "_LAZY"} & set(names)
    with pytest.raises(AttributeError, match="no attribute 'loads'"):
        sparkify_dw.loads  # noqa: B018


@pytest.mark.parametrize("name", ["load", "check", "errors"])
def test_a_module_of_the_same_name_is_callable_as_the_function(name: str) -> None:
    module = importlib.import_module(f"sparkify_dw.{name}")  # as the library imports them
    assert getattr(sparkify_dw, name) is module and isinstance(module, types.ModuleType)
    assert isinstance(module, CallableModule) and callable(module)
    assert inspect.signature(module) == inspect.signature(getattr(api, name))
    from sparkify_dw.errors import ConfigError  # the module still works as a module

    assert issubclass(ConfigError, ValueError)


def test_each_function_shows_its_parameters_in_help() -> None:
    expected = {
        "load": ("url", "log_data", "incremental", "since", "max_errors", "wait"),
        "connect": ("url", "read_only", "wait"),
        "table": ("name", "limit", "engine", "url"),
        "history": ("limit", "engine", "url"),
        "errors": ("load_id", "engine", "url"),
        "check": ("names", "engine", "url"),
    }
    for name, parameters in expected.items():
        function = getattr(sparkify_dw, name)
        assert set(parameters) <= set(inspect.signature(function).parameters), name
        text = pydoc.render_doc(function, renderer=PLAIN)
        assert all(f"{p}:" in text or f"{p}=" in text for p in parameters), (name, text[:300])
    top = pydoc.render_doc(sparkify_dw.analytics.top_songs, renderer=PLAIN)
    assert "top_songs(bind:" in top and all(f"{p}:" in top for p in ("limit", "start", "end"))
    assert "Most played songs" in top


def test_load_calls_the_loader_and_says_why_it_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, ...]] = []
    engine = object()

    def run(*args: object, **options: object) -> str:
        seen.append((*args, options))
        return "result"

    monkeypatch.setattr("sparkify_dw.load.run", run)
    assert sparkify_dw.load(engine, max_errors=3) == "result"  # type: ignore[operator]
    assert seen == [(engine, None, {"max_errors": 3})]
    assert "closed when the load ends" in (sparkify_dw.load.__doc__ or "")


def test_make_callable_looks_the_function_up_at_each_call() -> None:
    module = types.ModuleType("example", "An example module.")
    make_callable(module, "sparkify_dw.api", "history")
    assert make_callable(module, "x", "y") is module  # once
    assert inspect.signature(module) == inspect.signature(api.history)  # type: ignore[arg-type]
    doc = module.__doc__ or ""
    assert doc.startswith("example(limit") and "An example module." in doc


def test_questions_take_no_bind_and_keep_their_query() -> None:
    question = analytics.top_songs
    params = inspect.signature(question).parameters
    assert params["bind"].default is None and params["url"].default is None
    assert inspect.isroutine(question) and question.__name__ == "top_songs"
    assert "LIMIT" in str(question.query(limit=3))


@pytest.mark.parametrize("wait", [-1, float("nan"), float("inf"), 86401, "5"])
def test_a_wait_must_end(wait: object) -> None:
    with pytest.raises(ConfigError, match="is not a number of seconds from 0 to 86400"):
        sparkify_dw.connect("duckdb:///nowhere.duckdb", wait=wait)  # type: ignore[arg-type]
