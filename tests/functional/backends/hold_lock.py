"""Hold a warehouse's load lock in another process until stdin closes (the conformance
suite's second-load test: DuckDB's lock is the file's, per process).

``python -m tests.functional.backends.hold_lock URL [module:INFO]``; the optional info is
registered first (a backend that is not installed, as the toy one).
"""

from __future__ import annotations

import importlib
import sys

import sqlalchemy as sa

from sparkify_dw import backends, config
from sparkify_dw.backends import plan, registry


def main(url: str, info: str | None = None) -> None:
    if info:
        module, _, name = info.partition(":")
        registry.register(getattr(importlib.import_module(module), name))
    settings = config.resolve(url=url)
    backend = backends.for_settings(settings, wait=5)
    engine = settings.create_engine(poolclass=sa.pool.NullPool)
    with backend.load_session(engine) as conn:
        conn.begin()
        plan.execute(backend.load_plan("begin"), plan.Run(conn))
        print("held", flush=True)
        sys.stdin.read()
        conn.rollback()


if __name__ == "__main__":
    main(*sys.argv[1:])
