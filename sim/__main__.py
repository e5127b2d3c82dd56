"""``python -m sim`` is the ``welfare-sim`` command."""

import sys

from sim.cli import main

sys.exit(main())
