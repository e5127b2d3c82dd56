"""Output analysis over replications: means, confidence intervals, paired differences."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from sim.constants import CONFIDENCE

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def mean_ci(values: ArrayLike, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """(mean, lower, upper, n) of the t-based confidence interval of the mean, NaNs dropped.

    With fewer than two values the interval is NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def relative_half_width(values: ArrayLike, confidence: float = CONFIDENCE) -> float:
    """Half-width of the confidence interval divided by the absolute mean (inf if the mean is 0)."""
    mean, low, high, n = mean_ci(values, confidence)
    if n < 2 or math.isnan(low):
        return math.inf
    if mean == 0:
        return 0.0 if high == low else math.inf
    return (high - low) / 2 / abs(mean)


def comparison_table(replications: pd.DataFrame, scenarios: list[str], indicators: list[str]) -> pd.DataFrame:
    """Per indicator and scenario: mean and 95 % interval over replications, and the paired
    difference to the first scenario (replication by replication) with its own interval.

    ``replications`` has one row per scenario x replication with columns ``scenario``,
    ``replication`` and the indicators.
    """
    rows = []
    wide = {name: replications[replications["scenario"] == name].set_index("replication") for name in scenarios}
    first = scenarios[0]
    for indicator in indicators:
        for name in scenarios:
            values = wide[name][indicator]
            mean, low, high, n = mean_ci(values)
            row = {
                "indicator": indicator,
                "scenario": name,
                "n": n,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "half_width": (high - low) / 2 if n >= 2 else math.nan,
            }
            if name == first:
                row.update(diff_mean=math.nan, diff_ci_low=math.nan, diff_ci_high=math.nan, diff_n=0)
            else:
                paired = values - wide[first][indicator].reindex(values.index)
                d_mean, d_low, d_high, d_n = mean_ci(paired)
                row.update(diff_mean=d_mean, diff_ci_low=d_low, diff_ci_high=d_high, diff_n=d_n)
            rows.append(row)
    return pd.DataFrame(rows)
