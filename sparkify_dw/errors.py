"""Every exception the library raises on purpose, in one place.

Why one module: a caller (a notebook, a scheduler, the commands) can catch
:class:`SparkifyError` for "the library refused, with a one-line reason" and let
anything else (a bug, a driver crash) through; and the modules that raise these
errors need not import each other for the classes (``s3`` used to import ``sources``
for :class:`SourceError`, and ``sources`` imported ``s3``). This module imports
only :mod:`sparkify_dw.text` from the package, so anything else may import it.

Each class also derives from the built-in exception it always was (``ValueError``,
``RuntimeError``, ``LookupError``), so ``except ValueError`` in older code still works.
Every message is one line, worded for the user, with no secret in it.

Each class carries the exit status a command ends with when it is raised
(``exit_code``): 2 for bad input (a flag, a file, a URL, a schema that isn't this
library's), 1 for something that ran and failed (a load, a check, the database, AWS).
The command line's one handler reads it (``sparkify_dw.cli.report``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparkify_dw.text import printable, shown_path

__all__ = [
    "CheckFailed",
    "ClusterError",
    "ConfigError",
    "ExpectedFileError",
    "LoadError",
    "LockBusy",
    "NoSuchLoad",
    "SchemaError",
    "SourceError",
    "SparkifyError",
    "SynthError",
    "TooManyRejected",
    "one_line",
]


EXIT_FAILED = 1  # a load, a check, the database or AWS failed
EXIT_USAGE = 2  # usage or configuration: a bad flag, file, URL or schema


class SparkifyError(Exception):
    """The base of the library's own errors: the message is one line for the user."""

    exit_code: int = EXIT_FAILED


# --- bad input: configuration, arguments, files ---------------------------------------------


class ConfigError(SparkifyError, ValueError):
    """A configuration problem (dwh.cfg, environment, a flag), worded as one line."""

    exit_code = EXIT_USAGE


class SourceError(SparkifyError, ValueError):
    """A source that cannot be loaded (local or S3), worded as one line."""

    exit_code = EXIT_USAGE


class ExpectedFileError(SparkifyError, ValueError):
    """An expected-results file (analytics) that cannot be read, worded as one line."""

    exit_code = EXIT_USAGE


class SynthError(SparkifyError, ValueError):
    """An invalid argument to the synthetic-data generator, worded as one line."""

    exit_code = EXIT_USAGE


# --- the warehouse's state --------------------------------------------------------------------


class SchemaError(SparkifyError, RuntimeError):
    """The warehouse's schema is not the one this library writes."""

    exit_code = EXIT_USAGE


class LockBusy(SparkifyError, RuntimeError):
    """Another load holds the warehouse, and waiting for it ran out of time."""


class NoSuchLoad(SparkifyError, LookupError):
    """A load id the ledger doesn't have, worded as one line."""

    exit_code = EXIT_USAGE


# --- a load or a check that ran and failed -----------------------------------------------------


class LoadError(SparkifyError, RuntimeError):
    """A load that cannot go on, worded as one line for the user."""


class TooManyRejected(LoadError):
    """More records were rejected than ``max_errors`` allows; ``errors`` holds them."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class CheckFailed(SparkifyError, RuntimeError):
    """One or more checks found offenders; the message is one line naming them."""

    def __init__(self, failed: Sequence[object]) -> None:
        """``failed``: the checks' results (:class:`~sparkify_dw.checks.CheckResult`), each
        worded by its ``str``."""
        self.failed = list(failed)
        noun = "check" if len(self.failed) == 1 else "checks"
        super().__init__(
            f"{len(self.failed)} {noun} failed: " + ", ".join(str(r) for r in self.failed)
        )


# --- provisioning -----------------------------------------------------------------------------


class ClusterError(SparkifyError, RuntimeError):
    """A provisioning problem (the Redshift cluster, its role), worded as one line."""


def one_line(exc: BaseException) -> str:
    """An exception as the one line a command prints (the driver's own message if any)."""
    import sqlalchemy as sa  # here: importing this module stays cheap (--help)

    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, SparkifyError):  # ours are one line already: a newline is in a name
        return printable(shown_path(str(exc))) or type(exc).__name__
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return printable(shown_path(lines[0])) if lines else type(exc).__name__
