"""Rows inserted are the driver's counts, and they agree with COUNT(*)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from sparkify_dw.models import STAR_TABLES
from tests.support.helpers import all_days, copy_sample_days, run_load

# A COUNT(*) over a star table; not a window's count(*) OVER () (the transform's check of
# its own plays' keys counts the offenders it found, reading only this load's plays).
COUNT_OF_STAR = re.compile(
    r"count\(\*\)(?!\s*OVER).*\bFROM\s+(" + "|".join(t.name for t in STAR_TABLES) + r")\b",
    re.IGNORECASE | re.DOTALL,
)


def _counts(url: sa.URL) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in STAR_TABLES
            }
    finally:
        engine.dispose()


def test_inserted_rows_are_what_count_star_sees(warehouse_url: sa.URL, tmp_path: Path) -> None:
    days = all_days()
    first = copy_sample_days(tmp_path / "first", days[: len(days) // 2])
    both = copy_sample_days(tmp_path / "both", days)
    before = _counts(warehouse_url)
    for log_data in (first, both):  # the second load inserts only what is new
        result = run_load(warehouse_url, log_data=log_data)
        after = _counts(warehouse_url)
        for table in STAR_TABLES:
            assert result.inserted[table.name] == after[table.name] - before[table.name], table.name
        before = after
    assert result.inserted["songplays"] > 0


def test_the_transform_counts_nothing_by_scanning(warehouse_url: sa.URL) -> None:
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        run_load(warehouse_url, steps=("stage", "transform"))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert any("INSERT INTO songplays" in s for s in sent)
    assert [s for s in sent if COUNT_OF_STAR.search(s)] == []
