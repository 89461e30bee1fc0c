"""notebooks/analytics.ipynb runs headless against a freshly loaded warehouse and draws charts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import analytics, config, schema
from tests.support.helpers import run_load

NOTEBOOK = Path(__file__).resolve().parents[3] / "notebooks" / "analytics.ipynb"

if os.environ.get("CI", "").lower() != "true":  # CI installs .[dev]: a missing one must fail
    pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
import nbclient  # noqa: E402
import nbformat  # noqa: E402


def test_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def test_notebook_runs_against_the_configured_warehouse(
    duckdb_warehouse_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_load(duckdb_warehouse_url)
    # The kernel inherits this environment: the notebook finds the warehouse through
    # config.resolve(), as an analyst's would.
    monkeypatch.setenv(config.ENV_URL, duckdb_warehouse_url.render_as_string(hide_password=False))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # plays by hour/weekday, top songs/artists, daily levels, agents
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"warehouse: {duckdb_warehouse_url.render_as_string()}" in printed
    # The first table is matched_share as the library answers it.
    first = next(o for o in outputs if o.output_type == "execute_result")
    share = analytics.matched_share(
        sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)
    )
    assert first.data["text/plain"].split("\n")[1].split()[1:3] == [
        str(share[0].plays),
        str(share[0].matched),
    ]


def test_notebook_started_in_its_folder_finds_the_quick_starts_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jupyter starts the kernel in notebooks/; the quick start built ./sparkify.duckdb in
    the project root. No URL is configured: the notebook must find that file."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "setup.cfg").write_text("[metadata]\nname = x\n")
    warehouse = sa.make_url(f"duckdb:///{project / 'sparkify.duckdb'}")
    schema.upgrade(warehouse)
    run_load(warehouse)
    for name in (config.ENV_URL, config.ENV_CONFIG):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute()
    printed = "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream"
    )
    assert f"warehouse: {warehouse.render_as_string()}" in printed
    assert not (project / "notebooks" / "sparkify.duckdb").exists()
