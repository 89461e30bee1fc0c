"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sparkify_dw import config, load
from sparkify_dw.models import STAR_TABLES, metadata

SAMPLE = config.SAMPLE_DIR
STAR_NAMES = [t.name for t in STAR_TABLES]


def settings_for(
    url: sa.URL, log_data: str | Path | None = None, song_data: str | Path | None = None
) -> config.Settings:
    return config.resolve(
        url=url.render_as_string(hide_password=False),
        log_data=str(log_data) if log_data is not None else None,
        song_data=str(song_data) if song_data is not None else None,
    )


def run_load(url: sa.URL, **kw: Any) -> load.LoadResult:
    steps = kw.pop("steps", load.STEPS)
    max_errors = kw.pop("max_errors", 0)
    settings = settings_for(url, **kw)
    engine = settings.create_engine()
    try:
        return load.run(engine, settings, steps=steps, max_errors=max_errors)
    finally:
        engine.dispose()


def table_rows(url: sa.URL, table: str, *, without: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row of a table, sorted, as plain tuples (``without`` drops columns)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    meta_table = metadata.tables[table]
    with engine.connect() as conn:
        cols = [c for c in meta_table.columns if c.name not in without]
        rows = conn.execute(sa.select(*cols)).all()
    engine.dispose()
    return sorted((tuple(r) for r in rows), key=lambda r: tuple((v is None, str(v)) for v in r))


def star_snapshot(url: sa.URL) -> dict[str, list[tuple[Any, ...]]]:
    """All star tables, songplays without its surrogate key and the load that added it."""
    return {name: table_rows(url, name, without=("songplay_id", "load_id")) for name in STAR_NAMES}


def copy_sample_days(dest: Path, days: list[str]) -> Path:
    """A log_data tree holding only the given days (YYYY-MM-DD)."""
    for day in days:
        y, m, _ = day.split("-")
        src = SAMPLE / "log_data" / y / m / f"{day}-events.json"
        target = dest / y / m
        target.mkdir(parents=True, exist_ok=True)
        (target / src.name).write_bytes(src.read_bytes())
    return dest


def all_days() -> list[str]:
    return sorted(p.name[:10] for p in (SAMPLE / "log_data").rglob("*-events.json"))
