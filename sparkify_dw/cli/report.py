"""How every ``sparkify-dw`` command ends: logging that never shows a secret, and the one
handler that turns an exception into one ``error:`` line and the documented exit status.

Exit status, for every command (``cluster`` included):

====  =====================================================
0     done
1     a load, a check, a freshness test, the database or AWS failed
2     usage or configuration (a bad flag, file, URL or schema)
130   interrupted (Ctrl-C); 143 terminated (SIGTERM)
====  =====================================================

The library's errors carry their status (``exit_code``, :mod:`sparkify_dw.errors`); what
a driver or the operating system raises is mapped by :data:`FOREIGN`; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Exceptions that are not the library's, by module and class name (looked up in the
# exception's own class hierarchy, so nothing here is imported to be matched).
FOREIGN: dict[str, int] = {
    "sqlalchemy.exc.SQLAlchemyError": EXIT_FAILED,  # the database failed or refused
    "builtins.OSError": EXIT_FAILED,  # a file or the network
    "alembic.util.exc.CommandError": EXIT_USAGE,  # a revision Alembic doesn't know
    "click.exceptions.ClickException": EXIT_USAGE,  # a command's own usage error
    "jinja2.exceptions.TemplateError": EXIT_USAGE,  # a docs template that can't render
}

# AWS and HTTP libraries log request headers (session tokens) at DEBUG: never shown.
_NOISY = ("botocore", "boto3", "s3transfer", "urllib3")
_FORMAT = "%(levelname)s %(name)s: %(message)s"
_handler: logging.StreamHandler[TextIO] | None = None
_root_level: int | None = None  # the root logger's level before a command set it


def setup_logging(err: TextIO, *, verbose: bool, quiet: bool = False) -> None:
    """Log lines on ``err``; the level again on each call (a command's own ``-v`` comes
    after the group's options).

    The handler is the command's own, replaced when ``err`` changes: a command run again in
    the same process (a notebook, click's test runner) logs to its own ``err``, even where
    the root logger already has handlers of someone else's.
    """
    global _handler, _root_level
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    root = logging.getLogger()
    if _root_level is None:
        _root_level = root.level
    if _handler is None or _handler.stream is not err:
        if _handler is not None:
            root.removeHandler(_handler)
        _handler = logging.StreamHandler(err)
        _handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(_handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def reset_logging() -> None:
    """The command is over: its handler goes (its stream may close: a test runner's, a
    notebook cell's), and the root logger's level is what it was."""
    global _handler, _root_level
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler = None
    if _root_level is not None:
        root.setLevel(_root_level)
        _root_level = None


class _MaskSecrets(logging.Filter):
    """Scrub secrets from every log record, whatever library logs it."""

    def __init__(self, masked: Callable[[str], str]) -> None:
        super().__init__()
        self.masked = masked

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self.masked(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def mask_logs(settings: object) -> None:
    """From now on, log records lose the secrets of ``settings`` (anything with a
    ``mask(text)``: this command's; a filter left by an earlier command is replaced)."""
    masked: Callable[[str], str] = settings.mask  # type: ignore[attr-defined]
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, _MaskSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(_MaskSecrets(masked))


def exit_code(exc: BaseException) -> int | None:
    """The documented exit status for ``exc``, or None for a bug (it keeps its traceback)."""
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    for cls in type(exc).__mro__:
        found = FOREIGN.get(f"{cls.__module__}.{cls.__qualname__}")
        if found is not None:
            return found
    return None


def _masker(secrets: Callable[[str], str] | None) -> Callable[[str], str]:
    if secrets is not None:
        return secrets
    from sparkify_dw.config import env_secrets
    from sparkify_dw.secrets import mask

    # Before the settings are resolved, the environment's AWS secrets are still secret.
    return lambda text: mask(text, env_secrets())


def report_error(
    exc: BaseException,
    secrets: Callable[[str], str] | None,
    err: TextIO,
    *,
    verbose: bool,
) -> None:
    """``error: …`` on one line (the traceback first with ``-v``), secrets masked.

    Output piped into ``head`` that closes early is not an error worth a line: the rest of
    the output goes nowhere, quietly.
    """
    if isinstance(exc, BrokenPipeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return
    import click

    from sparkify_dw.errors import one_line

    masked = _masker(secrets)
    if verbose and not isinstance(exc, click.ClickException):  # usage has no traceback
        err.write(masked("".join(traceback.format_exception(exc))) + "\n")
    # click's own errors say which option, as its message does ("Invalid value for …").
    text = exc.format_message() if isinstance(exc, click.ClickException) else one_line(exc)
    err.write(f"error: {masked(' '.join(text.split()))}\n")
    err.flush()


def handle(exc: BaseException, meta: dict[str, object], err: TextIO) -> int:
    """The one handler: ``exc`` as one line on ``err``; its exit status. ``meta``: the
    command's (``verbose``, and ``secrets``, a function that masks them, once known).
    Raises ``exc`` again when it is a bug."""
    import click

    secrets = meta.get("secrets")
    masked = _masker(secrets if callable(secrets) else None)
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # a bare group: its help
        err.write((exc.ctx.get_help() if exc.ctx else exc.format_message()) + "\n")
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt | click.Abort):  # Ctrl-C; SIGINT or SIGTERM
        code = getattr(exc, "exit_code", None)
        text = f"interrupted: {exc}" if code else f"error: {str(exc) or 'interrupted'}"
        err.write(masked(text) + "\n")
        return code if isinstance(code, int) else EXIT_INTERRUPTED
    code = exit_code(exc)
    if code is None:
        raise exc
    report_error(exc, masked, err, verbose=bool(meta.get("verbose")))
    return code
