"""Reading Sparkify's raw JSON from S3 (or an S3-compatible server) for the loader.

Why a module of its own: Redshift's ``COPY`` reads S3 itself, but DuckDB and
PostgreSQL need the loader to fetch the objects, and a Redshift load wants a
manifest naming exactly the objects that were listed. Everything here mirrors
:func:`sparkify_dw.sources.list_files` for local sources: a URI names an object
or a "directory" (prefix + ``/``); hidden keys (a path segment starting with
``.``, e.g. ``.ipynb_checkpoints/``) are skipped; other non-``*.json`` keys are
skipped with one warning; problems are one-line :class:`SourceError` messages
that never contain credentials.

Credentials come from the standard AWS chain (environment, ``~/.aws``, instance
or container role); nothing here reads, logs or prints them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .config import ConfigError, validate_source
from .sources import SourceError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

# boto3 builds its clients at run time; the generated stubs (mypy-boto3-s3) are not a
# dependency, so the client is typed loosely.
S3Client: TypeAlias = Any

_PAGE_SIZE = 1000  # keys per ListObjectsV2 call (S3's maximum); tests lower it
READ_TEXT_LIMIT = 1024 * 1024  # read_text is for small files; a JSONPaths file is ~1 kB
_BUFFER_SIZE = 1024 * 1024

_MISSING_CREDENTIALS = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run `aws configure`")
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                     "InvalidToken", "TokenRefreshRequired", "InvalidClientTokenId",
                     "UnrecognizedClientException", "ExpiredTokenException"}
_ACCESS_CODES = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
_REGION_CODES = {"AuthorizationHeaderMalformed", "PermanentRedirect", "301",
                 "IllegalLocationConstraintException"}


@dataclass(frozen=True)
class S3Object:
    """One listed object; ``etag`` (unquoted) pins the version that was listed."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _show(text: str) -> str:
    """Text for a one-line message: control characters would break the line."""
    return text if text.isprintable() else repr(text)


def parse_uri(uri: str, what: str = "source") -> tuple[str, str]:
    """``s3://bucket/prefix`` as ``(bucket, prefix)``, refusing what could break SQL."""
    if not uri.startswith("s3://"):
        raise SourceError(f"{what}: {_show(uri)}: not an s3:// URI")
    try:
        validate_source(uri, f"{what}: {_show(uri)}")
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _check_endpoint(endpoint: str) -> None:
    """An endpoint is ``http(s)://host[:port]``; user info would be a credential."""
    try:
        parts = urlsplit(endpoint)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or "@" in parts.netloc or parts.path not in ("", "/") or parts.query
            or parts.fragment):
        shown = endpoint if "@" not in endpoint else "(a URL with user info)"
        raise SourceError(f"S3 endpoint {_show(shown)}: expected http(s)://host[:port]")


def client(region: str | None = None, endpoint: str | None = None) -> S3Client:
    """An S3 client on the standard credential chain; ``endpoint`` for S3-compatible servers.

    Path-style addressing and checksums only when required are used with an endpoint,
    since S3-compatible servers often support neither virtual hosts nor the newer
    checksum trailers. Retries follow the AWS configuration (``AWS_MAX_ATTEMPTS``).
    """
    options: dict[str, Any] = {"connect_timeout": 10}
    if endpoint is not None:
        _check_endpoint(endpoint)
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
    try:
        session = boto3.session.Session()
        return session.client("s3", region_name=region, endpoint_url=endpoint,
                              config=Config(**options))
    except (BotoCoreError, ValueError) as exc:
        raise SourceError(f"S3 client: {_describe(exc, None)}") from None


def _secrets() -> list[str]:
    found = (os.environ.get(name) for name in
             ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"))
    return sorted({s for s in found if s}, key=len, reverse=True)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    for secret in _secrets():
        text = text.replace(secret, "***")
    return text


def _endpoint_of(s3: S3Client | None) -> str:
    url = str(getattr(getattr(s3, "meta", None), "endpoint_url", "") or "")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}" \
        if parts.hostname else "S3"


def _describe(exc: Exception, s3: S3Client | None) -> str:
    """What went wrong and what to do, in one line, with no secret in it."""
    if isinstance(exc, ClientError):
        error: Mapping[str, Any] = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        if code in _CREDENTIAL_CODES:
            return ("AWS rejected the credentials (check the access key, profile or "
                    f"session): {code}")
        if code == "NoSuchBucket":
            return "no such bucket"
        if code in ("NoSuchKey", "404", "NotFound"):
            return "no such object"
        if code in _ACCESS_CODES:
            return f"access denied by S3 (check the IAM permissions): {code}"
        if code in _REGION_CODES:
            return ("the bucket is in another region (set [S3] REGION in dwh.cfg or "
                    f"$AWS_DEFAULT_REGION): {code}")
        if code == "PreconditionFailed":
            return "the object changed after it was listed; run the load again"
        message = _one_line(str(error.get("Message", "")))
        return f"S3 refused the request: {exc.operation_name}: {code}: {message}".rstrip(": ")
    if isinstance(exc, NoCredentialsError):
        return _MISSING_CREDENTIALS
    if isinstance(exc, PartialCredentialsError):
        return "incomplete AWS credentials (a key id without its secret, or the reverse)"
    if isinstance(exc, ProfileNotFound):
        return _one_line(f"AWS profile not found: {exc.kwargs.get('profile', '?')}")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | BotoConnectionError):
        return f"cannot reach {_endpoint_of(s3)}: check the endpoint, region and network"
    if isinstance(exc, ReadTimeoutError):
        return f"{_endpoint_of(s3)} stopped answering while the object was read"
    if isinstance(exc, IncompleteReadError):
        return "the connection closed before the whole object was read"
    return "AWS client error: " + _one_line(str(exc))


def _object(bucket: str, entry: Mapping[str, Any]) -> S3Object:
    return S3Object(bucket=bucket, key=str(entry["Key"]), size=int(entry["Size"]),
                    etag=str(entry.get("ETag", "")).strip('"'),
                    last_modified=entry["LastModified"])


def _entries(s3: S3Client, bucket: str, prefix: str,
             limit: int | None = None) -> Iterator[Mapping[str, Any]]:
    """Every listed entry under ``prefix``, page by page (S3 returns at most 1,000 a call)."""
    pages: dict[str, int] = {"PageSize": _PAGE_SIZE if limit is None else min(limit, _PAGE_SIZE)}
    if limit is not None:
        pages["MaxItems"] = limit
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=pages):
        yield from page.get("Contents", [])


def list_objects(uri: str, what: str, client: S3Client) -> list[S3Object]:
    """The JSON objects a URI names, sorted by key, hidden ones left out.

    ``s3://bucket/a/b`` is the object ``a/b`` if no key starts with ``a/b/``, else the
    "directory" ``a/b/`` (never ``a/bc/``, unlike a bare S3 prefix); a URI ending in
    ``/`` or naming only the bucket is always a directory. A named object is taken
    whatever its name, as a named local file is.
    """
    bucket, prefix = parse_uri(uri, what)
    directory = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    found: list[S3Object] = []
    other: list[S3Object] = []
    seen_any = False
    try:
        for entry in _entries(client, bucket, directory):
            seen_any = True
            relative = str(entry["Key"])[len(directory):]
            if not relative or relative.endswith("/"):
                continue  # a "folder" placeholder made by the console or a sync tool
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            obj = _object(bucket, entry)
            (found if relative.lower().endswith(".json") else other).append(obj)
        if not seen_any and directory != prefix:
            first = next(_entries(client, bucket, prefix, limit=1), None)
            if first is not None and first["Key"] == prefix:
                found = [_object(bucket, first)]
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{what}: {_show(uri)}: {_describe(exc, client)}") from None
    if other:
        log.warning("%s: ignored %d object(s) not named *.json under %s, e.g. %s",
                    what, len(other), uri, _show(min(other, key=lambda o: o.key).uri))
    if not found:
        reason = ("no *.json objects under this prefix" if seen_any
                  else f"no such object or prefix in bucket {bucket}")
        raise SourceError(f"{what}: {_show(uri)}: {reason}")
    for obj in found:
        try:
            validate_source(obj.uri, "")
        except ConfigError:
            raise SourceError(f"{what}: {_show(uri)}: key {obj.key!r} has a quote, semicolon, "
                              "backslash or control character, which the loader refuses"
                              ) from None
    return sorted(found, key=lambda o: o.key)


class _BodyReader(io.RawIOBase):
    """A raw stream over a response body, so :class:`io.BufferedReader` can wrap it.

    Why: botocore's ``StreamingBody`` is no ``RawIOBase``; wrapped like this, the
    object reads like a local binary file (``readline``, iteration,
    ``io.TextIOWrapper``) holding one buffer in memory, and network errors become
    one-line :class:`SourceError` messages. ``tell()`` counts bytes taken from S3.
    """

    def __init__(self, body: Any, label: str, s3: S3Client) -> None:
        super().__init__()
        self._body, self._label, self._s3 = body, label, s3
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        try:
            count = int(self._body.readinto(buffer))
        except BotoCoreError as exc:
            raise SourceError(f"{self._label}: {_describe(exc, self._s3)}") from None
        self._position += count
        return count

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_object(obj: S3Object, client: S3Client, *, what: str = "source",
                buffer_size: int = _BUFFER_SIZE) -> io.BufferedReader:
    """Stream an object as a binary file; wrap in ``io.TextIOWrapper`` to read lines.

    The read is pinned to the listed ETag, so an object replaced after listing is an
    error rather than a silent mix of old sizes (manifest) and new content.
    """
    label = f"{what}: {_show(obj.uri)}"
    try:
        response = client.get_object(Bucket=obj.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
    return io.BufferedReader(_BodyReader(response["Body"], label, client), buffer_size)


def download(obj: S3Object, dest: Path, client: S3Client, *, what: str = "source") -> Path:
    """Stream an object to ``dest`` for engines that read local files only.

    It is written as a hidden ``.<name>.part`` first (which ``list_files`` skips) and
    renamed when complete, so ``dest`` never holds a partial object.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    try:
        with open_object(obj, client, what=what) as source, part.open("wb") as out:
            shutil.copyfileobj(source, out, _BUFFER_SIZE)
        size = part.stat().st_size
        if size != obj.size:
            raise SourceError(f"{what}: {_show(obj.uri)}: got {size:,} bytes, "
                              f"listed as {obj.size:,}")
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dest


def read_text(uri: str, client: S3Client, *, what: str = "log_jsonpath",
              limit: int = READ_TEXT_LIMIT) -> str:
    """A small UTF-8 object (the JSONPaths file) as text; a BOM is dropped."""
    bucket, key = parse_uri(uri, what)
    label = f"{what}: {_show(uri)}"
    if not key or key.endswith("/"):
        raise SourceError(f"{label}: names a prefix, not an object")
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        size = int(response.get("ContentLength", 0))
        if size > limit:
            body.close()
            raise SourceError(f"{label}: {size:,} bytes; expected a small file "
                              f"(at most {limit:,})")
        data = bytes(body.read())
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                          ) from None


def manifest_body(objects: Iterable[S3Object]) -> str:
    """A Redshift ``COPY … MANIFEST`` file naming exactly the listed objects.

    Why a manifest: ``COPY`` from a prefix would also load keys the listing skipped
    (hidden or non-JSON ones) and any written since; ``mandatory`` makes a vanished
    object an error instead of a silent gap.
    """
    entries = [{"url": o.uri, "mandatory": True, "meta": {"content_length": o.size}}
               for o in objects]
    return json.dumps({"entries": entries}, indent=2) + "\n"


def write_manifest(uri: str, objects: Iterable[S3Object], client: S3Client) -> None:
    """Write :func:`manifest_body` to the object ``uri`` for ``COPY … MANIFEST``."""
    bucket, key = parse_uri(uri, "manifest")
    label = f"manifest: {_show(uri)}"
    if not key or key.endswith("/"):
        raise SourceError(f"{label}: names a prefix, not an object")
    body = manifest_body(objects).encode("utf-8")
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
