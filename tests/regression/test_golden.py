"""Golden results and the fast event loop against stock SimPy.

The golden files pin every table of short runs of the shipped scenarios: a speed-up or a move
of files must leave them as they are. A change that is meant to change results writes them
again (``python tests/golden_tools.py --write``) and says why in its commit.
"""

from __future__ import annotations

import json
import math

import pytest
from golden_tools import SCENARIOS, SEED, YEARS, differences, golden_path, result_digest, run

import sim.engine.model
from sim import load_scenario, simulate
from sim.engine.kernel import StockEnvironment

pytestmark = pytest.mark.slow  # six to eight short runs; `python tests/golden_tools.py` is the quick check


@pytest.mark.parametrize("name", SCENARIOS)
def test_results_are_the_golden_ones(name):
    expected = json.loads(golden_path(name).read_text())
    lines = differences(expected, run(name))
    assert not lines, (
        f"{name}, seed {SEED}, {YEARS:g} years: results differ from tests/golden/{name}.json "
        f"(if the change is meant to change results: python tests/golden_tools.py --write):\n" + "\n".join(lines[:30])
    )


@pytest.mark.parametrize("name", ["swedish_model", "transition_to_swedish"])
def test_fast_event_loop_gives_what_stock_simpy_gives(name, monkeypatch):
    scenario = load_scenario(name)
    fast = result_digest(simulate(scenario, seed=3, years=1.5))
    monkeypatch.setattr(sim.engine.model, "Environment", StockEnvironment)
    stock_result = simulate(scenario, seed=3, years=1.5)
    assert stock_result.stats["simpy_events"] > 0
    stock = result_digest(stock_result)
    assert not differences(stock, fast), differences(stock, fast)[:30]


def test_digest_sees_a_changed_value():
    """The comparison could fail: one value changed in one table changes the digest."""
    result = simulate(load_scenario("danish_baseline"), seed=SEED, years=0.5)
    before = result_digest(result)
    frame = result.followups
    frame.loc[frame.index[0], frame.columns[-1]] = frame[frame.columns[-1]].iloc[0] + 1e-9
    after = result_digest(result)
    assert differences(before, after) == [f"table followups: rows {len(frame)} -> {len(frame)}"]


def test_a_summary_change_beyond_the_last_bits_is_seen():
    expected = {"summary": {"x": 0.25, "n": 3, "m": "nan"}, "tables": {}}
    last_bits = {"summary": {"x": math.nextafter(0.25, 1.0), "n": 3, "m": "nan"}, "tables": {}}
    moved = {"summary": {"x": 0.25 * (1 + 1e-9), "n": 3, "m": "nan"}, "tables": {}}
    assert differences(expected, last_bits) == []
    assert differences(expected, moved) == [f"summary x: 0.25 -> {0.25 * (1 + 1e-9)!r}"]
