"""Benchmark the loader on two data shapes: figures per scale and backend, the raw-scan
floor, a naive baseline, and the targets of issue 13 (see bench/README.md)::

    python bench/run.py [--shape real|synthetic|both] [--scales 1,10,50,100]
                        [--backends duckdb,postgresql] [--repeat 1]
                        [--pg-url postgresql+psycopg://root@127.0.0.1:5432/postgres]
                        [--work bench/.data] [--out bench/results.json]

Modules: ``datasets.py`` (and ``realshape.py``) generate or reuse the data sets,
``measure.py`` runs each measurement in a child process (``child.py``, ``naive.py``),
``report.py`` evaluates the targets and prints the tables; this file ties them together and
writes every figure to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import datasets
import measure
import realshape
import report
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
BACKENDS = ("duckdb", "postgresql")
DEFAULT_SCALES = [1, 10, 50, 100]
DEFAULT_TIMEOUT = 900.0  # seconds per load child
Record = dict[str, object]


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
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
    p = argparse.ArgumentParser(
        prog="python bench/run.py", description="Benchmark the sparkify_dw loader (issue 13)."
    )
    p.add_argument(
        "--shape",
        choices=("real", "synthetic", "both"),
        default="both",
        help="copies of the real sample, the synthetic generator's data, or both (default both)",
    )
    p.add_argument(
        "--scales",
        type=_int_list,
        default=DEFAULT_SCALES,
        help="multiples of the 1x set: copies of the sample (real), 10,000 events "
        "(synthetic); default 1,10,50,100",
    )
    p.add_argument(
        "--backends",
        type=_backends,
        default=list(BACKENDS),
        help="comma-separated: duckdb,postgresql (default both)",
    )
    p.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="a PostgreSQL role that may create databases; each measurement "
        f"creates and drops its own (default {DEFAULT_PG_URL})",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=BENCH / ".data",
        help="generated data (reused) and per-run scratch (default bench/.data)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=BENCH / "results.json",
        help="write every figure here as JSON (default bench/results.json)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per measurement; the run with the median total is reported",
    )
    p.add_argument(
        "--rss-limit-mib",
        type=float,
        default=report.DEFAULT_RSS_LIMIT_MIB,
        help="the DuckDB loader's peak RSS target, MiB (default 1024)",
    )
    p.add_argument("--base-events", type=int, default=datasets.BASE_EVENTS, help=argparse.SUPPRESS)
    p.add_argument(
        "--days", type=int, default=datasets.DAYS, help="days the synthetic events span (30)"
    )
    p.add_argument("--seed", type=int, default=datasets.SEED, help="synthetic seed (1)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds a load may take before it is stopped and reported with its "
        f"stage figures only; 0 for no limit (default {DEFAULT_TIMEOUT:.0f})",
    )
    p.add_argument("--no-naive", action="store_true", help="skip the naive per-row loader")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("error: --repeat must be >= 1")
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    shapes: list[str] = list(datasets.SHAPES) if args.shape == "both" else [args.shape]
    scales: list[int] = args.scales
    backends: list[str] = args.backends
    pg_url = make_url(args.pg_url)
    jsonpath = str(importlib.resources.files("sparkify_dw").joinpath("sample/log_json_path.json"))
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    rundir = work / "runs" / f"{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
    rundir.mkdir(parents=True)
    need_pg = "postgresql" in backends
    machine = measure.describe_machine(pg_url if need_pg else None)
    if need_pg and not str(machine["postgresql_server"] or "").strip()[:1].isdigit():
        raise SystemExit(
            f"error: PostgreSQL at {pg_url.render_as_string(hide_password=True)}"
            f": {machine['postgresql_server']} (or use --backends duckdb)"
        )
    code = measure.describe_code()
    datasets.say(
        f"sparkify_dw benchmark: shapes {shapes}, scales {scales}, backends "
        f"{backends}, repeat {args.repeat}; scratch in {rundir}"
    )

    sample = realshape.Sample.load() if "real" in shapes else None
    sets = {
        (shape, scale): datasets.ensure(
            work, shape, scale, sample, base_events=args.base_events, days=args.days, seed=args.seed
        )
        for shape in shapes
        for scale in scales
    }
    dbs = measure.Databases(rundir, pg_url)
    all_loads: list[Record] = []
    all_raw: list[Record] = []
    naive: list[Record] = []
    loads: report.Loads = {}
    raw: report.Raws = {}
    failures: list[str] = []
    for (shape, scale), ds in sets.items():
        for backend in backends:
            runs = [
                measure.measure_load(dbs, ds, backend, jsonpath, i, args.timeout)
                for i in range(args.repeat)
            ]
            all_loads += runs
            failures += [f"{ds.label} {backend} load: {r['error']}" for r in runs if not r["ok"]]
            best = measure.median_run(runs)
            if best is not None:
                loads[(shape, scale, backend)] = best
        runs = [measure.measure_rawscan(rundir, ds, i) for i in range(args.repeat)]
        all_raw += runs
        failures += [f"{ds.label} raw scan: {r['error']}" for r in runs if not r["ok"]]
        best = measure.median_run(runs)
        if best is not None:
            raw[(shape, scale)] = best
    if not args.no_naive:
        for shape in shapes:
            if (shape, 1) not in sets:
                continue
            for backend in backends:
                rec = measure.measure_naive(dbs, sets[(shape, 1)], backend, jsonpath)
                naive.append(rec)
                if not rec["ok"]:
                    failures.append(f"{shape} 1x naive {backend}: {rec['error']}")

    targets = report.evaluate_targets(loads, raw, shapes, args.rss_limit_mib)
    machine["loadavg_end"] = list(os.getloadavg())
    code_end = measure.describe_code()["sparkify_dw_sources_sha256"]
    if code_end != code["sparkify_dw_sources_sha256"]:
        code["sparkify_dw_sources_sha256_at_end"] = code_end
        failures.append(
            "sparkify_dw's sources changed during the run: the figures may mix "
            "versions of the loader"
        )
    results = {
        "benchmark": "sparkify_dw loader, issue 13",
        "started_at": started_at,
        "duration_s": round(time.perf_counter() - started, 1),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine,
        "code": code,
        "config": {
            "shapes": shapes,
            "scales": scales,
            "backends": backends,
            "repeat": args.repeat,
            "time_limit_s": args.timeout or None,
            "rss_limit_mib": args.rss_limit_mib,
            "synthetic": {
                "base_events": args.base_events,
                "events_per_song": datasets.EVENTS_PER_SONG,
                "days": args.days,
                "seed": args.seed,
            },
            "real": {
                "days_per_copy": realshape.DAYS_PER_COPY,
                "song_files_per_copy": realshape.SONG_FILES_PER_COPY,
            },
            "pg_url": pg_url.render_as_string(hide_password=True) if need_pg else None,
            "log_jsonpath": jsonpath,
            "mb": measure.MB,
        },
        "datasets": [{**asdict(d), "json_bytes": d.json_bytes} for d in sets.values()],
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
            "events_stage_s: event staging alone, from the first statement emptying a "
            "staging table to the loader's 'staged staging_events' log line; compared with "
            "raw_scan seconds.ev, DuckDB's read_json of the same event files into a table",
            "rss_peak_kib is ru_maxrss of the loader child alone (os.wait4); a database "
            "server's memory is not included",
            "MB = 10^6 bytes of log_data + song_data files",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    print(
        f"sparkify_dw benchmark, {started_at}, {machine['cpu_model']} "
        f"({machine['usable_cpus']} CPUs), {machine['ram_gib']} GiB, DuckDB "
        f"{machine['duckdb']}, PostgreSQL {machine['postgresql_server'] or '-'}; "
        f"load average {' '.join(f'{x:.1f}' for x in machine['loadavg_start'])} at start, "
        f"{' '.join(f'{x:.1f}' for x in machine['loadavg_end'])} at end"
    )
    print(report.render(loads, raw, naive, targets, shapes, scales, backends, failures))
    print(f"\nwrote {args.out} in {results['duration_s']:.0f} s")
    if failures:
        print(f"logs of the failed measurements are kept in {rundir}")
    else:
        shutil.rmtree(rundir, ignore_errors=True)
        with suppress(OSError):
            (work / "runs").rmdir()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
