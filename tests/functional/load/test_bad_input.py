"""Bad records are quarantined, bad sources are one clear line, on DuckDB and PostgreSQL."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import load
from sparkify_dw.cli import run_module
from sparkify_dw.models import LOAD_ERRORS, LOADS
from tests.support.helpers import SAMPLE, run_load, star_snapshot, table_rows

DAY = SAMPLE / "log_data" / "2018" / "11" / "2018-11-02-events.json"


def events(n: int) -> list[dict[str, Any]]:
    lines = DAY.read_text().splitlines()
    return [json.loads(line) for line in lines[:n]]


def dumps(record: object) -> bytes:
    return json.dumps(record).encode()


def corpus(root: Path) -> tuple[Path, list[tuple[str, int, str]], int]:
    """A log_data tree with every kind of bad record; returns (dir, expected errors, read)."""
    e = events(12)
    root.mkdir()
    (root / "good.json").write_bytes(b"\n".join(dumps(r) for r in e[:3]) + b"\n")
    long_artist = dict(e[4], artist="é" * 257)  # 514 bytes in 257 characters
    bad = [
        dumps(e[3]),  # 1 good
        b'{"artist": "broken", "auth":',  # 2 malformed JSON
        b"",  # 3 blank: not a record
        b"[1, 2, 3]",  # 4 not an object
        dumps(dict(e[5], ts="yesterday")),  # 5 ts not a number
        dumps(dict(e[6], userId="abc")),  # 6 userId not numeric
        dumps(dict(e[7], itemInSession="first")),  # 7 itemInSession as text
        json.dumps(long_artist, ensure_ascii=False).encode(),  # 8 longer than the column
        dumps(e[8]).replace(b'"', b'"\xff', 1),  # 9 invalid UTF-8
        dumps(dict(e[9], userId="", page="Home")),  # 10 good: "" is NULL
        dumps(dict(e[10], itemInSession=1.5)),  # 11 not an integer
        dumps(dict(e[1], song="a\x00b")),  # 12 \u0000: PostgreSQL can't hold it
        dumps(e[2]).replace(b'"length": ', b'"length": NaN, "x": '),  # 13 NaN is not JSON
    ]
    (root / "bad.json").write_bytes(b"\n".join(bad) + b"\n")
    (root / "bom.json").write_bytes(b"\xef\xbb\xbf" + dumps(e[11]) + b"\r\n")
    pretty = json.dumps(e[0], indent=2).encode()  # a duplicate of good.json's first event
    (root / "pretty.json").write_bytes(pretty + b"\n" + b'{"ts": 1,\n')
    pretty_lines = pretty.count(b"\n") + 1
    expected = [
        ("bad.json", 2, "malformed JSON"),
        ("bad.json", 4, "not a JSON object"),
        ("bad.json", 5, "ts: not a valid biginteger: yesterday"),
        ("bad.json", 6, "userId: not a valid integer: abc"),
        ("bad.json", 7, "itemInSession: not a valid integer: first"),
        ("bad.json", 8, "artist: 514 bytes, longer than 512"),
        ("bad.json", 9, "invalid UTF-8"),
        ("bad.json", 11, "itemInSession: not a valid integer: a number out of range or not whole"),
        ("bad.json", 12, "contains \\u0000"),
        ("bad.json", 13, "malformed JSON"),
        ("pretty.json", pretty_lines + 1, "malformed JSON"),
    ]
    read = 3 + 12 + 1 + 2
    return root, expected, read


def error_rows(url: sa.URL, load_id: int) -> list[tuple[str, int, str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                LOAD_ERRORS.c.source,
                LOAD_ERRORS.c.line_no,
                LOAD_ERRORS.c.reason,
                LOAD_ERRORS.c.error_no,
            )
            .where(LOAD_ERRORS.c.load_id == load_id)
            .order_by(LOAD_ERRORS.c.error_no)
        ).all()
    engine.dispose()
    return [(Path(src).name, line, reason) for src, line, reason, _ in rows]


def matches(actual: list[tuple[str, int, str]], expected: list[tuple[str, int, str]]) -> bool:
    return len(actual) == len(expected) and all(
        a[:2] == e[:2] and a[2].startswith(e[2]) for a, e in zip(actual, expected, strict=True)
    )


def test_bad_records_are_quarantined_within_max_errors(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    logs, expected, read = corpus(tmp_path / "logs")
    result = run_load(warehouse_url, log_data=logs, max_errors=len(expected))
    assert result.read["staging_events"] == read
    assert result.rejected["staging_events"] == len(expected)
    staged = len(table_rows(warehouse_url, "staging_events"))
    assert staged == result.staged["staging_events"] == read - len(expected)
    actual = error_rows(warehouse_url, result.load_id or 0)
    assert matches(actual, expected), actual
    # The empty userId staged as NULL, the BOM was skipped, the pretty record was read.
    rows = table_rows(warehouse_url, "staging_events")
    assert sum(1 for r in rows if r[-1] is None) == 1
    assert f"rejected  {len(expected)} record(s)" in result.summary()


def test_above_max_errors_nothing_changes(loaded_url: sa.URL, tmp_path: Path) -> None:
    warehouse_url = loaded_url  # the sample, loaded as load 1
    before = star_snapshot(warehouse_url)
    staging_before = table_rows(warehouse_url, "staging_events")
    logs, expected, _ = corpus(tmp_path / "logs")
    with pytest.raises(load.LoadError) as info:
        run_load(warehouse_url, log_data=logs, max_errors=len(expected) - 1)
    message = str(info.value)
    assert "11 of 54 records rejected, more than --max-errors 10" in message  # 18 events, 36 songs
    assert f"bad.json:2: {expected[0][2]}" in message
    assert star_snapshot(warehouse_url) == before
    assert table_rows(warehouse_url, "staging_events") == staging_before
    # The ledger says the load failed and keeps what it rejected.
    loads = table_rows(warehouse_url, "loads")
    statuses = sorted((r[0], r[3]) for r in loads)
    assert statuses == [(1, "succeeded"), (2, "failed")]
    assert matches(error_rows(warehouse_url, 2), expected)


def test_both_backends_reject_the_same_records(
    duckdb_url: sa.URL, pg_url: sa.URL, tmp_path: Path
) -> None:
    from sparkify_dw import schema

    logs, expected, _ = corpus(tmp_path / "logs")
    found = []
    for url in (duckdb_url, pg_url):
        schema.upgrade(url)
        result = run_load(url, log_data=logs, max_errors=100)
        found.append((error_rows(url, result.load_id or 0), table_rows(url, "staging_events")))
    assert found[0] == found[1]
    assert matches(found[0][0], expected)


def cli(url: sa.URL, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_module("load", ["--url", url.render_as_string(hide_password=False), *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_reports_rejections_and_lists_them(warehouse_url: sa.URL, tmp_path: Path) -> None:
    logs, _, _ = corpus(tmp_path / "logs")
    code, out, err = cli(warehouse_url, "--log-data", str(logs))
    assert code == 1 and out.count("\n") == 1  # "loading into …" only
    assert err.startswith("error: 11 of 54 records rejected") and err.count("\n") == 1
    assert "Traceback" not in err
    code, out, _ = cli(warehouse_url, "--log-data", str(logs), "--max-errors", "11")
    assert code == 0 and "list them with `sparkify-dw errors 2`" in out
    code, out, _ = cli(warehouse_url, "--errors")
    assert code == 0 and out.startswith("load #2 rejected 11 record(s)")
    assert "bad.json:4" in out and "not a JSON object" in out
    code, out, _ = cli(warehouse_url, "--history")
    assert code == 0 and "failed" in out and "succeeded" in out


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    songs = tmp_path / "songs"
    shutil.copytree(SAMPLE / "song_data", songs)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    empty_file = tmp_path / "empty.json"
    empty_file.write_bytes(b"")
    with_empty = tmp_path / "with_empty"
    shutil.copytree(SAMPLE / "log_data", with_empty)
    (with_empty / "2018" / "11" / "2018-11-31-events.json").write_bytes(b"")
    (with_empty / "notes.txt").write_text("not data")
    short_paths = tmp_path / "short.json"
    short_paths.write_text('{"jsonpaths": ["$.artist"]}')
    broken_paths = tmp_path / "broken.json"
    broken_paths.write_text('{"jsonpaths": ["$.artist",')
    return {
        "songs": songs,
        "empty_dir": empty_dir,
        "empty_file": empty_file,
        "with_empty": with_empty,
        "short": short_paths,
        "broken": broken_paths,
        "missing": tmp_path / "missing",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-data", "{empty_file}"], "log_data: {empty_file}: the file is empty"),
        (["--log-data", "{empty_dir}"], "log_data: {empty_dir}: no *.json files in this directory"),
        (["--song-data", "{missing}"], "song_data: {missing}: no such file or directory"),
        (
            ["--log-jsonpath", "{short}"],
            "log_jsonpath: {short}: has 1 paths, staging_events has 18",
        ),
        (["--log-jsonpath", "{broken}"], "log_jsonpath: {broken}: not valid JSON"),
        (["--log-jsonpath", "{missing}"], "log_jsonpath: {missing}: no such file"),
    ],
)
def test_bad_sources_are_one_line(
    warehouse_url: sa.URL, sources: dict[str, Path], args: list[str], message: str
) -> None:
    code, _, err = cli(warehouse_url, *[a.format(**sources) for a in args])
    assert code == 2
    assert err.startswith("error: " + message.format(**sources)), err
    assert err.count("\n") == 1 and "Traceback" not in err
    # Refused before the load began: nothing staged or loaded, and no ledger row (exit 2).
    assert table_rows(warehouse_url, "staging_events") == []
    assert all(not rows for rows in star_snapshot(warehouse_url).values())
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        ledger = conn.execute(sa.select(LOADS.c.status, LOADS.c.message)).all()
    engine.dispose()
    assert ledger == []


def test_empty_and_non_json_files_in_a_tree_are_skipped_with_a_warning(
    warehouse_url: sa.URL, sources: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    result = run_load(warehouse_url, log_data=sources["with_empty"])
    assert result.staged["staging_events"] == 4091 and not result.rejected["staging_events"]
    assert "skipped 1 empty file(s)" in caplog.text
    assert "ignored 1 file(s) not named *.json" in caplog.text


def test_duckdb_fast_path_and_framed_path_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB reads big files itself and small ones through Python: same verdicts."""
    from sparkify_dw import schema
    from sparkify_dw.backends.duckdb import backend as duckdb_backend

    logs, expected, _ = corpus(tmp_path / "logs")
    found = []
    for threshold in (0, 1 << 40):  # everything on DuckDB's reader; everything framed
        monkeypatch.setattr(duckdb_backend, "SMALL_FILE_BYTES", threshold)
        url = sa.make_url(f"duckdb:///{tmp_path / f'w{threshold}.duckdb'}")
        schema.upgrade(url)
        result = run_load(url, log_data=logs, max_errors=100)
        found.append(
            (
                error_rows(url, result.load_id or 0),
                table_rows(url, "staging_events"),
                star_snapshot(url),
            )
        )
    assert found[0] == found[1]
    assert matches(found[0][0], expected)


def test_postgresql_fast_path_rejects_like_duckdb(
    duckdb_url: sa.URL, pg_url: sa.URL, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every line a JSON value on its own: PostgreSQL parses them without Python framing
    and still rejects exactly what DuckDB rejects."""
    import logging

    from sparkify_dw import schema

    logs, _, _ = corpus(tmp_path / "logs")
    (logs / "pretty.json").unlink()
    lines = (logs / "bad.json").read_bytes().split(b"\n")
    keep = [ln for i, ln in enumerate(lines, start=1) if i not in (2, 9, 12, 13)]
    (logs / "bad.json").write_bytes(b"\n".join(keep))
    caplog.set_level(logging.INFO, logger="sparkify_dw.backends.postgresql")
    found = []
    for url in (duckdb_url, pg_url):
        schema.upgrade(url)
        result = run_load(url, log_data=logs, max_errors=100)
        found.append((error_rows(url, result.load_id or 0), table_rows(url, "staging_events")))
    assert "framing each record" not in caplog.text
    assert found[0] == found[1]
    assert [reason.split(":")[0] for _, _, reason in found[0][0]] == [
        "not a JSON object",
        "ts",
        "userId",
        "itemInSession",
        "artist",
        "itemInSession",
    ]


def test_failed_copy_is_reported_from_the_engines_error_table(
    duckdb_url: sa.URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redshift's way: COPY fails above MAXERROR and stl_load_errors holds the records. The
    load names the first one, keeps them in load_errors and changes nothing else."""
    from sparkify_dw import backends, schema
    from sparkify_dw.backends import plan
    from sparkify_dw.backends.duckdb.backend import DuckDBBackend

    class CopyGivesUp(DuckDBBackend):
        capabilities = backends.Capabilities(rejects_reported_by="engine")

        def stage_plan(self, request: Any) -> list[plan.Step]:
            failing = sa.text("SELECT error('Load into table failed. Check stl_load_errors')")
            return [plan.Sql(failing)]

        def failed_copy_errors(
            self, conn: sa.Connection, limit: int, failure: BaseException
        ) -> list[dict[str, object]]:
            return [
                {
                    "source": "s3://b/log_data/2018-11-01-events.json",
                    "line_no": 7,
                    "reason": "ts: Invalid digit, Value 'y'",
                    "raw_text": '{"ts": "y"}',
                }
            ]

    monkeypatch.setattr(
        backends,
        "for_settings",
        lambda settings, max_errors=0, wait=600.0: CopyGivesUp(settings, max_errors, wait),
    )
    schema.upgrade(duckdb_url)
    with pytest.raises(load.TooManyRejected) as info:
        run_load(duckdb_url)
    assert str(info.value).startswith(
        "COPY rejected more than --max-errors 0 records; first at "
        "s3://b/log_data/2018-11-01-events.json:7: ts: Invalid digit"
    )
    assert error_rows(duckdb_url, 1) == [
        ("2018-11-01-events.json", 7, "ts: Invalid digit, Value 'y'")
    ]
    assert table_rows(duckdb_url, "loads")[0][3] == "failed"
    assert all(not rows for rows in star_snapshot(duckdb_url).values())


def test_next_song_without_a_user_is_reported_not_loaded(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    """A NextSong event missing a column songplays requires can't be a play: the load goes
    on, says how many, and keeps the event in staging."""
    e = events(40)
    plays = [r for r in e if r["page"] == "NextSong"][:4]
    plays[0] = dict(plays[0], userId="")
    plays[1] = dict(plays[1], sessionId=None)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "day.json").write_bytes(b"\n".join(dumps(r) for r in plays) + b"\n")
    result = run_load(warehouse_url, log_data=logs)
    assert result.unplayable == 2 and result.inserted["songplays"] == 2
    assert "skipped   2 NextSong event(s)" in result.summary()
    assert len(table_rows(warehouse_url, "staging_events")) == 4
