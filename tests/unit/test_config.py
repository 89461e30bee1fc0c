"""The configuration resolver: precedence, dwh.cfg, validation, no leaked passwords."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest

from sparkify_dw import config
from sparkify_dw.backends.redshift.options import ENV_MANIFEST_PREFIX, RedshiftOptions
from sparkify_dw.errors import ConfigError
from sparkify_dw.uris import LocalPath, S3Uri

REDSHIFT_URL = "redshift+redshift_connector://u@host:5439/dev"
CFG = """\
[CLUSTER]
HOST=dwh.abc123.us-west-2.redshift.amazonaws.com
DB_NAME=dev
DB_USER=awsuser
DB_PASSWORD=S3cr3t-P4ss
DB_PORT=5439

[IAM_ROLE]
ARN='arn:aws:iam::123456789012:role/dwhRole'

[S3]
LOG_DATA='s3://udacity-dend/log_data'
LOG_JSONPATH='s3://udacity-dend/log_json_path.json'
SONG_DATA='s3://udacity-dend/song_data'
REGION=us-west-2
"""


def write_cfg(path: Path, text: str = CFG) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_embedded_default(tmp_path: Path) -> None:
    s = config.resolve(environ={}, cwd=tmp_path)
    assert s.backend == "duckdb"
    assert s.url.database == str(tmp_path / "sparkify.duckdb")
    assert Path(str(s.log_data)) == config.SAMPLE_DIR / "log_data"
    assert Path(str(s.log_jsonpath)).is_file()
    assert s.sources["url"] == "default"


def test_dwh_cfg_gives_redshift_and_hides_password(tmp_path: Path) -> None:
    write_cfg(tmp_path / "dwh.cfg")
    s = config.resolve(environ={}, cwd=tmp_path)
    assert s.url.drivername == "redshift+redshift_connector"
    assert s.url.port == 5439 and s.url.database == "dev" and s.url.username == "awsuser"
    assert s.url.password == "S3cr3t-P4ss"
    assert "S3cr3t" not in s.display_url and "S3cr3t" not in repr(s.url)
    assert s.options_as(RedshiftOptions).iam_role_arn == "arn:aws:iam::123456789012:role/dwhRole"
    assert str(s.log_data) == "s3://udacity-dend/log_data"
    assert s.region == "us-west-2"
    assert "S3cr3t-P4ss" in s.secrets()


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    write_cfg(tmp_path / "dwh.cfg")
    env = {config.ENV_URL: "postgresql+psycopg://env/db", config.ENV_LOG_DATA: "/env/logs"}
    s = config.resolve(environ=env, cwd=tmp_path)
    assert s.url.host == "env" and str(s.log_data) == "/env/logs"
    assert str(s.song_data) == "s3://udacity-dend/song_data"  # still from the file
    s = config.resolve(
        url="duckdb:///flag.duckdb", log_data="/flag/logs", environ=env, cwd=tmp_path
    )
    assert s.backend == "duckdb" and str(s.log_data) == "/flag/logs"


def test_config_named_by_env_and_flag(tmp_path: Path) -> None:
    other = write_cfg(tmp_path / "other.cfg")
    s = config.resolve(environ={config.ENV_CONFIG: str(other)}, cwd=tmp_path / "nowhere")
    assert s.backend == "redshift" and s.config_file == other
    with pytest.raises(ConfigError, match=r"missing\.cfg: configuration file not found"):
        config.resolve(config=tmp_path / "missing.cfg", environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("DB_PORT=5439", "DB_PORT=port"), r"\[CLUSTER\] DB_PORT: a whole number; Redshift ports"),
        (("DB_PORT=5439", "DB_PORT=80"), r"\[CLUSTER\] DB_PORT: a whole number; Redshift ports"),
        (("DB_NAME=dev\n", ""), r"\[CLUSTER\] DB_NAME is missing"),
        (("HOST=dwh.abc123", "HOST=bad host;"), r"\[CLUSTER\] HOST is not a valid host name"),
        (
            (
                "arn:aws:iam::123456789012:role/dwhRole",
                "arn:aws:iam::1:role/x'; DROP TABLE users;--",
            ),
            r"\[IAM_ROLE\] ARN: not an IAM role ARN",
        ),
        (
            ("s3://udacity-dend/log_data", "s3://udacity-dend/log_data'; DELETE FROM users;--"),
            r"not a valid S3 URI",
        ),
        (("REGION=us-west-2", "REGION=mars'"), r"not an AWS region"),
        (("[S3]", "[S3\n"), r"cannot parse"),
    ],
)
def test_bad_values_get_one_line_naming_file_and_key(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    path = write_cfg(tmp_path / "dwh.cfg", CFG.replace(*edit))
    with pytest.raises(ConfigError, match=message) as info:
        config.resolve(environ={}, cwd=tmp_path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    assert "S3cr3t" not in text


def test_world_readable_cfg_with_password_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_cfg(tmp_path / "dwh.cfg")
    with caplog.at_level(logging.WARNING):
        config.resolve(environ={}, cwd=tmp_path)
    assert not caplog.records
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        config.resolve(environ={}, cwd=tmp_path)
    assert "readable by other users" in caplog.text and "S3cr3t" not in caplog.text


def test_bad_url() -> None:
    with pytest.raises(ConfigError, match="--url: not a database URL"):
        config.resolve(url="not a url", environ={})


def test_embedded_default_is_found_up_to_the_project_root(tmp_path: Path) -> None:
    """A notebook's kernel starts in notebooks/: it finds the quick start's warehouse."""
    project = tmp_path / "project"
    notebooks = project / "notebooks" / "deeper"
    notebooks.mkdir(parents=True)
    (project / "setup.cfg").write_text("[metadata]\n")
    assert config.resolve(environ={}, cwd=notebooks).url.database == str(
        notebooks / "sparkify.duckdb"
    )  # none yet: made where the user stands
    (project / "sparkify.duckdb").write_bytes(b"")
    found = config.resolve(environ={}, cwd=notebooks)
    assert found.url.database == str(project / "sparkify.duckdb")
    assert found.sources["url"].startswith("default, found at")


def test_embedded_default_search_stops_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "sparkify.duckdb").write_bytes(b"")  # someone else's, above the project
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / ".git").mkdir()
    assert config.resolve(environ={}, cwd=project / "sub").url.database == str(
        project / "sub" / "sparkify.duckdb"
    )


def test_sources_are_parsed_once_at_the_edge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """resolve() parses each source setting once; what uses them gets the typed values."""
    parsed: list[str] = []
    parse = S3Uri.parse.__func__  # type: ignore[attr-defined]

    def counting(cls: type[S3Uri], text: str, what: str) -> S3Uri:
        parsed.append(text)
        return parse(cls, text, what)  # type: ignore[no-any-return]

    monkeypatch.setattr(S3Uri, "parse", classmethod(counting))
    write_cfg(tmp_path / "dwh.cfg", CFG + "MANIFEST_PREFIX=s3://udacity-dend/manifests/\n")
    s = config.resolve(environ={config.ENV_LOG_DATA: "file:///env/logs"}, cwd=tmp_path)
    assert sorted(parsed) == [
        "s3://udacity-dend/log_json_path.json",
        "s3://udacity-dend/manifests/",
        "s3://udacity-dend/song_data",
    ]
    parsed.clear()
    assert s.log_data == LocalPath("file:///env/logs")
    assert s.song_data == S3Uri("udacity-dend", "song_data")
    assert s.log_jsonpath == S3Uri("udacity-dend", "log_json_path.json")
    manifests = s.options_as(RedshiftOptions).manifest_prefix
    assert str(manifests) == "s3://udacity-dend/manifests/"
    assert parsed == []
    assert pickle.loads(pickle.dumps(s)).options == s.options


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {config.ENV_LOG_DATA: "http://host/logs"},
            "$SPARKIFY_DW_LOG_DATA: unsupported source scheme (use a path, file:// or s3://)",
        ),
        ({config.ENV_SONG_DATA: "/songs/\x00"}, "$SPARKIFY_DW_SONG_DATA: path contains a NUL byte"),
        (
            {config.ENV_LOG_JSONPATH: "s3://Bad/x"},
            "$SPARKIFY_DW_LOG_JSONPATH: not a valid S3 URI: "
            "quotes, semicolons, backslashes and control characters are not allowed",
        ),
        (
            {config.ENV_URL: REDSHIFT_URL, ENV_MANIFEST_PREFIX: "/m"},
            "$SPARKIFY_DW_MANIFEST_PREFIX: MANIFEST_PREFIX must be an s3:// URI",
        ),
        (
            {config.ENV_URL: REDSHIFT_URL, ENV_MANIFEST_PREFIX: "s3://bkt/m;"},
            "$SPARKIFY_DW_MANIFEST_PREFIX: not a valid "
            "S3 URI: quotes, semicolons, backslashes and control characters are not allowed",
        ),
    ],
)
def test_bad_sources_keep_their_one_line_messages(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.resolve(environ=env, cwd=tmp_path)
    assert str(info.value) == message
