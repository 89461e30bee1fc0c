"""The benchmark scripts work: the targets are judged right, the tables render, and the
parallel S3 measurement runs end to end on a few objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
# bench/ is a folder of scripts, not a package: appended, its modules shadow nothing.
sys.path.append(str(ROOT / "bench"))
import report  # noqa: E402
import run  # noqa: E402

pytestmark = pytest.mark.serial  # runs the benchmark scripts


def load(
    shape: str,
    scale: int,
    backend: str,
    total: float,
    events: int = 100_000,
    rss_mib: float = 200,
    events_stage: float | None = None,
) -> dict[str, Any]:
    return {
        "shape": shape,
        "scale": scale,
        "backend": backend,
        "ok": True,
        "status": "ok",
        "events": events,
        "files": 10,
        "json_bytes": 10**7,
        "total_s": total,
        "seconds": {"stage": total / 2, "transform": total / 3, "check": total / 6},
        "events_stage_s": events_stage,
        "events_per_s_total": events / total,
        "events_per_s_stage": events / (total / 2),
        "rss_peak_kib": int(rss_mib * 1024),
    }


def raw(shape: str, scale: int, total: float, events: float) -> dict[str, Any]:
    return {
        "shape": shape,
        "scale": scale,
        "ok": True,
        "total_s": total,
        "seconds": {"ev": events, "songs": total - events},
    }


def test_targets_are_judged_on_both_shapes_at_50_and_100x() -> None:
    loads = {
        ("real", 50, "duckdb"): load("real", 50, "duckdb", 3.0, events_stage=2.0),
        ("real", 100, "duckdb"): load("real", 100, "duckdb", 6.0, rss_mib=1500),
        ("real", 50, "postgresql"): load("real", 50, "postgresql", 2.0),
        ("real", 100, "postgresql"): load("real", 100, "postgresql", 5.0),
    }
    raws = {("real", 50): raw("real", 50, 2.5, 1.0), ("real", 100): raw("real", 100, 3.0, 2.0)}
    targets = {t["target"]: t for t in report.evaluate_targets(loads, raws, ["real", "synthetic"])}
    assert targets["DuckDB end to end vs raw scan, real 50x"]["status"] == "MET"  # 1.2x
    assert targets["DuckDB end to end vs raw scan, real 100x"]["status"] == "MISSED"  # 2x
    assert targets["PostgreSQL events/s end to end, real 50x"]["status"] == "MET"  # 50k/s
    assert targets["PostgreSQL events/s end to end, real 100x"]["status"] == "MISSED"  # 20k/s
    assert targets["DuckDB end to end vs raw scan, synthetic 100x"]["status"] == "NOT MEASURED"
    rss = targets["DuckDB loader peak RSS, every input"]
    assert rss["status"] == "MISSED" and "real 100x" in rss["figure"]
    assert report.ratios(loads[("real", 50, "duckdb")], raws[("real", 50)]) == (1.2, 2.0)
    text = report.render(
        loads, raws, [], list(targets.values()), ["real"], [50, 100], ["duckdb", "postgresql"], []
    )
    assert "2.00x" in text and "MISSED       DuckDB end to end vs raw scan, real 100x" in text


def test_run_options() -> None:
    args = run.parser().parse_args(["--shape", "real", "--scales", "2,1", "--backends", "duckdb"])
    assert (args.shape, args.scales, args.backends) == ("real", [1, 2], ["duckdb"])
    assert run.parser().parse_args([]).scales == [1, 10, 50, 100]


def test_s3_parallel_runs(tmp_path: Path) -> None:
    out = tmp_path / "s3.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "s3_parallel.py"),
            "--objects",
            "60",
            "--latency-ms",
            "10",
            "--workers",
            "1,4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    one, four = figures["runs"]
    assert (one["workers"], four["workers"]) == (1, 4)
    assert one["most_in_flight"] == 1 and four["most_in_flight"] == 4
    assert all(
        r["objects"] == r["gets"] == 60 and r["in_listing_order"] and r["every_byte_equal"]
        for r in (one, four)
    )
    assert four["speedup"] > 1.5
