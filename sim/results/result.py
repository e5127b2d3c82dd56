"""The results of one replication: tidy tables and the summary of indicators."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sim.constants import DAYS_PER_YEAR
from sim.params import Scenario
from sim.results import indicators as ind

TABLES: tuple[str, ...] = (
    "events",
    "notifications",
    "spells",
    "placements",
    "followups",
    "investigations",
    "contacts",
    "caseload",
    "hours",
    "ladder",
    "stock",
    "known",
    "costs",
)
"""The tables of a result, in the order they are written."""


@dataclass
class Result:
    """One replication. Times are days since measurement started (after the warm-up);
    spells that began earlier have a negative ``start_day``."""

    scenario: Scenario
    seed: int | list[int]
    measured_days: float
    summary: pd.Series
    events: pd.DataFrame
    notifications: pd.DataFrame
    spells: pd.DataFrame
    placements: pd.DataFrame
    followups: pd.DataFrame
    investigations: pd.DataFrame
    contacts: pd.DataFrame
    caseload: pd.DataFrame
    hours: pd.DataFrame
    ladder: pd.DataFrame
    stock: pd.DataFrame
    known: pd.DataFrame
    costs: pd.DataFrame
    stats: dict[str, float | None] = field(default_factory=dict)  # run statistics (seconds, SimPy events)
    districts: pd.DataFrame | None = None  # one row of indicators per district, for a split municipality

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


def summarize(tables: dict[str, pd.DataFrame], s: Scenario, end: float, children: int, name: str) -> pd.Series:
    """The summary indicators of a set of tables (one replication, one or more districts)."""
    values: dict[str, float] = {}
    values.update(ind.caseload_indicators(tables["caseload"]))
    values.update(ind.hours_indicators(tables["hours"]))
    values.update(
        ind.intake_indicators(
            tables["notifications"],
            tables["investigations"],
            tables["contacts"],
            end,
            s.hours.investigation_deadline_days,
        )
    )
    values.update(
        ind.followup_indicators(tables["followups"], s.followup.on_time_grace_days, s.followup.legal_interval_days)
    )
    values.update(ind.first_followup_indicators(tables["spells"], tables["followups"], end))
    values.update(ind.placement_indicators(tables["placements"], end, children))
    values.update(ind.care_turnover_indicators(tables["placements"], end))
    values.update(ind.cost_indicators(tables["costs"], end))
    values.update(ind.decision_indicators(tables["events"], tables["spells"], end))
    served = (
        tables["events"]["child"].nunique()
        if "district" not in tables["events"]
        else len(tables["events"][["district", "child"]].drop_duplicates())
    )
    years = end / DAYS_PER_YEAR
    values["children_served"] = float(served)
    values["cost_per_child_served"] = values["cost_total_per_year"] * years / served if served else float("nan")
    ordered = list(ind.SUMMARY_NAMES) + sorted(set(values) - set(ind.SUMMARY_NAMES))
    return pd.Series({key: values[key] for key in ordered}, name=name, dtype=float)
