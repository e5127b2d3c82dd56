"""A small model to drive by hand: the shipped scenario with an empty department, no
arrivals, two caseworkers and, by default, a need that changes only when the test says so.

Used by the tests of single decisions (``test_decisions``, ``test_crisis``)."""

from __future__ import annotations

from sim import load_scenario
from sim.engine.model import Model

EMPTY = {
    "initial_stock.open_cases_per_1000_children": [[0.0] * 6 for _ in range(5)],
    "arrivals.notifications_per_1000_children_per_year": 0.0,
    "arrivals.applications_per_1000_children_per_year": 0.0,
    "run.warmup_years": 0.0,
    "staffing.caseworkers": 2,
}
"""No initial stock, no arrivals, no warm-up, two caseworkers."""

FROZEN_NEED = {
    "need.improve_rate_per_year_when_met": [0.0] * 5,
    "need.improve_rate_per_year_unmet": 0.0,
    "need.worsen_rate_per_year_unmet": 0.0,
    "need.worsen_rate_per_year_met": 0.0,
    "need.relapse_rate_per_year_after_step_down": 0.0,
}
"""No spontaneous change of need: the test decides what the caseworker sees."""


def empty_model(name: str, *, seed: int = 1, years: float = 5, frozen_need: bool = True, **over) -> Model:
    """A model of the shipped scenario ``name`` with :data:`EMPTY` (and :data:`FROZEN_NEED`),
    then ``over`` (dotted paths) applied."""
    scenario = load_scenario(name).with_overrides(**{**EMPTY, **(FROZEN_NEED if frozen_need else {}), **over})
    return Model(scenario, seed=seed, years=years)
