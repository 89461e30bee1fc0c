"""sparkify_dw.s3 against a moto S3 server over HTTP (see tests/support/s3_server.py)."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sparkify_dw import s3
from sparkify_dw.aws_errors import describe_s3_error
from sparkify_dw.errors import SourceError
from sparkify_dw.s3 import S3Object
from sparkify_dw.sources import read_jsonpaths, scan_files
from sparkify_dw.uris import S3Uri
from tests.support.helpers import SAMPLE
from tests.support.s3_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoS3

FIRST_DAY = SAMPLE / "log_data" / "2018" / "11" / "2018-11-01-events.json"


def local_tree(root: Path) -> dict[str, int]:
    """What the loader finds under a local directory: ``{relative path: size}``."""
    return {
        Path(path).relative_to(root).as_posix(): size for path, size, _ in scan_files(str(root))
    }


def one_line_error(info: pytest.ExceptionInfo[SourceError], *needles: str) -> str:
    message = str(info.value)
    assert "\n" not in message and SECRET_ACCESS_KEY not in message, message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture(scope="module")
def extras(moto_server: MotoS3, sample_bucket: str) -> str:
    """Keys a real bucket may hold besides the data: checkpoints, notes, folder markers."""
    put = moto_server.client.put_object
    for key in (
        "mixed/data/a.json",
        "mixed/data/sub/UPPER.JSON",
        "mixed/data/.ipynb_checkpoints/a-checkpoint.json",
        "mixed/data/sub/.hidden.json",
        "mixed/data/readme.txt",
        "mixed/data/sub/notes.md",
        "mixed/data/",
        "mixed/data_old/old.json",
        "mixed/text/only.txt",
        "mixed/.hidden-dir/x.json",
    ):
        put(Bucket=sample_bucket, Key=key, Body=b"{}\n" if key.endswith("json") else b"")
    return sample_bucket


# ------------------------------------------------------------------------------ URIs


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://udacity-dend", ("udacity-dend", "")),
        ("s3://udacity-dend/", ("udacity-dend", "")),
        ("s3://udacity-dend/log_data", ("udacity-dend", "log_data")),
        ("s3://my.bucket-1/a/b c/d.json", ("my.bucket-1", "a/b c/d.json")),
    ],
)
def test_location_parses_text(uri: str, expected: tuple[str, str]) -> None:
    where = s3.location(uri)
    assert (where.bucket, where.key) == expected and str(where) == uri
    assert s3.location(where) is where  # a parsed one is not parsed again


@pytest.mark.parametrize(
    "uri",
    [
        "udacity-dend/log_data",
        "file:///tmp/x",
        "s3://Upper/x",
        "s3://ab/x",
        "s3://b_ucket/x",
        "s3://bucket/a'b",
        's3://bucket/a"b',
        "s3://bucket/a;b",
        "s3://bucket/a\\b",
        "s3://bucket/a\nb",
    ],
)
def test_location_refuses(uri: str) -> None:
    with pytest.raises(SourceError) as info:
        s3.location(uri, "log_data")
    one_line_error(info, "log_data: ")


def test_object_uri() -> None:
    obj = S3Object("bkt", "a/b.json", 3, "abc", datetime(2024, 1, 1))
    assert obj.uri == "s3://bkt/a/b.json"


def test_client_refuses_a_bad_endpoint() -> None:
    for endpoint in (
        "ftp://127.0.0.1:1",
        "127.0.0.1:9000",
        "http://key:secret@host:9000",
        "http://host:99999",
        "http://host/path",
    ):
        with pytest.raises(SourceError) as info:
            s3.client(None, endpoint)
        assert "secret" not in one_line_error(info, "S3 endpoint")


# --------------------------------------------------------------------------- listing


@pytest.mark.parametrize("name", ["log_data", "song_data", "song_data/"])
def test_list_matches_the_local_tree(moto_s3: MotoS3, sample_bucket: str, name: str) -> None:
    objects = s3.list_objects(f"s3://{sample_bucket}/{name}", name, moto_s3.client)
    # Parsed once by the caller (as the loader does) or here from text: the same listing.
    parsed = S3Uri.parse(f"s3://{sample_bucket}/{name}", name)
    assert s3.list_objects(parsed, name, moto_s3.client) == objects
    prefix = name.rstrip("/") + "/"
    listed = {o.key.removeprefix(prefix): o.size for o in objects}
    assert listed == local_tree(SAMPLE / name.rstrip("/"))
    assert [o.key for o in objects] == sorted(o.key for o in objects)
    assert all(
        o.bucket == sample_bucket
        and o.uri == f"s3://{sample_bucket}/{o.key}"
        and len(o.etag) == 32
        and isinstance(o.last_modified, datetime)
        for o in objects
    )


def test_list_pages_through_the_listing(
    moto_s3: MotoS3, sample_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def count(**kwargs: Any) -> None:
        calls.append("ListObjectsV2")

    monkeypatch.setattr(s3, "_PAGE_SIZE", 5)
    moto_s3.client.meta.events.register("before-call.s3.ListObjectsV2", count)
    try:
        objects = s3.list_objects(f"s3://{sample_bucket}/log_data", "log_data", moto_s3.client)
    finally:
        moto_s3.client.meta.events.unregister("before-call.s3.ListObjectsV2", count)
    assert len(objects) == 16 and len(calls) == 4


def test_list_skips_hidden_and_non_json(
    moto_s3: MotoS3, extras: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sparkify_dw.s3")
    objects = s3.list_objects(f"s3://{extras}/mixed/data", "song_data", moto_s3.client)
    assert [o.key for o in objects] == ["mixed/data/a.json", "mixed/data/sub/UPPER.JSON"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "ignored 2 object(s) not named *.json" in warnings[0]
    assert f"s3://{extras}/mixed/data/readme.txt" in warnings[0]
    objects = s3.list_objects(f"s3://{extras}/mixed/", "song_data", moto_s3.client)
    assert [o.key for o in objects] == [
        "mixed/data/a.json",
        "mixed/data/sub/UPPER.JSON",
        "mixed/data_old/old.json",
    ]


def test_list_one_object(moto_s3: MotoS3, sample_bucket: str) -> None:
    uri = f"s3://{sample_bucket}/log_data/2018/11/{FIRST_DAY.name}"
    [obj] = s3.list_objects(uri, "log_data", moto_s3.client)
    assert (obj.uri, obj.size) == (uri, FIRST_DAY.stat().st_size)
    [paths] = s3.list_objects(f"s3://{sample_bucket}/log_json_path.json", "x", moto_s3.client)
    assert paths.key == "log_json_path.json"


def test_list_a_named_object_whatever_its_name(moto_s3: MotoS3, extras: str) -> None:
    [obj] = s3.list_objects(f"s3://{extras}/mixed/text/only.txt", "log_data", moto_s3.client)
    assert obj.key == "mixed/text/only.txt"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("nothing/here", "no such object or prefix in bucket"),
        ("mixed/dat", "no such object or prefix in bucket"),  # a prefix, but not a directory
        ("log_data/2018/1", "no such object or prefix in bucket"),
        ("mixed/text", "no *.json objects under this prefix"),
        ("mixed/text/", "no *.json objects under this prefix"),
    ],
)
def test_list_nothing_matches(moto_s3: MotoS3, extras: str, path: str, reason: str) -> None:
    uri = f"s3://{extras}/{path}"
    with pytest.raises(SourceError) as info:
        s3.list_objects(uri, "log_data", moto_s3.client)
    one_line_error(info, f"log_data: {uri}: {reason}")


def test_list_missing_bucket(moto_s3: MotoS3) -> None:
    with pytest.raises(SourceError) as info:
        s3.list_objects("s3://no-such-bucket-here/log_data", "log_data", moto_s3.client)
    one_line_error(info, "log_data: s3://no-such-bucket-here/log_data: no such bucket")


def test_list_refuses_keys_that_could_break_sql(moto_s3: MotoS3, sample_bucket: str) -> None:
    moto_s3.client.put_object(Bucket=sample_bucket, Key="quoted/it's.json", Body=b"{}")
    with pytest.raises(SourceError) as info:
        s3.list_objects(f"s3://{sample_bucket}/quoted", "log_data", moto_s3.client)
    one_line_error(info, '"quoted/it\'s.json"', "refuses")


# ------------------------------------------------------------ credentials and network


OTHER_BUCKET = "sparkify-other"


@pytest.fixture
def iam_auth(moto_s3: MotoS3, sample_bucket: str) -> Iterator[tuple[str, str]]:
    """An IAM user allowed to read only the sample bucket; moto checks every request."""
    iam = boto3.client("iam", region_name=moto_s3.region, endpoint_url=moto_s3.endpoint)
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    bucket_arn = f"arn:aws:s3:::{sample_bucket}"
    iam.put_user_policy(
        UserName=name,
        PolicyName="read-sample",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        # AWS's own read-only grant (AmazonS3ReadOnlyAccess): listing
                        # is s3:ListBucket on AWS, while moto 5.2.6 and later check
                        # ListObjectsV2 under that name; s3:List* holds on both.
                        "Action": ["s3:List*", "s3:GetObject"],
                        "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if OTHER_BUCKET not in {b["Name"] for b in moto_s3.client.list_buckets()["Buckets"]}:
        moto_s3.client.create_bucket(Bucket=OTHER_BUCKET)
        moto_s3.client.put_object(Bucket=OTHER_BUCKET, Key="log_data/a.json", Body=b"{}")
    moto_s3.require_iam_auth(True)
    try:
        yield str(key["AccessKeyId"]), str(key["SecretAccessKey"])
    finally:
        moto_s3.require_iam_auth(False)


@pytest.mark.parametrize(
    ("who", "bucket", "message"),
    [
        ("reader", "sample", None),
        ("reader", OTHER_BUCKET, "access denied by S3 (check the IAM permissions): AccessDenied"),
        (
            "wrong-secret",
            "sample",
            "AWS rejected the credentials (check the access key, profile "
            "or session): SignatureDoesNotMatch",
        ),
        (
            "unknown-key",
            "sample",
            "AWS rejected the credentials (check the access key, profile "
            "or session): InvalidAccessKeyId",
        ),
    ],
)
def test_credentials_and_permissions(
    moto_s3: MotoS3,
    sample_bucket: str,
    iam_auth: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    who: str,
    bucket: str,
    message: str | None,
) -> None:
    key_id, secret = iam_auth
    if who == "wrong-secret":
        secret = SECRET_ACCESS_KEY
    elif who == "unknown-key":
        key_id = ACCESS_KEY_ID
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    client = s3.client(moto_s3.region, moto_s3.endpoint)
    uri = f"s3://{sample_bucket if bucket == 'sample' else bucket}/log_data"
    if message is None:
        assert len(s3.list_objects(uri, "log_data", client)) == 16
        return
    with pytest.raises(SourceError) as info:
        s3.list_objects(uri, "log_data", client)
    assert secret not in one_line_error(info, f"log_data: {uri}: {message}")


def test_no_credentials(
    moto_s3: MotoS3, sample_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = s3.client(moto_s3.region, moto_s3.endpoint)
    with pytest.raises(SourceError) as info:
        s3.list_objects(f"s3://{sample_bucket}/log_data", "log_data", client)
    one_line_error(info, "no AWS credentials found")


def test_missing_profile(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(SourceError) as info:
        s3.client(moto_s3.region, moto_s3.endpoint)
    one_line_error(info, "AWS profile not found: no-such-profile")


def test_unreachable_endpoint(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    client = s3.client(moto_s3.region, f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError) as info:
        s3.list_objects("s3://sparkify-sample/log_data", "log_data", client)
    one_line_error(info, f"cannot reach http://127.0.0.1:{port}: check the endpoint")


class _RefusingClient:
    """An S3 client whose every GET is refused with ``code`` (a ClientError)."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code, self.message = code, message

    def get_object(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": self.code, "Message": self.message}}, "GetObject")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("SlowDown", "S3 is throttling the requests (wait a little and load again): SlowDown"),
        (
            "AuthFailure",
            "AWS rejected the credentials (check the access key, profile or session): AuthFailure",
        ),
        (
            "AccessDeniedException",
            "access denied by S3 (check the IAM permissions): AccessDeniedException",
        ),
        ("NoSuchKey", "no such object"),
        ("PreconditionFailed", "the object changed after it was listed; run the load again"),
        ("InternalError", "S3 refused the request: GetObject: InternalError: try ***"),
    ],
)
def test_s3_errors_are_worded_by_the_shared_module(
    code: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The S3 reader's messages come from aws_errors' one list of codes, so a code added
    there for the cluster commands (throttling, AuthFailure) is understood here too."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-key-value")
    exc = ClientError({"Error": {"Code": code, "Message": "try\ns3cr3t-key-value"}}, "GetObject")
    assert describe_s3_error(exc) == reason
    client = _RefusingClient(code, "try\ns3cr3t-key-value")
    with pytest.raises(SourceError) as info:
        s3.read_text("s3://bucket/log_json_path.json", client)
    assert one_line_error(info) == f"log_jsonpath: s3://bucket/log_json_path.json: {reason}"


# ---------------------------------------------------------------- reading and writing


def text_lines(stream: io.BufferedReader) -> list[str]:
    with io.TextIOWrapper(stream, encoding="utf-8-sig") as text:
        return list(text)


@pytest.mark.parametrize(
    "relative",
    [
        "log_data/2018/11/2018-11-01-events.json",
        "log_data/2018/11/2018-11-21-events.json",
        "song_data/A/A/A/TRAAAAW128F429D538.json",
        "log_json_path.json",
    ],
)
def test_open_reads_the_same_lines(moto_s3: MotoS3, sample_bucket: str, relative: str) -> None:
    [obj] = s3.list_objects(f"s3://{sample_bucket}/{relative}", "x", moto_s3.client)
    local = SAMPLE / relative
    with local.open(encoding="utf-8-sig") as expected:
        assert text_lines(s3.open_object(obj, moto_s3.client)) == list(expected)


def test_open_drops_a_bom_and_keeps_line_ends(
    moto_s3: MotoS3, sample_bucket: str, tmp_path: Path
) -> None:
    data = "\ufeff" + '{"a": "é"}\r\n{"b": "☃"}\n\n{"c": 1}'
    path = tmp_path / "bom.json"
    path.write_bytes(data.encode("utf-8"))
    moto_s3.client.put_object(Bucket=sample_bucket, Key="bom/bom.json", Body=path.read_bytes())
    [obj] = s3.list_objects(f"s3://{sample_bucket}/bom", "log_data", moto_s3.client)
    with path.open(encoding="utf-8-sig") as expected:
        lines = list(expected)
    assert lines[0] == '{"a": "é"}\n'
    assert text_lines(s3.open_object(obj, moto_s3.client)) == lines
    with (
        path.open(encoding="utf-8-sig", newline="") as expected,
        io.TextIOWrapper(
            s3.open_object(obj, moto_s3.client), encoding="utf-8-sig", newline=""
        ) as text,
    ):
        assert list(text) == list(expected)


def test_open_streams(moto_s3: MotoS3, sample_bucket: str) -> None:
    line = FIRST_DAY.read_bytes().splitlines(keepends=True)[0]
    count = 8 * 1024 * 1024 // len(line) + 1  # > 8 MiB
    moto_s3.client.put_object(Bucket=sample_bucket, Key="big/big.json", Body=line * count)
    [obj] = s3.list_objects(f"s3://{sample_bucket}/big", "log_data", moto_s3.client)
    with s3.open_object(obj, moto_s3.client, buffer_size=64 * 1024) as stream:
        assert stream.readline() == line
        assert stream.raw.tell() <= 64 * 1024  # one buffer taken from the network, not all
        assert sum(1 for _ in stream) == count - 1
        assert stream.raw.tell() == obj.size


def test_open_refuses_a_changed_or_vanished_object(moto_s3: MotoS3, sample_bucket: str) -> None:
    put = moto_s3.client.put_object
    put(Bucket=sample_bucket, Key="changing/a.json", Body=b'{"v": 1}\n')
    [obj] = s3.list_objects(f"s3://{sample_bucket}/changing", "log_data", moto_s3.client)
    put(Bucket=sample_bucket, Key="changing/a.json", Body=b'{"v": 2}\n')
    with pytest.raises(SourceError) as info:
        s3.open_object(obj, moto_s3.client, what="log_data")
    one_line_error(info, f"log_data: {obj.uri}: the object changed after it was listed")
    moto_s3.client.delete_object(Bucket=sample_bucket, Key="changing/a.json")
    with pytest.raises(SourceError) as info:
        s3.open_object(obj, moto_s3.client, what="song_data")
    one_line_error(info, f"song_data: {obj.uri}: no such object")


@pytest.mark.parametrize("stream_over", [s3.STREAM_OVER, 0])
def test_fetched_objects_equal_the_local_files(
    moto_s3: MotoS3, sample_bucket: str, stream_over: int
) -> None:
    """What a load reads from S3 (buffered, or streamed when large) is the local file."""
    objects = s3.list_objects(f"s3://{sample_bucket}/song_data", "song_data", moto_s3.client)
    objects = (
        objects[:3]
        + s3.list_objects(f"s3://{sample_bucket}/log_data", "log_data", moto_s3.client)[:2]
    )
    fetched = []
    for obj, stream in s3.fetch_ordered(
        objects, moto_s3.client, workers=2, stream_over=stream_over
    ):
        with stream:
            assert stream.read() == (SAMPLE / obj.key).read_bytes(), obj.key
        fetched.append(obj)
    assert fetched == objects


def test_read_text_jsonpaths(moto_s3: MotoS3, sample_bucket: str, tmp_path: Path) -> None:
    local = SAMPLE / "log_json_path.json"
    text = s3.read_text(f"s3://{sample_bucket}/log_json_path.json", moto_s3.client)
    assert text == local.read_text(encoding="utf-8")
    copy = tmp_path / "paths.json"
    copy.write_text(text, encoding="utf-8")
    assert read_jsonpaths(str(copy), 18) == read_jsonpaths(str(local), 18)


@pytest.mark.parametrize(
    ("key", "limit", "message"),
    [
        ("missing.json", s3.READ_TEXT_LIMIT, "no such object"),
        ("log_data/", s3.READ_TEXT_LIMIT, "names a prefix, not an object"),
        ("", s3.READ_TEXT_LIMIT, "names a prefix, not an object"),
        ("log_json_path.json", 100, "bytes; expected a small file (at most 100)"),
    ],
)
def test_read_text_errors(
    moto_s3: MotoS3, sample_bucket: str, key: str, limit: int, message: str
) -> None:
    uri = f"s3://{sample_bucket}/{key}"
    with pytest.raises(SourceError) as info:
        s3.read_text(uri, moto_s3.client, limit=limit)
    one_line_error(info, f"log_jsonpath: {uri}: ", message)


def test_read_text_not_utf8(moto_s3: MotoS3, sample_bucket: str) -> None:
    moto_s3.client.put_object(Bucket=sample_bucket, Key="latin1.json", Body="é".encode("latin-1"))
    with pytest.raises(SourceError) as info:
        s3.read_text(f"s3://{sample_bucket}/latin1.json", moto_s3.client)
    one_line_error(info, "not UTF-8 text")


def test_manifest(moto_s3: MotoS3, sample_bucket: str) -> None:
    objects = s3.list_objects(f"s3://{sample_bucket}/log_data", "log_data", moto_s3.client)
    body = s3.manifest_body(objects)
    expected = {
        "entries": [
            {"url": f"s3://{sample_bucket}/{o.key}", "mandatory": True}  # all JSON COPY reads
            for o in objects
        ]
    }
    assert json.loads(body) == expected
    uri = f"s3://{sample_bucket}/manifests/log_data.manifest"
    s3.write_manifest(uri, objects, moto_s3.client)
    assert s3.read_text(uri, moto_s3.client, what="manifest") == body
    head = moto_s3.client.head_object(Bucket=sample_bucket, Key="manifests/log_data.manifest")
    assert head["ContentType"] == "application/json"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://sparkify-sample/manifests/", "names a prefix, not an object"),
        ("s3://no-such-bucket-here/m.manifest", "no such bucket"),
        ("s3://sparkify-sample/it's", "not a valid S3 URI"),
    ],
)
def test_write_manifest_errors(moto_s3: MotoS3, sample_bucket: str, uri: str, message: str) -> None:
    with pytest.raises(SourceError) as info:
        s3.write_manifest(uri, [], moto_s3.client)
    one_line_error(info, "manifest: ", message)
