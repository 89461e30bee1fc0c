"""What the commands (``load``, ``check``, ``analytics``) share: logging that never shows a
secret, and errors printed as one line."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import TextIO

from sparkify_dw.config import Settings, env_secrets, mask
from sparkify_dw.errors import SchemaError, one_line

# AWS and HTTP libraries log request headers (session tokens) at DEBUG: never shown.
_NOISY = ("botocore", "boto3", "s3transfer", "urllib3")


_FORMAT = "%(levelname)s %(name)s: %(message)s"
_handler: logging.StreamHandler[TextIO] | None = None


def setup_logging(err: TextIO, *, verbose: bool, quiet: bool = False) -> None:
    """Log lines on ``err``; the level again on each call (a command's own ``-v`` comes
    after the group's options).

    The handler is the command's own, replaced when ``err`` changes: a command run again in
    the same process (a notebook, click's test runner) logs to its own ``err``, even where
    the root logger already has handlers of someone else's.
    """
    global _handler
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    root = logging.getLogger()
    if _handler is None or _handler.stream is not err:
        if _handler is not None:
            root.removeHandler(_handler)
        _handler = logging.StreamHandler(err)
        _handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(_handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


class _MaskSecrets(logging.Filter):
    """Scrub secrets from every log record, whatever library logs it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self.settings.mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def mask_logs(settings: Settings) -> None:
    """From now on, log records lose the secrets of ``settings`` (this command's: a filter
    left by an earlier command in the same process is replaced)."""
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, _MaskSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(_MaskSecrets(settings))


def report_error(
    exc: BaseException, settings: Settings | None, err: TextIO, *, verbose: bool
) -> None:
    """``error: …`` on one line (the traceback first with ``-v``), secrets masked.

    Output piped into ``head`` that closes early is not an error worth a line: the rest of
    the output goes nowhere, quietly.
    """
    if isinstance(exc, BrokenPipeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return

    def masked(text: str) -> str:
        # Before the settings are resolved, the environment's AWS secrets are still secret.
        return settings.mask(text) if settings is not None else mask(text, env_secrets())

    if verbose:
        print(masked(traceback.format_exc()), file=err)
    print(f"error: {masked(one_line(exc))}", file=err)


def exit_code(exc: Exception) -> int | None:
    """The documented exit status for a library error (2: usage or configuration, 1: a load
    or check that failed), or None for a bug, which keeps its traceback."""
    import sqlalchemy as sa
    from alembic.util import CommandError  # a revision Alembic can't find: usage

    from sparkify_dw import backends, ledger, load
    from sparkify_dw.errors import ConfigError, SourceError

    if isinstance(exc, (ConfigError, SourceError, SchemaError, ledger.NoSuchLoad, CommandError)):
        return 2
    if isinstance(
        exc, (load.LoadError, backends.LockBusy, sa.exc.SQLAlchemyError, OSError, RecursionError)
    ):
        return 1
    if isinstance(exc, ValueError):
        return 2
    return None
