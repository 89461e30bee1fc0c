"""Sources are checked before a load begins (issue 23's adversarial cases 6, 7, 9 and 13).

A source that can't be right (empty, overlapping the other one) is a usage error: exit 2,
one line, and no ledger row, on DuckDB and PostgreSQL alike. A file whose name is not
UTF-8 is loaded by its bytes and recorded with the name escaped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES, LOADS
from tests.support.cli import invoke
from tests.support.helpers import SAMPLE, star_snapshot, table_rows

DAY = SAMPLE / "log_data" / "2018" / "11" / "2018-11-02-events.json"


def _url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def _ledger(url: sa.URL) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(LOADS.c.status, LOADS.c.message))]
    finally:
        engine.dispose()


def _refused(url: sa.URL, err: str, code: int, expected: str) -> None:
    """Exit 2, one line that says ``expected``, and nothing written: not even a ledger row."""
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err
    assert _ledger(url) == []
    assert table_rows(url, "staging_events") == []
    assert all(not rows for rows in star_snapshot(url).values())


@pytest.mark.parametrize("text", ["", " ", "file://", "file://  "])
def test_case7_an_empty_source_is_refused_not_the_current_directory(
    warehouse_url: sa.URL, tmp_path: Path, text: str
) -> None:
    # The working directory holds JSON: an empty source used to mean "load it all".
    shutil.copy(DAY, tmp_path / "2018-11-02-events.json")
    r = invoke("load", "--url", _url(warehouse_url), "--log-data", text, cwd=tmp_path)
    _refused(warehouse_url, r.stderr, r.returncode, "error: --log-data: empty: name a file")


def test_case7_an_empty_source_from_the_environment_or_dwh_cfg_is_refused_too(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    r = invoke("load", "--url", _url(warehouse_url), env={"SPARKIFY_DW_SONG_DATA": ""})
    _refused(warehouse_url, r.stderr, r.returncode, "$SPARKIFY_DW_SONG_DATA: empty")
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[S3]\nLOG_DATA = ''\n")
    r = invoke("load", "--url", _url(warehouse_url), "--config", str(cfg))
    _refused(warehouse_url, r.stderr, r.returncode, "[S3] LOG_DATA: empty")


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(SAMPLE / "log_data", root / "log_data")
    shutil.copytree(SAMPLE / "song_data", root / "song_data")
    return root


@pytest.mark.parametrize(
    ("log_data", "song_data", "expected"),
    [
        ("{root}", "{root}/song_data", "overlap (one folder is inside the other)"),
        ("{root}/log_data", "{root}", "overlap (one folder is inside the other)"),
        ("{root}/song_data", "{root}/song_data", "overlap (one folder is inside the other)"),
        ("{root}/log_data", "{alias}/log_data", "overlap (one folder is inside the other)"),
        ("{root}/log_data/**/*.json", "{root}/**/*.json", "overlap: both list {root}/log_data/"),
        ("{day}", "{root}/log_data", "overlap: both list {day}"),
    ],
)
def test_case6_overlapping_sources_are_refused_naming_both(
    warehouse_url: sa.URL, tmp_path: Path, log_data: str, song_data: str, expected: str
) -> None:
    root = _tree(tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    names = {"root": root, "alias": alias, "day": root / "log_data/2018/11/2018-11-02-events.json"}
    log_arg, song_arg = log_data.format(**names), song_data.format(**names)
    r = invoke("load", "--url", _url(warehouse_url), "--log-data", log_arg, "--song-data", song_arg)
    _refused(warehouse_url, r.stderr, r.returncode, expected.format(**names))
    assert f"log_data {log_arg} and song_data {song_arg}" in r.stderr


def test_case6_overlap_is_found_before_since_and_until_narrow_the_logs(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    root = _tree(tmp_path)
    r = invoke(
        "load",
        "--url",
        _url(warehouse_url),
        "--log-data",
        f"{root}/**/*.json",
        "--song-data",
        str(root / "song_data"),
        "--since",
        "2018-11-05",
    )
    _refused(warehouse_url, r.stderr, r.returncode, "overlap: both list")


def test_case13_refusals_write_no_ledger_row(warehouse_url: sa.URL, tmp_path: Path) -> None:
    """Each usage error a load can meet before it starts: exit 2 and no row, one by one."""
    jsonpaths = tmp_path / "paths.json"
    jsonpaths.write_text('{"jsonpaths": ["$.artist"]}')
    cases: list[tuple[list[str], dict[str, str | None], str]] = [
        (["--log-data", str(tmp_path / "missing")], {}, "no such file or directory"),
        (["--log-data", "ftp://example.com/x"], {}, "unsupported source scheme"),
        (["--log-jsonpath", str(jsonpaths)], {}, "has 1 paths"),
        ([], {"SPARKIFY_DW_EARLIEST_EVENT": "garbage"}, "not a date"),
        ([], {"SPARKIFY_DW_LATEST_EVENT": "+x"}, "SPARKIFY_DW_LATEST_EVENT"),
    ]
    for args, env, expected in cases:
        r = invoke("load", "--url", _url(warehouse_url), *args, env=env)
        _refused(warehouse_url, r.stderr, r.returncode, expected)


def test_case9_a_file_name_that_is_not_utf8_is_loaded_by_its_bytes(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    name = b"caf\xe9-2018-11-02-events.json"
    real = folder / Path(name.decode("utf-8", "surrogateescape"))
    lines = DAY.read_bytes().splitlines()
    real.write_bytes(b"\n".join([*lines[:20], b'{"ts": broken', *lines[20:40]]) + b"\n")
    shown = f"{folder}/caf\\xe9-2018-11-02-events.json"

    r = invoke("load", "--url", _url(warehouse_url), "--log-data", str(folder), "--max-errors", "1")
    assert r.returncode == 0, r.stderr
    assert len(table_rows(warehouse_url, "staging_events")) == 40
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            errors = conn.execute(sa.select(LOAD_ERRORS.c.source, LOAD_ERRORS.c.line_no)).all()
            sources = conn.execute(sa.select(LOADS.c.sources)).scalar_one()
            uris = conn.execute(sa.select(LOAD_FILES.c.uri)).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(e) for e in errors] == [(shown, 21)]
    assert [u for u in uris if "events" in u] == [shown]

    # The escaped name is the ledger's key: --incremental knows the file is loaded.
    r = invoke(
        "load", "--url", _url(warehouse_url), "--log-data", str(folder), "--incremental", "-v"
    )
    assert r.returncode == 0, r.stderr
    assert "log_data: 0 file(s) to stage" in r.stderr
    assert f"log_data={folder}" in sources


# --- found by an independent re-run of the adversarial round ------------------------------


def test_an_escaped_name_that_collides_with_a_real_one_is_refused(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    """``caf\\xe9.json`` spelt out beside a name holding the byte E9: one line, not a
    primary-key violation (a traceback on PostgreSQL) at the ledger step."""
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(DAY, folder / "caf\\xe9.json")
    shutil.copy(DAY, folder / Path(b"caf\xe9.json".decode("utf-8", "surrogateescape")))
    r = invoke("load", "--url", _url(warehouse_url), "--log-data", str(folder))
    _refused(warehouse_url, r.stderr, r.returncode, f"two files are named {folder}/caf\\xe9.json")


def test_a_link_inside_one_source_into_the_other_is_an_overlap(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    root = _tree(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(DAY, logs / DAY.name)
    (logs / "lnk").symlink_to(next((root / "song_data").rglob("*.json")).parent)
    r = invoke(
        "load",
        "--url",
        _url(warehouse_url),
        "--log-data",
        str(logs),
        "--song-data",
        str(root / "song_data"),
    )
    _refused(warehouse_url, r.stderr, r.returncode, "overlap: both list")
    assert f"{logs}/lnk/" in r.stderr


def test_a_glob_reads_a_linked_file_once(warehouse_url: sa.URL, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(DAY, folder / "a.json")
    (folder / "b.json").symlink_to(folder / "a.json")
    (folder / "c.json").symlink_to("a.json")
    r = invoke("load", "--url", _url(warehouse_url), "--log-data", f"{folder}/*.json")
    assert r.returncode == 0, r.stderr
    assert len(table_rows(warehouse_url, "staging_events")) == len(DAY.read_bytes().splitlines())


def test_control_characters_in_a_name_are_shown_not_sent_to_the_terminal(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    name = tmp_path / "x\x1b[2J\x1b[31mRED\x07.json"
    name.write_bytes(b'{"ts":\n')
    r = invoke("load", "--url", _url(warehouse_url), "--log-data", str(name))
    assert r.returncode == 1
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "x\\x1b[2J\\x1b[31mRED\\x07.json:1" in r.stderr
    r = invoke("errors", "--url", _url(warehouse_url))
    assert "\x1b" not in r.stdout and "x\\x1b[2J" in r.stdout


@pytest.mark.parametrize("load_id", ["2147483648", "99999999999999999999"])
def test_a_load_id_past_the_ledger_is_no_such_load(warehouse_url: sa.URL, load_id: str) -> None:
    r = invoke("errors", load_id, "--url", _url(warehouse_url))
    assert r.returncode == 2 and f"load #{load_id} does not exist" in r.stderr, r.stderr


@pytest.mark.parametrize("url", ["duckdb://", "duckdb:///", "duckdb:///:memory:"])
def test_an_in_memory_duckdb_is_not_a_warehouse(url: str) -> None:
    for command in ("upgrade", "status", "load"):
        r = invoke(command, "--url", url)
        assert r.returncode == 2, r.stderr
        assert "a DuckDB URL must name the warehouse's file" in r.stderr
