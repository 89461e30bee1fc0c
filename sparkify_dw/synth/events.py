"""The event stream: the loop that merges sessions in time order, and the log writer.

Why: events are written to the day file of their UTC date as they are produced,
so memory is bounded by the running sessions, never by the number of events.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from sparkify_dw.synth.catalogue import _Plays
from sparkify_dw.synth.layout import _DAY, _MS
from sparkify_dw.synth.pages import _IN, _PAGES, P_CANCEL, P_CANCELLED, P_HOME, P_SONG
from sparkify_dw.synth.people import PAGE_TRANSITIONS, _Crowd, _Session
from sparkify_dw.synth.schedule import _Spawner

_CHUNK = 4096  # lines buffered before a write: bounds memory, amortises I/O


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


@dataclass(frozen=True)
class _RunResult:
    """What the event loop wrote."""

    events: int
    next_song: int
    matched: int
    files: int
    sessions: int
    blank_lines: int


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
