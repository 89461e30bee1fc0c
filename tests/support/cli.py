"""The commands run in this process through click's ``CliRunner``, with a result shaped
like a finished process, so a test reads the same whether it starts a process or not.

A process is started only where the process is what a test is about (signals, the console
script, ``python -m``, a real pipe); everything else is ``invoke``: the same group, the same
exit status and the same one-line errors, in milliseconds instead of an interpreter start.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from click.testing import CliRunner

from sparkify_dw import cli

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _cwd(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def invoke(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``sparkify-dw ARGS`` in this process. ``env`` adds to the environment (a value of None
    removes the name); ``cwd`` is the working directory for the command's run."""
    runner = CliRunner()
    with _cwd(cwd):
        result = runner.invoke(cli.main, list(args), env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["sparkify-dw", *args], result.exit_code, result.stdout, result.stderr
    )


def module(
    name: str,
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m sparkify_dw.<name> ARGS``, which is ``sparkify-dw <name> ARGS``, in this
    process."""
    return invoke(name, *args, cwd=cwd, env=env)


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    """Logging as it was: alembic.ini's ``fileConfig`` sets levels and a root handler for
    the whole process, which a process of its own would drop when it exits."""
    import logging

    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", "alembic", "sqlalchemy")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _environ(env: Mapping[str, str | None] | None) -> Iterator[None]:
    before = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def alembic(
    *args: str, env: Mapping[str, str | None] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``alembic ARGS`` (Alembic's own command line, this project's ``alembic.ini`` and
    ``env.py``) in this process, with what a process would print and its exit status."""
    from alembic.config import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        _logging_kept(),
        _cwd(cwd),
        _environ(env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main(argv=list(args), prog="alembic")
        except SystemExit as exc:
            if isinstance(exc.code, str):  # sys.exit("message"): printed, status 1
                print(exc.code, file=err)
                code = 1
            else:
                code = exc.code or 0
        except Exception:  # what the interpreter would print before exiting with 1
            traceback.print_exc(file=err)
            code = 1
    return subprocess.CompletedProcess(["alembic", *args], code, out.getvalue(), err.getvalue())
