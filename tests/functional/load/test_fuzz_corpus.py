"""The records that found a parity bug, each case an ordinary test: DuckDB and PostgreSQL
must both stage them, or reject them with the reasons given, line by line."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.functional.load.fuzz_support import EVENT, SONG, Record, dump, run_both

pytestmark = pytest.mark.usefixtures("fuzz_window")

# --- the corpus that found each bug --------------------------------------------------------


def _event(**changes: str) -> Record:
    pairs = [(k, changes.pop(k) if k in changes else dump(v)) for k, v in EVENT.items()]
    return pairs + list(changes.items()), False


def _song(**changes: str) -> Record:
    pairs = [(k, changes.pop(k) if k in changes else dump(v)) for k, v in SONG.items()]
    return pairs + list(changes.items()), False


# (events, songs, what DuckDB and PostgreSQL must both conclude): reason prefixes of the
# records rejected from the small file, in line order ("" when the record stages).
CORPUS: dict[str, tuple[list[Record], list[Record], list[str], list[str]]] = {
    "exponent spellings in integer fields stage on both": (
        [
            _event(itemInSession="1e1"),
            _event(sessionId="1E+2", itemInSession="2"),
            _event(ts="1.5436000100e12"),
        ],
        [],
        ["", "", ""],
        [],
    ),
    "1e-400 in a double field is 0 on both": ([_event(registration="1e-400")], [], [""], []),
    "a duplicate key is ambiguous": (
        [(_event()[0] + [("userId", '"99"')], False)],
        [],
        ["a key appears twice"],
        [],
    ),
    "NaN and a trailing comma are not JSON, in a small file as in a big one": (
        [_event(song="NaN"), (_event()[0], True)],
        [],
        ["malformed JSON: NaN is not JSON", "malformed JSON"],
        [],
    ),
    "an escaped backslash before u0000 is text": (
        [_event(location='"C:\\\\u0000dir"'), _event(location='"\\u0000"')],
        [],
        ["", "contains \\u0000"],
        [],
    ),
    "a lone surrogate and a huge exponent, even in an unmapped field": (
        [_event(song='"\\ud800"'), _event(extra='"a\\udc00"'), _event(extra="1e1000000")],
        [],
        ["contains a lone surrogate", "contains a lone surrogate", "a number out of range"],
        [],
    ),
    "ts the transform can't turn into a time": (
        [
            _event(ts="9223372036854775807"),
            _event(ts="100000000000000000"),
            _event(ts="1541105830"),
            _event(ts="1541105830796000"),
        ],
        [],
        [
            "ts: not a valid biginteger",
            "ts: not a valid biginteger",
            "ts: 1541105830 is before 2000-01-01 00:00:00 UTC: epoch seconds",
            "ts: 1541105830796000 is after 2030-01-01 00:00:00 UTC: epoch microseconds",
        ],
        [],
    ),
    "songs the star tables can't take": (
        [],
        [
            _song(year="40000"),
            _song(artist_name='""'),
            _song(artist_id="null"),
            _song(song_id='"  "'),
            _song(duration="1e300"),
        ],
        [],
        [
            "year: 40000 is not a year",
            "artist_name: missing",
            "artist_id: missing",
            "song_id: missing",
            "duration: out of range",
        ],
    ),
    "deep nesting is a reason, not a RecursionError": (
        [_event(extra="[" * 1100 + "]" * 1100), _event(extra="[" * 500 + "]" * 500)],
        [],
        ["nested deeper than 512 levels", ""],
        [],
    ),
    "lengths are bytes": (
        [_event(firstName=dump("é" * 128)), _event(firstName=dump("é" * 129))],
        [],
        ["", "firstName: 258 bytes, longer than 256"],
        [],
    ),
    "blank is ASCII spaces only (DuckDB's trim also took Unicode spaces)": (
        [_event(auth=dump("\u00a0")), _event(auth=dump("  ")), _event(auth=dump("\u3000 "))],
        [],
        ["", "", ""],
        [],
    ),
    # Where text might be something else, its first character is tested (ascii(), the
    # same on both engines): each character just inside and outside that set, as a string
    # (it stages) and as what it starts (it doesn't).
    "the first character that makes a text value suspect, each side of the set": (
        [
            *(
                _event(artist=dump(text))
                for text in (
                    *"-/.0123456789:[]{}tfTF,",
                    "true",
                    "false",
                    "True",
                    "-1",
                    "é",
                    "\U0001f600",
                    " x",
                    "\tx",
                )
            ),
            _event(artist="-1"),
            _event(artist="0"),
            _event(artist="9.5"),
            _event(artist="true"),
            _event(artist="false"),
            _event(artist="[]"),
            _event(artist="{}"),
        ],
        [],
        [
            *[""] * 31,  # the strings
            "artist: a JSON number, not a string",
            "artist: a JSON number, not a string",
            "artist: a JSON number, not a string",
            "artist: a JSON boolean, not a string",
            "artist: a JSON boolean, not a string",
            "artist: a JSON array",
            "artist: a JSON object",
        ],
        [],
    ),
    "numbers and arrays where text belongs": (
        [_event(artist="12"), _event(artist="[1, 2]"), _event(userId="[1]")],
        [],
        ["artist: a JSON number, not a string", "artist: a JSON array", "userId: a JSON array"],
        [],
    ),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_corpus(engines: dict[str, sa.Engine], tmp_path: Path, case: str) -> None:
    event_records, song_records, event_reasons, song_reasons = CORPUS[case]
    event_records = event_records or [_event()]
    song_records = song_records or [_song()]
    outcome = run_both(engines, tmp_path, event_records, song_records)
    for stem, expected in (("e_small.json", event_reasons), ("s_small.json", song_reasons)):
        if not expected:
            continue
        reasons = {line: reason for _, name, line, reason in outcome.rejected if name == stem}
        for line, prefix in enumerate(expected, start=1):
            if prefix:
                assert reasons.get(line, "").startswith(prefix), (line, reasons)
            else:
                assert line not in reasons, (line, reasons)
