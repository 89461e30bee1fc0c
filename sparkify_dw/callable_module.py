"""Modules that are also the API's functions: ``sparkify_dw.load``, ``check`` and ``errors``.

Why: ``sparkify_dw.load`` and ``check`` are packages (``python -m sparkify_dw.load`` is
the design's entry point) and ``errors.py`` holds the library's exceptions, while the API
(:mod:`sparkify_dw.api`) wants ``sparkify_dw.load(...)``, ``check()`` and ``errors(load_id)``.
``import sparkify_dw.load`` anywhere sets the package's ``load`` attribute to the module,
so a plain function of that name in the package would be replaced by the module as soon
as any code imports it. Instead the package switches such a module's class to
:class:`CallableModule` as Python sets that attribute (``sparkify_dw.__init__``): the
module stays the module (``from sparkify_dw.errors import ConfigError``, ``python -m``),
and calling it calls the function, whatever was imported first. ``help()`` and
``inspect.signature`` show the function's parameters and doc, then the module's.

Imports nothing heavy; the function is looked up when first called or inspected. A type
checker sees the modules (it can't know a module is callable): typed code may call
``sparkify_dw.api.load``, ``api.check`` and ``api.errors``, the same functions.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from typing import Any

__all__ = ["CallableModule", "make_callable"]


class CallableModule(types.ModuleType):
    """A module whose calls go to a function (``__function_home__``, ``__function_name__``
    in its dict: the module that defines it, and its name)."""

    def _function(self) -> Callable[..., Any]:
        home = importlib.import_module(self.__dict__["__function_home__"])
        function: Callable[..., Any] = getattr(home, self.__dict__["__function_name__"])
        return function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function()(*args, **kwargs)

    @property
    def __signature__(self) -> Any:
        import inspect

        return inspect.signature(self._function())

    @property  # type: ignore[override]
    def __doc__(self) -> str:  # type: ignore[override]
        import inspect

        function = self._function()
        own = self.__dict__.get("__doc__") or ""
        return (
            f"{self.__name__}{inspect.signature(function)}\n\n"
            f"Calling this module calls {function.__module__}.{function.__name__}():\n\n"
            f"{inspect.getdoc(function)}\n\nThe module:\n\n{inspect.cleandoc(own)}"
        )


def make_callable(module: types.ModuleType, home: str, name: str) -> types.ModuleType:
    """Make ``module`` callable as the function ``name`` of the module ``home``."""
    if not isinstance(module, CallableModule):
        module.__dict__["__function_home__"] = home
        module.__dict__["__function_name__"] = name
        module.__class__ = CallableModule
    return module
