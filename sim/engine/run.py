"""One replication: :func:`simulate`, the package's entry to the engine (re-exported as
``sim.simulate``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.params import Scenario
    from sim.results.result import Result


def simulate(scenario: Scenario, seed: int | list[int] = 1, years: float | None = None) -> Result:
    """Run one replication of ``scenario`` with random streams from ``SeedSequence(seed)``
    (``seed`` is a non-negative integer or a list of them).

    ``years`` overrides the scenario's measured years (the warm-up comes on top). The
    same scenario and seed give bit-identical results.
    """
    from sim.engine.collect import build_result
    from sim.engine.kernel import collector_paused
    from sim.engine.model import Model

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
            from sim.engine.districts import simulate_districts

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
