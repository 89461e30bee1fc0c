"""Nothing destroys data by default (issue 28): ``downgrade`` needs its revision, and going
to ``base`` or dropping a table that holds rows needs a yes at a terminal or ``--yes``;
otherwise exit 2 with the row counts, and nothing changes. On DuckDB and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sparkify_dw import schema
from sparkify_dw.cli import schema as schema_commands
from tests.support.cli import invoke
from tests.support.helpers import table_rows


def _url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def _revision(url: sa.URL) -> str | None:
    engine = schema.create_engine(url)
    try:
        with engine.connect() as conn:
            return schema.current_revision(conn)
    finally:
        engine.dispose()


def test_downgrade_without_a_revision_is_refused(loaded_url: sa.URL) -> None:
    r = invoke("downgrade", "--url", _url(loaded_url))
    assert r.returncode == 2 and r.stderr.strip() == "error: Missing argument 'REVISION'."
    assert _revision(loaded_url) == schema.head()


@pytest.mark.parametrize("target", ["base", "0001"])
def test_dropping_rows_needs_yes_and_says_what_it_would_drop(
    loaded_url: sa.URL, target: str
) -> None:
    plays = len(table_rows(loaded_url, "songplays"))
    r = invoke("downgrade", target, "--url", _url(loaded_url))
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: downgrade to {target} from {schema.head()}: ")
    assert "loads (1 row)" in last and last.endswith("run it again with --yes to drop them")
    if target == "base":
        assert f"songplays ({plays:,} rows)" in last
    assert _revision(loaded_url) == schema.head()
    assert len(table_rows(loaded_url, "songplays")) == plays

    r = invoke("downgrade", target, "--yes", "--url", _url(loaded_url))
    assert r.returncode == 0, r.stderr
    assert _revision(loaded_url) == (None if target == "base" else target)


def test_a_downgrade_that_drops_no_rows_needs_no_yes(loaded_url: sa.URL) -> None:
    r = invoke("downgrade", "0002", "--url", _url(loaded_url))  # 0003 holds comments only
    assert r.returncode == 0, r.stderr
    assert _revision(loaded_url) == "0002"


def test_going_to_base_asks_even_when_empty(warehouse_url: sa.URL) -> None:
    r = invoke("downgrade", "base", "--url", _url(warehouse_url))
    assert r.returncode == 2 and "run it again with --yes" in r.stderr
    assert _revision(warehouse_url) == schema.head()


@pytest.mark.parametrize(("answer", "code"), [("n\n", 2), ("y\n", 0)])
def test_at_a_terminal_it_asks(
    loaded_url: sa.URL, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    monkeypatch.setattr(schema_commands, "interactive", lambda: True)
    r = invoke("downgrade", "base", "--url", _url(loaded_url), input=answer)
    assert r.returncode == code, r.stderr
    assert "Drop them?" in r.stderr
    assert _revision(loaded_url) == (schema.head() if code else None)
    if code:
        assert r.stderr.strip().endswith("not confirmed, nothing changed")
