"""The options every ``sparkify-dw`` command shares, declared once: ``--url``, ``--config``,
``--wait``, ``--json``, ``-v``/``-q``, and the settings a command resolves from them.

``--help`` shows each option's default and environment variable. The variable is shown,
not read, by click: :func:`sparkify_dw.config.resolve` is the one reader of the
environment, so a flag, the environment and ``dwh.cfg`` keep one precedence and one
wording in errors. Imports only click, so ``--help`` stays fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sparkify_dw.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

# The environment variables sparkify_dw.config reads (its ENV_* names; a test pins them
# equal: config imports SQLAlchemy, which --help must not pay for).
ENV_URL = "SPARKIFY_DW_URL"
ENV_CONFIG = "SPARKIFY_DW_CONFIG"
ENV_LOG_DATA = "SPARKIFY_DW_LOG_DATA"
ENV_SONG_DATA = "SPARKIFY_DW_SONG_DATA"
ENV_LOG_JSONPATH = "SPARKIFY_DW_LOG_JSONPATH"
ENV_MEMORY_LIMIT = "SPARKIFY_DW_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"  # config.DEFAULT_MEMORY_LIMIT, pinned by the same test

MAX_WAIT = 86400.0  # seconds: a day, as sparkify_dw.load.MAX_WAIT
READ_WAIT = 600.0  # seconds a command waits behind a running load by default
MAX_LIMIT = 2**31 - 1  # rows: what every engine's LIMIT takes
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


class Usage(click.ClickException):
    """Configuration or schema trouble found by the command line itself: exit 2, one line."""

    exit_code = 2


class Failed(click.ClickException):
    """Something the command ran failed (the database, a migration): exit 1, one line."""

    exit_code = 1


class EnvOption(click.Option):
    """An option whose environment variable ``--help`` shows, read by the configuration
    resolver (not by click): the value a command receives is the command line's alone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("show_envvar", True)
        super().__init__(*args, **kwargs)

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        return None

    def value_from_envvar(self, ctx: click.Context) -> Any:
        return None


def env_option(*decls: str, envvar: str, **kwargs: Any) -> Callable[[F], F]:
    """A ``--flag`` documented with its environment variable (:class:`EnvOption`)."""
    return click.option(*decls, cls=EnvOption, envvar=envvar, **kwargs)


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


# --- -v and -q ---------------------------------------------------------------------------


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
        show_default=False,
        help="Print errors only (the exit status says the rest).",
    )(f)
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        show_default=False,
        help="Debug logging; tracebacks on errors.",
    )(f)


def flag(ctx: click.Context, name: str) -> bool:
    """Whether ``-v`` (``verbose``) or ``-q`` (``quiet``) was given, anywhere."""
    return bool(ctx.meta.get(name))


def apply_verbosity(ctx: click.Context) -> None:
    """``-v`` and ``-q`` checked against each other, and logging set from them."""
    if flag(ctx, "verbose") and flag(ctx, "quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")
    import sys

    from sparkify_dw.cli import report

    report.setup_logging(sys.stderr, verbose=flag(ctx, "verbose"), quiet=flag(ctx, "quiet"))


# --- where the warehouse is ----------------------------------------------------------------


def url_option(f: F) -> F:
    return env_option(
        "--url",
        envvar=ENV_URL,
        metavar="URL",
        show_default="dwh.cfg's, else the embedded warehouse's file, nearest first",
        help="Database URL.",
    )(f)


def config_option(f: F, **kwargs: Any) -> F:
    """``--config``; ``kwargs``: click's, for a command that keeps the value its own way
    (``cluster``, before or after its subcommand)."""
    return env_option(
        "--config",
        "config_file",
        envvar=ENV_CONFIG,
        metavar="FILE",
        show_default="./dwh.cfg if present",
        help="dwh.cfg to read.",
        **kwargs,
    )(f)


def warehouse_options(f: F) -> F:
    """``--url`` and ``--config``: where the warehouse is (see the README's Configuration)."""
    return url_option(config_option(f))


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
        default=READ_WAIT,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait behind a running load.",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        show_default=False,
        help="Print JSON for scripts instead of a table.",
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


def reader_options(f: F) -> F:
    """What a command that reads the warehouse takes: where it is, how long to wait behind
    a load, JSON, and ``-v``/``-q``."""
    return warehouse_options(wait_option(json_option(verbosity_options(f))))


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
    """The configuration, resolved once for this command; its secrets masked from now on."""
    from sparkify_dw.cli import report
    from sparkify_dw.config import resolve

    settings = resolve(
        url=url,
        config=config_file,
        log_data=log_data,
        song_data=song_data,
        log_jsonpath=log_jsonpath,
        memory_limit=memory_limit,
    )
    report.mask_logs(settings)
    ctx.meta["secrets"] = settings.mask  # the handler's errors lose them too
    ctx.meta["settings"] = settings
    return settings


class Command(click.Command):
    """A ``sparkify-dw`` command: ``-v``/``-q`` applied before it runs."""

    def invoke(self, ctx: click.Context) -> Any:
        apply_verbosity(ctx)
        return super().invoke(ctx)


def command(name: str | None = None, **kwargs: Any) -> Callable[[F], click.Command]:
    """``@command()``: a :class:`Command` (``-v``/``-q`` applied, defaults shown)."""
    kwargs.setdefault("cls", Command)
    kwargs.setdefault("context_settings", CONTEXT)
    return click.command(name, **kwargs)  # type: ignore[return-value]
