"""The command line: ``sparkify-dw synth`` (and ``python -m sparkify_dw.synth``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sparkify_dw.command_options import ArgumentError, Parser
from sparkify_dw.synth.dataset import DEFAULT_START, SynthError, generate


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``sparkify-dw synth --events N --songs M ...``."""
    parser = Parser(
        prog="sparkify-dw synth",
        description="Write synthetic Sparkify song_data and log_data trees.",
    )
    parser.add_argument("--events", type=int, required=True, help="log events to write")
    parser.add_argument("--songs", type=int, required=True, help="song files to write")
    parser.add_argument("--days", type=int, required=True, help="days the events span")
    parser.add_argument("--seed", type=int, required=True, help="same seed, same bytes")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--start-date", type=_parse_date, default=DEFAULT_START, help="first day (2018-11-01)"
    )
    parser.add_argument(
        "--match-share", type=float, default=0.5,
        help="share of NextSong plays that name a generated song exactly (0.5)",
    )  # fmt: skip
    parser.add_argument("--users", type=int, default=None, help="users (default from N)")
    parser.add_argument(
        "--blank-line-rate", type=float, default=1e-4,
        help="chance of a blank line before a record; 0 for none (0.0001)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace data in a non-empty --out")
    try:
        args = parser.parse_args(argv)
    except ArgumentError as exc:  # one line, exit 2, as every command
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    started = time.perf_counter()
    try:
        summary = generate(
            args.out, args.events, args.songs, args.days, args.seed,
            start_date=args.start_date, match_share=args.match_share, users=args.users,
            force=args.force, blank_line_rate=args.blank_line_rate,
        )  # fmt: skip
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: writing {args.out} failed: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    rate = summary.events / elapsed if elapsed > 0 else 0.0
    print(f"{summary.line()} to {args.out} in {elapsed:.1f}s ({rate:,.0f} events/s)")
    return 0
