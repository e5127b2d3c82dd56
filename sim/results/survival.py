"""Survival analysis for spell durations: the Kaplan-Meier curve with Greenwood confidence
bands, the median with its confidence interval, and the two-group log-rank test.

Pure functions of arrays of durations and event flags (``observed`` is False for a
censored duration); they follow the conventions of lifelines (which cannot be used here:
it pins pandas < 3) and are tested against hand-computed examples and the classic
6-MP/placebo remission data (Freireich et al. 1963).

Placement spells that began before measurement (``start_day < 0``, left-truncated) must be
left out by the caller: a Kaplan-Meier curve assumes every spell is followed from its start.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from sim.constants import CONFIDENCE
from sim.results.indicators import kaplan_meier

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


CURVE_COLUMNS = ("time", "at_risk", "events", "censored", "survival", "std_err", "ci_low", "ci_high")

_TOLERANCE = 1e-12  # survival "at or below 0.5" allows for rounding in the product (as km_median does)


def _check(durations: ArrayLike, observed: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(durations, dtype=float).ravel()
    e = np.asarray(observed, dtype=bool).ravel()
    if d.shape != e.shape:
        raise ValueError(f"durations and observed differ in length: {d.size} and {e.size}")
    if np.isnan(d).any():
        raise ValueError("durations: NaN is not a duration")
    if (d < 0).any():
        raise ValueError(f"durations: must be >= 0, got {d.min():g}")
    return d, e


def _z(confidence: float) -> float:
    if not (0 < confidence < 1):
        raise ValueError(f"confidence: must be between 0 and 1, got {confidence:g}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def kaplan_meier_ci(durations: ArrayLike, observed: ArrayLike, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """The Kaplan-Meier curve with a pointwise confidence band.

    One row per distinct duration (event or censoring time), in increasing order, preceded
    by a row at time 0 (unless some duration is exactly 0, in which case that row is time 0
    itself, with its events). Columns:

    ``time``, ``at_risk`` (durations >= time), ``events`` and ``censored`` (durations equal to
    time with and without an event), ``survival`` (the product-limit estimate S(t), a step
    function continuous from the right: it holds from ``time`` until the next row),
    ``std_err`` (Greenwood: S(t) * sqrt(sum d / (n (n - d))) over the event times <= t),
    ``ci_low`` and ``ci_high``.

    The band uses the log(-log) transform, as lifelines does: with
    ``v = sum d / (n (n - d))`` and ``theta = log(-log S)``, ``se(theta) = sqrt(v) / |log S|``
    and the band is ``exp(-exp(theta +- z se(theta)))``, which always lies within [0, 1].
    Where S = 1 (before the first event) the band is [1, 1]; where S = 0 (every child still
    at risk ended at the last event) the transform is undefined and the band is [0, 0],
    with ``std_err`` 0 (lifelines gives NaN there).

    Censored durations tied with events count as at risk at that time (the usual
    convention). An empty input gives an empty frame with these columns.
    """
    d, e = _check(durations, observed)
    z = _z(confidence)
    if d.size == 0:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in CURVE_COLUMNS})
    times = np.unique(d)
    if times[0] > 0:
        times = np.concatenate([[0.0], times])
    at_risk = d.size - np.searchsorted(np.sort(d), times, side="left")
    sorted_events = np.sort(d[e])
    sorted_censored = np.sort(d[~e])
    events = np.searchsorted(sorted_events, times, side="right") - np.searchsorted(sorted_events, times, side="left")
    censored = np.searchsorted(sorted_censored, times, side="right") - np.searchsorted(
        sorted_censored, times, side="left"
    )
    # The point estimate is the one the summary indicators use (sim.results.indicators.kaplan_meier);
    # between event times it is carried forward.
    point = kaplan_meier(d, e)
    index = np.searchsorted(point["time"].to_numpy(), times, side="right") - 1
    steps = np.concatenate([[1.0], point["survival"].to_numpy(dtype=float)])
    survival = steps[index + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(terms)
        std_err = survival * np.sqrt(greenwood)
        log_s = np.log(survival)
        theta = np.log(-log_s)
        se_theta = np.sqrt(greenwood) / np.abs(log_s)
        ci_low = np.exp(-np.exp(theta + z * se_theta))
        ci_high = np.exp(-np.exp(theta - z * se_theta))
    one = survival >= 1.0
    zero = survival <= 0.0
    ci_low[one], ci_high[one] = 1.0, 1.0
    ci_low[zero], ci_high[zero] = 0.0, 0.0
    std_err[zero] = 0.0
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(int),
            "events": events.astype(int),
            "censored": censored.astype(int),
            "survival": survival,
            "std_err": std_err,
            "ci_low": ci_low,
            "ci_high": ci_high,
        }
    )


def _first_time_at_or_below(times: np.ndarray, values: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(values <= level + _TOLERANCE)
    return float(times[hit[0]]) if hit.size else math.nan


def median_ci(
    curve_or_durations: pd.DataFrame | ArrayLike, observed: ArrayLike | None = None, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """``(median, low, high)``: the Kaplan-Meier median and its confidence interval.

    Give either a curve from :func:`kaplan_meier_ci` (``observed`` None; its band's
    confidence is used and ``confidence`` is ignored) or durations and ``observed`` flags.

    In the style of Brookmeyer and Crowley (and of lifelines' ``median_survival_times`` of
    the band), each number is the first time a curve falls to 0.5 or below:

    * median: the first time ``survival <= 0.5`` (the same as ``sim.results.indicators.km_median``);
    * low: the first time ``ci_low <= 0.5`` (the lower band falls first);
    * high: the first time ``ci_high <= 0.5``.

    Each is NaN when its curve never falls to 0.5 (heavy censoring: for ``high`` this is
    common, and means "longer than the follow-up").
    """
    if isinstance(curve_or_durations, pd.DataFrame):
        if observed is not None:
            raise ValueError("median_ci: give a curve, or durations and observed, not both")
        curve = curve_or_durations
    else:
        if observed is None:
            raise ValueError("median_ci: durations need their observed flags")
        curve = kaplan_meier_ci(curve_or_durations, observed, confidence)
    times = curve["time"].to_numpy(dtype=float)
    return (
        _first_time_at_or_below(times, curve["survival"].to_numpy(dtype=float), 0.5),
        _first_time_at_or_below(times, curve["ci_low"].to_numpy(dtype=float), 0.5),
        _first_time_at_or_below(times, curve["ci_high"].to_numpy(dtype=float), 0.5),
    )


def logrank_test(
    durations_a: ArrayLike, observed_a: ArrayLike, durations_b: ArrayLike, observed_b: ArrayLike
) -> tuple[float, float]:
    """``(chi2, p_value)`` of the two-group log-rank test (one degree of freedom).

    At every distinct event time t of the pooled groups, with n_j at risk and d_j events in
    group j (n = n_a + n_b, d = d_a + d_b), group a expects ``E = d n_a / n`` events with the
    hypergeometric variance ``V = d (n_a / n) (n_b / n) (n - d) / (n - 1)``;
    ``chi2 = (sum(d_a) - sum(E))**2 / sum(V)`` and ``p = P(chi2_1 >= chi2)``. Censored
    durations tied with events count as at risk at that time. When no variance is possible
    (no events, or every event when only one is at risk) the result is ``(nan, nan)``.

    The test assumes independent groups; scenarios run with common random numbers are
    positively correlated, so on pooled replications the p-value is indicative.
    """
    da, ea = _check(durations_a, observed_a)
    db, eb = _check(durations_b, observed_b)
    times = np.unique(np.concatenate([da[ea], db[eb]]))
    if times.size == 0:
        return math.nan, math.nan
    sa, sb = np.sort(da), np.sort(db)
    sea, seb = np.sort(da[ea]), np.sort(db[eb])
    n_a = (sa.size - np.searchsorted(sa, times, side="left")).astype(float)
    n_b = (sb.size - np.searchsorted(sb, times, side="left")).astype(float)
    d_a = (np.searchsorted(sea, times, side="right") - np.searchsorted(sea, times, side="left")).astype(float)
    d_b = (np.searchsorted(seb, times, side="right") - np.searchsorted(seb, times, side="left")).astype(float)
    n, d = n_a + n_b, d_a + d_b
    expected = d * n_a / n
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(n > 1, d * (n_a / n) * (n_b / n) * (n - d) / (n - 1), 0.0)
    total_variance = float(variance.sum())
    if total_variance <= 0:
        return math.nan, math.nan
    chi2 = float((d_a.sum() - expected.sum()) ** 2 / total_variance)
    return chi2, float(stats.chi2.sf(chi2, 1))
