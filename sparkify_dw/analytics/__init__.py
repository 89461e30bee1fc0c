"""The analytics team's song-play questions (:mod:`.questions`), e.g.
``sparkify_dw.analytics.top_songs(limit=5, start="2018-11-05")``.

Names are loaded when first used, so ``python -m sparkify_dw.analytics --help``
(:mod:`.__main__`) imports no SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkify_dw.analytics.questions import (
        DEFAULT_LIMIT,
        QUESTIONS,
        SAMPLE_EXPECTED,
        Params,
        describe_window,
        format_share,
        frame_of,
        matched_share,
        most_active_users,
        parse_moment,
        plays_by_browser,
        plays_by_hour,
        plays_by_level,
        plays_by_os,
        plays_by_weekday,
        plays_per_day,
        top_artists,
        top_locations,
        top_songs,
        users_by_level,
    )

__all__ = [
    "DEFAULT_LIMIT",
    "QUESTIONS",
    "SAMPLE_EXPECTED",
    "Params",
    "describe_window",
    "format_share",
    "frame_of",
    "matched_share",
    "most_active_users",
    "parse_moment",
    "plays_by_browser",
    "plays_by_hour",
    "plays_by_level",
    "plays_by_os",
    "plays_by_weekday",
    "plays_per_day",
    "top_artists",
    "top_locations",
    "top_songs",
    "users_by_level",
]


def __getattr__(name: str) -> Any:
    value = getattr(importlib.import_module("sparkify_dw.analytics.questions"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
