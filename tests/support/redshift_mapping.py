"""Redshift SQL that PostgreSQL spells differently, mapped where the tests run Redshift's text
on PostgreSQL (the harness, and the tests that execute Redshift-compiled queries directly).

Only what has one meaning on both: Redshift's ``COLLATE(expr, 'case_sensitive')`` (binary
UTF-8 order, SQL reference "COLLATE function") is PostgreSQL's ``expr COLLATE "C"``.
"""

from __future__ import annotations

import re

_COLLATE = re.compile(r"\bCOLLATE\(([\w.\"]+), 'case_sensitive'\)", re.I)


def for_postgresql(sql: str) -> str:
    """``sql`` as Redshift receives it, rewritten to run on PostgreSQL with the same result."""
    return _COLLATE.sub(r'(\1 COLLATE "C")', sql)
