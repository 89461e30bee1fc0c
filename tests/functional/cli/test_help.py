"""``sparkify-dw COMMAND --help``: every option with its default and environment variable,
and fast (the commands import their libraries when they run, not to describe themselves)."""

from __future__ import annotations

import subprocess
import sys
import time

import click
import pytest

from sparkify_dw import cli
from sparkify_dw.cli.options import EnvOption
from tests.support.cli import invoke

HELP_BUDGET = 0.4  # seconds, the interpreter's start included, for every command


def _commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand, by the words that run it."""
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(cli.main)
    for name in cli.main.list_commands(ctx):
        command = cli.main.get_command(ctx, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command)
            for sub in command.list_commands(sub_ctx):
                found.append((f"{name} {sub}", command.commands[sub]))
    return found


def test_the_group_lists_every_command() -> None:
    r = invoke("--help")
    assert r.returncode == 0
    for name in cli.COMMANDS:
        assert f"  {name} " in r.stdout, name


@pytest.mark.parametrize(("words", "command"), _commands(), ids=lambda v: str(v))
def test_help_shows_every_default_and_environment_variable(
    words: str, command: click.Command
) -> None:
    r = invoke(*words.split(), "--help")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    ctx = click.Context(command, show_default=True)
    for param in command.params:
        if not isinstance(param, click.Option) or param.name == "help":
            continue
        record = param.get_help_record(ctx)
        assert record is not None and record[0].split()[0] in r.stdout, param.name
        if isinstance(param, EnvOption):
            assert f"env var: {param.envvar}" in record[1], (words, param.name)
        if not param.is_flag and not param.required and param.default is not None:
            assert "default: " in record[1], (words, param.name, record)
        if not param.is_flag and param.default is None and param.show_default in (None, False):
            pytest.fail(f"{words} {param.opts[0]}: no default shown ({record})")


def _help_seconds(words: list[str]) -> float:
    best = float("inf")
    for _ in range(3):  # the quickest of three: a busy machine slows one start
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sparkify_dw", *words, "--help"],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.serial
@pytest.mark.parametrize("name", ["", *cli.COMMANDS])
def test_help_is_fast(name: str) -> None:
    took = _help_seconds([name] if name else [])
    assert took < HELP_BUDGET, f"sparkify-dw {name} --help took {took:.2f}s"


def test_finding_an_engine_command_imports_no_sqlalchemy() -> None:
    """The registry (which engines there are, their extras and commands) is read without
    SQLAlchemy: ``cluster --help`` is as fast as the rest."""
    script = (
        "import sys; from sparkify_dw.backends import registry; registry.command('cluster'); "
        "print('sqlalchemy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    assert done.stdout.decode().strip() == "False"
