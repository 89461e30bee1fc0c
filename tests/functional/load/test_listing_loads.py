"""A load takes every file a local source holds, linked folders included, on each backend;
what it can't read stops it with one line naming the path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw.errors import SourceError
from tests.support.helpers import SAMPLE, run_load, star_snapshot


def test_a_linked_day_folder_is_loaded(
    warehouse_url: sa.URL, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """November's folder lives elsewhere and is linked in: the load equals the sample's."""
    outside = tmp_path / "elsewhere" / "11"
    shutil.copytree(SAMPLE / "log_data" / "2018" / "11", outside)
    logs = tmp_path / "log_data"
    (logs / "2018").mkdir(parents=True)
    (logs / "2018" / "11").symlink_to(outside, target_is_directory=True)
    result = run_load(warehouse_url, log_data=logs)
    assert result.staged["staging_events"] == 4091
    same = "pg" if warehouse_url.get_backend_name() == "postgresql" else "duckdb"
    sample: sa.URL = request.getfixturevalue(f"{same}_sample_warehouse")
    assert star_snapshot(warehouse_url) == star_snapshot(sample)


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_a_fifo_in_the_source_stops_the_load_naming_it(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url: sa.URL = request.getfixturevalue(
        "pg_warehouse_url" if backend == "postgresql" else "duckdb_warehouse_url"
    )
    logs = tmp_path / "log_data"
    shutil.copytree(SAMPLE / "log_data", logs)
    os.mkfifo(logs / "2018" / "11" / "x.json")  # reading it would wait forever
    with pytest.raises(SourceError) as info:
        run_load(url, log_data=logs)
    assert str(info.value).endswith(
        f"{logs / '2018' / '11' / 'x.json'}: not a regular file (a FIFO, socket or device)"
    )
    assert star_snapshot(url) == {name: [] for name in star_snapshot(url)}
