"""``sparkify-dw``: one command for everything a user does with the warehouse.

Built on click. Each command is a module of this package (``schema``: upgrade, downgrade
and current; ``load``; ``ledger``: history and errors; ``check``; ``analytics``;
``status``; ``docs``; ``synth``), and ``cluster`` is the production engine's own command,
found through the backend registry when it runs. Options are declared once
(:mod:`.options`); every error ends in one handler (:mod:`.report`): one line, the
documented exit status. Heavy imports (SQLAlchemy, Alembic, boto3, DuckDB, rich) happen
inside the commands, so ``--help`` starts fast.

``python -m sparkify_dw.load`` (and ``.check``, ``.analytics``, ``.status``, ``.docs``,
``.cluster``, ``.synth``) run these same commands through their ``__main__`` modules.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import click

from sparkify_dw import __version__
from sparkify_dw.cli.options import CONTEXT, verbosity_options
from sparkify_dw.cli.report import EXIT_OK

PROG = "sparkify-dw"

# name -> (module:attribute, the line `sparkify-dw --help` shows); imported when used.
COMMANDS: dict[str, tuple[str, str]] = {
    "upgrade": ("sparkify_dw.cli.schema:upgrade", "Create or upgrade the warehouse's schema."),
    "downgrade": ("sparkify_dw.cli.schema:downgrade", "Downgrade the schema to REVISION."),
    "current": ("sparkify_dw.cli.schema:current", "The schema revision, and the package's head."),
    "load": ("sparkify_dw.cli.load:load", "Stage, transform and check: one transaction."),
    "history": ("sparkify_dw.cli.ledger:history", "The load ledger: one row per load."),
    "errors": ("sparkify_dw.cli.ledger:errors", "The records a load rejected."),
    "check": ("sparkify_dw.cli.check:check", "Run the data-quality checks."),
    "analytics": ("sparkify_dw.cli.analytics:analytics", "Answer the analytics questions."),
    "status": ("sparkify_dw.cli.status:status", "Is the warehouse fresh? Did the last load pass?"),
    "docs": ("sparkify_dw.cli.docs:docs", "Write the documentation site."),
    "cluster": (
        "sparkify_dw.cli.cluster:cluster",
        "Create, inspect or delete the production cluster (or a serverless workgroup).",
    ),
    "synth": ("sparkify_dw.cli.synth:synth", "Generate synthetic data in the public layout."),
}


def run(args: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``sparkify-dw ARGS``, output to ``out`` and ``err`` (default: stdout, stderr); the exit
    status. click's own errors (a bad flag) become one line too, not a usage screen."""
    from sparkify_dw.cli import report

    with contextlib.ExitStack() as stack:
        if out is not None:
            stack.enter_context(contextlib.redirect_stdout(out))
        if err is not None:
            stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main.main(list(args), prog_name=PROG, standalone_mode=False)
        except (click.ClickException, click.Abort) as exc:  # the group's own (a bad command)
            return report.handle(exc, {}, sys.stderr)
        finally:
            report.reset_logging()
        return code if isinstance(code, int) else EXIT_OK


def run_module(command: str, argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    """``python -m sparkify_dw.<command> ARGS``: ``sparkify-dw <command> ARGS``."""
    return run([command, *(sys.argv[1:] if argv is None else argv)], out=out, err=err)


def process_main(args: Sequence[str]) -> int:
    """A process that is one command: SIGINT and SIGTERM are the command's to report from
    its first line (one line, 128 + N, never a bare kill), and once it has said everything
    and returned its status, a signal as the interpreter exits changes nothing."""
    import signal

    from sparkify_dw.interrupts import interrupts

    with interrupts():
        code = run(args)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    return code


class Group(click.Group):
    """The group: run through :func:`run` however it is called (the console script, click's
    test runner), its commands imported when used, and every error of theirs through the
    one handler (:func:`.report.handle`)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        sys.exit(run(sys.argv[1:] if args is None else args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, name = COMMANDS[cmd_name][0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list from :data:`COMMANDS`: ``--help`` imports no command."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, line) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, SystemExit):
            raise
        except BaseException as exc:  # the handler re-raises what isn't an error of ours
            from sparkify_dw.cli import report

            ctx.exit(report.handle(exc, ctx.meta, sys.stderr))


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name=PROG)
@verbosity_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sparkify's data warehouse on DuckDB, PostgreSQL and Amazon Redshift."""
    if ctx.meta.get("verbose") and ctx.meta.get("quiet"):
        raise click.UsageError("-v and -q contradict each other: choose one")


def main_entry() -> None:
    """The ``sparkify-dw`` console script."""
    sys.exit(process_main(sys.argv[1:]))
