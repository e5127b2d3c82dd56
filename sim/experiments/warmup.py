"""Warm-up analysis: where do the indicators settle, so the warm-up can be set from data.

A run starts from a scenario's initial stock (or, with ``empty=True``, from an empty
system) and takes a while to reach its steady state; the scenario's ``run.warmup_years``
is cut from every result so that the indicators measure the steady state only. This module
shows how long that takes:

* :func:`welch_moving_average`: Welch's graphical procedure (Law & Kelton, *Simulation
  Modeling and Analysis*): average the replications period by period, then smooth with a
  centred moving average; the warm-up ends where the curve flattens.
* :func:`mser5`: the MSER-5 truncation rule (White 1997; White, Cobb & Spratt 2000): the
  truncation point that minimises the standard error of the mean of what remains.
* :func:`warmup_analysis`: runs replications with no warm-up, collects the weekly series
  of the chosen indicators (:data:`INDICATORS`) and applies both;
  :func:`sim.present.warmup.plot_warmup` draws the result (the ``welfare-sim warmup``
  command is :mod:`sim.cli.commands.warmup`).

Example::

    from sim import load_scenario
    from sim.experiments.warmup import warmup_analysis
    from sim.present.warmup import plot_warmup

    report = warmup_analysis(load_scenario("danish_baseline"), replications=5, years=12)
    report.suggestions()          # MSER-5 point of each indicator, in days and years
    report.suggested_warmup_years # the largest, rounded up to a quarter year
    plot_warmup(report).savefig("warmup.png", dpi=120)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sim.constants import DAYS_PER_YEAR, PLACEMENT_STEPS
from sim.params import Scenario, load_scenario
from sim.results.stats import mean_ci

MSER_BATCH = 5
"""Periods per batch of MSER-5."""


@dataclass(frozen=True)
class Indicator:
    """An indicator that can be read week by week from a result."""

    description: str
    unit: str


INDICATORS: dict[str, Indicator] = {
    "mean_caseload_cases": Indicator("open cases per caseworker", "cases"),
    "mean_caseload_points": Indicator("Borås points per caseworker", "points"),
    "waiting_list": Indicator("cases waiting for a caseworker", "cases"),
    "children_in_care": Indicator("children in care (steps 3-5)", "children"),
    "children_on_ladder": Indicator("children on the ladder (steps 1-5)", "children"),
    "task_queue": Indicator("queued tasks per caseworker", "tasks"),
    "spending_rate": Indicator("spending on measures (steps 1-5) at the day's rate", "M DKK per year"),
}
"""The indicators :func:`indicator_series` can read over time, with their units."""

DEFAULT_INDICATORS: tuple[str, ...] = ("mean_caseload_cases", "children_in_care", "spending_rate", "waiting_list")
"""The indicators analysed unless others are named."""


# ----------------------------------------------------------------------------- the methods


def welch_moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Welch's moving average of replications of one output series.

    ``values`` is a (replications x periods) array (a 1-D array is one replication). The
    replications are averaged period by period into ``Y``, which is then smoothed with a
    centred moving average of half-width ``window`` (Law & Kelton): with periods numbered
    ``i = 1 .. m``,

    * for ``i <= window``: the mean of the first ``2i - 1`` points (``Y_1 .. Y_{2i-1}``),
      a window that shrinks towards the start so that it stays centred on ``i``;
    * for ``window < i <= m - window``: the mean of ``Y_{i-window} .. Y_{i+window}``.

    The result has one value per period (the same length as the periods), so that it lines
    up with the time grid; the last ``window`` values, where a centred window would run past
    the end (``i > m - window``), are NaN. ``window = 0`` returns ``Y`` itself.
    """
    data = np.asarray(values, dtype=float)
    if data.ndim == 1:
        data = data[np.newaxis, :]
    if data.ndim != 2 or data.shape[0] < 1:
        raise ValueError(f"values: must be a (replications x periods) array, got shape {np.shape(values)}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 0:
        raise ValueError(f"window: must be an integer >= 0, got {window!r}")
    window = int(window)
    mean = data.mean(axis=0)
    m = mean.size
    out = np.full(m, np.nan)
    cumulative = np.concatenate(([0.0], np.cumsum(mean)))  # cumulative[k] = sum of the first k points
    for j in range(max(m - window, 0)):  # 0-based period j is period i = j + 1
        lo, hi = (0, 2 * j + 1) if j < window else (j - window, j + window + 1)
        out[j] = (cumulative[hi] - cumulative[lo]) / (hi - lo)
    return out


def mser5_statistics(series: np.ndarray, max_fraction: float = 0.5) -> np.ndarray:
    """The MSER-5 statistic for each candidate truncation ``d = 0, 1, ...`` (in batches).

    The series is cut into ``b = len(series) // 5`` batches of 5 consecutive periods (a
    remainder of fewer than 5 periods at the end is dropped) and each batch replaced by its
    mean ``Z_1 .. Z_b``. For a truncation of ``d`` batches the statistic is
    ``sum_{j>d} (Z_j - mean(Z_{d+1..b}))^2 / (b - d)^2``: the variance of the remaining
    batch means divided by their count, i.e. the squared standard error of their mean.
    Candidates run from ``d = 0`` to ``floor(max_fraction * b)``, keeping at least two
    batches.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"series: must be one-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("series: must be finite (no NaN or infinite values)")
    if not (0.0 < max_fraction < 1.0):
        raise ValueError(f"max_fraction: must be > 0 and < 1, got {max_fraction!r}")
    batches = x.size // MSER_BATCH
    if batches < 2:
        raise ValueError(f"series: MSER-5 needs at least {2 * MSER_BATCH} periods, got {x.size}")
    z = x[: batches * MSER_BATCH].reshape(batches, MSER_BATCH).mean(axis=1)
    last = min(int(math.floor(max_fraction * batches)), batches - 2)
    stats = np.empty(last + 1)
    for d in range(last + 1):
        rest = z[d:]
        stats[d] = np.sum((rest - rest.mean()) ** 2) / rest.size**2
    return stats


def mser5(series: np.ndarray, max_fraction: float = 0.5) -> int:
    """The MSER-5 truncation point of ``series``, in periods of the original series.

    Returns ``5 * d`` for the number of batches ``d`` that minimises the statistic of
    :func:`mser5_statistics` (the first such ``d`` on ties): the periods before it are the
    warm-up. A result at the limit (``5 * floor(max_fraction * b)``) means the series has
    not settled within the first ``max_fraction`` of the run: run longer.
    """
    return int(np.argmin(mser5_statistics(series, max_fraction))) * MSER_BATCH


def mser5_limit(periods: int, max_fraction: float = 0.5) -> int:
    """The largest truncation (in periods) :func:`mser5` can return for a series of this length."""
    batches = periods // MSER_BATCH
    return min(int(math.floor(max_fraction * batches)), batches - 2) * MSER_BATCH


# ----------------------------------------------------------------------------- reading results


def _check_indicator(indicator: str) -> None:
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; valid: {', '.join(INDICATORS)}")


def indicator_series(result, indicator: str) -> pd.Series:
    """One indicator over time: a Series indexed by the weekly snapshot times (``time_days``).

    ``result`` is a :class:`sim.Result` (or anything with its ``caseload`` and ``ladder``
    tables). Indicators (see :data:`INDICATORS`):

    * ``mean_caseload_cases``, ``mean_caseload_points``, ``task_queue``: the mean over the
      caseworkers of ``caseload.cases``, ``.points`` and ``.task_queue`` at each snapshot;
    * ``waiting_list``: the cases waiting for a caseworker at each snapshot (recorded on
      every caseworker's row; the same value for all);
    * ``children_in_care``: children on steps 3, 4 and 5 of ``ladder``;
    * ``children_on_ladder``: children on steps 1 to 5;
    * ``spending_rate``: what the children on the ladder cost at that moment, in M DKK per
      year (children on each step times the step's yearly cost).

    Raises ``ValueError`` naming the valid indicators for any other name.
    """
    _check_indicator(indicator)
    if indicator == "spending_rate":
        ladder = result.ladder
        costs = {k: result.scenario.ladder.step(k).cost_dkk_per_year / 1e6 for k in range(1, 6)}
        spend = ladder["children"] * ladder["step"].map(costs)
        series = spend.groupby(ladder["time_days"]).sum().sort_index()
    elif indicator in ("children_in_care", "children_on_ladder"):
        ladder = result.ladder
        times = np.sort(ladder["time_days"].unique())
        rows = ladder[ladder["step"].isin(PLACEMENT_STEPS)] if indicator == "children_in_care" else ladder
        series = rows.groupby("time_days")["children"].sum().reindex(times, fill_value=0)
    else:
        caseload = result.caseload
        column = {
            "mean_caseload_cases": "cases",
            "mean_caseload_points": "points",
            "task_queue": "task_queue",
            "waiting_list": "waiting_list",
        }[indicator]
        grouped = caseload.groupby("time_days")[column]
        series = grouped.first() if indicator == "waiting_list" else grouped.mean()
    series = series.astype(float)
    series.index = pd.Index(series.index.astype(float), name="time_days")
    series.name = indicator
    return series


# ----------------------------------------------------------------------------- the analysis


def _quarter_years_up(years: float) -> float:
    """``years`` rounded up to a quarter year (tolerating floating-point noise)."""
    return math.ceil(years * 4 - 1e-9) / 4 if years > 0 else 0.0


@dataclass
class WarmupReport:
    """The result of :func:`warmup_analysis`.

    ``time_days`` is the weekly time grid (days since the start of the run, no warm-up
    cut); for each indicator, ``values[name]`` is the (replications x periods) matrix,
    ``welch[name]`` Welch's moving average (NaN in the last ``window`` periods) and
    ``mser5_periods[name]`` the MSER-5 truncation point of the across-replication mean, in
    periods of ``time_days``.
    """

    scenario_name: str
    scenario_warmup_years: float
    replications: int
    years: float
    seed: int
    window: int
    empty: bool
    seeds: list
    time_days: np.ndarray
    values: dict[str, np.ndarray]
    welch: dict[str, np.ndarray]
    mser5_periods: dict[str, int]
    mser5_limit_periods: int
    indicators: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.indicators = tuple(self.values)

    def mean(self, indicator: str) -> np.ndarray:
        """The across-replication mean of one indicator, period by period."""
        return self.values[indicator].mean(axis=0)

    def mser5_days(self, indicator: str) -> float:
        """The MSER-5 truncation point of one indicator, in days since the start."""
        return float(self.time_days[self.mser5_periods[indicator]] - self.time_days[0])

    def at_limit(self, indicator: str) -> bool:
        """Whether the MSER-5 point is the latest one allowed: the series had not settled
        in the first half of the run, and the run should be longer."""
        return self.mser5_periods[indicator] >= self.mser5_limit_periods

    def drift(self, indicator: str) -> tuple[float, float, float]:
        """The drift left after the scenario's warm-up, as ``(mean, low, high)``: in each
        replication, the mean of the second half of the periods after ``scenario_warmup_years``
        minus the mean of the first half, in % of the indicator's mean after the warm-up; the
        mean over the replications and its 95 % interval (Student's t; the replications are
        independent, so the interval is honest however slowly an indicator moves).

        An interval that holds 0 shows no drift the replications can see, and its width says
        how small a drift they could have seen. This reads the measured years directly; the
        MSER-5 point reads one mean curve, and on a small municipality the noise of that curve
        alone can put it years late. NaN when the run is not longer than the warm-up (or the
        indicator is 0 after it)."""
        values = self.values[indicator]
        after = values[:, self.time_days >= self.scenario_warmup_years * DAYS_PER_YEAR]
        half = after.shape[1] // 2
        level = float(after.mean()) if after.size else 0.0
        if half < 1 or level == 0.0 or self.replications < 2:
            return math.nan, math.nan, math.nan
        change = (after[:, half:].mean(axis=1) - after[:, :half].mean(axis=1)) / level * 100.0
        mean, low, high, _ = mean_ci(change)
        return mean, low, high

    @property
    def suggested_warmup_years(self) -> float:
        """The largest MSER-5 point over the indicators, rounded up to a quarter year."""
        return _quarter_years_up(max(self.mser5_days(n) for n in self.indicators) / DAYS_PER_YEAR)

    def table(self) -> pd.DataFrame:
        """Tidy table: one row per indicator and period, columns ``time_days``,
        ``indicator``, ``mean`` (across replications) and ``welch`` (NaN at the end)."""
        frames = [
            pd.DataFrame(
                {"time_days": self.time_days, "indicator": name, "mean": self.mean(name), "welch": self.welch[name]}
            )
            for name in self.indicators
        ]
        return pd.concat(frames, ignore_index=True)

    def suggestions(self) -> pd.DataFrame:
        """One row per indicator: ``indicator``, ``mser5_days``, ``mser5_years``, ``at_limit``
        (see :meth:`at_limit`) and the drift after the scenario's warm-up (:meth:`drift`):
        ``drift_percent``, ``drift_low_percent``, ``drift_high_percent``."""
        days = [self.mser5_days(n) for n in self.indicators]
        drifts = np.array([self.drift(n) for n in self.indicators]).reshape(-1, 3)
        return pd.DataFrame(
            {
                "indicator": list(self.indicators),
                "mser5_days": days,
                "mser5_years": [d / DAYS_PER_YEAR for d in days],
                "at_limit": [self.at_limit(n) for n in self.indicators],
                "drift_percent": drifts[:, 0],
                "drift_low_percent": drifts[:, 1],
                "drift_high_percent": drifts[:, 2],
            }
        )


def warmup_analysis(
    scenario: Scenario | str | Path,
    replications: int = 5,
    years: float = 12.0,
    seed: int = 1,
    indicators: Sequence[str] = DEFAULT_INDICATORS,
    window: int = 26,
    empty: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> WarmupReport:
    """Run ``replications`` replications of ``scenario`` without warm-up and find where the
    ``indicators`` settle.

    Each replication runs ``years`` years with ``run.warmup_years = 0`` (so every result
    starts at the scenario's initial stock), or from an empty system with ``empty=True``
    (``initial_stock.open_cases_per_1000_children`` all zero). Replication ``r`` uses the seed
    ``[seed, r]``: ``simulate`` hands it to ``numpy.random.SeedSequence``, which takes a
    list of integers, so the replications are independent streams for any ``seed``.

    For each indicator the weekly series are stacked into a (replications x periods)
    matrix; Welch's moving average uses half-width ``window`` (periods, i.e. weeks with the
    default snapshot interval) and MSER-5 is applied to the across-replication mean.
    ``progress(done, total)`` is called after each replication. ``scenario`` may also be a
    file or shipped scenario name. The replications run on the package's one replication
    loop (:mod:`sim.experiments.jobs`): in ``workers`` processes (None: one per core; 1: in this
    process), with the same result whatever their number.
    """
    from sim.experiments.jobs import Job, JobResult, local_backend

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    names = tuple(dict.fromkeys(indicators))  # keep order, drop repeats
    if not names:
        raise ValueError("indicators: name at least one")
    for name in names:
        _check_indicator(name)
    if isinstance(replications, bool) or not isinstance(replications, int | np.integer) or replications < 1:
        raise ValueError(f"replications: must be an integer >= 1, got {replications!r}")
    if not (math.isfinite(years) and years > 0):
        raise ValueError(f"years: must be a finite number > 0, got {years!r}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 0:
        raise ValueError(f"window: must be an integer >= 0, got {window!r}")

    overrides: dict = {"run.warmup_years": 0.0}
    if empty:
        overrides["initial_stock.open_cases_per_1000_children"] = [[0.0] * 6 for _ in range(5)]
    runnable = scenario.with_overrides(**overrides)

    seeds = [[seed, r] for r in range(replications)]
    jobs = [Job(0, runnable, r, (seed, r), years) for r in range(replications)]
    by_replication: dict[int, dict[str, pd.Series]] = {}

    def done(result: JobResult) -> None:
        tables = SimpleNamespace(scenario=runnable, **result.tables)
        by_replication[result.replication] = {name: indicator_series(tables, name) for name in names}
        if progress is not None:
            progress(len(by_replication), replications)

    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    backend = local_backend(workers, len(jobs))
    try:
        backend.run(jobs, done, ("ladder", "caseload"))
    finally:
        backend.close()
    # In replication order, whatever order the workers finished in.
    series = {name: [by_replication[r][name] for r in range(replications)] for name in names}

    # The snapshot grid is the same in every replication; keep the common times to be safe.
    grid = series[names[0]][0].index
    for name in names:
        for s in series[name]:
            grid = grid.intersection(s.index)
    time_days = np.asarray(grid, dtype=float)
    if time_days.size < 2 * MSER_BATCH:
        raise ValueError(
            f"years: {years:g} years give {time_days.size} snapshots; MSER-5 needs at least {2 * MSER_BATCH}"
        )
    values = {name: np.vstack([s.reindex(grid).to_numpy(dtype=float) for s in series[name]]) for name in names}
    welch = {name: welch_moving_average(values[name], window) for name in names}
    points = {name: mser5(values[name].mean(axis=0)) for name in names}
    return WarmupReport(
        scenario_name=scenario.name,
        scenario_warmup_years=scenario.run.warmup_years,
        replications=replications,
        years=years,
        seed=seed,
        window=window,
        empty=empty,
        seeds=seeds,
        time_days=time_days,
        values=values,
        welch=welch,
        mser5_periods=points,
        mser5_limit_periods=mser5_limit(time_days.size),
    )
