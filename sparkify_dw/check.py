"""``python -m sparkify_dw.check``: run the data quality checks against the warehouse.

One line per check (PASS/FAIL, offending count, sample keys). Exit status 0 when every
check passes, 1 when one fails, 2 on an error (configuration, connection, schema), which
is printed as one line with any password masked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import sqlalchemy as sa

from sparkify_dw import backends, checks, cli, schema
from sparkify_dw.config import ConfigError, Settings, resolve

EXIT_FAILED = 1
EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sparkify_dw.check",
        description="Check the warehouse's keys and references and that every staged play "
                    "was loaded. Exit status: 0 all pass, 1 a check failed, 2 an error.",
        epilog="Settings come from flags, then SPARKIFY_DW_* environment variables, then "
               "dwh.cfg, then the embedded default (./sparkify.duckdb).",
    )
    p.add_argument("--url", help="database URL (default: ./sparkify.duckdb)")
    p.add_argument("--config", help="dwh.cfg to read (default: ./dwh.cfg if present)")
    p.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                   help="on Redshift, how long to wait behind a running load (default 600)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="say why each check matters; debug logging and tracebacks")
    return p


def format_result(result: checks.CheckResult, width: int) -> str:
    status = "PASS" if result.passed else "FAIL"
    line = f"{status}  {result.name:<{width}} {result.count:>8,}"
    return f"{line}  {result.describe_samples()}" if result.samples else line


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    cli.setup_logging(err, verbose=args.verbose)
    settings: Settings | None = None
    try:
        settings = resolve(url=args.url, config=args.config)
        cli.mask_logs(settings)
        print(f"checking {settings.display_url}", file=out)
        engine = settings.create_engine()
        try:
            with engine.connect() as conn:
                # On Redshift a running load LOCKs staging: wait for it, but not for ever.
                backends.for_settings(settings).read_session(conn, args.wait)
                schema.require_head(conn)
                results = checks.run_checks(conn)
        finally:
            engine.dispose()
    except (ConfigError, schema.SchemaError, sa.exc.SQLAlchemyError, OSError,
            ValueError) as exc:
        cli.report_error(exc, settings, err, verbose=args.verbose)
        return EXIT_ERROR
    width = max(len(r.name) for r in results)
    why = {c.name: c.why for c in checks.CHECKS}
    for result in results:
        line = format_result(result, width)
        print(f"{line}  -- {why[result.name]}" if args.verbose else line, file=out)
    failed = [r for r in results if not r.passed]
    print(f"{len(failed)} of {len(results)} checks failed" if failed
          else f"all {len(results)} checks passed", file=out)
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
