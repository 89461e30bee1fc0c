"""Signals during a load: SIGINT and SIGTERM stop it (it rolls back and the ledger says
so), except while it commits or writes the ledger, when they wait for that to finish."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the load stops, rolls back and says so in the ledger."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_deferring: list[bool] = []  # non-empty while a signal must wait (commit, ledger writes)


@contextmanager
def deferred() -> Iterator[None]:
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()


class Signals(list[int]):
    """Signals kept for after a deferred block; ``raised``: those already raised."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[int] = []


@contextmanager
def interrupts() -> Iterator[Signals]:
    """SIGINT and SIGTERM raise :class:`Interrupted` during a load, except inside
    :func:`deferred` blocks, where they are kept (the yielded list) for after. Only the
    main thread can take signals; elsewhere nothing changes."""
    pending = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def handler(signum: int, frame: object) -> None:
        if _deferring:
            pending.append(signum)
            return
        pending.raised.append(signum)  # an engine may wrap the exception in its own
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield pending
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
