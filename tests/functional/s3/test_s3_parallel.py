"""Parallel S3 reads (sparkify_dw.s3.fetch_ordered, Readahead, Reader) against moto's
server over HTTP: order and bytes kept, concurrency and memory bounded, errors one line."""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw import config, s3
from sparkify_dw.errors import ConfigError, SourceError
from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES, LOADS
from sparkify_dw.s3 import S3Object
from sparkify_dw.sources import Reader
from tests.support.helpers import SAMPLE, all_days, copy_sample_days, run_load, table_rows
from tests.support.s3_server import SECRET_ACCESS_KEY, MotoS3, upload_tree

BUCKET = "sparkify-parallel"
COUNT = 40
BIG = 30_000  # objects this large are "big" in tests that lower stream_over below it


@pytest.fixture(scope="module")
def bucket(moto_server: MotoS3) -> dict[str, bytes]:
    """COUNT objects of varied sizes under ``many/``, a few of them over BIG bytes."""
    moto_server.client.create_bucket(Bucket=BUCKET)
    rng = random.Random(13)
    content: dict[str, bytes] = {}
    for n in range(COUNT):
        size = BIG + rng.randrange(5_000) if n % 9 == 4 else 1 + rng.randrange(3_000)
        key = f"many/{n:03d}.json"
        content[key] = rng.randbytes(size)
        moto_server.client.put_object(Bucket=BUCKET, Key=key, Body=content[key])
    return content


def listing(moto_s3: MotoS3, prefix: str = "many") -> list[S3Object]:
    return s3.list_objects(f"s3://{BUCKET}/{prefix}", "song_data", moto_s3.client)


class Gets:
    """Counts GetObject requests as they are sent: in total, and at most at once.

    The hook holds each request for ``hold`` seconds before it is sent, so requests that
    can overlap do.
    """

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.started = self.now = self.most = 0

    def __call__(self, **kwargs: Any) -> None:
        with self.lock:
            self.started += 1
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.hold)
        with self.lock:
            self.now -= 1


@contextmanager
def counting(client: Any, hold: float = 0.0) -> Iterator[Gets]:
    gets = Gets(hold)
    client.meta.events.register("before-send.s3.GetObject", gets)
    try:
        yield gets
    finally:
        client.meta.events.unregister("before-send.s3.GetObject", gets)


def test_order_and_every_byte_kept(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    objects = listing(moto_s3)
    got = [
        (obj.key, stream.read())
        for obj, stream in s3.fetch_ordered(objects, moto_s3.client, workers=8)
    ]
    assert [key for key, _ in got] == sorted(bucket)
    assert dict(got) == bucket


def test_big_objects_are_streamed_not_buffered(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    objects = listing(moto_s3)
    seen: dict[str, type] = {}
    for obj, stream in s3.fetch_ordered(
        objects, moto_s3.client, workers=4, stream_over=BIG, max_bytes=BIG
    ):
        with stream:
            assert stream.read() == bucket[obj.key]
        seen[obj.key] = type(stream)
    big = {k for k, v in bucket.items() if len(v) > BIG}
    assert big and {k for k, t in seen.items() if t is io.BufferedReader} == big
    assert {t for k, t in seen.items() if k not in big} == {io.BytesIO}


def test_concurrency_is_bounded_by_workers(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    objects = listing(moto_s3)
    # Counted, not timed: each request is held 100 ms before it is sent, so with four
    # workers four are in flight at once however busy the machine is, and never five.
    with counting(moto_s3.client, hold=0.1) as gets:
        data = [stream.read() for _, stream in s3.fetch_ordered(objects, moto_s3.client, workers=4)]
    assert len(data) == COUNT and gets.started == COUNT
    assert gets.most == 4  # parallel, and never more than the workers


@pytest.mark.parametrize(
    ("max_objects", "max_bytes"),
    [
        (3, s3.MAX_BYTES_AHEAD),  # bounded by the object count
        (100, 6_000),  # bounded by bytes: two or three small objects (each < 3,000 bytes)
    ],
)
def test_readahead_is_bounded(
    moto_s3: MotoS3, bucket: dict[str, bytes], max_objects: int, max_bytes: int
) -> None:
    small = [o for o in listing(moto_s3) if o.size <= 3_000]
    most_ahead = 0
    with counting(moto_s3.client) as gets:
        fetched = s3.fetch_ordered(
            small,
            moto_s3.client,
            workers=8,
            max_objects=max_objects,
            max_bytes=max_bytes,
            stream_over=min(max_bytes, BIG),
        )
        for consumed, (_, stream) in enumerate(fetched, start=1):
            time.sleep(0.02)  # a slow consumer: the fetchers get as far ahead as allowed
            ahead = small[consumed : gets.started]  # requested, not yet handed over
            assert len(ahead) <= max_objects
            assert len(ahead) <= 1 or sum(o.size for o in ahead) <= max_bytes
            most_ahead = max(most_ahead, len(ahead))
            stream.read()
    assert gets.started == len(small)
    assert most_ahead >= 2  # it does read ahead


def test_a_missing_object_fails_in_order_on_one_line(
    moto_s3: MotoS3, bucket: dict[str, bytes]
) -> None:
    moto_s3.client.create_bucket(Bucket="sparkify-gone")
    for n in range(20):
        moto_s3.client.put_object(Bucket="sparkify-gone", Key=f"d/{n:02d}.json", Body=b"{}\n")
    objects = s3.list_objects("s3://sparkify-gone/d", "log_data", moto_s3.client)
    moto_s3.client.delete_object(Bucket="sparkify-gone", Key="d/07.json")
    got: list[str] = []
    with pytest.raises(SourceError) as info:
        for obj, stream in s3.fetch_ordered(objects, moto_s3.client, workers=8, what="log_data"):
            assert stream.read() == b"{}\n"
            got.append(obj.key)
    assert got == [f"d/{n:02d}.json" for n in range(7)]
    message = str(info.value)
    assert message == "log_data: s3://sparkify-gone/d/07.json: no such object", message
    assert "\n" not in message and SECRET_ACCESS_KEY not in message


def test_a_changed_object_is_refused(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    moto_s3.client.put_object(Bucket=BUCKET, Key="changed/a.json", Body=b"{}\n")
    objects = listing(moto_s3, "changed")
    moto_s3.client.put_object(Bucket=BUCKET, Key="changed/a.json", Body=b'{"a": 1}\n')
    with pytest.raises(SourceError) as info:
        list(s3.fetch_ordered(objects, moto_s3.client, workers=2))
    assert str(info.value) == (
        f"source: s3://{BUCKET}/changed/a.json: the object changed "
        "after it was listed; run the load again"
    )


def test_abandoning_the_iterator_stops_the_gets(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    objects = listing(moto_s3)
    before = set(threading.enumerate())
    with counting(moto_s3.client, hold=0.02) as gets:
        fetched = s3.fetch_ordered(objects, moto_s3.client, workers=2, max_objects=4)
        next(fetched)
        fetched.close()
        assert gets.now == 0  # close waited for the GETs under way
        time.sleep(0.2)
    assert gets.started <= 4
    assert not [
        t for t in set(threading.enumerate()) - before if t.name.startswith("sparkify-s3-get")
    ]


def reader_for(moto_s3: MotoS3) -> Reader:
    return Reader(moto_s3.region, moto_s3.endpoint)


def test_reader_reads_listed_objects_in_parallel(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    reader = Reader(moto_s3.region, moto_s3.endpoint, workers=6)
    files = reader.list(f"s3://{BUCKET}/many", "song_data")
    with counting(reader.client(), hold=0.03) as gets:
        read = {}
        for f in files:
            with reader.open(f, "song_data") as stream:
                read[f.uri.removeprefix(f"s3://{BUCKET}/")] = stream.read()
    assert read == bucket and list(read) == sorted(bucket)
    assert gets.started == COUNT and gets.most == 6


def test_reader_serves_opens_out_of_order(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    reader = reader_for(moto_s3)
    files = reader.list(f"s3://{BUCKET}/many", "song_data")
    # A second pass from the start, a narrowed selection skipping files, a repeat.
    order = [*range(COUNT), 0, 1, 2, 10, 11, 30, 5, 5, COUNT - 1]
    for n in order:
        f = files[n]
        with reader.open(f, "song_data") as stream:
            assert stream.read() == bucket[f.uri.removeprefix(f"s3://{BUCKET}/")], n


def test_reader_error_is_one_line(moto_s3: MotoS3, bucket: dict[str, bytes]) -> None:
    moto_s3.client.put_object(Bucket=BUCKET, Key="vanish/a.json", Body=b"{}\n")
    moto_s3.client.put_object(Bucket=BUCKET, Key="vanish/b.json", Body=b"{}\n")
    reader = reader_for(moto_s3)
    files = reader.list(f"s3://{BUCKET}/vanish", "log_data")
    moto_s3.client.delete_object(Bucket=BUCKET, Key="vanish/b.json")
    assert reader.open(files[0], "log_data").read() == b"{}\n"
    with pytest.raises(SourceError) as info:
        reader.open(files[1], "log_data")
    assert str(info.value) == f"log_data: s3://{BUCKET}/vanish/b.json: no such object"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 16),
        ("", 16),
        ("1", 1),
        (" 16 ", 16),
        ("256", 256),
        ("0", None),
        ("-1", None),
        ("257", None),
        ("many", None),
        ("4.5", None),
    ],
)
def test_workers_setting(value: str | None, expected: int | None, tmp_path: Path) -> None:
    environ = {} if value is None else {config.ENV_S3_WORKERS: value}
    if expected is not None:
        settings = config.resolve(environ=environ, cwd=tmp_path)
        assert settings.s3_workers == expected and Reader.of(settings).workers == expected
        return
    with pytest.raises(ConfigError) as info:
        config.resolve(environ=environ, cwd=tmp_path)
    assert str(info.value) == f"${config.ENV_S3_WORKERS}: expected a whole number from 1 to 256"


def test_client_pool_fits_the_workers() -> None:
    made: Callable[..., Any] = s3.client
    assert made("us-east-1", None, 40).meta.config.max_pool_connections >= 40


# ------------------------------------------------------------------ a load reads ahead


def bad_days(root: Path) -> Path:
    """The sample's days plus six days mixing good and bad records, under ``root``."""
    copy_sample_days(root, all_days())
    good = (SAMPLE / "log_data/2018/11/2018-11-01-events.json").read_text().splitlines()
    good = [line for line in good if line.strip()]
    bad = ["not json", '{"ts": "soon", "page": "NextSong"}', "[1, 2]", '{"userId": "x1"}']
    for n in range(6):
        lines = [
            *good[n * 5 : n * 5 + 5],
            bad[n % len(bad)],
            *good[40 + n : 42 + n],
            bad[(n + 1) % len(bad)],
        ]
        (root / "2018/12").mkdir(parents=True, exist_ok=True)
        (root / f"2018/12/2018-12-0{n + 1}-events.json").write_text("\n".join(lines) + "\n")
    return root


def ledger(url: sa.URL, load_id: int, *prefixes: str) -> dict[str, Any]:
    """What a load recorded, with file names relative to where the sources are."""

    def rel(uri: str) -> str:
        for prefix in prefixes:
            uri = uri.removeprefix(prefix)
        return uri

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        e, f, ld = LOAD_ERRORS.c, LOAD_FILES.c, LOADS.c
        errors = [
            (n, rel(src), line, reason, text)
            for n, src, line, reason, text in conn.execute(
                sa.select(e.error_no, e.source, e.line_no, e.reason, e.raw_text)
                .where(e.load_id == load_id)
                .order_by(e.error_no)
            )
        ]
        files = sorted(
            (rel(uri), size)
            for uri, size in conn.execute(sa.select(f.uri, f.size).where(f.load_id == load_id))
        )
        counts = conn.execute(
            sa.select(ld.rows_read, ld.rows_staged, ld.rows_rejected).where(ld.load_id == load_id)
        ).one()
    engine.dispose()
    return {
        "errors": errors,
        "files": files,
        "counts": tuple(counts),
        "staging_events": table_rows(url, "staging_events"),
    }


def test_a_load_from_s3_reads_ahead_and_records_exactly_as_a_local_one(
    warehouse_url: sa.URL, moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = bad_days(tmp_path / "log_data")
    moto_s3.client.create_bucket(Bucket="sparkify-ahead")
    upload_tree(moto_s3.client, "sparkify-ahead", logs, "log_data")
    upload_tree(moto_s3.client, "sparkify-ahead", SAMPLE / "song_data", "song_data")
    monkeypatch.setenv("SPARKIFY_DW_S3_ENDPOINT", moto_s3.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_s3.region)
    monkeypatch.setenv(config.ENV_S3_WORKERS, "4")
    gets = Gets(0.0)
    rng = random.Random(5)
    made = s3.client

    def scrambled(*args: Any, **kwargs: Any) -> Any:
        """A client whose GETs take 0-20 ms at random, so they finish out of order."""
        client = made(*args, **kwargs)
        client.meta.events.register("before-send.s3.GetObject", gets)
        client.meta.events.register(
            "before-send.s3.GetObject", lambda **_: time.sleep(rng.random() / 50)
        )
        return client

    monkeypatch.setattr(s3, "client", scrambled)
    local = run_load(warehouse_url, log_data=logs, song_data=SAMPLE / "song_data", max_errors=100)
    remote = run_load(
        warehouse_url,
        log_data="s3://sparkify-ahead/log_data",
        song_data="s3://sparkify-ahead/song_data",
        max_errors=100,
    )
    # Every object once, several at once; PostgreSQL reads the event files again when its
    # COPY refuses a line (here: "not json"), to frame each record in Python.
    again = 22 if warehouse_url.get_backend_name() == "postgresql" else 0
    assert gets.started == 22 + 36 + again and gets.most > 1
    assert local.rejected["staging_events"] == 12 == remote.rejected["staging_events"]
    here = ledger(warehouse_url, local.load_id or 0, f"{tmp_path}/", f"{SAMPLE}/")
    there = ledger(warehouse_url, remote.load_id or 0, "s3://sparkify-ahead/")
    assert here == there
    assert [name for _, name, *_ in here["errors"]][:2] == [
        "log_data/2018/12/2018-12-01-events.json"
    ] * 2
    assert len(here["files"]) == 22 + 36
