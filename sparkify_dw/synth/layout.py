"""The public data set's format: key orders, timestamps and JSON escaping.

Why here: the song files, the users and the event lines all have to write the
same bytes the real ``song_data``/``log_data`` trees have, so the rules live once.
"""

from __future__ import annotations

import json

_MS = 796  # every ts and registration in the real logs ends in ...796 ms
_DAY = 86_400  # seconds in a UTC day; each day has its own log file

LOG_KEYS = (
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length",
    "level", "location", "method", "page", "registration", "sessionId", "song",
    "status", "ts", "userAgent", "userId",
)  # fmt: skip
SONG_KEYS = (
    "num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
    "artist_name", "song_id", "title", "duration", "year",
)  # fmt: skip


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
