"""``python -m sparkify_dw.cluster``: without its extra (boto3, configupdater), one line
naming it, exit 2."""

import sys

from sparkify_dw.extras import MissingExtra, require

try:
    require("cluster", "python -m sparkify_dw.cluster")
except MissingExtra as exc:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

from .command import main

if __name__ == "__main__":
    raise SystemExit(main())
