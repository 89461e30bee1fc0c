"""``python -m sparkify_dw.synth``: the ``sparkify-dw synth`` command."""

import sys

from sparkify_dw.cli import process_main

sys.exit(process_main(["synth", *sys.argv[1:]]))
