"""``python -m sparkify_dw.cluster``: the ``sparkify-dw cluster`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["cluster", *sys.argv[1:]]))
