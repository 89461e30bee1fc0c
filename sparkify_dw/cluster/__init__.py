"""``sparkify-dw cluster`` and ``python -m sparkify_dw.cluster``: create, inspect and delete
the cloud resources a production warehouse runs on.

The command belongs to the engine whose package offers it (``EngineInfo.commands``: the
production engine's ``cluster`` package, under ``sparkify_dw/backends/``); this package
only finds and runs it, so nothing here knows which engine that is.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the engine's ``cluster`` command with ``argv``; its exit status."""
    from sparkify_dw.backends import registry

    return registry.command("cluster")(argv)
