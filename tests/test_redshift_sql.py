"""Golden tests of the SQL generated for Redshift: COPY, the transform, the epoch construct."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import config, load, transform
from sparkify_dw.constructs import epoch_ms_to_timestamp
from sparkify_dw.models import StagingEvent

CFG = """\
[CLUSTER]
HOST=dwh.abc123.us-west-2.redshift.amazonaws.com
DB_NAME=dev
DB_USER=awsuser
DB_PASSWORD=Pa55-word-XYZ
DB_PORT=5439
[IAM_ROLE]
ARN=arn:aws:iam::123456789012:role/dwhRole
[S3]
LOG_DATA=s3://udacity-dend/log_data
LOG_JSONPATH=s3://udacity-dend/log_json_path.json
SONG_DATA=s3://udacity-dend/song_data
REGION=us-west-2
"""


@pytest.fixture
def redshift(tmp_path: Path) -> config.Settings:
    path = tmp_path / "dwh.cfg"
    path.write_text(CFG)
    path.chmod(0o600)
    return config.resolve(config=path, environ={})


def norm(text: str) -> str:
    return " ".join(text.split())


def test_copy_statements(redshift: config.Settings) -> None:
    statements = load.dry_run(redshift, ["stage"])
    copies = [norm(s) for s in statements if s.startswith("COPY")]
    assert copies == [
        "COPY staging_events (artist, auth, first_name, gender, item_in_session, last_name, "
        "length, level, location, method, page, registration, session_id, song, status, ts, "
        "user_agent, user_id) FROM 's3://udacity-dend/log_data' WITH CREDENTIALS AS "
        "'aws_iam_role=arn:aws:iam::123456789012:role/dwhRole' FORMAT AS JSON AS "
        "'s3://udacity-dend/log_json_path.json' BLANKSASNULL EMPTYASNULL COMPUPDATE OFF "
        "MAXERROR AS 0 STATUPDATE OFF REGION 'us-west-2'",
        "COPY staging_songs (num_songs, artist_id, artist_latitude, artist_longitude, "
        "artist_location, artist_name, song_id, title, duration, year) FROM "
        "'s3://udacity-dend/song_data' WITH CREDENTIALS AS "
        "'aws_iam_role=arn:aws:iam::123456789012:role/dwhRole' FORMAT AS JSON AS 'auto' "
        "BLANKSASNULL EMPTYASNULL COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF REGION 'us-west-2'",
    ]
    assert [norm(s) for s in statements[1:3]] == ["DELETE FROM staging_events",
                                                 "DELETE FROM staging_songs"]


def test_transform_statements(redshift: config.Settings) -> None:
    text = [norm(s) for s in load.dry_run(redshift, ["transform"])
            if not s.startswith(("ANALYZE", "LOCK"))]
    heads = [s.split(" SELECT")[0].split(" SET")[0] for s in text]
    assert heads == [
        "INSERT INTO artists (artist_id, name, location, latitude, longitude)",
        "INSERT INTO songs (song_id, title, artist_id, year, duration)",
        "UPDATE users",
        "INSERT INTO users (user_id, first_name, last_name, gender, level, last_event_at)",
        "INSERT INTO time (start_time, hour, day, week, month, year, weekday)",
        "INSERT INTO songplays (start_time, user_id, level, song_id, artist_id, session_id, "
        "item_in_session, location, user_agent, load_id)",
    ]
    songplays = text[-1]
    assert ("(TIMESTAMP 'epoch' + (staging_events.ts / 1000) * INTERVAL '1 second' + "
            "mod(staging_events.ts, 1000) * INTERVAL '1 millisecond') AS start_time") in songplays
    assert "row_number() OVER (PARTITION BY catalogue.title, catalogue.artist_name, " \
           "catalogue.millis ORDER BY catalogue.song_id ASC" in songplays
    assert "CAST(floor(staging_songs.duration * 1000 + 0.5) AS BIGINT)" in songplays
    assert "WHERE staging_events.page = 'NextSong'" in songplays
    assert "%%" not in songplays


def test_dry_run_masks_password(redshift: config.Settings) -> None:
    text = "\n".join(load.dry_run(redshift))
    assert "Pa55-word-XYZ" not in text


@pytest.mark.parametrize(("url", "expected"), [
    ("duckdb://", "epoch_ms(staging_events.ts)"),
    ("postgresql+psycopg://h/d", "(TIMESTAMP 'epoch' + (staging_events.ts / 1000) * "
                                 "INTERVAL '1 second' + mod(staging_events.ts, 1000) * "
                                 "INTERVAL '1 millisecond')"),
])
def test_epoch_construct_per_dialect(url: str, expected: str) -> None:
    dialect = sa.create_engine(url, paramstyle="named").dialect
    stmt = sa.select(epoch_ms_to_timestamp(StagingEvent.ts))
    assert expected in str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(("edit", "message"), [
    (("ARN=arn:aws:iam::123456789012:role/dwhRole\n", ""), "needs an IAM role"),
    (("LOG_DATA=s3://udacity-dend/log_data", "LOG_DATA=/local/logs"), "reads from S3"),
])
def test_copy_inputs_validated_before_sql(tmp_path: Path, edit: tuple[str, str],
                                          message: str) -> None:
    path = tmp_path / "dwh.cfg"
    path.write_text(CFG.replace(*edit))
    path.chmod(0o600)
    with pytest.raises(config.ConfigError, match=message):
        load.dry_run(config.resolve(config=path, environ={}), ["stage"])


def test_transform_uses_only_core_constructs() -> None:
    for step in transform.steps():
        assert isinstance(step.statement, (sa.Insert, sa.Update))


def test_load_errors_come_from_stl_load_errors(redshift: config.Settings) -> None:
    """MAXERROR on the COPY; its rejected rows copied from stl_load_errors by one INSERT."""
    from sparkify_dw.backends.redshift import copy_errors_select

    text = [norm(s) for s in load.dry_run(redshift, ["stage"], max_errors=25)]
    assert all("MAXERROR AS 25" in s for s in text if s.startswith("COPY"))
    assert text[0] == "LOCK loads, staging_events, staging_songs"
    counts = next(s for s in text if "pg_last_copy_count()" in s)
    assert "FROM stl_load_errors WHERE stl_load_errors.query = pg_last_copy_id()" in counts
    keep = next(s for s in text if s.startswith("INSERT INTO load_errors"))
    assert "FROM stl_load_errors WHERE stl_load_errors.query = pg_last_copy_id()" in keep
    assert "row_number() OVER (ORDER BY e.source, e.line_no)" in keep
    assert text[-2:] == ["ANALYZE staging_events", "ANALYZE staging_songs"]
    dialect = redshift.create_engine().dialect
    failed = norm(str(copy_errors_select().limit(1000).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True})))
    assert failed.startswith("SELECT trim(stl_load_errors.filename) AS source, "
                             "stl_load_errors.line_number AS line_no")
    assert failed.endswith("ORDER BY stl_load_errors.filename, stl_load_errors.line_number "
                           " LIMIT 1000".replace("  ", " "))
