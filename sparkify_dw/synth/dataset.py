"""The public API: ``generate`` writes a data set and returns its ``Summary``.

Why: it checks every argument before anything is written, then runs the
catalogue, the users and the event stream from streams seeded by ``seed``.
"""

from __future__ import annotations

import calendar
import math
import random
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sparkify_dw.errors import SynthError as SynthError
from sparkify_dw.synth.catalogue import MAX_SONGS, _foreign_pool, _Plays, _write_songs
from sparkify_dw.synth.events import _EventStream
from sparkify_dw.synth.layout import _DAY
from sparkify_dw.synth.people import _Crowd, _User
from sparkify_dw.synth.schedule import _day_quotas

DEFAULT_START = date(2018, 11, 1)
MAX_DAYS = 100_000  # the day quotas are a list; keep it small


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


def default_users(events: int, days: int) -> int:
    """Users for ``events`` over ``days``: about √events, and enough that sessions
    running at the same moment rarely need the same user."""
    concurrent = events / max(days, 1) / _DAY * 200  # ~200 s of session time per event
    return max(10, math.ceil(1.1 * math.sqrt(events)), math.ceil(3 * concurrent))


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


def _check_args(
    events: int,
    songs: int,
    days: int,
    match_share: float,
    blank_line_rate: float,
    users: int | None,
    start_date: date,
) -> None:
    """Refuse bad arguments before anything is written, each as one line."""
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
    _check_args(events, songs, days, match_share, blank_line_rate, users, start_date)
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
