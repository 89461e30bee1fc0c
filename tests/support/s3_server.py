"""A moto S3 server on 127.0.0.1 for tests that talk to S3 over real HTTP.

Why a subprocess and not ``mock_aws``: the code under test builds its own boto3
client from the standard credential chain and an endpoint, exactly as in
production; and moto's state in this process (``mock_aws`` in test_cluster.py
resets it) cannot touch the server's buckets. The server starts in ~0.5 s and
exits when this process closes its stdin, even if pytest is killed.

Its fixtures are a pytest plugin (``tests/conftest.py`` loads it): ``moto_server`` runs
once per session (per xdist worker); ``moto_s3`` is that server with dummy credentials in the
test's environment; ``sample_bucket`` holds the bundled sample::

    def test_x(moto_s3: MotoS3, sample_bucket: str) -> None:
        objects = s3.list_objects(f"s3://{sample_bucket}/log_data", "log_data", moto_s3.client)
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sparkify_dw import config, s3

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIAMOTOSPARKIFYTEST"
# A distinctive dummy secret: tests grep error messages for it.
SECRET_ACCESS_KEY = "moto-dummy-secret/NEVER+PRINT+THIS"
SAMPLE_BUCKET = "sparkify-sample"

_SERVER = """\
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the test process closes the pipe (or dies)
"""

# Environment that could send the credential chain to a real account or a slow
# metadata endpoint; cleared while the server fixture is active.
_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    config.ENV_S3_ENDPOINT,
)


@dataclass(frozen=True)
class MotoS3:
    """The running server: its endpoint and a client made by :func:`sparkify_dw.s3.client`."""

    endpoint: str
    region: str
    client: Any

    def moto_api(self, path: str, body: bytes = b"") -> bytes:
        """POST to moto's control API (``/moto-api/…``), e.g. ``reset-auth``."""
        # Not a form post: moto reads the raw body, which Flask empties for forms.
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/{path}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())

    def require_iam_auth(self, enabled: bool) -> None:
        """Make moto check signatures and IAM policies (off by default)."""
        self.moto_api("reset-auth", b"0" if enabled else b"inf")


def _start_server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        proc.wait()
        pytest.fail(f"moto server did not start (said {line!r})", pytrace=False)
    return proc, int(line)


def _stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _dummy_credentials(env: pytest.MonkeyPatch, nowhere: Path) -> None:
    """Dummy credentials, and no AWS setting from the developer's environment."""
    for name in _AWS_ENV:
        env.delenv(name, raising=False)
    env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    env.setenv("AWS_CONFIG_FILE", str(nowhere))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """One moto server for the session (per xdist worker), with a client holding the dummy
    credentials; buckets made for the session (``sample_bucket``) use this."""
    proc, port = _start_server()
    nowhere = tmp_path_factory.getbasetemp() / "no-aws-config"  # never created
    try:
        endpoint = f"http://127.0.0.1:{port}"
        with pytest.MonkeyPatch.context() as env:
            _dummy_credentials(env, nowhere)
            env.setenv("AWS_DEFAULT_REGION", REGION)
            client = s3.client(region=REGION, endpoint=endpoint)  # credentials read here
        yield MotoS3(endpoint=endpoint, region=REGION, client=client)
    finally:
        _stop_server(proc)


@pytest.fixture
def moto_s3(
    moto_server: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> MotoS3:
    """The session's server, with its dummy credentials in the test's environment: code
    under test finds them through the standard credential chain."""
    _dummy_credentials(monkeypatch, tmp_path_factory.getbasetemp() / "no-aws-config")
    return moto_server


def upload_tree(client: Any, bucket: str, root: Path, prefix: str) -> dict[str, int]:
    """Put every file under ``root`` at ``prefix/<relative path>``; ``{key: size}``."""
    uploaded: dict[str, int] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        uploaded[key] = path.stat().st_size
    return uploaded


@pytest.fixture(scope="session")
def sample_bucket(moto_server: MotoS3) -> str:
    """A bucket holding the bundled sample as ``log_data/…``, ``song_data/…`` and
    ``log_json_path.json``, the layout of Sparkify's real bucket."""
    moto_server.client.create_bucket(Bucket=SAMPLE_BUCKET)
    for name in ("log_data", "song_data"):
        upload_tree(moto_server.client, SAMPLE_BUCKET, config.SAMPLE_DIR / name, name)
    paths = config.SAMPLE_DIR / "log_json_path.json"
    moto_server.client.put_object(Bucket=SAMPLE_BUCKET, Key=paths.name, Body=paths.read_bytes())
    return SAMPLE_BUCKET
