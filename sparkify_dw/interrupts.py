"""Signals during a load: SIGINT and SIGTERM stop it (it rolls back and the ledger says
so), except while it commits or writes the ledger, when they wait for that to finish."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BEFORE_THE_LOAD = "before the load began; nothing changed"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the load stops, rolls back and says so in the ledger."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        # What became of the load, for the command's last line: set once the load began.
        self.outcome = BEFORE_THE_LOAD

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
    """Signals kept for after a deferred block; ``raised``: those already raised.

    Once ``committed`` is set, every signal is kept, not raised, until the outermost
    :func:`interrupts` block ends (except inside :func:`stoppable`): the load stands, and
    the command still prints its summary before it says it was interrupted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[int] = []
        self.committed = False
        self.stoppable = False


_active: list[Signals] = []  # the outermost interrupts() block's signals, while it runs


@contextmanager
def interrupts() -> Iterator[Signals]:
    """SIGINT and SIGTERM raise :class:`Interrupted` during a load, except inside
    :func:`deferred` blocks, where they are kept (the yielded list) for after. Only the
    main thread can take signals; elsewhere nothing changes.

    Nested blocks share the outermost one's handlers and signals: the command wraps the
    load and its summary, so a signal just after the commit is never a bare kill.
    """
    if _active:
        with _converted(_active[-1]):
            yield _active[-1]
        return
    pending = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def handler(signum: int, frame: object) -> None:
        if _deferring or (pending.committed and not pending.stoppable):
            pending.append(signum)
            return
        pending.raised.append(signum)  # an engine may wrap the exception in its own
        raise Interrupted(signum)

    unraisable = sys.unraisablehook

    def quiet(info: Any) -> None:
        # Our exception, raised where Python can't raise (a weakref callback, a __del__):
        # not a traceback for the user; the signal is in pending.raised, acted on later.
        if info.exc_type is not None and issubclass(info.exc_type, Interrupted):
            return
        unraisable(info)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    sys.unraisablehook = quiet
    _active.append(pending)
    try:
        with _converted(pending):
            yield pending
    finally:
        _active.pop()
        sys.unraisablehook = unraisable
        for sig, old in previous.items():
            signal.signal(sig, old)


def as_interrupted(exc: BaseException, pending: Signals) -> Interrupted | None:
    """``exc`` as the interruption it is: our own, or an engine's error wrapping the signal
    we raised inside it (DuckDB's RuntimeError "Query interrupted"); None otherwise."""
    if isinstance(exc, Interrupted):
        return exc
    if not pending.raised:
        return None
    stop = Interrupted(pending.raised[-1])
    stop.__cause__ = exc
    return stop


@contextmanager
def _converted(pending: Signals) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        stop = as_interrupted(exc, pending)
        if stop is None or stop is exc:
            raise
        raise stop from exc


@contextmanager
def stoppable(pending: Signals) -> Iterator[None]:
    """After the commit, work a signal may still cut short (ANALYZE): it raises here."""
    pending.stoppable = True
    try:
        yield
    finally:
        pending.stoppable = False
