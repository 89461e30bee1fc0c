"""Parallel S3 reads against sequential ones, with latency injected per request.

Why: a DuckDB or PostgreSQL load from S3 is one GET per object, and Sparkify's song_data
holds tens of thousands of one-song objects, so at 20-50 ms per GET a load read one
object at a time mostly waits. This measures the loader's own read path
(:class:`sparkify_dw.sources.Reader`: list, then open and read every object in listing
order) against a moto S3 server on 127.0.0.1, with a botocore hook that sleeps
``--latency-ms`` before every GetObject is sent (a stand-in for the network round trip).
Each worker count is one measurement: ``SPARKIFY_DW_S3_WORKERS=1`` is one GET at a time.

    python bench/s3_parallel.py [--objects 5000] [--latency-ms 20] [--workers 1,16,32]
                                [--out bench/results-s3.json]

Credentials are dummy values set for this process only; nothing reaches AWS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
BUCKET = "sparkify-bench"
PREFIX = "song_data"
REGION = "us-east-1"
TARGET_SPEEDUP = 10.0  # parallel vs sequential, issue 13

# moto's server looks up which services it has by listing its package directory (a
# listdir and ~180 stats) under a global lock on every request; S3 has no such cost, and
# it would serialize the parallel GETs, so the benchmark's server lists them once.
_SERVER = """\
import logging, sys
import moto.backends
from moto.server import ThreadedMotoServer
_modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _modules
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
"""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def dummy_aws_env(scratch: Path) -> None:
    """Dummy credentials for this process, and no route to a real account or config."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "SPARKIFY_DW_S3_ENDPOINT":
            del os.environ[name]
    nowhere = str(scratch / "absent")
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "AKIAMOTOSPARKIFYBENCH",
            "AWS_SECRET_ACCESS_KEY": "moto-bench",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server in a child process; it exits when its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise SystemExit(f"error: the moto server did not start (said {line!r})")
        yield f"http://127.0.0.1:{line}"
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def song_record(rng: random.Random, n: int) -> bytes:
    """One song file's JSON, the size of the real ones (about 240 bytes)."""
    ident = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=16))
    return json.dumps(
        {
            "num_songs": 1,
            "artist_id": f"AR{ident}",
            "artist_latitude": None,
            "artist_longitude": None,
            "artist_location": "",
            "artist_name": f"Artist {n}",
            "song_id": f"SO{ident}",
            "title": f"Song {n}",
            "duration": 200 + n % 100 / 7,
            "year": 2000 + n % 20,
        }
    ).encode()


def upload(client: Any, count: int, seed: int) -> dict[str, bytes]:
    """``count`` one-song objects under song_data/A/B/C/TR….json; ``{key: body}``."""
    client.create_bucket(Bucket=BUCKET)
    rng = random.Random(seed)
    bodies = {}
    for n in range(count):
        body = song_record(rng, n)
        name = "TR" + hashlib.sha1(body).hexdigest()[:16].upper()
        bodies[f"{PREFIX}/{name[2]}/{name[3]}/{name[4]}/{name}.json"] = body
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda kv: client.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), bodies.items()
            )
        )
    return bodies


class Latency:
    """A ``before-send.s3.GetObject`` hook: sleep, and count requests in flight."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.count = self.now = self.most = 0

    def __call__(self, **kwargs: Any) -> None:
        with self.lock:
            self.count += 1
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        with self.lock:
            self.now -= 1


def measure(
    endpoint: str, workers: int, latency_s: float, bodies: dict[str, bytes]
) -> dict[str, Any]:
    """List, then open and read every object through the loader's Reader, in order."""
    from sparkify_dw.sources import Reader

    reader = Reader(REGION, endpoint, workers)
    started = time.perf_counter()
    files = reader.list(f"s3://{BUCKET}/{PREFIX}", "song_data")
    list_s = time.perf_counter() - started
    hook = Latency(latency_s)
    reader.client().meta.events.register("before-send.s3.GetObject", hook)
    cpu = time.process_time()
    started = time.perf_counter()
    size = 0
    keys = []
    equal = True
    for f in files:
        with reader.open(f, "song_data") as stream:
            data = stream.read()
        key = f.uri.removeprefix(f"s3://{BUCKET}/")
        keys.append(key)
        equal = equal and data == bodies[key]
        size += len(data)
    read_s = time.perf_counter() - started
    return {
        "workers": workers,
        "objects": len(files),
        "bytes": size,
        "list_s": list_s,
        "read_s": read_s,
        "objects_per_s": len(files) / read_s,
        "client_cpu_s": time.process_time() - cpu,
        "gets": hook.count,
        "most_in_flight": hook.most,
        "in_listing_order": keys == sorted(bodies),
        "every_byte_equal": equal and len(keys) == len(bodies),
        "loadavg_after": list(os.getloadavg()),
    }


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("worker counts are positive integers")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/s3_parallel.py", description=__doc__ and __doc__.splitlines()[0]
    )
    p.add_argument("--objects", type=int, default=5000, help="objects to read (5000)")
    p.add_argument(
        "--latency-ms", type=float, default=20.0, help="sleep before every GetObject is sent (20)"
    )
    p.add_argument(
        "--workers",
        type=_ints,
        default=[1, 16, 32],
        help="worker counts to measure; the first is the baseline (1,16,32)",
    )
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=BENCH / "results-s3.json")
    args = p.parse_args(argv)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="sparkify-s3-bench-") as scratch:
        dummy_aws_env(Path(scratch))
        from sparkify_dw import s3

        with moto_server() as endpoint:
            t0 = time.perf_counter()
            bodies = upload(s3.client(REGION, endpoint, 16), args.objects, args.seed)
            say(
                f"uploaded {len(bodies):,} objects ({sum(map(len, bodies.values())):,} bytes)"
                f" to moto at {endpoint} in {time.perf_counter() - t0:.1f} s"
            )
            runs = []
            for workers in args.workers:
                run = measure(endpoint, workers, args.latency_ms / 1000, bodies)
                runs.append(run)
                say(
                    f"workers {workers:>3}: {run['read_s']:.2f} s, "
                    f"{run['objects_per_s']:,.0f} objects/s, at most {run['most_in_flight']} "
                    f"GETs at once, order kept: {run['in_listing_order']}, bytes equal: "
                    f"{run['every_byte_equal']}"
                )
    base = runs[0]
    for run in runs:
        run["speedup"] = base["read_s"] / run["read_s"]
    best = max(runs, key=lambda r: r["speedup"])
    default = next((r for r in runs if r["workers"] == s3.DEFAULT_WORKERS), None)
    ok = all(r["in_listing_order"] and r["every_byte_equal"] for r in runs)
    met = ok and base["workers"] == 1 and best["speedup"] >= TARGET_SPEEDUP
    at_default = (
        f"; {default['speedup']:.1f}x with the default {default['workers']} workers "
        f"({default['read_s']:.2f} s)"
        if default and default is not best
        else ""
    )
    report = {
        "benchmark": "sparkify_dw parallel S3 reads (issue 13)",
        "started_at": started_at,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_end": list(os.getloadavg()),
        },
        "config": {
            "objects": args.objects,
            "latency_ms": args.latency_ms,
            "workers": args.workers,
            "seed": args.seed,
            "server": "moto ThreadedMotoServer on 127.0.0.1",
            "path": "sparkify_dw.sources.Reader.list, then open + read per object",
        },
        "runs": runs,
        "target": {
            "wanted": f">= {TARGET_SPEEDUP:.0f}x faster than workers=1",
            "status": "MET" if met else "MISSED",
            "figure": f"{best['speedup']:.1f}x: {base['read_s']:.2f} s with "
            f"{base['workers']} worker(s), {best['read_s']:.2f} s with "
            f"{best['workers']}{at_default}",
        },
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{'workers':>7} {'seconds':>8} {'objects/s':>10} {'in flight':>9} {'speedup':>8}")
    for run in runs:
        print(
            f"{run['workers']:>7} {run['read_s']:>8.2f} {run['objects_per_s']:>10,.0f} "
            f"{run['most_in_flight']:>9} {run['speedup']:>7.1f}x"
        )
    print(
        f"\n{report['target']['status']}: {report['target']['figure']} "
        f"({args.objects:,} objects, {args.latency_ms:g} ms injected per GET); wrote {args.out}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
