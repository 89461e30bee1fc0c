"""Users, the crowd that lends them to sessions, sessions and page transitions.

Why: a user's JSON fragments are built once and reused by every event; a
session swaps them as it logs in and out, and ``PAGE_TRANSITIONS`` says what a
page does to its session.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sparkify_dw.synth.layout import _DAY, _MS, _agent, _jlog
from sparkify_dw.synth.pages import (
    _GUEST,
    _GUEST_SHARE,
    _IN,
    _NEXT_FREE,
    _NEXT_GUEST,
    _NEXT_OUT,
    _NEXT_PAID,
    _OUT,
    _PAID_START,
    P_CANCELLED,
    P_DOWNGRADE,
    P_HOME,
    P_LOGIN,
    P_LOGOUT,
    P_REGISTER,
    P_SAVE,
    P_SETTINGS,
    P_SUB_DOWN,
    P_SUB_REG,
    P_SUB_UP,
    P_UPGRADE,
)
from sparkify_dw.synth.words import _AGENTS, _FIRST_F, _FIRST_M, _LAST, _USER_LOCATIONS


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
# events._EventStream._other_page), since a Cancel that may not happen is shown as Home.
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
