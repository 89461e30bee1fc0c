"""DuckDB's own settings: how much memory and how many threads a load may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sparkify_dw.settings_spec import EngineOptions, Setting, memory_size, whole_number

ENV_MEMORY_LIMIT = "SPARKIFY_DW_MEMORY_LIMIT"
ENV_THREADS = "SPARKIFY_DW_THREADS"
DEFAULT_MEMORY_LIMIT = "1GB"  # DuckDB's own default is 80% of RAM: unbounded on a shared box
MAX_THREADS = 1024


@dataclass(frozen=True)
class DuckDBOptions(EngineOptions):
    """``memory_limit`` bounds the whole load (bytes); ``threads`` (None: one per 256 MiB
    of it, at most one per CPU) bounds DuckDB's worker threads."""

    memory_limit: int = 10**9
    threads: int | None = None

    SPECS: ClassVar[tuple[Setting[Any], ...]] = (
        Setting(
            "memory_limit",
            memory_size,
            "memory a load may use, e.g. 1GB or 512MiB",
            default=DEFAULT_MEMORY_LIMIT,
            flag="--memory-limit",
            env=ENV_MEMORY_LIMIT,
            cfg=("DUCKDB", "MEMORY_LIMIT"),
        ),
        Setting(
            "threads",
            whole_number(1, MAX_THREADS),
            "DuckDB's threads (default: one per 256 MiB of the memory limit, at most the CPUs)",
            env=ENV_THREADS,
            cfg=("DUCKDB", "THREADS"),
        ),
    )
