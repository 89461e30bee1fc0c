"""The benchmark's real-shape data (bench/realshape.py): shaped like the public data set,
fresh ids per copy, and N copies load as exactly N times one copy."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import schema
from tests.support.helpers import run_load

# bench/ is a folder of scripts, not a package: appended, its modules shadow nothing.
sys.path.append(str(Path(__file__).resolve().parents[3] / "bench"))
import datasets
import realshape

pytestmark = pytest.mark.serial  # runs the benchmark's loads

MSD_ID = re.compile(r"^(SO|AR|TR)[A-Z0-9]{16}$")


@pytest.fixture(scope="module")
def sample() -> realshape.Sample:
    return realshape.Sample.load()


def songs_of(root: Path) -> list[tuple[str, dict[str, object]]]:
    return [
        (p.stem, json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((root / "song_data").rglob("*.json"))
    ]


def test_two_copies_have_the_real_shape(tmp_path: Path, sample: realshape.Sample) -> None:
    stats = realshape.build(tmp_path, 2, sample)
    days = sorted(p.name for p in (tmp_path / "log_data").rglob("*.json"))
    assert len(days) == len(set(days)) == 2 * realshape.DAYS_PER_COPY == stats.log_files
    assert days[0] == "2010-01-01-events.json" and days[-1] == "2010-03-01-events.json"
    songs = songs_of(tmp_path)
    assert len(songs) == 2 * realshape.SONG_FILES_PER_COPY == stats.song_files
    tracks = [track for track, _ in songs]
    song_ids = [str(s["song_id"]) for _, s in songs]
    assert all(MSD_ID.match(i) for i in [*tracks, *song_ids])
    assert all(MSD_ID.match(str(s["artist_id"])) for _, s in songs)
    assert len(set(tracks)) == len(tracks) and len(set(song_ids)) == len(song_ids)
    sample_ids = {str(s["song_id"]) for s in sample.songs}
    assert not sample_ids & set(song_ids)  # fresh, not the sample's
    by_copy: dict[str, set[str]] = {}
    for _, s in songs:
        by_copy.setdefault(str(s["title"]).rsplit(" ", 1)[-1], set()).add(str(s["artist_id"]))
    assert set(by_copy) == {"[c0]", "[c1]"} and not by_copy["[c0]"] & by_copy["[c1]"]
    sample_events = sum(len(records) for _, records in sample.days)
    assert stats.events > sample_events  # 30 days from the sample's 16


def test_copies_are_disjoint_in_users_and_sessions(
    tmp_path: Path, sample: realshape.Sample
) -> None:
    realshape.build(tmp_path, 2, sample)
    users: dict[int, set[str]] = {0: set(), 1: set()}
    sessions: Counter[tuple[int, int]] = Counter()
    for path in sorted((tmp_path / "log_data").rglob("*.json")):
        copy = 0 if path.name < "2010-01-31" else 1
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event["userId"]:
                users[copy].add(event["userId"])
            sessions[(copy, event["sessionId"])] += 1
    assert users[0] and users[1] and not users[0] & users[1]
    assert not {s for c, s in sessions if c == 0} & {s for c, s in sessions if c == 1}


def star_counts(url: sa.URL) -> tuple[int, int, int, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM songplays), (SELECT count(song_id) FROM songplays), "
                "(SELECT count(*) FROM users), (SELECT count(*) FROM songs)"
            )
        ).one()
    engine.dispose()
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def test_two_copies_load_as_twice_one(tmp_path: Path, sample: realshape.Sample) -> None:
    counts = {}
    for copies in (1, 2):
        ds = datasets.ensure_real(tmp_path / f"work{copies}", copies, sample)
        url = sa.URL.create("duckdb", database=str(tmp_path / f"w{copies}.duckdb"))
        schema.upgrade(url)
        result = run_load(url, log_data=ds.log_dir, song_data=ds.song_dir)
        assert result.staged["staging_events"] == ds.events
        assert result.staged["staging_songs"] == ds.songs == copies * 71
        assert sum(result.rejected.values()) == 0
        counts[copies] = star_counts(url)
    plays, matched, users, songs = counts[1]
    assert plays > 6000 and matched >= 1  # the sample matches a play; 30 days keep it
    assert counts[2] == (2 * plays, 2 * matched, 2 * users, 2 * songs)


def test_a_set_is_reused_until_it_changes(tmp_path: Path, sample: realshape.Sample) -> None:
    first = datasets.ensure_real(tmp_path, 1, sample)
    again = datasets.ensure_real(tmp_path, 1, sample)
    assert first.generated and not again.generated
    assert (
        (first.events, first.log_files, first.song_files)
        == (again.events, again.log_files, again.song_files)
        == (first.events, 30, 71)
    )
    next(Path(first.log_dir).rglob("*.json")).write_text("{}\n", encoding="utf-8")
    assert datasets.ensure_real(tmp_path, 1, sample).generated
