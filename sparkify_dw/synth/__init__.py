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
* The event loop (``events._EventStream.run``) is one loop with local names, as it is
  the hot path; what it decides is in small parts around it: a ``_Spawner``
  starts sessions, a ``_Crowd`` lends them users, a ``_Session`` draws its next
  page, ``_Plays`` picks the song of a NextSong, and ``PAGE_TRANSITIONS`` says
  what may follow a page. The order of the random draws is part of the output:
  a change that moves one changes the bytes (``tests/unit/test_synth.py`` pins them).

Modules: ``words`` (vocabulary, name templates), ``layout`` (key orders, escaping),
``catalogue`` (artists, songs, ids, plays), ``pages`` (the page table and weights),
``people`` (users, crowd, sessions, page transitions), ``schedule`` (day quotas,
session starts), ``events`` (the event loop, the log writer), ``dataset``
(``generate``). ``sparkify-dw synth`` is :mod:`sparkify_dw.cli.synth`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkify_dw.synth.catalogue import MAX_SONGS
    from sparkify_dw.synth.dataset import (
        DEFAULT_START,
        MAX_DAYS,
        Summary,
        SynthError,
        default_users,
        generate,
    )
    from sparkify_dw.synth.layout import LOG_KEYS, SONG_KEYS
    from sparkify_dw.synth.people import PAGE_TRANSITIONS

# name -> its module; loaded when first used, so ``python -m sparkify_dw.synth --help``
# imports no SQLAlchemy (the errors' module does).
_HOMES = {
    "MAX_SONGS": "catalogue",
    **dict.fromkeys(
        ["DEFAULT_START", "MAX_DAYS", "Summary", "SynthError", "default_users", "generate"],
        "dataset",
    ),
    "LOG_KEYS": "layout",
    "SONG_KEYS": "layout",
    "PAGE_TRANSITIONS": "people",
}

__all__ = [
    "DEFAULT_START",
    "LOG_KEYS",
    "MAX_DAYS",
    "MAX_SONGS",
    "PAGE_TRANSITIONS",
    "SONG_KEYS",
    "Summary",
    "SynthError",
    "default_users",
    "generate",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sparkify_dw.synth.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
