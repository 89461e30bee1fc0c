"""The randomized signal sweep (issue 23's adversarial cases 8 and 16), on both backends.

Real ``sparkify-dw load`` processes get SIGINT or SIGTERM at random moments, from the
line that says the load starts to well after it ends. Whatever the moment, the command
ends with 0 or 128 + the signal and no traceback, its last line says what happened, and
the ledger agrees with it:

- "the ledger says so": a new ``interrupted`` row, and the star tables unchanged;
- "committed; the load succeeded": a new ``succeeded`` row;
- "before the load began": no new row, nothing changed;
- exit 0: a new ``succeeded`` row;
- killed by the signal (exit -N) only once the summary is out and the interpreter is
  exiting: a new ``succeeded`` row.

The seed is printed; ``SPARKIFY_DW_SIGNAL_SEED`` replays a run, ``SPARKIFY_DW_SIGNALS``
sets how many signals per backend (default 24).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from sparkify_dw.models import LOADS

pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.subprocess]

RUNS = int(os.environ.get("SPARKIFY_DW_SIGNALS", "24"))
DEADLINE = 120.0


def _state(url: sa.URL) -> tuple[list[tuple[Any, ...]], int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            loads = conn.execute(
                sa.select(LOADS.c.load_id, LOADS.c.status).order_by(LOADS.c.load_id)
            ).all()
            plays = conn.execute(sa.text("SELECT count(*) FROM songplays")).scalar_one()
    finally:
        engine.dispose()
    return [tuple(r) for r in loads], int(plays)


def _load(url: sa.URL, delay: float, sig: signal.Signals) -> tuple[int, str, str]:
    """One load, signalled ``delay`` seconds after it says it starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sparkify_dw.load",
            "--url",
            url.render_as_string(hide_password=False),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # "loading into …": the command has its handlers
        assert first.startswith("loading into"), first
        try:
            proc.wait(timeout=min(delay, DEADLINE))  # it may finish first
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
        rest, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, first + rest, err


def test_signals_at_random_moments_leave_a_true_ledger(warehouse_url: sa.URL) -> None:
    seed = int(os.environ.get("SPARKIFY_DW_SIGNAL_SEED", str(random.randrange(10**6))))
    print(f"signal sweep seed {seed}")
    rng = random.Random(seed)
    # How long one load runs here, so the signals span its whole life and a little after.
    span = 0.0
    for _ in range(2):
        started = time.monotonic()
        assert _load(warehouse_url, DEADLINE, signal.SIGINT)[0] == 0  # ends before the signal
        span = max(span, (time.monotonic() - started) * 0.8)
    seen: dict[str, int] = {}
    for run in range(RUNS):
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        delay = rng.uniform(0, span)
        before_loads, before_plays = _state(warehouse_url)
        code, out, err = _load(warehouse_url, delay, sig)
        after_loads, after_plays = _state(warehouse_url)
        new = after_loads[len(before_loads) :]
        where = f"run {run} (seed {seed}, {sig.name} after {delay:.2f}s): exit {code}, {err!r}"
        assert after_loads[: len(before_loads)] == before_loads, where
        assert "Traceback" not in err, where
        last = err.splitlines()[-1] if err.strip() else ""
        if code == 0:
            outcome = "finished first"
            assert [s for _, s in new] == ["succeeded"], where
        elif code == -sig:
            # The command had done and said everything; the interpreter was exiting.
            outcome = "as the process exited"
            assert "inserted" in out and err == "", where
            assert [s for _, s in new] == ["succeeded"], where
        else:
            assert code == 128 + sig, where
            assert last.startswith(f"interrupted: {sig.name}"), where
            if "committed; the load succeeded" in last:
                outcome = "after the commit"
                assert [s for _, s in new] == ["succeeded"], where
            elif last.endswith("(the ledger says so)"):
                outcome = "rolled back"
                assert [s for _, s in new] == ["interrupted"], where
                assert after_plays == before_plays, where
            else:
                assert last.endswith("before the load began; nothing changed"), where
                outcome = "before the load"
                assert new == [] and after_plays == before_plays, where
        seen[outcome] = seen.get(outcome, 0) + 1
    print(f"signal sweep outcomes: {seen}")
    # The sweep reached the load itself, not only its edges.
    assert seen.get("rolled back", 0) > 0, seen
