"""Synthetic Sparkify data in the exact layout and format of the public dataset.

Why: the loader, the warehouse and its benchmarks need inputs of any size that
look like the real ``song_data``/``log_data`` trees, byte for byte where it
matters (key order, separators, ``\\/`` and ``\\u`` escapes, float registration,
quoted user agents, blank lines), but the sample has only a few thousand events.

Usage::

    python -m sparkify_dw.synth --events 1000000 --songs 10000 --days 30 \\
        --seed 1 --out /tmp/sparkify-synth

Design notes (why it is shaped like this):

* Output is a stream. Sessions are merged on one heap keyed by their next
  event's time, so events come out in time order across users and are written
  to the day file of their UTC date as they are produced. Memory is bounded by
  the number of concurrent sessions, the users and the song catalogue, never by
  ``events``.
* Everything is drawn from ``random.Random`` instances seeded from ``seed``
  (songs, users and events each get their own stream), so one set of
  arguments always gives byte-identical output. No wall-clock time is read.
* A play "matches" a song when (song, artist, length) equals (title,
  artist_name, duration). Catalogue durations are whole multiples of 20
  microseconds (even in the fifth decimal); unmatched plays get lengths that are
  odd there, so an unmatched play can never match by accident, not even the
  near misses that reuse a catalogue title and artist with another length.
* The event loop (``_EventStream.run``) is one function with local names, as it
  is the hot path; what it decides is in small parts around it: a ``_Spawner``
  starts sessions, a ``_Crowd`` lends them users, a ``_Session`` draws its next
  page, ``_Plays`` picks the song of a NextSong, and ``PAGE_TRANSITIONS`` says
  what may follow a page. The order of the random draws is part of the output:
  a change that moves one changes the bytes (``tests/test_synth.py`` pins them).
"""

from __future__ import annotations

import argparse
import calendar
import heapq
import json
import math
import random
import shutil
import sys
import time
from array import array
from bisect import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn, TextIO

__all__ = ["Summary", "SynthError", "default_users", "generate", "main"]

DEFAULT_START = date(2018, 11, 1)
MAX_DAYS = 100_000  # the day quotas are a list; keep it small
MAX_SONGS = 16**7  # the 7 hex digits of a track id that carry the song's index
_MS = 796  # every ts and registration in the real logs ends in ...796 ms
_DAY = 86_400
_CHUNK = 4096  # lines buffered before a write: bounds memory, amortises I/O

LOG_KEYS = (
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length",
    "level", "location", "method", "page", "registration", "sessionId", "song",
    "status", "ts", "userAgent", "userId",
)  # fmt: skip
SONG_KEYS = (
    "num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
    "artist_name", "song_id", "title", "duration", "year",
)  # fmt: skip


class SynthError(ValueError):
    """An invalid argument, worded as one line for the user."""


@dataclass(frozen=True)
class Summary:
    """What a run wrote, so callers and tests can check the files against it.

    ``files`` counts the day files under ``log_data`` (song files equal ``songs``);
    ``users`` counts distinct non-empty userIds that appear in the logs.
    """

    events: int
    next_song: int
    matched: int
    songs: int
    users: int
    files: int
    sessions: int
    blank_lines: int

    def line(self) -> str:
        """One human-readable line (the CLI prints it)."""
        return (
            f"wrote {self.events} events ({self.next_song} NextSong, {self.matched} matched"
            f" to song_data) in {self.files} day files, {self.songs} songs,"
            f" {self.users} users, {self.sessions} sessions"
        )


# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> tuple[str, ...]:
    """Word lists are kept as prose to stay readable."""
    return tuple(text.split())


_WORDS = _words(
    "Love Night Dream Fire Rain Heart Blue Summer Dance Gold River Shadow Light Road Home "
    "Soul Girl Baby Time World Moon Sun Star City Angel Devil Wild Sweet Crazy Lonely "
    "Broken Electric Silent Golden Secret Midnight Morning Paradise Highway Ocean Thunder "
    "Whisper Echo Memory Freedom Heaven Storm Winter Fever Mirror Diamond Velvet Neon Candle "
    "Letter Garden Train Window Stranger Kiss Tears Money Island Desert Sugar Honey Ghost "
    "Machine Radio Satellite Rocket Jungle Mountain Valley Harbor Lantern Crown Glass Stone "
    "Smoke Silver Cherry Tiger Wolf Raven Butterfly Tonight Forever Yesterday Tomorrow"
)
_WORDS_X = _words(  # non-ASCII words for titles and artist names
    "Corazón Sueños Noël Mädchen Été Señorita Niño Café Für Über Ángel Canción Año "
    "Pequeña Môme Zürich Þögn Łzy Ørken Dónde Música Kärlek Śpiew Crème Façade Ça Göteborg"
)
_VERBS = _words("Want Need Miss Love Remember Forget Believe Feel Call Follow Hold Leave")
_SUFFIXES = (
    " (Album Version)", " (Live)", " (Remix)", " (LP Version)", " (Instrumental)",
    " (Radio Edit)", " (Remastered)", " (Acoustic)", " (Explicit)", " (Single Version)",
)  # fmt: skip
_FIRST_F = _words(
    "Kaylee Sylvie Chloe Ava Emily Lily Layla Jacqueline Tegan Mohammad Rylan Katherine "
    "Stefany Aleena Cecilia Harper Jordyn Kate Anabelle Matthew Zoë Chloé Mía Inés Maëlle "
    "Anaïs Jazmín Renée Sofía Léa Åsa"
)
_FIRST_M = _words(
    "Walter Ryan Jayden Aiden Carlos Jacob Lucas Kevin Brayden Connar Wyatt Sebastian "
    "Austin Colm Liam Noah Dominick Emmanuel Isaac José Jérôme Björn Søren Łukasz Andrés "
    "François Mátyás Ðức Øystein"
)
_LAST = _words(
    "Frye Summers Johnson Owens Porter Harris Clark Parker West Rosales Cuevas Kirby Wise "
    "Simpson Banks Robinson Watkins Larson Norris Moreno Santana Benson Levine Garrison "
    "O'Connor Müller Ðặng Nguyễn García Pérez Østergaard Šimůnek Çelik Ibáñez Lindqvist "
    "Gómez Schäfer Łukasiewicz"
)
_USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA", "Phoenix-Mesa-Scottsdale, AZ",
    "Lansing-East Lansing, MI", "Portland-South Portland, ME",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Waterloo-Cedar Falls, IA",
    "New York-Newark-Jersey City, NY-NJ-PA", "Atlanta-Sandy Springs-Roswell, GA",
    "San Jose-Sunnyvale-Santa Clara, CA", "Tampa-St. Petersburg-Clearwater, FL",
    "Houston-The Woodlands-Sugar Land, TX", "Detroit-Warren-Dearborn, MI",
    "Los Angeles-Long Beach-Anaheim, CA", "Birmingham-Hoover, AL", "Janesville-Beloit, WI",
    "Marinette, WI-MI", "Red Bluff, CA", "Santa Maria-Santa Barbara, CA",
    "Winston-Salem, NC", "Augusta-Richmond County, GA-SC", "Salinas, CA",
    "Miami-Fort Lauderdale-West Palm Beach, FL", "Dallas-Fort Worth-Arlington, TX",
    "Seattle-Tacoma-Bellevue, WA", "Myrtle Beach-Conway-North Myrtle Beach, SC-NC",
)  # fmt: skip
# Agents that contain a comma are stored with surrounding double quotes, as in the
# real logs (a CSV export artefact); those without one are stored bare.
_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/37.0.2062.94 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko)"
    " Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2"
    " (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 5.1) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10) AppleWebKit/538.46 (KHTML, like Gecko)"
    " Version/8.0 Safari/538.46",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
)
_ARTIST_PLACES = (
    "California - LA", "Memphis, TN", "London, England", "Toronto, Ontario, Canada",
    "Beverly Hills, CA", "United States", "Chicago", "Houston, TX", "New York, NY",
    "Queens, NY", "Dubai UAE", "Ohio", "Georgia", "Nevada, MO", "Reykjavík, Iceland",
    "São Paulo, Brazil", "Montréal, Québec, Canada", "Göteborg, Sweden", "Paris, France",
    "Kingston, Jamaica", "Berlin, Germany", "New York, NY [Spanish Harlem]", "Brandon",
)  # fmt: skip

# --------------------------------------------------------------------------- pages

# (name, method, status, mean seconds until the session's next event)
_PAGES: tuple[tuple[str, str, int, float], ...] = (
    ("NextSong", "PUT", 200, 0.0),  # the gap after a song is its length
    ("Home", "GET", 200, 60.0),
    ("Login", "PUT", 307, 20.0),
    ("Logout", "PUT", 307, 30.0),
    ("Settings", "GET", 200, 40.0),
    ("Save Settings", "PUT", 307, 60.0),
    ("Upgrade", "GET", 200, 30.0),
    ("Submit Upgrade", "PUT", 307, 90.0),
    ("Downgrade", "GET", 200, 60.0),
    ("Submit Downgrade", "PUT", 307, 40.0),
    ("About", "GET", 200, 60.0),
    ("Help", "GET", 200, 90.0),
    ("Error", "GET", 404, 10.0),
    ("Roll Advert", "GET", 200, 20.0),
    ("Thumbs Up", "PUT", 307, 5.0),
    ("Thumbs Down", "PUT", 307, 5.0),
    ("Add to Playlist", "PUT", 200, 10.0),
    ("Add Friend", "PUT", 307, 15.0),
    ("Register", "GET", 200, 30.0),
    ("Submit Registration", "PUT", 307, 30.0),
    ("Cancel", "PUT", 307, 1.0),
    ("Cancellation Confirmation", "GET", 200, 1.0),
)
(
    P_SONG, P_HOME, P_LOGIN, P_LOGOUT, P_SETTINGS, P_SAVE, P_UPGRADE, P_SUB_UP, P_DOWNGRADE,
    P_SUB_DOWN, P_ABOUT, P_HELP, P_ERROR, P_ADVERT, P_UP, P_DOWN, P_PLAYLIST, P_FRIEND,
    P_REGISTER, P_SUB_REG, P_CANCEL, P_CANCELLED,
) = range(len(_PAGES))  # fmt: skip

# Next-page weights per phase; pages that only follow another (Submit Upgrade, Save
# Settings, ...) are reached through the transitions in the event loop.
_W_FREE = {
    P_SONG: 830, P_HOME: 25, P_UP: 35, P_PLAYLIST: 18, P_ADVERT: 22, P_FRIEND: 12,
    P_DOWN: 7, P_LOGOUT: 10, P_SETTINGS: 6, P_HELP: 6, P_UPGRADE: 16, P_ABOUT: 3,
    P_ERROR: 1, P_CANCEL: 0.3,
}  # fmt: skip
_W_PAID = {
    P_SONG: 860, P_HOME: 25, P_UP: 40, P_PLAYLIST: 22, P_FRIEND: 13, P_DOWN: 8,
    P_LOGOUT: 10, P_SETTINGS: 6, P_HELP: 6, P_DOWNGRADE: 9, P_ABOUT: 3, P_ERROR: 1,
    P_CANCEL: 0.3,
}  # fmt: skip
_W_OUT = {P_HOME: 55, P_LOGIN: 35, P_ABOUT: 4, P_HELP: 4, P_ERROR: 2}
_W_GUEST = {P_HOME: 50, P_HELP: 12, P_ABOUT: 12, P_REGISTER: 20, P_ERROR: 6}

_GUEST_SHARE = 0.012  # sessions of visitors who never log in (auth "Guest")
_LOGGED_OUT_START = 0.05  # user sessions that begin logged out (Home/Login)
_PAID_START = 0.4  # users whose first level is paid


def _table(weights: Mapping[int, float]) -> tuple[list[float], list[int]]:
    """Cumulative weights normalised to 1 and their pages, for ``bisect``."""
    total = sum(weights.values())
    cum: list[float] = []
    pages: list[int] = []
    acc = 0.0
    for page, w in weights.items():
        acc += w / total
        cum.append(acc)
        pages.append(page)
    cum[-1] = 2.0  # random() < 1, so the last page always catches the remainder
    return cum, pages


# --------------------------------------------------------------------------- escaping


def _jlog(value: str | None) -> str:
    """A JSON string the way the log files write it: ``\\u`` escapes and ``\\/``."""
    if value is None:
        return "null"
    return json.dumps(value).replace("/", "\\/")


def _mojibake(text: str) -> str:
    """UTF-8 read twice as Latin-1, as the non-ASCII names in the real logs are."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


def _agent(raw: str) -> str:
    """The stored agent: wrapped in double quotes when it contains a comma."""
    return f'"{raw}"' if "," in raw else raw


# --------------------------------------------------------------------------- names


def _title(rng: random.Random) -> str:
    """A song title from a few templates; some carry a non-ASCII word."""

    def w() -> str:
        return rng.choice(_WORDS_X) if rng.random() < 0.06 else rng.choice(_WORDS)

    form = rng.randrange(8)
    if form == 0:
        text = f"{w()} {w()}"
    elif form == 1:
        text = f"The {w()}"
    elif form == 2:
        text = f"{w()} Of {w()}"
    elif form == 3:
        text = w()
    elif form == 4:
        text = f"I {rng.choice(_VERBS)} Your {w()}"
    elif form == 5:
        text = f"Don't {rng.choice(_VERBS)} Me"
    elif form == 6:
        text = f"{w()} In The {w()}"
    else:
        text = f"My {w()} {w()}"
    if rng.random() < 0.15:
        text += rng.choice(_SUFFIXES)
    return text


def _artist_name(rng: random.Random) -> str:
    """An artist name: a person, a band or a project; some non-ASCII."""
    form = rng.randrange(6)
    if form == 0:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}"
    if form == 1:
        return f"The {rng.choice(_WORDS)}s"
    if form == 2:
        return f"{rng.choice(_WORDS)} {rng.choice(_WORDS_X + _WORDS)}"
    if form == 3:
        return f"DJ {rng.choice(_WORDS)}"
    if form == 4:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} & The {rng.choice(_WORDS)}s"
    return rng.choice(_LAST)


def _msd_id(rng: random.Random, prefix: str, infix: str, code: int, width: int) -> str:
    """An 18-character MSD-style id; ``code`` (unique per record) makes it unique."""
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
    return f"{prefix}{letters}{infix}{code:0{width}X}"


def _scramble(index: int, bits: int, mult: int, salt: int) -> int:
    """A bijection on ``bits``-bit integers (``mult`` odd), so ids look random yet
    never collide."""
    return (index * mult + salt) & ((1 << bits) - 1)


# --------------------------------------------------------------------------- catalogue


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
        record = {
            "num_songs": 1,
            "artist_id": artist.artist_id,
            "artist_latitude": artist.latitude,
            "artist_longitude": artist.longitude,
            "artist_location": artist.location,
            "artist_name": name,
            "song_id": song_id,
            "title": title,
            "duration": duration,
            "year": year,
        }
        folder = f"{track[2]}/{track[3]}/{track[4]}"
        if folder not in made_dirs:
            (root / folder).mkdir(parents=True, exist_ok=True)
            made_dirs.add(folder)
        with open(root / folder / f"{track}.json", "w", encoding="ascii", newline="") as fh:
            fh.write(json.dumps(record))
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


# --------------------------------------------------------------------------- users


class _User:
    """A user's constant JSON fragments and mutable level; built once per user."""

    __slots__ = ("alive", "busy", "index", "paid", "reg", "s1", "s2", "s3", "s5", "seen")

    def __init__(self, rng: random.Random, index: int, t0: int) -> None:
        self.index = index
        female = rng.random() < 0.55
        first = rng.choice(_FIRST_F if female else _FIRST_M)
        last = rng.choice(_LAST)
        location = rng.choice(_USER_LOCATIONS)
        agent = _agent(rng.choice(_AGENTS))
        reg_s = t0 - rng.randrange(_DAY, 150 * _DAY)
        self.reg = repr(float(reg_s * 1000 + _MS))
        self.paid = rng.random() < _PAID_START
        self.alive = True
        self.busy = 0  # running sessions; more than one only when users run short
        self.seen = False
        self.s1 = (
            f',"auth":"Logged In","firstName":{_jlog(first)},'
            f'"gender":"{"F" if female else "M"}","itemInSession":'
        )
        self.s2 = f',"lastName":{_jlog(last)},"length":'
        loc = _jlog(location)
        self.s3 = (f',"level":"free","location":{loc},', f',"level":"paid","location":{loc},')
        self.s5 = f',"userAgent":{_jlog(agent)},"userId":"{index + 1}"}}'


_S1_OUT = ',"auth":"Logged Out","firstName":null,"gender":null,"itemInSession":'
_S1_GUEST = ',"auth":"Guest","firstName":null,"gender":null,"itemInSession":'
_S2_NULL = ',"lastName":null,"length":'
_S3_NULL = (',"level":"free","location":null,', ',"level":"paid","location":null,')
_S5_NULL = ',"userAgent":null,"userId":""}'

_IN, _OUT, _GUEST = 0, 1, 2  # a session's phase: logged in, logged out, a guest's visit

# The next page when none is forced, as (cumulative weights, pages) for ``bisect``.
_NEXT_FREE, _NEXT_PAID = _table(_W_FREE), _table(_W_PAID)
_NEXT_OUT, _NEXT_GUEST = _table(_W_OUT), _table(_W_GUEST)


class _Crowd:
    """The users and who is free: a session takes a free user (or, when there are
    more sessions than users, shares one) and gives it back when it ends."""

    def __init__(self, users: list[_User]) -> None:
        self.users = users
        self.free = list(range(len(users)))  # users with no running session
        self.alive = list(range(len(users)))  # users who have not cancelled
        self.cancels_left = len(users) // 20

    def pick(self, rnd: Callable[[], float]) -> _User | None:
        """A user for a new session, or None for a guest's visit."""
        user: _User | None = None
        if self.users and rnd() >= _GUEST_SHARE:
            free, alive = self.free, self.alive
            if free:
                j = int(rnd() * len(free))
                free[j], free[-1] = free[-1], free[j]
                user = self.users[free.pop()]
            elif alive:  # more concurrent sessions than users: share one
                user = self.users[alive[int(rnd() * len(alive))]]
            if user is not None:
                user.busy += 1
        return user

    def release(self, user: _User) -> None:
        user.busy -= 1
        if user.busy == 0 and user.alive:
            self.free.append(user.index)


@dataclass(slots=True, eq=False)
class _Session:
    """A running session: its next page, events left and current JSON fragments."""

    sid: int
    user: _User | None
    left: int
    phase: int
    item: int = 0
    forced: int = -1  # the page that must come next, -1 for a drawn one
    s1: str = ""
    s2: str = ""
    s3: str = ""
    s4: str = ""
    s5: str = ""

    def __post_init__(self) -> None:
        self.set_phase(self.phase)

    def set_phase(self, phase: int) -> None:
        """Swap the fragments: logged-out and guest events hide the user."""
        self.phase = phase
        user = self.user
        if phase == _IN and user is not None:
            self.s1, self.s2, self.s3, self.s5 = user.s1, user.s2, user.s3[user.paid], user.s5
            self.s4 = f',"registration":{user.reg},"sessionId":{self.sid},"song":'
        else:
            paid = user is not None and user.paid
            self.s1 = _S1_GUEST if phase == _GUEST else _S1_OUT
            self.s2, self.s3, self.s5 = _S2_NULL, _S3_NULL[paid], _S5_NULL
            self.s4 = f',"registration":null,"sessionId":{self.sid},"song":'

    def next_page(self, rnd: Callable[[], float]) -> int:
        """The forced page if there is one, else one drawn for the phase and level."""
        page = self.forced
        if page >= 0:
            self.forced = -1
            return page
        phase = self.phase
        if phase == _IN:
            user = self.user
            cum, pages = _NEXT_PAID if user is not None and user.paid else _NEXT_FREE
        elif phase == _OUT:
            cum, pages = _NEXT_OUT
        else:
            cum, pages = _NEXT_GUEST
        return pages[bisect(cum, rnd())]


# What a page does to its session, after its event is written; each returns whether
# the session ends. Only called for sessions with a user where the transition says so.


def _set_level(sess: _Session, paid: bool) -> bool:
    assert sess.user is not None
    sess.user.paid = paid
    sess.s3 = sess.user.s3[paid] if sess.phase == _IN else _S3_NULL[paid]
    return False


def _upgrade(sess: _Session, crowd: _Crowd) -> bool:
    return _set_level(sess, True)


def _downgrade(sess: _Session, crowd: _Crowd) -> bool:
    return _set_level(sess, False)


def _log_out(sess: _Session, crowd: _Crowd) -> bool:
    sess.set_phase(_OUT)
    return False


def _log_in(sess: _Session, crowd: _Crowd) -> bool:
    sess.set_phase(_IN)
    return False


def _leave(sess: _Session, crowd: _Crowd) -> bool:
    """The user cancelled: no more sessions, and this one ends."""
    assert sess.user is not None
    sess.user.alive = False
    crowd.alive.remove(sess.user.index)
    return True


@dataclass(frozen=True, slots=True)
class _Transition:
    """What may follow a page in the same session.

    With ``chance`` (drawn only when below 1) the ``effect`` applies and ``then``
    becomes the next page, ``gap`` seconds later when given. ``user``: only in
    sessions with a user; ``phase``: only when the session was in that phase.
    """

    then: int = -1
    chance: float = 1.0
    gap: int = 0
    effect: Callable[[_Session, _Crowd], bool] | None = None
    user: bool = False
    phase: int = -1


# Pages that only follow another (Submit Upgrade, Save Settings, ...) are reached here;
# Cancel -> Cancellation Confirmation is decided before the event is written (see
# _EventStream.run), since a Cancel that may not happen is shown as Home.
PAGE_TRANSITIONS: Mapping[int, _Transition] = {
    P_UPGRADE: _Transition(then=P_SUB_UP, chance=0.5, gap=1),
    P_SUB_UP: _Transition(then=P_HOME, effect=_upgrade, user=True),
    P_DOWNGRADE: _Transition(then=P_SUB_DOWN, chance=0.15),
    P_SUB_DOWN: _Transition(then=P_HOME, effect=_downgrade, user=True),
    P_SETTINGS: _Transition(then=P_SAVE, chance=0.3),
    P_LOGOUT: _Transition(effect=_log_out),
    P_LOGIN: _Transition(then=P_HOME, effect=_log_in, phase=_OUT),
    P_REGISTER: _Transition(then=P_SUB_REG, chance=0.5),
    P_CANCELLED: _Transition(effect=_leave, user=True),
}


# --------------------------------------------------------------------------- helpers


def default_users(events: int, days: int) -> int:
    """Users for ``events`` over ``days``: about √events, and enough that sessions
    running at the same moment rarely need the same user."""
    concurrent = events / max(days, 1) / _DAY * 200  # ~200 s of session time per event
    return max(10, math.ceil(1.1 * math.sqrt(events)), math.ceil(3 * concurrent))


def _day_quotas(rng: random.Random, events: int, days: int, start: date) -> list[int]:
    """Split ``events`` over the days: weekends quieter, some days busier (sum exact)."""
    weights = []
    for d in range(days):
        weekday = (start + timedelta(days=d)).weekday()
        weights.append((0.75 if weekday >= 5 else 1.0) * rng.lognormvariate(0.0, 0.3))
    total = sum(weights)
    raw = [events * w / total for w in weights]
    quotas = [int(x) for x in raw]
    order = sorted(range(days), key=lambda d: (quotas[d] - raw[d], d))
    for d in order[: events - sum(quotas)]:
        quotas[d] += 1
    return quotas


class _LogWriter:
    """Writes lines to the current day file; opens the next one when the date moves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fh: TextIO | None = None
        self.started = False  # whether the open file has any line yet
        self.files = 0

    def open_day(self, day: date) -> None:
        self.close()
        folder = self.root / f"{day:%Y}" / f"{day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{day:%Y-%m-%d}-events.json"
        self.fh = open(path, "w", encoding="ascii", newline="")  # noqa: SIM115
        self.started = False
        self.files += 1

    def write(self, lines: list[str]) -> None:
        """Lines are joined by newlines; like the real files, no newline at the end."""
        if not lines or self.fh is None:
            return
        if self.started:
            self.fh.write("\n")
        self.fh.write("\n".join(lines))
        self.started = True

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


# --------------------------------------------------------------------------- generate


def _check_out(out: Path, force: bool) -> None:
    """Refuse to mix runs: the directory must be empty, or --force clears our trees."""
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise SynthError(f"{out} is not empty (use --force to replace its data)")
        for sub in ("song_data", "log_data"):
            target = out / sub
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.exists():
                shutil.rmtree(target)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".sparkify-synth-probe"
        probe.write_text("", encoding="ascii")
        probe.unlink()
    except OSError as exc:
        raise SynthError(f"cannot write to {out}: {exc.strerror or exc}") from exc


def generate(
    out: Path | str,
    events: int,
    songs: int,
    days: int,
    seed: int,
    *,
    start_date: date = DEFAULT_START,
    match_share: float = 0.5,
    users: int | None = None,
    force: bool = False,
    blank_line_rate: float = 1e-4,
) -> Summary:
    """Write ``out/song_data`` and ``out/log_data`` and return what was written.

    ``match_share`` of NextSong plays name a generated song exactly; ``users``
    defaults to :func:`default_users`. ``blank_line_rate`` is the chance of a blank
    line before a record; when it is non-zero the first day file also gets the two
    blank lines the real 2018-11-01 file has. Raises :class:`SynthError` for
    invalid arguments and ``OSError`` for failures while writing.
    """
    out = Path(out)
    if events < 0:
        raise SynthError(f"--events must be >= 0 (got {events})")
    if songs < 0:
        raise SynthError(f"--songs must be >= 0 (got {songs})")
    if days < 1:
        raise SynthError(f"--days must be >= 1 (got {days})")
    if days > MAX_DAYS:
        raise SynthError(f"--days must be <= {MAX_DAYS} (got {days})")
    if songs > MAX_SONGS:
        raise SynthError(f"--songs must be <= {MAX_SONGS}")
    if not 0.0 <= match_share <= 1.0:
        raise SynthError("--match-share must be between 0 and 1")
    if not 0.0 <= blank_line_rate <= 1.0:
        raise SynthError("--blank-line-rate must be between 0 and 1")
    if users is not None and users < 1:
        raise SynthError(f"--users must be >= 1 (got {users})")
    if start_date.year + days // 365 + 1 > 9999:
        raise SynthError("--start-date plus --days runs past the year 9999")
    n_users = default_users(events, days) if users is None else users
    _check_out(out, force)

    catalogue = _write_songs(out / "song_data", songs, seed)
    (out / "log_data").mkdir(exist_ok=True)
    ev_rng = random.Random(f"sparkify-synth/{seed}/events")
    pool = _foreign_pool(ev_rng, max(50, min(20_000, events // 20)), catalogue)
    t0 = calendar.timegm(start_date.timetuple())
    user_rng = random.Random(f"sparkify-synth/{seed}/users")
    all_users = [_User(user_rng, i, t0) for i in range(n_users)]
    quotas = _day_quotas(ev_rng, events, days, start_date)
    stream = _EventStream(
        out / "log_data", ev_rng, _Plays(catalogue, pool, match_share), _Crowd(all_users),
        quotas, t0, blank_line_rate, start_date,
    )  # fmt: skip
    result = stream.run()
    return Summary(
        events=result.events,
        next_song=result.next_song,
        matched=result.matched,
        songs=songs,
        users=sum(1 for u in all_users if u.seen),
        files=result.files,
        sessions=result.sessions,
        blank_lines=result.blank_lines,
    )


@dataclass(frozen=True)
class _RunResult:
    """What the event loop wrote."""

    events: int
    next_song: int
    matched: int
    files: int
    sessions: int
    blank_lines: int


class _Plays:
    """What a NextSong event plays: with ``match_share`` a catalogue song (popular ones
    more often), else a play from the pool of songs not in song_data."""

    def __init__(self, cat: _Catalogue, pool: Sequence[tuple[str, str, str, float]],
                 match_share: float) -> None:
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


class _Spawner:
    """Starts sessions at a rate that follows each day's quota.

    ``budget`` counts the events not yet promised to a session; a session cut off
    early gives its unused events back, so the total is exact.
    """

    def __init__(self, rng: random.Random, crowd: _Crowd, quotas: list[int], t0: int) -> None:
        self.rng, self.rnd, self.crowd = rng, rng.random, crowd
        self.quotas, self.days, self.t0 = quotas, len(quotas), t0
        self.budget = sum(quotas)
        self.day = 0
        self.remaining = quotas[0] if quotas else 0  # quota left for the spawner's day
        self.events = 0  # promised to the sessions started so far
        self.sessions = 0
        self.next_sid = 1

    def next_time(self, t: int) -> int:
        """When the next session starts: the day's remaining quota over its time."""
        while True:
            last = self.day == self.days - 1
            if last:
                self.remaining = self.budget
            day_end = self.t0 + (self.day + 1) * _DAY
            if self.remaining <= 0 and not last:
                self.day += 1
                self.remaining += self.quotas[self.day]
                t = max(t, day_end)
                continue
            mean_len = (self.events + 30) / (self.sessions + 3)
            sessions_left = max(self.remaining / mean_len, 1.0)
            nt = t + int(-math.log(1.0 - self.rnd()) * (day_end - t) / sessions_left)
            if nt < day_end:
                return nt
            if last:
                return day_end - 1
            self.day += 1
            self.remaining += self.quotas[self.day]
            t = day_end

    def spawn(self) -> _Session:
        """A new session: a guest's short visit, or a user's (some start logged out)."""
        rnd = self.rnd
        user = self.crowd.pick(rnd)
        if user is None:
            k = 1 + int(-math.log(1.0 - rnd()) * 2.0)
            sess = _Session(self.next_sid, None, min(k, self.budget), _GUEST)
            sess.forced = P_HOME
        else:
            k = 1 + int(self.rng.lognormvariate(1.4, 1.25))
            if user.paid:
                k += k // 2
            k = min(k, 600, self.budget)
            if rnd() < _LOGGED_OUT_START:
                sess = _Session(self.next_sid, user, k, _OUT)
                sess.forced = P_LOGIN if rnd() < 0.6 else P_HOME
            else:
                sess = _Session(self.next_sid, user, k, _IN)
                if rnd() < 0.3:
                    sess.forced = P_HOME
        self.next_sid += 1
        self.budget -= sess.left
        self.remaining -= sess.left
        self.events += sess.left
        self.sessions += 1
        return sess

    def give_back(self, left: int) -> None:
        self.budget += left
        self.remaining += left


class _EventStream:
    """The event loop: one heap of sessions keyed by (next time, session id).

    The spawner is the heap entry with id 0 (and no session); it is parked (off the
    heap) while the budget is spent and comes back when a session returns events.
    """

    def __init__(self, root: Path, rng: random.Random, plays: _Plays, crowd: _Crowd,
                 quotas: list[int], t0: int, blank_rate: float, start_date: date) -> None:
        self.rng, self.plays, self.crowd = rng, plays, crowd
        self.spawner = _Spawner(rng, crowd, quotas, t0)
        self.t0, self.end = t0, t0 + len(quotas) * _DAY
        self.blank_rate, self.start_date = blank_rate, start_date
        self.writer = _LogWriter(root)

    def run(self) -> _RunResult:
        # Kept as one loop with local names: it is the hot path (about 200k events/s).
        rnd = self.rng.random
        log = math.log
        heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
        spawner, crowd, writer, draw_play = self.spawner, self.crowd, self.writer, self.plays.draw
        transitions = PAGE_TRANSITIONS
        t0, end, blank_rate = self.t0, self.end, self.blank_rate
        mp = [f'"method":"{m}","page":"{n}"' for n, m, _, _ in _PAGES]
        st = [f',"status":{s},"ts":' for _, _, s, _ in _PAGES]
        gap_mean = [g for _, _, _, g in _PAGES]

        heap: list[tuple[int, int, _Session | None]] = []
        parked = True
        if spawner.budget > 0:
            heap.append((spawner.next_time(t0), 0, None))
            parked = False
        chunk: list[str] = []
        day_end = t0  # end of the day whose file is open
        first_file = True
        file_lines = 0
        written = next_song = matched = blanks = 0

        while heap:
            t, sid, sess = heap[0]
            if sess is None:  # the spawner
                if spawner.budget <= 0:
                    heappop(heap)
                    parked = True
                    continue
                sess = spawner.spawn()
                heapreplace(heap, (t, sess.sid, sess))
                if spawner.budget > 0:
                    heappush(heap, (spawner.next_time(t), 0, None))
                else:
                    parked = True
                continue

            if t >= day_end:  # the first event of a new UTC date
                writer.write(chunk)
                chunk = []
                day_index = (t - t0) // _DAY
                day_end = t0 + (day_index + 1) * _DAY
                writer.open_day(self.start_date + timedelta(days=day_index))
                file_lines = 0
                if writer.files > 1:
                    first_file = False

            phase = sess.phase
            usr = sess.user
            page = sess.next_page(rnd)
            s1 = sess.s1
            if page == P_SONG:
                art, song, length, seconds, hit = draw_play(rnd)
                matched += hit
                next_song += 1
                gap = int(seconds + rnd())
            else:
                art = song = length = "null"
                gap = 1 + int(-log(1.0 - rnd()) * gap_mean[page])
                if page == P_CANCEL:
                    if crowd.cancels_left > 0 and usr is not None and sess.left >= 2:
                        crowd.cancels_left -= 1
                        sess.forced = P_CANCELLED  # the confirmation always follows
                        gap = 1
                    else:
                        page = P_HOME
                elif page == P_CANCELLED and usr is not None:
                    s1 = s1.replace('"Logged In"', '"Cancelled"', 1)

            if file_lines and (
                (first_file and file_lines < 3 and blank_rate > 0.0)
                or (blank_rate > 0.0 and rnd() < blank_rate)
            ):
                chunk.append("")
                blanks += 1
            chunk.append(
                f'{{"artist":{art}{s1}{sess.item}{sess.s2}{length}{sess.s3}{mp[page]}'
                f"{sess.s4}{song}{st[page]}{t * 1000 + _MS}{sess.s5}"
            )
            file_lines += 1
            written += 1
            if len(chunk) >= _CHUNK:
                writer.write(chunk)
                chunk = []
            if phase == _IN and usr is not None:
                usr.seen = True
            sess.item += 1
            sess.left -= 1

            ended = False
            follow = transitions.get(page)
            if (follow is not None and (usr is not None or not follow.user)
                    and (follow.phase < 0 or follow.phase == phase)
                    and (follow.chance >= 1.0 or rnd() < follow.chance)):
                if follow.effect is not None:
                    ended = follow.effect(sess, crowd)
                if follow.then >= 0:
                    sess.forced = follow.then
                if follow.gap:
                    gap = follow.gap

            nt = t + (gap if gap > 0 else 1)
            if sess.left > 0 and not ended and nt < end:
                heapreplace(heap, (nt, sid, sess))
                continue
            heappop(heap)
            if sess.left > 0:  # cut off by the last day's end or a cancellation
                spawner.give_back(sess.left)
                if parked:
                    heappush(heap, (spawner.next_time(t), 0, None))
                    parked = False
            if usr is not None:
                crowd.release(usr)

        writer.write(chunk)
        writer.close()
        return _RunResult(written, next_song, matched, writer.files, spawner.sessions, blanks)


# --------------------------------------------------------------------------- CLI


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one ``error: ...`` line, exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m sparkify_dw.synth --events N --songs M ...``."""
    parser = _Parser(
        prog="python -m sparkify_dw.synth",
        description="Write synthetic Sparkify song_data and log_data trees.",
    )
    parser.add_argument("--events", type=int, required=True, help="log events to write")
    parser.add_argument("--songs", type=int, required=True, help="song files to write")
    parser.add_argument("--days", type=int, required=True, help="days the events span")
    parser.add_argument("--seed", type=int, required=True, help="same seed, same bytes")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--start-date", type=_parse_date, default=DEFAULT_START, help="first day (2018-11-01)"
    )
    parser.add_argument(
        "--match-share", type=float, default=0.5,
        help="share of NextSong plays that name a generated song exactly (0.5)",
    )  # fmt: skip
    parser.add_argument("--users", type=int, default=None, help="users (default from N)")
    parser.add_argument(
        "--blank-line-rate", type=float, default=1e-4,
        help="chance of a blank line before a record; 0 for none (0.0001)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace data in a non-empty --out")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument already reported
        return exc.code if isinstance(exc.code, int) else 0
    started = time.perf_counter()
    try:
        summary = generate(
            args.out, args.events, args.songs, args.days, args.seed,
            start_date=args.start_date, match_share=args.match_share, users=args.users,
            force=args.force, blank_line_rate=args.blank_line_rate,
        )  # fmt: skip
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: writing {args.out} failed: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    rate = summary.events / elapsed if elapsed > 0 else 0.0
    print(f"{summary.line()} to {args.out} in {elapsed:.1f}s ({rate:,.0f} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
