"""``sparkify-dw status``: is the warehouse fresh, and did the last load pass?

One screen (or ``--json``): the last successful load, the newest event loaded and its age,
rows per star table, the checks that fail now and the records the last load rejected.
With ``--max-age 26h`` the exit status is 1 when the newest event is older than that (or
there is none), so cron or an orchestrator can alert, and 1 too when the database fails
(unreachable, or busy beyond ``--wait``) as with every command; 2 is a usage or
configuration error (a bad flag, URL or schema). Errors are one line, secrets masked.

Read-only: DuckDB is opened with ``read_only=True`` (a missing file is an error, never
created), PostgreSQL sessions are READ ONLY, and every statement is a plain Core SELECT,
so the same queries run on Redshift.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import sqlalchemy as sa

from sparkify_dw import checks, cli, schema
from sparkify_dw.command_options import MAX_WAIT, ArgumentError, Parser
from sparkify_dw.config import Settings, resolve
from sparkify_dw.errors import ConfigError, LockBusy, SchemaError
from sparkify_dw.models import LOAD_ERRORS, LOADS, SONGPLAYS, STAR_TABLES, USERS

EXIT_STALE = 1
EXIT_DATABASE = 1  # unreachable, failed or busy beyond --wait: as the other commands
EXIT_ERROR = 2
_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


MAX_AGE = dt.timedelta(days=36500)  # a century: anything longer is a typo


def parse_age(text: str) -> dt.timedelta:
    """``90s``, ``45m``, ``26h``, ``2d`` (or ``1.5d``) as a timedelta; ValueError otherwise."""
    m = _AGE.fullmatch(text.strip())
    if m is None or float(m[1]) <= 0:
        raise ValueError(f"not a positive age with a unit s, m, h or d (e.g. 26h): {text!r}")
    seconds = float(m[1]) * _UNITS[m[2]]
    if seconds > MAX_AGE.total_seconds():
        raise ValueError(f"an age of at most {MAX_AGE.days}d: {text!r}")
    return dt.timedelta(seconds=seconds)


def parse_now(text: str) -> dt.datetime:
    """An ISO 8601 time as naive UTC (the warehouse's timestamps are naive UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time (e.g. 2026-12-01T06:00): {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def utcnow() -> dt.datetime:
    """Now as naive UTC, like the warehouse's timestamps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def format_age(age: dt.timedelta) -> str:
    """``1d 2h 3m`` / ``26h`` as ``1d 2h`` / ``5m 10s``: short enough for one line."""
    seconds = int(age.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m")]
    if not days and not hours:
        units.append((secs, "s"))
    parts = [f"{n}{unit}" for n, unit in units if n]
    return sign + (" ".join(parts) or "0s")


# --- read-only access, shared with the docs site -------------------------------------------


def readonly_engine(settings: Settings) -> sa.Engine:
    """An engine that can't change the warehouse, as its backend opens one for readers
    (:meth:`~sparkify_dw.backends.contract.Backend.read_engine`): a warehouse that can't
    exist yet is one line, never a new empty one."""
    from sparkify_dw import backends

    return backends.for_settings(settings).read_engine()


READ_WAIT = 600.0  # seconds a reader waits behind a running load, as commands' --wait


def row_counts(conn: sa.Connection, tables: Sequence[sa.Table]) -> dict[str, int]:
    """Rows per table, one COUNT(*) each."""
    return {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in tables
    }


def recent_loads(conn: sa.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest loads from the ledger, newest first, as dicts of the ``loads`` columns."""
    rows = conn.execute(sa.select(LOADS).order_by(LOADS.c.load_id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def newest_event(conn: sa.Connection) -> dt.datetime | None:
    """The latest event time loaded: a play's start or any user's latest event."""
    found = [
        conn.execute(sa.select(sa.func.max(col))).scalar()
        for col in (SONGPLAYS.c.start_time, USERS.c.last_event_at)
    ]
    times = [t for t in found if t is not None]
    return max(times) if times else None


def _rejected(conn: sa.Connection, load: dict[str, Any]) -> int:
    if load.get("rows_rejected") is not None:
        return int(load["rows_rejected"])
    # A failed load records what it rejected in load_errors, not its counters.
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(LOAD_ERRORS)
            .where(LOAD_ERRORS.c.load_id == load["load_id"])
        ).scalar_one()
    )


# --- the status ----------------------------------------------------------------------------


@dataclass
class Status:
    """What the command reports; ``stale`` only means something with ``max_age``."""

    warehouse: str
    now: dt.datetime
    last_success: dict[str, Any] | None
    last_load: dict[str, Any] | None
    last_load_rejected: int | None
    newest_event: dt.datetime | None
    rows: dict[str, int]
    checks_run: int
    failed_checks: list[checks.CheckResult] = field(default_factory=list)
    max_age: dt.timedelta | None = None

    @property
    def age(self) -> dt.timedelta | None:
        return None if self.newest_event is None else self.now - self.newest_event

    @property
    def stale(self) -> bool:
        if self.max_age is None:
            return False
        return self.age is None or self.age > self.max_age

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values: times ISO 8601 UTC, ages in seconds."""

        def when(moment: Any) -> str | None:
            return None if moment is None else f"{moment.isoformat()}Z"

        def load(row: dict[str, Any] | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return {k: (when(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()}

        age = self.age
        return {
            "warehouse": self.warehouse,
            "now": when(self.now),
            "last_successful_load": load(self.last_success),
            "last_load": load(self.last_load),
            "last_load_rejected": self.last_load_rejected,
            "newest_event": when(self.newest_event),
            "age_seconds": None if age is None else age.total_seconds(),
            "max_age_seconds": None if self.max_age is None else self.max_age.total_seconds(),
            "stale": self.stale,
            "rows": self.rows,
            "checks_run": self.checks_run,
            "failed_checks": [
                {"name": r.name, "count": r.count, "samples": r.describe_samples()}
                for r in self.failed_checks
            ],
        }

    def lines(self) -> list[str]:
        """The one-screen text."""

        def when(moment: dt.datetime | None) -> str:
            return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"

        s = self.last_success
        out = [
            f"warehouse     {self.warehouse}",
            "last success  "
            + (
                "none"
                if s is None
                else f"load #{s['load_id']} finished {when(s['finished_at'])} ({s['steps']})"
            ),
        ]
        if self.last_load is not None:
            ll = self.last_load
            text = (
                f"last load     #{ll['load_id']} {ll['status']}, "
                f"{self.last_load_rejected or 0:,} records rejected"
            )
            out.append(text + (f": {ll['message']}" if ll.get("message") else ""))
        age = self.age
        fresh = (
            ""
            if self.max_age is None
            else (f" (max {format_age(self.max_age)}: {'STALE' if self.stale else 'fresh'})")
        )
        out.append(
            "newest event  "
            + (
                "none loaded"
                if age is None
                else f"{when(self.newest_event)}, {format_age(age)} ago"
            )
            + fresh
        )
        out.append("rows          " + ", ".join(f"{n} {c:,}" for n, c in self.rows.items()))
        if not self.checks_run:
            out.append("checks        not run")
        elif self.failed_checks:
            out.append(
                f"checks        {len(self.failed_checks)} of {self.checks_run} checks "
                "failed: " + ", ".join(str(r) for r in self.failed_checks)
            )
        else:
            out.append(f"checks        all {self.checks_run} checks passed")
        return out


def gather(
    conn: sa.Connection,
    settings: Settings,
    now: dt.datetime,
    max_age: dt.timedelta | None = None,
    run_checks: bool = True,
) -> Status:
    """Read the status from a warehouse at the schema head (read-only statements only)."""
    schema.require_head(conn)
    loads = recent_loads(conn, limit=1)
    succeeded = conn.execute(
        sa.select(LOADS)
        .where(LOADS.c.status == "succeeded")
        .order_by(LOADS.c.load_id.desc())
        .limit(1)
    ).first()
    results = checks.run_checks(conn) if run_checks else []
    return Status(
        warehouse=settings.display_url,
        now=now,
        last_success=None if succeeded is None else dict(succeeded._mapping),
        last_load=loads[0] if loads else None,
        last_load_rejected=_rejected(conn, loads[0]) if loads else None,
        newest_event=newest_event(conn),
        rows=row_counts(conn, STAR_TABLES),
        checks_run=len(results),
        failed_checks=[r for r in results if not r.passed],
        max_age=max_age,
    )


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="sparkify-dw status",
        description="Is the warehouse fresh, and did the last load pass? Exit status: "
        "0 fine, 1 older than --max-age or the database failed, 2 a usage or configuration "
        "error.",
    )
    p.add_argument("--url", help="database URL (default: ./sparkify.duckdb)")
    p.add_argument("--config", help="dwh.cfg to read (default: ./dwh.cfg if present)")
    p.add_argument(
        "--max-age",
        metavar="AGE",
        help="exit 1 when the newest event is older, e.g. 26h (units s, m, h, d)",
    )
    p.add_argument(
        "--now", metavar="TIME", help="measure ages from this ISO 8601 time (default: now, UTC)"
    )
    p.add_argument(
        "--wait",
        default=str(READ_WAIT),
        metavar="SECONDS",
        help=f"how long to wait behind a running load (default {READ_WAIT:g}), as the "
        "other commands' --wait",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-checks", action="store_true", help="skip the data-quality checks")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (the exit status says it)"
    )
    return p


def _options(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Any, Any, float]:
    """The arguments, the max age, the moment ages are measured from and the wait; a bad one
    is :class:`ArgumentError` naming its flag."""
    args = _parser().parse_args(argv)

    def flagged(name: str, parse: Any, text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise ArgumentError(f"{name}: {exc}") from None

    max_age = None if args.max_age is None else flagged("--max-age", parse_age, args.max_age)
    now = utcnow() if args.now is None else flagged("--now", parse_now, args.now)
    wait = flagged("--wait", _wait_seconds, args.wait)
    return args, max_age, now, wait


def _wait_seconds(text: str) -> float:
    """``--wait``, as :func:`~sparkify_dw.command_options.wait_option` takes it."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT:
        raise ValueError(f"{text!r} is not a number of seconds from 0 to {MAX_WAIT:.0f}")
    return value


def main(
    argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Print the status; 0 fresh (or no --max-age), 1 stale or a database that failed, 2 a
    usage or configuration error."""
    try:
        args, max_age, now, wait = _options(argv)
    except ArgumentError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    if args.verbose and args.quiet:
        print("error: -v and -q contradict each other: choose one", file=err)
        return EXIT_ERROR
    cli.setup_logging(err, verbose=args.verbose, quiet=args.quiet)
    settings: Settings | None = None
    try:
        settings = resolve(url=args.url, config=args.config)
        cli.mask_logs(settings)
        from sparkify_dw import backends

        # As `check` and `history` read (Backend.reading): DuckDB's file is opened again
        # while a load holds it, for up to --wait seconds, instead of failing with the
        # driver's lock error; Redshift's LOCK is waited for at most --wait seconds.
        backend = backends.for_settings(settings, wait=wait)
        engine = readonly_engine(settings)
        try:
            with backend.reading(engine) as conn:
                status = gather(conn, settings, now, max_age, run_checks=not args.no_checks)
        finally:
            engine.dispose()
    except (ConfigError, SchemaError) as exc:
        cli.report_error(exc, settings, err, verbose=args.verbose)
        return EXIT_ERROR
    except (LockBusy, sa.exc.SQLAlchemyError, OSError) as exc:  # as every command: exit 1
        cli.report_error(exc, settings, err, verbose=args.verbose)
        return EXIT_DATABASE
    if args.quiet:  # the exit status says it (cron: `status -q --max-age 26h`)
        pass
    elif args.json:
        print(json.dumps(status.as_json(), indent=2), file=out)
    else:
        print("\n".join(status.lines()), file=out)
    return EXIT_STALE if status.stale else 0


if __name__ == "__main__":
    sys.exit(main())
