"""``python -m sparkify_dw.synth``."""

import sys

from sparkify_dw.synth.command import main

sys.exit(main())
