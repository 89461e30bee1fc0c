"""Data quality checks: they pass on the loaded sample and name what a damaged warehouse broke."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import check, checks, schema
from sparkify_dw.cli import run_module
from tests.support import cli as run_cli
from tests.support.helpers import run_load
from tests.support.redshift_mapping import for_postgresql

REDSHIFT = sa.create_engine(
    "redshift+redshift_connector://u@h:5439/dev", paramstyle="named"
).dialect


def engine_for(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def cli(url: sa.URL, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m sparkify_dw.check --url URL ARGS``, run in this process."""
    return run_cli.module("check", "--url", url.render_as_string(hide_password=False), *args)


def unconstrained(url: sa.URL) -> sa.URL:
    """The loaded warehouse with its keys dropped, so it can be damaged (as Redshift allows).

    DuckDB cannot drop constraints: copy every table into a new file with CREATE TABLE AS.
    """
    if url.get_backend_name() == "duckdb":
        assert url.database is not None
        copy = sa.URL.create("duckdb", database=str(Path(url.database).with_name("damaged.duckdb")))
        with engine_for(copy).begin() as conn:
            conn.exec_driver_sql(f"ATTACH '{url.database}' AS src (READ_ONLY)")
            names = conn.exec_driver_sql(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src'"
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f'CREATE TABLE "{name}" AS SELECT * FROM src."{name}"')
            conn.exec_driver_sql("DETACH src")
        return copy
    with engine_for(url).begin() as conn:
        keys = conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype IN ('f', 'p', 'u') "
            "AND conrelid::regclass::text <> 'alembic_version' ORDER BY contype <> 'f'"
        ).all()
        for table, name in keys:
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return url


def failed(results: list[checks.CheckResult]) -> dict[str, checks.CheckResult]:
    return {r.name: r for r in results if not r.passed}


def redshift_text_finds_nothing(engine: sa.Engine) -> None:
    """Every check's SQL, as Redshift would get it, runs on PostgreSQL and finds nothing."""
    with engine.connect() as conn:
        for item in checks.CHECKS:
            text = str(
                checks.sample_query(item).compile(
                    dialect=REDSHIFT, compile_kwargs={"literal_binds": True}
                )
            )
            assert "count(*) OVER ()" in text and "LIMIT 5" in text
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(for_postgresql(text))  # no parameters: it runs as printed
            assert cursor.fetchall() == [], item.name


def test_sample_passes_every_check(loaded_url: sa.URL) -> None:
    """On PostgreSQL, also the checks compiled for Redshift (one load serves both)."""
    warehouse_url = loaded_url
    engine = engine_for(warehouse_url)
    results = checks.verify(engine)
    assert [r.name for r in results] == list(checks.NAMES)
    assert all(r.count == 0 and r.samples == () for r in results)
    if warehouse_url.get_backend_name() == "postgresql":
        redshift_text_finds_nothing(engine)
    out = io.StringIO()
    assert (
        run_module(
            "check",
            ["--url", warehouse_url.render_as_string(hide_password=False)],
            out,
            io.StringIO(),
        )
        == 0
    )
    lines = out.getvalue().splitlines()
    assert [ln.split()[:3] for ln in lines[2:-1]] == [["PASS", n, "0"] for n in checks.NAMES]
    assert lines[-1] == f"all {len(checks.NAMES)} checks passed"


def test_damaged_warehouse_fails_the_named_checks(loaded_url: sa.URL) -> None:
    warehouse_url = loaded_url
    url = unconstrained(warehouse_url)
    engine = engine_for(url)
    with engine.begin() as conn:
        dup = conn.execute(sa.text("SELECT MIN(user_id) FROM users")).scalar_one()
        conn.execute(
            sa.text("INSERT INTO users SELECT * FROM users WHERE user_id = :u"), {"u": dup}
        )
        conn.execute(
            sa.text(
                "INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id, "
                "item_in_session) SELECT 999999, MIN(start_time), 999999, 'free', 0, 0 FROM time"
            )
        )
        gone = conn.execute(sa.text("SELECT MAX(start_time) FROM songplays")).scalar_one()
        conn.execute(sa.text("DELETE FROM time WHERE start_time = :t"), {"t": gone})
        timeless = (
            conn.execute(
                sa.text(
                    "SELECT songplay_id FROM songplays WHERE start_time = :t ORDER BY songplay_id"
                ),
                {"t": gone},
            )
            .scalars()
            .all()
        )

    found = failed(checks.run_checks(engine))
    assert set(found) == {
        "users.pk_unique",
        "songplays.user_id_in_users",
        "songplays.start_time_in_time",
    }
    assert found["users.pk_unique"].count == 1
    assert found["users.pk_unique"].samples == ((dup,),)
    assert found["songplays.user_id_in_users"].samples == ((999999, 999999),)
    missing = found["songplays.start_time_in_time"]
    assert missing.count == len(timeless)
    assert [s[0] for s in missing.samples] == timeless[: checks.SAMPLES]

    with pytest.raises(checks.CheckFailed) as raised:
        checks.verify(engine)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("3 checks failed: ")
    assert f"users.pk_unique: 1 (user_id={dup})" in message
    assert "songplays.user_id_in_users: 1 (songplay_id=999999 user_id=999999)" in message

    proc = cli(url)
    assert proc.returncode == 1, proc.stderr
    fails = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("FAIL")]
    assert sorted(fails) == sorted(found)
    assert "FAIL  users.pk_unique" in proc.stdout and f"user_id={dup}" in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"3 of {len(checks.NAMES)} checks failed"


DAMAGE: dict[str, tuple[list[str], dict[str, tuple[Any, ...] | None]]] = {
    "null key": (
        [
            "INSERT INTO users (user_id, first_name, last_name, level, last_event_at) "
            "VALUES (NULL, 'No', 'Key', 'free', TIMESTAMP '2018-11-01 00:00:00')"
        ],
        {"users.pk_not_null": ("No", "Key")},
    ),
    "duplicate time": (
        [
            "INSERT INTO time SELECT * FROM time WHERE start_time = "
            "(SELECT MIN(start_time) FROM time)"
        ],
        {"time.pk_unique": None},
    ),
    "play loaded twice": (
        [
            "INSERT INTO songplays (songplay_id, start_time, user_id, level, "
            "session_id, item_in_session) SELECT 999999, start_time, user_id, "
            "level, session_id, item_in_session FROM songplays WHERE "
            "songplay_id = (SELECT MIN(songplay_id) FROM songplays)"
        ],
        {"songplays.natural_key_unique": None},
    ),
    "play lost": (
        ["DELETE FROM songplays WHERE songplay_id = (SELECT MIN(songplay_id) FROM songplays)"],
        {"staging_events.next_song_in_songplays": None},
    ),
    "unknown song": (
        [
            "UPDATE songplays SET song_id = 'SONOTINCATALOGUE00' "
            "WHERE songplay_id = (SELECT MIN(songplay_id) FROM songplays)"
        ],
        {"songplays.song_id_in_songs": None},
    ),
    "no artists": (
        ["DELETE FROM artists"],
        {
            "artists.not_empty": None,
            "songs.artist_id_in_artists": None,
            "songplays.artist_id_in_artists": None,
        },
    ),
    "no plays": (
        ["DELETE FROM songplays"],
        {"songplays.not_empty": None, "staging_events.next_song_in_songplays": None},
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_each_kind_of_damage_is_named(duckdb_url: sa.URL, damage: str) -> None:
    statements, expected = DAMAGE[damage]
    schema.upgrade(duckdb_url)
    run_load(duckdb_url)
    url = unconstrained(duckdb_url)
    engine = engine_for(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    found = failed(checks.run_checks(engine))
    assert set(found) == set(expected)
    for name, sample in expected.items():
        assert found[name].count >= 1
        assert len(found[name].samples) == min(found[name].count, checks.SAMPLES)
        if sample is not None:
            assert found[name].samples[0] == sample


def test_named_subset_and_unknown_name(duckdb_warehouse_url: sa.URL) -> None:
    engine = engine_for(duckdb_warehouse_url)
    # An empty warehouse: nothing staged, so even the not-empty checks pass.
    picked = checks.run_checks(engine, ["users.pk_unique", "songplays.not_empty"])
    assert [(r.name, r.count) for r in picked] == [
        ("users.pk_unique", 0),
        ("songplays.not_empty", 0),
    ]
    with pytest.raises(ValueError, match=r"unknown check 'users\.nonsense'"):
        checks.run_checks(engine, ["users.nonsense"])


def test_staged_events_without_plays_fail(duckdb_warehouse_url: sa.URL) -> None:
    run_load(duckdb_warehouse_url, steps=["stage"])
    found = failed(checks.run_checks(engine_for(duckdb_warehouse_url)))
    assert {
        "songplays.not_empty",
        "users.not_empty",
        "time.not_empty",
        "songs.not_empty",
        "artists.not_empty",
        "staging_events.next_song_in_songplays",
    } == set(found)
    assert found["songplays.not_empty"].columns == ("staging_events_rows",)
    assert found["songplays.not_empty"].samples[0][0] > 0


def test_result_formatting() -> None:
    result = checks.CheckResult(
        "songplays.user_id_in_users", 7, ("songplay_id", "user_id"), ((1, 99), (2, 98))
    )
    assert not result.passed
    assert str(result) == (
        "songplays.user_id_in_users: 7 (songplay_id=1 user_id=99; songplay_id=2 user_id=98)"
    )
    assert check.result_row(result) == (
        "FAIL",
        "songplays.user_id_in_users",
        7,
        "songplay_id=1 user_id=99; songplay_id=2 user_id=98",
    )
    ok = checks.CheckResult("users.pk_unique", 0, ("user_id",), ())
    assert ok.passed and str(ok) == "users.pk_unique: 0"
    assert str(checks.CheckFailed([result])) == f"1 check failed: {result}"
    text = checks.CheckResult(
        "users.pk_not_null", 1, ("first_name", "last_name"), (("Ann\nMarie", None),)
    )
    assert str(text) == "users.pk_not_null: 1 (first_name='Ann\\nMarie' last_name=None)"


def test_cli_errors_are_one_line_without_password(tmp_path: Path) -> None:
    unreachable = sa.make_url("postgresql+psycopg://root:s3cret-pw@127.0.0.1:1/nowhere")
    proc = cli(unreachable)
    assert proc.returncode == 1  # a check that could not run
    assert "s3cret-pw" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    fresh = sa.URL.create("duckdb", database=str(tmp_path / "empty.duckdb"))
    proc = cli(fresh)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("create it with `sparkify-dw upgrade`")
    assert not list(tmp_path.iterdir())  # checking never creates a warehouse
    engine = sa.create_engine(fresh)
    with engine.connect():  # a database without the schema
        pass
    engine.dispose()
    proc = cli(fresh)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("run `sparkify-dw upgrade`")
