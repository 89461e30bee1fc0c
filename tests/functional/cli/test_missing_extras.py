"""Each engine and feature beyond DuckDB is a pip extra: asking for one whose extra is
missing is one line naming the extra, exit 2, no traceback, nothing written.

A missing module is simulated with ``None`` in ``sys.modules`` (an import of it raises
ImportError); every module of every extra is tried in turn. CI checks the real thing: the
wheel installed without extras (.ci/run, the wheel phase)."""

from __future__ import annotations

import configparser
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import extras
from sparkify_dw.backends import registry
from sparkify_dw.models import LOADS
from tests.support.cli import invoke

ROOT = Path(__file__).resolve().parents[3]
PG_URL = "postgresql+psycopg://root@127.0.0.1/x"
REDSHIFT_URL = "redshift+redshift_connector://awsuser@example.invalid:5439/dev"

# (extra, the feature's arguments, what names it in the message); {warehouse} and {tmp}
# are filled in by the test.
# Every extra: each feature's, and each engine's (declared by its package).
ALL_EXTRAS: dict[str, tuple[str, ...]] = {
    **extras.EXTRAS,
    **{i.extra: i.modules for i in registry.engines().values() if i.extra},
}

CASES = [
    ("postgres", ["history", "--url", PG_URL], "the postgresql backend"),
    ("postgres", ["load", "--url", PG_URL], "the postgresql backend"),
    ("postgres", ["upgrade", "--url", PG_URL], "the postgresql backend"),
    ("postgres", ["load", "--dry-run", "--url", PG_URL], "the postgresql backend"),
    ("redshift", ["history", "--url", REDSHIFT_URL], "the redshift backend"),
    ("redshift", ["load", "--dry-run", "--url", REDSHIFT_URL], "the redshift backend"),
    ("redshift", ["upgrade", "--sql", "--url", REDSHIFT_URL], "the redshift backend"),
    (
        "s3",
        ["load", "--url", "{warehouse}", "--log-data", "s3://sparkify-test/log_data"],
        "reading s3:// sources",
    ),
    ("cluster", ["cluster", "status"], "sparkify-dw cluster"),
    ("docs", ["docs", "--url", "{warehouse}", "--out", "{tmp}/site"], "sparkify-dw docs"),
]


@pytest.mark.parametrize(
    ("extra", "module", "args", "what"),
    [
        pytest.param(extra, module, args, what, id=f"{module}:{' '.join(args[:2])}")
        for extra, args, what in CASES
        for module in ALL_EXTRAS[extra]
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    extra: str,
    module: str,
    args: list[str],
    what: str,
    duckdb_warehouse_url: sa.URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warehouse = duckdb_warehouse_url.render_as_string(hide_password=False)
    args = [a.format(warehouse=warehouse, tmp=tmp_path) for a in args]
    monkeypatch.setitem(sys.modules, module, None)
    before = sorted(p.name for p in tmp_path.iterdir())

    result = invoke(*args, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: {what} needs its extra: pip install 'sparkify_dw[{extra}]'\n"
    ), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no site, no dwh.cfg
    engine = sa.create_engine(duckdb_warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(LOADS)).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("module", extras.EXTRAS["docs"])
def test_python_m_docs_names_its_extra_too(
    module: str, duckdb_warehouse_url: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m sparkify_dw.docs`` (README) is ``sparkify-dw docs``: the same line."""
    from sparkify_dw.cli import run_module

    monkeypatch.setitem(sys.modules, module, None)
    out, err = io.StringIO(), io.StringIO()
    url = duckdb_warehouse_url.render_as_string(hide_password=False)
    code = run_module("docs", ["--url", url, "--out", str(tmp_path / "site")], out, err)
    assert code == 2
    assert err.getvalue() == (
        "error: sparkify-dw docs needs its extra: pip install 'sparkify_dw[docs]'\n"
    )
    assert out.getvalue() == "" and not (tmp_path / "site").exists()


QUICK_START = """
import json, sys
for module in json.loads(sys.argv[1]):
    sys.modules[module] = None  # as if no extra were installed, before anything imports
from sparkify_dw.cli import run
for args in json.loads(sys.argv[2]):
    code = run(args)
    if code != 0:
        sys.exit(f"{args}: exit {code}")
"""


def test_the_quick_start_needs_no_extra(duckdb_url: sa.URL, tmp_path: Path) -> None:
    """In a fresh interpreter with the optional modules blocked, the DuckDB quick start runs.

    sqlalchemy_redshift stays: installed, its entry point still names the ``redshift``
    dialect, which a blocked module would turn into an ImportError that a real install
    without it never sees. CI's wheel without extras checks that case (and that the models'
    Redshift options don't warn there)."""
    blocked = sorted(
        {m for modules in ALL_EXTRAS.values() for m in modules} - {"sqlalchemy_redshift"}
    )
    url = duckdb_url.render_as_string(hide_password=False)
    commands = [
        [*args, "--url", url]
        for args in (["upgrade"], ["load"], ["check"], ["analytics", "--limit", "3"])
    ]
    commands.append(["history", "--json", "--url", url])
    proc = subprocess.run(
        [sys.executable, "-c", QUICK_START, json.dumps(blocked), json.dumps(commands)],
        text=True,
        capture_output=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_DW_")},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout[proc.stdout.rindex("\n[") + 1 :])
    assert [(h["status"], h["rows_inserted"]) for h in history] == [("succeeded", 3478)]


def _requirements(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def test_dev_installs_every_extra_and_extras_names_each() -> None:
    """setup.cfg's extras and :data:`extras.EXTRAS` agree; ``[dev]`` holds every extra."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = cfg["options.extras_require"]
    assert set(ALL_EXTRAS) | {"notebook", "dev"} == set(declared)
    dev = _requirements(declared["dev"])
    for extra in ALL_EXTRAS:
        assert _requirements(declared[extra]) <= dev, extra


def test_python_m_cluster_names_its_extra(tmp_path: Path) -> None:
    """``python -m sparkify_dw.cluster`` (the README's form) is ``sparkify-dw cluster``: the
    engine's cluster package loads boto3 only when used, so the missing extra is one line,
    not a traceback."""
    script = (
        "import runpy, sys\n"
        "for module in ('boto3', 'botocore', 'configupdater'):\n"
        "    sys.modules[module] = None\n"
        "sys.argv = ['sparkify_dw.cluster', 'status']\n"
        "runpy.run_module('sparkify_dw.cluster', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], text=True, capture_output=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "error: sparkify-dw cluster needs its extra: pip install 'sparkify_dw[cluster]'\n"
    )
