"""What the commands print: plain lines, and progress that spins only on a terminal.

Why: a command's output goes to terminals, CI logs and files alike. On a terminal
a wait shows a spinner with a status line redrawn in place (rich); anywhere else
each update is one plain line, so logs stay readable and nothing depends on
escape codes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.status import Status

__all__ = ["Progress", "printer"]


def printer(out: TextIO | None = None) -> Callable[[str], None]:
    """A function that writes one line to ``out`` (default: the current stdout) and flushes."""
    def say(message: str) -> None:
        stream = out if out is not None else sys.stdout
        stream.write(message + "\n")
        stream.flush()
    return say


class Progress:
    """A spinner and status line on a terminal, one line per update otherwise.

    Use as a context manager; :meth:`done` ends the display with a final line, or
    with none when an error message will say what happened.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # The stream decides, not the environment (FORCE_COLOR, TTY_COMPATIBLE): a log
        # file gets plain lines even where rich would be told to draw.
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.console = Console(file=stream, force_terminal=self.tty, highlight=False,
                               markup=False, emoji=False)
        self._status: Status | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def update(self, message: str) -> None:
        if not self.tty:
            self.stream.write(message + "\n")
            self.stream.flush()
        elif self._status is None:
            self._status = self.console.status(message)
            self._status.start()
        else:
            self._status.update(message)

    def done(self, message: str | None = None) -> None:
        self._stop()
        if message:
            self.stream.write(message + "\n")
            self.stream.flush()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
