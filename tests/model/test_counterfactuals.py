"""The Swedish effect runs through caseworker hours (issue 10): each claim shown by its
counterfactual, in a test that could fail.

The saving is the saving on measures: the baseline's spending on the children's measures
(steps 1-5) minus the Swedish model's, staff left out. It is what caseworker hours can buy;
the staff are its price (whether the total saving is positive is a result the model reports,
docs/VALIDATION.md, not a claim tested here).

- The Swedish practice at its own staffing spends less on measures than the baseline.
- (a) The Swedish practice at the Danish baseline's staffing (its caseworkers and desk staff,
  all as caseworkers, no point cap) keeps at most half of that saving, and its follow-ups
  run late: take the hours away and the saving goes.
- (b) The Swedish staffing with the Danish practice buys less than half of the saving: the
  hours without the practice are not enough either.
- (c) Below the staffing it needs, the Swedish practice costs more again: the cheapest
  staffing is not the smallest.
- The closing rule: with the same practice, a department with too few hours leaves more
  children on steps above their need than one with enough.

Every comparison is paired (common random numbers: replication ``r`` of every scenario uses
the seed ``[SEED, r]``) over ``REPLICATIONS`` replications of ``YEARS`` measured years after
each scenario's own warm-up, from its steady-state stock. The thresholds are the claims of
the issue (half; "little", read as under half on average, with the whole saving above the
interval: the model's answer is a fifth to two fifths, docs/VALIDATION.md), not figures copied
from a run; the tolerance for noise is the paired 95 % confidence interval, which must lie on
the claimed side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import simulate
from sim.results.stats import mean_ci

pytestmark = pytest.mark.slow  # every test needs the runs: 20 replications of 4 years

SEED = 7
REPLICATIONS = 4
YEARS = 4.0
MEASURES = "cost_measures_per_year"


def _runs(scenario) -> pd.DataFrame:
    return pd.DataFrame([simulate(scenario, seed=[SEED, r], years=YEARS).summary for r in range(REPLICATIONS)])


@pytest.fixture(scope="module")
def runs(baseline, swedish):
    headcount = baseline.staffing.caseworkers + baseline.intake.desk_staff
    at_danish = swedish.with_overrides(**{"staffing.caseworkers": headcount, "assignment.point_cap": None})
    danish_practice = baseline.with_overrides(
        **{"staffing.caseworkers": swedish.staffing.caseworkers, "assignment.point_cap": swedish.assignment.point_cap}
    )
    short = swedish.with_overrides(**{"staffing.caseworkers": round(0.6 * swedish.staffing.caseworkers)})
    return {
        "baseline": _runs(baseline),
        "swedish": _runs(swedish),
        "at_danish": _runs(at_danish),
        "danish_practice": _runs(danish_practice),
        "short": _runs(short),
    }


def _paired(runs, a: str, b: str, indicator: str = "cost_total_per_year"):
    mean, low, high, _ = mean_ci(runs[a][indicator].to_numpy() - runs[b][indicator].to_numpy())
    return mean, low, high


def test_the_swedish_model_spends_less_on_measures_than_the_baseline(runs):
    mean, low, _ = _paired(runs, "baseline", "swedish", MEASURES)
    assert low > 0, f"saving on measures {mean / 1e6:.1f} M DKK/yr, interval from {low / 1e6:.1f}"


def test_a_the_swedish_practice_without_its_hours_keeps_at_most_half_of_the_saving(runs):
    saving = _paired(runs, "baseline", "swedish", MEASURES)[0]
    assert saving > 0
    lost, low, _ = _paired(runs, "at_danish", "swedish", MEASURES)
    assert low >= 0.5 * saving, f"gives back {lost / 1e6:.1f} [{low / 1e6:.1f}, ..] of {saving / 1e6:.1f} M DKK/yr"
    # ... and its follow-ups run late
    late = runs["at_danish"]["followup_on_time_share"]
    assert late.max() < runs["swedish"]["followup_on_time_share"].min() - 0.2
    assert (runs["at_danish"]["mean_followup_interval_days"] > runs["swedish"]["mean_followup_interval_days"]).all()


def test_b_the_swedish_staffing_with_the_danish_practice_buys_less_than_half_of_the_saving(runs):
    saving = _paired(runs, "baseline", "swedish", MEASURES)[0]
    assert saving > 0
    bought, _, high = _paired(runs, "baseline", "danish_practice", MEASURES)
    # a part, not the whole: under half on average, and the whole lies above its interval
    assert bought < 0.5 * saving, f"buys {bought / 1e6:.1f} [.., {high / 1e6:.1f}] of {saving / 1e6:.1f} M DKK/yr"
    assert high < saving, f"buys {bought / 1e6:.1f} [.., {high / 1e6:.1f}] of {saving / 1e6:.1f} M DKK/yr"


def test_c_below_the_staffing_it_needs_the_swedish_practice_costs_more_again(runs):
    extra, low, _ = _paired(runs, "short", "swedish")
    assert low > 0, f"at 60 % of its staffing: {extra / 1e6:+.1f} M DKK/yr, interval from {low / 1e6:+.1f}"
    assert runs["short"]["plans_dropped_per_year"].mean() > 5 * max(runs["swedish"]["plans_dropped_per_year"].mean(), 1)


def test_without_the_hours_the_practice_moves_fewer_children_down(runs):
    """The mechanism behind (a): the same practice, fewer hours, fewer moves down made per
    child over-served; the plans are dropped, not the intentions."""
    ratio = runs["at_danish"]["moves_down_per_year"] / runs["at_danish"]["children_in_care_mean"]
    own = runs["swedish"]["moves_down_per_year"] / runs["swedish"]["children_in_care_mean"]
    assert ratio.mean() < own.mean()
    assert runs["at_danish"]["plans_dropped_per_year"].mean() > runs["swedish"]["plans_dropped_per_year"].mean()


def test_both_practices_keep_their_caseworkers_busy_at_their_own_staffing(runs):
    """docs/conceptual-model.md §3.7: at its own staffing each practice uses most of its
    caseworkers' hours (at least two thirds; the Swedish staffing keeps the slack that 90 % of
    follow-ups on time needs); the Swedish caseworker spends more of them on contact
    (follow-ups) and fewer on standing work."""
    for name in ("baseline", "swedish"):
        assert runs[name]["caseworker_utilisation"].mean() > 2 / 3, name
    kinds = ("followup", "second_caseworker", "step_down_plan")  # time with the child, family and placement
    contact = {n: sum(runs[n][f"hours_share_{k}"].mean() for k in kinds) for n in ("baseline", "swedish")}
    standing = {n: runs[n]["hours_share_standing"].mean() for n in ("baseline", "swedish")}
    assert contact["swedish"] > contact["baseline"] + 0.05, contact
    assert standing["swedish"] < standing["baseline"] - 0.1, standing
    assert np.isfinite(list(contact.values())).all()
