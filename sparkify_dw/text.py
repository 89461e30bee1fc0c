"""Text as a terminal, a log line or a database column takes it: file names that are
not UTF-8, control characters, and byte limits."""

from __future__ import annotations

import re


def shown_path(text: str) -> str:
    """A path as text any database and terminal takes: the bytes of a name that is not
    UTF-8 (read by Python as lone surrogates) become ``\\xe9`` escapes. The file itself is
    still opened by its real name."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name holds
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` for a terminal line: control characters (a tab, a newline, an escape
    sequence in a file name) shown as ``\\t``, ``\\n``, ``\\x1b``, never acted on."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character.

    Why: a VARCHAR(n) holds n bytes on Redshift but n characters on DuckDB and PostgreSQL;
    cut by bytes, the same text fits all three.
    """
    text = shown_path(text)  # a file name that is not UTF-8, escaped: any database takes it
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")
