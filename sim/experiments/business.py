"""The business case of a change of practice (issue 5): what moving from a BASELINE way of
working to a NEW one costs and saves, year by year, and when it pays back.

``welfare-sim business-case BASELINE NEW --years 8`` runs both scenarios as one batch with
common random numbers (replication ``r`` of both uses the seed ``[seed, r]``), so a child
meets the same events in both until the ways of working part; then, from the ``costs``
table of every replication, it takes the paired difference NEW - BASELINE of each measured
year, split into components:

================  ======================================================================
component         cost categories (``sim.results.indicators.cost_table``)
================  ======================================================================
extra_staff       step 0: caseworkers and intake desk, following the staffing over time
implementation    step -1: the one-off cost of the ``[implementation]`` section
interventions     steps 1-2: early support and home support
placements        steps 3-5: kinship care, foster care, institution
net               the sum of the four (the difference in total cost)
cumulative_net    the running sum of ``net`` over the years, replication by replication
================  ======================================================================

**Sign convention:** every value is NEW minus BASELINE, in DKK. Positive is an extra cost
of NEW (an investment), negative is a saving. Each value is the mean over replications
with a 95 % t-interval (:func:`sim.results.stats.mean_ci`) of the replication-wise differences.

**Payback year** (:func:`payback_year`, applied to one cumulative series): the years at
the start in which the cumulative net is still zero (within :data:`ZERO_DKK`; before a
transition both scenarios are the same, and under common random numbers cost the same)
are skipped. If the first year that differs already has a cumulative net <= 0, NEW cost
no more from the start: it pays back *from* that year ("from year 1" when it differs from
the start; also when it never differs).
Otherwise the payback year is the first year at the end of which the cumulative net, after
having been > 0, is <= 0 again; if that does not happen within the horizon: "not within N
years". Later years are not looked at (a series that dips below zero and rises again has
paid back at the dip).

The business case reports
  * ``mean``: the payback year of the mean cumulative net;
  * ``latest``: the payback year of the upper 95 % bound of the cumulative net, i.e. the
    first year at the end of which the whole interval lies <= 0 (the cautious answer);
  * ``earliest``: the payback year of the lower 95 % bound, i.e. the first year in which
    the interval reaches 0 (the optimistic answer);
  * ``share``: the share of replications whose own cumulative series pays back within the
    horizon, and each replication's payback year;
  * ``ahead``: how many replications still have a cumulative net <= 0 at the end of the
    horizon (a replication that pays back by the first-crossing rule may cost more again
    later; this count shows it).

``earliest`` and ``latest`` come from pointwise intervals, year by year; they bracket the
payback year of the mean (but for contrived series with exact zeros), but are not a
confidence interval for the payback year in the strict sense.

Files written into the batch folder, beside the batch's own: ``business_case.csv`` (year,
component, mean, ci_low, ci_high; DKK), ``business_case.json`` (the payback, the sign
convention and the parameters of the case) and ``business_case.png`` (the figure).
:func:`sim.present.report.business_case_html` gives the report section of such a folder.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.constants import CONFIDENCE

"""The level of every interval (that of :func:`sim.results.stats.mean_ci`)."""
DEFAULT_YEARS = 8.0
DEFAULT_REPLICATIONS = 10
MILLION = 1e6
ZERO_DKK = 0.01
"""A cumulative net within this many DKK (one øre) of zero counts as zero: before a transition the
scenarios cost exactly the same under common random numbers."""

CSV_NAME = "business_case.csv"
JSON_NAME = "business_case.json"
PNG_NAME = "business_case.png"

COMPONENT_STEPS: dict[str, tuple[int, ...]] = {
    "extra_staff": (0,),
    "implementation": (-1,),
    "interventions": (1, 2),
    "placements": (3, 4, 5),
}
"""The yearly parts of the net, by the cost-table steps they sum."""

PARTS: tuple[str, ...] = tuple(COMPONENT_STEPS)
COMPONENTS: tuple[str, ...] = (*PARTS, "net", "cumulative_net")

LABELS: dict[str, str] = {
    "extra_staff": "extra staff cost",
    "implementation": "implementation cost",
    "interventions": "change in intervention spending (steps 1-2)",
    "placements": "change in placement spending (steps 3-5)",
    "net": "net (sum of the above)",
    "cumulative_net": "cumulative net",
}
SHORT_LABELS: dict[str, str] = {
    "extra_staff": "extra staff",
    "implementation": "implementation",
    "interventions": "interventions 1-2",
    "placements": "placements 3-5",
    "net": "net",
    "cumulative_net": "cumulative net",
}
COLORS: dict[str, str] = {
    "extra_staff": "#9e9e9e",  # grey, as staff in the cost figure
    "implementation": "#E69F00",  # orange
    "interventions": "#7fcdbb",  # teal, as home support
    "placements": "#225ea8",  # blue, as foster care
}
CUMULATIVE_COLOR = "#D55E00"

SIGN_CONVENTION = (
    "NEW - BASELINE in DKK, paired replication by replication: positive = extra cost of NEW, negative = saving"
)
PAYBACK_RULE = (
    "leading years without difference (|cumulative net| <= "
    f"{ZERO_DKK:g} DKK) are skipped; if the first year that differs has a cumulative net <= 0, it pays back "
    "from that year; otherwise in the first year at the end of which the cumulative net is <= 0 after having "
    "been > 0; mean: of the mean cumulative net; latest: of its upper 95 % bound (the "
    "whole interval <= 0); earliest: of its lower 95 % bound"
)


class BusinessCaseError(ValueError):
    """The business case cannot be made as asked; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- payback


@dataclass(frozen=True)
class Payback:
    """When a cumulative net series pays back: ``year`` (1-based) or ``None`` if not within
    the ``horizon``; ``immediate`` when the first year that differs already has a cumulative
    net <= 0 (NEW cost no more from the start: "from year N")."""

    year: int | None
    immediate: bool
    horizon: float

    @property
    def text(self) -> str:
        if self.year is None:
            return f"not within {self.horizon:g} years"
        return f"from year {self.year}" if self.immediate else f"year {self.year}"

    def to_dict(self) -> dict:
        return {"year": self.year, "immediate": self.immediate, "text": self.text}


def payback_year(cumulative, horizon: float | None = None, zero: float = ZERO_DKK) -> Payback:
    """The payback of one cumulative net series (index 0 = the end of year 1), by the rule
    of the module's docstring. ``horizon`` (default: the series' length) is only used in
    the text "not within N years"."""
    values = np.asarray(cumulative, dtype=float)
    horizon = float(len(values)) if horizon is None else float(horizon)
    if np.isnan(values).any():
        raise ValueError("payback_year: the cumulative series has missing values")
    differs = np.flatnonzero(np.abs(values) > zero)
    if differs.size == 0:  # no difference at all: never cost more
        return Payback(1 if len(values) else None, True, horizon)
    first = int(differs[0])
    if values[first] <= 0:  # the first year that differs already saves
        return Payback(first + 1, True, horizon)
    back = np.flatnonzero(values[first:] <= zero)
    if back.size == 0:
        return Payback(None, False, horizon)
    return Payback(first + int(back[0]) + 1, False, horizon)


# ----------------------------------------------------------------------------- the numbers


def yearly_differences(costs: pd.DataFrame, baseline: str, new: str) -> pd.DataFrame:
    """Per replication and year the paired differences NEW - BASELINE of every component,
    ``net`` and ``cumulative_net`` (DKK).

    ``costs`` is the ``costs`` table of a batch (``sim.experiments.batch.read_table(out, "costs")``):
    columns scenario, replication, year, step, cost_dkk. A category missing from a
    scenario's table counts as 0; the rows of a municipality split into districts (a
    ``district`` column) are summed. Only replications present for both scenarios are paired.
    """
    step_part = {step: part for part, steps in COMPONENT_STEPS.items() for step in steps}
    frame = costs[costs["scenario"].isin([baseline, new])].copy()
    unknown = sorted(set(frame["step"]) - set(step_part))
    if unknown:
        raise BusinessCaseError(f"costs: unknown cost step {unknown[0]}")
    frame["component"] = frame["step"].map(step_part)
    wide = frame.pivot_table(
        index=["scenario", "replication", "year"], columns="component", values="cost_dkk", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(PARTS), fill_value=0.0)
    if new not in wide.index.get_level_values(0) or baseline not in wide.index.get_level_values(0):
        missing = baseline if baseline not in wide.index.get_level_values(0) else new
        raise BusinessCaseError(f"costs: no cost table for scenario {missing!r}")
    a, b = wide.loc[new], wide.loc[baseline]
    index = a.index.intersection(b.index).sort_values()
    diff = (a.reindex(index) - b.reindex(index)).reset_index()
    diff["net"] = diff[list(PARTS)].sum(axis=1)
    diff = diff.sort_values(["replication", "year"], ignore_index=True)
    diff["cumulative_net"] = diff.groupby("replication")["net"].cumsum()
    diff.columns.name = None
    return diff


def summarise(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Per year and component: mean and 95 % interval over replications (long format:
    year, component, mean, ci_low, ci_high)."""
    from sim.results.stats import mean_ci

    rows = []
    for year, group in per_replication.groupby("year", sort=True):
        for component in COMPONENTS:
            mean, low, high, _ = mean_ci(group[component].to_numpy(), CONFIDENCE)
            rows.append({"year": int(year), "component": component, "mean": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["year", "component", "mean", "ci_low", "ci_high"])


def payback_summary(per_replication: pd.DataFrame, table: pd.DataFrame, horizon: float) -> dict:
    """The payback of the mean cumulative net, its earliest and latest year from the 95 %
    band, and each replication's payback (see the module docstring)."""
    cumulative = table[table["component"] == "cumulative_net"].sort_values("year")
    per_rep = {
        int(r): payback_year(g.sort_values("year")["cumulative_net"], horizon)
        for r, g in per_replication.groupby("replication")
    }
    paying = [p for p in per_rep.values() if p.year is not None]
    at_end = per_replication.sort_values("year").groupby("replication")["cumulative_net"].last()
    ahead = int((at_end <= ZERO_DKK).sum())
    return {
        "mean": payback_year(cumulative["mean"], horizon).to_dict(),
        "earliest": payback_year(cumulative["ci_low"], horizon).to_dict(),
        "latest": payback_year(cumulative["ci_high"], horizon).to_dict(),
        "replications": len(per_rep),
        "replications_paying_back": len(paying),
        "share_paying_back": len(paying) / len(per_rep) if per_rep else math.nan,
        "per_replication": {str(r): p.year for r, p in sorted(per_rep.items())},
        "replications_ahead_at_horizon": ahead,  # cumulative net <= 0 at the end of the last year
        "cumulative_net_at_horizon": {
            "mean": float(cumulative["mean"].iloc[-1]),
            "ci_low": float(cumulative["ci_low"].iloc[-1]),
            "ci_high": float(cumulative["ci_high"].iloc[-1]),
        },
    }


@dataclass
class BusinessCase:
    """A business case: the yearly differences of every replication, their summary and
    the payback; ``out`` is the batch folder it was written to (if any)."""

    baseline: str
    new: str
    years: float
    per_replication: pd.DataFrame  # replication, year, extra_staff, ..., net, cumulative_net (DKK)
    table: pd.DataFrame  # year, component, mean, ci_low, ci_high (DKK)
    payback: dict
    seed: int | None = None
    out: Path | None = None

    @property
    def replications(self) -> int:
        return int(self.per_replication["replication"].nunique())

    def info(self) -> dict:
        """What ``business_case.json`` holds."""
        return {
            "baseline": self.baseline,
            "new": self.new,
            "years": self.years,
            "replications": self.replications,
            "seed": self.seed,
            "confidence": CONFIDENCE,
            "unit": "DKK",
            "sign_convention": SIGN_CONVENTION,
            "components": {c: LABELS[c] for c in COMPONENTS},
            "payback_rule": PAYBACK_RULE,
            "payback": self.payback,
        }

    def text(self) -> str:
        return business_case_text(self.table, self.info())

    def write(self, folder: str | Path) -> None:
        """Write ``business_case.csv`` and ``.json`` into ``folder`` (each atomically); the
        figure, ``business_case.png``, is the presentation's
        (:func:`sim.present.business.write_business_case_figure`)."""
        from sim.storage.output import atomic_write_csv, atomic_write_json

        folder = Path(folder)
        atomic_write_csv(folder / CSV_NAME, self.table)
        atomic_write_json(folder / JSON_NAME, self.info())


def business_case_from_costs(
    costs: pd.DataFrame, baseline: str, new: str, years: float | None = None, seed: int | None = None
) -> BusinessCase:
    """The business case from a batch's ``costs`` table (see :func:`yearly_differences`);
    ``years`` is the horizon (default: the number of measured years in the table)."""
    per_replication = yearly_differences(costs, baseline, new)
    if per_replication.empty:
        raise BusinessCaseError("costs: no replication has costs for both scenarios")
    horizon = float(per_replication["year"].max()) if years is None else float(years)
    table = summarise(per_replication)
    return BusinessCase(
        baseline, new, horizon, per_replication, table, payback_summary(per_replication, table, horizon), seed
    )


def run_business_case(
    baseline_entry,
    new_entry,
    years: float = DEFAULT_YEARS,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = 1,
    workers: int | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    command: list[str] | None = None,
    force: bool = False,
) -> BusinessCase:
    """Run BASELINE and NEW as one batch (common random numbers, tables written) into
    ``out`` (default ``outputs/business-case-<timestamp>/``), make the business case from
    the costs tables, write its data files into the same folder and return it.

    The entries are :class:`sim.experiments.batch.ScenarioEntry` objects, or scenario files or shipped
    names. ``years`` is the measured horizon (``BatchSpec.years``); at least two
    replications are needed for the intervals.
    """
    from sim.experiments.batch import BatchSpec, ScenarioEntry, read_table, run_batch, scenario_entry

    entries = [e if isinstance(e, ScenarioEntry) else scenario_entry(e) for e in (baseline_entry, new_entry)]
    if replications < 2:
        raise BusinessCaseError(f"replications: must be >= 2 for confidence intervals, got {replications}")
    spec = BatchSpec(scenarios=entries, replications=replications, seed=seed, years=float(years), crn=True, force=force)
    if workers is not None:
        spec.workers = workers
    spec.check()
    out = Path(out) if out is not None else default_out()
    run_batch(spec, out, progress=progress, command=command)
    case = business_case_from_costs(read_table(out, "costs"), entries[0].name, entries[1].name, float(years), seed)
    case.out = out
    case.write(out)
    return case


def default_out() -> Path:
    return Path("outputs") / f"business-case-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


# ----------------------------------------------------------------------------- files


def load_business_case(folder: str | Path) -> tuple[pd.DataFrame, dict] | None:
    """``(table, info)`` of the business case in ``folder``, or ``None`` if it has none."""
    folder = Path(folder)
    if not ((folder / CSV_NAME).is_file() and (folder / JSON_NAME).is_file()):
        return None
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    table = pd.read_csv(folder / CSV_NAME, **exact)
    info = json.loads((folder / JSON_NAME).read_text(encoding="utf-8"))
    return table, info


# ----------------------------------------------------------------------------- presentation


def wide_table(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of the business case's table as years x components."""
    return table.pivot(index="year", columns="component", values=column).reindex(columns=list(COMPONENTS))


def _m(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value / MILLION:.2f}"
    return "0.00" if text == "-0.00" else text


def interval_text(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` in million DKK (the mean alone without an interval)."""
    if isinstance(low, float) and math.isnan(low):
        return _m(mean)
    return f"{_m(mean)} [{_m(low)}, {_m(high)}]"


def payback_text(info: dict) -> str:
    """The payback line: of the mean, its 95 % band, and how many replications pay back."""
    p = info["payback"]
    share = p.get("share_paying_back")
    share_text = "" if share is None else f" ({100 * share:.0f} %)"
    return (
        f"payback: {p['mean']['text']} (95 % band: earliest {p['earliest']['text']}, latest {p['latest']['text']}); "
        f"{p['replications_paying_back']} of {p['replications']} replications{share_text} pay back within "
        f"{info['years']:g} years"
        + (
            f", {p['replications_ahead_at_horizon']} of {p['replications']} are still paid back at the end"
            if "replications_ahead_at_horizon" in p
            else ""
        )
    )


def year_label(year: int, horizon: float) -> str:
    """The year's label, starred when the horizon ends within it."""
    return f"{year}*" if horizon < year - 1e-9 else str(year)


def business_case_text(table: pd.DataFrame, info: dict) -> str:
    """The printed business case: one row per year, every component as mean [95 % interval]
    in million DKK, then the payback line."""
    mean, low, high = wide_table(table, "mean"), wide_table(table, "ci_low"), wide_table(table, "ci_high")
    header = ["year", *(SHORT_LABELS[c] for c in COMPONENTS)]
    rows = [
        [year_label(int(y), info["years"])]
        + [interval_text(mean.at[y, c], low.at[y, c], high.at[y, c]) for c in COMPONENTS]
        for y in mean.index
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    partial = any("*" in r[0] for r in rows)
    return "\n".join(
        [
            f"Business case: {info['new']} against {info['baseline']}, {info['years']:g} measured years, "
            f"{info['replications']} replications (common random numbers), seed {info['seed']}",
            "million DKK per year, NEW - BASELINE: positive = extra cost of NEW, negative = saving; "
            "mean [95 % interval]" + (" (* = part of a year)" if partial else ""),
            "",
            *lines,
            "",
            payback_text(info),
        ]
    )


__all__ = [
    "BusinessCase",
    "BusinessCaseError",
    "Payback",
    "business_case_from_costs",
    "business_case_text",
    "load_business_case",
    "payback_year",
    "run_business_case",
    "yearly_differences",
]
