"""The Redshift code path as sent (see :mod:`tests.redshift_harness`): Alembic up and down,
loads full, rerun, incremental and by day, rejected records within and above
``--max-errors``, a failed transform, ``--wait``, then checks, analytics, history and
errors; every statement the driver received is checked for Redshift, and ``--dry-run``
is compared with what a load really sent."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy_redshift.commands import CopyCommand, Format

from sparkify_dw import answers, backends, checks, config, ledger, load, output, schema
from sparkify_dw.backends import LockBusy
from sparkify_dw.backends.redshift import backend as redshift_backend
from sparkify_dw.backends.redshift.options import RedshiftOptions
from sparkify_dw.cli import run
from sparkify_dw.constructs import Unparameterized
from sparkify_dw.errors import ConfigError
from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES, LOADS, STAGING_EVENTS
from sparkify_dw.uris import S3Uri
from tests.support.helpers import SAMPLE, run_load, star_snapshot, table_rows
from tests.support.redshift_config import cfg_for, planned, write_cfg
from tests.support.redshift_conformance import Statement, assert_conforms, problems
from tests.support.redshift_harness import SESSION_TIME_ZONE, Harness
from tests.support.redshift_relay import RedshiftRelay
from tests.support.s3_server import MotoS3, upload_tree

# What sqlalchemy-redshift's dialect itself sends on connect and to reflect (not this
# project's SQL); checked like the rest except for these exact forms.
DIALECT_OWN = (
    "show transaction isolation level",
    "select pg_catalog.version()",
    "select current_schema()",
)


@pytest.fixture(scope="module")
def relay() -> Iterator[RedshiftRelay]:
    with RedshiftRelay() as r:
        yield r


@pytest.fixture
def bucket(moto_s3: MotoS3) -> str:
    """A fresh bucket with the sample: tests add bad records to theirs."""
    name = f"rs-{uuid.uuid4().hex[:10]}"
    moto_s3.client.create_bucket(Bucket=name)
    for part in ("log_data", "song_data"):
        upload_tree(moto_s3.client, name, SAMPLE / part, part)
    paths = SAMPLE / "log_json_path.json"
    moto_s3.client.put_object(Bucket=name, Key=paths.name, Body=paths.read_bytes())
    return name


@pytest.fixture
def harness(relay: RedshiftRelay, pg_url: sa.URL, moto_s3: MotoS3) -> Harness:
    admin = pg_url.set(drivername="postgresql").render_as_string(hide_password=False)
    h = Harness(relay, pg_url.database or "", admin, moto_s3.client)
    h.setup()
    return h


@pytest.fixture
def settings(
    tmp_path: Path, moto_s3: MotoS3, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> config.Settings:
    monkeypatch.setenv(config.ENV_S3_ENDPOINT, moto_s3.endpoint)
    path = write_cfg(tmp_path / "dwh.cfg", cfg_for(bucket))
    return config.resolve(config=path, environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint})


@pytest.fixture
def engine(harness: Harness) -> Iterator[sa.Engine]:
    engine = harness.engine()
    with engine.begin() as conn:
        schema.upgrade(conn)
    yield engine
    engine.dispose()


def ours(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if s.text.strip().lower() not in DIALECT_OWN]


def texts(statements: list[Statement]) -> list[str]:
    return [" ".join(s.text.split()) for s in statements]


def assert_dry_run_is_what_was_sent(
    dry: list[str], sent: list[Statement], rejected: tuple[str, ...] = ()
) -> None:
    """Same statements in the same order, with as many parameters each. A dry run can't
    know the results, so it shows the copy of rejected records a real load sends only
    when COPY rejected some."""
    plan = [
        s
        for s in planned(dry)
        if not s.text.startswith("INSERT INTO load_errors")
        or any(f"'{table}'" in s.text for table in rejected)
    ]
    # The transaction ends with the ledger's row; maintenance follows the commit.
    end = max(i for i, s in enumerate(sent) if s.text.startswith("UPDATE loads")) + 1
    plan_end = max(i for i, s in enumerate(plan) if s.text.startswith("UPDATE loads")) + 1
    assert texts(plan[:plan_end]) == texts(sent[:end])
    assert [len(s.parameters or ()) for s in plan[:plan_end]] == [
        len(s.parameters or ()) for s in sent[:end]
    ]
    # After the commit only the tables the load changed are analyzed; the dry run, not
    # knowing which, shows every table the steps can change.
    after = iter(texts(plan[plan_end:]))
    assert all(statement in after for statement in texts(sent[end:]))


@pytest.mark.slow  # the whole cycle through the relay: about 40 s
def test_upgrade_load_check_analytics_history_downgrade(
    harness: Harness, settings: config.Settings, duckdb_url: sa.URL, pg_url: sa.URL
) -> None:
    engine = harness.engine()
    with engine.begin() as conn:
        schema.upgrade(conn)
    upgrade = ours(harness.sent)
    assert any(s.text.lstrip().startswith("CREATE TABLE songplays") for s in upgrade), texts(
        upgrade
    )
    assert not any("RETURNING" in s.text.upper() for s in upgrade)

    dry = load.dry_run(settings, max_errors=10, vacuum=True)
    harness.clear()
    first = load.run(engine, settings, max_errors=10, vacuum=True)
    assert first.staged == {"staging_events": 4091, "staging_songs": 36}
    assert first.inserted["songplays"] == 3478 and not first.warnings
    assert_dry_run_is_what_was_sent(dry, harness.sent_since("SET statement_timeout"))
    loaded = ours(harness.sent)

    # The same files loaded by DuckDB give the same star schema.
    schema.upgrade(duckdb_url)
    run_load(duckdb_url)
    assert star_snapshot(pg_url) == star_snapshot(duckdb_url)

    harness.clear()
    again = load.run(engine, settings)
    assert again.inserted["songplays"] == 0 and star_snapshot(pg_url) == star_snapshot(duckdb_url)
    rerun = ours(harness.sent)

    harness.clear()
    assert all(r.passed for r in checks.run_checks(engine))
    _, expected = answers.read_expected(SAMPLE / "expected_analytics.json")
    params, _ = answers.read_expected(SAMPLE / "expected_analytics.json")
    assert answers.differences(expected, answers.answer_all(engine, params)) == []
    with backends.for_settings(settings, wait=5).reading(engine) as conn:
        assert "succeeded" in [row.status for row in ledger.history(conn, 50)]
        assert ledger.errors(conn, again.load_id or 0) == []
    reads = ours(harness.sent)

    harness.clear()
    with engine.begin() as conn:
        schema.downgrade(conn)
    downgrade = ours(harness.sent)
    assert any(s.text.lstrip().startswith("DROP TABLE songplays") for s in downgrade)
    engine.dispose()

    checked = assert_conforms([*upgrade, *loaded, *rerun, *reads, *downgrade])
    assert checked > 100
    copies = [s for s in loaded if s.text.startswith("COPY")]
    assert len(copies) == 2 and all(not s.parameters for s in copies)


@pytest.mark.slow  # two loads through the relay: about 25 s
def test_incremental_after_a_full_load_stages_only_new_files(
    harness: Harness, engine: sa.Engine, settings: config.Settings, moto_s3: MotoS3, bucket: str
) -> None:
    first = load.run(engine, settings)
    with engine.connect() as conn:
        files = conn.execute(
            sa.select(sa.func.count())
            .select_from(LOAD_FILES)
            .where(LOAD_FILES.c.load_id == first.load_id)
        ).scalar_one()
    assert files == 16 + 36  # every file, not the prefix

    day = SAMPLE / "log_data/2018/11/2018-11-21-events.json"
    moto_s3.client.put_object(
        Bucket=bucket,
        Key="log_data/2018/11/2018-11-22-events.json",
        Body=day.read_bytes()[:4000].rsplit(b"\n", 1)[0] + b"\n",
    )
    with engine.connect() as conn:
        known = ledger.loaded_files(conn)
    selection = load.Selection(incremental=True)
    dry = load.dry_run(settings, selection=selection, loaded=known)
    harness.clear()
    second = load.run(engine, settings, selection=selection)
    assert_dry_run_is_what_was_sent(dry, harness.sent_since("SET statement_timeout"))
    manifest = next(b for b in dry if b.startswith("-- manifest") and "staging_events" in b)
    assert manifest.count("s3://") == 2 and "2018-11-22-events.json" in manifest
    assert 0 < second.staged["staging_events"] < 40
    assert_conforms(ours(harness.sent))

    harness.clear()
    days = load.Selection(since=dt.date(2018, 11, 3), until=dt.date(2018, 11, 4))
    dry = load.dry_run(settings, selection=days)
    third = load.run(engine, settings, selection=days)
    assert_dry_run_is_what_was_sent(dry, harness.sent_since("SET statement_timeout"))
    assert third.staged["staging_events"] == sum(
        len(
            [
                ln
                for ln in (SAMPLE / f"log_data/2018/11/2018-11-{d}-events.json")
                .read_text()
                .splitlines()
                if ln.strip()
            ]
        )
        for d in ("03", "04")
    )
    assert_conforms(ours(harness.sent))


@pytest.fixture(params=["sys", "stl"])
def errors_view(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both of Redshift's error views: SYS_LOAD_ERROR_DETAIL, or STL_LOAD_ERRORS as on a
    cluster without the SYS view."""
    if request.param == "stl":
        monkeypatch.setattr(redshift_backend, "_has_sys_load_errors", lambda conn: False)
    return str(request.param)


def _bad_day(good: int, bad: int) -> bytes:
    lines = (SAMPLE / "log_data/2018/11/2018-11-21-events.json").read_bytes().splitlines()
    broken = [b'{"userId": "x1", "ts": 1543000000000, "page": "NextSong"}'] * bad
    return b"\n".join([*lines[:good], *broken]) + b"\n"


@pytest.mark.slow  # two COPY failures per error view through the relay: 40 s in all
def test_rejected_records_within_and_above_max_errors(
    harness: Harness,
    engine: sa.Engine,
    settings: config.Settings,
    moto_s3: MotoS3,
    bucket: str,
    errors_view: str,
) -> None:
    key = "log_data/2018/11/2018-11-30-events.json"
    moto_s3.client.put_object(Bucket=bucket, Key=key, Body=_bad_day(5, 3))

    harness.clear()
    with pytest.raises(load.TooManyRejected, match=rf"first at s3://{bucket}/{key}:6: "):
        load.run(engine, settings, max_errors=2)
    failed = ours(harness.sent)
    assert any(re.search(r"MAXERROR AS 3\b", s.text) for s in failed if s.text.startswith("COPY"))
    assert any("pg_backend_pid()" in s.text for s in failed)  # the failed COPY's records
    with engine.connect() as conn:
        ((status, message),) = conn.execute(sa.select(LOADS.c.status, LOADS.c.message)).all()
        assert status == "failed" and "sys_load_error_detail" in message
        assert conn.execute(sa.select(sa.func.count()).select_from(LOAD_ERRORS)).scalar() == 3
        assert conn.execute(sa.select(sa.func.count()).select_from(STAGING_EVENTS)).scalar() == 0

    harness.clear()
    dry = load.dry_run(settings, max_errors=3)
    result = load.run(engine, settings, max_errors=3)  # exactly N rejected: still loads
    if errors_view == "sys":  # a dry run doesn't ask the cluster which view it has
        assert_dry_run_is_what_was_sent(
            dry, harness.sent_since("SET statement_timeout"), rejected=("staging_events",)
        )
    assert result.rejected["staging_events"] == 3
    assert result.staged["staging_events"] == 4091 + 5
    with engine.connect() as conn:
        rejected = ledger.errors(conn, result.load_id or 0)
    report = "\n".join(
        output.table_lines(ledger.ERRORS_HEADERS, [ledger.errors_row(r) for r in rejected])
    )
    assert f"s3://{bucket}/{key}:6" in report and "user_id" in report
    assert_conforms([*failed, *ours(harness.sent)])


@pytest.mark.usefixtures("errors_view")
def test_k_rejected_within_max_errors_are_reported_and_kept(
    harness: Harness, engine: sa.Engine, settings: config.Settings, moto_s3: MotoS3, bucket: str
) -> None:
    """As on a provisioned cluster: STL and SYS number the COPY apart and the session's
    time zone is not UTC. A load whose COPY skips K records within --max-errors reports
    K, reads good + K, and keeps K rows in load_errors."""
    good, k = 7, 4
    key = "log_data/2018/11/2018-11-30-events.json"
    moto_s3.client.put_object(Bucket=bucket, Key=key, Body=_bad_day(good, k))
    result = load.run(engine, settings, max_errors=10)
    sent_by_the_load = ours(harness.sent)  # not the test's own probes below
    assert result.rejected["staging_events"] == k
    assert result.staged["staging_events"] == 4091 + good
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW timezone")).scalar() == SESSION_TIME_ZONE
        kept = conn.execute(
            sa.select(LOAD_ERRORS.c.source, LOAD_ERRORS.c.line_no, LOAD_ERRORS.c.error_no)
            .where(LOAD_ERRORS.c.load_id == result.load_id)
            .order_by(LOAD_ERRORS.c.error_no)
        ).all()
        stl = set(conn.execute(sa.text("SELECT query FROM stl_load_errors")).scalars())
        sys = set(conn.execute(sa.text("SELECT query_id FROM sys_load_error_detail")).scalars())
    assert kept == [(f"s3://{bucket}/{key}", good + n, n) for n in range(1, k + 1)]
    assert len(stl) == len(sys) == 1 and not stl & sys  # the same COPY, two ids
    assert_conforms(sent_by_the_load)


def test_percent_in_a_literal_reaches_the_server_doubled(harness: Harness) -> None:
    """Why COPY refuses '%' in the URIs it names: a literal with '%' (as COPY's are) goes
    through SQLAlchemy and redshift_connector as '%%', and the server reads that."""
    uri = "s3://bucket/log%20data/x.json"
    engine = harness.engine()
    try:
        with engine.connect() as conn:
            echoed = conn.execute(Unparameterized(sa.select(sa.literal(uri)))).scalar()
    finally:
        engine.dispose()
    assert echoed == "s3://bucket/log%%20data/x.json"
    assert "'s3://bucket/log%%20data/x.json'" in harness.sent[-1].text


@pytest.mark.slow  # a full load through the relay: 17 s
def test_percent_in_copys_own_uris_is_one_line_and_data_keys_may_hold_it(
    harness: Harness,
    engine: sa.Engine,
    settings: config.Settings,
    moto_s3: MotoS3,
    bucket: str,
) -> None:
    """The manifest's and JSONPaths file's URIs are COPY's SQL: '%' there is refused
    before anything is written. A data file's key is only in the manifest (JSON), so a
    key with '%' loads, named as it is."""
    paths = (SAMPLE / "log_json_path.json").read_bytes()
    moto_s3.client.put_object(Bucket=bucket, Key="log%5Fjson_path.json", Body=paths)
    for bad in (
        replace(
            settings,
            options=replace(
                settings.options_as(RedshiftOptions),
                manifest_prefix=S3Uri.parse(f"s3://{bucket}/man%20ifests", "test"),
            ),
        ),
        replace(settings, log_jsonpath=S3Uri.parse(f"s3://{bucket}/log%5Fjson_path.json", "test")),
    ):
        with pytest.raises(
            ConfigError, match=r"^.*: Redshift's COPY can't name an S3 key with '%'"
        ):
            load.dry_run(bad, ["stage"])
        harness.clear()
        with pytest.raises(ConfigError, match="can't name an S3 key with '%'"):
            load.run(engine, bad)
        assert not [s for s in harness.sent if s.text.startswith("COPY")]
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(LOADS.c.status)).scalars()) <= {"failed"}
        assert conn.execute(sa.select(sa.func.count()).select_from(STAGING_EVENTS)).scalar() == 0
    key = "log_data/2018/11/2018-11-30%20late-events.json"
    moto_s3.client.put_object(Bucket=bucket, Key=key, Body=_bad_day(6, 0))
    result = load.run(engine, settings)
    assert result.staged["staging_events"] == 4091 + 6 and not result.rejected.get("staging_events")
    with engine.connect() as conn:
        files = conn.execute(sa.select(LOAD_FILES.c.uri)).scalars().all()
    assert f"s3://{bucket}/{key}" in files


def test_a_failed_transform_changes_nothing(
    harness: Harness, engine: sa.Engine, settings: config.Settings, pg_url: sa.URL
) -> None:
    harness.fail_on = lambda sql: sql.startswith("INSERT INTO songplays")
    with pytest.raises(load.LoadError, match=r"transform: .*injected failure"):
        load.run(engine, settings)
    harness.fail_on = None
    assert all(rows == [] for rows in star_snapshot(pg_url).values())
    assert (
        table_rows(pg_url, "loads", without=("started_at", "finished_at", "message", "sources"))[0][
            1
        ]
        == "failed"
    )
    assert_conforms(ours(harness.sent))


def test_wait_bounds_the_load_lock_and_readers(
    harness: Harness, engine: sa.Engine, settings: config.Settings
) -> None:
    holder = engine.connect()
    holder.execute(sa.text("LOCK loads"))  # a load in progress, as far as others can tell
    try:
        started = time.monotonic()
        with pytest.raises(LockBusy, match="waited 1s"):
            load.run(engine, settings, wait=1)
        assert time.monotonic() - started < 30
        with (
            backends.for_settings(settings, wait=1).reading(engine) as reader,
            pytest.raises(sa.exc.DBAPIError, match="statement timeout"),
        ):
            ledger.history(reader, 50)
    finally:
        holder.rollback()
        holder.close()
    assert "SET statement_timeout TO 1000" in texts(harness.sent)


def test_status_and_the_docs_site_wait_at_most_wait_behind_a_load(
    harness: Harness,
    engine: sa.Engine,
    settings: config.Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A running load holds LOCK on the ledger: the status command and the docs site's
    queries give up after --wait with one line instead of waiting for the whole load
    (here the lock is let go after 20 s, so a reader that waits shows up as slow)."""
    from sparkify_dw import docs
    from sparkify_dw.docs import site
    from sparkify_dw.status import freshness

    monkeypatch.setattr(freshness, "readonly_engine", lambda _: harness.engine())
    monkeypatch.setattr(site, "readonly_engine", lambda _: harness.engine())
    holder = engine.connect()
    holder.execute(sa.text("LOCK loads"))
    release = threading.Timer(20, holder.rollback)
    release.start()
    try:
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        code = run(["status", "--url", str(settings.url), "--wait", "1"], out=out, err=err)
        took = time.monotonic() - started
        assert code == 1 and took < 15, (took, err.getvalue())
        assert "statement timeout" in err.getvalue() and len(err.getvalue().splitlines()) == 1
        started = time.monotonic()
        live = docs.read_live(settings, wait=1)
        assert not live.reachable and "statement timeout" in live.note
        assert time.monotonic() - started < 15
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
    assert texts(harness.sent).count("SET statement_timeout TO 1000") >= 2


def test_status_as_sent_conforms(
    harness: Harness, engine: sa.Engine, settings: config.Settings
) -> None:
    from sparkify_dw import status

    load.run(engine, settings)
    harness.clear()
    with engine.connect() as conn:
        found = status.gather(conn, settings, status.utcnow(), dt.timedelta(hours=26))
    assert found.rows["songplays"] == 3478 and found.checks_run == len(checks.CHECKS)
    assert assert_conforms(ours(harness.sent)) > 20


def test_a_copy_with_bind_parameters_fails_as_on_redshift(
    harness: Harness, engine: sa.Engine
) -> None:
    """The harness is not lenient: sqlalchemy-redshift's CopyCommand as it binds by
    default reaches the server as ``$1`` and fails, and the checks name it."""
    copy = CopyCommand(
        STAGING_EVENTS,
        data_location="s3://bucket/log_data",
        iam_role_arns=["arn:aws:iam::123456789012:role/r"],
        format=Format.json,
    )
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match=r"\$1"):
        conn.execute(copy)
    sent = harness.sent[-1]
    assert sent.text.startswith("COPY") and sent.parameters
    assert any("bind parameters" in p for p in problems(sent))


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            Statement("COPY t FROM %s IAM_ROLE %s FORMAT AS JSON %s", ("s3://b/k", "arn", "auto")),
            "bind parameters",
        ),
        (
            Statement(
                "INSERT INTO alembic_version (version_num) VALUES ('0001') "
                "RETURNING alembic_version.version_num",
                (),
            ),
            "not Redshift SQL (sqlfluff)",
        ),
        (Statement("SELECT string_agg(name, ',') FROM artists", ()), "function STRING_AGG"),
        (Statement("SELECT a IS DISTINCT FROM b FROM t", ()), "IS DISTINCT"),
        (Statement("SELECT pg_try_advisory_lock(%s)", (1,)), "function PG_TRY_ADVISORY_LOCK"),
        (Statement("SELEC 1", ()), "sqlfluff"),
    ],
)
def test_each_check_fails_what_redshift_refuses(statement: Statement, expected: str) -> None:
    found = problems(statement)
    assert any(expected in p for p in found), found
    with pytest.raises(AssertionError, match="statements Redshift would refuse"):
        assert_conforms([statement])
