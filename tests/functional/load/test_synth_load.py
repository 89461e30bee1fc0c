"""The generator and the loader agree: every NextSong becomes a songplay, and exactly the
plays the generator matched to a song get a song_id."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import schema, synth
from tests.support.helpers import run_load


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_generated_data_loads_exactly(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    summary = synth.generate(tmp_path / "data", events=6000, songs=300, days=4, seed=7)
    url: sa.URL = request.getfixturevalue("duckdb_url" if backend == "duckdb" else "pg_url")
    schema.upgrade(url)
    result = run_load(
        url, log_data=tmp_path / "data/log_data", song_data=tmp_path / "data/song_data"
    )
    assert result.staged["staging_events"] == summary.events
    assert result.counts["songplays"] == summary.next_song
    assert result.counts["songs"] == summary.songs
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        matched = conn.execute(sa.text("SELECT count(song_id) FROM songplays")).scalar()
    engine.dispose()
    assert matched == summary.matched
