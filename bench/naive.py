"""A naive per-row loader, for reference: what a first attempt at staging looks like.

Each event line is parsed with ``json.loads`` in Python and written with one
``INSERT INTO staging_events … VALUES (…)`` per row through the driver (DuckDB's or
psycopg's DB-API), all in one transaction. Fields map to columns by the JSONPaths file,
an empty or blank string is NULL and numbers are converted in Python, as the real
loader's rules say. Only newline-delimited files are read (the generator writes those).

``bench/run.py`` runs it as a child process on the 1x set::

    python bench/naive.py --url URL --log-data DIR --log-jsonpath FILE --result OUT.json

The database must already be at the Alembic head (``bench/child.py prepare``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from child import json_files, status_kib

Converter = Callable[[Any], Any]


def _converters() -> tuple[list[str], list[Converter]]:
    import sqlalchemy as sa

    from sparkify_dw.models import STAGING_EVENTS

    names: list[str] = []
    convert: list[Converter] = []
    for column in STAGING_EVENTS.columns:
        names.append(column.name)
        if isinstance(column.type, sa.Integer):  # BigInteger and SmallInteger too
            convert.append(lambda v: int(v))
        elif isinstance(column.type, sa.Float | sa.Double | sa.Numeric):
            convert.append(lambda v: float(v))
        else:
            convert.append(lambda v: str(v))
    return names, convert


def _rows(
    files: list[str], paths: list[tuple[str | int, ...]], convert: list[Converter]
) -> Iterator[tuple[Any, ...]]:
    for name in files:
        with open(name, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                row: list[Any] = []
                for path, conv in zip(paths, convert, strict=True):
                    value: Any = record
                    for step in path:
                        try:
                            value = value[step]
                        except (KeyError, IndexError, TypeError):
                            value = None
                            break
                    if value is None or (isinstance(value, str) and not value.strip()):
                        row.append(None)
                    else:
                        row.append(conv(value))
                yield tuple(row)


def run(url: str, log_data: str, log_jsonpath: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from sparkify_dw.sources import read_jsonpaths

    names, convert = _converters()
    paths = read_jsonpaths(log_jsonpath, expected=len(names))
    files = json_files(log_data)
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    columns = ", ".join(names)
    con: Any
    if backend == "duckdb":
        import duckdb

        con = duckdb.connect(sa_url.database or ":memory:")
        cur = con
        marks = ", ".join("?" for _ in names)
        con.execute("BEGIN TRANSACTION")
    elif backend == "postgresql":
        import psycopg

        con = psycopg.connect(
            sa_url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        cur = con.cursor()
        marks = ", ".join("%s" for _ in names)
    else:
        raise ValueError(f"naive loader: unsupported backend {backend!r}")
    sql = f"INSERT INTO staging_events ({columns}) VALUES ({marks})"
    rss_start = status_kib("VmRSS")
    rows = 0
    started = time.perf_counter()
    for row in _rows(files, paths, convert):
        cur.execute(sql, row)
        rows += 1
    con.commit()
    seconds = time.perf_counter() - started
    con.close()
    return {
        "rows": rows,
        "files": len(files),
        "seconds": seconds,
        "events_per_s": rows / seconds if seconds > 0 else None,
        "rss_start_kib": rss_start,
        "rss_hwm_kib": status_kib("VmHWM"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/naive.py", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="SQLAlchemy URL of a database at head")
    p.add_argument("--log-data", required=True, help="directory of newline-delimited events")
    p.add_argument("--log-jsonpath", required=True, help="JSONPaths file (field → column)")
    p.add_argument("--result", required=True, help="write the JSON result here")
    args = p.parse_args(argv)
    try:
        out: dict[str, Any] = {"ok": True, **run(args.url, args.log_data, args.log_jsonpath)}
    except Exception as exc:
        traceback.print_exc()
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        out = {"ok": False, "error": f"{type(exc).__name__}: {lines[0] if lines else ''}"}
    Path(args.result).write_text(json.dumps(out), encoding="utf-8")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
