"""``python -m sparkify_dw.load``: the ``sparkify-dw load`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["load", *sys.argv[1:]]))
