"""The analytics questions: the expected answers for the sample on every backend, the
Redshift SQL (golden text, run on PostgreSQL), the command, and an independent recount
of the expected file from the raw sample JSON."""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import analytics, answers, output
from sparkify_dw.cli import run_module
from tests.support import cli as run_cli
from tests.support.helpers import SAMPLE
from tests.support.redshift_mapping import for_postgresql

EXPECTED = SAMPLE / "expected_analytics.json"
assert EXPECTED == analytics.SAMPLE_EXPECTED
REDSHIFT = sa.create_engine(
    "redshift+redshift_connector://u@h:5439/dev", paramstyle="named"
).dialect
WINDOW: dict[str, Any] = {"start": dt.date(2018, 11, 5), "end": dt.datetime(2018, 11, 15, 12)}


def engine_for(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def text_of(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_module("analytics", list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m sparkify_dw.analytics ARGS``, run in this process."""
    return run_cli.module("analytics", *args)


@pytest.fixture
def loaded_duckdb(duckdb_loaded_url: sa.URL) -> sa.URL:
    return duckdb_loaded_url


def redshift_text_answers_as_the_api(engine: sa.Engine) -> None:
    """The text Redshift would get, run as-is on PostgreSQL, answers as the API does."""
    with engine.connect() as conn:
        for name, question in analytics.QUESTIONS.items():
            for params in ({"limit": 10}, {"limit": 5, **WINDOW}):
                text = str(
                    question.query(**params).compile(
                        dialect=REDSHIFT, compile_kwargs={"literal_binds": True}
                    )
                )
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(for_postgresql(text))  # no parameters: % goes as printed
                assert [tuple(r) for r in cursor.fetchall()] == [
                    tuple(r) for r in question(conn, **params)
                ], (name, params)


def test_sample_answers_equal_the_expected_file(loaded_url: sa.URL) -> None:
    """On PostgreSQL, also the Redshift-compiled SQL (one load serves both)."""
    warehouse_url = loaded_url
    code, out, err = run_main("--url", text_of(warehouse_url), "--verify", str(EXPECTED))
    assert (code, err) == (0, "")
    assert out.strip() == f"all {len(analytics.QUESTIONS)} answers match {EXPECTED}"
    if warehouse_url.get_backend_name() == "postgresql":
        redshift_text_answers_as_the_api(engine_for(warehouse_url))


def test_write_expected_reproduces_the_shipped_file(loaded_duckdb: sa.URL, tmp_path: Path) -> None:
    written = tmp_path / "expected.json"
    code, out, _ = run_main("--url", text_of(loaded_duckdb), "--write-expected", str(written))
    assert code == 0 and str(written) in out
    assert written.read_text(encoding="utf-8") == EXPECTED.read_text(encoding="utf-8")
    data = json.loads(written.read_text(encoding="utf-8"))
    assert list(data["questions"]) == list(analytics.QUESTIONS)


def test_write_expected_layout(tmp_path: Path) -> None:
    """One row per line, an empty answer as ``[]``, non-ASCII text as is; the file reads
    back as the document it was written from."""
    params = analytics.Params(3, dt.datetime(2018, 11, 5), None)
    written = {
        "top_songs": answers.Answer(["title", "plays"], [["Zoë \\/ “x”", 2], ["B", 1.5]]),
        "plays_by_hour": answers.Answer(["hour", "plays"], []),
    }
    path = tmp_path / "expected.json"
    answers.write_expected(path, params, written)
    text = path.read_text(encoding="utf-8")
    assert text == (
        '{\n  "parameters": {"limit": 3, "start": "2018-11-05T00:00:00", "end": null},\n'
        '  "questions": {\n    "top_songs": {\n      "title": "Most played songs",\n'
        '      "columns": ["title", "plays"],\n      "rows": [\n'
        '        ["Zoë \\\\/ “x”", 2],\n        ["B", 1.5]\n      ]\n    },\n'
        '    "plays_by_hour": {\n      "title": "Plays by hour of day (UTC)",\n'
        '      "columns": ["hour", "plays"],\n      "rows": []\n    }\n  }\n}\n'
    )
    assert json.loads(text) == answers.expected_document(params, written)
    assert answers.read_expected(path) == (params, written)


def test_verify_reports_each_difference(loaded_duckdb: sa.URL) -> None:
    _, expected = answers.read_expected(EXPECTED)
    free_before = dict(expected["users_by_level"].rows)["free"]
    engine = engine_for(loaded_duckdb)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM songplays WHERE song_id IS NOT NULL"))
        converted = conn.execute(
            sa.text("SELECT MIN(user_id) FROM users WHERE level = 'free'")
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE users SET level = 'paid' WHERE user_id = :u"), {"u": converted}
        )
    proc = cli("--url", text_of(loaded_duckdb), "--verify", str(EXPECTED))
    assert proc.returncode == 1, proc.stderr
    diffs = [ln for ln in proc.stdout.splitlines() if ln.startswith("DIFF ")]
    song = expected["top_songs"]
    fields = ", ".join(f"{c}={v!r}" for c, v in zip(song.columns, song.rows[0], strict=True))
    assert f"DIFF top_songs row 1: expected ({fields}) actual (no row)" in diffs
    assert (
        f"DIFF users_by_level row 1: expected (level='free', users={free_before}) "
        f"actual (level='free', users={free_before - 1})"
    ) in diffs
    assert any(d.startswith("DIFF matched_share row 1: expected (plays=") for d in diffs)
    for line in diffs:
        match = re.fullmatch(r"DIFF (\w+) row (\d+): expected \(.*\) actual \(.*\)", line)
        assert match and match[1] in analytics.QUESTIONS, line
    assert proc.stdout.splitlines()[-1] == f"{len(diffs)} differences from {EXPECTED}"


GOLDEN = {
    "top_songs": (
        "SELECT songs.song_id, songs.title, artists.name AS artist, count(*) AS plays, "
        "count(DISTINCT songplays.user_id) AS users FROM songplays JOIN songs ON songs.song_id = "
        "songplays.song_id LEFT OUTER JOIN artists ON artists.artist_id = songs.artist_id WHERE "
        "songplays.start_time >= '2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 "
        "12:00:00' GROUP BY songs.song_id, songs.title, artists.name ORDER BY plays DESC, "
        "COLLATE(songs.song_id, 'case_sensitive') LIMIT 5"
    ),
    "top_artists": (
        "SELECT artists.artist_id, artists.name AS artist, count(*) AS plays, count(DISTINCT "
        "songplays.user_id) AS users FROM songplays JOIN artists ON artists.artist_id = "
        "songplays.artist_id WHERE songplays.start_time >= '2018-11-05 00:00:00' AND "
        "songplays.start_time < '2018-11-15 12:00:00' GROUP BY artists.artist_id, artists.name "
        "ORDER BY plays DESC, COLLATE(artists.artist_id, 'case_sensitive') LIMIT 5"
    ),
    "plays_by_hour": (
        "SELECT time.hour, count(*) AS plays, count(DISTINCT songplays.user_id) AS users FROM "
        "songplays JOIN time ON time.start_time = songplays.start_time WHERE songplays.start_time"
        " >= '2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 12:00:00' GROUP BY "
        "time.hour ORDER BY time.hour"
    ),
    "plays_by_weekday": (
        "SELECT time.weekday, CASE time.weekday WHEN 0 THEN 'Sunday' WHEN 1 THEN 'Monday' WHEN 2 "
        "THEN 'Tuesday' WHEN 3 THEN 'Wednesday' WHEN 4 THEN 'Thursday' WHEN 5 THEN 'Friday' WHEN "
        "6 THEN 'Saturday' END AS day_name, count(*) AS plays, count(DISTINCT songplays.user_id) "
        "AS users FROM songplays JOIN time ON time.start_time = songplays.start_time WHERE "
        "songplays.start_time >= '2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 "
        "12:00:00' GROUP BY time.weekday ORDER BY time.weekday"
    ),
    "plays_by_level": (
        "SELECT songplays.level, count(*) AS plays, count(DISTINCT songplays.user_id) AS users "
        "FROM songplays WHERE songplays.start_time >= '2018-11-05 00:00:00' AND "
        "songplays.start_time < '2018-11-15 12:00:00' GROUP BY songplays.level ORDER BY "
        "COLLATE(songplays.level, 'case_sensitive')"
    ),
    "users_by_level": (
        "SELECT users.level, count(*) AS users FROM users GROUP BY users.level ORDER BY "
        "COLLATE(users.level, 'case_sensitive')"
    ),
    "most_active_users": (
        "SELECT users.user_id, users.first_name, users.last_name, users.level, count(*) AS plays,"
        " count(DISTINCT songplays.session_id) AS sessions FROM songplays JOIN users ON "
        "users.user_id = songplays.user_id WHERE songplays.start_time >= '2018-11-05 00:00:00' "
        "AND songplays.start_time < '2018-11-15 12:00:00' GROUP BY users.user_id, "
        "users.first_name, users.last_name, users.level ORDER BY plays DESC, users.user_id LIMIT "
        "5"
    ),
    "plays_per_day": (
        "SELECT CAST(songplays.start_time AS DATE) AS day, count(*) AS plays, count(CASE WHEN "
        "(songplays.level = 'free') THEN songplays.songplay_id END) AS free, count(CASE WHEN "
        "(songplays.level = 'paid') THEN songplays.songplay_id END) AS paid, count(DISTINCT "
        "songplays.user_id) AS users FROM songplays WHERE songplays.start_time >= '2018-11-05 "
        "00:00:00' AND songplays.start_time < '2018-11-15 12:00:00' GROUP BY "
        "CAST(songplays.start_time AS DATE) ORDER BY day"
    ),
    "matched_share": (
        "SELECT count(*) AS plays, count(songplays.song_id) AS matched, "
        "CAST(count(songplays.song_id) AS DOUBLE PRECISION) / nullif(count(*), 0) AS share FROM "
        "songplays WHERE songplays.start_time >= '2018-11-05 00:00:00' AND songplays.start_time <"
        " '2018-11-15 12:00:00'"
    ),
    "top_locations": (
        "SELECT songplays.location, count(*) AS plays, count(DISTINCT songplays.user_id) AS users"
        " FROM songplays WHERE songplays.location IS NOT NULL AND songplays.start_time >= "
        "'2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 12:00:00' GROUP BY "
        "songplays.location ORDER BY plays DESC, "
        "COLLATE(songplays.location, 'case_sensitive') LIMIT 5"
    ),
    "plays_by_browser": (
        "SELECT classified.browser, count(*) AS plays, count(DISTINCT classified.user_id) AS "
        "users FROM (SELECT CASE WHEN (songplays.user_agent IS NULL) THEN 'Unknown' WHEN "
        "(songplays.user_agent LIKE '%Edge/%' OR songplays.user_agent LIKE '%Edg/%') THEN 'Edge' "
        "WHEN (songplays.user_agent LIKE '%OPR/%' OR songplays.user_agent LIKE '%Opera%') THEN "
        "'Opera' WHEN (songplays.user_agent LIKE '%Firefox/%') THEN 'Firefox' WHEN "
        "(songplays.user_agent LIKE '%MSIE %' OR songplays.user_agent LIKE '%Trident/%') THEN "
        "'Internet Explorer' WHEN (songplays.user_agent LIKE '%Chromium/%') THEN 'Chromium' WHEN "
        "(songplays.user_agent LIKE '%Chrome/%' OR songplays.user_agent LIKE '%CriOS/%') THEN "
        "'Chrome' WHEN (songplays.user_agent LIKE '%Safari/%') THEN 'Safari' ELSE 'Other' END AS "
        "browser, songplays.user_id AS user_id FROM songplays WHERE songplays.start_time >= "
        "'2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 12:00:00') AS classified "
        "GROUP BY classified.browser ORDER BY plays DESC, "
        "COLLATE(classified.browser, 'case_sensitive')"
    ),
    "plays_by_os": (
        "SELECT classified.os, count(*) AS plays, count(DISTINCT classified.user_id) AS users "
        "FROM (SELECT CASE WHEN (songplays.user_agent IS NULL) THEN 'Unknown' WHEN "
        "(songplays.user_agent LIKE '%Windows%') THEN 'Windows' WHEN (songplays.user_agent LIKE "
        "'%iPhone%' OR songplays.user_agent LIKE '%iPad%' OR songplays.user_agent LIKE '%iPod%') "
        "THEN 'iOS' WHEN (songplays.user_agent LIKE '%Android%') THEN 'Android' WHEN "
        "(songplays.user_agent LIKE '%Macintosh%' OR songplays.user_agent LIKE '%Mac OS X%') THEN"
        " 'macOS' WHEN (songplays.user_agent LIKE '%Linux%' OR songplays.user_agent LIKE '%X11%')"
        " THEN 'Linux' ELSE 'Other' END AS os, songplays.user_id AS user_id FROM songplays WHERE "
        "songplays.start_time >= '2018-11-05 00:00:00' AND songplays.start_time < '2018-11-15 "
        "12:00:00') AS classified GROUP BY classified.os ORDER BY plays DESC, "
        "COLLATE(classified.os, 'case_sensitive')"
    ),
}


def test_redshift_sql_golden() -> None:
    assert list(GOLDEN) == list(analytics.QUESTIONS)
    for name, question in analytics.QUESTIONS.items():
        text = str(
            question.query(limit=5, **WINDOW).compile(
                dialect=REDSHIFT, compile_kwargs={"literal_binds": True}
            )
        )
        assert " ".join(text.split()) == "".join(GOLDEN[name]), name


# --- the expected file, recounted from the raw sample JSON without the library -------------


def _json_values(path: Path) -> list[dict[str, Any]]:
    text, decoder, pos = path.read_text(encoding="utf-8"), json.JSONDecoder(), 0
    out: list[dict[str, Any]] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        value, pos = decoder.raw_decode(text, pos)
        out.append(value)


def test_expected_file_agrees_with_a_recount_of_the_sample() -> None:
    events = [e for p in sorted((SAMPLE / "log_data").rglob("*.json")) for e in _json_values(p)]
    songs = [s for p in sorted((SAMPLE / "song_data").rglob("*.json")) for s in _json_values(p)]
    plays = {
        (e["ts"], e["userId"], e["sessionId"], e["itemInSession"]): e
        for e in events
        if e["page"] == "NextSong" and e["userId"]
    }
    latest: dict[str, tuple[tuple[int, int, int], str]] = {}
    for e in events:
        key = (e["ts"], e["sessionId"], e["itemInSession"])
        if e["userId"] and (e["userId"] not in latest or key > latest[e["userId"]][0]):
            latest[e["userId"]] = (key, e["level"])
    utc = [dt.datetime.fromtimestamp(ts / 1000, dt.UTC) for ts, *_ in plays]
    catalogue = {(s["title"], s["artist_name"], int(s["duration"] * 1000 + 0.5)) for s in songs}
    matched = sum(
        (e["song"], e["artist"], int(e["length"] * 1000 + 0.5)) in catalogue for e in plays.values()
    )
    per_user = collections.Counter(int(e["userId"]) for e in plays.values())

    _, expected = answers.read_expected(EXPECTED)
    rows = {name: answer.rows for name, answer in expected.items()}
    assert rows["matched_share"] == [[len(plays), matched, matched / len(plays)]]
    assert rows["users_by_level"] == sorted(
        [level, n] for level, n in collections.Counter(lv for _, lv in latest.values()).items()
    )
    by_level = collections.Counter(e["level"] for e in plays.values())
    assert [r[:2] for r in rows["plays_by_level"]] == sorted(map(list, by_level.items()))
    assert [r[:2] for r in rows["plays_by_hour"]] == sorted(
        map(list, collections.Counter(t.hour for t in utc).items())
    )
    assert [r[:2] for r in rows["plays_per_day"]] == sorted(
        [d.isoformat(), n] for d, n in collections.Counter(t.date() for t in utc).items()
    )
    assert [r[0] for r in rows["most_active_users"]] == [
        u for u, _ in sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))
    ][:10]
    assert sum(r[1] for r in rows["plays_by_browser"]) == len(plays)
    assert sum(r[1] for r in rows["plays_by_os"]) == len(plays)


# --- parameters, frames, the command -------------------------------------------------------


def test_window_splits_the_plays(loaded_duckdb: sa.URL) -> None:
    engine = engine_for(loaded_duckdb)
    cut = dt.date(2018, 11, 10)
    total = analytics.matched_share(engine)[0].plays
    before = analytics.plays_per_day(engine, end=cut)
    after = analytics.plays_per_day(engine, start=cut)
    assert before and after and sum(r.plays for r in before) + sum(r.plays for r in after) == total
    assert max(r.day for r in before) < cut <= min(r.day for r in after)
    assert analytics.plays_by_hour(engine, start=cut, end=cut) == []
    assert (
        sum(r.plays for r in analytics.plays_by_weekday(engine, **WINDOW))
        == analytics.matched_share(engine, **WINDOW)[0].plays
    )
    top = analytics.most_active_users(engine, limit=3)
    assert len(top) == 3 and [r.plays for r in top] == sorted((r.plays for r in top), reverse=True)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        analytics.top_songs(engine, limit=0)


def test_iso_text_is_a_date(loaded_duckdb: sa.URL) -> None:
    engine = engine_for(loaded_duckdb)
    assert analytics.plays_by_hour(engine, start="2018-11-10") == analytics.plays_by_hour(
        engine, start=dt.date(2018, 11, 10)
    )
    assert analytics.plays_per_day(
        engine, start="2018-11-10T00:00", end="2018-11-11"
    ) == analytics.plays_per_day(engine, start=dt.date(2018, 11, 10), end=dt.date(2018, 11, 11))
    with pytest.raises(ValueError, match="start: not an ISO date or date-time: '10/11/2018'"):
        analytics.plays_by_hour(engine, start="10/11/2018")
    with pytest.raises(TypeError, match="end: expected a date, a datetime or ISO text, not int"):
        analytics.plays_by_hour(engine, end=20181110)  # type: ignore[call-overload]


def test_frames_carry_dtypes(loaded_duckdb: sa.URL) -> None:
    pytest.importorskip("pandas")
    engine = engine_for(loaded_duckdb)
    days = analytics.plays_per_day(engine, as_frame=True)
    assert str(days["day"].dtype).startswith("datetime64")
    assert all(str(days[c].dtype) != "object" for c in days.columns if c != "level")


def test_as_frame(loaded_duckdb: sa.URL, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas")
    engine = engine_for(loaded_duckdb)
    rows = analytics.plays_by_os(engine)
    frame = analytics.plays_by_os(engine, as_frame=True)
    assert list(frame.columns) == ["os", "plays", "users"]
    assert [tuple(r) for r in frame.itertuples(index=False)] == [tuple(r) for r in rows]
    empty = analytics.top_songs(engine, start=dt.date(2030, 1, 1), as_frame=True)
    assert empty.empty and list(empty.columns) == ["song_id", "title", "artist", "plays", "users"]
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r"needs pandas: pip install 'sparkify_dw\[notebook\]'"):
        analytics.plays_by_os(engine, as_frame=True)


def test_command_prints_every_question(loaded_duckdb: sa.URL) -> None:
    code, out, _ = run_main("--url", text_of(loaded_duckdb), "--limit", "3")
    assert code == 0
    for question in analytics.QUESTIONS.values():
        title = question.title + (" (top 3)" if question.uses_limit else "")
        assert f"\n{title}\n{'=' * len(title)}\n" in out
    table = out.split("Most active users (top 3)\n")[1].split("\n\n")[0].splitlines()[1:]
    assert table[0].split() == ["user_id", "first_name", "last_name", "level", "plays", "sessions"]
    assert len(table) == 2 + 3  # header, rule, --limit rows


def test_the_renderer_aligns_columns() -> None:
    """Analytics hands its answers to the one renderer (sparkify_dw.output)."""
    answer = answers.Answer(["name", "plays", "share"], [["a", 5, 0.5], ["bbbb", 1234, None]])
    assert output.table_lines(answer.columns, answer.rows) == [
        "name  plays     share",
        "----  -----  --------",
        "a         5  50.0000%",
        "bbbb  1,234",
    ]


def test_command_errors(loaded_duckdb: sa.URL, tmp_path: Path) -> None:
    url = text_of(loaded_duckdb)
    code, _, err = run_main("--url", url, "--verify", str(EXPECTED), "--limit", "3")
    assert code == 2 and err.startswith("error: ") and "drop --limit" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _, err = run_main("--url", url, "--verify", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}: not an expected-results file")
    code, _, err = run_main("--url", "postgresql+psycopg://u:pa55-secret@127.0.0.1:1/x")
    assert code == 1 and err.count("\n") == 1 and "pa55-secret" not in err
