"""The benchmark's child processes: one measurement per process, result as JSON.

``bench/run.py`` starts each measurement as ``python bench/child.py MODE ... --result FILE``
so that every load gets a fresh interpreter and its own peak RSS (the parent reads it
with ``os.wait4``). Modes:

* ``prepare --url URL``: bring a fresh database to the Alembic head (not timed).
* ``load --url URL --log-data DIR --song-data DIR --log-jsonpath FILE``: the full load
  through the public loader, :func:`sparkify_dw.load.run` (stage, transform, check); it
  also reports ``events_stage_s``, event staging alone (from the first statement emptying
  a staging table to the loader's "staged staging_events" log line).
* ``rawscan --db FILE --log-data DIR --song-data DIR``: DuckDB reading the same files
  straight into tables with ``read_json`` — the floor the DuckDB load is compared to.

The child writes ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}`` to ``--result``
and exits 0 or 1; a load also writes the stage step's figures there as soon as staging is
done (see :class:`StageMarks`), kept if the parent stops it. ``load --profile FILE`` runs
the load under cProfile and writes the top functions (cumulative and own time) to FILE;
its timings are then not comparable.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from sparkify_dw.sources import scan_files

Result = dict[str, Any]


def status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in KiB; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def json_files(root: str) -> list[str]:
    """Every visible ``*.json`` file under ``root``, sorted, as the loader lists them."""
    return [os.path.abspath(path) for path, _, _ in scan_files(root)]


def prepare(args: argparse.Namespace) -> Result:
    from sparkify_dw import schema

    started = time.perf_counter()
    schema.upgrade(args.url)
    return {"seconds": time.perf_counter() - started}


STAGE_SQL = re.compile(r'\s*DELETE\s+FROM\s+"?staging_', re.IGNORECASE)
STAR_SQL = re.compile(
    r'\s*(INSERT\s+INTO|UPDATE)\s+"?(artists|songs|users|time|songplays)\b', re.IGNORECASE
)


class StageMarks:
    """Best effort: when the load's first statement writing a star table is sent (the
    transform has begun), write the stage step's figures to the result file, so that a load
    stopped by the benchmark's time limit still reports how long staging took.

    It watches the SQL the engine sends (staging starts by emptying the staging tables), not
    the loader's internals; if that changes, a stopped load simply reports nothing.
    """

    def __init__(self, result: Path, rss_start: int | None) -> None:
        self.result = result
        self.rss_start = rss_start
        self.stage_started: float | None = None
        self.done = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.done:
            return
        now = time.perf_counter()
        try:
            if self.stage_started is None and STAGE_SQL.match(statement):
                self.stage_started = now
            elif self.stage_started is not None and STAR_SQL.match(statement):
                self.done = True
                self.result.write_text(
                    json.dumps(
                        {
                            "ok": False,
                            "partial": True,
                            "error": "stopped after the stage step",
                            "seconds": {"stage": now - self.stage_started},
                            "staged": {},
                            "rss_start_kib": self.rss_start,
                        }
                    ),
                    encoding="utf-8",
                )
        except Exception:  # never let the benchmark's bookkeeping break the load
            self.done = True


class StagedMarks(logging.Handler):
    """When the loader logs ``staged <table>: …`` (each staging table done), note the time,
    so event staging alone can be set against a bare ``read_json`` of the event files.

    Like :class:`StageMarks` it watches what the loader says, not its internals: if the
    message changes, the figure is simply missing (None)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "staged %s: %d read, %d rejected" and record.args:
            self.at.setdefault(str(record.args[0]), time.perf_counter())


def load(args: argparse.Namespace) -> Result:
    """The full load: one call of the public loader, :func:`sparkify_dw.load.run`."""
    from sqlalchemy import event as sa_event

    from sparkify_dw import config
    from sparkify_dw import load as loader

    # Flags only: no environment variables, no dwh.cfg (the working directory is ours).
    settings = config.resolve(
        url=args.url,
        log_data=args.log_data,
        song_data=args.song_data,
        log_jsonpath=args.log_jsonpath,
        environ={},
        cwd=Path.cwd(),
    )
    engine = settings.create_engine()
    rss_start = status_kib("VmRSS")
    marks = StageMarks(Path(args.result), rss_start)
    sa_event.listen(engine, "before_cursor_execute", marks)
    staged = StagedMarks()
    loader_log = logging.getLogger("sparkify_dw.load")
    loader_log.addHandler(staged)
    loader_log.setLevel(logging.INFO)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    result = loader.run(engine, settings)
    total = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        _write_profile(profiler, args.profile, total)
    closing = time.perf_counter()
    engine.dispose()  # DuckDB checkpoints its WAL here; reported, not counted in total_s
    close_s = time.perf_counter() - closing
    events_done = staged.at.get("staging_events")
    events_stage_s = (
        events_done - marks.stage_started
        if events_done is not None and marks.stage_started is not None
        else None
    )
    return {
        "seconds": _floats(result, "seconds"),
        "events_stage_s": events_stage_s,
        "total_s": total,
        "close_s": close_s,
        "staged": _table(result, "staged"),
        "inserted": _table(result, "inserted"),
        "updated": _table(result, "updated"),
        "counts": _table(result, "counts"),
        "rss_start_kib": rss_start,
        "rss_hwm_kib": status_kib("VmHWM"),
    }


def _table(result: object, name: str) -> dict[str, Any]:
    """A dict attribute of a LoadResult, tolerant of fields being renamed or dropped."""
    value = getattr(result, name, None)
    return dict(value) if isinstance(value, dict) else {}


def _floats(result: object, name: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in _table(result, name).items()}


def _write_profile(profiler: Any, path: str, total: float) -> None:
    import io
    import pstats

    out = io.StringIO()
    out.write(f"# load under cProfile: {total:.2f} s wall (profiling overhead included)\n")
    for order in ("cumulative", "tottime"):
        out.write(f"\n## top 30 by {order}\n")
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
    Path(path).write_text(out.getvalue(), encoding="utf-8")


def rawscan(args: argparse.Namespace) -> Result:
    import duckdb

    logs, songs = json_files(args.log_data), json_files(args.song_data)
    rss_start = status_kib("VmRSS")
    con = duckdb.connect(args.db)
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    started = time.perf_counter()
    for table, files in (("ev", logs), ("songs", songs)):
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_json(?)", [files])
        seconds[table] = time.perf_counter() - t0
    total = time.perf_counter() - started
    for table in ("ev", "songs"):
        fetched = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        rows[table] = int(fetched[0]) if fetched else 0
    closing = time.perf_counter()
    con.close()
    return {
        "seconds": seconds,
        "total_s": total,
        "close_s": time.perf_counter() - closing,
        "rows": rows,
        "files": {"ev": len(logs), "songs": len(songs)},
        "rss_start_kib": rss_start,
        "rss_hwm_kib": status_kib("VmHWM"),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python bench/child.py", description="One benchmark measurement (see bench/run.py)."
    )
    sub = p.add_subparsers(dest="mode", required=True)
    pre = sub.add_parser("prepare", help="alembic upgrade head on a fresh database")
    pre.add_argument("--url", required=True)
    ld = sub.add_parser("load", help="the full load through sparkify_dw.load.run")
    ld.add_argument("--url", required=True)
    ld.add_argument("--log-data", required=True)
    ld.add_argument("--song-data", required=True)
    ld.add_argument("--log-jsonpath", required=True)
    ld.add_argument("--profile", help="run under cProfile; write the top functions here")
    raw = sub.add_parser("rawscan", help="DuckDB read_json straight into tables")
    raw.add_argument("--db", required=True, help="a fresh DuckDB file")
    raw.add_argument("--log-data", required=True)
    raw.add_argument("--song-data", required=True)
    for sp in (pre, ld, raw):
        sp.add_argument("--result", required=True, help="write the JSON result here")
    return p


MODES: dict[str, Callable[[argparse.Namespace], Result]] = {
    "prepare": prepare,
    "load": load,
    "rawscan": rawscan,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out: Result = {"ok": True, **MODES[args.mode](args)}
    except Exception as exc:  # reported to the parent, which carries on with the rest
        traceback.print_exc()
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        out = {"ok": False, "error": f"{type(exc).__name__}: {lines[0] if lines else ''}"}
        with suppress(OSError, ValueError):  # keep what a load measured before it failed
            out = {**json.loads(Path(args.result).read_text(encoding="utf-8")), **out}
    Path(args.result).write_text(json.dumps(out), encoding="utf-8")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
