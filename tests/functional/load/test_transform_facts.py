"""The transform given :func:`transform.facts` (no NOT EXISTS against an empty table, no
ranking of plays that can't repeat) builds exactly the rows it builds knowing nothing: on
a first load, with repeated plays in staging, and on top of an earlier load."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sparkify_dw import load, transform
from sparkify_dw.models import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, TIME, USERS

STAR = (ARTISTS, SONGS, USERS, TIME, SONGPLAYS)


def _rows(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in STAR:
        # songplay_id comes from a sequence, which a rollback doesn't rewind.
        columns = [c for c in table.columns if c.name != "songplay_id"]
        rows = conn.execute(sa.select(*columns)).all()
        found[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return found


def _built(conn: sa.Connection, known: transform.Facts | None) -> dict[str, list[Any]]:
    """The star rows the transform builds, rolled back after (DuckDB has no savepoints)."""
    with conn.begin() as transaction:
        for step in transform.steps(7, known or transform.Facts()):
            conn.execute(step.statement)
        rows = _rows(conn)
        transaction.rollback()
    return rows


def _compare(url: sa.URL) -> transform.Facts:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                known = transform.facts(conn)
            plain = _built(conn, None)
            assert plain[SONGPLAYS.name], "nothing to compare"
            assert _built(conn, known) == plain
            return known
    finally:
        engine.dispose()


def test_first_load(warehouse_url: sa.URL) -> None:
    load.run(url=warehouse_url.render_as_string(hide_password=False), steps=["stage"])
    known = _compare(warehouse_url)
    assert known.empty == frozenset(t.name for t in STAR)
    assert known.unique_plays


def test_repeated_plays_are_still_ranked(warehouse_url: sa.URL) -> None:
    load.run(url=warehouse_url.render_as_string(hide_password=False), steps=["stage"])
    engine = sa.create_engine(warehouse_url)
    e = STAGING_EVENTS.c
    columns = [c.name for c in STAGING_EVENTS.columns]
    again = [
        sa.literal("aaa", sa.String).label("level") if c.name == "level" else c
        for c in STAGING_EVENTS.columns
    ]
    with engine.begin() as conn:  # the same plays again, told apart by a level that sorts first
        conn.execute(
            sa.insert(STAGING_EVENTS).from_select(
                columns, sa.select(*again).where(e.page == "NextSong", e.ts % 3 == 0)
            )
        )
    engine.dispose()
    known = _compare(warehouse_url)
    assert not known.unique_plays


def test_on_top_of_an_earlier_load(warehouse_url: sa.URL) -> None:
    url = warehouse_url.render_as_string(hide_password=False)
    load.run(url=url)
    load.run(url=url, steps=["stage"])
    known = _compare(warehouse_url)
    assert known.empty == frozenset()
