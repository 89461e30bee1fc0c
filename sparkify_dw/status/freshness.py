"""Is the warehouse fresh, and did the last load pass? What ``sparkify-dw status``
reports (:mod:`sparkify_dw.cli.status` is the command).

One screen (or ``--json``): the last successful load, the newest event loaded and its age,
rows per star table, the checks that fail now and the records the last load rejected.
With a maximum age, :attr:`Status.stale` says whether the newest event is older than that
(or there is none), so cron or an orchestrator can alert.

Read-only: DuckDB is opened with ``read_only=True`` (a missing file is an error, never
created), PostgreSQL sessions are READ ONLY, and every statement is a plain Core SELECT,
so the same queries run on Redshift.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sparkify_dw import checks, schema
from sparkify_dw.config import Settings
from sparkify_dw.db import row_counts
from sparkify_dw.errors import ConfigError
from sparkify_dw.models import LOAD_ERRORS, LOADS, SONGPLAYS, STAR_TABLES, USERS
from sparkify_dw.output import cell

EXIT_STALE = 1
_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


MAX_AGE = dt.timedelta(days=36500)  # a century: anything longer is a typo


def parse_age(text: str) -> dt.timedelta:
    """``90s``, ``45m``, ``26h``, ``2d`` (or ``1.5d``) as a timedelta; ValueError otherwise."""
    m = _AGE.fullmatch(text.strip())
    if m is None or float(m[1]) <= 0:
        raise ConfigError(f"not a positive age with a unit s, m, h or d (e.g. 26h): {text!r}")
    seconds = float(m[1]) * _UNITS[m[2]]
    if seconds > MAX_AGE.total_seconds():
        raise ConfigError(f"an age of at most {MAX_AGE.days}d: {text!r}")
    return dt.timedelta(seconds=seconds)


def parse_now(text: str) -> dt.datetime:
    """An ISO 8601 time as naive UTC (the warehouse's timestamps are naive UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 time (e.g. 2026-12-01T06:00): {text!r}") from None
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

    def fields(self) -> list[tuple[str, str]]:
        """The one screen as (label, value) pairs, for the renderer
        (:func:`sparkify_dw.output.print_fields`); numbers as every table shows them."""

        def when(moment: dt.datetime | None) -> str:
            return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"

        s = self.last_success
        last = "none"
        if s is not None:
            last = f"load #{s['load_id']} finished {when(s['finished_at'])} ({s['steps']})"
        out = [("warehouse", self.warehouse), ("last success", last)]
        if self.last_load is not None:
            ll = self.last_load
            text = f"#{ll['load_id']} {ll['status']}, {cell(self.last_load_rejected or 0)}"
            text += " records rejected" + (f": {ll['message']}" if ll.get("message") else "")
            out.append(("last load", text))
        age = self.age
        newest = "none loaded"
        if age is not None:
            newest = f"{when(self.newest_event)}, {format_age(age)} ago"
        if self.max_age is not None:
            newest += f" (max {format_age(self.max_age)}: {'STALE' if self.stale else 'fresh'})"
        out.append(("newest event", newest))
        out.append(("rows", ", ".join(f"{n} {cell(c)}" for n, c in self.rows.items())))
        if not self.checks_run:
            checks_text = "not run"
        elif self.failed_checks:
            checks_text = (
                f"{len(self.failed_checks)} of {self.checks_run} checks failed: "
                + ", ".join(str(r) for r in self.failed_checks)
            )
        else:
            checks_text = f"all {self.checks_run} checks passed"
        out.append(("checks", checks_text))
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
