"""What the ``sparkify-dw`` commands share: their options (declared once), the settings
they resolve, and :func:`guarded`, which turns a library error into one line and the
documented exit status. Imports only click, so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import functools
import math
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from sparkify_dw.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
F = TypeVar("F", bound=Callable[..., Any])


class Usage(click.ClickException):
    """Configuration or schema trouble: exit 2, one line."""

    exit_code = EXIT_USAGE


class Failed(click.ClickException):
    """The database failed (unreachable, refused): exit 1, one line."""

    exit_code = EXIT_FAILED


class ArgumentError(Exception):
    """A bad argument to one of the argparse commands, as one line (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse as the click commands behave: a flag is spelled out (``--max-ag`` is not
    ``--max-age``) and a bad one raises :class:`ArgumentError`, one line, never a usage
    screen (``--help`` still prints one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def whole_number(
    minimum: int = 0, maximum: int | None = None
) -> Callable[[click.Context | None, click.Parameter | None, Any], int | None]:
    """A click callback: ``--max-errors abc`` says "'abc' is not a whole number", not
    click's "is not a valid integer range"."""

    def check(ctx: click.Context | None, param: click.Parameter | None, value: Any) -> int | None:
        if value is None:
            return None
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise click.BadParameter(f"{value!r} is not a whole number")
        number = int(text)
        if number < minimum or (maximum is not None and number > maximum):
            top = "" if maximum is None else f" to {maximum:,}"
            raise click.BadParameter(f"{number} is not a whole number from {minimum}{top}")
        return number

    return check


# --- options --------------------------------------------------------------------------


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and param.name:
        ctx.meta[param.name] = True  # ctx.meta is shared by the group and its command
    return value


def verbosity_options(f: F) -> F:
    """``-v`` and ``-q``, before or after the command's name."""
    f = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Print errors only.",
    )(f)
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Debug logging; tracebacks on errors.",
    )(f)


def flag(ctx: click.Context, name: str) -> bool:
    """Whether ``-v`` (``verbose``) or ``-q`` (``quiet``) was given, anywhere."""
    return bool(ctx.meta.get(name))


def apply_verbosity(ctx: click.Context) -> None:
    if flag(ctx, "verbose") and flag(ctx, "quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")
    from sparkify_dw import cli

    cli.setup_logging(sys.stderr, verbose=flag(ctx, "verbose"), quiet=flag(ctx, "quiet"))


def warehouse_options(f: F) -> F:
    """``--url`` and ``--config``: where the warehouse is (see the README's Configuration)."""
    f = click.option(
        "--config",
        "config_file",
        metavar="FILE",
        help="dwh.cfg to read (default: ./dwh.cfg if present).",
    )(f)
    return click.option(
        "--url", metavar="URL", help="Database URL (default: the nearest ./sparkify.duckdb)."
    )(f)


MAX_WAIT = 86400.0  # seconds: a day, as sparkify_dw.load.MAX_WAIT (not imported: --help stays fast)
MAX_LIMIT = 2**31 - 1  # rows: what every engine's LIMIT takes


def _wait(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange lets nan and inf through (they compare false): a wait must end.
    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT:
        raise click.BadParameter(f"{value} is not a number of seconds from 0 to {MAX_WAIT:.0f}")
    return value


def wait_option(f: F) -> F:
    return click.option(
        "--wait",
        type=float,
        callback=_wait,
        default=600.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait behind a running load.",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table."
    )(f)


def limit_option(f: F) -> F:
    return click.option(
        "--limit",
        type=click.STRING,
        callback=whole_number(1, MAX_LIMIT),
        metavar="N",
        default=20,
        show_default=True,
        help="How many loads the history shows, newest first.",
    )(f)


def settings_from(
    ctx: click.Context,
    url: str | None,
    config_file: str | None,
    *,
    log_data: str | None = None,
    song_data: str | None = None,
    log_jsonpath: str | None = None,
    memory_limit: str | None = None,
) -> Settings:
    from sparkify_dw import cli
    from sparkify_dw.config import resolve

    settings = resolve(
        url=url,
        config=config_file,
        log_data=log_data,
        song_data=song_data,
        log_jsonpath=log_jsonpath,
        memory_limit=memory_limit,
    )
    cli.mask_logs(settings)
    ctx.meta["settings"] = settings
    return settings


def guarded(f: F) -> F:
    """``-v``/``-q`` applied; library errors as one line with the documented exit status;
    secrets masked."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        apply_verbosity(ctx)
        try:
            return f(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except KeyboardInterrupt as exc:
            code = getattr(exc, "exit_code", None)  # SIGINT or SIGTERM, in a command's process
            click.echo(f"interrupted: {exc}" if code else "error: interrupted", err=True)
            ctx.exit(code or EXIT_INTERRUPTED)
        except Exception as exc:  # translated below, or re-raised
            from sparkify_dw import cli

            code = cli.exit_code(exc)
            if code is None:
                raise
            cli.report_error(
                exc, ctx.meta.get("settings"), sys.stderr, verbose=flag(ctx, "verbose")
            )
            ctx.exit(code)

    return run  # type: ignore[return-value]
