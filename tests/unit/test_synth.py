"""Tests for the synthetic data generator: the files must look like the public
Sparkify data byte for byte where the loader could notice, and be reproducible."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from sparkify_dw.synth import LOG_KEYS, SONG_KEYS, Summary, SynthError, generate

REPO = Path(__file__).resolve().parents[2]
EVENTS, SONGS, DAYS, SEED = 3000, 200, 7, 7
TRACK_RE = re.compile(r"TR[A-Z0-9]{16}\.json")
DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-events\.json")


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, for byte comparisons."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _log_json(obj: dict[str, Any]) -> str:
    """How the real log files serialise a record: compact, \\u escapes, \\/."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")


class Data:
    """One generated tree, parsed once for all the read-only tests."""

    def __init__(self, root: Path, summary: Summary) -> None:
        self.root = root
        self.summary = summary
        self.log_files = sorted((root / "log_data").rglob("*.json"))
        self.song_files = sorted((root / "song_data").rglob("*.json"))
        self.lines: list[tuple[Path, str]] = []
        for path in self.log_files:
            text = path.read_text(encoding="ascii")
            self.lines.extend((path, line) for line in text.split("\n"))
        self.events = [json.loads(line) for _, line in self.lines if line]
        self.songs = [json.loads(p.read_text(encoding="ascii")) for p in self.song_files]

    @property
    def plays(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["page"] == "NextSong"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    root = tmp_path_factory.mktemp("synth") / "out"
    return Data(root, generate(root, EVENTS, SONGS, DAYS, SEED))


# --------------------------------------------------------------------------- layout


def test_song_files_follow_the_public_layout(data: Data) -> None:
    assert len(data.song_files) == SONGS == data.summary.songs
    for path in data.song_files:
        rel = path.relative_to(data.root / "song_data").parts
        assert len(rel) == 4 and TRACK_RE.fullmatch(rel[3]), rel
        assert rel[:3] == tuple(rel[3][2:5])  # folders are the 3rd-5th characters


def test_log_files_follow_the_public_layout(data: Data) -> None:
    assert len(data.log_files) == data.summary.files
    assert 1 <= data.summary.files <= DAYS
    for path in data.log_files:
        year, month, day = DAY_RE.fullmatch(path.name).groups()  # type: ignore[union-attr]
        assert path.parent == data.root / "log_data" / year / month
        assert date(2018, 11, 1) <= date(int(year), int(month), int(day)) < date(2018, 11, 8)


def test_song_files_are_formatted_like_the_sample(data: Data) -> None:
    for path, song in zip(data.song_files, data.songs, strict=True):
        text = path.read_text(encoding="ascii")
        assert list(song) == list(SONG_KEYS)
        assert text == json.dumps(song)  # ", " and ": " separators, \u escapes, no newline
        assert song["num_songs"] == 1
        assert re.fullmatch(r"AR[A-Z0-9]{16}", song["artist_id"])
        assert re.fullmatch(r"SO[A-Z0-9]{16}", song["song_id"])
        assert isinstance(song["duration"], float) and isinstance(song["year"], int)
    assert len({s["song_id"] for s in data.songs}) == SONGS


def test_every_log_line_parses_with_the_real_keys_and_bytes(data: Data) -> None:
    for path, line in data.lines:
        if not line:
            continue
        event = json.loads(line)
        assert tuple(event) == LOG_KEYS
        assert line == _log_json(event), path  # byte-exact re-serialisation
        assert isinstance(event["userId"], str)
        assert isinstance(event["ts"], int) and event["ts"] % 1000 == 796
        assert isinstance(event["sessionId"], int) and isinstance(event["itemInSession"], int)
        assert event["registration"] is None or isinstance(event["registration"], float)
        ts_day = datetime.fromtimestamp(event["ts"] / 1000, UTC).strftime("%Y-%m-%d")
        assert path.name == f"{ts_day}-events.json"
    assert len(data.events) == EVENTS == data.summary.events


def test_pages_methods_statuses_and_nulls(data: Data) -> None:
    statuses = {(e["page"], e["method"], e["status"]) for e in data.events}
    assert ("NextSong", "PUT", 200) in statuses
    assert ("Home", "GET", 200) in statuses
    assert ("Logout", "PUT", 307) in statuses
    assert {m for _, m, _ in statuses} == {"GET", "PUT"}
    assert {s for _, _, s in statuses} <= {200, 307, 404}
    for e in data.events:
        song_fields = (e["artist"], e["song"], e["length"])
        if e["page"] == "NextSong":
            assert e["method"] == "PUT" and None not in song_fields
            assert isinstance(e["length"], float)
        else:
            assert song_fields == (None, None, None)
        if e["auth"] in ("Logged Out", "Guest"):
            assert e["userId"] == ""
            assert e["firstName"] is e["lastName"] is e["registration"] is None
            assert e["userAgent"] is None and e["location"] is None
        else:
            assert e["auth"] in ("Logged In", "Cancelled")
            assert e["userId"] and e["firstName"] and isinstance(e["registration"], float)


def test_sessions_are_consecutive_per_user(data: Data) -> None:
    sessions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for path in data.log_files:
        stamps = [json.loads(line)["ts"] for line in path.read_text().split("\n") if line]
        assert stamps == sorted(stamps), path
    for e in data.events:
        sessions[e["sessionId"]].append(e)
    for events in sessions.values():
        assert [e["itemInSession"] for e in events] == list(range(len(events)))
        stamps = [e["ts"] for e in events]
        assert all(a < b for a, b in pairwise(stamps))
        assert len({e["userId"] for e in events if e["userId"]}) <= 1


# --------------------------------------------------------------------------- traits


def test_real_data_traits_are_present(data: Data) -> None:
    pages = Counter(e["page"] for e in data.events)
    assert pages.most_common(1)[0][0] == "NextSong"
    assert 0.7 < pages["NextSong"] / len(data.events) < 0.9
    assert {"Home", "Login", "Logout", "Thumbs Up", "Add to Playlist"} <= set(pages)
    assert any(e["userId"] == "" for e in data.events)
    levels: dict[str, set[str]] = defaultdict(set)
    for e in data.events:
        if e["userId"]:
            levels[e["userId"]].add(e["level"])
    assert any(len(v) == 2 for v in levels.values())
    names = {e["firstName"] + " " + e["lastName"] for e in data.events if e["firstName"]}
    assert any(not n.isascii() for n in names)
    assert any(not e["artist"].isascii() for e in data.plays)
    agents = [e["userAgent"] for e in data.events if e["userAgent"]]
    assert any(a.startswith('"Mozilla/5.0') and a.endswith('"') for a in agents)
    raw = "\n".join(line for _, line in data.lines)
    assert '"userAgent":"\\"Mozilla\\/5.0 (' in raw
    assert re.search(r'"registration":\d{13}\.0,', raw)
    assert "\\u00" in raw and raw.isascii()


def test_song_traits_are_present(data: Data) -> None:
    assert any(s["year"] == 0 for s in data.songs)
    assert any(s["year"] > 0 for s in data.songs)
    assert any(s["artist_latitude"] is None for s in data.songs)
    assert any(isinstance(s["artist_latitude"], float) for s in data.songs)
    assert any(s["artist_location"] == "" for s in data.songs)
    assert any(not s["title"].isascii() for s in data.songs)
    names: dict[str, set[str]] = defaultdict(set)
    for s in data.songs:
        names[s["artist_id"]].add(s["artist_name"])
    assert sum(len(v) > 1 for v in names.values()) == 1


def test_blank_lines_like_the_first_real_file(data: Data) -> None:
    first = data.log_files[0].read_text().split("\n")
    assert first[1] == "" and first[3] == ""  # as in 2018-11-01-events.json
    blanks = sum(1 for _, line in data.lines if not line)
    assert blanks == data.summary.blank_lines >= 2
    assert not data.log_files[0].read_text().endswith("\n")


def test_summary_counts_match_the_files(data: Data) -> None:
    assert data.summary.next_song == len(data.plays)
    assert data.summary.users == len({e["userId"] for e in data.events} - {""})
    assert data.summary.sessions == len({e["sessionId"] for e in data.events})


def _matched(data: Data) -> int:
    catalogue = {(s["title"], s["artist_name"], s["duration"]) for s in data.songs}
    return sum((e["song"], e["artist"], e["length"]) in catalogue for e in data.plays)


def test_match_share_is_honoured(data: Data) -> None:
    matched = _matched(data)
    assert matched == data.summary.matched
    assert 0.42 < matched / len(data.plays) < 0.58


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_match_share_extremes(tmp_path: Path, share: float) -> None:
    out = tmp_path / "out"
    summary = generate(out, 500, 30, 2, 1, match_share=share)
    got = _matched(Data(out, summary))
    assert got == summary.matched == round(share * summary.next_song)


# --------------------------------------------------------------------------- readers


def test_duckdb_and_json_read_every_record(data: Data) -> None:
    duckdb = pytest.importorskip("duckdb")
    pattern = str(data.root / "log_data" / "**" / "*.json")
    sql = "select count(*) from read_json_objects(?, format='auto')"
    (count,) = duckdb.execute(sql, [pattern]).fetchone()
    assert count == len(data.events) == data.summary.events
    songs = str(data.root / "song_data" / "*" / "*" / "*" / "*.json")
    (count,) = duckdb.execute(sql, [songs]).fetchone()
    assert count == data.summary.songs


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    trees = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, 800, 40, 3, seed)
        trees.append(_tree(tmp_path / name))
    assert trees[0] == trees[1]
    assert trees[0] != trees[2]


# A tiny set in which every page occurs (guests, registrations, cancellations, level
# changes, shared users): its bytes are pinned, so a change to the generator that moves
# any byte for the same arguments fails here instead of drifting silently. Change the
# digest only for a deliberate change of the output (and say so: cached benchmark data
# and expected results built from generated sets change with it).
PINNED = {"events": 2500, "songs": 40, "days": 3, "seed": 4, "users": 40, "blank_line_rate": 0.01}
PINNED_SHA256 = "b85793110207df099e5a0cdcde2110b6f9af9a91ffb64416709dd4f145f7950b"
PINNED_SUMMARY = Summary(
    events=2500,
    next_song=1919,
    matched=953,
    songs=40,
    users=40,
    files=3,
    sessions=462,
    blank_lines=33,
)


def test_output_is_pinned(tmp_path: Path) -> None:
    summary = generate(tmp_path / "o", **PINNED)  # type: ignore[arg-type]
    digest = hashlib.sha256()
    for name, body in sorted(_tree(tmp_path / "o").items()):
        digest.update(name.encode() + b"\0" + body + b"\0")
    assert summary == PINNED_SUMMARY
    assert digest.hexdigest() == PINNED_SHA256
    pages = {
        json.loads(line)["page"]
        for path in (tmp_path / "o" / "log_data").rglob("*.json")
        for line in path.read_text(encoding="ascii").split("\n")
        if line
    }
    assert len(pages) == 22  # every page the generator knows


def test_start_date_and_users(tmp_path: Path) -> None:
    summary = generate(tmp_path / "o", 400, 5, 3, 1, start_date=date(2018, 12, 31), users=4)
    names = sorted(
        p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*-events.json")
    )
    assert names[0] == "log_data/2018/12/2018-12-31-events.json"
    assert names[-1].startswith("log_data/2019/01/2019-01-0")
    assert summary.users <= 4 and summary.events == 400


# --------------------------------------------------------------------------- CLI


def main(argv: list[str]) -> int:
    """``sparkify-dw synth ARGV``, in this process; its exit status."""
    from sparkify_dw.cli import run

    return run(["synth", *argv])


def test_cli_writes_and_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--events", "200", "--songs", "10", "--days", "2", "--seed", "1"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("wrote 200 events")
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2  # not empty
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--force" in err[0]
    assert main([*argv, "--out", str(tmp_path / "o"), "--force", "--songs", "3"]) == 0
    assert len(list((tmp_path / "o" / "song_data").rglob("*.json"))) == 3


@pytest.mark.parametrize(
    "extra",
    [
        ["--events", "-1"],
        ["--songs", "-5"],
        ["--days", "0"],
        ["--users", "0"],
        ["--match-share", "1.5"],
        ["--match-share", "nan"],
        ["--start-date", "2018-13-01"],
        ["--events", "many"],
    ],
)
def test_cli_rejects_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    argv = ["--events", "10", "--songs", "1", "--days", "1", "--seed", "1"]
    assert main([*argv, "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not (tmp_path / "o").exists()


def test_cli_rejects_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    argv = ["--events", "10", "--songs", "1", "--days", "1", "--seed", "1"]
    for out in (blocker, blocker / "sub"):
        assert main([*argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err


def test_api_raises_synth_error(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="--days"):
        generate(tmp_path / "o", 1, 1, 0, 1)


def test_sparkify_dw_synth_writes_what_generate_writes(tmp_path: Path) -> None:
    """``sparkify-dw synth`` hands its arguments to the package's ``main`` unchanged."""
    from click.testing import CliRunner

    from sparkify_dw import cli

    argv = [
        "synth",
        "--events",
        "300",
        "--songs",
        "12",
        "--days",
        "2",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "cli"),
    ]
    result = CliRunner().invoke(cli.main, argv, prog_name="sparkify-dw")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 300 events")
    generate(tmp_path / "api", 300, 12, 2, 5)
    assert _tree(tmp_path / "cli") == _tree(tmp_path / "api")
    bad = CliRunner().invoke(cli.main, ["synth", "--events", "1"], prog_name="sparkify-dw")
    assert bad.exit_code == 2


def test_module_entry_point_has_no_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "sparkify_dw.synth", "--events", "-3", "--songs", "1"]
    cmd += ["--days", "1", "--seed", "1", "--out", str(tmp_path / "o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "error: --events must be >= 0 (got -3)\n"
