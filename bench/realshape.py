"""Copies of the real sample, shaped like Sparkify's real data set, for the benchmark.

Why: the synthetic generator writes one song per file and ~20 events per song, which flatters
a loader that frames small files well. The public data set is shaped differently: per
"copy" of the bundled sample's worth of events, about 71 song files and 30 day files, with
about 113 events per song file. A set of N copies here has exactly that shape:

* **day files**: 30 per copy, ``log_data/YYYY/MM/YYYY-MM-DD-events.json``; day ``d`` of
  copy ``c`` is the sample's day file ``d % 16`` with its timestamps moved to
  2010-01-01 + (30·c + d) days, so no two copies share a date or a file name;
* **song files**: 71 per copy, ``song_data/X/Y/Z/TR….json``: the sample's 36 songs, plus
  35 more (the first 35 again, retitled, so they match no event), as the real catalogue
  holds many songs nobody played;
* **fresh ids per copy**: new 18-character Million-Song-style ids (``SO…``, ``AR…``,
  ``TR…``), one artist id per sample artist within a copy;
* **names rewritten consistently per copy**: plays find songs by title, artist name and
  duration, so every title and artist name, in song files and in events alike, gets the
  copy's tag (`` [c7]``): plays match within a copy exactly as in the sample, never across;
* **user and session ids offset per copy** (and sessions per reuse of a day file), so
  copies don't collapse onto each other's users, sessions or songplays.

So a load of N copies gives exactly N times one copy's songplays and matched plays.
Deterministic: copy ``c`` is the same whatever N is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkify_dw.framing import iter_records
from sparkify_dw.sources import scan_files

DAYS_PER_COPY = 30
SONG_FILES_PER_COPY = 71  # the public song_data's files per copy-equivalent of events
FIRST_DAY = dt.date(2010, 1, 1)  # 200 copies still end before 2026-06: no event in the future
USER_STRIDE = 1_000  # sample user ids are below 1,000
SESSION_STRIDE = 10_000  # sample session ids are below 10,000
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DAY_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})-events\.json$")
MS_PER_DAY = 86_400_000

Record = dict[str, Any]


def sample_dir() -> Path:
    return Path(str(importlib.resources.files("sparkify_dw").joinpath("sample")))


@dataclass
class Sample:
    """The bundled sample, parsed once: its day files (date, records) and songs."""

    days: list[tuple[dt.date, list[Record]]]
    songs: list[Record]
    digest: str  # of the files read: a changed sample means a stale set

    @classmethod
    def load(cls, root: Path | None = None) -> Sample:
        root = root or sample_dir()
        digest = hashlib.sha256()
        days: list[tuple[dt.date, list[Record]]] = []
        for path, _, _ in scan_files(str(root / "log_data")):
            m = DAY_NAME.search(path)
            if m is None:
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            digest.update(data)
            records = []
            with open(path, "rb") as fh:
                for _, reason, text in iter_records(fh):
                    if reason is None:
                        records.append(json.loads(text))
            days.append((dt.date(int(m[1]), int(m[2]), int(m[3])), records))
        songs = []
        for path, _, _ in scan_files(str(root / "song_data")):
            with open(path, "rb") as fh:
                data = fh.read()
            digest.update(data)
            songs.append(json.loads(data))
        if not days or not songs:
            raise ValueError(f"{root}: no day files or no song files")
        return cls(days, songs, digest.hexdigest()[:16])


@dataclass
class CopyStats:
    """What was written for one copy, or a whole set."""

    log_files: int = 0
    log_bytes: int = 0
    song_files: int = 0
    song_bytes: int = 0
    events: int = 0
    song_ids: set[str] = field(default_factory=set)
    artist_ids: set[str] = field(default_factory=set)
    track_ids: set[str] = field(default_factory=set)

    def add(self, other: CopyStats) -> None:
        self.log_files += other.log_files
        self.log_bytes += other.log_bytes
        self.song_files += other.song_files
        self.song_bytes += other.song_bytes
        self.events += other.events
        for mine, theirs in (
            (self.song_ids, other.song_ids),
            (self.artist_ids, other.artist_ids),
            (self.track_ids, other.track_ids),
        ):
            mine |= theirs


class Ids:
    """Fresh 18-character ids for one copy: a prefix and 16 letters or digits."""

    def __init__(self, copy: int) -> None:
        self.rng = random.Random(f"sparkify-real-shape-{copy}")
        self.seen: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            made = prefix + "".join(self.rng.choices(ID_CHARS, k=16))
            if made not in self.seen:
                self.seen.add(made)
                return made


def tag(copy: int) -> str:
    return f" [c{copy}]"


def _named(value: Any, suffix: str) -> Any:
    return value + suffix if isinstance(value, str) and value else value


def copy_songs(
    sample: Sample, copy: int, ids: Ids, files: int = SONG_FILES_PER_COPY
) -> Iterator[tuple[str, Record]]:
    """(track id, song record) of one copy: the sample's songs renamed, then extras."""
    suffix = tag(copy)
    artists: dict[str, str] = {}
    for n in range(files):
        song = dict(sample.songs[n % len(sample.songs)])
        extra = n >= len(sample.songs)
        song["artist_id"] = artists.setdefault(song["artist_id"], ids.new("AR"))
        song["song_id"] = ids.new("SO")
        title = f"{song['title']} (take {n // len(sample.songs) + 1})" if extra else song["title"]
        song["title"] = _named(title, suffix)
        song["artist_name"] = _named(song["artist_name"], suffix)
        yield ids.new("TR"), song


def copy_day(records: list[Record], copy: int, shift_ms: int, reuse: int) -> Iterator[Record]:
    """One day file's events for ``copy``: dates moved, ids offset, names tagged."""
    suffix = tag(copy)
    session_offset = (copy * 2 + reuse) * SESSION_STRIDE
    for rec in records:
        out = dict(rec)
        if isinstance(out.get("ts"), int):
            out["ts"] += shift_ms
        user = out.get("userId")
        if isinstance(user, str) and user.isdigit():
            out["userId"] = str(int(user) + copy * USER_STRIDE)
        if isinstance(out.get("sessionId"), int):
            out["sessionId"] += session_offset
        out["song"] = _named(out.get("song"), suffix)
        out["artist"] = _named(out.get("artist"), suffix)
        yield out


def _dump(record: Record) -> str:
    return json.dumps(record, separators=(",", ":"))


def write_copy(sample: Sample, root: Path, copy: int, days: int = DAYS_PER_COPY) -> CopyStats:
    """Write copy ``copy`` under ``root/log_data`` and ``root/song_data``."""
    stats = CopyStats()
    ids = Ids(copy)
    for track, song in copy_songs(sample, copy, ids):
        path = root / "song_data" / track[2] / track[3] / track[4] / f"{track}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _dump(song).encode()
        path.write_bytes(data)
        stats.song_files += 1
        stats.song_bytes += len(data)
        stats.track_ids.add(track)
        stats.song_ids.add(song["song_id"])
        stats.artist_ids.add(song["artist_id"])
    for d in range(days):
        source_day, records = sample.days[d % len(sample.days)]
        day = FIRST_DAY + dt.timedelta(days=copy * days + d)
        shift = (day - source_day).days * MS_PER_DAY
        path = root / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-events.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [_dump(r) for r in copy_day(records, copy, shift, d // len(sample.days))]
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        stats.log_files += 1
        stats.log_bytes += len(data)
        stats.events += len(lines)
    return stats


def build(root: Path, copies: int, sample: Sample | None = None) -> CopyStats:
    """Write ``copies`` copies of the sample under ``root`` (which should not exist)."""
    sample = sample or Sample.load()
    total = CopyStats()
    for copy in range(copies):
        total.add(write_copy(sample, root, copy))
    return total


def fingerprint(sample: Sample) -> str:
    """This generator's source and the sample: either changed means a stale set."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(sample.digest.encode())
    return digest.hexdigest()[:16]
