"""What the commands print: tables, JSON, and progress that draws only on a terminal.

Why: a command's output goes to terminals, CI logs and files alike. On a terminal
a wait shows a spinner or a progress bar redrawn in place (rich); anywhere else
either plain lines or nothing, so logs stay readable and nothing depends on escape
codes. rich is imported when something is drawn, so ``--help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from sparkify_dw.text import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID
    from rich.status import Status

__all__ = [
    "LoadProgress",
    "Progress",
    "cell",
    "field_lines",
    "json_text",
    "print_fields",
    "print_json",
    "print_lines",
    "print_table",
    "printer",
    "table_lines",
    "waiting",
]


def printer(out: TextIO | None = None) -> Callable[[str], None]:
    """A function that writes one line to ``out`` (default: the current stdout) and flushes."""

    def say(message: str) -> None:
        stream = out if out is not None else sys.stdout
        stream.write(message + "\n")
        stream.flush()

    return say


# --- tables and JSON: one renderer for every command ------------------------------------------


def cell(value: Any) -> str:
    """A value as every table shows it: whole numbers with thousands separators, a share
    (a fraction from 0 to 1) as a percentage, other fractions to two places, times to the
    second, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
        return cell(value)
    if isinstance(value, float):
        return f"{value:.4%}" if 0 <= value <= 1 else f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return printable(str(value))  # a file name's tab or escape sequence, shown not acted on


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A table as lines: a header, a rule, one line per row (``(no rows)`` for none);
    numeric columns right-aligned, every cell whole (never folded or cut)."""
    cells = [[cell(v) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(_numeric(r[i]) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    return out + ([line(row) for row in cells] if cells else ["(no rows)"])


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None
) -> None:
    """The table (:func:`table_lines`) on ``out`` (default: the current stdout)."""
    stream = out if out is not None else sys.stdout
    stream.write("\n".join(table_lines(headers, rows)) + "\n")


def json_text(value: Any) -> str:
    """``value`` as the JSON every command prints: indented, times ISO 8601, exact numbers."""
    return json.dumps(value, indent=2, default=_json_default)


def print_json(value: Any, out: TextIO | None = None) -> None:
    """``value`` as JSON (:func:`json_text`) on ``out`` (default: the current stdout)."""
    (out if out is not None else sys.stdout).write(json_text(value) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def field_lines(fields: Sequence[tuple[str, str]]) -> list[str]:
    """(label, value) pairs as lines, the values in one column two spaces past the
    longest label (``status``'s one screen)."""
    width = max((len(label) for label, _ in fields), default=0) + 2
    return [f"{label:<{width}}{printable(value)}".rstrip() for label, value in fields]


def print_fields(fields: Sequence[tuple[str, str]], out: TextIO | None = None) -> None:
    """The pairs (:func:`field_lines`) on ``out`` (default: the current stdout)."""
    print_lines(field_lines(fields), out)


def print_lines(lines: Sequence[str], out: TextIO | None = None) -> None:
    """Lines of a report, as they are (:func:`cell` has formatted their numbers)."""
    stream = out if out is not None else sys.stdout
    for line in lines:
        stream.write(line + "\n")


# --- waiting ---------------------------------------------------------------------------------


def waiting(message: str) -> None:
    """Say, once per wait, what a command waits for and for how long: on stderr at a
    terminal (a person wonders why nothing happens), otherwise in the log at INFO, shown
    with ``-v`` (a cron mail or CI log stays as it was)."""
    if getattr(sys.stderr, "isatty", lambda: False)():
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    else:
        logging.getLogger("sparkify_dw.waiting").info(message)


class Progress:
    """A spinner and status line on a terminal, one line per update otherwise.

    Use as a context manager; :meth:`done` ends the display with a final line, or
    with none when an error message will say what happened.
    """

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console

        self.stream = stream
        # The stream decides, not the environment (FORCE_COLOR, TTY_COMPATIBLE): a log
        # file gets plain lines even where rich would be told to draw.
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.console = Console(
            file=stream, force_terminal=self.tty, highlight=False, markup=False, emoji=False
        )
        self._status: Status | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
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


class LoadProgress:
    """A load as it runs, on a terminal: bytes staged across each table's files (records
    once the table is staged), then a spinner with elapsed time per step. Writes nothing
    with ``quiet`` or off a terminal (the summary says it all there).

    It is both of the loader's callbacks: ``progress(what, files_done, files_total)`` from
    the backends, and ``on_step(name, result, request)`` as each step begins.
    """

    def __init__(self, target: Console | TextIO, *, quiet: bool = False) -> None:
        from rich.console import Console

        self.console = (
            target
            if isinstance(target, Console)
            else Console(file=target, stderr=True, highlight=False)
        )
        self.enabled = self.console.is_terminal and not quiet
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._staging: str | None = None  # the table being staged
        self._upto: list[int] = []  # bytes in the first n files of that table
        self._result: Any = None

    def __enter__(self) -> LoadProgress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description}"),
                BarColumn(),
                _bytes_column(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._finish()
            self._bar.stop()
            self._bar = None

    def __call__(self, what: str, done: int, total: int) -> None:
        if self._bar is None or self._task is None or self._staging is None:
            return
        self._bar.update(self._task, completed=self._upto[min(done, len(self._upto) - 1)])

    def on_step(self, name: str, result: Any, request: Any = None) -> None:
        if self._bar is None:
            return
        self._finish()
        self._result = result
        if request is None:
            self._task = self._bar.add_task(name, total=None)
            return
        sizes = [0]
        for f in request.files:
            sizes.append(sizes[-1] + int(f.size))
        self._staging, self._upto = request.table.name, sizes
        self._task = self._bar.add_task(
            f"stage {self._staging}", total=sizes[-1] or None, bytes=True
        )

    def _finish(self) -> None:
        """The running task ends: a staging table says its records, a spinner stops."""
        if self._bar is None or self._task is None:
            return
        task = next(t for t in self._bar.tasks if t.id == self._task)
        if self._staging is not None:
            read = (self._result.read if self._result is not None else {}).get(self._staging)
            if read is not None:
                self._bar.update(
                    self._task, description=f"staged {self._staging}: {read:,} records"
                )
            self._bar.update(
                self._task, total=task.total or 1, completed=task.completed if task.total else 1
            )
        else:
            self._bar.update(self._task, total=1, completed=1)
        self._bar.stop_task(self._task)
        self._task, self._staging = None, None


def _bytes_column() -> Any:
    """A column of bytes done of the total, for staging tasks only (built once rich is
    imported)."""
    from rich.progress import DownloadColumn, ProgressColumn, Task
    from rich.text import Text

    class Bytes(ProgressColumn):
        download = DownloadColumn()

        def render(self, task: Task) -> Text:
            return self.download.render(task) if task.fields.get("bytes") else Text("")

    return Bytes()
