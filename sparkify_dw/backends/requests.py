"""Which files a load stages: the staging requests every backend builds the same way.

A backend turns them into its own statements; what is listed, skipped and refused is
decided here once, so every backend stages the same files.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from sparkify_dw.config import ConfigError, Settings
from sparkify_dw.models import STAGING_EVENTS, STAGING_SONGS
from sparkify_dw.sources import Reader, SourceError, SourceFile, read_jsonpaths
from sparkify_dw.staging import StageRequest
from sparkify_dw.uris import S3Uri, Source

log = logging.getLogger("sparkify_dw.load")


@dataclass(frozen=True)
class Selection:
    """Which source files a load takes: all, only new ones, or a range of days."""

    incremental: bool = False  # skip files a successful load already staged
    since: dt.date | None = None  # log_data days, inclusive
    until: dt.date | None = None

    @property
    def narrowed(self) -> bool:
        return self.incremental or self.since is not None or self.until is not None


def scheme(source: Source) -> str:
    """``s3`` for an S3 URI, ``file`` for a local path, glob or file:// URI."""
    return source.scheme


def check_schemes(settings: Settings, schemes: frozenset[str], backend: str) -> None:
    """Refuse, in one line and before anything is listed, a source the backend can't
    stage from (Redshift's COPY reads only S3)."""
    for what, source in (
        ("log_data", settings.log_data_source),
        ("song_data", settings.song_data_source),
        ("log_jsonpath", settings.log_jsonpath_source),
    ):
        if scheme(source) not in schemes:
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

    ``loaded`` is the ledger's (uri, version) pairs, for ``selection.incremental``. The
    JSONPaths file and COPY manifests are never data.
    """
    reader = reader or Reader(settings.region, settings.s3_endpoint)
    events = STAGING_EVENTS
    paths = read_jsonpaths(settings.log_jsonpath_source, len(events.columns), reader)
    not_data = _not_data(settings)

    def files(source: Source, what: str, logs: bool) -> tuple[SourceFile, ...]:
        found = [f for f in reader.list(source, what) if not not_data(f.uri)]
        if not found:
            raise SourceError(
                f"{what}: {source}: only the JSONPaths file or COPY manifests "
                "are there, no data files"
            )
        if not logs:
            return tuple(found)
        if selection.since or selection.until:
            found = [
                f
                for f in found
                if f.day is not None
                and (selection.since is None or f.day >= selection.since)
                and (selection.until is None or f.day <= selection.until)
            ]
            if not found:
                log.warning(
                    "%s: no YYYY-MM-DD day file from %s to %s under %s",
                    what,
                    selection.since or "the start",
                    selection.until or "the end",
                    source,
                )
        if selection.incremental:
            found = [f for f in found if (f.uri, f.version) not in (loaded or set())]
        log.info("%s: %d file(s) to stage", what, len(found))
        return tuple(found)

    return [
        StageRequest(
            events,
            settings.log_data_source,
            list(paths),
            settings.log_jsonpath_source,
            files(settings.log_data_source, "log_data", True),
        ),
        # Songs are staged in full every time: they are the catalogue plays are matched to.
        StageRequest(
            STAGING_SONGS,
            settings.song_data_source,
            None,
            None,
            files(settings.song_data_source, "song_data", False),
        ),
    ]


def _not_data(settings: Settings) -> Callable[[str], bool]:
    """Whether a listed URI is the JSONPaths file or under the COPY manifest prefix."""
    source = settings.log_jsonpath_source
    jsonpaths = str(source) if isinstance(source, S3Uri) else os.path.abspath(source.path)
    manifests = settings.manifest_location

    def check(uri: str) -> bool:
        return uri == jsonpaths or (manifests is not None and manifests.holds(uri))

    return check
