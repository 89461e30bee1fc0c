"""No silent loss: every listed file is read by its exact path, a file that vanished or
changed since the listing is an error (never recorded as staged), and a stage-only load
leaves its files new for ``--incremental``."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import config, load
from sparkify_dw import ledger as ledger_module
from sparkify_dw.backends import for_settings
from sparkify_dw.backends.duckdb.backend import SMALL_FILE_BYTES
from sparkify_dw.cli import run_module
from sparkify_dw.errors import SourceError
from sparkify_dw.models import LOAD_FILES, LOADS
from tests.support.helpers import SAMPLE, run_load, table_rows

DAY = SAMPLE / "log_data" / "2018" / "11" / "2018-11-15-events.json"


def plays(n: int, session: int) -> list[dict[str, Any]]:
    """``n`` NextSong events of their own session: distinct songplays."""
    base = next(
        json.loads(line)
        for line in DAY.read_text().splitlines()
        if json.loads(line)["page"] == "NextSong"
    )
    return [
        dict(base, sessionId=session, itemInSession=i, ts=base["ts"] + session * 10_000 + i)
        for i in range(n)
    ]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def ledger(url: sa.URL) -> tuple[list[tuple[Any, ...]], list[str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        loads = conn.execute(
            sa.select(LOADS.c.load_id, LOADS.c.status, LOADS.c.message).order_by(LOADS.c.load_id)
        ).all()
        files = conn.execute(sa.select(LOAD_FILES.c.uri)).scalars().all()
    engine.dispose()
    return [tuple(r) for r in loads], sorted(files)


# --- 1. glob characters in file names ------------------------------------------------------


@pytest.mark.parametrize("size", ["big", "small"])
def test_file_names_with_pattern_characters_are_read_as_named(
    warehouse_url: sa.URL, tmp_path: Path, size: str
) -> None:
    logs = tmp_path / "logs"
    n = 200 if size == "big" else 20
    names = ["e1.json", "e[1].json", "e?.json", "e*.json"]
    for i, name in enumerate(names):
        path = write(logs / name, plays(n, session=1000 + i))
        assert (path.stat().st_size >= SMALL_FILE_BYTES) == (size == "big")
    result = run_load(warehouse_url, log_data=logs)
    assert result.staged["staging_events"] == n * len(names)
    assert result.inserted["songplays"] == n * len(names)
    sessions = {
        r[0]
        for r in table_rows(
            warehouse_url,
            "songplays",
            without=(
                "songplay_id",
                "start_time",
                "user_id",
                "level",
                "song_id",
                "artist_id",
                "item_in_session",
                "location",
                "user_agent",
                "load_id",
            ),
        )
    }
    assert sessions == {1000, 1001, 1002, 1003}
    _, files = ledger(warehouse_url)
    assert sorted(Path(f).name for f in files if "/logs/" in f) == sorted(names)


def test_a_directory_named_like_a_pattern_is_a_directory(
    duckdb_url: sa.URL, tmp_path: Path
) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    logs = tmp_path / "logs[1]"
    write(logs / "a.json", plays(5, session=7))
    result = run_load(duckdb_url, log_data=logs, steps=["stage"])
    assert result.staged["staging_events"] == 5


# --- 2. files that vanish or change after the listing --------------------------------------


def _after_listing(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    from sparkify_dw.backends import Backend

    original = Backend.requests

    def listed_then_changed(self: Backend, *args: Any, **kw: Any) -> Any:
        reqs = original(self, *args, **kw)
        action()
        return reqs

    monkeypatch.setattr(Backend, "requests", listed_then_changed)


@pytest.mark.parametrize("size", ["big", "small"])
@pytest.mark.parametrize("change", ["deleted", "replaced", "appended"])
def test_a_file_that_changes_after_the_listing_fails_the_load(
    warehouse_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: str, change: str
) -> None:
    logs = tmp_path / "logs"
    n = 200 if size == "big" else 20
    write(logs / "a.json", plays(n, session=1))
    victim = write(logs / "b.json", plays(n, session=2))

    def act() -> None:
        if change == "deleted":
            victim.unlink()
        elif change == "replaced":
            tmp = victim.with_name(".b.json.tmp")
            write(tmp, plays(n, session=3))
            os.replace(tmp, victim)
        else:
            with victim.open("a") as out:
                out.write(json.dumps(plays(1, session=4)[0]) + "\n")

    _after_listing(monkeypatch, act)
    with pytest.raises(SourceError) as info:
        run_load(warehouse_url, log_data=logs)
    expected = (
        "vanished after it was listed" if change == "deleted" else ("changed after it was listed")
    )
    assert f"log_data: {victim}: {expected}" in str(info.value)
    loads, files = ledger(warehouse_url)
    assert [(r[0], r[1]) for r in loads] == [(1, "failed")]
    assert files == []  # nothing recorded as staged
    assert table_rows(warehouse_url, "songplays") == []


def test_a_path_too_long_for_the_ledger_is_one_line(duckdb_url: sa.URL, tmp_path: Path) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    deep = tmp_path
    while len(str(deep)) < 1100:
        deep = deep / ("d" * 200)
    write(deep / "a.json", plays(2, session=1))
    out, err = io.StringIO(), io.StringIO()
    code = run_module(
        "load", ["--url", duckdb_url.render_as_string(), "--log-data", str(deep)], out, err
    )
    assert code == 2  # a source the ledger can't name is a bad source
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
    assert "the ledger keeps paths up to 1,024" in err.getvalue()


# --- 3. a stage-only load doesn't count its files as loaded --------------------------------


def test_stage_only_then_incremental_loads_everything(
    warehouse_url: sa.URL, tmp_path: Path
) -> None:
    settings = config.resolve(url=warehouse_url.render_as_string(hide_password=False))
    engine = settings.create_engine()
    try:
        staged = load.run(engine, settings, steps=["stage"])
        assert staged.staged["staging_events"] == 4091
        _, files = ledger(warehouse_url)
        assert files == []  # the star tables never saw them
        full = load.run(engine, settings, selection=load.Selection(incremental=True))
    finally:
        engine.dispose()
    assert full.staged["staging_events"] == 4091
    assert full.inserted["songplays"] == 3478
    _, files = ledger(warehouse_url)
    assert len(files) == 16 + 36


def test_files_an_older_stage_only_load_listed_are_still_new(warehouse_url: sa.URL) -> None:
    """Ledgers written before this rule list a stage-only load's files: they don't count."""
    settings = config.resolve(url=warehouse_url.render_as_string(hide_password=False))
    engine = settings.create_engine()
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(LOADS).values(
                    load_id=1,
                    started_at=ledger_module.now(),
                    finished_at=ledger_module.now(),
                    status="succeeded",
                    backend=settings.backend,
                    steps="stage",
                    sources="x",
                )
            )
            reader_files = for_settings(settings).requests()[0].files
            conn.execute(
                sa.insert(LOAD_FILES).values(
                    [
                        {
                            "load_id": 1,
                            "uri": f.uri,
                            "table_name": "staging_events",
                            "size": f.size,
                            "version": f.version,
                        }
                        for f in reader_files
                    ]
                )
            )
        result = load.run(engine, settings, selection=load.Selection(incremental=True))
    finally:
        engine.dispose()
    assert result.staged["staging_events"] == 4091
    assert result.inserted["songplays"] == 3478


def test_cli_stage_then_incremental(duckdb_url: sa.URL) -> None:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    url = duckdb_url.render_as_string()
    for args in (["--steps", "stage"], ["--incremental"]):
        out, err = io.StringIO(), io.StringIO()
        assert run_module("load", ["--url", url, *args], out, err) == 0, err.getvalue()
    assert re.search(r"inserted\s+songplays\s+3,478 rows", out.getvalue()), out.getvalue()
