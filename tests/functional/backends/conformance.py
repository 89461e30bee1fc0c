"""What every backend must do, as a base class each backend's tests subclass (as dbt's
adapter tests are): a backend passes when its subclass does.

A subclass provides one fixture, ``warehouse``: the URL of a migrated, empty warehouse of
its engine. Everything else is the contract, seen from outside: the registry finds the
backend by the URL's scheme, the sample loads to the same counts on every engine, a bad
record is rejected with its file, line and reason, a second load waits for the first and
says so in one line, readers can't write, and ``--dry-run`` sends nothing.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from sparkify_dw import backends, config, ledger, load
from sparkify_dw.backends import registry
from sparkify_dw.backends.contract import Backend
from sparkify_dw.errors import LockBusy

ROOT = Path(__file__).resolve().parents[3]
# The bundled sample, loaded: the same on every engine.
SAMPLE_COUNTS = {
    "staging_events": 4091,
    "staging_songs": 36,
    "artists": 35,
    "songs": 36,
    "users": 87,
    "time": 3476,
    "songplays": 3478,
}
GOOD = (
    '{"artist":null,"auth":"Logged In","firstName":"Ann","gender":"F","itemInSession":0,'
    '"lastName":"Lee","length":null,"level":"free","location":"X","method":"GET",'
    '"page":"Home","registration":1.5E12,"sessionId":1,"song":null,"status":200,'
    '"ts":1541105830796,"userAgent":"UA","userId":"7"}'
)


def _text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


class BackendConformance:
    """Subclass with a ``warehouse`` fixture (a migrated, empty warehouse's URL)."""

    scheme: ClassVar[str]

    @pytest.fixture
    def warehouse(self) -> sa.URL:
        raise NotImplementedError("a backend's conformance tests give their warehouse")

    def settings(self, url: sa.URL) -> config.Settings:
        return config.resolve(url=_text(url))

    def test_the_registry_finds_it_by_scheme(self, warehouse: sa.URL) -> None:
        assert warehouse.get_backend_name() == self.scheme
        info = registry.info_for(self.scheme)
        backend = backends.for_settings(self.settings(warehouse))
        assert isinstance(backend, Backend) and type(backend) is info.load()
        assert registry.check_url(warehouse, "test") == warehouse

    def test_the_sample_loads_to_the_same_counts(self, warehouse: sa.URL) -> None:
        result = load.run(url=_text(warehouse))
        assert result.counts == SAMPLE_COUNTS
        assert result.rejected == {"staging_events": 0, "staging_songs": 0}
        again = load.run(url=_text(warehouse), incremental=True)
        assert again.inserted.get("songplays", 0) == 0  # every file already loaded

    def test_a_bad_record_is_rejected_with_its_line(
        self, warehouse: sa.URL, tmp_path: Path
    ) -> None:
        logs = tmp_path / "log_data"
        logs.mkdir()
        (logs / "2018-11-02-events.json").write_text(f'{GOOD}\n{{"ts": "soon"\n{GOOD}\n')
        result = load.run(url=_text(warehouse), log_data=logs, max_errors=1)
        assert (result.staged["staging_events"], result.rejected["staging_events"]) == (2, 1)
        settings = self.settings(warehouse)
        engine = settings.create_engine(poolclass=sa.pool.NullPool)
        try:
            errors = ledger.errors(engine, result.load_id)
        finally:
            engine.dispose()
        assert [(e.line_no, Path(str(e.source)).name) for e in errors] == [
            (2, "2018-11-02-events.json")
        ]
        assert errors[0].reason

    info: ClassVar[str | None] = None  # "module:INFO" of a backend that isn't installed

    def test_a_second_load_waits_then_says_so_in_one_line(
        self, warehouse: sa.URL, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Another process holds the lock (DuckDB's is the file's, per process): the wait
        is said once, what for and how long at most, then the refusal in one line."""
        holder = subprocess.Popen(
            [sys.executable, "-m", "tests.functional.backends.hold_lock", _text(warehouse)]
            + ([self.info] if self.info else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with (
                caplog.at_level(logging.INFO, logger="sparkify_dw.waiting"),
                pytest.raises(LockBusy) as busy,
            ):
                load.run(url=_text(warehouse), wait=0.5)
            assert "\n" not in str(busy.value) and "0.5s" in str(busy.value)
            said = [r.getMessage() for r in caplog.records if r.name == "sparkify_dw.waiting"]
            assert len(said) == 1 and said[0].startswith("waiting up to 0.5s for another")
        finally:
            holder.communicate("", timeout=30)
        assert load.run(url=_text(warehouse)).counts["songplays"] == SAMPLE_COUNTS["songplays"]

    def test_readers_cannot_write(self, warehouse: sa.URL) -> None:
        backend = backends.for_settings(self.settings(warehouse), wait=10)
        with backend.reading() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text("CREATE TABLE written_by_a_reader (x INTEGER)"))

    def test_a_dry_run_sends_nothing(self, warehouse: sa.URL) -> None:
        statements = load.dry_run(self.settings(warehouse))
        assert any(s.startswith("INSERT INTO songplays") for s in statements)
        result = load.run(url=_text(warehouse), steps=["check"])
        assert result.counts["songplays"] == 0
