"""Faults and concurrency against real load processes (issue 4, items 3 and 4).

* A load killed with SIGKILL at any moment, staging or transforming, leaves the star
  tables, staging and the ledger exactly as they were, and the next load gives the same
  warehouse as an uninterrupted run of the same batches.
* One load at a time: two loads started together run one after the other, and with a short
  ``--wait`` a load that finds the warehouse busy is refused and changes nothing.

The data is a small synthetic set split in two batches (first and second half of the days
and of the song files), so that a load's effect is visible in every table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import pytest
import sqlalchemy as sa

from sparkify_dw import schema, synth
from sparkify_dw.backends.postgresql.backend import LOCK_KEY
from tests.support.helpers import STAR_NAMES, run_load, star_snapshot, table_rows

# SIGKILLs real loads at many points: about a minute, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.serial]

Rows = list[tuple[Any, ...]]
Snapshot = dict[str, Rows]

# Small enough that a load takes about a second; the PostgreSQL songplays step grows with
# plays x songs, so the song count is kept modest.
EVENTS, SONGS, DAYS, SEED = 12_000, 400, 30, 4
LEDGER_AND_STAGING = ("staging_events", "staging_songs", "loads", "load_files", "load_errors")
DEADLINE = 120.0  # seconds any one process or wait may take before the test gives up
LOG_PREFIX = "INFO sparkify_dw.load: "


# --- data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    name: str
    log_data: Path
    song_data: Path


def _move(files: list[Path], src_root: Path, dest_root: Path) -> Path:
    for path in files:
        target = dest_root / path.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    return dest_root


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[Batch, Batch]:
    """Days 1-15 with the first half of the songs, then days 16-30 with the second half."""
    root = tmp_path_factory.mktemp("fault-data")
    data = root / "synth"
    synth.generate(data, events=EVENTS, songs=SONGS, days=DAYS, seed=SEED)
    days = sorted((data / "log_data").rglob("*.json"))
    songs = sorted((data / "song_data").rglob("*.json"))
    assert len(days) == DAYS and len(songs) == SONGS
    out = []
    for i, name in enumerate(("first", "second")):
        day_part = days[: DAYS // 2] if i == 0 else days[DAYS // 2 :]
        song_part = songs[: SONGS // 2] if i == 0 else songs[SONGS // 2 :]
        out.append(
            Batch(
                name,
                _move(day_part, data / "log_data", root / name / "log_data"),
                _move(song_part, data / "song_data", root / name / "song_data"),
            )
        )
    return out[0], out[1]


# --- warehouses ---------------------------------------------------------------------------


def _engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


class Warehouses:
    """Warehouses on one backend: empty ones, copies of one holding the first batch, and
    the uninterrupted result of loading batches in a given order (computed once)."""

    def __init__(
        self, backend: str, root: Path, batches: tuple[Batch, Batch], admin_url: sa.URL | None
    ) -> None:
        self.backend = backend
        self.root = root
        self.batches = batches
        self.admin_url = admin_url
        self.made: list[sa.URL] = []
        self.template: sa.URL | None = None  # holds the first batch; copied, never loaded
        self._references: dict[tuple[str, ...], Snapshot] = {}
        self.second_load_seconds = 1.0  # an uninterrupted load of the second batch

    # Creating and dropping.

    def _new(self, template: sa.URL | None = None) -> sa.URL:
        name = f"sdw_faults_{uuid.uuid4().hex[:12]}"
        if self.admin_url is None:
            url = sa.URL.create("duckdb", database=str(self.root / f"{name}.duckdb"))
            if template is not None:
                shutil.copyfile(str(template.database), str(url.database))
        else:
            url = self.admin_url.set(database=name)
            admin = sa.create_engine(
                self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
            )
            with admin.connect() as conn:
                suffix = f' TEMPLATE "{template.database}"' if template is not None else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{suffix}')
            admin.dispose()
        self.made.append(url)
        return url

    def drop(self, url: sa.URL) -> None:
        if self.admin_url is None:
            for path in (Path(str(url.database)), Path(f"{url.database}.wal")):
                path.unlink(missing_ok=True)
            return
        admin = sa.create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()

    def drop_made(self, keep: tuple[sa.URL | None, ...] = ()) -> None:
        for url in [u for u in self.made if u not in keep]:
            self.drop(url)
            self.made.remove(url)

    # What the tests ask for.

    def empty(self) -> sa.URL:
        url = self._new()
        schema.upgrade(url)
        return url

    def with_first_batch(self) -> sa.URL:
        """A new warehouse holding the first batch, loaded without interruption."""
        if self.template is None:
            url = self.empty()
            first = self.batches[0]
            run_load(url, log_data=first.log_data, song_data=first.song_data)
            self.template = url
        return self._new(template=self.template)

    def reference(self, *order: Batch) -> Snapshot:
        """star_snapshot of a fresh warehouse after loading ``order`` uninterrupted."""
        key = tuple(b.name for b in order)
        if key not in self._references:
            first = self.batches[0]
            if order[:1] == (first,):
                url, rest = self.with_first_batch(), order[1:]
            else:
                url, rest = self.empty(), order
            for batch in rest:
                result = run_load(url, log_data=batch.log_data, song_data=batch.song_data)
                if key == ("first", "second"):
                    self.second_load_seconds = sum(result.seconds.values())
            self._references[key] = star_snapshot(url)
            self.drop(url)
            self.made.remove(url)
        return self._references[key]

    def settle(self, url: sa.URL) -> None:
        """Wait until no other session uses the warehouse (a killed client's server backend
        lives on until it notices the client is gone, and holds the load lock till then)."""
        if self.admin_url is None:
            return  # DuckDB: the file lock died with the process; opening replays the WAL
        engine = _engine(url)
        deadline = time.monotonic() + DEADLINE
        try:
            while True:
                with engine.connect() as conn:
                    others = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
                if not others:
                    return
                assert time.monotonic() < deadline, f"{others} session(s) still on {url}"
                time.sleep(0.05)
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def hold_lock(self, url: sa.URL) -> Iterator[str]:
        """Hold the warehouse as a running load would; yields how the refusal names us."""
        if self.admin_url is None:
            # DuckDB: one process may open the file for writing; this one now has it.
            conn = duckdb.connect(str(url.database))
            try:
                yield f"process {os.getpid()}"
            finally:
                conn.close()
            return
        with hold_pg_lock(url) as pid:
            yield f"backend pid {pid}"


@contextlib.contextmanager
def hold_pg_lock(url: sa.URL) -> Iterator[int]:
    """Take the loads' advisory lock on a PostgreSQL database; yields our backend's pid."""
    engine = _engine(url)
    try:
        with engine.connect() as pg:
            pg.execute(sa.select(sa.func.pg_advisory_lock(LOCK_KEY)))
            pid = int(pg.execute(sa.select(sa.func.pg_backend_pid())).scalar_one())
            pg.commit()  # a session lock outlives the transaction
            yield pid
            pg.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
            pg.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def warehouses(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    batches: tuple[Batch, Batch],
) -> Iterator[Warehouses]:
    admin = request.getfixturevalue("pg_admin_url") if request.param == "postgresql" else None
    made = Warehouses(request.param, tmp_path_factory.mktemp(f"wh-{request.param}"), batches, admin)
    try:
        yield made
    finally:
        made.drop_made()


@pytest.fixture
def wh(warehouses: Warehouses) -> Iterator[Warehouses]:
    """The module's warehouses; the ones a test makes are dropped after it."""
    yield warehouses
    warehouses.drop_made(keep=(warehouses.template,))


def warehouse_state(url: sa.URL) -> Snapshot:
    """Every row of the star, staging and ledger tables (all columns), and the table list."""
    state = {name: table_rows(url, name) for name in (*STAR_NAMES, *LEDGER_AND_STAGING)}
    engine = _engine(url)
    with engine.connect() as conn:
        state["<tables>"] = [(name,) for name in sorted(sa.inspect(conn).get_table_names())]
    engine.dispose()
    return state


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


@dataclass(frozen=True)
class LedgerRow:
    load_id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    sources: str


def ledger(url: sa.URL) -> list[LedgerRow]:
    """The ``loads`` table in load order."""
    engine = _engine(url)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT load_id, started_at, finished_at, status, sources FROM loads "
                    "ORDER BY load_id"
                )
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [LedgerRow(**row) for row in rows]


# --- load processes -----------------------------------------------------------------------


class Lines:
    """Lines read from a pipe by a thread; :meth:`wait_for` blocks until one appears."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for raw in stream:
                line = raw.rstrip("\n")
                self.seen.append(line)
                self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, marker: str, timeout: float = DEADLINE) -> None:
        """Block until the loader logs ``marker`` (the start of its INFO message)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {timeout:g}s: {self.text()}") from None
            if line is None:
                raise AssertionError(f"the load ended before {marker!r}: {self.text()}")
            if line.startswith(LOG_PREFIX + marker):
                return

    def close(self) -> None:
        self._thread.join(DEADLINE)

    def text(self) -> str:
        return "\n".join(self.seen)

    def messages(self) -> list[str]:
        return [line[len(LOG_PREFIX) :] for line in self.seen if line.startswith(LOG_PREFIX)]


def load_args(url: sa.URL, batch: Batch, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sparkify_dw.load",
        "--url",
        url.render_as_string(hide_password=False),
        "--log-data",
        str(batch.log_data),
        "--song-data",
        str(batch.song_data),
        *extra,
    ]


def start_load(
    url: sa.URL, batch: Batch, *extra: str, stderr: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        load_args(url, batch, *extra),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        bufsize=1,
    )


# --- 1. a killed load changes nothing -----------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    marker: str  # kill when the loader logs this…
    after: float = 0.0  # …or this share of an uninterrupted load's time after it
    may_commit: bool = False  # the kill may land after the commit: all or nothing then


KILL_POINTS = [
    pytest.param(KillPoint("stage: start"), id="stage-start"),
    pytest.param(KillPoint("staged staging_events"), id="staged-events"),
    pytest.param(KillPoint("transform: insert songs"), id="insert-songs"),
    pytest.param(KillPoint("transform: insert songplays"), id="insert-songplays"),
    pytest.param(KillPoint("commit", may_commit=True), id="commit"),
    pytest.param(KillPoint("stage: start", after=0.3, may_commit=True), id="at-30pct"),
    pytest.param(KillPoint("stage: start", after=0.8, may_commit=True), id="at-80pct"),
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_load_leaves_warehouse_unchanged(
    wh: Warehouses, batches: tuple[Batch, Batch], point: KillPoint
) -> None:
    first, second = batches
    expected = wh.reference(first, second)
    url = wh.with_first_batch()
    before = warehouse_state(url)
    assert before["songplays"] and before["staging_events"]
    assert [r.status for r in ledger(url)] == ["succeeded"]

    proc = start_load(url, second, "-v")
    assert proc.stderr is not None
    log = Lines(proc.stderr)
    try:
        log.wait_for(point.marker)
        if point.after:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=point.after * wh.second_load_seconds)
        proc.send_signal(signal.SIGKILL)  # a no-op if it has already exited
        returncode = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    landed = (log.messages() or ["(nothing logged)"])[-1]
    wh.settle(url)
    after = warehouse_state(url)
    committed = after["loads"] != before["loads"]
    print(
        f"{wh.backend} {point}: rc={returncode}, last logged {landed!r}, "
        f"{'committed' if committed else 'rolled back'}"
    )

    if point.may_commit and committed:
        # The kill came after the commit: then all of the load is there, or nothing.
        assert returncode in (0, -signal.SIGKILL)
        assert after["loads"][:-1] == before["loads"]
        assert after["loads"][-1][0] == 2 and "succeeded" in after["loads"][-1]
        assert star_snapshot(url) == expected
    else:
        assert returncode == -signal.SIGKILL, log.text()
        changed = changed_tables(before, after)
        assert not changed, f"a load killed after {landed!r} changed {changed}"

    result = run_load(url, log_data=second.log_data, song_data=second.song_data)
    assert result.load_id == len(after["loads"]) + 1
    loads = ledger(url)
    assert [r.load_id for r in loads] == list(range(1, len(loads) + 1))
    assert {r.status for r in loads} == {"succeeded"}
    assert star_snapshot(url) == expected


# --- 2. one load at a time ----------------------------------------------------------------


def test_two_loads_at_once_run_one_after_the_other(
    wh: Warehouses, batches: tuple[Batch, Batch]
) -> None:
    url = wh.empty()
    # Both loads log into one pipe: the kernel keeps their lines in the order written.
    read_fd, write_fd = os.pipe()
    try:
        procs = [start_load(url, batch, "-v", stderr=write_fd) for batch in batches]
    finally:
        os.close(write_fd)
    log = Lines(os.fdopen(read_fd, encoding="utf-8"))
    try:
        codes = [p.wait(DEADLINE) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        log.close()
    assert codes == [0, 0], log.text()

    loads = ledger(url)
    assert [(r.load_id, r.status) for r in loads] == [(1, "succeeded"), (2, "succeeded")]
    assert loads[0].finished_at is not None
    assert loads[1].started_at >= loads[0].finished_at, f"the loads overlapped: {loads}"
    order = [next(b for b in batches if f"log_data={b.log_data} " in r.sources) for r in loads]
    assert {b.name for b in order} == {"first", "second"}

    # Never interleaved: each load's steps, start to commit, sit together in the log,
    # and the loads come in the ledger's order (told apart by the events they staged).
    messages = [
        m
        for m in log.messages()
        if m == "stage: start" or m == "commit" or m.startswith("staged staging_events")
    ]
    expected = []
    for batch in order:
        events = sum(
            1
            for f in batch.log_data.rglob("*.json")
            for line in f.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
        expected += ["stage: start", f"staged staging_events: {events} read, 0 rejected", "commit"]
    assert messages == expected, (loads, log.text())
    assert star_snapshot(url) == wh.reference(*order)


@pytest.mark.parametrize("wait", ["0", "0.5"])
def test_busy_warehouse_refuses_a_load_that_will_not_wait(
    wh: Warehouses, batches: tuple[Batch, Batch], wait: str
) -> None:
    url = wh.with_first_batch()
    before = warehouse_state(url)
    with wh.hold_lock(url) as holder:
        started = time.monotonic()
        proc = subprocess.run(
            load_args(url, batches[1], "--wait", wait),
            text=True,
            capture_output=True,
            timeout=DEADLINE,
        )
        took = time.monotonic() - started
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: another "), proc.stderr
    assert f"waited {wait}s" in lines[0], lines[0]
    # It names the holder. On PostgreSQL that may be a load in another database on the
    # same server (see test_refusal_names_the_lock_holder_in_this_database).
    assert re.search(r"\((process|backend pid) \d+\)", lines[0]), lines[0]
    if wh.admin_url is None:
        assert holder in lines[0], lines[0]
    assert "loading into" in proc.stdout
    assert took < 30, f"--wait {wait} took {took:.1f}s"
    assert changed_tables(before, warehouse_state(url)) == []
    # …and once the warehouse is free, the same load goes through.
    result = run_load(url, log_data=batches[1].log_data, song_data=batches[1].song_data)
    assert result.load_id == 2


def _first_advisory_holder(url: sa.URL) -> int | None:
    """The pid pg_locks lists first for the loads' key, whatever the database."""
    engine = _engine(url)
    with engine.connect() as conn:
        pid = conn.execute(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                "AND granted LIMIT 1"
            ),
            {"key": LOCK_KEY},
        ).scalar()
    engine.dispose()
    return None if pid is None else int(pid)


def test_refusal_names_the_lock_holder_in_this_database(
    pg_admin_url: sa.URL, pg_warehouse_url: sa.URL
) -> None:
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    decoys: list[sa.URL] = []
    try:
        with contextlib.ExitStack() as held:
            ours = held.enter_context(hold_pg_lock(pg_warehouse_url))
            # Loads in other databases of the server hold the same key; take it in new
            # databases until one of them is listed before ours (the order is the lock
            # table's, fixed while the locks are held), 20 at most: the lookup must name
            # ours whatever the order.
            while _first_advisory_holder(pg_warehouse_url) == ours and len(decoys) < 20:
                name = f"sdw_faults_decoy_{uuid.uuid4().hex[:12]}"
                decoys.append(pg_admin_url.set(database=name))
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{decoys[-1].database}"')
                held.enter_context(hold_pg_lock(decoys[-1]))
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sparkify_dw.load",
                    "--url",
                    pg_warehouse_url.render_as_string(hide_password=False),
                    "--wait",
                    "0",
                ],
                text=True,
                capture_output=True,
                timeout=DEADLINE,
            )
    finally:
        with admin.connect() as conn:
            for decoy in decoys:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{decoy.database}" WITH (FORCE)')
        admin.dispose()
    assert proc.returncode == 1, proc.stderr
    assert f"(backend pid {ours})" in proc.stderr
