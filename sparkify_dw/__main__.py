"""``python -m sparkify_dw``: the same as the ``sparkify-dw`` command."""

from sparkify_dw.cli import main_entry

main_entry()
