"""The command line's shared pieces: one set of names for the environment, one exit status
per error class, one handler, and a package no library module imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import sparkify_dw
from sparkify_dw import config, errors, synth
from sparkify_dw.backends.redshift.cluster import command as cluster_command
from sparkify_dw.backends.redshift.cluster import waiting
from sparkify_dw.cli import options, report

PACKAGE = Path(sparkify_dw.__file__).resolve().parent


def _env_options() -> dict[str, str]:
    """Each option --help shows a variable for, by its flag: the variable."""
    import click

    from sparkify_dw import cli

    found: dict[str, str] = {}
    ctx = click.Context(cli.main)
    for name in cli.main.list_commands(ctx):
        command = cli.main.get_command(ctx, name)
        assert command is not None
        subcommands = getattr(command, "commands", {}).values()
        for each in (command, *subcommands):
            for param in each.params:
                if isinstance(param, options.EnvOption):
                    assert isinstance(param.envvar, str)
                    found[param.opts[0]] = param.envvar
    return found


def test_the_options_name_the_resolvers_environment_variables() -> None:
    """options.py can't import config (SQLAlchemy: --help would pay for it): the variables
    it shows are the resolver's, from its table of settings and each engine's options."""
    from sparkify_dw.backends import registry

    specs = [*config.SETTINGS, *config.COMMAND_SETTINGS]
    specs += [s for info in registry.engines().values() for s in info.options.SPECS]
    resolver = {s.flag: s.env for s in specs if s.flag}
    resolver |= {"--url": config.ENV_URL, "--config": config.ENV_CONFIG}
    shown = _env_options()
    assert set(shown) == {
        "--url",
        "--config",
        "--log-data",
        "--song-data",
        "--log-jsonpath",
        "--memory-limit",
    }
    assert shown == {flag: resolver[flag] for flag in shown}
    memory = next(s for s in specs if s.flag == "--memory-limit")
    assert memory.default == options.DEFAULT_MEMORY_LIMIT


def test_the_defaults_help_shows_are_the_librarys() -> None:
    from sparkify_dw.cli import synth as synth_command

    assert synth.DEFAULT_START.isoformat() == synth_command.DEFAULT_START
    assert cluster_command.DEFAULT_TIMEOUT == waiting.DEFAULT_TIMEOUT
    assert cluster_command.DEFAULT_POLL_INTERVAL == waiting.DEFAULT_POLL_INTERVAL


ERROR_CLASSES = [
    cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.SparkifyError)
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_carries_its_exit_status(cls: type[errors.SparkifyError]) -> None:
    assert cls.exit_code in (1, 2)


def test_bad_input_is_2_and_what_failed_is_1() -> None:
    usage: list[type[errors.SparkifyError]] = [errors.ConfigError, errors.SourceError]
    usage += [errors.ExpectedFileError, errors.SynthError, errors.SchemaError, errors.NoSuchLoad]
    failed: list[type[errors.SparkifyError]] = [errors.LoadError, errors.TooManyRejected]
    failed += [errors.LockBusy, errors.CheckFailed, errors.ClusterError]
    assert {c.exit_code for c in usage} == {2}
    assert {c.exit_code for c in failed} == {1}


def test_the_handler_maps_by_class_never_by_message() -> None:
    import click
    import sqlalchemy as sa
    from alembic.util import CommandError

    assert report.exit_code(errors.ConfigError("x")) == 2
    assert report.exit_code(errors.LoadError("x")) == 1
    assert report.exit_code(sa.exc.OperationalError("s", {}, Exception("x"))) == 1
    assert report.exit_code(FileNotFoundError("x")) == 1
    assert report.exit_code(CommandError("x")) == 2
    assert report.exit_code(click.UsageError("x")) == 2
    assert report.exit_code(KeyError("a bug")) is None  # a bug keeps its traceback


def test_the_handler_prints_one_masked_line(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    err = io.StringIO()
    meta: dict[str, object] = {"secrets": lambda text: text.replace("s3cret", "***")}
    code = report.handle(errors.ConfigError("bad password s3cret\nsecond line"), meta, err)
    assert code == 2
    assert err.getvalue().count("\n") == 1 and "s3cret" not in err.getvalue()
    with pytest.raises(KeyError):
        report.handle(KeyError("a bug"), {}, io.StringIO())


def test_nothing_uses_argparse() -> None:
    found = [p for p in PACKAGE.rglob("*.py") if "argparse" in p.read_text(encoding="utf-8")]
    assert found == []


def _imports_the_cli(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        if any(re.fullmatch(r"sparkify_dw\.cli(\..*)?", n) for n in names):
            return True
    return False


def test_no_library_module_imports_the_cli() -> None:
    """Only the command line itself, the ``__main__`` modules that run it and the engine
    command it mounts import :mod:`sparkify_dw.cli`."""
    allowed = {PACKAGE / "backends" / "redshift" / "cluster" / "command.py"}
    importers = [
        p.relative_to(PACKAGE).as_posix()
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.parts[len(PACKAGE.parts)] != "cli"
        and p.name != "__main__.py"
        and p not in allowed
        and _imports_the_cli(p)
    ]
    assert importers == []
