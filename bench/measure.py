"""The benchmark's measurements, each in its own child process, and the machine and code
they ran on.

Every measurement runs as a child (``child.py``, ``naive.py``) on a fresh database brought
to the Alembic head beforehand, untimed; the child reports its timings as JSON and this
module reads the child's peak RSS with ``os.wait4`` (its own peak, not its children's).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from datasets import Dataset, child_env, say
from sqlalchemy.engine import URL

BENCH = Path(__file__).resolve().parent
CHILD = BENCH / "child.py"
NAIVE = BENCH / "naive.py"
MB = 1_000_000  # MB/s means 10^6 bytes of JSON per second

Record = dict[str, Any]


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
        proc = subprocess.Popen(
            [*cmd, "--result", str(result_path)],
            cwd=cwd,
            env=child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
    return ChildRun(
        ok,
        result,
        code,
        elapsed,
        usage.ru_maxrss,
        usage.ru_utime + usage.ru_stime,
        str(log_path),
        timed_out,
    )


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
            prep = run_child([sys.executable, str(CHILD), "prepare", "--url", text], cwd, "prepare")
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


def _rate(amount: float | None, seconds: float | None) -> float | None:
    if amount is None or not seconds:
        return None
    return amount / seconds


def measure_load(
    dbs: Databases, ds: Dataset, backend: str, jsonpath: str, index: int, timeout: float
) -> Record:
    """One full load; ``status`` is ok, timeout (figures of the stage step only) or failed."""
    label = f"load-{ds.shape}-{backend}-{ds.scale}x-{index}"
    rec: Record = {
        "shape": ds.shape,
        "scale": ds.scale,
        "backend": backend,
        "run": index,
        "loadavg_before": list(os.getloadavg()),
    }
    try:
        with dbs.fresh(backend, label) as (url, cwd):
            child = run_child(
                [
                    sys.executable,
                    str(CHILD),
                    "load",
                    "--url",
                    url,
                    "--log-data",
                    ds.log_dir,
                    "--song-data",
                    ds.song_dir,
                    "--log-jsonpath",
                    jsonpath,
                ],
                cwd,
                "load",
                timeout,
            )
    except RuntimeError as exc:
        return {**rec, "ok": False, "status": "failed", "error": str(exc)}
    res = child.result
    staged_only = child.timed_out and bool(res.get("partial"))
    if not child.ok and not staged_only:
        say(f"[{ds.label}] {backend} load FAILED: {res['error']}")
        return {**rec, "ok": False, "status": "failed", "error": res["error"], "log": child.log}
    seconds: dict[str, float] = res["seconds"]
    events = res["staged"].get("staging_events", ds.events)
    stage_s = seconds.get("stage")
    total_s = res.get("total_s")
    if staged_only:
        rec.update(
            {"status": "timeout", "error": res["error"], "log": child.log, "time_limit_s": timeout}
        )
        say(
            f"[{ds.label}] {backend} load TIMED OUT after {child.process_s:.0f} s "
            f"(stage {stage_s:.2f} s)"
        )
    else:
        rec["status"] = "ok"
    rec.update(
        {
            "ok": child.ok,
            "events": events,
            "songs": res["staged"].get("staging_songs"),
            "files": ds.log_files + ds.song_files,
            "json_bytes": ds.json_bytes,
            "seconds": seconds,
            "total_s": total_s,
            "events_stage_s": res.get("events_stage_s"),
            "close_s": res.get("close_s"),
            "process_s": child.process_s,
            "events_per_s_stage": _rate(events, stage_s),
            "events_per_s_total": _rate(events, total_s),
            "mb_per_s_stage": _rate(ds.json_bytes / MB, stage_s),
            "mb_per_s_total": _rate(ds.json_bytes / MB, total_s),
            "rss_peak_kib": child.rss_peak_kib,
            "rss_start_kib": res.get("rss_start_kib"),
            "cpu_s": child.cpu_s,
            "staged": res["staged"],
            "inserted": res.get("inserted"),
            "updated": res.get("updated"),
            "counts": res.get("counts"),
        }
    )
    if staged_only:
        return rec
    say(
        f"[{ds.label}] {backend} load: {total_s:.2f} s "
        + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
        + f"; peak RSS {child.rss_peak_kib / 1024:.0f} MiB"
    )
    return rec


def measure_rawscan(rundir: Path, ds: Dataset, index: int) -> Record:
    """DuckDB alone: ``read_json`` of the event files into a table, then of the song files."""
    cwd = rundir / f"rawscan-{ds.shape}-{ds.scale}x-{index}"
    cwd.mkdir(parents=True, exist_ok=True)
    db = cwd / "raw.duckdb"
    rec: Record = {
        "shape": ds.shape,
        "scale": ds.scale,
        "run": index,
        "loadavg_before": list(os.getloadavg()),
    }
    try:
        child = run_child(
            [
                sys.executable,
                str(CHILD),
                "rawscan",
                "--db",
                str(db),
                "--log-data",
                ds.log_dir,
                "--song-data",
                ds.song_dir,
            ],
            cwd,
            "rawscan",
        )
    finally:
        for p in cwd.glob("raw.duckdb*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    res = child.result
    if not child.ok:
        say(f"[{ds.label}] raw scan FAILED: {res['error']}")
        return {**rec, "ok": False, "error": res["error"], "log": child.log}
    total_s = res["total_s"]
    rec.update(
        {
            "ok": True,
            "seconds": res["seconds"],
            "total_s": total_s,
            "close_s": res["close_s"],
            "process_s": child.process_s,
            "rows": res["rows"],
            "files": res["files"],
            "json_bytes": ds.json_bytes,
            "mb_per_s": _rate(ds.json_bytes / MB, total_s),
            "events_per_s": _rate(res["rows"]["ev"], total_s),
            "rss_peak_kib": child.rss_peak_kib,
            "cpu_s": child.cpu_s,
        }
    )
    say(
        f"[{ds.label}] raw scan: {total_s:.2f} s (events {res['seconds']['ev']:.2f}, "
        f"songs {res['seconds']['songs']:.2f})"
    )
    return rec


def measure_naive(dbs: Databases, ds: Dataset, backend: str, jsonpath: str) -> Record:
    rec: Record = {
        "shape": ds.shape,
        "scale": ds.scale,
        "backend": backend,
        "loadavg_before": list(os.getloadavg()),
    }
    try:
        with dbs.fresh(backend, f"naive-{ds.shape}-{backend}-{ds.scale}x") as (url, cwd):
            child = run_child(
                [
                    sys.executable,
                    str(NAIVE),
                    "--url",
                    url,
                    "--log-data",
                    ds.log_dir,
                    "--log-jsonpath",
                    jsonpath,
                ],
                cwd,
                "naive",
            )
    except RuntimeError as exc:
        return {**rec, "ok": False, "error": str(exc)}
    res = child.result
    if not child.ok:
        say(f"[{ds.label}] naive {backend} FAILED: {res['error']}")
        return {**rec, "ok": False, "error": res["error"], "log": child.log}
    rec.update(
        {
            "ok": True,
            "rows": res["rows"],
            "seconds": res["seconds"],
            "events_per_s": res["events_per_s"],
            "rss_peak_kib": child.rss_peak_kib,
            "process_s": child.process_s,
            "cpu_s": child.cpu_s,
        }
    )
    say(
        f"[{ds.label}] naive {backend}: {res['rows']:,} rows in {res['seconds']:.2f} s "
        f"({res['events_per_s']:,.0f} events/s)"
    )
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
    info: Record = {
        "sparkify_dw_path": str(package),
        "sparkify_dw_sources_sha256": digest.hexdigest()[:16],
    }

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=package, capture_output=True, text=True, timeout=20, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    info["git_head"] = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", ".")
    info["sparkify_dw_uncommitted_changes"] = None if changed is None else bool(changed)
    return info
