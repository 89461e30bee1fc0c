"""Framing: where each JSON record of a file starts and ends, and why a bad one is bad.

Python decides what one engine parses and another refuses (NaN, trailing commas,
``\\u0000``, lone surrogates, huge exponents, deep nesting) before SQL sees a record
(:func:`record_fault`), and frames files whose lines are not records on their own
(pretty-printed JSON, broken lines, bytes that are not UTF-8) record by record, with each
record's first line (:func:`iter_records`). Every backend's careful path goes through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

import orjson

MAX_RECORD_BYTES = 4 * 1024 * 1024  # a record longer than this is malformed, not buffered

# A \u0000 escape is valid JSON, but PostgreSQL's jsonb and text can't hold the character:
# such a record is rejected on every backend, so they all stage the same rows.
NUL_ESCAPE = "\\u0000"
NUL_REASON = "contains \\u0000, which the warehouse's text can't hold"
SURROGATE_REASON = "contains a lone surrogate escape ({}), which is not Unicode"
NUMBER_REASON = "a number out of range: {}"
MAX_DEPTH = 512  # arrays and objects nested deeper make a record malformed
DEPTH_REASON = f"nested deeper than {MAX_DEPTH} levels"
MAX_EXPONENT = 999  # PostgreSQL's numeric refuses 1e-20000; every backend draws one line
MAX_NUMBER_CHARS = 1000

# What may make record_fault speak; everything else skips it (one regex on the bytes).
_SUSPECT_RE = (
    r"\\u(?:0000|[dD][89a-fA-F])|[0-9.][eE][+-]?0*[1-9][0-9]{3,}(?:[^0-9A-Za-z_]|$)"
    r"|[0-9.]{250}"
)
_SUSPECT = re.compile(_SUSPECT_RE.encode())
_SUSPECT_TEXT = re.compile(_SUSPECT_RE)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER = re.compile(r"-?[0-9][0-9.]*(?:[eE][+-]?([0-9]+))?")


def record_fault(text: str) -> str | None:
    """Why a well-formed JSON record is still rejected on every backend, or None.

    Exact where the fast paths' :class:`~sparkify_dw.constructs.suspect_record` only
    suspects: escapes are read in order, so an escaped backslash before ``u0000``
    (``C:\\\\u0000dir``) is text, not a NUL; numbers and brackets are looked for outside
    strings only.
    """
    if "\\u" in text:
        escapes = list(_ESCAPE.finditer(text))
        for i, m in enumerate(escapes):
            code = m.group(1)
            if len(code) != 5:
                continue
            value = int(code[1:], 16)
            if value == 0:
                return NUL_REASON
            if 0xD800 <= value <= 0xDBFF:  # high: a low one must follow at once
                nxt = escapes[i + 1] if i + 1 < len(escapes) else None
                if (
                    nxt is None
                    or nxt.start() != m.end()
                    or len(nxt.group(1)) != 5
                    or not 0xDC00 <= int(nxt.group(1)[1:], 16) <= 0xDFFF
                ):
                    return SURROGATE_REASON.format("\\" + code)
            elif 0xDC00 <= value <= 0xDFFF:
                prev = escapes[i - 1] if i else None
                if (
                    prev is None
                    or prev.end() != m.start()
                    or len(prev.group(1)) != 5
                    or not 0xD800 <= int(prev.group(1)[1:], 16) <= 0xDBFF
                ):
                    return SURROGATE_REASON.format("\\" + code)
    bare = None
    if _SUSPECT_TEXT.search(text):
        bare = _STRING.sub('""', text)
        for m in _NUMBER.finditer(bare):
            exponent = m.group(1)
            digits = (exponent or "").lstrip("0")
            if len(m.group(0)) > MAX_NUMBER_CHARS or (
                len(digits) > 3 or (digits and int(digits) > MAX_EXPONENT)
            ):
                return NUMBER_REASON.format(m.group(0)[:40])
    if text.count("[") + text.count("{") > MAX_DEPTH:
        bare = _STRING.sub('""', text) if bare is None else bare
        depth = deepest = 0
        for ch in bare:
            if ch in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif ch in "]}":
                depth -= 1
        if deepest > MAX_DEPTH:
            return DEPTH_REASON
    return None


Record = tuple[int, str | None, str]  # (line number, why it was rejected or None, text)
BOM = b"\xef\xbb\xbf"


def _reject_text(text: str) -> str:
    # Kept for the user to read in load_errors: no NUL (PostgreSQL text can't hold it).
    return text.replace("\x00", "\ufffd")


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: PostgreSQL and DuckDB refuse them, so framing does too.
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_WS = re.compile(r"[ \t\n\r]*")


def iter_records(stream: BinaryIO) -> Iterator[Record]:
    """Frame the JSON values of a byte stream, as Redshift's COPY does.

    Values are separated by whitespace, so newline-delimited files, concatenated values
    and pretty-printed objects all work. A good value's text is passed on verbatim (the
    database parses it); a bad one is yielded with its reason and framing resumes at the
    next line, so one broken line costs one record. A UTF-8 byte-order mark at the start
    is skipped. Memory is bounded by one record.
    """
    buf, start = "", 0  # text not yet framed, and the line it starts on
    lineno = 0
    for raw in stream:
        lineno += 1
        if lineno == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if not buf:
            # The common case, a whole record on its line: one call to a C parser that
            # also checks the UTF-8. Anything else takes the careful path below.
            stripped = raw.strip()
            if not stripped:
                continue
            if stripped[:1] in b"{[":
                try:
                    orjson.loads(stripped)
                except orjson.JSONDecodeError:
                    pass
                else:
                    text = stripped.decode()
                    fault = (
                        record_fault(text)
                        if _SUSPECT.search(stripped)
                        or stripped.count(b"[") + stripped.count(b"{") > MAX_DEPTH
                        else None
                    )
                    yield lineno, fault, (_reject_text(text) if fault else text)
                    continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield from _frame(buf, start, eof=True)
            buf = ""
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            yield lineno, f"invalid UTF-8 at byte {exc.start + 1} of the line", _reject_text(text)
            continue
        if not buf:
            if not line.strip():
                continue
            buf, start = line, lineno
        else:
            buf += line
        buf, start = yield from _frame(buf, start, eof=False)
    yield from _frame(buf, start, eof=True)


def _frame(buf: str, line_at: int, *, eof: bool) -> Generator[Record, None, tuple[str, int]]:
    """Yield the complete values in ``buf``; return the unfinished rest and its line."""
    pos = 0
    while True:
        ws = _WS.match(buf, pos)
        assert ws is not None
        line_at += buf.count("\n", pos, ws.end())
        pos = ws.end()
        if pos >= len(buf):
            return "", line_at
        try:
            _, end = _DECODER.raw_decode(buf, pos)
        except RecursionError:
            # Deeper than Python's parser goes: where the value ends is unknown, so the
            # rest of the line goes with it, as for malformed JSON.
            nl = buf.find("\n", pos)
            stop = len(buf) if nl < 0 else nl
            yield line_at, DEPTH_REASON, _reject_text(buf[pos:stop].rstrip("\r"))
            pos = stop
            continue
        except ValueError as exc:
            if not isinstance(exc, json.JSONDecodeError):  # NaN / Infinity
                exc = json.JSONDecodeError(str(exc), buf, pos)
            incomplete = exc.pos >= len(buf.rstrip()) and len(buf) - pos < MAX_RECORD_BYTES
            if incomplete and not eof:
                return buf[pos:], line_at  # the value may go on on the next line
            # Reject this line only and frame again from the next one.
            nl = buf.find("\n", pos)
            stop = len(buf) if nl < 0 else nl
            reason = "malformed JSON: " + (
                "unexpected end of data" if incomplete else f"{exc.msg} (column {exc.colno})"
            )
            yield line_at, reason, _reject_text(buf[pos:stop].rstrip("\r"))
            pos = stop
            continue
        text = buf[pos:end]
        fault = record_fault(text)
        yield line_at, fault, (_reject_text(text) if fault else text)
        line_at += buf.count("\n", pos, end)
        pos = end
