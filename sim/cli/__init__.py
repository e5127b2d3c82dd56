"""The command line, ``welfare-sim`` (or ``python -m sim``): :func:`main`.

The parser, the dispatch and the exit codes are in :mod:`sim.cli.main`, what the commands
share in :mod:`sim.cli.common`, and each command in :mod:`sim.cli.commands`. Nothing outside
this package imports it.

(``sim.cli.main`` names the function here; the module is ``sys.modules["sim.cli.main"]``,
which ``from sim.cli.main import ...`` reaches as usual.)
"""

from sim.cli.main import main

__all__ = ["main"]
