"""Unit tests of what the Redshift path sends, as the driver receives it: COPY, the lock,
the transform, rejected records, maintenance, Alembic's SQL; each statement checked
against Redshift's grammar and AWS's lists of unsupported PostgreSQL features."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, engines, load, schema, transform
from sparkify_dw.backends import for_settings
from sparkify_dw.backends.redshift.backend import (
    MAX_ERRORS,
    MAX_WAIT,
    RedshiftBackend,
    manifest_uri,
)
from sparkify_dw.backends.redshift.errors import (
    copy_errors_select,
    failed_copy_errors_select,
    last_copy_id,
)
from sparkify_dw.constructs import Unparameterized, epoch_ms_to_timestamp
from sparkify_dw.dryrun import DryConnection
from sparkify_dw.errors import ConfigError
from sparkify_dw.models import STAGING_EVENTS, StagingEvent
from sparkify_dw.uris import S3Uri
from tests.support.cli import alembic
from tests.support.helpers import SAMPLE
from tests.support.redshift_config import (
    CFG,
    PASSWORD,
    cfg_for,
    planned,
    redshift_on_moto,
    write_cfg,
)
from tests.support.redshift_conformance import Statement, assert_conforms, problems
from tests.support.s3_server import MotoS3

__all__ = ["CFG"]  # other test modules import it from here
redshift_on_moto = redshift_on_moto

ROOT = Path(__file__).resolve().parents[3]
RS_URL = "redshift+redshift_connector://awsuser:Pa55-word-XYZ@h.example.com:5439/dev"


def norm(text: str) -> str:
    return " ".join(text.split())


def sent(settings: config.Settings, **kw: object) -> list[str]:
    return [norm(s) for s in load.dry_run(settings, **kw)]  # type: ignore[arg-type]


def test_copy_goes_out_as_literal_text_through_a_manifest(
    redshift_on_moto: config.Settings, sample_bucket: str
) -> None:
    text = load.dry_run(redshift_on_moto, ["stage"])
    copies = [norm(s) for s in text if s.startswith("COPY")]
    assert len(copies) == 2
    events, songs = copies
    assert re.fullmatch(
        r"COPY staging_events \(artist, auth, first_name, gender, item_in_session, last_name, "
        r"length, level, location, method, page, registration, session_id, song, status, ts, "
        r"user_agent, user_id\) FROM 's3://sparkify-sample/manifests/staging_events-"
        r"[0-9a-f]{16}\.manifest' WITH CREDENTIALS AS "
        r"'aws_iam_role=arn:aws:iam::123456789012:role/dwhRole' FORMAT AS JSON AS "
        r"'s3://sparkify-sample/log_json_path\.json' MANIFEST BLANKSASNULL EMPTYASNULL "
        r"COMPUPDATE OFF MAXERROR AS 1 STATUPDATE OFF REGION 'us-east-1';",
        events,
    )
    assert "FORMAT AS JSON AS 'auto' MANIFEST" in songs
    # No bind parameter in either: the driver would send $1 and Redshift refuse it.
    assert not any("-- parameters" in s for s in text if s.startswith("COPY"))
    assert "%s" not in events and "$1" not in events


def test_the_copy_construct_compiles_with_no_parameters(redshift_on_moto: config.Settings) -> None:
    backend = RedshiftBackend(redshift_on_moto)
    request = backend.requests()[0]
    copy = backend.copy(request, S3Uri.parse("s3://sparkify-sample/manifests/x.manifest", "m"))
    compiled = copy.compile(dialect=engines.dialect_for(RS_URL))
    assert compiled.params == {} and "%s" not in str(compiled)
    # Without the wrapper, sqlalchemy-redshift binds five values: what issue #240 reports.
    bare = copy.statement.compile(dialect=engines.dialect_for(RS_URL))
    assert len(bare.params) >= 4 and "%s" in str(bare)
    assert problems(Statement(str(bare), tuple(bare.params.values())))


@pytest.mark.parametrize("field", ["manifest", "jsonpaths_uri"])
def test_only_parsed_uris_reach_copy(redshift_on_moto: config.Settings, field: str) -> None:
    """COPY's URIs are literal SQL text: a str that never went through S3Uri.parse (here
    one that would end the literal) is refused before any SQL is built."""
    backend = RedshiftBackend(redshift_on_moto)
    request = backend.requests()[0]
    manifest: object = S3Uri.parse("s3://sparkify-sample/manifests/x.manifest", "m")
    evil = "s3://sparkify-sample/x'; DROP TABLE users;--"
    if field == "manifest":
        manifest = evil
    else:
        request = replace(request, jsonpaths_uri=evil)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="COPY takes a parsed S3Uri, not str"):
        backend.copy(request, manifest)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a valid S3 URI"):
        S3Uri.parse(evil, "m")


def test_manifest_lists_exactly_the_data_files(
    redshift_on_moto: config.Settings, moto_s3: MotoS3, sample_bucket: str
) -> None:
    """Hidden, non-JSON, sibling-prefix, manifest and JSONPaths keys are never COPYed."""
    put = moto_s3.client.put_object
    put(Bucket=sample_bucket, Key="log_data/.ipynb_checkpoints/x-checkpoint.json", Body=b"{}")
    put(Bucket=sample_bucket, Key="log_data/notes.txt", Body=b"x")
    put(Bucket=sample_bucket, Key="log_data_old/2018-11-30-events.json", Body=b"{}\n")
    put(Bucket=sample_bucket, Key="manifests/old.manifest", Body=b"{}")
    try:
        text = load.dry_run(redshift_on_moto, ["stage"])
        listed = [
            line.strip().removeprefix("--").strip()
            for block in text
            if block.startswith("-- manifest")
            for line in block.splitlines()[1:]
        ]
        assert len(listed) == 16 + 36
        assert all("/log_data/" in u or "/song_data/" in u for u in listed)
        assert not [u for u in listed if "checkpoint" in u or "_old" in u or "manifest" in u]
    finally:
        for key in (
            "log_data/.ipynb_checkpoints/x-checkpoint.json",
            "log_data/notes.txt",
            "log_data_old/2018-11-30-events.json",
            "manifests/old.manifest",
        ):
            moto_s3.client.delete_object(Bucket=sample_bucket, Key=key)


def test_jsonpaths_file_under_the_data_prefix_is_not_data(tmp_path: Path, moto_s3: MotoS3) -> None:
    """The JSONPaths file and the manifests may sit under the log prefix: never events."""
    import uuid

    bucket = f"jsonpaths-{uuid.uuid4().hex[:12]}"
    day = (config.SAMPLE_DIR / "log_data/2018/11/2018-11-01-events.json").read_bytes()
    song = next((config.SAMPLE_DIR / "song_data").rglob("*.json")).read_bytes()
    moto_s3.client.create_bucket(Bucket=bucket)
    for key, body in (
        ("logs/2018-11-01-events.json", day),
        ("logs/log_json_path.json", (config.SAMPLE_DIR / "log_json_path.json").read_bytes()),
        ("logs/manifests/staging_events-0.manifest", b'{"entries": []}'),
        ("songs/TR1.json", song),
    ):
        moto_s3.client.put_object(Bucket=bucket, Key=key, Body=body)
    cfg = (
        CFG.replace("s3://udacity-dend/log_data", f"s3://{bucket}/logs")
        .replace("s3://udacity-dend/song_data", f"s3://{bucket}/songs")
        .replace("s3://udacity-dend/log_json_path.json", f"s3://{bucket}/logs/log_json_path.json")
        + f"MANIFEST_PREFIX=s3://{bucket}/logs/manifests\n"
    )
    settings = config.resolve(
        config=write_cfg(tmp_path / "dwh.cfg", cfg),
        environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint},
    )
    events = for_settings(settings).requests()[0]
    assert [f.uri for f in events.files] == [f"s3://{bucket}/logs/2018-11-01-events.json"]


def test_a_log_prefix_holding_the_song_files_is_refused(
    tmp_path: Path, moto_s3: MotoS3, sample_bucket: str
) -> None:
    cfg = cfg_for(sample_bucket).replace(
        f"LOG_DATA=s3://{sample_bucket}/log_data", f"LOG_DATA=s3://{sample_bucket}/"
    )
    settings = config.resolve(
        config=write_cfg(tmp_path / "dwh.cfg", cfg),
        environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint},
    )
    with pytest.raises(ConfigError, match=r"overlap: both list s3://.*/song_data/"):
        for_settings(settings).requests()


def test_manifest_name_is_its_content(redshift_on_moto: config.Settings) -> None:
    """Same files, same manifest object: --dry-run shows the very name the load writes."""
    first = load.dry_run(redshift_on_moto, ["stage"])
    again = load.dry_run(redshift_on_moto, ["stage"])
    names = [s.split()[2] for s in first if s.startswith("-- manifest")]
    assert names == [s.split()[2] for s in again if s.startswith("-- manifest")]
    prefix = S3Uri.parse("s3://bkt/m", "MANIFEST_PREFIX")
    named = manifest_uri(prefix, STAGING_EVENTS, "a")
    assert named != manifest_uri(prefix, STAGING_EVENTS, "b")
    assert re.fullmatch(r"s3://bkt/m/staging_events-[0-9a-f]{16}\.manifest", str(named))
    assert manifest_uri(S3Uri.parse("s3://bkt/m/", "MANIFEST_PREFIX"), STAGING_EVENTS, "a") == named
    with pytest.raises(ConfigError, match="MANIFEST_PREFIX"):
        manifest_uri(None, STAGING_EVENTS, "a")


@pytest.mark.parametrize(("max_errors", "sent_as"), [(0, 1), (10, 11), (MAX_ERRORS, 100_000)])
def test_maxerror_lets_exactly_n_records_through(
    redshift_on_moto: config.Settings, max_errors: int, sent_as: int
) -> None:
    """COPY fails once the error count reaches MAXERROR: N allowed means N + 1 sent."""
    copies = [
        s
        for s in sent(redshift_on_moto, steps=["stage"], max_errors=max_errors)
        if s.startswith("COPY")
    ]
    assert copies and all(f"MAXERROR AS {sent_as} " in s for s in copies)


@pytest.mark.parametrize("max_errors", [-1, MAX_ERRORS + 1])
def test_maxerror_out_of_range_is_refused(
    redshift_on_moto: config.Settings, max_errors: int
) -> None:
    with pytest.raises(ConfigError, match="--max-errors must be from 0 to 99,999"):
        load.dry_run(redshift_on_moto, ["stage"], max_errors=max_errors)


def test_lock_waits_at_most_wait_seconds(redshift_on_moto: config.Settings) -> None:
    text = sent(redshift_on_moto, steps=["stage"], wait=2.5)
    assert text[:3] == [
        "SET statement_timeout TO 2500;",
        "LOCK loads, staging_events, staging_songs;",
        "SET statement_timeout TO 0;",
    ]


def test_lock_wait_at_the_top_of_statement_timeouts_range(
    redshift_on_moto: config.Settings,
) -> None:
    # The loader's own cap (a day) is within Redshift's range; the backend's check is for
    # whoever builds it directly (readers, the docs site).
    text = sent(redshift_on_moto, steps=["stage"], wait=load.MAX_WAIT)
    assert text[0] == "SET statement_timeout TO 86400000;"
    assert load.MAX_WAIT * 1000 <= MAX_WAIT * 1000 <= 2**31 - 1 < (MAX_WAIT + 1) * 1000


@pytest.mark.parametrize("wait", [MAX_WAIT + 1, 3_000_000, float("inf"), float("nan"), -1.0])
def test_wait_past_statement_timeouts_range_is_one_line(
    redshift_on_moto: config.Settings, wait: float
) -> None:
    """Whoever passes it (the library has no --wait cap), a wait whose milliseconds don't
    fit the server's integer is refused before anything is sent, not by the server."""
    message = r"^--wait must be from 0 to 2,147,483 seconds on Redshift .*; got "
    # The loader refuses any wait past a day first, on every backend.
    loader = r"^wait: .* is not a number of seconds from 0 to 86400$"
    with pytest.raises(ConfigError, match=loader):
        load.dry_run(redshift_on_moto, ["stage"], wait=wait)
    with pytest.raises(ConfigError, match=loader):
        load.run(settings=redshift_on_moto, wait=wait)  # refused before it connects
    with pytest.raises(ConfigError, match=message):
        RedshiftBackend(redshift_on_moto, 0, wait)


@pytest.mark.parametrize("password", ["LOCK", "s3", "SET", "0"])
def test_dry_run_masks_secret_values_never_sql(
    redshift_on_moto: config.Settings, password: str
) -> None:
    """A password that is also a word of the SQL (or a digit of a value) leaves the
    statements whole; where a text value holds it, that value is masked."""
    settings = replace(redshift_on_moto, url=redshift_on_moto.url.set(password=password))
    text = load.dry_run(settings, ["stage"], max_errors=5)
    sql = [b.partition("-- parameters: ")[0] for b in text if not b.startswith("--")]
    assert sql and not [s for s in sql if "***" in s]
    assert "LOCK loads, staging_events, staging_songs;" in text
    assert any(s.startswith("COPY staging_events") and "'s3://" in s for s in sql)
    assert any(s.startswith("SET statement_timeout TO 600000") for s in sql)
    ledger_row = next(b for b in text if b.startswith("INSERT INTO loads"))
    assert "-- parameters: (<load_id>, " in ledger_row
    if password == "s3":  # the sources text holds it: that value is masked
        assert "log_data=***://" in ledger_row


def test_rejected_records_come_from_sys_load_error_detail(
    redshift_on_moto: config.Settings,
) -> None:
    """SYS_LOAD_ERROR_DETAIL is joined on the COPY's own SYS id, read from this session's
    SYS_LOAD_HISTORY, never on pg_last_copy_id() (an STL id); the dry run says so."""
    text = sent(redshift_on_moto, steps=["stage"], max_errors=25)
    ids = [s for s in text if "sys_load_history" in s]
    assert ids and all(
        "FROM sys_load_history WHERE sys_load_history.session_id = pg_backend_pid() "
        "ORDER BY sys_load_history.start_time DESC, sys_load_history.query_id DESC" in s
        for s in ids
    )
    assert not [s for s in text if "pg_last_copy_id" in s]
    counts = next(s for s in text if "pg_last_copy_count()" in s)
    assert "WHERE sys_load_error_detail.query_id = %s" in counts
    assert counts.endswith("-- parameters: (<copy_query_id>,)")
    keep = next(s for s in text if s.startswith("INSERT INTO load_errors"))
    assert "row_number() OVER (ORDER BY e.source, e.line_no)" in keep
    assert "WHERE sys_load_error_detail.query_id = %s" in keep
    assert "'staging_events'" in keep and keep.endswith(
        "-- parameters: (<load_id>, 0, <copy_query_id>)"
    )
    assert text[-3:-1] == ["SET analyze_threshold_percent TO 0;", "ANALYZE staging_events;"]


@pytest.mark.parametrize("view", ["sys", "stl"])
def test_a_failed_copy_is_found_by_session_and_query_id(view: str) -> None:
    """After a rollback pg_last_copy_id() names an earlier COPY: the failed one's records
    are this session's, chosen by query id (SYS: its own; STL: after the one before it),
    never by time, which the session's time zone would shift."""
    dialect = engines.dialect_for(RS_URL)
    after = view == "stl"
    compiled = failed_copy_errors_select(view, 41, after=after).limit(1000).compile(dialect=dialect)
    text = norm(str(compiled))
    column = "query_id" if view == "sys" else "query"
    table = "sys_load_error_detail" if view == "sys" else "stl_load_errors"
    compare = ">" if after else "="
    assert f"= pg_backend_pid() AND {table}.{column} {compare} %s ORDER BY source, line_no" in text
    assert "getdate" not in text.lower() and "start" not in text.replace("start_time", "")
    assert tuple(compiled.params.values()) == (41,)
    assert_conforms([Statement(str(compiled), tuple(compiled.params.values()))])
    ok = norm(str(copy_errors_select(view, 41).compile(dialect=dialect)))
    assert f".{column} = %s" in ok and "pg_last_copy_id" not in ok
    last = norm(str(last_copy_id(view).compile(dialect=dialect)))
    assert ("pg_last_copy_id()" in last) == (view == "stl")
    assert ("sys_load_history" in last) == (view == "sys")


def test_maintenance_refreshes_statistics_of_small_changes(
    redshift_on_moto: config.Settings,
) -> None:
    text = sent(redshift_on_moto, vacuum=True)
    tail = text[
        text.index(
            "SET analyze_threshold_percent TO 0;",
            text.index("SELECT count(*) AS count_1 FROM songplays;"),
        ) :
    ]
    assert "ANALYZE songplays;" in tail and "VACUUM songplays;" in tail
    assert tail.index("ANALYZE songplays;") < tail.index("VACUUM songplays;")


def test_transform_statements(redshift_on_moto: config.Settings) -> None:
    text = sent(redshift_on_moto, steps=["transform"])
    writes = [
        s
        for s in text
        if s.startswith(("INSERT INTO", "UPDATE users")) and "loads" not in s.split(" SELECT")[0]
    ]
    heads = [s.split(" SELECT")[0].split(" SET")[0] for s in writes]
    assert heads == [
        "INSERT INTO artists (artist_id, name, location, latitude, longitude)",
        "INSERT INTO songs (song_id, title, artist_id, year, duration)",
        "UPDATE users",
        "INSERT INTO users (user_id, first_name, last_name, gender, level, last_event_at)",
        "INSERT INTO time (start_time, hour, day, week, month, year, weekday)",
        "INSERT INTO songplays (start_time, user_id, level, song_id, artist_id, session_id, "
        "item_in_session, location, user_agent, load_id)",
    ]
    songplays = writes[-1]
    assert (
        "(TIMESTAMP 'epoch' + (staging_events.ts / %s) * INTERVAL '1 second' + "
        "mod(staging_events.ts, %s) * INTERVAL '1 millisecond') AS start_time"
    ) in songplays
    assert "WHERE staging_events.page = %s" in songplays


@pytest.mark.parametrize("kind", ["full", "by-day", "incremental", "max-errors-vacuum"])
def test_every_dry_run_statement_conforms(redshift_on_moto: config.Settings, kind: str) -> None:
    """Full, by-day, incremental, and with rejected records allowed and VACUUM."""
    options: dict[str, object] = {
        "full": {},
        "by-day": {
            "selection": load.Selection(since=dt.date(2018, 11, 3), until=dt.date(2018, 11, 9))
        },
        "incremental": {"selection": load.Selection(incremental=True), "loaded": set()},
        "max-errors-vacuum": {"max_errors": 10, "vacuum": True},
    }[kind]  # type: ignore[assignment]
    text = load.dry_run(redshift_on_moto, **options)  # type: ignore[arg-type]
    assert assert_conforms(planned(text)) > 40


def _regional_bucket(moto_s3: MotoS3, region: str) -> str:
    """A bucket in ``region`` on moto's server: a day of events, a song, the JSONPaths."""
    name = f"rs-{region}-{uuid.uuid4().hex[:8]}"
    moto_s3.client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
    )
    day = SAMPLE / "log_data/2018/11/2018-11-01-events.json"
    moto_s3.client.put_object(Bucket=name, Key=f"log_data/{day.name}", Body=day.read_bytes())
    paths = SAMPLE / "log_json_path.json"
    moto_s3.client.put_object(Bucket=name, Key=paths.name, Body=paths.read_bytes())
    song = next((SAMPLE / "song_data").rglob("*.json"))
    moto_s3.client.put_object(Bucket=name, Key=f"song_data/{song.name}", Body=song.read_bytes())
    return name


def _settings(tmp_path: Path, moto_s3: MotoS3, cfg: str, **environ: str) -> config.Settings:
    return config.resolve(
        config=write_cfg(tmp_path / "dwh.cfg", cfg),
        environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint, **environ},
    )


def _copy_regions(settings: config.Settings) -> list[str]:
    copies = [s for s in load.dry_run(settings, ["stage"]) if s.startswith("COPY")]
    return [re.findall(r"REGION '([a-z0-9-]+)'", c)[0] for c in copies]


def test_copy_region_is_the_data_region_never_aws_default_region(
    tmp_path: Path, moto_s3: MotoS3
) -> None:
    """COPY's REGION: $SPARKIFY_DW_S3_REGION > [S3] REGION; AWS_DEFAULT_REGION (the
    default for API calls) never overrides where the data lives."""
    bucket = _regional_bucket(moto_s3, "eu-west-1")
    cfg = cfg_for(bucket, region="eu-west-1")
    settings = _settings(tmp_path, moto_s3, cfg, AWS_DEFAULT_REGION="ap-south-1")
    assert settings.region == "eu-west-1" and "[S3] REGION" in settings.sources["region"]
    assert _copy_regions(settings) == ["eu-west-1", "eu-west-1"]
    wrong = cfg_for(bucket, region="us-east-1")
    chosen = _settings(tmp_path, moto_s3, wrong, **{config.ENV_S3_REGION: "eu-west-1"})
    assert chosen.sources["region"] == "$SPARKIFY_DW_S3_REGION"
    assert _copy_regions(chosen) == ["eu-west-1", "eu-west-1"]


def test_a_bucket_outside_the_data_region_is_one_line(tmp_path: Path, moto_s3: MotoS3) -> None:
    """Checked against each bucket's region where it can be read (GetBucketLocation),
    before any manifest is written or statement sent."""
    bucket = _regional_bucket(moto_s3, "eu-west-1")
    settings = _settings(tmp_path, moto_s3, cfg_for(bucket, region="us-east-1"))
    message = (
        rf"^s3://{bucket} is in eu-west-1, but COPY's REGION is us-east-1 \(from .*dwh\.cfg "
        r"\[S3\] REGION\): set \[S3\] REGION or \$SPARKIFY_DW_S3_REGION to the data's region$"
    )
    with pytest.raises(ConfigError, match=message):
        load.dry_run(settings, ["stage"])
    # No data region: no REGION clause (the cluster's own), and the buckets must agree.
    elsewhere = _regional_bucket(moto_s3, "ap-south-1")
    cfg = cfg_for(bucket).replace("REGION=us-east-1\n", "")
    cfg = cfg.replace(f"MANIFEST_PREFIX=s3://{bucket}/", f"MANIFEST_PREFIX=s3://{elsewhere}/")
    unset = _settings(tmp_path, moto_s3, cfg, AWS_DEFAULT_REGION="eu-west-1")
    assert unset.region is None
    with pytest.raises(ConfigError, match=r"^COPY reads from one region but its buckets"):
        load.dry_run(unset, ["stage"])
    same = _settings(tmp_path, moto_s3, cfg_for(bucket).replace("REGION=us-east-1\n", ""))
    copies = [s for s in load.dry_run(same, ["stage"]) if s.startswith("COPY")]
    assert copies and not [c for c in copies if "REGION" in c]


def test_copy_inputs_validated_before_sql(
    tmp_path: Path, moto_s3: MotoS3, sample_bucket: str
) -> None:
    base = cfg_for(sample_bucket)
    for edit, message in [
        (("ARN=arn:aws:iam::123456789012:role/dwhRole\n", ""), "needs an IAM role"),
        ((f"MANIFEST_PREFIX=s3://{sample_bucket}/manifests\n", ""), "MANIFEST_PREFIX"),
    ]:
        path = write_cfg(tmp_path / "dwh.cfg", base.replace(*edit))
        settings = config.resolve(config=path, environ={config.ENV_S3_ENDPOINT: moto_s3.endpoint})
        with pytest.raises(ConfigError, match=message):
            load.dry_run(settings, ["stage"])


def test_unparameterized_refuses_nothing_but_renders_literals() -> None:
    dialect = engines.dialect_for(RS_URL)
    stmt = Unparameterized(sa.select(sa.literal("it's")))
    compiled = stmt.compile(dialect=dialect)
    assert str(compiled) == "SELECT 'it''s' AS anon_1" and compiled.params == {}


def test_dry_connection_records_parameters_as_the_driver_gets_them() -> None:
    conn = DryConnection(engines.dialect_for(RS_URL))
    conn.execute(sa.select(sa.literal(5)).where(sa.literal(1) == sa.bindparam("x", 1)))
    (only,) = conn.sent
    assert only.text == "SELECT %s AS anon_1 \nWHERE %s = %s" and only.parameters == (5, 1, 1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("duckdb://", "epoch_ms(staging_events.ts)"),
        (
            "postgresql+psycopg://h/d",
            "(TIMESTAMP 'epoch' + (staging_events.ts / 1000) * "
            "INTERVAL '1 second' + mod(staging_events.ts, 1000) * "
            "INTERVAL '1 millisecond')",
        ),
    ],
)
def test_epoch_construct_per_dialect(url: str, expected: str) -> None:
    dialect = sa.create_engine(url, paramstyle="named").dialect
    stmt = sa.select(epoch_ms_to_timestamp(StagingEvent.ts))
    assert expected in str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_transform_builds_one_statement_per_step() -> None:
    steps = transform.steps()
    assert [(s.action, s.table) for s in steps] == [
        ("insert", "artists"),
        ("insert", "songs"),
        ("update", "users"),
        ("insert", "users"),
        ("insert", "time"),
        ("insert", "songplays"),
    ]


# --- Alembic ---------------------------------------------------------------------------------


def alembic_sql(*args: str) -> str:
    proc = alembic("-x", f"url={RS_URL}", *args, "--sql")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def split_script(sql: str) -> list[Statement]:
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    return [Statement(s.strip()) for s in body.split(";\n") if s.strip()]


@pytest.mark.parametrize("args", [("upgrade", "head"), ("downgrade", f"{schema.head()}:base")])
def test_alembic_offline_sql_is_redshift_sql(args: tuple[str, ...]) -> None:
    sql = alembic_sql(*args)
    assert "RETURNING" not in sql.upper() and PASSWORD not in sql
    assert "alembic_version" in sql
    assert assert_conforms(split_script(sql)) >= 3


def test_online_dialect_has_no_returning() -> None:
    dialect = engines.dialect_for(RS_URL)
    assert not dialect.insert_returning and not dialect.update_returning
    plain = sa.create_engine(RS_URL).dialect  # other engines in the process: untouched
    assert plain.insert_returning
