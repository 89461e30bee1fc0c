"""Usage errors are one line and exit 2, never a traceback (issue 23's adversarial cases 10,
15 and 17): numbers out of range, URLs the resolver can't use, revisions Alembic can't find.
Each runs against a DuckDB and a PostgreSQL warehouse, and none writes a ledger row."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw.models import LOADS
from tests.support.cli import invoke


def _url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def _one_line(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err


def _no_loads(url: sa.URL) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(LOADS)).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["load", "--wait", "nan"], "nan is not a number of seconds from 0 to 86400"),
        (["load", "--wait", "inf"], "inf is not a number of seconds from 0 to 86400"),
        (["load", "--wait", "86401"], "is not a number of seconds from 0 to 86400"),
        (["history", "--wait", "nan"], "nan is not a number of seconds"),
        (
            ["history", "--limit", "99999999999999999999"],
            "not a whole number from 1 to 2,147,483,647",
        ),
        (["load", "--history", "--limit", "2147483648"], "is not a whole number from 1"),
        (["load", "--memory-limit", "99999999999999999999TB"], "at most 1024TiB"),
        (["upgrade", "zzz"], "Can't locate revision identified by 'zzz'"),
        (["downgrade", "zzz"], "Can't locate revision identified by 'zzz'"),
    ],
)
def test_case15_17_numbers_and_revisions_out_of_range(
    warehouse_url: sa.URL, args: list[str], expected: str
) -> None:
    if "--memory-limit" in args and warehouse_url.get_backend_name() != "duckdb":
        expected = "--memory-limit: the PostgreSQL backend has no such option"  # DuckDB's
    r = invoke(*args, "--url", _url(warehouse_url))
    _one_line(r.returncode, r.stderr, expected)
    _no_loads(warehouse_url)


@pytest.mark.parametrize("value", ["+inf", "+1e9", "+nan"])
def test_case10_an_event_window_past_the_calendar_is_one_line(
    warehouse_url: sa.URL, value: str
) -> None:
    r = invoke("load", "--url", _url(warehouse_url), env={"SPARKIFY_DW_LATEST_EVENT": value})
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: $SPARKIFY_DW_LATEST_EVENT: ")
    assert "Traceback" not in r.stderr
    _no_loads(warehouse_url)


def test_case10_status_max_age_out_of_range(warehouse_url: sa.URL) -> None:
    r = invoke("status", "--url", _url(warehouse_url), "--max-age", "99999999999999999999d")
    _one_line(r.returncode, r.stderr, "--max-age: an age of at most 36500d")


SECRET = "Pa55word"


@pytest.mark.parametrize("command", ["history", "status", "upgrade", "docs", "load"])
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql+psycopg://root:{SECRET}@127.0.0.1:abc/db", "the port is not a number"),
        (f"postgresql+psycopg://root:{SECRET}@127.0.0.1:99999/db", "from 1 to 65535"),
        (f"postgresqlx://root:{SECRET}@127.0.0.1/db", "unsupported database 'postgresqlx'"),
        (f"postgresql+psycopg2://root:{SECRET}@127.0.0.1/db", "use postgresql+psycopg://"),
        (f"postgresql+pg8000://root:{SECRET}@127.0.0.1/db", "use postgresql+psycopg://"),
        (f"redshift://root:{SECRET}@127.0.0.1/db", "use redshift+redshift_connector://"),
        (f"duckdb://root:{SECRET}@/tmp/x.duckdb", "a DuckDB URL names a file"),
        (f"not a url {SECRET}", "not a database URL"),
    ],
)
def test_case10_a_url_the_resolver_cannot_use_is_one_line_without_its_text(
    command: str, url: str, expected: str, tmp_path: Path
) -> None:
    out = ["--out", str(tmp_path / "site")] if command == "docs" else []
    r = invoke(command, "--url", url, *out)
    _one_line(r.returncode, r.stderr, expected)
    assert SECRET not in r.stderr + r.stdout


def test_case10_alembic_x_url_is_checked_the_same_way() -> None:
    from tests.support.cli import alembic

    r = alembic("-x", f"url=postgresql+pg8000://root:{SECRET}@127.0.0.1/db", "current")
    assert r.returncode != 0
    assert "-x url: the driver 'pg8000' is not supported" in r.stderr
    assert SECRET not in r.stderr + r.stdout
