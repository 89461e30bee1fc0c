"""DDL that differs per dialect: identity columns on DuckDB (a sequence and its default,
compiled by DuckDB's package); names shared with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.schema import Column

from sparkify_dw.constructs import dispatch  # the DDL's default visitors  # noqa: F401

# --- DDL: identity columns on DuckDB ---------------------------------------------------------
# DuckDB has no IDENTITY; the same model column becomes a sequence-backed default there.


def identity_sequence_name(column: Column[Any]) -> str:
    return f"{column.table.name}_{column.name}_seq"


def _identity_columns(table: Any) -> list[Column[Any]]:
    return [c for c in table.columns if c.identity is not None]
