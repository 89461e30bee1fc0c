"""The loader: stage raw JSON, build the star schema, check it.

``python -m sparkify_dw.load`` from a shell, :func:`run` from Python. Every statement
is a SQLAlchemy Core construct compiled for the target database; ``--dry-run`` prints
them instead of running them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import sqlalchemy as sa

from sparkify_dw import backends, schema, transform
from sparkify_dw.config import ConfigError, Settings, resolve
from sparkify_dw.models import STAGING_EVENTS, STAGING_SONGS, STAR_TABLES
from sparkify_dw.sources import JsonPath, SourceError, read_jsonpaths
from sparkify_dw.staging import StageRequest

log = logging.getLogger("sparkify_dw.load")

STEPS = ("stage", "transform", "check")


class LoadError(RuntimeError):
    """A load that cannot go on, worded as one line for the user."""


@dataclass
class LoadResult:
    """What a load did: rows per table and seconds per step."""

    staged: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for table, rows in self.staged.items():
            lines.append(f"  staged    {table:<15} {rows:>10,} rows")
        for table, rows in self.inserted.items():
            extra = f", {self.updated[table]:,} updated" if table in self.updated else ""
            lines.append(f"  inserted  {table:<15} {rows:>10,} rows{extra}")
        for table, rows in self.counts.items():
            lines.append(f"  total     {table:<15} {rows:>10,} rows")
        timing = ", ".join(f"{step} {secs:.2f}s" for step, secs in self.seconds.items())
        return "\n".join([*lines, f"  time      {timing}"])


def requests(settings: Settings) -> list[StageRequest]:
    """What the stage step loads: events mapped by the JSONPaths file, songs by key name."""
    events = STAGING_EVENTS
    if settings.backend == "redshift":
        paths: list[JsonPath] = [()] * len(events.columns)  # COPY reads the file from S3
    else:
        paths = read_jsonpaths(settings.log_jsonpath, expected=len(events.columns))
    return [
        StageRequest(events, settings.log_data, list(paths), settings.log_jsonpath),
        StageRequest(STAGING_SONGS, settings.song_data, None),
    ]


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _compile(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})).strip()


def _stage(conn: sa.Connection, backend: backends.Backend, settings: Settings,
           result: LoadResult, progress: backends.Progress) -> None:
    reqs = requests(settings)
    for req in reqs:
        conn.execute(sa.delete(req.table))
    for req in reqs:
        backend.stage(conn, req, progress)
        result.staged[req.table.name] = _count(conn, req.table)


def _transform(conn: sa.Connection, result: LoadResult) -> None:
    # Drivers disagree on rowcount for INSERT … SELECT (DuckDB and SQLAlchemy's psycopg
    # dialect report -1), so inserts are counted; counts inside the transaction are exact.
    for step in transform.steps():
        table = next(t for t in STAR_TABLES if t.name == step.table)
        if step.action == "update":
            rows = conn.execute(step.statement).rowcount
            result.updated[step.table] = max(rows, 0)
        else:
            before = _count(conn, table)
            conn.execute(step.statement)
            result.inserted[step.table] = _count(conn, table) - before


def _check(conn: sa.Connection, result: LoadResult) -> None:
    for table in (STAGING_EVENTS, STAGING_SONGS, *STAR_TABLES):
        result.counts[table.name] = _count(conn, table)
    if result.counts.get("staging_events") and not result.counts.get("songplays"):
        raise LoadError("check: events were staged but songplays is empty")


def dry_run(settings: Settings, steps: Sequence[str] = STEPS) -> list[str]:
    """Every statement the load would run, compiled for the target dialect; runs nothing."""
    # Named parameters: printed text carries no driver-specific %-escaping.
    dialect = settings.create_engine(paramstyle="named").dialect
    backend = backends.for_settings(settings)
    out: list[str] = []
    if "stage" in steps:
        reqs = requests(settings)
        out += [_compile(sa.delete(r.table), dialect) for r in reqs]
        for req in reqs:
            out += list(backend.stage_statements(req, dialect))
    if "transform" in steps:
        out += [_compile(s.statement, dialect) for s in transform.steps()]
    if "check" in steps:
        out += [_compile(sa.select(sa.func.count()).select_from(t), dialect)
                for t in STAR_TABLES]
    return [mask(s, settings) for s in out]


def mask(text: str, settings: Settings) -> str:
    for secret in settings.secrets():
        text = text.replace(secret, "***")
    return text


def _no_progress(what: str, done: int, total: int) -> None:
    log.debug("%s: %d/%d files", what, done, total)


def run(
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    *,
    steps: Sequence[str] = STEPS,
    progress: backends.Progress | None = None,
) -> LoadResult:
    """Run the load's ``steps`` in order against ``engine`` (default: from configuration).

    Staging and the transform each run in one transaction: a failure leaves the
    star tables as they were.
    """
    settings = settings or resolve()
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise LoadError(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")
    if engine is None:
        engine = settings.create_engine()
    elif engine.url.get_backend_name() != settings.backend:
        settings = _with_url(settings, engine.url)
    backend = backends.for_settings(settings)
    progress = progress or _no_progress
    result = LoadResult()
    with engine.connect() as conn:
        schema.require_head(conn)
        conn.commit()
        with backend.lock(conn):
            for step in STEPS:
                if step not in steps:
                    continue
                started = time.perf_counter()
                with conn.begin():
                    if step == "stage":
                        _stage(conn, backend, settings, result, progress)
                    elif step == "transform":
                        _transform(conn, result)
                    else:
                        _check(conn, result)
                result.seconds[step] = time.perf_counter() - started
    return result


def _with_url(settings: Settings, url: sa.URL) -> Settings:
    from dataclasses import replace

    return replace(settings, url=url)


class _TerminalProgress:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        self.stream.write(f"\r  {what:<10} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{total} files")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sparkify_dw.load",
        description="Load Sparkify's raw JSON into the warehouse: stage, transform, check.",
        epilog="Settings come from flags, then SPARKIFY_DW_* environment variables, then "
               "dwh.cfg, then the embedded default (./sparkify.duckdb and the bundled sample).",
    )
    p.add_argument("--url", help="database URL (default: ./sparkify.duckdb)")
    p.add_argument("--config", help="dwh.cfg to read (default: ./dwh.cfg if present)")
    p.add_argument("--log-data", help="event logs: file, directory, glob or s3:// URI")
    p.add_argument("--song-data", help="song files: file, directory, glob or s3:// URI")
    p.add_argument("--log-jsonpath", help="JSONPaths file mapping event fields to columns")
    p.add_argument("--steps", default=",".join(STEPS),
                   help="comma-separated subset of stage,transform,check (run in that order)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every statement compiled for the target database; run nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=err)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    settings: Settings | None = None
    say: Callable[[str], None] = (lambda _: None) if args.quiet else (
        lambda text: print(text, file=out))
    try:
        settings = resolve(url=args.url, config=args.config, log_data=args.log_data,
                           song_data=args.song_data, log_jsonpath=args.log_jsonpath)
        if args.dry_run:
            bad = [s for s in steps if s not in STEPS]
            if bad:
                raise LoadError(f"unknown step {bad[0]!r}: choose from {', '.join(STEPS)}")
            for statement in dry_run(settings, steps):
                print(statement.rstrip(";") + ";\n", file=out)
            return 0
        say(f"loading into {settings.display_url}")
        result = run(settings=settings, steps=steps, progress=_TerminalProgress(err))
        say(result.summary())
        return 0
    except (ConfigError, SourceError, LoadError, schema.SchemaError, sa.exc.SQLAlchemyError,
            OSError, ValueError) as exc:
        text = _one_line(exc)
        if settings is not None:
            text = mask(text, settings)
        if args.verbose:
            trace = traceback.format_exc()
            print(mask(trace, settings) if settings is not None else trace, file=err)
        print(f"error: {text}", file=err)
        return 1


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
