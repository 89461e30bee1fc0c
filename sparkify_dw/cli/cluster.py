"""``sparkify-dw cluster``: the production engine's own command, mounted here.

Its code belongs to the engine whose package offers it (``EngineInfo.commands``, under
``sparkify_dw/backends/``); this module finds it through the backend registry when the
command runs, after checking its extra, so nothing here knows which engine that is.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``cluster``: the engine's click command (a missing extra is one line, exit 2)."""
    if name != "cluster":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sparkify_dw import extras
    from sparkify_dw.backends import registry

    extras.require("cluster", "sparkify-dw cluster")
    return registry.command("cluster")
