"""Transition scenarios: the old way of working until a date, then the new one, with a
hiring ramp and an implementation cost (issue 5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.constants import DAYS_PER_YEAR
from sim.params import ScenarioError, shipped_scenarios_dir

SHIPPED = shipped_scenarios_dir()


@pytest.mark.slow
def test_a_transition_reproduces_the_baseline_exactly_before_the_switch():
    baseline = simulate(load_scenario("danish_baseline"), seed=3, years=3)
    transition = simulate(load_scenario("transition_to_swedish"), seed=3, years=3)
    switch = load_scenario("transition_to_swedish").transition.at_years * DAYS_PER_YEAR

    def before(frame, column="time_days"):
        return frame[frame[column] < switch].reset_index(drop=True)

    pd.testing.assert_frame_equal(before(baseline.events), before(transition.events), check_exact=True)
    pd.testing.assert_frame_equal(before(baseline.notifications), before(transition.notifications), check_exact=True)
    pd.testing.assert_frame_equal(before(baseline.caseload), before(transition.caseload), check_exact=True)
    # ... and not after it: caseloads fall as the new way of working takes over.
    assert len(transition.events) != len(baseline.events)
    after_b = baseline.caseload[baseline.caseload["time_days"] > switch + 180]
    after_t = transition.caseload[transition.caseload["time_days"] > switch + 180]
    assert after_t.groupby("time_days")["cases"].mean().mean() < after_b.groupby("time_days")["cases"].mean().mean()


def _small(folder: Path, swedish_staff: int = 8) -> tuple[Path, Path, Path]:
    stock = ""  # the stock per 1,000 children of the shipped files scales to the small municipality
    common = "[run]\nwarmup_years = 0.5\n[municipality]\nchildren = 4000\n"
    base = folder / "small_baseline.toml"
    base.write_text(
        f'base = "danish_baseline"\nname = "small_baseline"\n{common}'
        f"[staffing]\ncaseworkers = 4\n[intake]\ndesk_staff = 1\n{stock}",
        encoding="utf-8",
    )
    new = folder / "small_swedish.toml"
    new.write_text(
        f'base = "swedish_model"\nname = "small_swedish"\n{common}[staffing]\ncaseworkers = {swedish_staff}\n{stock}',
        encoding="utf-8",
    )
    transition = folder / "small_transition.toml"
    transition.write_text(
        'base = "small_baseline.toml"\nname = "small_transition"\n'
        '[transition]\nat_years = 0.5\nto = "small_swedish.toml"\nhiring_ramp_years = 0.5\n'
        "[implementation]\ncost_dkk = 400000\nstart_years = 0.5\nspread_years = 1\n",
        encoding="utf-8",
    )
    return base, new, transition


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _small(tmp_path_factory.mktemp("transition"))


@pytest.fixture(scope="module")
def small_staffed(tmp_path_factory):
    """As ``small``, with the shipped Swedish staffing scaled to 4,000 children (rounded up:
    below the staffing it needs the practice runs late, and two runs near that edge differ)."""
    staff = math.ceil(load_scenario("swedish_model").staffing.caseworkers * 4000 / 20000)
    return _small(tmp_path_factory.mktemp("transition_staffed"), staff)


def _late(result, start_day):
    caseload = result.caseload[result.caseload["time_days"] >= start_day]
    followups = result.followups[result.followups["due_day"] >= start_day]
    on_time = (followups["delay_days"] <= 7).mean()
    return caseload.groupby("time_days")["cases"].mean().mean(), on_time, followups["interval_days"].mean()


@pytest.mark.slow
def test_after_it_settles_a_transition_behaves_like_the_new_policy(small_staffed):
    _, new, transition = small_staffed
    late = 3.5 * DAYS_PER_YEAR  # three years after the switch
    pairs = [
        (
            _late(simulate(load_scenario(transition), seed=s, years=5.5), late),
            _late(simulate(load_scenario(new), seed=s, years=5.5), late),
        )
        for s in (1, 2, 3)
    ]
    t = np.mean([p[0] for p in pairs], axis=0)
    n = np.mean([p[1] for p in pairs], axis=0)
    assert t[0] == pytest.approx(n[0], rel=0.15)  # caseload per caseworker
    assert t[1] == pytest.approx(n[1], abs=0.05)  # follow-ups on time
    assert t[2] == pytest.approx(n[2], rel=0.1)  # achieved follow-up interval


def test_staff_cost_follows_the_hiring_ramp_and_implementation_is_spent_once(small):
    base, new, transition = small
    scenario = load_scenario(transition)
    result = simulate(scenario, seed=4, years=3)
    staff = result.costs[result.costs["category"] == "staff"].set_index("year")["cost_dkk"]
    cost = scenario.staffing.cost_dkk_per_year
    # 4 caseworkers and 1 intake desk worker; from year 0.5 no desk, and 4 hires, one every
    # eighth of a year: year 1 = 5 x 0.5 + (4 + 5 + 6 + 7) x 0.125 = 5.25 person-years.
    assert scenario.staffing.caseworkers == 4 and scenario.intake.desk_staff == 1
    assert scenario.transition.target.staffing.caseworkers == 8
    assert staff[1] == pytest.approx(5.25 * cost)
    assert staff[2] == pytest.approx(8 * cost)
    assert staff[3] == pytest.approx(8 * cost)
    implementation = result.costs[result.costs["category"] == "implementation"]["cost_dkk"]
    assert implementation.sum() == pytest.approx(400000)
    assert result.summary["cost_implementation_per_year"] == pytest.approx(400000 / 3)


def test_transition_files_are_checked(tmp_path, small):
    base, new, _ = small

    def load(text):
        path = base.parent / "t.toml"  # beside the files it names
        path.write_text(f'base = "{base.name}"\nname = "t"\n{text}', encoding="utf-8")
        return load_scenario(path)

    with pytest.raises(ScenarioError, match="transition.to: scenario 'nowhere' not found"):
        load('[transition]\nat_years = 1\nto = "nowhere"\n')
    with pytest.raises(ScenarioError, match="fewer caseworkers"):
        load(f'[staffing]\ncaseworkers = 20\n[transition]\nat_years = 1\nto = "{new.name}"\n')
    with pytest.raises(ScenarioError, match="transition.at_years: must be >= 0"):
        load(f'[transition]\nat_years = -1\nto = "{new.name}"\n')
    with pytest.raises(ScenarioError, match="another municipality size"):
        load(f'[municipality]\nchildren = 5000\n[transition]\nat_years = 1\nto = "{new.name}"\n')
    assert load(f'[transition]\nat_years = 1\nto = "{new.name}"\n').transition.target.name == "small_swedish"


def test_a_transition_whose_target_was_never_loaded_is_refused_before_the_run():
    """A Scenario built without load_scenario keeps transition.target None; the run would
    otherwise crash at the switch date, after the warm-up."""
    scenario = load_scenario("transition_to_swedish")
    unresolved = scenario.model_copy(update={"transition": scenario.transition.model_copy(update={"target": None})})
    with pytest.raises(ValueError, match=r"transition\.to names a scenario that was never loaded"):
        simulate(unresolved, seed=1, years=0.1)
