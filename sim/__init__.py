"""welfare-sim: a discrete-event simulation of a municipal child-welfare system.

Stable API::

    from sim import load_scenario, simulate
    scenario = load_scenario("scenarios/swedish_model.toml")
    result = simulate(scenario, seed=1, years=None)
    result.summary, result.events, result.placements, result.followups, result.caseload, result.costs
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.engine.run import simulate
    from sim.params import Scenario, ScenarioError, load_scenario
    from sim.results.result import Result

try:
    __version__ = version("welfare-sim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["Result", "Scenario", "ScenarioError", "load_scenario", "simulate", "__version__"]

_LAZY = {"Result": "sim.results.result", "Scenario": "sim.params", "ScenarioError": "sim.params"}
_LAZY["load_scenario"] = "sim.params"
_LAZY["simulate"] = "sim.engine.run"


def __getattr__(name: str):
    """``Result``, ``Scenario``, ``ScenarioError``, ``load_scenario`` and ``simulate`` load on
    first use, so that ``import sim`` (and the command line's start) stays light."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
