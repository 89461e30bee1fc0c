"""Benchmark the loader: figures per scale and backend, a raw-scan floor, a naive baseline.

One command (see bench/README.md)::

    python bench/run.py [--scales 1,10,100] [--backends duckdb,postgresql]
                        [--pg-url postgresql+psycopg://root@127.0.0.1:5432/postgres]
                        [--work bench/.data] [--out bench/results.json] [--repeat 1]

For each scale (1x = 10,000 events over 30 days, songs = events / 20, seed 1) the data
set is generated once with ``sparkify_dw.synth`` and reused while its parameters and the
generator's source are unchanged. Every measurement runs in its own child process
(``bench/child.py``, ``bench/naive.py``) on a fresh database brought to the Alembic head
beforehand, untimed; the child reports its timings as JSON and this process reads the
child's peak RSS with ``os.wait4``. Nothing here reads the data files' contents.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url

from sparkify_dw.sources import scan_files

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
CHILD = BENCH / "child.py"
NAIVE = BENCH / "naive.py"
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
BACKENDS = ("duckdb", "postgresql")

BASE_EVENTS = 10_000  # the 1x set
EVENTS_PER_SONG = 20
DAYS = 30
SEED = 1
DEFAULT_TIMEOUT = 900.0  # seconds per load child
MB = 1_000_000  # MB/s means 10^6 bytes of JSON per second

# The targets of issue 7.
TARGET_RAW_RATIO = 1.5  # DuckDB end-to-end / raw scan, at 100x
TARGET_PG_STAGE_EPS = 50_000  # PostgreSQL staging, events/s
TARGET_PG_RSS_GROWTH = 1.5  # PostgreSQL loader peak RSS, 100x / 10x

Record = dict[str, Any]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data sets


@dataclass
class Dataset:
    scale: int
    events: int
    songs: int
    days: int
    seed: int
    root: str
    log_files: int
    log_bytes: int
    song_files: int
    song_bytes: int
    generated: bool  # in this run (False: reused)
    generate_s: float | None
    synth_summary: str

    @property
    def log_dir(self) -> str:
        return os.path.join(self.root, "log_data")

    @property
    def song_dir(self) -> str:
        return os.path.join(self.root, "song_data")

    @property
    def json_bytes(self) -> int:
        return self.log_bytes + self.song_bytes


def scan_tree(root: str) -> tuple[int, int]:
    """(files, bytes) of the visible ``*.json`` files under ``root``; reads no contents."""
    found = scan_files(root)
    return len(found), sum(size for _, size, _ in found)


def synth_fingerprint() -> str:
    """The generator's source: a changed generator means the cached data is stale."""
    source = importlib.resources.files("sparkify_dw").joinpath("synth.py").read_bytes()
    return hashlib.sha256(source).hexdigest()[:16]


def ensure_dataset(work: Path, scale: int, base_events: int, days: int, seed: int) -> Dataset:
    events = base_events * scale
    songs = max(1, events // EVENTS_PER_SONG)
    params = {"events": events, "songs": songs, "days": days, "seed": seed,
              "synth_sha256": synth_fingerprint()}
    name = f"synth-e{events}-s{songs}-d{days}-seed{seed}"
    root = work / name
    manifest = root / "bench-manifest.json"
    if manifest.is_file():
        try:
            known = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if known.get("params") == params:
            logs = scan_tree(str(root / "log_data"))
            tracks = scan_tree(str(root / "song_data"))
            if [*logs, *tracks] == [known["log_files"], known["log_bytes"],
                                    known["song_files"], known["song_bytes"]]:
                say(f"[{scale}x] data: reusing {root}")
                return Dataset(scale, events, songs, days, seed, str(root), *logs, *tracks,
                               generated=False, generate_s=known.get("generate_s"),
                               synth_summary=known.get("synth_summary", ""))
        say(f"[{scale}x] data: {root} is stale (parameters, generator or files changed)")
    tmp = work / f".{name}.tmp-{os.getpid()}"
    for stale in (tmp, root):
        if stale.exists():
            shutil.rmtree(stale)
    say(f"[{scale}x] data: generating {events:,} events, {songs:,} songs over {days} days")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sparkify_dw.synth", "--events", str(events), "--songs",
         str(songs), "--days", str(days), "--seed", str(seed), "--out", str(tmp)],
        capture_output=True, text=True, env=child_env(), check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"error: generating {name} failed: {proc.stderr.strip()}")
    tmp.rename(root)
    logs = scan_tree(str(root / "log_data"))
    tracks = scan_tree(str(root / "song_data"))
    summary = proc.stdout.strip().replace(str(tmp), str(root))
    manifest.write_text(json.dumps({
        "params": params, "log_files": logs[0], "log_bytes": logs[1], "song_files": tracks[0],
        "song_bytes": tracks[1], "generate_s": elapsed, "synth_summary": summary,
    }, indent=2), encoding="utf-8")
    return Dataset(scale, events, songs, days, seed, str(root), *logs, *tracks,
                   generated=True, generate_s=elapsed, synth_summary=summary)


# --------------------------------------------------------------------------- children


def child_env() -> dict[str, str]:
    """The environment without SPARKIFY_DW_* settings: children get flags only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}


@dataclass
class ChildRun:
    ok: bool
    result: Record
    returncode: int
    process_s: float  # spawn to exit: interpreter start and imports included
    rss_peak_kib: int  # ru_maxrss of this child alone (KiB on Linux)
    cpu_s: float  # user + system CPU of the child (not of a database server)
    log: str
    timed_out: bool


def run_child(cmd: list[str], cwd: Path, label: str, timeout: float = 0) -> ChildRun:
    """Run one child, wait for it with ``os.wait4`` and read its JSON result.

    A child still running after ``timeout`` seconds (0: no limit) is killed; what it wrote
    to its result file before that (a load's figures after staging) is kept.
    """
    result_path = cwd / f"{label}.result.json"
    log_path = cwd / f"{label}.log"
    result_path.unlink(missing_ok=True)
    timed_out = False
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--result", str(result_path)], cwd=cwd,
                                env=child_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG if timeout else 0)
                if pid:
                    break
                if time.perf_counter() - started > timeout:
                    timed_out = True
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
        except BaseException:
            with suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
            raise
        elapsed = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    result: Record
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {"ok": False, "error": f"exit status {code} and no result"}
    if timed_out:
        result["ok"] = False
        result["error"] = f"killed after the {timeout:.0f} s time limit ({result.get('error')})"
    ok = bool(result.get("ok")) and code == 0
    if not ok:
        result.setdefault("error", f"exit status {code}")
        result["error"] = f"{result['error']} (log: {log_path})"
    return ChildRun(ok, result, code, elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime,
                    str(log_path), timed_out)


class Databases:
    """Fresh databases for the measurements: DuckDB files, PostgreSQL databases."""

    def __init__(self, rundir: Path, pg_url: URL) -> None:
        self.rundir = rundir
        self.pg_url = pg_url
        self.count = 0

    def pg_conninfo(self, url: URL) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    @contextmanager
    def fresh(self, backend: str, label: str) -> Iterator[tuple[str, Path]]:
        """A new database at the Alembic head, its URL and a working directory."""
        self.count += 1
        cwd = self.rundir / label
        cwd.mkdir(parents=True, exist_ok=True)
        name = f"bench_{os.getpid()}_{self.count}"
        if backend == "duckdb":
            url = URL.create("duckdb", database=str(cwd / f"{name}.duckdb"))
        else:
            with psycopg.connect(self.pg_conninfo(self.pg_url), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = self.pg_url.set(database=name)
        try:
            text = url.render_as_string(hide_password=False)
            prep = run_child([sys.executable, str(CHILD), "prepare", "--url", text], cwd,
                             "prepare")
            if not prep.ok:
                raise RuntimeError(f"alembic upgrade head: {prep.result['error']}")
            yield text, cwd
        finally:
            if backend == "duckdb":
                for p in cwd.glob(f"{name}.duckdb*"):
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
            else:
                with psycopg.connect(self.pg_conninfo(self.pg_url), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- measurements


def _rate(amount: float | None, seconds: float | None) -> float | None:
    if amount is None or not seconds:
        return None
    return amount / seconds


def measure_load(dbs: Databases, ds: Dataset, backend: str, jsonpath: str, index: int,
                 timeout: float) -> Record:
    """One full load; ``status`` is ok, timeout (figures of the stage step only) or failed."""
    label = f"load-{backend}-{ds.scale}x-{index}"
    rec: Record = {"scale": ds.scale, "backend": backend, "run": index,
                   "loadavg_before": list(os.getloadavg())}
    try:
        with dbs.fresh(backend, label) as (url, cwd):
            child = run_child([sys.executable, str(CHILD), "load", "--url", url, "--log-data",
                               ds.log_dir, "--song-data", ds.song_dir, "--log-jsonpath",
                               jsonpath], cwd, "load", timeout)
    except RuntimeError as exc:
        return {**rec, "ok": False, "status": "failed", "error": str(exc)}
    res = child.result
    staged_only = child.timed_out and bool(res.get("partial"))
    if not child.ok and not staged_only:
        say(f"[{ds.scale}x] {backend} load FAILED: {res['error']}")
        return {**rec, "ok": False, "status": "failed", "error": res["error"], "log": child.log}
    seconds: dict[str, float] = res["seconds"]
    events = res["staged"].get("staging_events", ds.events)
    stage_s = seconds.get("stage")
    total_s = res.get("total_s")
    if staged_only:
        rec.update({"status": "timeout", "error": res["error"], "log": child.log,
                    "time_limit_s": timeout})
        say(f"[{ds.scale}x] {backend} load TIMED OUT after {child.process_s:.0f} s "
            f"(stage {stage_s:.2f} s)")
    else:
        rec["status"] = "ok"
    rec.update({
        "ok": child.ok,
        "events": events,
        "songs": res["staged"].get("staging_songs"),
        "json_bytes": ds.json_bytes,
        "seconds": seconds,
        "total_s": total_s,
        "stage_wall_s": res.get("stage_wall_s"),
        "close_s": res.get("close_s"),
        "process_s": child.process_s,
        "events_per_s_stage": _rate(events, stage_s),
        "events_per_s_total": _rate(events, total_s),
        "mb_per_s_stage": _rate(ds.json_bytes / MB, stage_s),
        "mb_per_s_total": _rate(ds.json_bytes / MB, total_s),
        "rss_peak_kib": child.rss_peak_kib,
        "rss_start_kib": res.get("rss_start_kib"),
        "cpu_s": child.cpu_s,
        "staged": res["staged"], "inserted": res.get("inserted"),
        "updated": res.get("updated"), "counts": res.get("counts"),
    })
    if staged_only:
        return rec
    say(f"[{ds.scale}x] {backend} load: {total_s:.2f} s "
        + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
        + f"; peak RSS {child.rss_peak_kib / 1024:.0f} MiB")
    return rec


def measure_rawscan(rundir: Path, ds: Dataset, index: int) -> Record:
    cwd = rundir / f"rawscan-{ds.scale}x-{index}"
    cwd.mkdir(parents=True, exist_ok=True)
    db = cwd / "raw.duckdb"
    rec: Record = {"scale": ds.scale, "run": index, "loadavg_before": list(os.getloadavg())}
    try:
        child = run_child([sys.executable, str(CHILD), "rawscan", "--db", str(db), "--log-data",
                           ds.log_dir, "--song-data", ds.song_dir], cwd, "rawscan")
    finally:
        for p in cwd.glob("raw.duckdb*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    res = child.result
    if not child.ok:
        say(f"[{ds.scale}x] raw scan FAILED: {res['error']}")
        return {**rec, "ok": False, "error": res["error"], "log": child.log}
    total_s = res["total_s"]
    rec.update({
        "ok": True, "seconds": res["seconds"], "total_s": total_s, "close_s": res["close_s"],
        "process_s": child.process_s, "rows": res["rows"], "files": res["files"],
        "json_bytes": ds.json_bytes, "mb_per_s": _rate(ds.json_bytes / MB, total_s),
        "events_per_s": _rate(res["rows"]["ev"], total_s), "rss_peak_kib": child.rss_peak_kib,
        "cpu_s": child.cpu_s,
    })
    say(f"[{ds.scale}x] raw scan: {total_s:.2f} s (events {res['seconds']['ev']:.2f}, "
        f"songs {res['seconds']['songs']:.2f})")
    return rec


def measure_naive(dbs: Databases, ds: Dataset, backend: str, jsonpath: str) -> Record:
    rec: Record = {"scale": ds.scale, "backend": backend, "loadavg_before": list(os.getloadavg())}
    try:
        with dbs.fresh(backend, f"naive-{backend}-{ds.scale}x") as (url, cwd):
            child = run_child([sys.executable, str(NAIVE), "--url", url, "--log-data",
                               ds.log_dir, "--log-jsonpath", jsonpath], cwd, "naive")
    except RuntimeError as exc:
        return {**rec, "ok": False, "error": str(exc)}
    res = child.result
    if not child.ok:
        say(f"[{ds.scale}x] naive {backend} FAILED: {res['error']}")
        return {**rec, "ok": False, "error": res["error"], "log": child.log}
    rec.update({"ok": True, "rows": res["rows"], "seconds": res["seconds"],
                "events_per_s": res["events_per_s"], "rss_peak_kib": child.rss_peak_kib,
                "process_s": child.process_s, "cpu_s": child.cpu_s})
    say(f"[{ds.scale}x] naive {backend}: {res['rows']:,} rows in {res['seconds']:.2f} s "
        f"({res['events_per_s']:,.0f} events/s)")
    return rec


def median_run(runs: list[Record]) -> Record | None:
    """The successful run with the median total (the lower middle one for an even count);
    without one, a run stopped by the time limit (it has the stage step's figures)."""
    ok = sorted((r for r in runs if r.get("ok")), key=lambda r: float(r["total_s"]))
    if ok:
        return ok[(len(ok) - 1) // 2]
    return next((r for r in runs if r.get("status") == "timeout"), None)


# --------------------------------------------------------------------------- the machine


def _first(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.strip()
    except OSError:
        return None
    return None


def describe_machine(pg_url: URL | None) -> Record:
    mem = _first("/proc/meminfo", "MemTotal")
    os_name = None
    with suppress(OSError):
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME")
    info: Record = {
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(int(mem.split()[0]) / 1024**2, 1) if mem else None,
        "os": os_name or platform.system(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "duckdb": importlib.metadata.version("duckdb"),
        "sqlalchemy": importlib.metadata.version("sqlalchemy"),
        "psycopg": importlib.metadata.version("psycopg"),
        "postgresql_server": None,
        "loadavg_start": list(os.getloadavg()),
    }
    if pg_url is not None:
        try:
            conninfo = pg_url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(conninfo, connect_timeout=10) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                info["postgresql_server"] = row[0] if row else None
        except psycopg.Error as exc:
            info["postgresql_server"] = f"unreachable: {str(exc).splitlines()[0]}"
    return info


def describe_code() -> Record:
    """Which loader was measured: the sparkify_dw the children import (this interpreter's),
    a hash of its sources, the git HEAD and whether the package differs from it."""
    spec = importlib.util.find_spec("sparkify_dw")
    if spec is None or spec.origin is None:
        raise SystemExit("error: sparkify_dw is not importable (pip install -e .)")
    package = Path(spec.origin).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    info: Record = {"sparkify_dw_path": str(package),
                    "sparkify_dw_sources_sha256": digest.hexdigest()[:16]}

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=package, capture_output=True, text=True,
                                 timeout=20, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    info["git_head"] = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", ".")
    info["sparkify_dw_uncommitted_changes"] = None if changed is None else bool(changed)
    return info


# --------------------------------------------------------------------------- report


def evaluate_targets(loads: dict[tuple[int, str], Record], raw: dict[int, Record],
                     scales: list[int]) -> list[Record]:
    out: list[Record] = []
    top = max(scales)

    def target(name: str, wanted: str, status: str, figure: str, **extra: Any) -> None:
        out.append({"target": name, "wanted": wanted, "status": status, "figure": figure,
                    **extra})

    name = "DuckDB end-to-end load vs raw scan at 100x"
    duck, scan = loads.get((100, "duckdb")), raw.get(100)
    if duck and scan and duck["total_s"] is None:
        target(name, f"<= {TARGET_RAW_RATIO}x", "MISSED",
               f"> {duck['time_limit_s'] / scan['total_s']:.0f}x (the load hit the "
               f"{duck['time_limit_s']:.0f} s limit; raw scan {scan['total_s']:.2f} s)")
    elif duck and scan:
        ratio = duck["total_s"] / scan["total_s"]
        target(name, f"<= {TARGET_RAW_RATIO}x", "MET" if ratio <= TARGET_RAW_RATIO else "MISSED",
               f"{ratio:.2f}x ({duck['total_s']:.2f} s vs {scan['total_s']:.2f} s)", value=ratio)
    else:
        target(name, f"<= {TARGET_RAW_RATIO}x", "NOT MEASURED", "needs 100x duckdb and raw scan")

    name = "PostgreSQL staging throughput"
    pg_scale = 100 if (100, "postgresql") in loads else top
    pg = loads.get((pg_scale, "postgresql"))
    if pg and pg.get("events_per_s_stage"):
        eps = pg["events_per_s_stage"]
        where = "" if pg_scale == 100 else " (100x not measured)"
        target(name, f">= {TARGET_PG_STAGE_EPS:,} events/s",
               "MET" if eps >= TARGET_PG_STAGE_EPS else "MISSED",
               f"{eps:,.0f} events/s at {pg_scale}x{where}", value=eps, scale=pg_scale)
    else:
        target(name, f">= {TARGET_PG_STAGE_EPS:,} events/s", "NOT MEASURED",
               "needs a postgresql load")

    name = "PostgreSQL loader peak RSS growth 10x -> 100x"
    small, big = loads.get((10, "postgresql")), loads.get((100, "postgresql"))
    if small and big:
        growth = big["rss_peak_kib"] / small["rss_peak_kib"]
        cut = [f"{r['scale']}x" for r in (small, big) if r.get("status") == "timeout"]
        note = f"; {' and '.join(cut)} stopped by the time limit" if cut else ""
        # Context: how much of the peak the interpreter and imports already held.
        above = [r["rss_peak_kib"] - (r.get("rss_start_kib") or 0) for r in (small, big)]
        target(name, f"<= {TARGET_PG_RSS_GROWTH}x",
               "MET" if growth <= TARGET_PG_RSS_GROWTH else "MISSED",
               f"{growth:.2f}x ({small['rss_peak_kib'] / 1024:.0f} -> "
               f"{big['rss_peak_kib'] / 1024:.0f} MiB; above the child's RSS before the "
               f"load: {above[0] / 1024:.0f} -> {above[1] / 1024:.0f} MiB{note})",
               value=growth, above_start_kib=above)
    else:
        target(name, f"<= {TARGET_PG_RSS_GROWTH}x", "NOT MEASURED", "needs 10x and 100x")
    return out


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _x(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt) + "x"


def render(loads: dict[tuple[int, str], Record], raw: dict[int, Record], naive: list[Record],
           targets: list[Record], scales: list[int], backends: list[str],
           failures: list[str]) -> str:
    # Step columns: the loader's own (LoadResult.seconds), whatever steps it reports.
    steps = ["stage", "transform", "check"]
    for each in loads.values():
        steps += [k for k in each["seconds"] if k not in steps]
    lines = ["", "Loader: sparkify_dw.load.run(), every step; seconds are wall time "
                 "(LoadResult.seconds), total is the whole run() call"]
    head = (f"{'scale':>5}  {'backend':<10} {'events':>9} {'JSON MB':>8} "
            + " ".join(f"{step[:6] + ' s':>8}" for step in steps)
            + f" {'total s':>8} {'ev/s stage':>10} {'ev/s e2e':>9} {'MB/s stg':>8} "
              f"{'MB/s e2e':>8} {'peak RSS':>9}")
    lines += [head, "-" * len(head)]
    for scale in scales:
        for backend in backends:
            r = loads.get((scale, backend))
            if r is None:
                lines.append(f"{scale:>4}x  {backend:<10} FAILED")
                continue
            s = r["seconds"]
            stopped = r["total_s"] is None
            total = (f">{r.get('time_limit_s', 0):.0f}" if stopped
                     else format(r["total_s"], ".2f"))
            cells = [_f(s.get(step), ".2f") for step in steps]
            if stopped and len(cells) > 1:
                cells[1] = "TIMEOUT"
            lines.append(
                f"{scale:>4}x  {backend:<10} {r['events']:>9,} {r['json_bytes'] / MB:>8.1f} "
                + " ".join(f"{c:>8}" for c in cells)
                + f" {total:>8} "
                f"{_f(r['events_per_s_stage'], ',.0f'):>10} "
                f"{_f(r['events_per_s_total'], ',.0f'):>9} "
                f"{_f(r['mb_per_s_stage'], '.1f'):>8} {_f(r['mb_per_s_total'], '.1f'):>8} "
                f"{r['rss_peak_kib'] / 1024:>5.0f} MiB")
    lines += ["", "Raw scan: DuckDB CREATE TABLE AS SELECT * FROM read_json([...]), "
                  "events and songs; ratios are DuckDB load / raw scan"]
    head = (f"{'scale':>5}  {'raw s':>7} {'events s':>8} {'songs s':>8} {'MB/s':>7} "
            f"{'ev/s':>10} {'stage/raw':>9} {'e2e/raw':>8}")
    lines += [head, "-" * len(head)]
    for scale in scales:
        r = raw.get(scale)
        if r is None:
            lines.append(f"{scale:>4}x  FAILED")
            continue
        duck = loads.get((scale, "duckdb"))
        stage_ratio = total_ratio = None
        if duck:
            stage_ratio = duck["seconds"].get("stage", 0) / r["total_s"]
            total_ratio = duck["total_s"] / r["total_s"] if duck["total_s"] else None
        lines.append(
            f"{scale:>4}x  {r['total_s']:>7.2f} {r['seconds']['ev']:>8.2f} "
            f"{r['seconds']['songs']:>8.2f} {r['mb_per_s']:>7.1f} {r['events_per_s']:>10,.0f} "
            f"{_x(stage_ratio):>9} {_x(total_ratio):>8}")
    if naive:
        lines += ["", "Naive per-row loader (json.loads + one INSERT per event, one "
                      "transaction), staging_events only"]
        head = (f"{'scale':>5}  {'backend':<10} {'rows':>8} {'seconds':>8} {'ev/s':>8} "
                f"{'loader stage ev/s':>17} {'loader/naive':>12}")
        lines += [head, "-" * len(head)]
        for r in naive:
            if not r.get("ok"):
                lines.append(f"{r['scale']:>4}x  {r['backend']:<10} FAILED")
                continue
            ours = loads.get((r["scale"], r["backend"]))
            ours_eps = ours["events_per_s_stage"] if ours else None
            speedup = ours_eps / r["events_per_s"] if ours_eps and r["events_per_s"] else None
            lines.append(
                f"{r['scale']:>4}x  {r['backend']:<10} {r['rows']:>8,} {r['seconds']:>8.2f} "
                f"{r['events_per_s']:>8,.0f} {_f(ours_eps, ',.0f'):>17} "
                f"{_x(speedup):>12}")
    lines += ["", "Targets"]
    for t in targets:
        lines.append(f"  {t['status']:<12} {t['target']} ({t['wanted']}): {t['figure']}")
    if failures:
        lines += ["", "Failures"] + [f"  {f}" for f in failures]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("scales must be positive integers")
    return values


def _backends(text: str) -> list[str]:
    values = [x.strip() for x in text.split(",") if x.strip()]
    bad = [v for v in values if v not in BACKENDS]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"backends: choose from {', '.join(BACKENDS)}")
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/run.py",
                                description="Benchmark the sparkify_dw loader (issue 7).")
    p.add_argument("--scales", type=_int_list, default=[1, 10, 100],
                   help="multiples of the 1x set (10,000 events), default 1,10,100")
    p.add_argument("--backends", type=_backends, default=list(BACKENDS),
                   help="comma-separated: duckdb,postgresql (default both)")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL,
                   help="a PostgreSQL role that may create databases; each measurement "
                        f"creates and drops its own (default {DEFAULT_PG_URL})")
    p.add_argument("--work", type=Path, default=BENCH / ".data",
                   help="generated data (reused) and per-run scratch (default bench/.data)")
    p.add_argument("--out", type=Path, default=BENCH / "results.json",
                   help="write every figure here as JSON (default bench/results.json)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per measurement; the run with the median total is reported")
    p.add_argument("--base-events", type=int, default=BASE_EVENTS, help=argparse.SUPPRESS)
    p.add_argument("--days", type=int, default=DAYS, help="days the events span (30)")
    p.add_argument("--seed", type=int, default=SEED, help="generator seed (1)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds a load may take before it is stopped and reported with its "
                        f"stage figures only; 0 for no limit (default {DEFAULT_TIMEOUT:.0f})")
    p.add_argument("--no-naive", action="store_true", help="skip the naive per-row loader")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("error: --repeat must be >= 1")
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    scales: list[int] = args.scales
    backends: list[str] = args.backends
    pg_url = make_url(args.pg_url)
    jsonpath = str(importlib.resources.files("sparkify_dw").joinpath(
        "sample/log_json_path.json"))
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    rundir = work / "runs" / f"{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
    rundir.mkdir(parents=True)
    need_pg = "postgresql" in backends
    machine = describe_machine(pg_url if need_pg else None)
    if need_pg and not str(machine["postgresql_server"] or "").strip()[:1].isdigit():
        raise SystemExit(f"error: PostgreSQL at {pg_url.render_as_string(hide_password=True)}"
                         f": {machine['postgresql_server']} (or use --backends duckdb)")
    code = describe_code()
    say(f"sparkify_dw benchmark: scales {scales}, backends {backends}, repeat {args.repeat}; "
        f"scratch in {rundir}")

    datasets = {s: ensure_dataset(work, s, args.base_events, args.days, args.seed)
                for s in scales}
    dbs = Databases(rundir, pg_url)
    all_loads: list[Record] = []
    all_raw: list[Record] = []
    naive: list[Record] = []
    loads: dict[tuple[int, str], Record] = {}
    raw: dict[int, Record] = {}
    failures: list[str] = []
    for scale in scales:
        ds = datasets[scale]
        for backend in backends:
            runs = [measure_load(dbs, ds, backend, jsonpath, i, args.timeout)
                    for i in range(args.repeat)]
            all_loads += runs
            failures += [f"{scale}x {backend} load: {r['error']}" for r in runs if not r["ok"]]
            best = median_run(runs)
            if best is not None:
                loads[(scale, backend)] = best
        runs = [measure_rawscan(rundir, ds, i) for i in range(args.repeat)]
        all_raw += runs
        failures += [f"{scale}x raw scan: {r['error']}" for r in runs if not r["ok"]]
        best = median_run(runs)
        if best is not None:
            raw[scale] = best
    if 1 in datasets and not args.no_naive:
        for backend in backends:
            rec = measure_naive(dbs, datasets[1], backend, jsonpath)
            naive.append(rec)
            if not rec["ok"]:
                failures.append(f"1x naive {backend}: {rec['error']}")

    targets = evaluate_targets(loads, raw, scales)
    machine["loadavg_end"] = list(os.getloadavg())
    code_end = describe_code()["sparkify_dw_sources_sha256"]
    if code_end != code["sparkify_dw_sources_sha256"]:
        code["sparkify_dw_sources_sha256_at_end"] = code_end
        failures.append("sparkify_dw's sources changed during the run: the figures may mix "
                        "versions of the loader")
    report = {
        "benchmark": "sparkify_dw loader, issue 7",
        "started_at": started_at,
        "duration_s": round(time.perf_counter() - started, 1),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine,
        "code": code,
        "config": {
            "scales": scales, "backends": backends, "repeat": args.repeat,
            "time_limit_s": args.timeout or None,
            "base_events": args.base_events, "events_per_song": EVENTS_PER_SONG,
            "days": args.days, "seed": args.seed,
            "pg_url": pg_url.render_as_string(hide_password=True) if need_pg else None,
            "log_jsonpath": jsonpath, "mb": MB,
        },
        "datasets": {str(s): {**asdict(d), "json_bytes": d.json_bytes}
                     for s, d in datasets.items()},
        "loads": [loads[k] for k in sorted(loads)],
        "raw_scan": [raw[k] for k in sorted(raw)],
        "naive": naive,
        "targets": targets,
        "failures": failures,
        "all_runs": {"loads": all_loads, "raw_scan": all_raw} if args.repeat > 1 else None,
        "notes": [
            "seconds per step come from LoadResult.seconds; total_s is the wall time of "
            "sparkify_dw.load.run() in the child (schema upgrade and interpreter start "
            "excluded, process_s includes them)",
            "rss_peak_kib is ru_maxrss of the loader child alone (os.wait4); a database "
            "server's memory is not included",
            "MB = 10^6 bytes of log_data + song_data files",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"sparkify_dw benchmark, {started_at}, {machine['cpu_model']} "
          f"({machine['usable_cpus']} CPUs), {machine['ram_gib']} GiB, DuckDB "
          f"{machine['duckdb']}, PostgreSQL {machine['postgresql_server'] or '-'}; "
          f"load average {' '.join(f'{x:.1f}' for x in machine['loadavg_start'])} at start, "
          f"{' '.join(f'{x:.1f}' for x in machine['loadavg_end'])} at end")
    print(render(loads, raw, naive, targets, scales, backends, failures))
    print(f"\nwrote {args.out} in {report['duration_s']:.0f} s")
    if failures:
        print(f"logs of the failed measurements are kept in {rundir}")
    else:
        shutil.rmtree(rundir, ignore_errors=True)
        with suppress(OSError):
            (work / "runs").rmdir()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
