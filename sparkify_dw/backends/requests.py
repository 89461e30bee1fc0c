"""Which files a load stages: the staging requests every backend builds the same way.

A backend turns them into its own statements; what is listed, skipped and refused is
decided here once, so every backend stages the same files.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from sparkify_dw.config import Settings
from sparkify_dw.errors import ConfigError, SourceError
from sparkify_dw.models import STAGING_EVENTS, STAGING_SONGS
from sparkify_dw.sources import Reader, SourceFile, read_jsonpaths
from sparkify_dw.staging import EventWindow, StageRequest
from sparkify_dw.text import shown_path
from sparkify_dw.uris import LocalPath, S3Uri, Source

log = logging.getLogger("sparkify_dw.load")


@dataclass(frozen=True)
class Selection:
    """Which source files a load takes: all, only new ones, or a range of days."""

    incremental: bool = False  # skip files a successful load already staged
    since: dt.date | None = None  # log_data days, inclusive
    until: dt.date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ConfigError(f"since {self.since} is after until {self.until}")


def check_schemes(settings: Settings, schemes: frozenset[str], backend: str) -> None:
    """Refuse, in one line and before anything is listed, a source the backend can't
    stage from (Redshift's COPY reads only S3)."""
    for what, source in (
        ("log_data", settings.log_data),
        ("song_data", settings.song_data),
        ("log_jsonpath", settings.log_jsonpath),
    ):
        if source.scheme not in schemes:
            where = " or ".join(
                "an s3:// URI" if s == "s3" else "a local path"
                for s in sorted(schemes, reverse=True)
            )
            raise ConfigError(f"{what}: {backend} stages only from {where}; got {str(source)!r}")


def staging_requests(
    settings: Settings,
    reader: Reader | None = None,
    selection: Selection = Selection(),
    loaded: set[tuple[str, str]] | None = None,
) -> list[StageRequest]:
    """What the stage step loads: events mapped by the JSONPaths file, songs by key name.

    Everything here can fail before a load takes its lock: the JSONPaths file, listing,
    sources that overlap. ``loaded`` is the ledger's (uri, version) pairs: with
    ``selection.incremental`` the files it holds are left out (see :func:`unloaded`; the
    loader applies it under its lock). The JSONPaths file and COPY manifests are never data.
    """
    reader = reader or Reader.of(settings)
    events = STAGING_EVENTS
    paths = read_jsonpaths(settings.log_jsonpath, len(events.columns), reader)
    not_data = _not_data(settings)
    _refuse_nested(settings.log_data, settings.song_data)

    def files(source: Source, what: str) -> list[SourceFile]:
        found = [f for f in reader.list(source, what) if not not_data(f.uri)]
        if not found:
            raise SourceError(
                f"{what}: {source}: only the JSONPaths file or COPY manifests "
                "are there, no data files"
            )
        return found

    logs = files(settings.log_data, "log_data")
    songs = files(settings.song_data, "song_data")
    _refuse_shared(logs, songs, settings)
    if selection.since or selection.until:
        logs = [
            f
            for f in logs
            if f.day is not None
            and (selection.since is None or f.day >= selection.since)
            and (selection.until is None or f.day <= selection.until)
        ]
        if not logs:
            log.warning(
                "log_data: no YYYY-MM-DD day file from %s to %s under %s",
                selection.since or "the start",
                selection.until or "the end",
                settings.log_data,
            )
    reqs = [
        StageRequest(
            events,
            settings.log_data,
            list(paths),
            settings.log_jsonpath,
            tuple(logs),
            EventWindow(settings.earliest_event, settings.latest_event),
        ),
        # Songs are staged in full every time: they are the catalogue plays are matched to.
        StageRequest(
            STAGING_SONGS,
            settings.song_data,
            None,
            None,
            tuple(songs),
        ),
    ]
    if selection.incremental and loaded is not None:
        reqs = unloaded(reqs, loaded)
    return reqs


def unloaded(reqs: list[StageRequest], loaded: set[tuple[str, str]]) -> list[StageRequest]:
    """``reqs`` without the log files the ledger says a successful load staged (as they are
    now: a changed file counts as new); song files are always staged in full."""
    kept = []
    for req in reqs:
        if req.table is STAGING_EVENTS:
            req = replace(
                req, files=tuple(f for f in req.files if (f.uri, f.version) not in loaded)
            )
        kept.append(req)
    return kept


def _refuse_nested(logs: Source, songs: Source) -> None:
    """Two local folders, one inside the other (or the same), whatever links lead there:
    the song files would be staged as events, or the other way round."""
    if not (isinstance(logs, LocalPath) and isinstance(songs, LocalPath)):
        return
    if not (os.path.isdir(logs.path) and os.path.isdir(songs.path)):
        return  # a file or a pattern: the listings are compared instead
    a, b = os.path.realpath(logs.path), os.path.realpath(songs.path)
    if a == b or a.startswith(b.rstrip(os.sep) + os.sep) or b.startswith(a.rstrip(os.sep) + os.sep):
        raise ConfigError(
            f"log_data {logs} and song_data {songs} overlap (one folder is inside the "
            "other): point each at its own files"
        )


def _refuse_shared(logs: list[SourceFile], songs: list[SourceFile], settings: Settings) -> None:
    """A file listed as both an event log and a song file is a configuration error."""
    song_uris = {f.uri for f in songs}
    shared = next((f.uri for f in logs if f.uri in song_uris), None)
    if shared is None:  # the same local file by two paths (a link inside one source)
        shared = _same_file(logs, songs)
    if shared is not None:
        raise ConfigError(
            f"log_data {settings.log_data} and song_data {settings.song_data} "
            f"overlap: both list {shared}; point each at its own files"
        )


def _same_file(logs: list[SourceFile], songs: list[SourceFile]) -> str | None:
    """The first local file both lists reach, by device and inode; the smaller list is
    held as a set, the other streamed, so memory follows the smaller source."""

    def ident(f: SourceFile) -> tuple[int, int] | None:
        if f.path is None:
            return None
        stat = os.stat(f.path)
        return stat.st_dev, stat.st_ino

    small, big = (logs, songs) if len(logs) <= len(songs) else (songs, logs)
    held = {i: f.uri for f in small if (i := ident(f)) is not None}
    if not held:
        return None
    for f in big:
        i = ident(f)
        if i is not None and i in held:
            return f"{f.uri} (also {held[i]})"
    return None


def _not_data(settings: Settings) -> Callable[[str], bool]:
    """Whether a listed URI is the JSONPaths file or in a place the engine writes to
    (Redshift's COPY manifests)."""
    source = settings.log_jsonpath
    jsonpaths = (
        str(source) if isinstance(source, S3Uri) else shown_path(os.path.abspath(source.path))
    )
    written = settings.options.s3_writes()

    def check(uri: str) -> bool:
        return uri == jsonpaths or any(place.holds(uri) for place in written)

    return check
