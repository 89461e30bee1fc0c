"""One typed configuration, resolved once from one table of settings: the table is
complete and true in the README, engine options come from their packages, and nothing
but the resolver reads the environment."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from sparkify_dw import config
from sparkify_dw.backends import registry
from sparkify_dw.backends.requests import staging_requests
from sparkify_dw.errors import ConfigError
from sparkify_dw.settings_spec import EngineOptions, Setting
from sparkify_dw.sources import Reader

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sparkify_dw"


def every_setting() -> list[Setting[object]]:
    found: list[Setting[object]] = [*config.SETTINGS, *config.COMMAND_SETTINGS]
    for info in registry.engines().values():
        found += info.options.SPECS
    return found


def test_each_setting_has_one_name_one_variable_and_one_key() -> None:
    for group in [config.SETTINGS] + [i.options.SPECS for i in registry.engines().values()]:
        names = [s.name for s in group]
        assert len(names) == len(set(names)), names
    settings = every_setting()
    variables = [s.env for s in settings if s.env]
    keys = [s.cfg for s in settings if s.cfg]
    assert len(variables) == len(set(variables)) and len(keys) == len(set(keys))
    for setting in settings:
        assert setting.help and (setting.env or setting.cfg or setting.flag), setting.name
        if setting.default is not None:  # every default parses
            setting.parse(setting.default, "default")


def readme_settings_rows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| setting | flag | environment | dwh.cfg | default |") :]
    return [line for line in table.splitlines() if line.startswith("|")][2:]


def test_the_readme_table_lists_every_setting_where_it_is_read() -> None:
    rows = readme_settings_rows()
    for setting in every_setting():
        wanted = [f"`{setting.env}`"] if setting.env else []
        if setting.cfg:
            wanted.append(f"`[{setting.cfg[0]}] {setting.cfg[1]}`")
        if setting.flag:
            wanted.append(f"`{setting.flag}`")
        assert any(all(w in row for w in wanted) for row in rows), (setting.name, wanted)
    # and no row names a variable that no setting reads
    known = {s.env for s in every_setting()} | {config.ENV_URL}
    for row in rows:
        for variable in re.findall(r"`((?:SPARKIFY_DW|AWS)_[A-Z_]+)`", row):
            assert variable in known, row


def test_engine_options_come_from_the_engine_that_the_url_names(tmp_path: Path) -> None:
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[DUCKDB]\nMEMORY_LIMIT = 256MiB\n[IAM_ROLE]\nARN = not-an-arn\n")
    cfg.chmod(0o600)
    duck = config.resolve(url=f"duckdb:///{tmp_path}/w.duckdb", environ={}, cwd=tmp_path)
    assert type(duck.options).__name__ == "DuckDBOptions"
    assert vars(duck.options) == {"memory_limit": 256 * 2**20, "threads": None}
    # Another engine's keys are not read, so their faults are not this engine's.
    pg = config.resolve(url="postgresql+psycopg://u@h/db", environ={}, cwd=tmp_path)
    assert type(pg.options).__name__ == "PostgreSQLOptions" and vars(pg.options) == {}
    with pytest.raises(ConfigError, match=r"\[IAM_ROLE\] ARN: not an IAM role ARN"):
        config.resolve(url="redshift+redshift_connector://u@h:5439/d", environ={}, cwd=tmp_path)


def test_the_event_window_is_a_setting(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    default = config.resolve(environ={}, cwd=tmp_path)
    assert default.earliest_event == dt.datetime(2000, 1, 1)
    assert dt.timedelta(hours=23) < default.latest_event - before <= dt.timedelta(hours=25)
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[LOAD]\nEARLIEST_EVENT = 2018-11-01\nLATEST_EVENT = 2018-12-01T00:00\n")
    from_cfg = config.resolve(environ={config.ENV_LATEST_EVENT: "2019-01-01"}, cwd=tmp_path)
    assert from_cfg.earliest_event == dt.datetime(2018, 11, 1)
    assert from_cfg.latest_event == dt.datetime(2019, 1, 1)  # the variable wins
    assert from_cfg.sources["earliest_event"].endswith("[LOAD] EARLIEST_EVENT")
    with pytest.raises(ConfigError) as info:
        config.resolve(environ={config.ENV_EARLIEST_EVENT: "2030-01-01"}, cwd=tmp_path)
    assert str(info.value) == (
        f"{cfg} [LOAD] LATEST_EVENT must be after ${config.ENV_EARLIEST_EVENT}"
    )


def test_a_load_stages_with_the_settings_window(tmp_path: Path) -> None:
    settings = config.resolve(
        environ={config.ENV_EARLIEST_EVENT: "2018-11-01", config.ENV_LATEST_EVENT: "2018-12-01"},
        cwd=tmp_path,
    )
    events = staging_requests(settings, Reader.of(settings))[0]
    assert (events.window.earliest, events.window.latest) == (
        dt.datetime(2018, 11, 1),
        dt.datetime(2018, 12, 1),
    )


def test_an_engine_without_options_states_it() -> None:
    assert vars(EngineOptions.defaults()) == {}


# --- nothing but the resolver reads the environment ------------------------------------------

ENVIRONMENT_READ = re.compile(r"os\.environ|getenv")
RESOLVER = PACKAGE / "config.py"


def environment_readers(package: Path) -> list[str]:
    """``file:line`` of every read of the environment under ``package`` but the resolver."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path == RESOLVER:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ENVIRONMENT_READ.search(line):
                found.append(f"{path.relative_to(package.parent)}:{number}")
    return found


def test_only_the_resolver_reads_the_environment() -> None:
    assert environment_readers(PACKAGE) == []
    assert ENVIRONMENT_READ.search(RESOLVER.read_text(encoding="utf-8"))


def test_the_environment_rule_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "sparkify_dw"
    package.mkdir()
    (package / "side_door.py").write_text("import os\nworkers = os.environ.get('W')\n")
    (package / "other.py").write_text("value = os.getenv('X')\n")
    assert environment_readers(package) == ["sparkify_dw/other.py:1", "sparkify_dw/side_door.py:2"]


def test_secrets_from_the_environment_pass_through_the_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" in config.env_secrets()
    assert config.env_secrets({}) == []
    assert os.environ["AWS_SECRET_ACCESS_KEY"]  # read here, in a test, not in the package
