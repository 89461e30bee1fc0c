"""Where raw JSON comes from: listing source files and the JSONPaths file (records are
framed by :mod:`sparkify_dw.framing`).

A source is a file, a directory (searched recursively) or a glob. Hidden files and
directories are skipped: real checkouts of the Sparkify data carry
``.ipynb_checkpoints/`` folders with duplicate files.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, BinaryIO

from sparkify_dw import extras
from sparkify_dw.errors import SourceError
from sparkify_dw.text import shown_path
from sparkify_dw.uris import LocalPath, S3Uri, Source, parse_source

if TYPE_CHECKING:  # at run time s3 (and boto3 with it) is imported when a source is in S3
    from sparkify_dw.config import Settings
    from sparkify_dw.s3 import Readahead, S3Client, S3Object

log = logging.getLogger(__name__)

JsonPath = tuple[str | int, ...]


def _visible(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    return not any(p.startswith(".") for p in parts)


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of a source, local or in S3, as the ledger records it."""

    uri: str  # absolute path or s3:// URI
    size: int
    version: str  # "mtime:<ns>" or "etag:<etag>": a changed file is a new file
    path: str | None = None  # set for local files
    remote: S3Object | None = None  # set for S3 files

    @property
    def s3_object(self) -> S3Object:
        """The listed object of a file in S3; a local file has none (a :class:`SourceError`)."""
        if self.remote is None:
            raise SourceError(f"{self.uri}: not a listed S3 object")
        return self.remote

    @property
    def day(self) -> dt.date | None:
        """The day in a ``YYYY-MM-DD-events.json`` name, for ``--since`` / ``--until``."""
        m = _DAY.search(self.uri.rsplit("/", 1)[-1])
        if m is None:
            return None
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None


class Reader:
    """Where source files come from: the local disk, or S3 through boto3 (one client,
    ``workers`` GETs at a time)."""

    @classmethod
    def of(cls, settings: Settings) -> Reader:
        """The reader a load's settings describe (region, endpoint, concurrent GETs)."""
        return cls(settings.region, settings.s3_endpoint, settings.s3_workers)

    def __init__(
        self, region: str | None = None, endpoint: str | None = None, workers: int = 16
    ) -> None:
        self.region, self.endpoint, self.workers = region, endpoint, workers
        self._client: S3Client | None = None
        self._readahead: Readahead | None = None  # GETs of listed objects run ahead

    def client(self) -> S3Client:
        if self._client is None:
            extras.require("s3", "reading s3:// sources")  # before importing boto3
            from sparkify_dw import s3

            self._client = s3.client(self.region, self.endpoint, self.workers)
        return self._client

    def list(self, source: Source | str, what: str) -> list[SourceFile]:
        source = parse_source(source, what)
        if isinstance(source, S3Uri):
            client = self.client()
            from sparkify_dw import s3

            objects = [o for o in s3.list_objects(source, what, client) if o.size > 0]
            self.readahead().plan(objects)
            files = [SourceFile(o.uri, o.size, f"etag:{o.etag}", remote=o) for o in objects]
        else:
            files = []
            shown: dict[str, str] = {}
            for path, size, mtime in scan_files(source, what):
                path = os.path.abspath(path)
                # A name that is not UTF-8 is read by its bytes (path) and recorded escaped.
                uri = shown_path(path)
                if shown.setdefault(uri, path) != path:  # caf\xe9 spelt out beside byte E9
                    raise SourceError(
                        f"{what}: {source}: two files are named {uri} once a name that is "
                        "not UTF-8 is escaped: rename one"
                    )
                files.append(SourceFile(uri, size, f"mtime:{mtime}", path=path))
        for f in files:
            _check_uri_length(f.uri, what)
        return files

    def open(self, f: SourceFile, what: str = "source") -> BinaryIO:
        """The listed file itself, by its exact path (no pattern expansion). A file that
        vanished or changed since it was listed is a :class:`SourceError`, never skipped:
        the ledger must not record content that wasn't read."""
        if f.path is not None:
            try:
                stream = open(f.path, "rb")  # noqa: SIM115  (returned to the caller)
            except FileNotFoundError:
                raise SourceError(f"{what}: {f.uri}: vanished after it was listed") from None
            except OSError as exc:
                raise SourceError(f"{what}: {f.uri}: cannot read: {exc.strerror or exc}") from None
            try:
                _check_unchanged(f, os.fstat(stream.fileno()), what)
            except SourceError:
                stream.close()
                raise
            return _VerifiedFile(stream, f, what)  # type: ignore[return-value]
        return self.readahead().open(f.s3_object, what)

    def readahead(self) -> Readahead:
        from sparkify_dw import s3

        if self._readahead is None:
            self._readahead = s3.Readahead(self.client, self.workers)
        return self._readahead

    def verify(self, f: SourceFile, what: str = "source") -> None:
        """Raise :class:`SourceError` unless the local file ``f`` is still as listed (after
        an engine read it by its path)."""
        if f.path is None:
            return
        try:
            stat = os.stat(f.path)
        except FileNotFoundError:
            raise SourceError(f"{what}: {f.uri}: vanished after it was listed") from None
        except OSError as exc:
            raise SourceError(f"{what}: {f.uri}: cannot read: {exc.strerror or exc}") from None
        _check_unchanged(f, stat, what)

    def read_text(self, uri: S3Uri | str, what: str) -> str:
        client = self.client()
        from sparkify_dw import s3

        return s3.read_text(uri, client, what=what)


MAX_URI_BYTES = 1024  # load_files.uri and load_errors.source: VARCHAR(1024), bytes on Redshift


def _check_uri_length(uri: str, what: str) -> None:
    size = len(uri.encode("utf-8", "surrogateescape"))
    if size > MAX_URI_BYTES:
        raise SourceError(
            f"{what}: {uri[:80]}…: the path is {size:,} bytes long; the ledger "
            f"keeps paths up to {MAX_URI_BYTES:,}"
        )


def _check_unchanged(f: SourceFile, stat: os.stat_result, what: str) -> None:
    if not S_ISREG(stat.st_mode):
        raise SourceError(f"{what}: {f.uri}: no longer a regular file")
    version = f"mtime:{stat.st_mtime_ns}"
    if stat.st_size != f.size or version != f.version:
        raise SourceError(
            f"{what}: {f.uri}: changed after it was listed "
            f"({f.size:,} bytes listed, {stat.st_size:,} now); load again"
        )


class _VerifiedFile:
    """A local file that checks, when closed, that it was not changed while being read."""

    def __init__(self, stream: BinaryIO, f: SourceFile, what: str) -> None:
        self._stream, self._file, self._what = stream, f, what

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)

    def close(self) -> None:
        if self._stream.closed:
            return
        try:
            _check_unchanged(self._file, os.fstat(self._stream.fileno()), self._what)
        finally:
            self._stream.close()

    def __enter__(self) -> _VerifiedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:  # already failing: don't mask the error with the check's
            self._stream.close()


Scanned = tuple[str, int, int]  # path, size, mtime in ns: compact, sources may hold 385k files


def scan_files(source: LocalPath | str, what: str = "source") -> list[Scanned]:
    """The local JSON files a source names, sorted, hidden and empty ones left out, each
    with its size and mtime from one ``stat``."""
    text = (source if isinstance(source, LocalPath) else LocalPath(source)).path
    # A pattern, unless a file or directory has that very name.
    if any(ch in text for ch in "*?[") and not os.path.lexists(text):
        root = Path(text.split("*")[0].split("?")[0].split("[")[0]).parent
        candidates = sorted(Path(p) for p in glob.glob(text, recursive=True))
        by_file: dict[tuple[int, int], Scanned] = {}
        for p in candidates:
            if not (p.is_file() and _visible(p, root)):
                continue
            _keep_once(by_file, str(p), p.stat())
        files = list(by_file.values())
        if not files:
            raise SourceError(f"{what}: {source}: the pattern matches no file")
        return _without_empty(files, what, source)
    path = Path(text)
    if path.is_file():
        stat = path.stat()
        if stat.st_size == 0:
            raise SourceError(f"{what}: {source}: the file is empty")
        return [_scanned(str(path), stat)]
    if not path.exists():
        raise SourceError(f"{what}: {source}: no such file or directory")
    if not path.is_dir():
        raise SourceError(f"{what}: {source}: not a file or directory")
    found, other = _walk(path, what, source)
    if other:
        log.warning(
            "%s: ignored %d file(s) not named *.json under %s, e.g. %s",
            what,
            len(other),
            source,
            sorted(other)[0],
        )
    if not found:
        raise SourceError(f"{what}: {source}: no *.json files in this directory")
    return _without_empty(found, what, source)


def _walk(root: Path, what: str, source: LocalPath | str) -> tuple[list[Scanned], list[str]]:
    """Every visible ``*.json`` file under ``root`` and the other files' paths.

    Nothing is passed over without a word: linked folders are followed (each real folder
    entered once, so a loop ends and no file is read twice), and a folder that can't be
    listed, a link that leads nowhere or a ``*.json`` that is not a regular file (a FIFO, a
    socket, a device) stops the scan with one line naming it.
    """

    def refuse(path: str, why: str) -> SourceError:
        return SourceError(f"{what}: {source}: {shown_path(path)}: {why}")

    def failed(exc: OSError) -> None:
        raise refuse(str(exc.filename), f"cannot list this folder ({exc.strerror})")

    def real(path: str) -> tuple[int, int]:
        stat = os.stat(path)
        return stat.st_dev, stat.st_ino

    seen = {real(str(root))}
    other: list[str] = []
    files: dict[tuple[int, int], Scanned] = {}
    for folder, dirs, names in os.walk(root, onerror=failed, followlinks=True):
        kept = []
        for name in sorted(dirs):
            if name.startswith("."):  # hidden folders: not entered
                continue
            try:
                key = real(os.path.join(folder, name))
            except OSError as exc:
                raise refuse(os.path.join(folder, name), exc.strerror or str(exc)) from None
            if key not in seen:
                seen.add(key)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            if name.startswith("."):
                continue
            full = os.path.join(folder, name)
            if not name.lower().endswith(".json"):
                other.append(full)
                continue
            try:
                stat = os.stat(full)
            except OSError as exc:  # a dangling link, a loop of links
                raise refuse(full, f"cannot read it ({exc.strerror})") from None
            if not S_ISREG(stat.st_mode):
                raise refuse(full, "not a regular file (a FIFO, socket or device)")
            _keep_once(files, full, stat)
    return list(files.values()), other


def _keep_once(files: dict[tuple[int, int], Scanned], path: str, stat: os.stat_result) -> None:
    """Add ``path`` to ``files`` by the file it is: a file reached again through a link is
    listed once, by its own path if the listing meets that too."""
    key = (stat.st_dev, stat.st_ino)
    if key not in files or os.path.realpath(path) == os.path.abspath(path):
        files[key] = _scanned(path, stat)


def _scanned(path: str, stat: os.stat_result) -> Scanned:
    return path, stat.st_size, stat.st_mtime_ns


def _without_empty(files: list[Scanned], what: str, source: LocalPath | str) -> list[Scanned]:
    # An empty file holds no records: skipped with a warning, not an error.
    empty = [p for p, size, _ in files if size == 0]
    if empty:
        log.warning(
            "%s: skipped %d empty file(s) under %s, e.g. %s",
            what,
            len(empty),
            source,
            sorted(empty)[0],
        )
    kept = sorted(f for f in files if f[1] > 0)
    if not kept:
        raise SourceError(f"{what}: {source}: every *.json file is empty")
    return kept


_PATH_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|\[\s*'(?P<sq>[^'\\]*)'\s*\]"""
    r"""|\[\s*"(?P<dq>[^"\\]*)"\s*\]"""
    r"""|\[\s*(?P<idx>[0-9]+)\s*\]"""
)


def parse_jsonpath(expr: str) -> JsonPath:
    """``$['a']``, ``$.a``, ``$["a"][0]`` … as a tuple of keys and indexes (Redshift's subset)."""
    if not expr.startswith("$"):
        raise ValueError(f"JSONPath must start with $: {expr!r}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(expr):
        m = _PATH_STEP.match(expr, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath syntax at position {pos}: {expr!r}")
        if m.group("idx") is not None:
            steps.append(int(m.group("idx")))
        else:
            steps.append(m.group("name") or m.group("sq") or m.group("dq") or "")
        pos = m.end()
    if not steps:
        raise ValueError(f"JSONPath selects the whole record: {expr!r}")
    return tuple(steps)


def read_jsonpaths(
    source: Source | str, expected: int, reader: Reader | None = None
) -> list[JsonPath]:
    """Parse a JSONPaths file; its paths map event fields to columns by position."""
    source = parse_source(source, "log_jsonpath")
    try:
        if isinstance(source, S3Uri):
            text = (reader or Reader()).read_text(source, "log_jsonpath")  # one BOM dropped
        else:
            text = Path(source.path).read_text(encoding="utf-8-sig")
        doc = json.loads(text)
    except FileNotFoundError:
        raise SourceError(f"log_jsonpath: {source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"log_jsonpath: {source}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"log_jsonpath: {source}: not valid JSON: {exc}") from None
    paths = doc.get("jsonpaths") if isinstance(doc, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise SourceError(f'log_jsonpath: {source}: expected {{"jsonpaths": ["$.field", …]}}')
    if len(paths) != expected:
        raise SourceError(
            f"log_jsonpath: {source}: has {len(paths)} paths, staging_events has {expected} columns"
        )
    try:
        return [parse_jsonpath(p) for p in paths]
    except ValueError as exc:
        raise SourceError(f"log_jsonpath: {source}: {exc}") from None
