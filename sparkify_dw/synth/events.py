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
from sparkify_dw.synth.pages import (
    _GAP_MEAN,
    _IN,
    _METHOD_PAGE,
    _STATUS_TS,
    P_CANCEL,
    P_CANCELLED,
    P_HOME,
    P_SONG,
)
from sparkify_dw.synth.people import PAGE_TRANSITIONS, _Crowd, _Session, _Transition
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

    def __init__(
        self,
        root: Path,
        rng: random.Random,
        plays: _Plays,
        crowd: _Crowd,
        quotas: list[int],
        t0: int,
        blank_rate: float,
        start_date: date,
    ) -> None:
        self.rng, self.plays, self.crowd = rng, plays, crowd
        self.spawner = _Spawner(rng, crowd, quotas, t0)
        self.t0, self.end = t0, t0 + len(quotas) * _DAY
        self.blank_rate, self.start_date = blank_rate, start_date
        self.writer = _LogWriter(root)
        self.heap: list[tuple[int, int, _Session | None]] = []
        self.parked = True  # whether the spawner is off the heap

    def run(self) -> _RunResult:
        # What happens for every event stays in this loop with local names: it is the hot
        # path (about 200k events/s). What happens once a session or a day is a method.
        rnd = self.rng.random
        heapreplace = heapq.heapreplace
        writer, draw_play = self.writer, self.plays.draw
        transitions, end, blank_rate = PAGE_TRANSITIONS, self.end, self.blank_rate
        mp, st = _METHOD_PAGE, _STATUS_TS
        heap = self.heap
        if self.spawner.budget > 0:
            heap.append((self.spawner.next_time(self.t0), 0, None))
            self.parked = False
        chunk: list[str] = []
        day_end = self.t0  # end of the day whose file is open
        first_file, file_lines = True, 0
        written = next_song = matched = blanks = 0

        while heap:
            t, sid, sess = heap[0]
            if sess is None:  # the spawner
                self._spawn(t)
                continue
            if t >= day_end:  # the first event of a new UTC date
                writer.write(chunk)
                chunk, file_lines = [], 0
                day_end = self._open_day(t)
                first_file = writer.files == 1

            phase, usr = sess.phase, sess.user
            page = sess.next_page(rnd)
            s1 = sess.s1
            if page == P_SONG:
                art, song, length, seconds, hit = draw_play(rnd)
                matched += hit
                next_song += 1
                gap = int(seconds + rnd())
            else:
                art = song = length = "null"
                page, gap, s1 = self._other_page(sess, page)

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
            if follow is not None:
                ended, gap = self._follow(follow, sess, phase, gap)
            nt = t + (gap if gap > 0 else 1)
            if sess.left > 0 and not ended and nt < end:
                heapreplace(heap, (nt, sid, sess))
            else:
                self._end(t, sess)

        writer.write(chunk)
        writer.close()
        return _RunResult(written, next_song, matched, writer.files, self.spawner.sessions, blanks)

    def _spawn(self, t: int) -> None:
        """The spawner's turn at ``t``: start a session, or park while the budget is spent."""
        heap, spawner = self.heap, self.spawner
        if spawner.budget <= 0:
            heapq.heappop(heap)
            self.parked = True
            return
        sess = spawner.spawn()
        heapq.heapreplace(heap, (t, sess.sid, sess))
        if spawner.budget > 0:
            heapq.heappush(heap, (spawner.next_time(t), 0, None))
        else:
            self.parked = True

    def _end(self, t: int, sess: _Session) -> None:
        """Take the session (at the top of the heap) off; its unused events go back."""
        heapq.heappop(self.heap)
        if sess.left > 0:  # cut off by the last day's end or a cancellation
            self.spawner.give_back(sess.left)
            if self.parked:
                heapq.heappush(self.heap, (self.spawner.next_time(t), 0, None))
                self.parked = False
        if sess.user is not None:
            self.crowd.release(sess.user)

    def _open_day(self, t: int) -> int:
        """Open the day file of ``t``'s UTC date; returns the end of that day."""
        day_index = (t - self.t0) // _DAY
        self.writer.open_day(self.start_date + timedelta(days=day_index))
        return self.t0 + (day_index + 1) * _DAY

    def _other_page(self, sess: _Session, page: int) -> tuple[int, int, str]:
        """(page, gap, s1) of an event that is not a song.

        A Cancel only goes through while the crowd allows cancellations and the
        session has room for the confirmation; otherwise it is shown as Home.
        """
        gap = 1 + int(-math.log(1.0 - self.rng.random()) * _GAP_MEAN[page])
        s1 = sess.s1
        if page == P_CANCEL:
            crowd = self.crowd
            if crowd.cancels_left > 0 and sess.user is not None and sess.left >= 2:
                crowd.cancels_left -= 1
                sess.forced = P_CANCELLED  # the confirmation always follows
                gap = 1
            else:
                page = P_HOME
        elif page == P_CANCELLED and sess.user is not None:
            s1 = s1.replace('"Logged In"', '"Cancelled"', 1)
        return page, gap, s1

    def _follow(
        self, follow: _Transition, sess: _Session, phase: int, gap: int
    ) -> tuple[bool, int]:
        """Apply what may follow the page just written: (whether it ends, the gap)."""
        if (
            (sess.user is not None or not follow.user)
            and (follow.phase < 0 or follow.phase == phase)
            and (follow.chance >= 1.0 or self.rng.random() < follow.chance)
        ):
            ended = follow.effect(sess, self.crowd) if follow.effect is not None else False
            if follow.then >= 0:
                sess.forced = follow.then
            if follow.gap:
                gap = follow.gap
            return ended, gap
        return False, gap
