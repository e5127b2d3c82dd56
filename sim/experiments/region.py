"""Regional and national runs: many municipalities, each in its own scenario, and their sum.

A list of municipalities (:func:`sim.params.municipality.read_municipalities`: name, children,
caseworkers, practice) becomes one batch: every municipality is the shipped scenario of its
practice with its own counts (:func:`sim.params.municipality.municipality_scenario`), run
``replications`` times on the batch's backends (process pool or Dask). The municipalities of
one replication are independent of each other (each has its own random streams, numbered by
its place in the list), so the sum of one replication is a draw of the region's total; the
totals of the replications give its mean and 95 % interval. Two lists of the same
municipalities in the same order, run with the same seed, share their random streams
municipality by municipality (common random numbers between, say, the region today and the
region working Swedish).

``region.csv`` in the batch folder holds, per municipality and for the total, the mean and
the interval of each additive indicator (counts a year, children in care, costs), and the
total's figures per 1,000 children. Where the list gives a municipality's observed figures,
``observed.csv`` sets each beside the model's mean and interval (:func:`observed_table`): a
figure far outside says the shipped mechanism parameters do not describe that municipality,
and ``welfare-sim calibrate`` fits them to it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.batch import BatchResult, BatchSpec, ScenarioEntry, run_batch
from sim.experiments.validation import _derived
from sim.params.municipality import SUM_NAME, Municipality, municipality_scenario
from sim.params.observed import FIGURES
from sim.results.stats import mean_ci
from sim.storage.output import atomic_write_csv

ADDITIVE = (
    "notifications_per_year",
    "placements_per_year",
    "children_in_care_mean",
    "cost_total_per_year",
    "cost_placements_per_year",
    "cost_staff_per_year",
)
"""The indicators that add up over municipalities: counts a year, children, money a year."""
PER_1000 = ("notifications_per_year", "placements_per_year", "children_in_care_mean", "cost_total_per_year")
"""The total's indicators also given per 1,000 children (``<indicator>_per_1000_children``)."""
TOTAL = SUM_NAME
"""The name of the sum's rows in ``region.csv``."""


@dataclass
class RegionResult:
    out: Path
    batch: BatchResult
    municipalities: list[Municipality]
    table: pd.DataFrame
    """One row per municipality (and ``total``) and indicator: ``municipality``, ``children``,
    ``caseworkers``, ``practice``, ``indicator``, ``mean``, ``ci_low``, ``ci_high``, ``replications``."""
    observed: pd.DataFrame | None = None
    """:func:`observed_table`, where the list gives observed figures."""


def region_spec(
    towns: list[Municipality],
    source: Path,
    replications: int,
    seed: int,
    years: float | None,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    write_tables: bool = False,
    force: bool = False,
) -> BatchSpec:
    """The batch of a list of municipalities read from ``source``: one scenario each, with
    independent random streams (``crn=False``)."""
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    entries = [ScenarioEntry(t.name, municipality_scenario(t), ((str(source), digest),)) for t in towns]
    spec = BatchSpec(
        scenarios=entries,
        replications=replications,
        seed=seed,
        years=years,
        crn=False,
        backend=backend,
        scheduler=scheduler,
        write_tables=write_tables,
        force=force,
    )
    if workers is not None:
        spec.workers = workers
    return spec


def region_table(replications: pd.DataFrame, towns: list[Municipality]) -> pd.DataFrame:
    """Each municipality's additive indicators, and their sum per replication, with 95 %
    intervals over replications (:data:`TOTAL` rows; the sum is missing in a replication
    that lacks a municipality)."""
    rows = []

    def add(name: str, children: int, caseworkers: int, practice: str, indicator: str, values) -> None:
        mean, low, high, n = mean_ci(values)
        rows.append(
            {
                "municipality": name,
                "children": children,
                "caseworkers": caseworkers,
                "practice": practice,
                "indicator": indicator,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "replications": n,
            }
        )

    names = [t.name for t in towns]
    for town in towns:
        mine = replications[replications["scenario"] == town.name]
        for indicator in ADDITIVE:
            add(town.name, town.children, town.caseworkers, town.practice, indicator, mine[indicator].to_numpy())
    children = sum(t.children for t in towns)
    caseworkers = sum(t.caseworkers for t in towns)
    practices = sorted({t.practice for t in towns})
    practice = practices[0] if len(practices) == 1 else "mixed"
    for indicator in ADDITIVE:
        wide = replications.pivot(index="replication", columns="scenario", values=indicator).reindex(columns=names)
        total = wide.sum(axis=1, min_count=len(names))
        add(TOTAL, children, caseworkers, practice, indicator, total.to_numpy())
        if indicator in PER_1000:
            per = total * 1000.0 / children
            add(TOTAL, children, caseworkers, practice, f"{indicator}_per_1000_children", per.to_numpy())
    return pd.DataFrame(rows)


def run_region(
    spec: BatchSpec,
    towns: list[Municipality],
    out: Path,
    resume: bool = False,
    progress: bool = False,
    command: list[str] | None = None,
) -> RegionResult:
    """Run the batch of ``spec`` (from :func:`region_spec`) into ``out`` and write
    ``region.csv`` beside its results."""
    batch = run_batch(spec, out, resume=resume, progress=progress, command=command)
    table = region_table(batch.replications, towns)
    atomic_write_csv(out / "region.csv", table)
    observed = observed_table(batch.replications, towns)
    if observed is not None:
        atomic_write_csv(out / "observed.csv", observed)
    return RegionResult(out, batch, towns, table, observed)


def observed_table(replications: pd.DataFrame, towns: list[Municipality]) -> pd.DataFrame | None:
    """Each observed figure of the list beside the model's mean and 95 % interval over the
    replications (None when the list gives none): ``municipality``, ``figure``, ``unit``,
    ``observed``, ``mean``, ``ci_low``, ``ci_high``, ``range_low`` and ``range_high`` (the
    2.5 % and 97.5 % points of the single replications: where one run of the municipality
    lands, as one observed period does), ``difference`` (model - observed),
    ``relative_difference`` and ``inside`` (whether the observed value lies in that range)."""
    if not any(t.observed for t in towns):
        return None
    derived = _derived(replications, {t.name: t.children for t in towns})
    rows = []
    for town in towns:
        mine = derived[derived["scenario"] == town.name]
        for key, value in town.observed:
            figure = FIGURES[key]
            values = mine[figure.indicator].to_numpy(dtype=float)
            mean, low, high, n = mean_ci(values)
            spread_low, spread_high = np.nanpercentile(values, [2.5, 97.5]) if n else (math.nan, math.nan)
            rows.append(
                {
                    "municipality": town.name,
                    "figure": key,
                    "unit": figure.unit,
                    "observed": value,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "range_low": float(spread_low),
                    "range_high": float(spread_high),
                    "replications": n,
                    "difference": mean - value,
                    "relative_difference": (mean - value) / value if value else math.nan,
                    "inside": bool(spread_low <= value <= spread_high),
                }
            )
    return pd.DataFrame(rows)


def total_of(table: pd.DataFrame, indicator: str) -> tuple[float, float, float]:
    """The total's (mean, low, high) of ``indicator`` in a :func:`region_table`."""
    row = table[(table["municipality"] == TOTAL) & (table["indicator"] == indicator)]
    if row.empty:
        return math.nan, math.nan, math.nan
    r = row.iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
