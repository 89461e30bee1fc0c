"""sparkify_dw: Sparkify's data warehouse, defined once, loaded the same way on DuckDB,
PostgreSQL and Amazon Redshift.

The top-level API, for a notebook (README, "Python API")::

    import sparkify_dw
    sparkify_dw.load()                      # as `sparkify-dw load`: a LoadResult
    engine = sparkify_dw.connect()          # read-only, never holds the warehouse open
    sparkify_dw.table("songplays")          # a DataFrame
    sparkify_dw.history(); sparkify_dw.errors(load_id)
    sparkify_dw.check().as_frame()
    sparkify_dw.analytics.top_songs(limit=5, start="2018-11-05", end="2018-11-12")

Each takes an optional ``engine`` or ``url`` and otherwise resolves the configuration as
the load does. Names are imported when first used (module ``__getattr__``), so ``import
sparkify_dw`` (and ``sparkify-dw --help``) pays for none of SQLAlchemy, DuckDB or pandas.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it; None: a submodule (load, check and errors are
# also callable: see _Package)
_LAZY: dict[str, str | None] = {
    "analytics": None,
    "check": None,
    "connect": "sparkify_dw.api",
    "errors": None,
    "history": "sparkify_dw.api",
    "load": None,
    "table": "sparkify_dw.api",
}
__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # load, check and errors are modules to a type checker (see _Package)
    from sparkify_dw import analytics as analytics
    from sparkify_dw import check as check
    from sparkify_dw import errors as errors
    from sparkify_dw import load as load
    from sparkify_dw.api import connect as connect
    from sparkify_dw.api import history as history
    from sparkify_dw.api import table as table


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use."""
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _LAZY[name]
    if home is None:  # a submodule: importing it sets the attribute (see _Package)
        return importlib.import_module(f"{__name__}.{name}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The API and the module's dunders; not its own helpers (``dir()`` is how a notebook
    user finds the API)."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})


# Submodules that are also the API's functions (sparkify_dw.callable_module says why):
# attribute -> (the module defining the function, its name).
_CALLABLE = {
    "load": ("sparkify_dw.api", "load"),
    "check": ("sparkify_dw.api", "check"),
    "errors": ("sparkify_dw.api", "errors"),
}


class _Package(types.ModuleType):
    """The package's own module class: when Python sets ``sparkify_dw.load`` (``check``,
    ``errors``) to its submodule (any ``import sparkify_dw.load``), the module becomes
    callable as the API's function of that name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE and isinstance(value, types.ModuleType):
            from sparkify_dw.callable_module import make_callable

            make_callable(value, *_CALLABLE[name])
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
