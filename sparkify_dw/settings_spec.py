"""What a setting is: where it is looked for (a flag, a variable, a ``dwh.cfg`` key), its
default, and how its text becomes a typed, checked value.

Why a table of these rather than code per setting: :func:`sparkify_dw.config.resolve`
reads every setting the same way, so precedence, the origin a message names and the
one-line refusal are the same for all of them; and an engine's options
(:class:`EngineOptions`) are declared where the engine lives, in the same form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sparkify_dw.errors import ConfigError

if TYPE_CHECKING:
    from sparkify_dw.uris import S3Uri

T = TypeVar("T")
Parse = Callable[[str, str], Any]  # (text, origin) -> value; ConfigError naming origin


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting, looked for in order: ``flag`` (a command-line option, given to
    :func:`~sparkify_dw.config.resolve` by name), ``env``, ``cfg`` (section, key), then
    ``default`` (text, parsed like any other; ``None``: unset)."""

    name: str  # the attribute it becomes
    parse: Callable[[str, str], T]
    help: str
    default: str | None = None
    flag: str | None = None
    env: str | None = None
    cfg: tuple[str, str] | None = None
    # A variable or key that is set but empty counts as set (and is refused by ``parse``),
    # where falling through to the default would quietly load something else.
    keep_empty: bool = False


class EngineOptions:
    """An engine's own settings, declared by its package (``EngineInfo.options``).

    A subclass is a frozen dataclass whose fields are named by :attr:`SPECS`; the
    resolver fills them from the same places as every other setting. An engine with
    nothing of its own to configure uses this class as is.
    """

    SPECS: ClassVar[tuple[Setting[Any], ...]] = ()

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> EngineOptions:
        """The options from resolved values (a missing one keeps the field's default)."""
        names = {spec.name for spec in cls.SPECS}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def defaults(cls) -> EngineOptions:
        """The options when nothing is configured (each spec's default, parsed)."""
        return cls.from_values(
            {s.name: s.parse(s.default, "default") for s in cls.SPECS if s.default is not None}
        )

    def s3_writes(self) -> tuple[S3Uri, ...]:
        """The S3 prefixes a load writes to: never read as data (a source under one is
        refused by the listing, not loaded)."""
        return ()


# --- parsers: (text, origin) -> value ----------------------------------------------------------


def text(value: str, origin: str) -> str:
    return value.strip()


MEMORY_RE = re.compile(
    r"\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE
)
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
MIN_MEMORY = 64 * 1024**2  # below this DuckDB can't load a batch of files
MAX_MEMORY = 1024**5  # 1024TiB: far beyond any machine, well within DuckDB's range


def memory_size(value: str, origin: str) -> int:
    """A memory size ("1GB", "512MiB") in bytes; one line when it isn't one."""
    match = MEMORY_RE.fullmatch(value)
    if match is None:
        raise ConfigError(f"{origin}: not a memory size like 1GB or 512MB: {value!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < MIN_MEMORY:
        raise ConfigError(f"{origin}: {value.strip()} is too little; at least 64MiB")
    if size > MAX_MEMORY:
        raise ConfigError(
            f"{origin}: {value.strip()} is more than any machine has; at most 1024TiB"
        )
    return size


def whole_number(low: int, high: int) -> Callable[[str, str], int]:
    """A parser for a whole number from ``low`` to ``high``."""

    def parse(value: str, origin: str) -> int:
        stripped = value.strip()
        number = int(stripped) if stripped.isdigit() else None
        if number is None or not low <= number <= high:
            raise ConfigError(f"{origin}: expected a whole number from {low} to {high}")
        return number

    return parse


REGION_RE = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")
IAM_ROLE_ARN_RE = re.compile(
    r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"
)


def region(value: str, origin: str) -> str:
    """An AWS region name."""
    value = value.strip()
    if not REGION_RE.fullmatch(value):
        raise ConfigError(f"{origin}: not an AWS region name (e.g. us-west-2)")
    return value


def iam_role_arn(value: str, origin: str) -> str:
    """An IAM role's ARN."""
    value = value.strip()
    if not IAM_ROLE_ARN_RE.fullmatch(value):
        raise ConfigError(f"{origin}: not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
    return value


def utc_now() -> dt.datetime:
    """Now, in UTC, without a time zone (as the warehouse stores times)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def moment(value: str, origin: str) -> dt.datetime:
    """A date or time (UTC), or ``+HOURS`` from now."""
    value = value.strip()
    try:
        if value.startswith("+"):
            return utc_now() + dt.timedelta(hours=float(value[1:]))
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{origin}: not a date, a time or +HOURS: {value!r}") from None
    except OverflowError:  # +inf, +1e9: past the last date there is
        raise ConfigError(f"{origin}: +HOURS must end before the year 9999: {value!r}") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.replace(tzinfo=None)
