"""Text is kept as it was sent, on DuckDB and PostgreSQL: a database's collation never picks a
row or numbers a record, one byte-order mark at most is dropped, a file's name is kept to
the byte, and a quiet first day loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import load, transform
from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES
from tests.support.helpers import SAMPLE, settings_for, table_rows

DAY = SAMPLE / "log_data" / "2018" / "11" / "2018-11-15-events.json"
EVENTS = [json.loads(line) for line in DAY.read_text().splitlines()]
SONG = json.loads(next((SAMPLE / "song_data").rglob("*.json")).read_text())
BOM = b"\xef\xbb\xbf"
ENGINE_BYTES = 40 * 1024  # above DuckDB's small-file threshold: DuckDB reads the file itself


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _big(records: list[dict[str, Any]]) -> bytes:
    """``records`` followed by sample events until the file is big enough for DuckDB's reader."""
    text = _lines(records)
    more = iter(EVENTS * 20)
    while len(text) < ENGINE_BYTES:
        text += _lines([next(more)])
    return text


def _load(engine: sa.Engine, url: sa.URL, logs: Path, songs: Path | None = None, **kw: Any) -> Any:
    settings = settings_for(url, log_data=logs, song_data=songs)
    return load.run(engine, settings, **kw)


def _errors(url: sa.URL, load_id: int) -> list[tuple[int, str, int, str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    e = LOAD_ERRORS.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.error_no, e.source, e.line_no, e.reason)
            .where(e.load_id == load_id)
            .order_by(e.error_no)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- collation: a linguistic one never changes a result -----------------------------------------


@pytest.fixture(params=["duckdb", "postgresql"])
def linguistic(request: pytest.FixtureRequest) -> Iterator[tuple[sa.URL, sa.Engine]]:
    """A warehouse whose text comparisons are linguistic ('apple' before 'Banana'): on
    PostgreSQL a database collated by ICU's en-US, on DuckDB ``default_collation`` NOCASE."""
    if request.param == "postgresql":
        url: sa.URL = request.getfixturevalue("pg_icu_warehouse_url")
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    else:
        url = request.getfixturevalue("duckdb_warehouse_url")
        engine = sa.create_engine(
            url,
            poolclass=sa.pool.NullPool,
            connect_args={"config": {"default_collation": "nocase"}},
        )
    try:
        yield url, engine
    finally:
        engine.dispose()


def test_collation_never_picks_the_row(
    linguistic: tuple[sa.URL, sa.Engine], tmp_path: Path
) -> None:
    url, engine = linguistic
    logs, songs = tmp_path / "logs", tmp_path / "songs"
    logs.mkdir()
    songs.mkdir()
    # Two staged songs share an id, two events share a user's latest moment: a tie each,
    # broken by text. By bytes 'B' < 'a' and 'Z' < 'w'; a linguistic order says otherwise.
    base = dict(EVENTS[0], page="Home", userId="900", level="free")
    (logs / "e.json").write_bytes(
        _lines([dict(base, firstName="walter"), dict(base, firstName="Zed")])
    )
    (songs / "s.json").write_bytes(_lines([dict(SONG, title="apple"), dict(SONG, title="Banana")]))
    _load(engine, url, logs, songs)
    assert [r[1] for r in table_rows(url, "songs")] == ["Banana"]
    assert [r[1] for r in table_rows(url, "users") if r[0] == 900] == ["Zed"]


def test_collation_never_numbers_the_rejected_records(
    linguistic: tuple[sa.URL, sa.Engine], tmp_path: Path
) -> None:
    url, engine = linguistic
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("a.json", "B.json"):  # by bytes B.json comes first
        (logs / name).write_bytes(b"not json\n" + _lines(EVENTS[:2]))
    with pytest.raises(load.TooManyRejected) as info:
        _load(engine, url, logs)
    assert f"first at {logs / 'B.json'}:1: malformed JSON" in str(info.value)
    result = _load(engine, url, logs, max_errors=2)
    assert [(no, Path(src).name) for no, src, _, _ in _errors(url, result.load_id)] == [
        (1, "B.json"),
        (2, "a.json"),
    ]


def test_rejected_records_are_numbered_by_file_name_whoever_reads_the_file(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    # On DuckDB the big file goes to DuckDB's reader and the small one to Python's framing,
    # which used to number the big file's records first whatever the names.
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_bytes(b"not json\n" + _lines(EVENTS[:2]))
    (logs / "z.json").write_bytes(b"not json\n" + _big(EVENTS[:2]))
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with pytest.raises(load.TooManyRejected) as info:
            _load(engine, warehouse_url, logs)
        result = _load(engine, warehouse_url, logs, max_errors=2)
    finally:
        engine.dispose()
    assert f"first at {logs / 'a.json'}:1: malformed JSON" in str(info.value)
    numbered = [(no, Path(src).name) for no, src, _, _ in _errors(warehouse_url, result.load_id)]
    assert numbered == [(1, "a.json"), (2, "z.json")]


# --- byte-order marks: one is dropped, on every path --------------------------------------------


def test_a_second_byte_order_mark_rejects_the_first_record(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "big.json").write_bytes(BOM + BOM + _big(EVENTS[:3]))  # DuckDB's own reader
    (logs / "small.json").write_bytes(BOM + BOM + _lines(EVENTS[:3]))  # framed by Python
    (logs / "one.json").write_bytes(BOM + _big(EVENTS[3:6]))  # one mark: every record loads
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        result = _load(engine, warehouse_url, logs, max_errors=2)
    finally:
        engine.dispose()
    reason = "malformed JSON: Expecting value (column 1)"
    assert [(Path(s).name, line, why) for _, s, line, why in _errors(warehouse_url, 1)] == [
        ("big.json", 1, reason),
        ("small.json", 1, reason),
    ]
    assert result.rejected["staging_events"] == 2


# --- file names: kept to the byte -----------------------------------------------------------------


def test_a_file_name_with_a_tab_and_a_newline_is_kept_exactly(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    small, big = logs / "day\tone\nsmall.json", logs / "day\tone\nbig.json"
    small.write_bytes(b"not json\n" + _lines(EVENTS[:2]))  # framed by Python
    big.write_bytes(b"not json\n" + _big(EVENTS[:2]))  # DuckDB's own reader
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        result = _load(engine, warehouse_url, logs, max_errors=2)
    finally:
        engine.dispose()
    sources = sorted(src for _, src, _, _ in _errors(warehouse_url, result.load_id))
    assert sources == sorted([str(big), str(small)])
    files = {r[1] for r in table_rows(warehouse_url, LOAD_FILES.name)}
    assert {str(big), str(small)} <= files


# --- a quiet first day ----------------------------------------------------------------------------


def test_first_load_of_a_quiet_day_succeeds(warehouse_url: sa.URL, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    # Logged-out visitors only: no user, no NextSong, so no user, time or songplay to insert.
    quiet = [dict(e, page="Home", userId="", auth="Logged Out") for e in EVENTS[:5]]
    (logs / "quiet.json").write_bytes(_lines(quiet))
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        result = _load(engine, warehouse_url, logs)
    finally:
        engine.dispose()
    assert result.staged["staging_events"] == 5
    assert table_rows(warehouse_url, "songplays") == []
    assert table_rows(warehouse_url, "users") == []
    assert len(table_rows(warehouse_url, "songs")) == 36


def test_a_load_that_should_insert_plays_and_did_not_fails_its_check(
    warehouse_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "day.json").write_bytes(_lines(EVENTS[:20]))
    steps = transform.steps
    monkeypatch.setattr(
        transform,
        "steps",
        lambda *a, **kw: [s for s in steps(*a, **kw) if s.table not in ("songplays", "time")],
    )
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with pytest.raises(load.LoadError) as info:
            _load(engine, warehouse_url, logs)
    finally:
        engine.dispose()
    assert "songplays.not_empty" in str(info.value)
    assert "time.not_empty" in str(info.value)
