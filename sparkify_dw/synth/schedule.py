"""When events happen: each day's share of them, and when sessions start.

Why: the spawner follows each day's quota so the total comes out exact even
when sessions are cut off early.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from sparkify_dw.synth.layout import _DAY
from sparkify_dw.synth.pages import _GUEST, _IN, _LOGGED_OUT_START, _OUT, P_HOME, P_LOGIN
from sparkify_dw.synth.people import _Crowd, _Session


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
