"""``python -m sparkify_dw.docs``: the ``sparkify-dw docs`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["docs", *sys.argv[1:]]))
