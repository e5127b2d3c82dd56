"""Kaplan-Meier with confidence bands, the median and its interval, the log-rank test
(sim/results/survival.py): hand-computed small examples with censoring, and the classic 6-MP
remission data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.results.indicators import km_median
from sim.results.survival import CURVE_COLUMNS, kaplan_meier_ci, logrank_test, median_ci

Z95 = 1.959963984540054  # the 97.5 % point of the standard normal

# A small example with censoring (observed 0 = censored):
#   durations 1  2  2  3  4  5
#   observed  1  1  0  1  0  1
# time  at risk  events  censored  S(t)                  Greenwood sum d/(n(n-d))
#   0      6       0        0      1
#   1      6       1        0      5/6                   1/(6*5) = 1/30
#   2      5       1        1      5/6 * 4/5 = 2/3       1/30 + 1/(5*4) = 1/12
#   3      3       1        0      2/3 * 2/3 = 4/9       1/12 + 1/(3*2) = 1/4
#   4      2       0        1      4/9                   1/4
#   5      1       1        0      4/9 * 0 = 0           (undefined: S = 0)
# (at time 2 the censored duration tied with the event is still at risk: n = 5.)
DURATIONS = [1, 2, 2, 3, 4, 5]
OBSERVED = [1, 1, 0, 1, 0, 1]


def loglog_band(s: float, greenwood: float, z: float = Z95) -> tuple[float, float]:
    """The log(-log) band written out: S ** exp(+-z sqrt(v) / log S)."""
    se = math.sqrt(greenwood) / abs(math.log(s))
    return s ** math.exp(z * se), s ** math.exp(-z * se)


def test_kaplan_meier_ci_matches_the_hand_computed_example():
    curve = kaplan_meier_ci(DURATIONS, OBSERVED)
    assert list(curve.columns) == list(CURVE_COLUMNS)
    assert curve["time"].tolist() == [0, 1, 2, 3, 4, 5]
    assert curve["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert curve["events"].tolist() == [0, 1, 1, 1, 0, 1]
    assert curve["censored"].tolist() == [0, 0, 1, 0, 1, 0]
    np.testing.assert_allclose(curve["survival"], [1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0], rtol=1e-12)
    # Greenwood standard error S * sqrt(sum): at time 3, 4/9 * sqrt(1/4) = 2/9.
    np.testing.assert_allclose(
        curve["std_err"],
        [0, 5 / 6 * math.sqrt(1 / 30), 2 / 3 * math.sqrt(1 / 12), 2 / 9, 2 / 9, 0],
        rtol=1e-12,
    )
    # Log(-log) band. At time 1: log S = log(5/6) = -0.182322, se = sqrt(1/30) / 0.182322
    # = 1.001383, so the band is (5/6) ** exp(+-1.96 * 1.001383) = (0.273123, 0.974712).
    # At time 3: log S = -0.810930, se = 0.5 / 0.810930 = 0.616576: (0.066187, 0.784908).
    assert curve.loc[1, "ci_low"] == pytest.approx(0.273123, abs=1e-6)
    assert curve.loc[1, "ci_high"] == pytest.approx(0.974712, abs=1e-6)
    assert curve.loc[3, "ci_low"] == pytest.approx(0.066187, abs=1e-6)
    assert curve.loc[3, "ci_high"] == pytest.approx(0.784908, abs=1e-6)
    for row, (s, v) in {1: (5 / 6, 1 / 30), 2: (2 / 3, 1 / 12), 3: (4 / 9, 1 / 4), 4: (4 / 9, 1 / 4)}.items():
        low, high = loglog_band(s, v)
        assert curve.loc[row, "ci_low"] == pytest.approx(low, rel=1e-12)
        assert curve.loc[row, "ci_high"] == pytest.approx(high, rel=1e-12)
    # Time 0 (S = 1) and time 5 (S = 0) have degenerate bands, as documented.
    assert (curve.loc[0, "ci_low"], curve.loc[0, "ci_high"]) == (1.0, 1.0)
    assert (curve.loc[5, "ci_low"], curve.loc[5, "ci_high"]) == (0.0, 0.0)


def test_median_and_its_interval_match_the_hand_computed_example():
    # survival <= 0.5 first at time 3 (4/9); ci_low <= 0.5 first at time 1 (0.273);
    # ci_high <= 0.5 first at time 5 (0.785 at times 3 and 4, then 0).
    median, low, high = median_ci(DURATIONS, OBSERVED)
    assert (median, low, high) == (3.0, 1.0, 5.0)
    assert median == km_median(DURATIONS, OBSERVED)
    assert median_ci(kaplan_meier_ci(DURATIONS, OBSERVED)) == (median, low, high)


def test_median_is_nan_when_the_curve_never_reaches_one_half():
    # 1 event of 4 at time 2: S = 3/4 and stays there; the band's upper side is above 0.5 too.
    median, low, high = median_ci([2, 5, 6, 7], [1, 0, 0, 0])
    assert math.isnan(median) and math.isnan(high)
    # The lower side of the band: v = 1/(4*3) = 1/12, log(3/4) = -0.287682,
    # se = 0.288675 / 0.287682 = 1.003452: 0.75 ** exp(1.96 * 1.003452) = 0.194 <= 0.5 at time 2.
    assert low == 2.0


def test_only_censored_durations_give_a_flat_curve():
    curve = kaplan_meier_ci([3, 1, 2], [0, 0, 0])
    assert curve["time"].tolist() == [0, 1, 2, 3]
    assert curve["at_risk"].tolist() == [3, 3, 2, 1]
    assert (curve["survival"] == 1).all() and (curve["ci_low"] == 1).all() and (curve["ci_high"] == 1).all()
    assert all(math.isnan(x) for x in median_ci(curve))


def test_events_at_time_zero_are_in_the_first_row():
    # Two children at risk at 0 plus one more; one event at 0: S(0) = 2/3; then 1 of 1 at time 1: S = 0.
    curve = kaplan_meier_ci([0, 0, 1], [1, 0, 1])
    assert curve["time"].tolist() == [0, 1]
    assert curve["at_risk"].tolist() == [3, 1]
    np.testing.assert_allclose(curve["survival"], [2 / 3, 0])


def test_empty_input_gives_an_empty_curve_and_bad_input_is_refused():
    curve = kaplan_meier_ci([], [])
    assert curve.empty and list(curve.columns) == list(CURVE_COLUMNS)
    assert all(math.isnan(x) for x in median_ci(curve))
    with pytest.raises(ValueError, match="durations"):
        kaplan_meier_ci([1, -2], [1, 1])
    with pytest.raises(ValueError, match="length"):
        kaplan_meier_ci([1, 2], [1])
    with pytest.raises(ValueError, match="NaN"):
        kaplan_meier_ci([1, float("nan")], [1, 1])
    with pytest.raises(ValueError, match="confidence"):
        kaplan_meier_ci([1, 2], [1, 1], confidence=1.5)
    with pytest.raises(ValueError, match="observed"):
        median_ci([1, 2])


def test_band_contains_the_estimate_and_narrows_with_lower_confidence():
    rng = np.random.default_rng(7)
    durations = rng.exponential(100.0, size=300).round(1)
    observed = rng.uniform(size=300) < 0.7
    wide = kaplan_meier_ci(durations, observed, confidence=0.95)
    narrow = kaplan_meier_ci(durations, observed, confidence=0.80)
    assert ((wide["ci_low"] <= wide["survival"]) & (wide["survival"] <= wide["ci_high"])).all()
    assert ((wide["ci_low"] >= 0) & (wide["ci_high"] <= 1)).all()
    assert (narrow["ci_low"] >= wide["ci_low"] - 1e-12).all()
    assert (narrow["ci_high"] <= wide["ci_high"] + 1e-12).all()
    assert (np.diff(wide["survival"]) <= 0).all()
    # The point estimate is the one of the summary indicators.
    assert median_ci(wide)[0] == km_median(durations, observed)
    m, low, high = median_ci(wide)
    assert low <= m <= high


# The remission times (weeks) of Freireich et al. (1963), the textbook example of survival
# analysis; "+" marks censoring. Published results (e.g. R: summary(survfit(...)) and
# survdiff): Greenwood standard errors of the 6-MP group, medians 23 and 8 weeks, and the
# log-rank statistic chi2 = 16.79 with p = 4.17e-5.
SIX_MP = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+".split()
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def six_mp() -> tuple[list[float], list[bool]]:
    return [float(t.rstrip("+")) for t in SIX_MP], [not t.endswith("+") for t in SIX_MP]


def test_kaplan_meier_reproduces_the_published_six_mp_table():
    durations, observed = six_mp()
    curve = kaplan_meier_ci(durations, observed).set_index("time")
    published = {  # time: (at risk, events, survival, standard error)
        6: (21, 3, 0.857, 0.0764),
        7: (17, 1, 0.807, 0.0869),
        10: (15, 1, 0.753, 0.0963),
        13: (12, 1, 0.690, 0.1068),
        16: (11, 1, 0.627, 0.1141),
        22: (7, 1, 0.538, 0.1282),
        23: (6, 1, 0.448, 0.1346),
    }
    for time, (n, d, s, se) in published.items():
        assert curve.loc[time, "at_risk"] == n and curve.loc[time, "events"] == d
        assert curve.loc[time, "survival"] == pytest.approx(s, abs=5e-4)
        assert curve.loc[time, "std_err"] == pytest.approx(se, abs=5e-5)
    # The log(-log) band at 6 weeks, as published: (0.620, 0.952).
    assert curve.loc[6, "ci_low"] == pytest.approx(0.620, abs=5e-4)
    assert curve.loc[6, "ci_high"] == pytest.approx(0.952, abs=5e-4)
    assert median_ci(durations, observed)[0] == 23.0
    assert median_ci(PLACEBO, [True] * len(PLACEBO))[0] == 8.0


def test_logrank_reproduces_the_published_six_mp_test():
    durations, observed = six_mp()
    chi2, p = logrank_test(durations, observed, PLACEBO, [True] * len(PLACEBO))
    assert chi2 == pytest.approx(16.79, abs=0.005)
    assert p == pytest.approx(4.17e-5, rel=0.01)


def test_logrank_matches_a_hand_computed_example():
    # a: 1, 3 (both events); b: 2 (event), 4 (censored).
    # time  n_a n_b  n  d  d_a   E_a = d n_a / n   V = d (n_a/n)(n_b/n)(n-d)/(n-1)
    #   1    2   2   4  1   1        1/2              1 * 1/2 * 1/2 * 3/3 = 1/4
    #   2    1   2   3  1   0        1/3              1 * 1/3 * 2/3 * 2/2 = 2/9
    #   3    1   1   2  1   1        1/2              1 * 1/2 * 1/2 * 1/1 = 1/4
    # O_a - E_a = 2 - 4/3 = 2/3; V = 13/18; chi2 = (4/9) / (13/18) = 8/13.
    chi2, p = logrank_test([1, 3], [1, 1], [2, 4], [1, 0])
    assert chi2 == pytest.approx(8 / 13, rel=1e-12)
    # P(chi2_1 >= 8/13) = 2 (1 - Phi(sqrt(8/13))) = 2 (1 - Phi(0.784465)) = 0.432768
    assert p == pytest.approx(0.432768, abs=1e-6)
    assert logrank_test([2, 4], [1, 0], [1, 3], [1, 1]) == pytest.approx((chi2, p))


def test_logrank_is_zero_for_identical_groups_and_small_for_different_ones():
    durations, observed = DURATIONS, OBSERVED
    chi2, p = logrank_test(durations, observed, durations, observed)
    assert chi2 == pytest.approx(0.0, abs=1e-12)
    assert p == pytest.approx(1.0)
    chi2, p = logrank_test(np.arange(1, 21), np.ones(20), np.arange(30, 50), np.ones(20))
    assert chi2 > 20 and p < 1e-5


def test_logrank_without_events_has_no_answer():
    chi2, p = logrank_test([1, 2], [0, 0], [3, 4], [0, 0])
    assert math.isnan(chi2) and math.isnan(p)


def test_curve_accepts_pandas_columns():
    frame = pd.DataFrame({"duration_days": [5.0, 3.0, 9.0], "censored": [False, True, False]})
    curve = kaplan_meier_ci(frame["duration_days"], ~frame["censored"])
    assert curve["time"].tolist() == [0, 3, 5, 9]
    np.testing.assert_allclose(curve["survival"], [1, 1, 0.5, 0])
