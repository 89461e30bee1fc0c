"""``python -m sparkify_dw.analytics``: the ``sparkify-dw analytics`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["analytics", *sys.argv[1:]]))
