"""Reading Sparkify's raw JSON from S3 (or an S3-compatible server) for the loader.

Why a module of its own: Redshift's ``COPY`` reads S3 itself, but DuckDB and
PostgreSQL need the loader to fetch the objects, and a Redshift load wants a
manifest naming exactly the objects that were listed. Everything here mirrors
:func:`sparkify_dw.sources.scan_files` for local sources: a URI names an object
or a "directory" (prefix + ``/``); hidden keys (a path segment starting with
``.``, e.g. ``.ipynb_checkpoints/``) are skipped; other non-``*.json`` keys are
skipped with one warning; problems are one-line :class:`SourceError` messages
that never contain credentials. Objects are fetched by a bounded pool of
concurrent GETs (``$SPARKIFY_DW_S3_WORKERS``, default 16) and handed over in
listing order (:func:`fetch_ordered`, :class:`Readahead`).

Credentials come from the standard AWS chain (environment, ``~/.aws``, instance
or container role); nothing here reads, logs or prints them.
"""

from __future__ import annotations

import io
import json
import logging
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TypeAlias
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .aws_errors import describe_s3_error
from .config import DEFAULT_S3_WORKERS
from .errors import ConfigError, SourceError
from .uris import S3_SCHEME, S3Uri

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

# boto3 builds its clients at run time; the generated stubs (mypy-boto3-s3) are not a
# dependency, so the client is typed loosely.
S3Client: TypeAlias = Any

_PAGE_SIZE = 1000  # keys per ListObjectsV2 call (S3's maximum); tests lower it
READ_TEXT_LIMIT = 1024 * 1024  # read_text is for small files; a JSONPaths file is ~1 kB
_BUFFER_SIZE = 1024 * 1024

# Concurrent GETs of a load from S3: the configuration's s3_workers (``$SPARKIFY_DW_S3_WORKERS``).
DEFAULT_WORKERS = DEFAULT_S3_WORKERS
STREAM_OVER = 8 * 1024 * 1024  # a larger object is streamed when its turn comes, not buffered
MAX_BYTES_AHEAD = 64 * 1024 * 1024  # listed bytes fetched ahead of the reader, at most


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
        """The URI as text, unchecked: a listed key may hold characters S3Uri refuses."""
        return f"{S3_SCHEME}{self.bucket}/{self.key}"

    @property
    def location(self) -> S3Uri:
        """The object's URI; a key that can't be one (a quote, say) is a :class:`ConfigError`."""
        return S3Uri(self.bucket, self.key)


def _show(text: str) -> str:
    """Text for a one-line message: control characters would break the line."""
    return text if text.isprintable() else repr(text)


def location(uri: S3Uri | str, what: str = "source") -> S3Uri:
    """An :class:`S3Uri` as is; text (a caller's own) parsed, a one-line :class:`SourceError`
    if it is no S3 URI or could break SQL."""
    if isinstance(uri, S3Uri):
        return uri
    try:
        return S3Uri.parse(uri, f"{what}: {_show(uri)}")
    except ConfigError as exc:
        raise SourceError(str(exc)) from None


def _check_endpoint(endpoint: str) -> None:
    """An endpoint is ``http(s)://host[:port]``; user info would be a credential."""
    try:
        parts = urlsplit(endpoint)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        shown = endpoint if "@" not in endpoint else "(a URL with user info)"
        raise SourceError(f"S3 endpoint {_show(shown)}: expected http(s)://host[:port]")


def client(
    region: str | None = None, endpoint: str | None = None, workers: int = DEFAULT_WORKERS
) -> S3Client:
    """An S3 client on the standard credential chain; ``endpoint`` for S3-compatible servers.

    Path-style addressing and checksums only when required are used with an endpoint,
    since S3-compatible servers often support neither virtual hosts nor the newer
    checksum trailers. Retries follow the AWS configuration (``AWS_MAX_ATTEMPTS``). The
    connection pool holds one connection per concurrent GET (:func:`fetch_ordered`).
    """
    options: dict[str, Any] = {
        "connect_timeout": 10,
        "max_pool_connections": max(10, workers + 2),
    }
    if endpoint is not None:
        _check_endpoint(endpoint)
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
    try:
        session = boto3.session.Session()
        return session.client(
            "s3", region_name=region, endpoint_url=endpoint, config=Config(**options)
        )
    except (BotoCoreError, ValueError) as exc:
        raise SourceError(f"S3 client: {_describe(exc, None)}") from None


def _endpoint_of(s3: S3Client | None) -> str:
    url = str(getattr(getattr(s3, "meta", None), "endpoint_url", "") or "")
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        if parts.hostname
        else "S3"
    )


def _describe(exc: Exception, s3: S3Client | None) -> str:
    """What went wrong and what to do, in one line, with no secret in it."""
    return describe_s3_error(exc, _endpoint_of(s3))


def _object(bucket: str, entry: Mapping[str, Any]) -> S3Object:
    return S3Object(
        bucket=bucket,
        key=str(entry["Key"]),
        size=int(entry["Size"]),
        etag=str(entry.get("ETag", "")).strip('"'),
        last_modified=entry["LastModified"],
    )


def _entries(
    s3: S3Client, bucket: str, prefix: str, limit: int | None = None
) -> Iterator[Mapping[str, Any]]:
    """Every listed entry under ``prefix``, page by page (S3 returns at most 1,000 a call)."""
    pages: dict[str, int] = {"PageSize": _PAGE_SIZE if limit is None else min(limit, _PAGE_SIZE)}
    if limit is not None:
        pages["MaxItems"] = limit
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=pages):
        yield from page.get("Contents", [])


def list_objects(uri: S3Uri | str, what: str, client: S3Client) -> list[S3Object]:
    """The JSON objects a URI names, sorted by key, hidden ones left out.

    ``s3://bucket/a/b`` is the object ``a/b`` if no key starts with ``a/b/``, else the
    "directory" ``a/b/`` (never ``a/bc/``, unlike a bare S3 prefix); a URI ending in
    ``/`` or naming only the bucket is always a directory. A named object is taken
    whatever its name, as a named local file is.
    """
    where = location(uri, what)
    bucket, prefix, shown = where.bucket, where.key, str(where)
    directory = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    found: list[S3Object] = []
    other: list[S3Object] = []
    seen_any = False
    try:
        for entry in _entries(client, bucket, directory):
            seen_any = True
            relative = str(entry["Key"])[len(directory) :]
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
        raise SourceError(f"{what}: {shown}: {_describe(exc, client)}") from None
    if other:
        log.warning(
            "%s: ignored %d object(s) not named *.json under %s, e.g. %s",
            what,
            len(other),
            shown,
            _show(min(other, key=lambda o: o.key).uri),
        )
    if not found:
        reason = (
            "no *.json objects under this prefix"
            if seen_any
            else f"no such object or prefix in bucket {bucket}"
        )
        raise SourceError(f"{what}: {shown}: {reason}")
    for obj in found:
        try:
            _ = obj.location
        except ConfigError:
            raise SourceError(
                f"{what}: {shown}: key {obj.key!r} has a quote, semicolon, "
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


def open_object(
    obj: S3Object, client: S3Client, *, what: str = "source", buffer_size: int = _BUFFER_SIZE
) -> io.BufferedReader:
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


def _get(obj: S3Object, client: S3Client, what: str) -> bytes:
    """One whole object, pinned to its listed ETag and checked against its listed size."""
    label = f"{what}: {_show(obj.uri)}"
    try:
        response = client.get_object(Bucket=obj.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
        data = bytes(response["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
    if len(data) != obj.size:
        raise SourceError(f"{label}: got {len(data):,} bytes, listed as {obj.size:,}")
    return data


def fetch_ordered(
    objects: Iterable[S3Object],
    client: S3Client,
    *,
    workers: int = DEFAULT_WORKERS,
    max_objects: int | None = None,
    max_bytes: int = MAX_BYTES_AHEAD,
    stream_over: int = STREAM_OVER,
    what: str = "source",
) -> Generator[tuple[S3Object, BinaryIO], None, None]:
    """Each object and a binary file of its content, in the given order, while up to
    ``workers`` GETs run ahead.

    Why: a load from S3 is one GET per object, and Sparkify's song_data holds tens of
    thousands of one-song objects: fetched one at a time, their latencies add up. The order
    is kept, so records are staged and numbered exactly as a sequential read would. Memory
    is bounded: at most ``max_objects`` objects (default twice ``workers``) and
    ``max_bytes`` of listed size are fetched or held ahead of the consumer. An object over
    ``stream_over`` bytes is never buffered: it is opened as a stream (:func:`open_object`)
    when its turn comes. A failed GET raises its one-line :class:`SourceError` when the
    consumer reaches that object, after every earlier object was yielded.
    """
    limit = max_objects or 2 * workers
    if workers < 1 or limit < 1 or stream_over > max_bytes:
        raise ValueError(
            "fetch_ordered: workers >= 1, max_objects >= 1 and stream_over <= max_bytes"
        )
    pending = iter(objects)
    ahead: deque[tuple[S3Object, Future[bytes] | None]] = deque()  # None: streamed later
    held = 0  # listed bytes of the buffered objects in `ahead`
    waiting: S3Object | None = None  # the next object, when the byte budget is spent
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sparkify-s3-get")
    try:
        while True:
            while len(ahead) < limit:
                waiting = next(pending, None) if waiting is None else waiting
                if waiting is None:
                    break
                streamed = waiting.size > stream_over
                if not streamed and ahead and held + waiting.size > max_bytes:
                    break
                ahead.append(
                    (waiting, None if streamed else pool.submit(_get, waiting, client, what))
                )
                held += 0 if streamed else waiting.size
                waiting = None
            if not ahead:
                return
            obj, future = ahead.popleft()
            if future is None:
                yield obj, open_object(obj, client, what=what)
                continue
            data = future.result()
            held -= obj.size
            yield obj, io.BytesIO(data)
    finally:
        # Abandoned or failed: GETs not started are dropped and running ones are waited
        # for, so a restarted readahead never has more than `workers` GETs at once either.
        pool.shutdown(wait=True, cancel_futures=True)


class Readahead:
    """Opens of listed objects, served by :func:`fetch_ordered` while the next ones arrive.

    Why: the backends open a source's objects one after another, in listing order, through
    :meth:`sparkify_dw.sources.Reader.open`. Knowing the listings (:meth:`plan`), the GETs
    of the next objects run while the current one is staged. An open out of that order (a
    narrowed selection skipping files, a second pass from the start) restarts the readahead
    at that object; an object that was never planned is opened directly.
    """

    def __init__(self, client: Callable[[], S3Client], workers: int = DEFAULT_WORKERS) -> None:
        self._client = client
        self._workers = workers
        self._order: list[S3Object] = []  # every planned listing, one after another
        self._index: dict[S3Object, tuple[int, int]] = {}  # position in _order, its end
        self._current: Generator[tuple[S3Object, BinaryIO], None, None] | None = None
        self._next = -1  # position in _order that _current yields next

    def plan(self, objects: Iterable[S3Object]) -> None:
        """Remember a listing: its objects will probably be opened in this order."""
        start = len(self._order)
        self._order.extend(objects)
        end = len(self._order)
        for position in range(start, end):
            self._index[self._order[position]] = (position, end)

    def open(self, obj: S3Object, what: str = "source") -> BinaryIO:
        where = self._index.get(obj)
        if where is None:
            return open_object(obj, self._client(), what=what)
        position, end = where
        if self._current is None or self._next != position:
            self.close()
            objects = (self._order[i] for i in range(position, end))
            self._current = fetch_ordered(objects, self._client(), workers=self._workers, what=what)
        try:
            got, stream = next(self._current)
        except BaseException:
            self.close()
            raise
        assert got == obj, (got.uri, obj.uri)
        self._next = position + 1
        if self._next == end:
            self.close()  # the listing is done: no thread waits for more
        return stream

    def close(self) -> None:
        """Stop reading ahead (GETs not yet started are dropped)."""
        if self._current is not None:
            current, self._current = self._current, None
            current.close()
        self._next = -1


def read_text(
    uri: S3Uri | str, client: S3Client, *, what: str = "log_jsonpath", limit: int = READ_TEXT_LIMIT
) -> str:
    """A small UTF-8 object (the JSONPaths file) as text; a BOM is dropped."""
    where = location(uri, what)
    bucket, key = where.bucket, where.key
    label = f"{what}: {where}"
    if not key or key.endswith("/"):
        raise SourceError(f"{label}: names a prefix, not an object")
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        size = int(response.get("ContentLength", 0))
        if size > limit:
            body.close()
            raise SourceError(f"{label}: {size:,} bytes; expected a small file (at most {limit:,})")
        data = bytes(body.read())
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def bucket_region(bucket: str, s3: S3Client) -> str | None:
    """The region ``bucket`` is in, or None when it can't be read (no
    s3:GetBucketLocation permission, say). GetBucketLocation gives no constraint for
    us-east-1 and ``EU`` for the oldest eu-west-1 buckets (AWS: "GetBucketLocation")."""
    try:
        found = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except (BotoCoreError, ClientError) as exc:
        log.info("region of s3://%s not readable: %s", bucket, _describe(exc, s3))
        return None
    region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(found, found)
    return str(region)


def manifest_body(objects: Iterable[S3Object]) -> str:
    """A Redshift ``COPY … MANIFEST`` file naming exactly the listed objects.

    Why a manifest: ``COPY`` from a prefix would also load keys the listing skipped
    (hidden or non-JSON ones) and any written since; ``mandatory`` makes a vanished
    object an error instead of a silent gap. Each entry is a ``url`` and ``mandatory``
    only: COPY needs nothing else, and the ``meta`` key (``content_length``) is for
    Spectrum external tables and ORC or Parquet files (AWS: "Using a manifest to specify
    data files"), which this loader never reads.
    """
    entries = [{"url": o.uri, "mandatory": True} for o in objects]
    return json.dumps({"entries": entries}, indent=2) + "\n"


def write_manifest(uri: S3Uri | str, objects: Iterable[S3Object], client: S3Client) -> None:
    """Write :func:`manifest_body` to the object ``uri`` for ``COPY … MANIFEST``."""
    where = location(uri, "manifest")
    bucket, key = where.bucket, where.key
    label = f"manifest: {where}"
    if not key or key.endswith("/"):
        raise SourceError(f"{label}: names a prefix, not an object")
    body = manifest_body(objects).encode("utf-8")
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"{label}: {_describe(exc, client)}") from None
