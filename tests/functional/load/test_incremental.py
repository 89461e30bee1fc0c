"""S3 sources (moto's server), incremental loads against the ledger, day selection, and
the Redshift statements for them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, load, schema
from sparkify_dw.cli import run_module
from sparkify_dw.models import LOAD_FILES, LOADS
from tests.support.helpers import SAMPLE, all_days, copy_sample_days, run_load, star_snapshot
from tests.support.s3_server import MotoS3, upload_tree


@pytest.fixture
def s3_env(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    monkeypatch.setenv("SPARKIFY_DW_S3_ENDPOINT", moto_s3.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_s3.region)
    return moto_s3


def ledger_files(url: sa.URL, load_id: int, table: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        uris = (
            conn.execute(
                sa.select(LOAD_FILES.c.uri).where(
                    LOAD_FILES.c.load_id == load_id, LOAD_FILES.c.table_name == table
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return sorted(uris)


def test_load_from_s3_equals_local(
    warehouse_url: sa.URL,
    s3_env: MotoS3,
    sample_bucket: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    result = run_load(
        warehouse_url,
        log_data=f"s3://{sample_bucket}/log_data",
        song_data=f"s3://{sample_bucket}/song_data",
    )
    assert result.staged == {"staging_events": 4091, "staging_songs": 36}
    from_s3 = star_snapshot(warehouse_url)
    local_url = sa.make_url(f"duckdb:///{tmp_path / 'local.duckdb'}")
    schema.upgrade(local_url)
    run_load(local_url)
    assert from_s3 == star_snapshot(local_url)
    uris = ledger_files(warehouse_url, result.load_id or 0, "staging_events")
    assert len(uris) == len(all_days())
    assert all(u.startswith(f"s3://{sample_bucket}/log_data/") for u in uris)


def test_jsonpaths_from_s3(warehouse_url: sa.URL, s3_env: MotoS3, sample_bucket: str) -> None:
    settings = config.resolve(
        url=warehouse_url.render_as_string(hide_password=False),
        log_jsonpath=f"s3://{sample_bucket}/log_json_path.json",
    )
    engine = settings.create_engine()
    result = load.run(engine, settings)
    engine.dispose()
    assert result.staged["staging_events"] == 4091


def test_incremental_stages_only_new_days_and_equals_a_full_load(
    warehouse_url: sa.URL, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    days = all_days()
    logs = copy_sample_days(tmp_path / "logs", days[:10])
    settings = config.resolve(
        url=warehouse_url.render_as_string(hide_password=False), log_data=str(logs)
    )
    engine = settings.create_engine()
    incremental = load.Selection(incremental=True)
    first = load.run(engine, settings, selection=incremental)
    copy_sample_days(logs, days[10:])
    second = load.run(engine, settings, selection=incremental)
    third = load.run(engine, settings, selection=incremental)
    engine.dispose()
    new_files = ledger_files(warehouse_url, second.load_id or 0, "staging_events")
    assert [Path(u).name[:10] for u in new_files] == days[10:] and len(days) == 16
    new_lines = sum(
        1
        for p in logs.rglob("*.json")
        if p.name[:10] in days[10:]
        for line in p.read_text().splitlines()
        if line.strip()
    )
    assert second.read["staging_events"] == new_lines
    assert second.inserted["songplays"] > 0 and second.read["staging_songs"] == 36
    assert first.read["staging_events"] + new_lines == 4091
    assert third.read["staging_events"] == 0 and third.inserted["songplays"] == 0

    full_url = sa.make_url(f"duckdb:///{tmp_path / 'full.duckdb'}")
    schema.upgrade(full_url)
    run_load(full_url)
    assert star_snapshot(warehouse_url) == star_snapshot(full_url)


def test_incremental_from_s3_picks_up_a_new_object(
    warehouse_url: sa.URL, s3_env: MotoS3, tmp_path: Path
) -> None:
    bucket = f"incr-{warehouse_url.get_backend_name()}"
    s3_env.client.create_bucket(Bucket=bucket)
    days = all_days()
    upload_tree(s3_env.client, bucket, copy_sample_days(tmp_path / "a", days[:-1]), "log_data")
    log_data = f"s3://{bucket}/log_data"
    settings = config.resolve(
        url=warehouse_url.render_as_string(hide_password=False), log_data=log_data
    )
    engine = settings.create_engine()
    load.run(engine, settings, selection=load.Selection(incremental=True))
    upload_tree(s3_env.client, bucket, copy_sample_days(tmp_path / "b", days[-1:]), "log_data")
    second = load.run(engine, settings, selection=load.Selection(incremental=True))
    engine.dispose()
    assert [
        u.rsplit("/", 1)[-1][:10]
        for u in ledger_files(warehouse_url, second.load_id or 0, "staging_events")
    ] == days[-1:]


def test_since_until_selects_day_files(warehouse_url: sa.URL) -> None:
    settings = config.resolve(url=warehouse_url.render_as_string(hide_password=False))
    engine = settings.create_engine()
    selection = load.Selection(since=dt.date(2018, 11, 3), until=dt.date(2018, 11, 4))
    result = load.run(engine, settings, selection=selection)
    engine.dispose()
    files = ledger_files(warehouse_url, result.load_id or 0, "staging_events")
    assert [Path(f).name for f in files] == ["2018-11-03-events.json", "2018-11-04-events.json"]
    expected = sum(
        len(p.read_text().splitlines())
        for p in (SAMPLE / "log_data").rglob("*.json")
        if p.name[:10] in ("2018-11-03", "2018-11-04")
    )
    assert result.staged["staging_events"] == expected


def test_cli_history_shows_incremental_loads(warehouse_url: sa.URL, tmp_path: Path) -> None:
    import io

    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE / "log_data", logs)
    url = warehouse_url.render_as_string(hide_password=False)
    out, err = io.StringIO(), io.StringIO()
    args = ["--url", url, "--log-data", str(logs), "--incremental"]
    assert run_module("load", args, out, err) == 0
    assert run_module("load", args, out, err) == 0
    history = io.StringIO()
    assert run_module("load", ["--url", url, "--history"], history, err) == 0
    lines = history.getvalue().splitlines()
    assert lines[0].split()[:5] == ["load", "started", "(UTC)", "took", "status"]
    assert set(lines[1]) == {"-", " "}  # the renderer's rule under the header
    assert len(lines) == 4 and all("succeeded" in ln for ln in lines[2:])
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        read = conn.execute(sa.select(LOADS.c.rows_read).order_by(LOADS.c.load_id)).scalars()
        assert list(read) == [4091 + 36, 36]
    engine.dispose()


def test_since_after_until_is_one_line(warehouse_url: sa.URL) -> None:
    import io

    err = io.StringIO()
    code = run_module(
        "load",
        [
            "--url",
            warehouse_url.render_as_string(hide_password=False),
            "--since",
            "2018-11-09",
            "--until",
            "2018-11-03",
        ],
        io.StringIO(),
        err,
    )
    assert code == 2
    assert err.getvalue() == "error: since 2018-11-09 is after until 2018-11-03\n"
