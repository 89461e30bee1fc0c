"""The Python API a notebook user can guess: keyword arguments with the command's defaults,
the ledger as rows or frames."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sparkify_dw import ledger, load
from sparkify_dw.errors import ConfigError
from tests.support.helpers import SAMPLE, all_days


def test_run_takes_the_commands_options_as_keywords(duckdb_warehouse_url: sa.URL) -> None:
    url = duckdb_warehouse_url.render_as_string(hide_password=False)
    days = load.run(url=url, log_data=SAMPLE / "log_data", since="2018-11-03", until="2018-11-04")
    expected = sum(
        1
        for d in ("03", "04")
        for line in (SAMPLE / f"log_data/2018/11/2018-11-{d}-events.json").read_text().splitlines()
        if line.strip()
    )
    assert days.staged["staging_events"] == expected
    rest = load.run(url=url, incremental=True, max_errors=10)
    assert 0 < rest.staged["staging_events"] < 4091 and len(all_days()) == 16
    again = load.run(url=url, incremental=True)
    assert again.staged["staging_events"] == 0 and again.inserted["songplays"] == 0
    engine = sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)
    rows = ledger.history(engine)
    assert [r.load_id for r in rows] == [3, 2, 1] and rows[0].status == "succeeded"
    assert ledger.errors(engine) == []
    frame = ledger.history(engine, as_frame=True)
    assert str(frame["started_at"].dtype).startswith("datetime64") and len(frame) == 3
    with pytest.raises(ledger.NoSuchLoad, match="load #99 does not exist"):
        ledger.errors(engine, 99)
    engine.dispose()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"since": "3 Nov"}, load.LoadError, "since: not a date"),
        ({"since": "2018-11-09", "until": "2018-11-03"}, ConfigError, "is after until"),
        ({"steps": []}, load.LoadError, "no steps to run"),
        ({"incremental": True, "selection": load.Selection()}, load.LoadError, "not both"),
    ],
)
def test_run_refuses_bad_arguments_before_it_starts(
    duckdb_warehouse_url: sa.URL, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        load.run(url=duckdb_warehouse_url.render_as_string(hide_password=False), **kwargs)  # type: ignore[arg-type]
    assert ledger.history(sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)) == []
