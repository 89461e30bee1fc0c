"""``python -m sparkify_dw.check``: the ``sparkify-dw check`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["check", *sys.argv[1:]]))
