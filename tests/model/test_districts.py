"""Pilot districts: one run, districts with their own staffing and policy, results per
district that add up to the municipality (issue 5)."""

from __future__ import annotations

import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.experiments.batch import BatchSpec, run_batch, scenario_entry
from sim.params import ScenarioError
from sim.results.indicators import SUMMARY_NAMES


@pytest.fixture(scope="module")
def pilot():
    scenario = load_scenario("herning_pilot")
    return scenario, simulate(scenario, seed=2, years=1.5)


def test_districts_get_their_own_share_staffing_and_policy(pilot):
    scenario, _ = pilot
    districts = {d.name: d.target for d in scenario.districts}
    assert districts["pilot"].municipality.children + districts["control"].municipality.children == 20000
    assert districts["pilot"].staffing.caseworkers == 8  # Herning: 8 instead of 4
    assert districts["pilot"].assignment.point_cap == 120 and not districts["pilot"].intake.desk
    assert districts["control"].assignment.point_cap is None and districts["control"].intake.desk
    assert districts["control"].staffing.caseworkers == round(
        load_scenario("danish_baseline").staffing.caseworkers * 0.8
    )


def test_districts_add_up_to_the_municipality(pilot):
    _, result = pilot
    d = result.districts
    s = result.summary
    for additive in (
        "notifications_per_year",
        "placements_per_year",
        "children_in_care_mean",
        "cost_staff_per_year",
        "cost_placements_per_year",
        "investigations_per_year",
    ):
        assert d[additive].sum() == pytest.approx(s[additive]), additive
    # the municipality's own implementation cost (a pilot's programme) is counted once, beside the districts'
    implementation = s["cost_implementation_per_year"]
    assert d["cost_total_per_year"].sum() + implementation == pytest.approx(s["cost_total_per_year"])
    # Tables: every row belongs to a district, and the costs add up year by year.
    costs = result.costs.groupby(["year", "district"])["cost_dkk"].sum().unstack()
    assert (costs.sum(axis=1) > 0).all()
    assert result.costs["cost_dkk"].sum() / (result.measured_days / 365.25) == pytest.approx(s["cost_total_per_year"])
    workers = result.caseload.groupby("district")["caseworker"].nunique()
    assert workers["pilot"] == 8 and workers.sum() == result.caseload["caseworker"].nunique()
    # Mean caseload of the municipality lies between the districts'.
    assert d["mean_caseload_cases"].min() < s["mean_caseload_cases"] < d["mean_caseload_cases"].max()
    # Ids do not collide across districts.
    assert result.notifications["notification"].groupby(result.notifications["district"]).size().sum() == len(
        result.notifications
    )
    assert not set(result.events.query("district == 'pilot'")["case"]) & set(
        result.events.query("district == 'control'")["case"]
    )


def test_each_district_is_reported_in_the_summary(pilot):
    _, result = pilot
    for district in ("pilot", "control"):
        for indicator in SUMMARY_NAMES:
            assert f"{district}.{indicator}" in result.summary.index
    # The pilot follows up on time far more often than its control, in the same run.
    assert result.summary["pilot.followup_on_time_share"] > result.summary["control.followup_on_time_share"]
    assert result.summary["pilot.mean_caseload_cases"] < 25 < result.summary["control.mean_caseload_cases"]


def test_a_batch_of_a_split_municipality_compares_districts(tmp_path):
    spec = BatchSpec(
        scenarios=[scenario_entry("herning_pilot")], replications=2, years=0.5, workers=1, write_tables=False
    )
    result = run_batch(spec, tmp_path / "b")
    assert "pilot.followup_on_time_share" in result.replications.columns
    assert set(result.comparison["indicator"]) >= {"pilot.mean_caseload_cases", "control.mean_caseload_cases"}


@pytest.mark.parametrize(
    ("districts", "message"),
    [
        ('[[districts]]\nname = "a"\nshare = 1.0\nscenario = "swedish_model"\n', "at least two"),
        (
            '[[districts]]\nname = "a"\nshare = 0.5\nscenario = "swedish_model"\n'
            '[[districts]]\nname = "b"\nshare = 0.4\nscenario = "danish_baseline"\n',
            "add up to 1",
        ),
        (
            '[[districts]]\nname = "a"\nshare = 0.5\nscenario = "swedish_model"\n'
            '[[districts]]\nname = "a"\nshare = 0.5\nscenario = "danish_baseline"\n',
            "same name",
        ),
        (
            '[[districts]]\nname = "a"\nshare = 0.5\nscenario = "nowhere"\n'
            '[[districts]]\nname = "b"\nshare = 0.5\nscenario = "danish_baseline"\n',
            "not found",
        ),
    ],
)
def test_bad_districts_are_one_line_errors(tmp_path, districts, message):
    path = tmp_path / "split.toml"
    path.write_text(f'base = "danish_baseline"\n{districts}', encoding="utf-8")
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "\n" not in str(info.value) and "districts" in str(info.value)


def test_a_district_table_reads_like_any_other(pilot):
    _, result = pilot
    assert isinstance(result.districts, pd.DataFrame)
    assert list(result.districts.index) == ["pilot", "control"]


def test_a_district_whose_scenario_was_never_loaded_is_refused_before_the_run():
    scenario = load_scenario("herning_pilot")
    districts = [scenario.districts[0], scenario.districts[1].model_copy(update={"target": None})]
    with pytest.raises(ValueError, match=r"districts\[1\]\.scenario names a scenario that was never loaded"):
        simulate(scenario.model_copy(update={"districts": districts}), seed=1, years=0.1)
