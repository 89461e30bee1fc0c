"""notebooks/analytics.ipynb runs headless against a freshly loaded warehouse and draws charts."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import analytics, config, schema
from tests.support.cli import invoke
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
    # Plays by hour/weekday, daily levels, agents; not top songs/artists (below).
    assert len(images) == 3
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"warehouse: {duckdb_warehouse_url.render_as_string()}" in printed
    # The charts' window, in words, as every chart's title says it.
    assert "window: 2018-11-01 to 2018-11-21 (UTC), 3,478 plays" in printed
    # One matched play is said in words, not drawn as one bar filling the panel.
    assert "Only 1 of 3,478 plays (0.0288%) in 2018-11-01 to 2018-11-21 matched" in printed
    # The first table is matched_share as the library answers it, its share as the CLI
    # prints it.
    first = next(o for o in outputs if o.output_type == "execute_result")
    share = analytics.matched_share(
        sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)
    )
    assert first.data["text/plain"].split("\n")[1].split()[1:4] == [
        str(share[0].plays),
        str(share[0].matched),
        analytics.format_share(share[0].share),
    ]
    assert analytics.format_share(share[0].share) == "0.0288%"


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


def test_an_open_notebook_session_never_blocks_a_load_or_status(
    duckdb_loaded_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analyst's kernel keeps an engine, and what it read, for the whole day: a load
    and ``sparkify-dw status`` run meanwhile and succeed at once, and the kernel's next
    query sees the new load. (An engine with a pool, as ``settings.create_engine()``
    gave, keeps DuckDB's file open in the kernel: the load would wait, then fail.)"""
    url = duckdb_loaded_url.render_as_string(hide_password=False)
    monkeypatch.setenv(config.ENV_URL, url)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import pandas as pd, sqlalchemy as sa, sparkify_dw\n"
                "engine = sparkify_dw.connect()\n"
                "plays = pd.read_sql_table('songplays', engine)\n"
                "table = sa.Table('loads', sa.MetaData(), autoload_with=engine)\n"
                "print(len(plays), sa.inspect(engine).has_table('songplays'), len(table.c))"
            ),
            nbformat.v4.new_code_cell(
                "print(list(pd.read_sql_table('loads', engine)['load_id']),"
                " len(sparkify_dw.table('songplays')))"
            ),
        ]
    )
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        assert nb.cells[0].outputs[0].text.split()[:2] == ["3478", "True"]
        # The kernel lives and holds its engine; a load that would wait only 5 s.
        loaded = invoke("load", "--url", url, "--wait", "5")
        assert loaded.returncode == 0, loaded.stderr
        status = invoke("status", "--url", url)
        assert status.returncode == 0, status.stderr
        assert "last success  load #2" in status.stdout
        client.execute_cell(nb.cells[1], 1)
    assert nb.cells[1].outputs[0].text.strip() == "[1, 2] 3478"


def _jupyter(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``jupyter ARGS`` from this interpreter's environment (the [notebook] extra's)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    return subprocess.run(
        [str(jupyter), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


@pytest.mark.slow  # a Jupyter server started and driven: 9 s
def test_the_notebook_extra_brings_jupyter_to_open_and_run_it(tmp_path: Path) -> None:
    """``pip install 'sparkify_dw[notebook]'`` is enough to open the notebook (Jupyter
    Notebook 7, JupyterLab) and run it from a shell (nbconvert)."""
    extra = _extra("notebook")
    assert {"notebook", "nbconvert", "ipykernel", "pandas", "matplotlib"} <= extra
    for app in ("notebook", "lab", "nbconvert"):
        found = _jupyter(app, "--version", cwd=tmp_path)
        assert found.returncode == 0 and found.stdout.strip()[:1].isdigit(), (app, found.stderr)


@pytest.mark.slow
def test_nbconvert_runs_the_notebook(
    duckdb_loaded_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_URL, duckdb_loaded_url.render_as_string(hide_password=False))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / "ran.ipynb"
    ran = _jupyter(
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        str(NOTEBOOK),
        "--output",
        str(out),
        cwd=tmp_path,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    cells = nbformat.read(out, as_version=4).cells
    assert all(c.outputs for c in cells if c.cell_type == "code")


def _extra(name: str) -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(NOTEBOOK.parents[1] / "setup.cfg")
    lines = parser["options.extras_require"][name].split("\n")
    return {re.split(r"[<>=\[]", line.strip())[0].lower() for line in lines if line.strip()}


@pytest.mark.slow
def test_the_notebook_charts_top_songs_when_enough_plays_match(
    duckdb_warehouse_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the one-play rule: a catalogue that explains half the plays is
    ranked in a chart, and nothing is said in words instead."""
    from sparkify_dw import synth

    data = tmp_path / "data"
    synth.generate(data, events=3000, songs=40, days=3, match_share=0.5, seed=11)
    run_load(duckdb_warehouse_url, log_data=data / "log_data", song_data=data / "song_data")
    monkeypatch.setenv(config.ENV_URL, duckdb_warehouse_url.render_as_string(hide_password=False))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4  # top songs and artists drawn too
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "too few to rank" not in printed and "window: " in printed
