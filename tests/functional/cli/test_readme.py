"""Every command the README shows is true: read from README.md, so the test fails when the
README drifts from the commands.

- A synopsis (``[--limit N]``, ``create|status|delete``, ``LOAD_ID``): each of its flags is
  one the command's ``--help`` lists.
- An example that needs the cloud (the cluster's blocks): its words parse (the command,
  its subcommand and each flag exist: ``--help`` after them is refused otherwise).
- Every other example runs, in the order the README gives, on DuckDB in a folder of its
  own, with the exit status its comment allows (0, or 1 where it says "exit 1"); the
  PostgreSQL block runs on a database of its own. The synthetic-data example runs shrunk
  (its million events would take minutes here).
- A transcript (``$ sparkify-dw …`` and its output) prints what it shows, times aside.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.cli import invoke

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
PROGRAMS = re.compile(r"^(?:\$ )?(sparkify-dw|python -m sparkify_dw(?:\.\w+)?|alembic)\b")
SHRUNK = {"--events": "3000", "--songs": "60", "--days": "3"}  # the synth example, here


@dataclass(frozen=True)
class Example:
    line: int  # in README.md
    text: str  # the command line, its comment dropped
    comment: str
    env: tuple[tuple[str, str], ...]  # `export NAME=value` lines above it in its block
    cloud: bool  # in a block that needs AWS (the cluster's)


def _blocks() -> list[tuple[int, str, list[str]]]:
    """(first line, info string, lines) of each fenced block."""
    blocks: list[tuple[int, str, list[str]]] = []
    current: list[str] | None = None
    start, info = 0, ""
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if current is None:
                current, start, info = [], number + 1, line[3:].strip()
            else:
                blocks.append((start, info, current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _split_comment(line: str) -> tuple[str, str]:
    code, _, comment = line.partition(" # ")
    return code.strip(), comment.strip()


def shell_examples() -> list[Example]:
    """The commands of the README's ``sh`` blocks and inline code, in order."""
    found: list[Example] = []
    for start, info, lines in _blocks():
        if info != "sh":
            continue
        cloud = any("cluster" in line for line in lines)
        env: list[tuple[str, str]] = []
        for offset, line in enumerate(lines):
            code, comment = _split_comment(line)
            if line.startswith(" ") and found and found[-1].line == start + offset - 1:
                last = found.pop()  # a synopsis continued on the next line
                found.append(replace(last, line=last.line + 1, text=f"{last.text} {code}"))
                continue
            if code.startswith("export "):
                name, _, value = code.removeprefix("export ").partition("=")
                env.append((name, value))
            for part in code.split("&&"):
                if PROGRAMS.match(part.strip()):
                    found.append(Example(start + offset, part.strip(), comment, tuple(env), cloud))
    text = README.read_text(encoding="utf-8")
    for match in re.finditer(r"`((?:sparkify-dw|python -m sparkify_dw)[^`]*)`", text):
        span = match.group(1)
        if "--" not in span and "&&" not in span:
            continue  # a command's name, not an example
        at = text.count("\n", 0, match.start()) + 1
        for part in span.split("&&"):
            found.append(Example(at, part.strip(), "", (), False))
    return sorted(found, key=lambda e: e.line)


def is_synopsis(text: str) -> bool:
    """``[--flag]``, ``a|b``, ``…`` or a placeholder (``LOAD_ID``, ``N``): a form, not a
    command to run."""
    words = shlex.split(text.replace("|", " | "))
    placeholder = [w for w in words if re.fullmatch(r"[A-Z][A-Z_]*", w)]
    return any(c in text for c in "[|…") or bool(placeholder)


def words_of(text: str) -> list[str]:
    """``sparkify-dw``'s arguments for an example of it or of ``python -m``."""
    words = shlex.split(text.removeprefix("$ "))
    program = words.pop(0)
    if program == "python":
        module = words[1]
        words = words[2:]
        if module != "sparkify_dw":
            words.insert(0, module.removeprefix("sparkify_dw."))
    return words


def _flags(text: str) -> list[str]:
    return re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[vq])\b", text)


def _command_words(words: list[str]) -> list[str]:
    """The command (and a subcommand: cluster's) the words begin with."""
    names = []
    for word in words:
        if word.startswith("-"):
            break
        names.append(word)
        if names[0] != "cluster" or len(names) == 2:
            break
    return names


EXAMPLES = shell_examples()


def test_the_readme_shows_examples_of_every_command() -> None:
    from sparkify_dw import cli

    shown = {
        words_of(e.text)[0]
        for e in EXAMPLES
        if not e.text.startswith("alembic") and words_of(e.text)
    }
    assert shown >= {"upgrade", "load", "check", "analytics", "status", "docs", "cluster", "synth"}
    assert shown <= set(cli.COMMANDS), shown - set(cli.COMMANDS)


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if is_synopsis(e.text) and not e.text.startswith("alembic")],
    ids=lambda e: f"README:{e.line}",
)
def test_each_synopsis_names_flags_the_command_has(example: Example) -> None:
    words = words_of(example.text)
    command = _command_words([w for w in words if not re.fullmatch(r"[A-Z_]+|\[.*", w)])
    helped = invoke(*command, "--help")
    assert helped.returncode == 0, (example, helped.stderr)
    for flag in _flags(example.text):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}\b", helped.stdout), (example, flag)


@pytest.mark.parametrize(
    "example",
    [
        e
        for e in EXAMPLES
        if e.cloud and not is_synopsis(e.text) and not e.text.startswith("alembic")
    ],
    ids=lambda e: f"README:{e.line}",
)
def test_each_cloud_example_parses(example: Example) -> None:
    """Its command, subcommand and flags exist (an unknown one is refused before --help)."""
    r = invoke(*words_of(example.text), "--help")
    assert r.returncode == 0 and r.stderr == "", (example, r.stderr)


def _allowed(example: Example) -> set[int]:
    return {0, 1} if "exit 1" in example.comment else {0}


def _shrunk(words: list[str]) -> list[str]:
    if words[:1] != ["synth"]:
        return words
    return [SHRUNK.get(before, word) for before, word in zip(["", *words[:-1]], words, strict=True)]


def _alembic(example: Example, cwd: Path, env: dict[str, str]) -> int:
    """``alembic …`` as the README runs it in a checkout: its own process (Alembic's
    command line), this checkout's alembic.ini."""
    args = shlex.split(example.text)[1:]
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (example, proc.stderr)
    return proc.returncode


def _run(example: Example, cwd: Path, env: dict[str, str]) -> None:
    if example.text.startswith("alembic"):
        _alembic(example, cwd, env)
        return
    words = _shrunk(words_of(example.text))
    r = invoke(*words, cwd=cwd, env=dict(env))
    assert r.returncode in _allowed(example), (example, r.returncode, r.stderr)
    assert r.stderr.count("error: ") <= (0 if r.returncode == 0 else 1), (example, r.stderr)


RUNNABLE = [
    e for e in EXAMPLES if not e.cloud and not is_synopsis(e.text) and not any(n for n, _ in e.env)
]


def test_every_duckdb_example_runs_in_order(tmp_path: Path) -> None:
    env = {"SPARKIFY_DW_URL": None, "SPARKIFY_DW_CONFIG": None}
    for example in RUNNABLE:
        _run(example, tmp_path, env)  # type: ignore[arg-type]
    assert (tmp_path / "sparkify.duckdb").is_file() and (tmp_path / "site" / "index.html").is_file()


def test_the_postgresql_block_runs(pg_url: sa.URL, tmp_path: Path) -> None:
    examples = [
        e for e in EXAMPLES if dict(e.env).get("SPARKIFY_DW_URL", "").startswith("postgresql")
    ]
    assert examples, "the README's PostgreSQL block"
    env = {"SPARKIFY_DW_URL": pg_url.render_as_string(hide_password=False)}
    for example in examples:
        _run(example, tmp_path, env)
    inspector = sa.inspect(sa.create_engine(pg_url))
    assert "songplays" not in inspector.get_table_names()  # `alembic downgrade base` ran last


def transcripts() -> list[tuple[int, str, list[str]]]:
    """(line, command, output) of each block that begins ``$ sparkify-dw``."""
    found = []
    for start, info, lines in _blocks():
        if not info and lines and PROGRAMS.match(lines[0]) and lines[0].startswith("$ "):
            found.append((start, lines[0], lines[1:]))
    return found


def _pattern(line: str) -> str:
    """A transcript's line as a pattern: ``…`` is anything, and a time of the load (not of
    the sample's events, which are from 2018) any time."""
    pattern = re.escape(line).replace("…", ".*")
    return re.sub(r"20[2-9]\d\\-\d\d\\-\d\d\\ \d\d:\d\d:\d\d", r"[-0-9]+ [0-9:]+", pattern)


@pytest.mark.parametrize("transcript", transcripts(), ids=lambda t: f"README:{t[0]}")
def test_each_transcript_prints_what_it_shows(
    transcript: tuple[int, str, list[str]], duckdb_loaded_url: sa.URL, tmp_path: Path
) -> None:
    """On the bundled sample, loaded once (as the quick start leaves it)."""
    _, command, expected = transcript
    folder = tmp_path / "here"
    folder.mkdir()
    shutil.copyfile(str(duckdb_loaded_url.database), folder / "sparkify.duckdb")
    r = invoke(*words_of(command), cwd=folder, env={"SPARKIFY_DW_URL": None})
    assert r.returncode in (0, 1), r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(expected), r.stdout
    for shown, printed in zip(expected, lines, strict=True):
        assert re.fullmatch(_pattern(shown), printed), (shown, printed)


def _table(header: str) -> list[list[str]]:
    """The rows of the README's table whose header row begins ``| header |``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_command_table_names_every_command() -> None:
    from sparkify_dw import cli

    named = set()
    for first, _ in _table("command"):
        named |= set(re.findall(r"`([a-z]+)", first))
    assert named == set(cli.COMMANDS)


def test_the_exit_status_table_is_the_handlers() -> None:
    from sparkify_dw.cli import report
    from sparkify_dw.errors import EXIT_FAILED, EXIT_USAGE

    codes = {int(code) for code, _ in _table("exit status")}
    assert codes == {report.EXIT_OK, EXIT_FAILED, EXIT_USAGE, report.EXIT_INTERRUPTED, 143}
    assert (report.EXIT_FAILED, report.EXIT_USAGE) == (EXIT_FAILED, EXIT_USAGE)
