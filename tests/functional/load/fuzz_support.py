"""The fuzzing machinery of test_fuzz_parity and test_fuzz_corpus: records written three
ways, staged and transformed on a backend and rolled back, the generated value space, and
the batched run that checks thousands of examples in one load per backend."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkify_dw import backends, config, ledger, transform
from sparkify_dw.backends import plan
from sparkify_dw.backends.duckdb.backend import SMALL_FILE_BYTES
from sparkify_dw.models import LOAD_ERRORS, LOADS, STAGING_EVENTS, STAGING_SONGS, STAR_TABLES
from tests.support.helpers import SAMPLE

BATCH_FILES = 2000  # examples per batched load

EVENT = json.loads((SAMPLE / "log_data/2018/11/2018-11-15-events.json").read_text().splitlines()[2])
SONG = json.loads(next((SAMPLE / "song_data").rglob("*.json")).read_text())
EVENT_KEYS = list(EVENT)
SONG_KEYS = list(SONG)
LATEST = "2030-01-01"  # a fixed window, so both backends judge ts alike whenever they run

Pair = tuple[str, str]  # a key and its value's JSON text (possibly not valid JSON)


@dataclass
class Outcome:
    read: dict[str, int]
    staged: dict[str, list[tuple[Any, ...]]]
    rejected: list[tuple[str, str, int | None, str]]
    star: dict[str, list[tuple[Any, ...]]]


# --- staging and transforming on one backend, rolled back ------------------------------------


def _rows(
    conn: sa.Connection, table: sa.Table, without: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    cols = [c for c in table.columns if c.name not in without]
    rows = conn.execute(sa.select(*cols)).all()
    return sorted((tuple(r) for r in rows), key=lambda r: [(v is None, str(v)) for v in r])


def stage_and_transform(engine: sa.Engine, logs: Path, songs: Path) -> Outcome:
    """Stage the files and run the transform in one transaction, then roll it back."""
    settings = config.resolve(
        url=engine.url.render_as_string(hide_password=False),
        log_data=str(logs),
        song_data=str(songs),
    )
    backend = backends.for_settings(settings, max_errors=10**9)
    read: dict[str, int] = {}
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(
                sa.insert(LOADS).values(
                    load_id=1,
                    started_at=ledger.now(),
                    status="running",
                    backend=backend.name,
                    steps="stage,transform",
                    sources="fuzz",
                )
            )
            first = 1
            for req in backend.requests():
                conn.execute(sa.delete(req.table))
                counts = plan.execute(backend.stage_plan(req), plan.Run(conn, 1, first))
                first += counts.rejected
                read[req.table.name] = counts.read
                assert (
                    counts.staged
                    == conn.execute(sa.select(sa.func.count()).select_from(req.table)).scalar_one()
                )
            staged = {t.name: _rows(conn, t) for t in (STAGING_EVENTS, STAGING_SONGS)}
            e = LOAD_ERRORS.c
            rejected = sorted(
                (
                    (t, Path(src).name, line, reason)
                    for t, src, line, reason in conn.execute(
                        sa.select(e.table_name, e.source, e.line_no, e.reason)
                    )
                ),
                key=lambda r: (r[0], r[1], r[2] or 0, r[3]),
            )
            for step in transform.steps(1):  # a record that staged always transforms
                conn.execute(step.statement)
            star = {t.name: _rows(conn, t, ("songplay_id", "load_id")) for t in STAR_TABLES}
        finally:
            trans.rollback()
    return Outcome(read, staged, rejected, star)


# --- writing records three ways ---------------------------------------------------------------


def record_text(pairs: list[Pair], *, trailing_comma: bool, pretty: bool) -> str:
    if pretty:
        body = ",\n".join(f"  {json.dumps(k)}: {v}" for k, v in pairs)
        return "{\n" + body + (",\n" if trailing_comma else "\n") + "}"
    return (
        "{"
        + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs)
        + ("," if trailing_comma else "")
        + "}"
    )


Record = tuple[list[Pair], bool]  # pairs, trailing comma


def write_three_ways(folder: Path, stem: str, records: list[Record]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(record_text(p, trailing_comma=t, pretty=False) + "\n" for p, t in records)
    (folder / f"{stem}_small.json").write_text(lines or "\n", encoding="utf-8")
    padding = "\n" * max(0, SMALL_FILE_BYTES - len(lines.encode()) + 1)
    (folder / f"{stem}_big.json").write_text(lines + padding, encoding="utf-8")
    pretty = "".join(record_text(p, trailing_comma=t, pretty=True) + "\n" for p, t in records)
    (folder / f"{stem}_pretty.json").write_text(pretty or "\n", encoding="utf-8")


def run_both(
    engines: dict[str, sa.Engine], root: Path, events: list[Record], songs: list[Record]
) -> Outcome:
    """Write, load on both backends, assert parity; the DuckDB outcome."""
    for sub in ("logs", "songs"):
        for old in (root / sub).glob("*.json") if (root / sub).exists() else []:
            old.unlink()
    write_three_ways(root / "logs", "e", events)
    write_three_ways(root / "songs", "s", songs)
    duck = stage_and_transform(engines["duckdb"], root / "logs", root / "songs")
    pg = stage_and_transform(engines["postgresql"], root / "logs", root / "songs")
    assert duck.rejected == pg.rejected
    assert duck.staged == pg.staged
    assert duck.star == pg.star
    assert duck.read == pg.read
    for table in ("staging_events", "staging_songs"):
        rejected = sum(1 for r in duck.rejected if r[0] == table)
        assert duck.read[table] == len(duck.staged[table]) + rejected
    # The small and the big file hold the same lines: the same verdicts, line for line.
    for stem in ("e", "s"):
        small = [r[2:] for r in duck.rejected if r[1] == f"{stem}_small.json"]
        big = [r[2:] for r in duck.rejected if r[1] == f"{stem}_big.json"]
        assert small == big
    return duck


# --- the value space -------------------------------------------------------------------------


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _spelled(mantissa: str, exponent: int, e: str) -> str:
    return f"{mantissa}{e}{exponent:+d}" if exponent < 0 or e == "E" else f"{mantissa}{e}{exponent}"


def _nest(kids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=3), kids, max_size=3)
    )


NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(
        _spelled,
        st.sampled_from(
            [
                "1",
                "1.5",
                "-2",
                "15",
                "0",
                "1.5436000100",
                "0.001",
                "12345678901234567890",
                "1.00000000000000001",
            ]
        ),
        st.integers(-1200, 1200),
        st.sampled_from(["e", "E"]),
    ),
    st.sampled_from(
        [
            "1e1",
            "1E+2",
            "1.5436000100e12",
            "1e-400",
            "-1e-400",
            "1e1000000",
            "1e-1000000",
            "-0",
            "-0.0",
            "0e999",
            "9223372036854775807",
            "9007199254740993",
            "1.7976931348623157e308",
            "2.5e-308",
            "5e-324",
            "1.0",
            "10.0",
            "1e17",
            "100000000000000000",
        ]
    ),
    st.text("0123456789", min_size=1, max_size=300).filter(
        lambda s: s == "0" or not s.startswith("0")
    ),
)
STRINGS = st.one_of(
    st.text(max_size=30).map(lambda s: json.dumps(s)),  # escapes for controls, \uXXXX
    st.text(max_size=30).map(dump),  # multibyte text as is
    st.text(
        st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, exclude_categories=["Cs"]),
        min_size=100,
        max_size=700,
    ).map(dump),
    st.integers(0, 1100).map(lambda n: dump("x" * n)),
    st.integers(0, 700).map(lambda n: dump("é" * n)),
    st.sampled_from(
        [
            '""',
            '"  "',
            '"\\u0000"',
            '"C:\\\\u0000dir"',
            '"\\ud800"',
            '"a\\udc00b"',
            '"\\ud83d\\ude00"',
            '"\\ud83d"',
            '"line\\nbreak"',
            '"tab\\there"',
            '"quote\\"in"',
            '"NaN"',
            '"Infinity"',
            '"1e1"',
            '"1.5"',
            '" 12 "',
            '"0x10"',
            '"true"',
            '"[1,2]"',
            '"e\\u0301"',
            '"\\/slash"',
            '"1,]"',
            '"[Untitled]"',
            '"Infinity, ]"',
            '"\u00a0"',
            '"\u3000 "',
            '"\t"',
            '" \u2003 "',
        ]
    ),
)
OTHERS = st.one_of(
    st.sampled_from(
        [
            "null",
            "true",
            "false",
            "[]",
            "{}",
            "[1, 2]",
            '{"a": [1, {"b": null}]}',
            "NaN",
            "Infinity",
            "-Infinity",
            "nan",
            "[1,]",
            '{"a": 1,}',
            "[" * 600 + "]" * 600,
            "[" * 1100 + "]" * 1100,
            "[" * 300 + "]" * 300,
        ]
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5), _nest, max_leaves=6
    ).map(dump),
)
VALUES = st.one_of(NUMBERS, STRINGS, OTHERS)
TS = st.one_of(
    st.integers(1_500_000_000_000, 1_600_000_000_000).map(str),
    st.integers(1_500_000_000, 1_600_000_000).map(str),  # seconds
    st.integers(1_500_000_000_000_000, 1_600_000_000_000_000).map(str),  # microseconds
    st.sampled_from(
        [
            "9223372036854775807",
            "1e17",
            "100000000000000000",
            "0",
            "-1",
            "946684799999",
            "946684800000",
            "1893456000000",
            "1893456000001",
            "1.5436000100e12",
            "1541105830796.0",
            "1541105830796.5",
            '"1541105830796"',
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], keys: list[str]) -> Record:
    """``base`` with a few fields changed and the key-level faults."""
    pairs: list[Pair] = [(k, dump(v)) for k, v in base.items()]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(pairs) - 1))
        key = pairs[i][0]
        value = draw(TS if key == "ts" and draw(st.booleans()) else VALUES)
        pairs[i] = (key, value)
    fault = draw(st.sampled_from(["none"] * 6 + ["duplicate", "missing", "extra", "cased"]))
    if fault == "duplicate":
        key = draw(st.sampled_from(keys))
        pairs.append((key, draw(VALUES)))
    elif fault == "missing":
        del pairs[draw(st.integers(0, len(pairs) - 1))]
    elif fault == "extra":
        pairs.insert(draw(st.integers(0, len(pairs))), (draw(st.text(max_size=8)), draw(VALUES)))
    elif fault == "cased":
        i = draw(st.integers(0, len(pairs) - 1))
        pairs[i] = (pairs[i][0].upper(), pairs[i][1])
    trailing = draw(st.integers(0, 19)) == 0
    return pairs, trailing


@st.composite
def events(draw: st.DrawFn) -> Record:
    base = dict(
        EVENT,
        ts=draw(st.integers(1_541_000_000_000, 1_545_000_000_000)),
        sessionId=draw(st.integers(1, 50)),
        itemInSession=draw(st.integers(0, 9)),
        userId=str(draw(st.integers(1, 30))),
    )
    base["page"] = draw(st.sampled_from(["NextSong"] * 4 + ["Home", "Logout"]))
    return draw(mutated(base, EVENT_KEYS))


@st.composite
def songs(draw: st.DrawFn) -> Record:
    base = dict(
        SONG,
        song_id="SO" + draw(st.text("ABCDEFGHIJ0123456789", min_size=16, max_size=16)),
        artist_id="AR" + draw(st.text("ABC0123", min_size=3, max_size=3)) + "0" * 13,
    )
    if draw(st.booleans()):  # a song the sample event plays
        base.update(title=EVENT["song"], artist_name=EVENT["artist"], duration=EVENT["length"])
    return draw(mutated(base, SONG_KEYS))


Example = tuple[list[Record], list[Record]]  # events, songs


def run_batch(engines: dict[str, sa.Engine], root: Path, examples: list[Example]) -> None:
    """Every example in its own small and pretty files, all of them in one big file; one load
    per backend. Parity over everything, and each record's verdict the same in its small
    file as in the big one."""
    logs, songs = root / "logs", root / "songs"
    for folder in (logs, songs):
        folder.mkdir(parents=True)
    big: dict[str, list[str]] = {"e": [], "s": []}
    where: dict[tuple[str, int], int] = {}  # (small file, line) -> line in the big file
    for i, (event_records, song_records) in enumerate(examples):
        for stem, folder, records in (("e", logs, event_records), ("s", songs, song_records)):
            if not records:
                continue
            lines = [record_text(p, trailing_comma=t, pretty=False) for p, t in records]
            for j in range(len(lines)):
                where[(f"{stem}{i}.json", j + 1)] = len(big[stem]) + j + 1
            big[stem] += lines
            (folder / f"{stem}{i}.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
            (folder / f"{stem}{i}_pretty.json").write_text(
                "".join(record_text(p, trailing_comma=t, pretty=True) + "\n" for p, t in records),
                encoding="utf-8",
            )
    for stem, folder in (("e", logs), ("s", songs)):
        text = "\n".join(big[stem]) + "\n"
        text += "\n" * max(0, SMALL_FILE_BYTES - len(text.encode()) + 1)
        (folder / f"{stem}_big.json").write_text(text, encoding="utf-8")
    duck = stage_and_transform(engines["duckdb"], logs, songs)
    pg = stage_and_transform(engines["postgresql"], logs, songs)
    differ = sorted(set(duck.rejected) ^ set(pg.rejected))
    assert not differ, _explain(differ, logs, songs)
    for table, rows in duck.staged.items():
        only_duck = Counter(rows) - Counter(pg.staged[table])
        only_pg = Counter(pg.staged[table]) - Counter(rows)
        assert not only_duck and not only_pg, (
            f"{table}: DuckDB only {list(only_duck)[:3]}; PostgreSQL only {list(only_pg)[:3]}"
        )
    assert duck.star == pg.star
    assert duck.read == pg.read
    for table in ("staging_events", "staging_songs"):
        rejected = sum(1 for r in duck.rejected if r[0] == table)
        assert duck.read[table] == len(duck.staged[table]) + rejected
    verdicts = {(name, line): reason for _, name, line, reason in duck.rejected}
    for (name, line), big_line in where.items():
        assert verdicts.get((name, line)) == verdicts.get((f"{name[0]}_big.json", big_line)), (
            name,
            line,
        )


def _explain(differ: list[tuple[str, str, int | None, str]], logs: Path, songs: Path) -> str:
    shown = []
    for table, name, line, reason in differ[:5]:
        folder = logs if table == "staging_events" else songs
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        text = lines[line - 1] if line and line <= len(lines) else "?"
        shown.append(f"{name}:{line}: {reason}\n    {text[:300]}")
    return "DuckDB and PostgreSQL disagree:\n" + "\n".join(shown)


EXAMPLE = st.tuples(st.lists(events(), max_size=6), st.lists(songs(), max_size=4))


def batched(engines: dict[str, sa.Engine], root: Path, count: int) -> int:
    """Draw ``count`` examples with Hypothesis, checked in loads of BATCH_FILES."""
    collected: list[Example] = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(example=EXAMPLE)
    def collect(example: Example) -> None:
        collected.append(example)

    collect()
    for n, start in enumerate(range(0, len(collected), BATCH_FILES)):
        run_batch(engines, root / f"batch{n}", collected[start : start + BATCH_FILES])
    return len(collected)
