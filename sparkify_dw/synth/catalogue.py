"""The song catalogue: artists, ids, song files, and what a NextSong plays.

Why: song files are written once and only the few fields the plays need are
kept; artists are rebuilt from their index instead of held in memory.
"""

from __future__ import annotations

import json
import math
import random
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sparkify_dw.synth.layout import SONG_KEYS, _jlog, _mojibake
from sparkify_dw.synth.words import _ARTIST_PLACES, _VERBS, _artist_name, _title

MAX_SONGS = 16**7  # the 7 hex digits of a track id that carry the song's index


def _msd_id(rng: random.Random, prefix: str, infix: str, code: int, width: int) -> str:
    """An 18-character MSD-style id; ``code`` (unique per record) makes it unique."""
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
    return f"{prefix}{letters}{infix}{code:0{width}X}"


def _scramble(index: int, bits: int, mult: int, salt: int) -> int:
    """A bijection on ``bits``-bit integers (``mult`` odd), so ids look random yet
    never collide."""
    return (index * mult + salt) & ((1 << bits) - 1)


@dataclass
class _Artist:
    """One artist's attributes, rebuilt from its index instead of kept in memory."""

    artist_id: str
    name: str
    latitude: float | None
    longitude: float | None
    location: str


def _make_artist(seed: int, index: int) -> _Artist:
    rng = random.Random(seed * 1_000_003 + index)
    name = _artist_name(rng)
    location = "" if rng.random() < 0.36 else rng.choice(_ARTIST_PLACES)
    lat = lon = None
    if location and rng.random() < 0.6:
        lat = round(rng.uniform(-45.0, 65.0), 5)
        lon = round(rng.uniform(-125.0, 150.0), 5)
    code = _scramble(index, 28, 0x2545F491, seed * 0x5851F42D)
    return _Artist(_msd_id(rng, "AR", "1187", code, 7), name, lat, lon, location)


@dataclass
class _Catalogue:
    """What the event stream needs of each song: log-escaped title and artist, duration."""

    titles: list[str]
    artists: list[str]
    durations: array[float]


def _write_song_file(
    root: Path, track: str, record: dict[str, object], made_dirs: set[str]
) -> None:
    """One song file at ``A/B/C/<track>.json``, the folders from the track id."""
    folder = f"{track[2]}/{track[3]}/{track[4]}"
    if folder not in made_dirs:
        (root / folder).mkdir(parents=True, exist_ok=True)
        made_dirs.add(folder)
    with open(root / folder / f"{track}.json", "w", encoding="ascii", newline="") as fh:
        fh.write(json.dumps(record))


def _write_songs(root: Path, songs: int, seed: int) -> _Catalogue:
    """Write one JSON file per song and keep the few fields plays need.

    Artist ``a`` first appears at song ``a``; later songs reuse earlier artists,
    and the first reuse is artist 0 under a "featuring" variant of its name, so one
    artist_id carries two artist_name values as in the real data.
    """
    rng = random.Random(f"sparkify-synth/{seed}/songs")
    cat = _Catalogue([], [], array("d"))
    song_salt, track_salt = rng.getrandbits(32), rng.getrandbits(28)
    n_artists = max(1, min(songs - 1, math.ceil(songs * 0.7))) if songs > 1 else 1
    artist_json: list[str] = []
    made_dirs: set[str] = set()
    for i in range(songs):
        if i < n_artists:
            a = i
        elif i == n_artists:
            a = 0
        else:
            a = rng.randrange(n_artists)
        artist = _make_artist(seed, a)
        name = artist.name
        if i < n_artists:
            artist_json.append(_jlog(name))
            name_json = artist_json[a]
        elif i == n_artists:
            name = f"{name} featuring {_artist_name(rng)}"
            name_json = _jlog(name)
        else:
            name_json = artist_json[a]
        title = _title(rng)
        micro = int(rng.lognormvariate(math.log(235.0), 0.35) * 50_000)
        micro = min(max(micro, 750_000), 90_000_000) * 2  # even: a catalogue duration
        duration = micro / 100_000
        year = 0 if rng.random() < 0.5 else min(2010, 1955 + int(rng.betavariate(4, 1.5) * 56))
        song_id = _msd_id(rng, "SO", "12A", _scramble(i, 32, 0x9E3779B1, song_salt), 8)
        track = _msd_id(rng, "TR", "128F", _scramble(i, 28, 0x6C8E9CF5, track_salt), 7)
        values = (
            1,
            artist.artist_id,
            artist.latitude,
            artist.longitude,
            artist.location,
            name,
            song_id,
            title,
            duration,
            year,
        )
        _write_song_file(root, track, dict(zip(SONG_KEYS, values, strict=True)), made_dirs)
        cat.titles.append(_jlog(title))
        cat.artists.append(name_json)
        cat.durations.append(duration)
    return cat


def _foreign_pool(
    rng: random.Random, size: int, cat: _Catalogue
) -> list[tuple[str, str, str, float]]:
    """Plays of songs that are not in song_data: (artist, song, length, seconds).

    Mostly unknown artists (non-ASCII names mangled as in the real logs), plus
    traps for joins: a known artist with a new title, and a known (title, artist)
    at another length (at least 2 ms off, so not equal even to the millisecond).
    Lengths are odd in the fifth decimal, so none matches exactly either.
    """
    pool: list[tuple[str, str, str, float]] = []
    n_songs = len(cat.titles)
    for _ in range(size):
        kind = rng.random()
        micro = int(rng.lognormvariate(math.log(235.0), 0.4) * 50_000)
        micro = min(max(micro, 750_000), 90_000_000) * 2 + 1
        if n_songs and kind < 0.08:  # near miss: same title and artist, other length
            j = rng.randrange(n_songs)
            base = round(cat.durations[j] * 100_000)
            # 2 ms to 20 ms off: the loader matches durations to the millisecond.
            micro = max(base + rng.choice((-1, 1)) * (2 * rng.randrange(100, 1000) + 1), 750_001)
            artist, song = cat.artists[j], cat.titles[j]
        elif n_songs and kind < 0.2:  # a known artist, a song not in song_data
            artist, song = cat.artists[rng.randrange(n_songs)], _jlog(_title(rng))
        else:
            name = _artist_name(rng)
            if rng.random() < 0.05:
                name = f"{name} / {_artist_name(rng)}"
            title = _title(rng)
            if rng.random() < 0.01:
                title = f"Don\x19t {rng.choice(_VERBS)} Me"  # the \u0019 of the real logs
            artist, song = _jlog(_mojibake(name)), _jlog(_mojibake(title))
        seconds = micro / 100_000
        pool.append((artist, song, repr(seconds), seconds))
    return pool


class _Plays:
    """What a NextSong event plays: with ``match_share`` a catalogue song (popular ones
    more often), else a play from the pool of songs not in song_data."""

    def __init__(
        self, cat: _Catalogue, pool: Sequence[tuple[str, str, str, float]], match_share: float
    ) -> None:
        self.cat, self.pool = cat, pool
        self.n_songs = len(cat.titles)
        self.share = match_share if self.n_songs else 0.0
        # Popularity: the rank int(n * u * v) (u, v uniform) is skewed to the top; a stride
        # coprime with n spreads the popular ranks over the catalogue, not its first songs.
        stride = 7919
        while self.n_songs and math.gcd(stride, self.n_songs) != 1:
            stride += 2
        self.stride = stride

    def draw(self, rnd: Callable[[], float]) -> tuple[str, str, str, float, bool]:
        """(artist, song, length, seconds, matched) as log JSON fragments."""
        if rnd() < self.share:
            n = self.n_songs
            idx = (int(n * rnd() * rnd()) * self.stride) % n
            seconds = self.cat.durations[idx]
            return self.cat.artists[idx], self.cat.titles[idx], repr(seconds), seconds, True
        art, song, length, seconds = self.pool[int(len(self.pool) * rnd() * rnd())]
        return art, song, length, seconds, False
