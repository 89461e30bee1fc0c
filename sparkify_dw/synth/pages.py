"""The pages of the log: method, status, pause after, and how often each is drawn.

Why: the next page of a session is drawn from weights per phase and level; the
tables are built once here for ``bisect``.
"""

from __future__ import annotations

from collections.abc import Mapping

# (name, method, status, mean seconds until the session's next event)
_PAGES: tuple[tuple[str, str, int, float], ...] = (
    ("NextSong", "PUT", 200, 0.0),  # the gap after a song is its length
    ("Home", "GET", 200, 60.0),
    ("Login", "PUT", 307, 20.0),
    ("Logout", "PUT", 307, 30.0),
    ("Settings", "GET", 200, 40.0),
    ("Save Settings", "PUT", 307, 60.0),
    ("Upgrade", "GET", 200, 30.0),
    ("Submit Upgrade", "PUT", 307, 90.0),
    ("Downgrade", "GET", 200, 60.0),
    ("Submit Downgrade", "PUT", 307, 40.0),
    ("About", "GET", 200, 60.0),
    ("Help", "GET", 200, 90.0),
    ("Error", "GET", 404, 10.0),
    ("Roll Advert", "GET", 200, 20.0),
    ("Thumbs Up", "PUT", 307, 5.0),
    ("Thumbs Down", "PUT", 307, 5.0),
    ("Add to Playlist", "PUT", 200, 10.0),
    ("Add Friend", "PUT", 307, 15.0),
    ("Register", "GET", 200, 30.0),
    ("Submit Registration", "PUT", 307, 30.0),
    ("Cancel", "PUT", 307, 1.0),
    ("Cancellation Confirmation", "GET", 200, 1.0),
)
(
    P_SONG, P_HOME, P_LOGIN, P_LOGOUT, P_SETTINGS, P_SAVE, P_UPGRADE, P_SUB_UP, P_DOWNGRADE,
    P_SUB_DOWN, P_ABOUT, P_HELP, P_ERROR, P_ADVERT, P_UP, P_DOWN, P_PLAYLIST, P_FRIEND,
    P_REGISTER, P_SUB_REG, P_CANCEL, P_CANCELLED,
) = range(len(_PAGES))  # fmt: skip

# Per page, built once: the event line's method/page and status fragments, and the
# mean gap in seconds until the session's next event.
_METHOD_PAGE = tuple(f'"method":"{m}","page":"{n}"' for n, m, _, _ in _PAGES)
_STATUS_TS = tuple(f',"status":{s},"ts":' for _, _, s, _ in _PAGES)
_GAP_MEAN = tuple(g for _, _, _, g in _PAGES)

# Next-page weights per phase; pages that only follow another (Submit Upgrade, Save
# Settings, ...) are reached through people.PAGE_TRANSITIONS.
_W_FREE = {
    P_SONG: 830, P_HOME: 25, P_UP: 35, P_PLAYLIST: 18, P_ADVERT: 22, P_FRIEND: 12,
    P_DOWN: 7, P_LOGOUT: 10, P_SETTINGS: 6, P_HELP: 6, P_UPGRADE: 16, P_ABOUT: 3,
    P_ERROR: 1, P_CANCEL: 0.3,
}  # fmt: skip
_W_PAID = {
    P_SONG: 860, P_HOME: 25, P_UP: 40, P_PLAYLIST: 22, P_FRIEND: 13, P_DOWN: 8,
    P_LOGOUT: 10, P_SETTINGS: 6, P_HELP: 6, P_DOWNGRADE: 9, P_ABOUT: 3, P_ERROR: 1,
    P_CANCEL: 0.3,
}  # fmt: skip
_W_OUT = {P_HOME: 55, P_LOGIN: 35, P_ABOUT: 4, P_HELP: 4, P_ERROR: 2}
_W_GUEST = {P_HOME: 50, P_HELP: 12, P_ABOUT: 12, P_REGISTER: 20, P_ERROR: 6}

_GUEST_SHARE = 0.012  # sessions of visitors who never log in (auth "Guest")
_LOGGED_OUT_START = 0.05  # user sessions that begin logged out (Home/Login)
_PAID_START = 0.4  # users whose first level is paid


def _table(weights: Mapping[int, float]) -> tuple[list[float], list[int]]:
    """Cumulative weights normalised to 1 and their pages, for ``bisect``."""
    total = sum(weights.values())
    cum: list[float] = []
    pages: list[int] = []
    acc = 0.0
    for page, w in weights.items():
        acc += w / total
        cum.append(acc)
        pages.append(page)
    cum[-1] = 2.0  # random() < 1, so the last page always catches the remainder
    return cum, pages


_IN, _OUT, _GUEST = 0, 1, 2  # a session's phase: logged in, logged out, a guest's visit

# The next page when none is forced, as (cumulative weights, pages) for ``bisect``.
_NEXT_FREE, _NEXT_PAID = _table(_W_FREE), _table(_W_PAID)
_NEXT_OUT, _NEXT_GUEST = _table(_W_OUT), _table(_W_GUEST)
