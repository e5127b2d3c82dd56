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
    from sim.params import Scenario, ScenarioError, load_scenario
    from sim.results.result import Result

try:
    __version__ = version("welfare-sim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["Result", "Scenario", "ScenarioError", "load_scenario", "simulate", "__version__"]

_LAZY = {"Result": "sim.results.result", "Scenario": "sim.params", "ScenarioError": "sim.params"}
_LAZY["load_scenario"] = "sim.params"


def __getattr__(name: str):
    """``Result``, ``Scenario``, ``ScenarioError`` and ``load_scenario`` load on first use, so
    that ``import sim`` (and the command line's start) stays light."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def simulate(scenario: Scenario, seed: int | list[int] = 1, years: float | None = None) -> Result:
    """Run one replication of ``scenario`` with random streams from ``SeedSequence(seed)``
    (``seed`` is a non-negative integer or a list of them).

    ``years`` overrides the scenario's measured years (the warm-up comes on top). The
    same scenario and seed give bit-identical results.
    """
    import time

    from sim.collect import build_result
    from sim.kernel import collector_paused
    from sim.model import Model

    unresolved = [f"districts[{k}].scenario" for k, d in enumerate(scenario.districts) if d.target is None]
    if scenario.transition is not None and scenario.transition.target is None:
        unresolved.insert(0, "transition.to")
    if unresolved:
        raise ValueError(
            f"{scenario.name}: {unresolved[0]} names a scenario that was never loaded; "
            "build the scenario with load_scenario, which resolves it"
        )
    started = time.perf_counter()
    with collector_paused():  # the model is disposed of before the collector runs again
        if scenario.districts:
            from sim.districts import simulate_districts

            result, stats = simulate_districts(scenario, seed, years)
            result.stats = {"seconds_simulation": None, "seconds_total": time.perf_counter() - started, **stats}
            return result
        model = Model(scenario, seed, years)
        model.run()
        simulated = time.perf_counter() - started
        result = build_result(model)
        events = model.env.events_scheduled()  # events scheduled so far
        model.dispose()
        del model
    result.stats = {
        "seconds_simulation": simulated,
        "seconds_total": time.perf_counter() - started,
        "simpy_events": events,
    }
    return result
