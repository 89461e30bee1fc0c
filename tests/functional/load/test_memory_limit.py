"""DuckDB's memory is bounded by a setting: flag, environment or dwh.cfg, default 1GB,
applied on every connection the DuckDB backend opens; bad sizes are one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import backends, schema
from sparkify_dw.backends.duckdb.options import (
    DEFAULT_MEMORY_LIMIT,
    ENV_MEMORY_LIMIT,
    ENV_THREADS,
    DuckDBOptions,
)
from sparkify_dw.config import Settings, resolve
from sparkify_dw.errors import ConfigError
from sparkify_dw.settings_spec import memory_size

pytestmark = pytest.mark.serial  # measures a process's memory


def _settings(
    tmp_path: Path, *, environ: dict[str, str] | None = None, memory_limit: str | None = None
) -> Settings:
    return resolve(
        url=f"duckdb:///{tmp_path / 'w.duckdb'}",
        cwd=tmp_path,
        environ=environ,
        memory_limit=memory_limit,
    )


def _limit(settings: Settings) -> int:
    return settings.options_as(DuckDBOptions).memory_limit


def test_default_flag_environment_and_dwh_cfg(tmp_path: Path) -> None:
    assert DEFAULT_MEMORY_LIMIT == "1GB"
    assert _limit(_settings(tmp_path, environ={})) == 10**9
    s = _settings(tmp_path, environ={ENV_MEMORY_LIMIT: "512MB"})
    assert (_limit(s), s.sources["memory_limit"]) == (512 * 10**6, f"${ENV_MEMORY_LIMIT}")
    (tmp_path / "dwh.cfg").write_text(
        "[DUCKDB]\nMEMORY_LIMIT = 2GiB\nTHREADS = 1\n", encoding="utf-8"
    )
    os.chmod(tmp_path / "dwh.cfg", 0o600)
    from_cfg = _settings(tmp_path, environ={})
    assert (_limit(from_cfg), from_cfg.options_as(DuckDBOptions).threads) == (2 * 2**30, 1)
    flag = _settings(tmp_path, environ={ENV_MEMORY_LIMIT: "512MB"}, memory_limit="300MB")
    assert (_limit(flag), flag.sources["memory_limit"]) == (300 * 10**6, "argument")


def test_threads_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^\${ENV_THREADS}: expected a whole number from 1"):
        _settings(tmp_path, environ={ENV_THREADS: "0"})


def test_an_option_of_another_engine_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--memory-limit: the PostgreSQL backend has no such"):
        resolve(url="postgresql+psycopg://u@h/db", environ={}, cwd=tmp_path, memory_limit="1GB")
    # The same setting in the environment is someone else's: not an error.
    s = resolve(url="postgresql+psycopg://u@h/db", environ={ENV_MEMORY_LIMIT: "1GB"}, cwd=tmp_path)
    assert "memory_limit" not in s.sources


@pytest.mark.parametrize(
    ("text", "size"), [("1GB", 10**9), ("512MiB", 512 * 2**20), (" 1.5 gb ", 15 * 10**8)]
)
def test_sizes(text: str, size: int) -> None:
    assert memory_size(text, "test") == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", "not a memory size like 1GB or 512MB: 'lots'"),
        ("1GB; DROP TABLE x", "not a memory size"),
        ("12", "not a memory size"),
        ("10MB", "10MB is too little; at least 64MiB"),
    ],
)
def test_bad_sizes_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, environ={ENV_MEMORY_LIMIT: text})
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert f"${ENV_MEMORY_LIMIT}" in str(caught.value)


def test_duckdb_connections_take_the_limit(tmp_path: Path) -> None:
    settings = _settings(tmp_path, environ={}, memory_limit="256MiB")
    schema.upgrade(settings.url.render_as_string(hide_password=False))
    backend = backends.for_settings(settings, wait=1.0)
    engine = settings.create_engine()
    try:
        with backend.load_session(engine) as conn, conn.begin():  # as a load opens it
            limit = conn.exec_driver_sql("SELECT current_setting('memory_limit')").scalar()
            threads = conn.exec_driver_sql("SELECT current_setting('threads')").scalar()
            assert limit == "192.0 MiB"  # three quarters: the rest is the process's
            assert threads == 1  # one thread per 256 MiB
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    with backend.reading() as reader:  # the read-only commands too
        assert (
            reader.exec_driver_sql("SELECT current_setting('memory_limit')").scalar() == "192.0 MiB"
        )


def test_load_command_refuses_a_bad_limit_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sparkify_dw",
            "load",
            "--url",
            f"duckdb:///{tmp_path / 'w.duckdb'}",
            "--memory-limit",
            "huge",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "--memory-limit" in run.stderr or "memory" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_batches_are_a_quarter_of_the_limit_within_bounds() -> None:
    from sparkify_dw.backends.duckdb import backend as duck

    assert duck.batch_bytes(memory_size("1GiB", "t")) == 256 * 2**20
    assert duck.batch_bytes(memory_size("512MiB", "t")) == 128 * 2**20
    assert duck.batch_bytes(memory_size("64MiB", "t")) == duck.MIN_BATCH_BYTES
    assert duck.batch_bytes(memory_size("16GB", "t")) == duck.MAX_BATCH_BYTES


def test_a_file_bigger_than_a_batch_is_streamed_by_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB would hold a huge file (one line of 200 MB) whole: it goes to the framing."""
    from sparkify_dw import load
    from sparkify_dw.backends.duckdb import backend as duck
    from sparkify_dw.sources import SourceFile

    monkeypatch.setattr(duck, "ENGINE_FILE_BYTES", 64 * 1024)
    record = (
        '{"artist":null,"auth":"Logged In","firstName":"A","gender":"F",'
        '"itemInSession":0,"lastName":"B","length":null,"level":"free","location":"X",'
        '"method":"GET","page":"Home","registration":1540919166796.0,"sessionId":1,'
        '"song":null,"status":200,"ts":1541106106796,"userAgent":"u","userId":"8"}'
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "one-line.json").write_text(record * 400, encoding="utf-8")  # no newline
    size = (logs / "one-line.json").stat().st_size
    assert size > duck.ENGINE_FILE_BYTES
    big = SourceFile(str(logs / "one-line.json"), size, "mtime:1", str(logs / "one-line.json"))
    assert duck._split([big]) == ([], [big])
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    schema.upgrade(url)
    result = load.run(url=url, log_data=logs, steps=["stage"])
    assert result.staged["staging_events"] == 400 and result.rejected["staging_events"] == 0


def test_small_files_among_big_ones_share_their_batch() -> None:
    """Day files of 7 kB among ones of 100 kB (the real shape) don't cut a batch: one
    statement per batch of bytes, each file read the way its size asks, in byte order."""
    from sparkify_dw.backends.duckdb import backend as duck
    from sparkify_dw.sources import SourceFile

    def file(name: str, size: int) -> SourceFile:
        return SourceFile(f"/d/{name}", size, "mtime:1", f"/d/{name}")

    files = [
        file(f"{i:03d}.json", duck.SMALL_FILE_BYTES // 4 if i % 3 == 0 else 100_000)
        for i in range(30)
    ]
    batches = list(duck._batches(list(reversed(files)), duck.MIN_BATCH_BYTES))
    assert batches == [files]
    by_engine, framed = duck._split(files)
    assert len(framed) == 10 and len(by_engine) == 20
    many = list(duck._batches(files, 250_000))  # about 250 kB each, still in order
    assert [f for b in many for f in b] == files and len(many) > 1
