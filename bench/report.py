"""The benchmark's report: the targets of issue 13 and the tables printed at the end.

Loads are keyed ``(shape, scale, backend)``, raw scans ``(shape, scale)``; each is the
median run of its measurement (``measure.median_run``).
"""

from __future__ import annotations

from typing import Any

from measure import MB

Record = dict[str, Any]
Loads = dict[tuple[str, int, str], Record]
Raws = dict[tuple[str, int], Record]

TARGET_RAW_RATIO = 1.5  # DuckDB end to end / raw scan, at 50x and 100x, both shapes
TARGET_PG_EPS = 30_000  # PostgreSQL events/s end to end, at 50x and 100x, both shapes
TARGET_SCALES = (50, 100)
DEFAULT_RSS_LIMIT_MIB = 1024  # DuckDB loader peak RSS, every input


def ratios(load: Record | None, raw: Record | None) -> tuple[float | None, float | None]:
    """DuckDB load / raw scan: (end to end, event staging / events read_json)."""
    if not load or not raw or not raw.get("ok"):
        return None, None
    total = load["total_s"] / raw["total_s"] if load.get("total_s") else None
    ev_raw = raw["seconds"].get("ev")
    events = load["events_stage_s"] / ev_raw if load.get("events_stage_s") and ev_raw else None
    return total, events


def evaluate_targets(
    loads: Loads, raw: Raws, shapes: list[str], rss_limit_mib: float = DEFAULT_RSS_LIMIT_MIB
) -> list[Record]:
    out: list[Record] = []

    def target(name: str, wanted: str, status: str, figure: str, **extra: Any) -> None:
        out.append({"target": name, "wanted": wanted, "status": status, "figure": figure, **extra})

    for shape in shapes:
        for scale in TARGET_SCALES:
            name = f"DuckDB end to end vs raw scan, {shape} {scale}x"
            wanted = f"<= {TARGET_RAW_RATIO}x"
            duck, scan = loads.get((shape, scale, "duckdb")), raw.get((shape, scale))
            ratio, _ = ratios(duck, scan)
            if duck and scan and duck.get("total_s") is None:
                target(
                    name,
                    wanted,
                    "MISSED",
                    f"the load hit the {duck['time_limit_s']:.0f} s limit",
                    shape=shape,
                    scale=scale,
                )
            elif ratio is not None and duck and scan:
                target(
                    name,
                    wanted,
                    "MET" if ratio <= TARGET_RAW_RATIO else "MISSED",
                    f"{ratio:.2f}x ({duck['total_s']:.2f} s vs {scan['total_s']:.2f} s)",
                    value=ratio,
                    shape=shape,
                    scale=scale,
                )
            else:
                target(
                    name,
                    wanted,
                    "NOT MEASURED",
                    "needs the duckdb load and the raw scan",
                    shape=shape,
                    scale=scale,
                )
        for scale in TARGET_SCALES:
            name = f"PostgreSQL events/s end to end, {shape} {scale}x"
            wanted = f">= {TARGET_PG_EPS:,}"
            pg = loads.get((shape, scale, "postgresql")) or {}
            eps = pg.get("events_per_s_total")
            if eps:
                target(
                    name,
                    wanted,
                    "MET" if eps >= TARGET_PG_EPS else "MISSED",
                    f"{eps:,.0f} events/s ({pg['events']:,} events in {pg['total_s']:.2f} s)",
                    value=eps,
                    shape=shape,
                    scale=scale,
                )
            else:
                target(
                    name,
                    wanted,
                    "MISSED" if pg else "NOT MEASURED",
                    "stopped by the time limit" if pg else "needs the postgresql load",
                    shape=shape,
                    scale=scale,
                )
    duck_runs = [r for k, r in sorted(loads.items()) if k[2] == "duckdb"]
    name = "DuckDB loader peak RSS, every input"
    wanted = f"<= {rss_limit_mib:,.0f} MiB"
    if duck_runs:
        top = max(duck_runs, key=lambda r: r["rss_peak_kib"])
        mib = top["rss_peak_kib"] / 1024
        target(
            name,
            wanted,
            "MET" if mib <= rss_limit_mib else "MISSED",
            f"at most {mib:,.0f} MiB ({top['shape']} {top['scale']}x)",
            value=mib,
        )
    else:
        target(name, wanted, "NOT MEASURED", "needs a duckdb load")
    return out


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _x(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt) + "x"


def _loads_table(loads: Loads, shape: str, scales: list[int], backends: list[str]) -> list[str]:
    steps = ["stage", "transform", "check"]
    for (s, _, _), each in loads.items():
        if s == shape:
            steps += [k for k in each["seconds"] if k not in steps]
    head = (
        f"{'scale':>5}  {'backend':<10} {'events':>9} {'files':>7} {'JSON MB':>8} "
        + " ".join(f"{step[:6] + ' s':>8}" for step in steps)
        + f" {'total s':>8} {'ev/s e2e':>9} {'ev/s stg':>9} {'peak RSS':>9}"
    )
    lines = [head, "-" * len(head)]
    for scale in scales:
        for backend in backends:
            r = loads.get((shape, scale, backend))
            if r is None:
                lines.append(f"{scale:>4}x  {backend:<10} FAILED")
                continue
            stopped = r["total_s"] is None
            total = f">{r.get('time_limit_s', 0):.0f}" if stopped else f"{r['total_s']:.2f}"
            cells = [_f(r["seconds"].get(step), ".2f") for step in steps]
            if stopped and len(cells) > 1:
                cells[1] = "TIMEOUT"
            lines.append(
                f"{scale:>4}x  {backend:<10} {r['events']:>9,} {r.get('files', 0):>7,} "
                f"{r['json_bytes'] / MB:>8.1f} "
                + " ".join(f"{c:>8}" for c in cells)
                + f" {total:>8} {_f(r['events_per_s_total'], ',.0f'):>9} "
                f"{_f(r['events_per_s_stage'], ',.0f'):>9} {r['rss_peak_kib'] / 1024:>5.0f} MiB"
            )
    return lines


def _raw_table(loads: Loads, raw: Raws, shape: str, scales: list[int]) -> list[str]:
    head = (
        f"{'scale':>5}  {'raw s':>7} {'events s':>8} {'songs s':>8} {'duck e2e':>8} "
        f"{'e2e/raw':>8} {'duck ev stg':>11} {'ev stg/ev raw':>13}"
    )
    lines = [head, "-" * len(head)]
    for scale in scales:
        r = raw.get((shape, scale))
        if r is None or not r.get("ok"):
            lines.append(f"{scale:>4}x  FAILED")
            continue
        duck = loads.get((shape, scale, "duckdb"))
        total_ratio, events_ratio = ratios(duck, r)
        lines.append(
            f"{scale:>4}x  {r['total_s']:>7.2f} {r['seconds']['ev']:>8.2f} "
            f"{r['seconds']['songs']:>8.2f} {_f(duck['total_s'] if duck else None, '.2f'):>8} "
            f"{_x(total_ratio):>8} "
            f"{_f(duck.get('events_stage_s') if duck else None, '.2f'):>11} "
            f"{_x(events_ratio):>13}"
        )
    return lines


def render(
    loads: Loads,
    raw: Raws,
    naive: list[Record],
    targets: list[Record],
    shapes: list[str],
    scales: list[int],
    backends: list[str],
    failures: list[str],
) -> str:
    lines: list[str] = []
    for shape in shapes:
        lines += [
            "",
            f"Loader, {shape} shape: sparkify_dw.load.run(), every step; seconds are "
            "wall time (LoadResult.seconds), total is the whole run() call",
        ]
        lines += _loads_table(loads, shape, scales, backends)
        if "duckdb" in backends or raw:
            lines += [
                "",
                f"Raw scan, {shape} shape: DuckDB CREATE TABLE AS SELECT * FROM "
                "read_json([...]), events then songs; the DuckDB load against it",
            ]
            lines += _raw_table(loads, raw, shape, scales)
    if naive:
        lines += [
            "",
            "Naive per-row loader (json.loads + one INSERT per event, one "
            "transaction), staging_events only",
        ]
        head = (
            f"{'data':<13} {'backend':<10} {'rows':>8} {'seconds':>8} {'ev/s':>8} "
            f"{'loader stage ev/s':>17} {'loader/naive':>12}"
        )
        lines += [head, "-" * len(head)]
        for r in naive:
            data = f"{r['shape']} {r['scale']}x"
            if not r.get("ok"):
                lines.append(f"{data:<13} {r['backend']:<10} FAILED")
                continue
            ours = loads.get((r["shape"], r["scale"], r["backend"]))
            ours_eps = ours["events_per_s_stage"] if ours else None
            speedup = ours_eps / r["events_per_s"] if ours_eps and r["events_per_s"] else None
            lines.append(
                f"{data:<13} {r['backend']:<10} {r['rows']:>8,} {r['seconds']:>8.2f} "
                f"{r['events_per_s']:>8,.0f} {_f(ours_eps, ',.0f'):>17} {_x(speedup):>12}"
            )
    lines += ["", "Targets (issue 13)"]
    for t in targets:
        lines.append(f"  {t['status']:<12} {t['target']} ({t['wanted']}): {t['figure']}")
    if failures:
        lines += ["", "Failures"] + [f"  {f}" for f in failures]
    return "\n".join(lines)
