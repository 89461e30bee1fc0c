"""PostgreSQL's own settings: none. The URL says where the server is and who connects;
everything a load needs of the server (its encoding, the advisory lock) is checked or
taken on the connection itself."""

from __future__ import annotations

from sparkify_dw.settings_spec import EngineOptions


class PostgreSQLOptions(EngineOptions):
    """No option of its own (declared so that the engine states it, and a flag meant for
    another engine, such as ``--memory-limit``, is refused by name)."""
