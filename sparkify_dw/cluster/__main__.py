"""``python -m sparkify_dw.cluster``."""

from .command import main

if __name__ == "__main__":
    raise SystemExit(main())
