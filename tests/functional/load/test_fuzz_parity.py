"""Backend parity, proved by fuzzing: the same files staged on DuckDB and on PostgreSQL give
the same staged rows, the same rejected records with the same reasons, read = staged +
rejected, and a transform that never fails.

Records are generated across the value space (numbers in every JSON spelling, huge, tiny
and negative; strings with escapes, surrogates, NUL, multibyte text and over-long values;
duplicate, missing, extra and differently-cased keys; nulls, nested values, arrays, NaN,
trailing commas) and written three ways: a small newline-delimited file (framed by Python
on DuckDB), the same lines in a file above DuckDB's small-file threshold (read by DuckDB
itself) and pretty-printed. Each example stages and transforms inside a transaction that
is rolled back, so examples are cheap and independent. The quick batch also runs against
a PostgreSQL database collated by ICU's en-US, where a collation-dependent ordering shows.

The records that found a bug are kept in test_fuzz_corpus.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.load.fuzz_support import (
    EVENT,
    SONG,
    Record,
    batched,
    dump,
    events,
    run_both,
    songs,
)

pytestmark = pytest.mark.usefixtures("fuzz_window")

# Examples per run, by profile. The batched tests check every example's records in one load
# per backend; the per-example tests load each example on its own, so a failure shrinks to
# its smallest form. $SPARKIFY_DW_FUZZ names the profile:
# - unset: "quick", the default run's, sized so each test takes well under 20 s here;
# - "ci": test_long_fuzz_profile sized for CI, 2-3 minutes on two cores;
# - "long" (or "slow", its old name): the full profile, about 18 minutes; ``pytest -m slow``
#   runs test_long_fuzz_profile with it when $SPARKIFY_DW_FUZZ is unset.
# The per-example tests of the default run take the named profile's counts too (the batched
# one checks "quick"'s always); $SPARKIFY_DW_FUZZ_SCALE multiplies the per-example counts.
ENV_PROFILE = "SPARKIFY_DW_FUZZ"
ENV_SCALE = "SPARKIFY_DW_FUZZ_SCALE"
PROFILES = {
    "quick": {"batch": 500, "events": 10, "songs": 6, "mixed": 5},  # each test under 20 s
    "ci": {"batch": 4000, "events": 30, "songs": 20, "mixed": 15},
    "long": {"batch": 25000, "events": 300, "songs": 150, "mixed": 150},
}
NAMES = {"ci": "ci", "long": "long", "slow": "long"}  # what $SPARKIFY_DW_FUZZ may say


def profile(unset: str = "quick") -> str:
    """The profile $SPARKIFY_DW_FUZZ names, ``unset`` when it is not set; any other value
    fails the run with one line."""
    value = os.environ.get(ENV_PROFILE, "").strip().lower()
    if not value:
        return unset
    if value not in NAMES:
        pytest.fail(
            f"{ENV_PROFILE}={os.environ[ENV_PROFILE]!r} is not a fuzz profile:"
            " use ci, long (or slow, the same) or leave it unset",
            pytrace=False,
        )
    return NAMES[value]


def _settings(kind: str, name: str | None = None) -> settings:
    """Settings for the per-example test ``kind`` in profile ``name`` (default: as set)."""
    examples = PROFILES[name or profile()][kind]
    scale = float(os.environ.get(ENV_SCALE, "1"))  # for a quicker try
    examples = max(1, int(examples * scale))
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


@pytest.mark.postgres
def test_batched_examples_stage_and_transform_alike(
    engines: dict[str, sa.Engine], tmp_path: Path
) -> None:
    count = PROFILES["quick"]["batch"]
    assert batched(engines, tmp_path, count) >= count


@pytest.mark.postgres
def test_batched_examples_alike_on_an_icu_collated_database(
    icu_engines: dict[str, sa.Engine], tmp_path: Path
) -> None:
    """The quick profile's batch against a PostgreSQL database whose collation is ICU's
    en-US: every ordering that picks or numbers a row is byte-wise, so nothing differs."""
    count = PROFILES["quick"]["batch"]
    assert batched(icu_engines, tmp_path, count) >= count


@pytest.mark.postgres
@_settings("events")
@given(records=st.lists(events(), min_size=1, max_size=8))
def test_events_stage_alike(
    engines: dict[str, sa.Engine], tmp_path: Path, records: list[Record]
) -> None:
    run_both(engines, tmp_path, records, [([(k, dump(v)) for k, v in SONG.items()], False)])


@pytest.mark.postgres
@_settings("songs")
@given(records=st.lists(songs(), min_size=1, max_size=8))
def test_songs_stage_alike(
    engines: dict[str, sa.Engine], tmp_path: Path, records: list[Record]
) -> None:
    run_both(engines, tmp_path, [([(k, dump(v)) for k, v in EVENT.items()], False)], records)


@pytest.mark.postgres
@_settings("mixed")
@given(
    event_records=st.lists(events(), min_size=1, max_size=6),
    song_records=st.lists(songs(), min_size=1, max_size=6),
)
def test_events_and_songs_transform_alike(
    engines: dict[str, sa.Engine],
    tmp_path: Path,
    event_records: list[Record],
    song_records: list[Record],
) -> None:
    run_both(engines, tmp_path, event_records, song_records)


@pytest.mark.slow
@pytest.mark.postgres
def test_long_fuzz_profile(engines: dict[str, sa.Engine], tmp_path: Path) -> None:
    """The long run (``pytest -m slow``) in the profile $SPARKIFY_DW_FUZZ names, "ci" or
    "long" ("long" when it is unset): the profile's batched examples, and each per-example
    property with the profile's count of its own."""
    name = profile("long")
    count = PROFILES[name]["batch"]
    assert batched(engines, tmp_path / "batched", count) >= count
    for n, (test, kind) in enumerate(
        (
            (test_events_stage_alike, "events"),
            (test_songs_stage_alike, "songs"),
            (test_events_and_songs_transform_alike, "mixed"),
        )
    ):
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
        strategy = {
            "events": {"records": st.lists(events(), min_size=1, max_size=8)},
            "songs": {"records": st.lists(songs(), min_size=1, max_size=8)},
            "mixed": {
                "event_records": st.lists(events(), min_size=1, max_size=6),
                "song_records": st.lists(songs(), min_size=1, max_size=6),
            },
        }[kind]
        _settings(kind, name)(given(**strategy)(inner))(engines, tmp_path / f"each{n}")
