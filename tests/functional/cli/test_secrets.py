"""No password, secret key or session token in any output, with or without -v."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.cli import invoke
from tests.support.redshift_config import cfg_for, write_cfg
from tests.support.s3_server import MotoS3

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID1234",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIsecretKEYexample0123456789",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123",
}
PASSWORD = "Pa55-word-XYZ"  # in CFG


def run(
    args: list[str], cwd: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    env.update(SECRETS)
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "sparkify_dw.load", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        env=env,
        timeout=120,
    )


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    for secret in (*SECRETS.values(), PASSWORD, "Sup3r-s3cret"):
        if secret == SECRETS["AWS_ACCESS_KEY_ID"]:
            continue  # a key id is not a secret; it is printed by nothing here anyway
        assert secret not in text, f"{secret!r} leaked:\n{text}"


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_connection_failure_with_password(tmp_path: Path, verbose: list[str]) -> None:
    url = "postgresql+psycopg://root:Sup3r-s3cret@127.0.0.1:1/nowhere"
    proc = run(["--url", url, *verbose], tmp_path)
    assert proc.returncode == 1 and "error:" in proc.stderr
    assert_clean(proc)
    assert "***" in proc.stdout  # "loading into postgresql+psycopg://root:***@…"


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_redshift_dry_run_and_errors(
    tmp_path: Path, verbose: list[str], moto_s3: MotoS3, sample_bucket: str
) -> None:
    write_cfg(tmp_path / "dwh.cfg", cfg_for(sample_bucket))
    dry = run(["--dry-run", *verbose], tmp_path, {"SPARKIFY_DW_S3_ENDPOINT": moto_s3.endpoint})
    assert dry.returncode == 0 and "COPY staging_events" in dry.stdout
    assert_clean(dry)
    history = run(["--history", *verbose], tmp_path)  # can't reach the cluster: one line
    assert history.returncode == 1
    assert history.stderr.splitlines()[-1].startswith("error: ")
    assert_clean(history)


def test_s3_source_with_bad_endpoint_verbose(tmp_path: Path) -> None:
    from sparkify_dw import schema

    schema.upgrade(f"duckdb:///{tmp_path / 'w.duckdb'}")  # the load reaches the endpoint
    proc = run(
        ["--url", f"duckdb:///{tmp_path / 'w.duckdb'}", "--log-data", "s3://bucket/logs", "-v"],
        tmp_path,
        {"SPARKIFY_DW_S3_ENDPOINT": "http://127.0.0.1:1", "AWS_MAX_ATTEMPTS": "1"},
    )
    assert proc.returncode == 2  # the endpoint is configuration
    assert "cannot reach http://127.0.0.1:1" in proc.stderr
    assert_clean(proc)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://root@127.0.0.1:1/nowhere?password=Sup3r-s3cret",
        "postgresql+psycopg://root@127.0.0.1:1/nowhere?sslpassword=Sup3r-s3cret&connect_timeout=2",
        "postgresql+psycopg://root:Sup3r-s3cret@127.0.0.1:1/nowhere?options=-c%20x%3D1",
        "postgresql+psycopg://root@127.0.0.1:1/nowhere?options=-c%20password%3DSup3r-s3cret",
    ],
)
@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_password_anywhere_in_the_url_is_masked(
    tmp_path: Path, url: str, verbose: list[str]
) -> None:
    proc = run(
        ["--url", url, *verbose],
        tmp_path,
        {"AWS_SECURITY_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLEsecurityTOKEN"},
    )
    assert proc.returncode == 1 and "error:" in proc.stderr
    assert_clean(proc)
    assert "IQoJb3JpZ2luX2VjEXAMPLEsecurityTOKEN" not in proc.stdout + proc.stderr
    assert "loading into postgresql+psycopg://root" in proc.stdout and "***" in proc.stdout


def test_settings_mask_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify_dw import config

    for name, value in (
        ("AWS_SECRET_ACCESS_KEY", "k-secret"),
        ("AWS_SESSION_TOKEN", "s-tok"),
        ("AWS_SECURITY_TOKEN", "sec-tok"),
    ):
        monkeypatch.setenv(name, value)
    settings = config.resolve(
        url="postgresql+psycopg://u:pw1@h/db?password=pw2&options=-c%20password%3Dpw3"
    )
    text = f"pw1 pw2 pw3 k-secret s-tok sec-tok {settings.display_url}"
    masked = settings.mask(text)
    for secret in ("pw1", "pw2", "pw3", "k-secret", "s-tok", "sec-tok"):
        assert secret not in masked, masked
    assert "pw" not in settings.display_url.replace("password", "")


# --- sparkify_dw.secrets: each kind of secret, found and masked ------------------------------


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql+psycopg://u:pw-in-userinfo@h/db", "pw-in-userinfo"),
        ("postgresql+psycopg://u@h/db?password=pw-query", "pw-query"),
        ("postgresql+psycopg://u@h/db?sslpassword=pw-ssl&connect_timeout=2", "pw-ssl"),
        ("postgresql+psycopg://u@h/db?options=-c%20password%3Dpw-opt", "pw-opt"),
        ("redshift+redshift_connector://u@h/db?aws_secret_access_key=pw-aws", "pw-aws"),
        ("postgresql+psycopg://u:p%40ss%2Fw0rd@h/db", "p@ss/w0rd"),
    ],
)
def test_url_passwords_wherever_they_sit(url: str, password: str) -> None:
    from sqlalchemy.engine import make_url

    from sparkify_dw import secrets

    url_obj = make_url(url)
    found = secrets.url_secrets(url_obj)
    assert password in found
    rendered = url_obj.render_as_string(hide_password=False)
    masked = secrets.mask(f"{rendered} failed for {password}", found)
    assert password not in masked and "%40" not in masked.split("@", 1)[0], masked
    assert "***" in masked


def test_a_url_without_a_password_has_no_secret() -> None:
    from sqlalchemy.engine import make_url

    from sparkify_dw import secrets

    assert secrets.url_secrets(make_url("postgresql+psycopg://u@h/db?connect_timeout=2")) == []
    assert secrets.text_url_secrets("http://127.0.0.1:9000") == []


def test_a_password_in_any_other_url() -> None:
    from sparkify_dw import secrets

    found = secrets.text_url_secrets("http://minio:s3cr%2Bt@127.0.0.1:9000")
    assert "s3cr+t" in found and "s3cr%2Bt" in found
    assert secrets.mask("http://minio:s3cr%2Bt@127.0.0.1:9000", found) == (
        "http://minio:***@127.0.0.1:9000"
    )


@pytest.mark.parametrize(
    "name", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]
)
def test_aws_environment_secrets(name: str) -> None:
    from sparkify_dw import secrets

    environ = {name: "tok/en+value=", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID1234"}
    found = secrets.env_secrets(environ)
    assert "tok/en+value=" in found and "tok%2Fen%2Bvalue%3D" in found
    assert "AKIAEXAMPLEKEYID1234" not in found  # a key id names a key; it is not one
    assert secrets.mask("key AKIAEXAMPLEKEYID1234 with tok/en+value=", found) == (
        "key AKIAEXAMPLEKEYID1234 with ***"
    )


def test_the_security_token_is_masked_from_the_real_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sparkify_dw import config, secrets

    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLEsecurity")
    assert (
        secrets.mask_line("denied:\n IQoJb3JpZ2luX2VjEXAMPLEsecurity", config.env_secrets())
        == "denied: ***"
    )


def test_dwh_cfg_secrets(tmp_path: Path) -> None:
    from sparkify_dw import secrets
    from sparkify_dw.config import read_cfg

    path = tmp_path / "dwh.cfg"
    path.write_text(
        "[CLUSTER]\nHOST=h.example\nDB_USER=dwhuser\nDB_PASSWORD='Pa55-word-XYZ'\n"
        "[AWS]\nKEY=AKIAEXAMPLEKEYID1234\nSECRET=wJalrXUtnFEMIsecret\n"
        "[S3]\nLOG_DATA=s3://bucket/log_data\n"
    )
    found = secrets.cfg_secrets(read_cfg(path))
    assert {"Pa55-word-XYZ", "'Pa55-word-XYZ'", "wJalrXUtnFEMIsecret"} <= set(found)
    assert not {"h.example", "dwhuser", "AKIAEXAMPLEKEYID1234", "s3://bucket/log_data"} & set(found)
    assert secrets.cfg_secrets(None) == []


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("password", True),
        ("sslpassword", True),
        ("pwd", True),
        ("SECRET", True),
        ("aws_secret_access_key", True),
        ("AWS_SESSION_TOKEN", True),
        ("passphrase", True),
        ("HOST", False),
        ("DB_USER", False),
        ("KEY", False),
        ("connect_timeout", False),
        ("ARN", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    from sparkify_dw import secrets

    assert secrets.is_secret_name(name) is secret


def test_a_secret_inside_another_is_masked_whole() -> None:
    from sparkify_dw import secrets

    assert secrets.mask("abc abcdef", ["abc", "abcdef"]) == "*** ***"


def test_cluster_commands_hide_the_cfg_password_and_every_aws_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparkify_dw.backends.redshift import cluster

    path = tmp_path / "dwh.cfg"
    path.write_text(f"[CLUSTER]\nDB_PASSWORD={PASSWORD}\n")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLEsecurity")
    hidden = cluster.secrets(path)
    assert PASSWORD in hidden and "IQoJb3JpZ2luX2VjEXAMPLEsecurity" in hidden
    assert cluster.scrub(f"{PASSWORD} IQoJb3JpZ2luX2VjEXAMPLEsecurity", hidden) == "*** ***"


def test_config_keeps_the_names_the_commands_import() -> None:
    from sparkify_dw import config, secrets

    assert config.mask is secrets.mask
    assert config.url_secrets is secrets.url_secrets and config.SECRET_ENV == secrets.SECRET_ENV
    assert "AWS_SECURITY_TOKEN" in config.SECRET_ENV


def test_settings_mask_a_password_in_the_s3_endpoint() -> None:
    from sparkify_dw import config

    settings = config.resolve(
        url="duckdb:///warehouse.duckdb",
        environ={"SPARKIFY_DW_S3_ENDPOINT": "http://minio:m1n10-pw@s3:9000"},
    )
    assert settings.mask("cannot reach http://minio:m1n10-pw@s3:9000") == (
        "cannot reach http://minio:***@s3:9000"
    )


# --- a password holding an unescaped "@": the user info ends at the last "@", as in libpq ---


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_an_unescaped_at_sign_in_the_password_is_masked_whole(
    tmp_path: Path, verbose: list[str]
) -> None:
    """``root:Sup3r@s3cret@host``: before, the password was read as ``Sup3r`` and the host
    as ``s3cret@127.0.0.1``, so ``***@s3cret@…`` and "failed to resolve host" showed it."""
    url = "postgresql+psycopg://root:Sup3r@s3cret@127.0.0.1:1/nowhere"
    proc = run(["--url", url, *verbose], tmp_path)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "error:" in proc.stderr
    assert "Sup3r" not in text and "s3cret" not in text, text
    assert "loading into postgresql+psycopg://root:***@127.0.0.1:1/nowhere" in proc.stdout
    assert "resolve host" not in text  # the host is 127.0.0.1, as libpq reads it


def test_an_unescaped_at_sign_reaches_the_server_as_libpq_reads_it(
    pg_url: sa.URL, tmp_path: Path
) -> None:
    """The same URL form connects (trust authentication ignores the password) and every
    line the commands print hides it."""
    url = f"postgresql+psycopg://root:Secret@PW@{pg_url.host}:{pg_url.port}/{pg_url.database}"
    for args in (["upgrade", "-v"], ["load", "-v"], ["history"], ["check"]):
        proc = invoke(*args, "--url", url, cwd=tmp_path)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 0, text
        assert "Secret" not in text and "PW@" not in text, text


@pytest.mark.parametrize(
    ("text", "password", "host"),
    [
        ("postgresql+psycopg://u:a@b@h/db", "a@b", "h"),
        ("postgresql+psycopg://u:a@b@c@h:5/db?x=1@2", "a@b@c", "h"),
        ("postgresql+psycopg://u:p@h/db", "p", "h"),
        ("postgresql+psycopg://u:p%40q@h/db", "p@q", "h"),
    ],
)
def test_database_urls_split_the_user_info_at_the_last_at(
    text: str, password: str, host: str
) -> None:
    from sparkify_dw import config, secrets

    url = secrets.parse_database_url(text)
    assert (url.password, url.host) == (password, host)
    settings = config.resolve(url=text)
    assert password not in settings.display_url and "***@h" in settings.display_url
