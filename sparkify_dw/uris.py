"""Where raw data comes from, parsed once: an :class:`S3Uri` or a :class:`LocalPath`.

Why a module of its own: a source is given as text (a flag, the environment, dwh.cfg)
but used by the local lister, the S3 reader and Redshift's ``COPY``. Parsed here once, at
the edge (:func:`sparkify_dw.config.resolve`), it travels as a typed value: no caller
tests a string's scheme again, and an S3 URI that reaches SQL as literal text is an
:class:`S3Uri`, which cannot exist without passing the check below. This module imports
nothing of the package but its errors, so every other module may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from sparkify_dw.errors import ConfigError
from sparkify_dw.text import shown_path

S3_SCHEME = "s3://"
FILE_SCHEME = "file://"
# Bucket names per the S3 naming rules; keys: printable, no quotes or backslashes,
# so a value can never break out of a quoted SQL literal.
S3_URI_RE = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^'\"\\;\x00-\x1f\x7f]*)?")
NOT_VALID_S3 = (
    "not a valid S3 URI: quotes, semicolons, backslashes and control characters are not allowed"
)


def _show(text: str) -> str:
    """Text for a one-line message: control characters would break the line."""
    return text if text.isprintable() else repr(text)


def is_s3(text: str) -> bool:
    """Whether ``text`` is meant as an S3 URI (well-formed or not): the one scheme test."""
    return text.startswith(S3_SCHEME)


@dataclass(frozen=True, slots=True)
class S3Uri:
    """An S3 object or prefix, ``s3://bucket/key``; every instance passed the check, so its
    text is safe inside a quoted SQL literal (Redshift's ``COPY``)."""

    bucket: str
    key: str = ""  # "" names the whole bucket
    # "s3://bucket/" rather than "s3://bucket": the same place, given back as written.
    root_slash: bool = field(default=False, compare=False, repr=False)
    scheme: ClassVar[str] = "s3"

    def __post_init__(self) -> None:
        if "/" in self.bucket or not S3_URI_RE.fullmatch(str(self)):
            raise ConfigError(f"{_show(str(self))}: {NOT_VALID_S3}")

    def __str__(self) -> str:
        slash = "/" if self.key or self.root_slash else ""
        return f"{S3_SCHEME}{self.bucket}{slash}{self.key}"

    @classmethod
    def parse(cls, text: str, what: str) -> S3Uri:
        """``text`` as an S3Uri, or a one-line :class:`ConfigError` starting with ``what``."""
        if not is_s3(text):
            raise ConfigError(f"{what}: not an s3:// URI")
        bucket, slash, key = text.removeprefix(S3_SCHEME).partition("/")
        try:  # rebuilt from its parts, the text is the same: __post_init__ checks it
            return cls(bucket, key, root_slash=bool(slash) and not key)
        except ConfigError:
            raise ConfigError(f"{what}: {NOT_VALID_S3}") from None

    def _folder(self) -> str:
        """The key of this location taken as a folder: ``a/b`` and ``a/b/`` give ``a/b/``."""
        key = self.key.rstrip("/")
        return f"{key}/" if key else ""

    def child(self, name: str) -> S3Uri:
        """The object ``name`` in this location taken as a folder (checked like any other)."""
        return S3Uri(self.bucket, self._folder() + name)

    def holds(self, uri: str) -> bool:
        """Whether the URI text ``uri`` lies in this location taken as a folder."""
        return uri.startswith(f"{S3_SCHEME}{self.bucket}/{self._folder()}")


def _local_fault(text: str) -> str | None:
    """Why ``text`` can't be a local source, or None."""
    if is_s3(text):
        return "an s3:// URI, not a local path"
    if "://" in text and not text.startswith(FILE_SCHEME):
        return "unsupported source scheme (use a path, file:// or s3://)"
    if "\x00" in text:
        return "path contains a NUL byte"
    if not text.removeprefix(FILE_SCHEME).strip():
        # Not "the current directory": an unset variable in a script must not load a tree.
        return "empty: name a file, a directory, a glob or an s3:// URI"
    return None


@dataclass(frozen=True, slots=True)
class LocalPath:
    """A local source as configured: a file, a directory, a glob or a ``file://`` URI."""

    text: str
    scheme: ClassVar[str] = "file"

    def __post_init__(self) -> None:
        fault = _local_fault(self.text)
        if fault is not None:
            raise ConfigError(f"{_show(self.text)}: {fault}")

    def __str__(self) -> str:
        """As messages and the ledger show it (a name that is not UTF-8, escaped)."""
        return shown_path(self.text)

    @property
    def path(self) -> str:
        """The path or glob itself, without ``file://``."""
        return self.text.removeprefix(FILE_SCHEME)


Source: TypeAlias = S3Uri | LocalPath


def parse_source(text: Source | str, what: str) -> Source:
    """A source setting's text as an :class:`S3Uri` or a :class:`LocalPath` (one already
    parsed is returned as is); bad text is a one-line :class:`ConfigError` naming ``what``."""
    if isinstance(text, S3Uri | LocalPath):
        return text
    if is_s3(text):
        return S3Uri.parse(text, what)
    fault = _local_fault(text)
    if fault is not None:
        raise ConfigError(f"{what}: {fault}")
    return LocalPath(text)
