"""Indicators are pure functions of tables: checked on small hand-made tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.constants import DAYS_PER_YEAR
from sim.results.indicators import (
    caseload_indicators,
    cost_indicators,
    cost_table,
    first_followup_indicators,
    followup_indicators,
    kaplan_meier,
    km_median,
    km_survival_at,
    placement_indicators,
)


def test_kaplan_meier_matches_a_hand_computed_example_with_censoring():
    # Durations 2, 3+, 4, 4, 5+, 7 (+ = censored).
    # t=2: 6 at risk, 1 event  -> S = 5/6
    # t=4: 4 at risk, 2 events -> S = 5/6 * 2/4 = 5/12
    # t=7: 1 at risk, 1 event  -> S = 0
    curve = kaplan_meier([2, 3, 4, 4, 5, 7], [True, False, True, True, False, True])
    assert list(curve["time"]) == [2, 4, 7]
    assert list(curve["at_risk"]) == [6, 4, 1]
    assert list(curve["events"]) == [1, 2, 1]
    assert curve["survival"].tolist() == pytest.approx([5 / 6, 5 / 12, 0.0])
    assert km_median([2, 3, 4, 4, 5, 7], [True, False, True, True, False, True]) == 4


def test_share_of_spells_longer_than_a_time_is_censoring_aware():
    # durations 100, 200 (censored), 300, 400: KM survival 3/4 after 100; the censored spell
    # leaves the risk set, so after 300 it is 3/4 x (1 - 1/2) = 3/8, and 0 after 400
    durations = [100.0, 200.0, 300.0, 400.0]
    observed = [True, False, True, True]
    assert km_survival_at(durations, observed, 50.0) == 1.0
    assert km_survival_at(durations, observed, 250.0) == pytest.approx(0.75)  # not 2/4: 200 is censored
    assert km_survival_at(durations, observed, 365.0) == pytest.approx(0.375)
    assert km_survival_at(durations, observed, 400.0) == pytest.approx(0.0)
    assert math.isnan(km_survival_at([], [], 365.0))


def test_kaplan_meier_median_ignores_nothing_that_censoring_hides():
    # Naively the median of the observed durations is 3; censoring keeps survival above 0.5.
    assert math.isnan(km_median([1, 3, 10, 10, 10], [True, True, False, False, False]))
    assert km_median([], []) != km_median([], [])  # NaN for no data


def test_followup_indicators_count_overdue_followups_as_late():
    f = pd.DataFrame(
        {
            "due_day": [10.0, 20.0, 30.0, 40.0],
            "done_day": [12.0, 35.0, 30.5, float("nan")],
            "previous_day": [0.0, 10.0, 0.0, 0.0],
        }
    )
    out = followup_indicators(f, grace_days=7, legal_days=20)
    assert out["followup_on_time_share"] == pytest.approx(2 / 4)
    assert out["followup_within_legal_share"] == pytest.approx(1 / 4)  # only 12 - 0 <= 20
    assert out["mean_followup_interval_days"] == pytest.approx((12 + 25 + 30.5) / 3)
    assert out["mean_followup_delay_days"] == pytest.approx((2 + 15 + 0.5) / 3)


def test_first_followup_share_counts_measures_that_ran_three_months():
    # 3 months = 91.3 days
    spells = pd.DataFrame(
        {
            "case": [1, 2, 3, 4, 5, 6, 7, 1],
            "step": [2, 4, 1, 5, 2, 3, 2, 3],
            "start_day": [10.0, 0.0, 0.0, 0.0, -50.0, 0.0, 990.0, 200.0],
            "end_day": [200.0, float("nan"), 120.0, 60.0, float("nan"), 150.0, float("nan"), float("nan")],
        }
    )
    followups = pd.DataFrame(
        {
            "case": [1, 1, 2, 3, 4, 5, 7, 1],
            "previous_day": [10.0, 80.0, 0.0, 0.0, 0.0, -50.0, 990.0, 200.0],
            "done_day": [80.0, 150.0, 95.0, 110.0, 40.0, 20.0, float("nan"), 260.0],
        }
    )
    out = first_followup_indicators(spells, followups, measured_days=1000.0)
    # case 1, step 2: first follow-up 70 days after the start (on time), the second does not count;
    # case 2: 95 days, late; case 3: 110 days, late; case 4 ended within 3 months: left out;
    # case 5 began before the measured years: left out; case 6 ran 150 days without a follow-up: late;
    # case 7 began 10 days before the end: left out; case 1, step 3: 60 days, on time
    assert out["first_followup_within_3_months_share"] == pytest.approx(2 / 5)
    empty = first_followup_indicators(spells.iloc[:0], followups.iloc[:0], measured_days=1000.0)
    assert math.isnan(empty["first_followup_within_3_months_share"])


def test_caseload_indicators():
    c = pd.DataFrame(
        {
            "time_days": [0, 0, 7, 7],
            "cases": [10, 20, 30, 40],
            "points": [50.0, 100.0, 150.0, 200.0],
            "waiting_list": [3, 3, 1, 1],
        }
    )
    out = caseload_indicators(c)
    assert out["mean_caseload_cases"] == 25
    assert out["mean_caseload_points"] == 125
    assert out["waiting_list_mean"] == 2  # one value per snapshot time, not per caseworker
    assert 30 < out["p90_caseload_cases"] <= 40


def _placements():
    return pd.DataFrame(
        {
            "step": [3, 4, 4, 5, 5],
            "start_day": [-50.0, 0.0, 100.0, 200.0, 300.0],
            "end_day": [50.0, 200.0, float("nan"), 250.0, 350.0],
            "duration_days": [100.0, 200.0, 265.0, 50.0, 50.0],
            "censored": [False, False, True, False, False],
            "entry": [True, True, True, False, True],
            "replacement": [False, False, True, False, False],
        }
    )


def test_placement_indicators():
    out = placement_indicators(_placements(), measured_days=365.0, children=1000)
    years = 365.0 / DAYS_PER_YEAR
    # Entries that started in the window: rows 1, 2 and 4 (row 0 began before it).
    assert out["placements_per_year"] == pytest.approx(3 / years)
    assert out["replacement_share"] == pytest.approx(1 / 3)
    assert out["placement_share_kinship"] == 0
    assert out["placement_share_foster"] == pytest.approx(2 / 4)
    assert out["placement_share_institution"] == pytest.approx(2 / 4)
    assert out["median_placement_days_institution"] == 50
    # In care: 50 + 200 + 265 + 50 + 50 days within the 365-day window.
    assert out["children_in_care_mean"] == pytest.approx(615 / 365)


def test_costs_split_spells_over_the_years_they_cover():
    spells = pd.DataFrame({"step": [1, 5], "start_day": [-10.0, 300.0], "end_day": [float("nan"), 400.0]})
    measured = 2 * DAYS_PER_YEAR
    costs = cost_table(spells, measured, [365.25, 0, 0, 0, 730.5], staff=2, staff_cost_dkk_per_year=100.0)
    by = costs.set_index(["year", "category"])["cost_dkk"]
    assert by[(1, "early_support")] == pytest.approx(DAYS_PER_YEAR)  # a DKK a day, the whole year
    assert by[(2, "early_support")] == pytest.approx(DAYS_PER_YEAR)
    assert by[(1, "institution")] == pytest.approx((DAYS_PER_YEAR - 300) * 2)
    assert by[(2, "institution")] == pytest.approx((400 - DAYS_PER_YEAR) * 2)
    assert by[(1, "staff")] == pytest.approx(200)
    out = cost_indicators(costs, measured)
    assert out["cost_staff_per_year"] == pytest.approx(200)
    assert out["cost_total_per_year"] == pytest.approx((2 * DAYS_PER_YEAR + 200 + 400) / 2)
    assert out["cost_share_step_5"] == pytest.approx(200 / (2 * DAYS_PER_YEAR + 200))
    assert out["cost_share_steps_1_2"] == pytest.approx(2 * DAYS_PER_YEAR / (2 * DAYS_PER_YEAR + 200))


def test_the_restricted_mean_is_the_area_under_the_kaplan_meier_curve():
    from sim.results.indicators import km_restricted_mean

    # 2, 3+, 4, 4, 5+, 7: S = 1 on [0,2), 5/6 on [2,4), 5/12 on [4,7), then 0
    expected = 2 * 1 + 2 * 5 / 6 + 3 * 5 / 12
    assert km_restricted_mean([2, 3, 4, 4, 5, 7], [True, False, True, True, False, True]) == pytest.approx(expected)
    # without censoring it is the plain mean
    assert km_restricted_mean([1.0, 2.0, 6.0], [True, True, True]) == pytest.approx(3.0)
    assert math.isnan(km_restricted_mean([], []))


def _spell(case, step, start, end, child=None):
    return {
        "child": case if child is None else child,
        "case": case,
        "step": step,
        "start_day": start,
        "end_day": end,
        "end_reason": "censored" if end is None else "moved",
        "censored": end is None,
        "duration_days": (1000.0 if end is None else end) - start,
    }


def test_consecutive_spells_on_one_step_are_one_stay_and_other_spells_stay_apart():
    from sim.results.indicators import stays

    spells = pd.DataFrame(
        [
            _spell(1, 5, 0.0, 100.0),
            _spell(1, 5, 100.0, 250.0),  # the same institution stay, split by an administrative event
            _spell(1, 4, 250.0, 300.0),  # a move to foster care ends the stay
            _spell(1, 5, 300.0, None),  # and a new institution stay begins
            _spell(2, 5, 50.0, 80.0),  # another case
        ]
    )
    out = stays(spells).sort_values(["case", "start_day"]).reset_index(drop=True)
    assert out[["case", "step", "start_day"]].values.tolist() == [
        [1, 5, 0.0],
        [1, 4, 250.0],
        [1, 5, 300.0],
        [2, 5, 50.0],
    ]
    assert out["end_day"].iloc[0] == 250.0 and out["duration_days"].iloc[0] == 250.0
    assert bool(out["censored"].iloc[2]) and math.isnan(out["end_day"].iloc[2])


def test_care_turnover_counts_leavers_of_the_first_day_and_type_changes_of_children_in_care_all_year():
    from sim.results.indicators import care_turnover_indicators

    y = DAYS_PER_YEAR
    placements = pd.DataFrame(
        [
            _spell(1, 4, -100.0, None),  # in care all year, no change
            _spell(2, 5, -100.0, 100.0),  # in care all year, changes type within it
            _spell(2, 4, 100.0, None),
            _spell(3, 4, -50.0, 200.0),  # in care on day 0, leaves within the year
            _spell(4, 4, 10.0, None),  # enters during the year: in neither count
            _spell(5, 3, -30.0, 0.5 * y),  # in care on day 0, changes type, then leaves
            _spell(5, 4, 0.5 * y, 0.6 * y),
        ]
    )
    out = care_turnover_indicators(placements, y)
    # on day 0 in care: cases 1, 2, 3, 5; left by the end: 3 and 5
    assert out["care_left_within_year_share"] == pytest.approx(2 / 4)
    # in care all year: cases 1 and 2; changed type: 2
    assert out["care_type_change_share"] == pytest.approx(1 / 2)


def test_the_share_of_new_entries_into_care_that_leave_within_the_year():
    from sim.results.indicators import care_turnover_indicators

    y = DAYS_PER_YEAR
    placements = pd.DataFrame(
        [
            _spell(1, 4, -100.0, 50.0),  # entered before the year: not an entry
            _spell(2, 4, 10.0, 200.0),  # enters and leaves within the year
            _spell(3, 4, 20.0, None),  # enters, stays
            _spell(4, 5, 30.0, 60.0),  # enters, changes type, then leaves: one entry, left
            _spell(4, 4, 60.0, 90.0),
            {**_spell(5, 4, 40.0, 100.0), "end_reason": "aged_out"},  # turns 18: in neither count
            _spell(6, 4, 0.5 * y, 1.5 * y),  # enters, leaves the next year
        ]
    )
    out = care_turnover_indicators(placements, y)
    assert out["care_entries_left_within_year_share"] == pytest.approx(2 / 4)


def test_care_that_ends_at_18_within_the_year_is_not_leaving_care():
    """Danmarks Statistik counts the placed aged 0-22 (a young person may stay on after 18):
    an end at 18, the edge of the model, is in neither count; any other end is leaving."""
    from sim.results.indicators import care_turnover_indicators

    y = DAYS_PER_YEAR
    aged = {**_spell(2, 4, -100.0, 0.5 * y), "end_reason": "aged_out"}
    placements = pd.DataFrame([_spell(1, 4, -100.0, None), aged, _spell(3, 4, -50.0, 200.0)])
    out = care_turnover_indicators(placements, y)
    assert out["care_left_within_year_share"] == pytest.approx(1 / 2)  # cases 1 and 3; 3 left
    # the same end for another reason is leaving
    moved = pd.DataFrame([_spell(1, 4, -100.0, None), _spell(2, 4, -100.0, 0.5 * y), _spell(3, 4, -50.0, 200.0)])
    assert care_turnover_indicators(moved, y)["care_left_within_year_share"] == pytest.approx(2 / 3)


def test_utilisation_is_standing_and_task_hours_over_the_casework_hours_available():
    from sim.constants import TASK_KINDS
    from sim.results.indicators import hours_indicators

    row = {"time_days": 7.0, "caseworkers": 2, "available_hours": 60.0, "standing_hours": 18.0}
    row.update({f"{kind}_hours": 0.0 for kind in TASK_KINDS})
    row["followup_hours"] = 24.0
    row["step_down_plan_hours"] = 6.0
    hours = pd.DataFrame([row, {**row, "time_days": 14.0}])
    out = hours_indicators(hours)
    assert out["caseworker_utilisation"] == pytest.approx(0.8)
    assert out["hours_share_standing"] == pytest.approx(0.3)
    assert out["hours_share_followup"] == pytest.approx(0.4)
    assert out["hours_share_step_down_plan"] == pytest.approx(0.1)
    assert out["hours_share_investigation"] == 0.0
