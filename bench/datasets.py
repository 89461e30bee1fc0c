"""The benchmark's data sets: generated once under ``--work``, reused while unchanged.

Two shapes (see bench/README.md):

* ``synthetic``: ``sparkify_dw.synth``, 1x = 10,000 events over 30 days and one song per
  file (songs = events / 20): many tiny song files;
* ``real``: N copies of the bundled sample shaped like the public data set
  (``realshape.py``): per copy 30 day files and 71 song files, about 113 events per song
  file.

A set lives in its own directory with a manifest of its parameters, the generator's
fingerprint and the files' count and size; it is reused while all three are unchanged and
regenerated otherwise (into a temporary directory, renamed when complete).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import realshape

from sparkify_dw.sources import scan_files

SHAPES = ("real", "synthetic")
BASE_EVENTS = 10_000  # the synthetic 1x set
EVENTS_PER_SONG = 20
DAYS = 30
SEED = 1


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment without SPARKIFY_DW_* settings: children get flags only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")}


@dataclass
class Dataset:
    shape: str
    scale: int
    events: int  # records written to the day files
    songs: int  # song records written
    days: int
    root: str
    log_files: int
    log_bytes: int
    song_files: int
    song_bytes: int
    generated: bool  # in this run (False: reused)
    generate_s: float | None
    summary: str
    params: dict[str, Any]

    @property
    def log_dir(self) -> str:
        return os.path.join(self.root, "log_data")

    @property
    def song_dir(self) -> str:
        return os.path.join(self.root, "song_data")

    @property
    def json_bytes(self) -> int:
        return self.log_bytes + self.song_bytes

    @property
    def label(self) -> str:
        return f"{self.shape} {self.scale}x"


def scan_tree(root: str) -> tuple[int, int]:
    """(files, bytes) of the visible ``*.json`` files under ``root``; reads no contents."""
    found = scan_files(root)
    return len(found), sum(size for _, size, _ in found)


def _reuse(root: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of a complete set made with ``params``, or None."""
    manifest = root / "bench-manifest.json"
    if not manifest.is_file():
        return None
    try:
        known: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if known.get("params") != params:
        return None
    logs, songs = scan_tree(str(root / "log_data")), scan_tree(str(root / "song_data"))
    if [*logs, *songs] != [
        known.get(k) for k in ("log_files", "log_bytes", "song_files", "song_bytes")
    ]:
        return None
    return known


def _fresh(work: Path, name: str) -> tuple[Path, Path]:
    root, tmp = work / name, work / f".{name}.tmp-{os.getpid()}"
    for stale in (tmp, root):
        if stale.exists():
            shutil.rmtree(stale)
    return root, tmp


def _finish(tmp: Path, root: Path, known: dict[str, Any]) -> dict[str, Any]:
    tmp.rename(root)
    logs, songs = scan_tree(str(root / "log_data")), scan_tree(str(root / "song_data"))
    known.update(
        zip(("log_files", "log_bytes", "song_files", "song_bytes"), (*logs, *songs), strict=True)
    )
    (root / "bench-manifest.json").write_text(json.dumps(known, indent=2), encoding="utf-8")
    return known


def _dataset(shape: str, scale: int, root: Path, known: dict[str, Any], generated: bool) -> Dataset:
    p = known["params"]
    return Dataset(
        shape,
        scale,
        known["events"],
        known["songs"],
        p["days"],
        str(root),
        known["log_files"],
        known["log_bytes"],
        known["song_files"],
        known["song_bytes"],
        generated,
        known.get("generate_s"),
        known.get("summary", ""),
        p,
    )


def synth_fingerprint() -> str:
    """The generator's source: a changed generator means the cached data is stale."""
    package = importlib.resources.files("sparkify_dw").joinpath("synth")
    digest = hashlib.sha256()
    for module in sorted(
        (m for m in package.iterdir() if m.name.endswith(".py")), key=lambda m: m.name
    ):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()[:16]


def ensure_synthetic(
    work: Path, scale: int, base_events: int = BASE_EVENTS, days: int = DAYS, seed: int = SEED
) -> Dataset:
    events = base_events * scale
    songs = max(1, events // EVENTS_PER_SONG)
    params = {
        "events": events,
        "songs": songs,
        "days": days,
        "seed": seed,
        "synth_sha256": synth_fingerprint(),
    }
    name = f"synth-e{events}-s{songs}-d{days}-seed{seed}"
    known = _reuse(work / name, params)
    if known is not None:
        say(f"[synthetic {scale}x] data: reusing {work / name}")
        return _dataset("synthetic", scale, work / name, known, generated=False)
    root, tmp = _fresh(work, name)
    say(
        f"[synthetic {scale}x] data: generating {events:,} events, {songs:,} songs over {days} days"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sparkify_dw.synth",
            "--events",
            str(events),
            "--songs",
            str(songs),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--out",
            str(tmp),
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: generating {name} failed: {proc.stderr.strip()}")
    known = _finish(
        tmp,
        root,
        {
            "params": params,
            "events": events,
            "songs": songs,
            "generate_s": time.perf_counter() - started,
            "summary": proc.stdout.strip().replace(str(tmp), str(root)),
        },
    )
    return _dataset("synthetic", scale, root, known, generated=True)


def ensure_real(work: Path, copies: int, sample: realshape.Sample | None = None) -> Dataset:
    """``copies`` copies of the bundled sample in the real data set's shape."""
    sample = sample or realshape.Sample.load()
    params = {
        "copies": copies,
        "days": realshape.DAYS_PER_COPY * copies,
        "song_files_per_copy": realshape.SONG_FILES_PER_COPY,
        "generator_sha256": realshape.fingerprint(sample),
    }
    name = f"real-x{copies}"
    known = _reuse(work / name, params)
    if known is not None:
        say(f"[real {copies}x] data: reusing {work / name}")
        return _dataset("real", copies, work / name, known, generated=False)
    root, tmp = _fresh(work, name)
    say(f"[real {copies}x] data: writing {copies} copies of the sample")
    started = time.perf_counter()
    stats = realshape.build(tmp, copies, sample)
    known = _finish(
        tmp,
        root,
        {
            "params": params,
            "events": stats.events,
            "songs": stats.song_files,
            "generate_s": time.perf_counter() - started,
            "summary": (
                f"{copies} copies: {stats.events:,} events in {stats.log_files:,} day "
                f"files, {stats.song_files:,} song files, {len(stats.song_ids):,} song "
                f"ids, {len(stats.artist_ids):,} artist ids"
            ),
        },
    )
    return _dataset("real", copies, root, known, generated=True)


def ensure(
    work: Path, shape: str, scale: int, sample: realshape.Sample | None = None, **synthetic: Any
) -> Dataset:
    if shape == "real":
        return ensure_real(work, scale, sample)
    return ensure_synthetic(work, scale, **synthetic)
