"""The initial stock (issue 13): a run starts in the state the model's own steady state is in,
so that it settles at once, whatever the municipality's size.

The stock holds the open cases on the ladder with their need, persistence, relapse risk and
the reviews that found them over-served, the cases under investigation, and the children
known from closed cases (docs/STRESS-DES.md §4.1). ``scripts/calibrate.py --stock-only`` and
``welfare-sim calibrate --write`` take it from the end state of runs
(:func:`sim.experiments.calibration.steady_stock`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import simulate
from sim.engine.entities import INVESTIGATION_APPLICATION, INVESTIGATION_NOTIFICATION
from sim.engine.kernel import collector_paused
from sim.engine.ladder import FOSTER, KINSHIP, reachable_step
from sim.engine.model import Model
from sim.experiments.calibration import STOCK_FIELDS, steady_stock
from sim.params.schema import InitialStock

# ----------------------------------------------------------------------------- the state at the start


def _started(scenario, seed=3):
    """A model with its initial stock in place, before any event."""
    with collector_paused():
        m = Model(scenario, seed, 1.0)
        m._initial_stock()
    return m


def test_the_state_at_the_start_is_the_one_the_stock_gives(baseline):
    children = 4000
    on_ladder = [[0.0] * 6 for _ in range(5)]
    on_ladder[0][0] = 5.0  # step 1, need 0: over-served (its case would close)
    on_ladder[0][1] = 5.0  # step 1, need 1: served
    on_ladder[3][3] = 5.0  # foster care, need 3
    on_ladder[3][1] = 5.0  # foster care, need 1: over-served
    on_ladder[2][3] = 2.5  # kinship care, need 3
    persistent = [[0.0] * 6 for _ in range(5)]
    persistent[3][3] = 1.0  # only foster children with need 3 have a persistent need
    s = baseline.with_overrides(
        **{
            "municipality.children": children,
            "initial_stock.open_cases_per_1000_children": on_ladder,
            "initial_stock.persistent_share_by_step_and_need": persistent,
            "initial_stock.moved_down_share_by_step": [1.0, 0.0, 0.0, 0.0, 0.0],
            "initial_stock.unsupported_share_of_moved_down_by_step": [1.0, 0.0, 0.0, 0.0, 0.0],
            "initial_stock.over_served_reviewed_share_by_step": [0.0, 0.0, 0.0, 1.0, 0.0],
            "initial_stock.under_investigation_per_1000_children": [0.0, 2.5, 0.0, 0.0, 0.0, 0.0],
            "initial_stock.under_investigation_application_share": 1.0,
            "initial_stock.known_children_per_1000": 100.0,
            "initial_stock.known_children_persistent_share": 0.0,
            "initial_stock.known_children_mean_age_years": 12.0,
        }
    )
    m = _started(s)
    cases = m.open_cases
    ladder = [c for c in cases if c.child.step]
    assert len(ladder) == pytest.approx(22.5 * 4, abs=5)
    for c in ladder:
        assert c.child.persistent == (c.child.step == FOSTER and c.child.need == 3)
        # kinship care is there for the children in it; none for those in foster care
        assert c.kinship_available is {KINSHIP: True, FOSTER: False}.get(c.child.step)
        moved = c.child.step == 1
        assert (0 < c.child.relapse_until_day <= s.need.relapse_window_days) == moved
        assert c.child.unsupported == moved
        over_served = reachable_step(c, c.child.need, c.child.step) < c.child.step
        assert c.over_served_reviews == int(over_served and c.child.step == FOSTER)
    assert any(c.child.step == FOSTER and c.child.need == 1 for c in ladder)
    investigating = [c for c in cases if not c.child.step]
    assert len(investigating) == pytest.approx(10, abs=1)
    assert all(c.source == "application" and c.child.need == 1 for c in investigating)
    sessions = s.hours.investigation_sessions * s.hours.investigation_gap_days
    assert all(-sessions <= c.notified_day <= 0 for c in investigating)
    assert len(m.closed_children) == pytest.approx(400, abs=1)
    ages = np.array([-c.birth_day / 365.25 for c in m.closed_children])
    assert ages.mean() == pytest.approx(12.0, abs=0.5) and ages.max() < 18
    assert not any(c.persistent for c in m.closed_children)


def test_the_cases_under_investigation_finish_it_and_join_the_ladder(baseline):
    s = baseline.with_overrides(
        **{
            "initial_stock.open_cases_per_1000_children": [[0.0] * 6 for _ in range(5)],
            "initial_stock.known_children_per_1000": 0.0,
            "initial_stock.under_investigation_per_1000_children": [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
            "initial_stock.under_investigation_application_share": 0.0,
            "arrivals.notifications_per_1000_children_per_year": 0.0,
            "arrivals.applications_per_1000_children_per_year": 0.0,
            "run.warmup_years": 0.0,
        }
    )
    with collector_paused():
        m = Model(s, 4, 0.5)
        m._initial_stock()
        kinds = {c.kind for c in m.open_cases}
    assert kinds == {INVESTIGATION_NOTIFICATION}
    r = simulate(s, seed=4, years=0.5)
    done = r.investigations
    assert len(done) == pytest.approx(20, abs=1)  # 1 per 1,000 of 20,000 children, each investigated once
    assert (done["source"] == "notification").all() and (done["notified_day"] <= 0).all()
    # the investigation sees the need as it is when it ends: 2 for most (it changes now and then)
    starts = r.spells[r.spells["start_day"] >= 0].groupby("case")["step"].first()
    assert len(starts) >= 15 and (starts == 2).mean() >= 0.8


def test_an_application_under_investigation_counts_as_one(baseline):
    s = baseline.with_overrides(
        **{
            "initial_stock.open_cases_per_1000_children": [[0.0] * 6 for _ in range(5)],
            "initial_stock.under_investigation_per_1000_children": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            "initial_stock.under_investigation_application_share": 1.0,
        }
    )
    m = _started(s)
    assert m.open_cases and all(c.source == "application" for c in m.open_cases)
    assert {c.kind for c in m.open_cases} <= {"", INVESTIGATION_APPLICATION}  # set when its process starts


# ----------------------------------------------------------------------------- derived from an end state


def _stock_table(rows):
    columns = [
        "case",
        "child",
        "step",
        "need",
        "persistent",
        "step_start_day",
        "age_years",
        "application",
        "relapse_days_left",
        "unsupported",
        "over_served_reviews",
    ]
    return pd.DataFrame(rows, columns=columns)


def test_the_stock_is_the_mean_end_state_of_the_runs():
    # two runs of a municipality of 2,000 children
    a = _stock_table(
        [
            (1, 1, 4, 3, True, -10.0, 12.0, False, 0.0, False, 0),
            (2, 2, 4, 1, False, -10.0, 14.0, False, 0.0, False, 1),  # over-served, found so
            (3, 3, 4, 2, False, -10.0, 10.0, False, 0.0, False, 0),  # over-served, not yet
            (4, 4, 1, 1, False, -10.0, 8.0, False, 40.0, True, 0),  # moved down, unsupported
            (5, 5, 1, 1, True, -10.0, 6.0, False, 0.0, False, 0),
            (6, 6, 0, 2, False, 0.0, 7.0, True, 0.0, False, 0),  # under investigation, applied for
        ]
    )
    b = _stock_table(
        [
            (1, 1, 4, 3, False, -10.0, 12.0, False, 0.0, False, 0),
            (7, 7, 1, 1, False, -10.0, 8.0, False, 20.0, False, 0),  # moved down, supported
            (8, 8, 0, 2, False, 0.0, 9.0, False, 0.0, False, 0),
        ]
    )
    known = [
        pd.DataFrame({"child": [1, 2], "age_years": [10.0, 14.0], "persistent": [True, False]}),
        pd.DataFrame({"child": [3], "age_years": [12.0], "persistent": [True]}),
    ]
    out = steady_stock([{"stock": a, "known": known[0]}, {"stock": b, "known": known[1]}], 2000)
    assert set(out) == {f"initial_stock.{key}" for key in STOCK_FIELDS}
    InitialStock(**{key.split(".", 1)[1]: value for key, value in out.items()})  # a valid stock
    per_1000 = out["initial_stock.open_cases_per_1000_children"]
    assert per_1000[3][3] == 0.5  # two foster children with need 3 in two runs of 2,000 children
    assert per_1000[0][1] == 0.75 and per_1000[3][1] == 0.25 and per_1000[3][2] == 0.25
    shares = out["initial_stock.persistent_share_by_step_and_need"]
    assert shares[3][3] == 0.5 and shares[3][1] == 0.0 and shares[0][1] == pytest.approx(1 / 3, abs=1e-3)
    assert shares[4][0] == 0.0 and shares[3][5] == 0.25  # a cell no run saw: its step's share (1 of 4)
    assert out["initial_stock.persistent_share_by_step"][3] == 0.25
    assert out["initial_stock.mean_age_years_by_step"][0] == pytest.approx(22 / 3, abs=0.01)
    assert out["initial_stock.moved_down_share_by_step"][0] == pytest.approx(2 / 3, abs=1e-3)
    assert out["initial_stock.unsupported_share_of_moved_down_by_step"][0] == 0.5
    # foster care meets a need of 3 (no kinship placement): two over-served, one found so
    assert out["initial_stock.over_served_reviewed_share_by_step"][3] == 0.5
    assert out["initial_stock.under_investigation_per_1000_children"] == [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]
    assert out["initial_stock.under_investigation_application_share"] == 0.5
    assert out["initial_stock.known_children_per_1000"] == 0.75
    assert out["initial_stock.known_children_persistent_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert out["initial_stock.known_children_mean_age_years"] == 12.0


def test_a_run_ends_with_the_state_the_stock_describes(baseline):
    r = simulate(baseline, seed=6, years=1)
    stock, known = r.stock, r.known
    assert (stock["step"] >= 0).all() and (stock["step"] == 0).any()
    assert stock.loc[stock["step"] == 0, "need"].between(0, 5).all()
    assert (stock["relapse_days_left"] >= 0).all()
    assert (stock["relapse_days_left"] <= baseline.need.relapse_window_days).all()
    assert len(known) > 5000 and known["age_years"].between(0, 18).all()
    assert known["child"].is_unique and not set(known["child"]) & set(stock["child"])


# ----------------------------------------------------------------------------- settling at once


def _placement_flows(scenario, replications=8, years=5.0):
    """Per quarter, per 1,000 children a year: entries into care from steps 1-2, and moves down
    out of care, over ``replications`` runs from the stock without warm-up."""
    s = scenario.with_overrides(**{"run.warmup_years": 0.0})
    quarters = int(years * 4)
    up, down = np.zeros(quarters), np.zeros(quarters)
    for seed in range(replications):
        spells = simulate(s, seed=[77, seed], years=years).spells.sort_values(["case", "start_day"])
        previous = spells.groupby("case")["step"].shift(1).fillna(0)
        following = spells.groupby("case")["step"].shift(-1).fillna(0)
        placed = spells["step"] >= 3
        entries = spells[placed & previous.between(1, 2) & ~spells["initial_stock"]]
        moves = spells[placed & following.between(1, 2) & (spells["end_reason"] == "step_down") & ~spells["censored"]]
        up += np.bincount((entries["start_day"] // 91.3125).astype(int), minlength=quarters)[:quarters]
        down += np.bincount((moves["end_day"] // 91.3125).astype(int), minlength=quarters)[:quarters]
    scale = 4 * 1000 / replications / s.municipality.children
    return up * scale, down * scale


def _stripped(scenario):
    """The stock of open cases alone, as before issue 13: no pipeline, no relapse risk, no
    reviews behind the over-served, no known children, persistence by step only."""
    return scenario.with_overrides(
        **{
            "initial_stock.under_investigation_per_1000_children": [0.0] * 6,
            "initial_stock.moved_down_share_by_step": [0.0] * 5,
            "initial_stock.over_served_reviewed_share_by_step": [0.0] * 5,
            "initial_stock.known_children_per_1000": 0.0,
            "initial_stock.persistent_share_by_step_and_need": None,
        }
    )


@pytest.mark.slow
def test_moves_into_and_out_of_care_run_at_their_later_rate_from_the_first_half_year(baseline):
    """The counterfactual: without the reviews behind the over-served and without the relapse
    risk of those recently moved down, almost no child moves down out of care, and few move up
    into it, until the first reviews have been held; with them, the first half-year's rates are
    those of years 2-5."""
    for scenario, settled in ((baseline, True), (_stripped(baseline), False)):
        up, down = _placement_flows(scenario)
        first_up, later_up = up[:2].mean(), up[4:].mean()
        first_down, later_down = down[:2].mean(), down[4:].mean()
        assert later_up > 0.3 and later_down > 0.8  # per 1,000 children a year: enough to compare
        if settled:
            assert 0.6 * later_up < first_up < 1.6 * later_up
            assert 0.6 * later_down < first_down < 1.6 * later_down
        else:
            assert first_up < 0.6 * later_up
            assert first_down < 0.4 * later_down
