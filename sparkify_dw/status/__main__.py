"""``python -m sparkify_dw.status``: the ``sparkify-dw status`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["status", *sys.argv[1:]]))
