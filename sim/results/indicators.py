"""Summary indicators: pure functions of the result tables (docs/conceptual-model.md §4).

Every function takes tidy tables whose times are days since the start of measurement
and returns numbers; they are tested on small hand-made tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.constants import AGED_OUT, DAYS_PER_YEAR, STEP_NAMES, TASK_KINDS

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

PLACEMENT_TYPES = {3: "kinship", 4: "foster", 5: "institution"}

SUMMARY_NAMES: tuple[str, ...] = (
    "mean_caseload_cases",
    "p90_caseload_cases",
    "mean_caseload_points",
    "waiting_list_mean",
    "caseworker_utilisation",
    "notifications_per_year",
    "investigations_within_deadline_share",
    "mean_days_to_first_contact",
    "followup_on_time_share",
    "followup_within_legal_share",
    "mean_followup_interval_days",
    "placements_per_year",
    "placement_share_kinship",
    "placement_share_foster",
    "placement_share_institution",
    "median_placement_days_kinship",
    "median_placement_days_foster",
    "median_placement_days_institution",
    "replacement_share",
    "care_left_within_year_share",
    "care_type_change_share",
    "children_in_care_mean",
    "cost_total_per_year",
    "cost_placements_per_year",
    "cost_staff_per_year",
    "cost_share_steps_1_2",
    "cost_share_step_5",
)
"""The indicators every summary carries, by these exact names (more may follow)."""


def unit_of(indicator: str) -> str:
    """The unit an indicator's name implies, as it is shown (shares in per cent, costs in
    million DKK a year)."""
    if "_share" in indicator:
        return "%"
    if indicator.startswith("cost_"):
        return "M DKK/yr"
    if "_days" in indicator:
        return "days"
    if indicator.endswith("_per_1000_children_per_year"):
        return "per 1,000/yr"
    if indicator.endswith("_per_1000"):
        return "per 1,000"
    if indicator.endswith("_per_year"):
        return "per year"
    if "caseload_points" in indicator:
        return "points"
    if "caseload" in indicator:
        return "cases"
    if indicator.startswith("children_") or indicator.startswith("waiting_list"):
        return "children" if indicator.startswith("children_") else "cases"
    return ""


def format_value(indicator: str, value: float) -> str:
    """``value`` in the unit of :func:`unit_of` (a share as per cent, a cost in million DKK),
    rounded for reading; ``-`` for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    unit = unit_of(indicator)
    if unit == "%":
        return f"{100 * value:.1f}"
    if unit == "M DKK/yr":
        return f"{value / 1e6:.1f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def kaplan_meier(durations: ArrayLike, observed: ArrayLike) -> pd.DataFrame:
    """The Kaplan-Meier survival curve: columns ``time``, ``at_risk``, ``events``, ``survival``.

    ``observed`` is False for a censored duration. Censored durations tied with events
    count as at risk at that time (the usual convention).
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if d.size == 0:
        return pd.DataFrame({"time": [], "at_risk": [], "events": [], "survival": []})
    times = np.unique(d[e])
    at_risk = np.array([(d >= t).sum() for t in times])
    events = np.array([((d == t) & e).sum() for t in times])
    survival = np.cumprod(1.0 - events / at_risk)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events, "survival": survival})


def km_median(durations: ArrayLike, observed: ArrayLike, curve: pd.DataFrame | None = None) -> float:
    """The Kaplan-Meier median: the first time the survival falls to 0.5 or below
    (NaN when it never does, as with heavy censoring). ``curve``: the curve, if at hand."""
    curve = kaplan_meier(durations, observed) if curve is None else curve
    hit = curve[curve["survival"] <= 0.5 + 1e-12]
    return float(hit["time"].iloc[0]) if len(hit) else math.nan


def km_restricted_mean(durations: ArrayLike, observed: ArrayLike, curve: pd.DataFrame | None = None) -> float:
    """The restricted mean of the Kaplan-Meier curve: the area under it up to the longest
    duration seen (censoring-aware, unlike the mean of the finished durations; NaN without
    durations). ``curve``: the curve, if at hand."""
    d = np.asarray(durations, dtype=float)
    if d.size == 0:
        return math.nan
    curve = kaplan_meier(d, observed) if curve is None else curve
    times = np.concatenate([[0.0], curve["time"].to_numpy(), [d.max()]])
    survival = np.concatenate([[1.0], curve["survival"].to_numpy()])
    return float(np.sum(np.diff(times) * survival))


def km_survival_at(
    durations: pd.Series[Any] | np.ndarray | Sequence[float],
    observed: ArrayLike,
    days: float,
    curve: pd.DataFrame | None = None,
) -> float:
    """The Kaplan-Meier estimate of the share of spells that last longer than ``days``
    (censoring-aware; NaN without spells). ``curve``: the curve, if at hand."""
    if len(durations) == 0:
        return math.nan
    curve = kaplan_meier(durations, observed) if curve is None else curve
    before = curve[curve["time"] <= days]
    return float(before["survival"].iloc[-1]) if len(before) else 1.0


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else math.nan


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def caseload_indicators(caseload: pd.DataFrame) -> dict[str, float]:
    # The waiting list is one number per snapshot (and district): sum the districts.
    keys = ["time_days", "district"] if "district" in caseload else ["time_days"]
    per_time = caseload.drop_duplicates(keys).groupby("time_days", as_index=False)["waiting_list"].sum()
    return {
        "mean_caseload_cases": _mean(caseload["cases"]),
        "p90_caseload_cases": float(np.percentile(caseload["cases"], 90)) if len(caseload) else math.nan,
        "mean_caseload_points": _mean(caseload["points"]),
        "waiting_list_mean": _mean(per_time["waiting_list"]),
    }


def decision_indicators(events: pd.DataFrame, spells: pd.DataFrame, measured_days: float) -> dict[str, float]:
    """How the ladder moved: moves down and planned moves out of an institution made, plans
    dropped (not started before the next follow-up), moves down deferred (wait and see), per year."""
    years = measured_days / DAYS_PER_YEAR
    event = events["event"]  # compared as it is: the log's categorical, without a copy as text
    ended = spells.loc[spells["end_day"].notna() & (spells["end_day"] >= 0), "end_reason"]
    return {
        "moves_down_per_year": float(ended.isin(["step_down", "planned_move"]).sum() / years),
        "planned_moves_per_year": float((ended == "planned_move").sum() / years),
        "plans_dropped_per_year": float((event == "plan_dropped").sum() / years),
        "moves_down_deferred_per_year": float((event == "step_down_deferred").sum() / years),
    }


def hours_indicators(hours: pd.DataFrame) -> dict[str, float]:
    """Caseworker utilisation: the share of the district caseworkers' casework hours used, in
    all (``caseworker_utilisation``: standing hours of the open cases plus task hours done; above
    1 when the standing work of the caseload no longer fits beside the least share of hours that
    always goes to tasks) and by kind (``hours_share_<kind>``, standing hours included)."""
    available = float(hours["available_hours"].sum()) if len(hours) else 0.0
    out: dict[str, float] = {}
    used = 0.0
    for kind in ("standing", *TASK_KINDS):
        total = float(hours[f"{kind}_hours"].sum()) if len(hours) else 0.0
        used += total
        out[f"hours_share_{kind}"] = total / available if available else math.nan
    out["caseworker_utilisation"] = used / available if available else math.nan
    return out


def intake_indicators(
    notifications: pd.DataFrame,
    investigations: pd.DataFrame,
    contacts: pd.DataFrame,
    measured_days: float,
    deadline_days: float,
) -> dict[str, float]:
    years = measured_days / DAYS_PER_YEAR
    notes = notifications[notifications["source"] == "notification"]
    first = contacts.groupby("case").agg(notified_day=("notified_day", "first"), contact=("contact_day", "min"))
    first = first[first["notified_day"] >= 0]
    by_caseworker = contacts[(contacts["by"] == "caseworker") & (contacts["notified_day"] >= 0)]
    return {
        "notifications_per_year": len(notes) / years,
        "applications_per_year": float((notifications["source"] == "application").sum()) / years,
        "investigations_per_year": len(investigations) / years,
        "investigations_within_deadline_share": _share(
            investigations["done_day"] - investigations["notified_day"] <= deadline_days
        ),
        "mean_days_to_first_contact": _mean(first["contact"] - first["notified_day"]),
        "mean_days_to_caseworker_contact": _mean(by_caseworker["contact_day"] - by_caseworker["notified_day"]),
        "screened_out_share": _share(notes["outcome"] == "screened_out"),
    }


def followup_indicators(followups: pd.DataFrame, grace_days: float, legal_days: float) -> dict[str, float]:
    delay = followups["done_day"] - followups["due_day"]
    interval = followups["done_day"] - followups["previous_day"]
    done = followups["done_day"].notna()
    return {
        "followup_on_time_share": _share(delay.le(grace_days) & done),
        "followup_within_legal_share": _share(interval.le(legal_days) & done),
        "mean_followup_interval_days": _mean(interval[done]),
        "mean_followup_delay_days": _mean(delay[done]),
    }


FIRST_FOLLOWUP_DAYS = DAYS_PER_YEAR / 4
"""The legal limit for the first follow-up of a measure: within 3 months of its start (Serviceloven
section 70; docs/sources.md)."""


def first_followup_indicators(spells: pd.DataFrame, followups: pd.DataFrame, measured_days: float) -> dict[str, float]:
    """``first_followup_within_3_months_share``: of the measures begun in the measured years
    that ran at least 3 months (a spell on a step of the ladder, ended since or still running),
    the share followed up within 3 months of their start: the figure Ankestyrelsen's
    Børnesagsbarometret reads from case files. A measure that ended sooner, or is still running
    with its 3 months not over at the end of the run, is left out; one that ran 3 months without
    a follow-up counts as late, whether its follow-up came later or never did."""
    keys = ["district", "case"] if "district" in spells and "district" in followups else ["case"]
    begun = spells[(spells["start_day"] >= 0) & (spells["step"] > 0)]
    ran = begun["end_day"].fillna(measured_days) - begun["start_day"] >= FIRST_FOLLOWUP_DAYS
    measures = begun.loc[ran, [*keys, "start_day"]]
    done = followups.loc[followups["done_day"].notna(), [*keys, "previous_day", "done_day"]]
    first = measures.merge(done, how="left", left_on=[*keys, "start_day"], right_on=[*keys, "previous_day"])
    on_time = (first["done_day"] - first["start_day"]).le(FIRST_FOLLOWUP_DAYS)
    return {"first_followup_within_3_months_share": _share(on_time)}


def placement_indicators(placements: pd.DataFrame, measured_days: float, children: int) -> dict[str, float]:
    years = measured_days / DAYS_PER_YEAR
    started = placements[placements["start_day"] >= 0]
    entries = started[started["entry"]]
    out: dict[str, float] = {
        "placements_per_year": len(entries) / years,
        "placements_per_1000_children_per_year": len(entries) / years / children * 1000,
    }
    for step, name in PLACEMENT_TYPES.items():
        of_type = started[started["step"] == step]
        out[f"placement_share_{name}"] = len(of_type) / len(started) if len(started) else math.nan
        durations, observed = of_type["duration_days"], ~of_type["censored"]
        curve = kaplan_meier(durations, observed)
        out[f"median_placement_days_{name}"] = km_median(durations, observed, curve)
        out[f"mean_placement_days_{name}"] = km_restricted_mean(durations, observed, curve)
        out[f"placement_over_1y_share_{name}"] = km_survival_at(durations, observed, DAYS_PER_YEAR, curve)
    out["replacement_share"] = _share(entries["replacement"])
    in_window = _overlap_days(placements, 0.0, measured_days)
    out["children_in_care_mean"] = float(in_window.sum() / measured_days)
    out["children_in_care_per_1000"] = out["children_in_care_mean"] / children * 1000
    for step, name in PLACEMENT_TYPES.items():
        total = in_window.sum()
        out[f"care_days_share_{name}"] = (
            float(in_window[placements["step"] == step].sum() / total) if total else math.nan
        )
    return out


def stays(spells: pd.DataFrame) -> pd.DataFrame:
    """Placement *stays*: consecutive spells of one case on the same step (the end of one the
    start of the next) merged into one, so that a stay is never split by an administrative
    event (docs/conceptual-model.md §3: "a stay is never split by an administrative move and
    back"). The merged row keeps the first spell's start and flags and the last spell's end."""
    if spells.empty:
        return spells.reset_index(drop=True)
    df = spells.sort_values(["case", "start_day"], kind="stable")
    case, step = df["case"].to_numpy(), df["step"].to_numpy()
    start, end = df["start_day"].to_numpy(), df["end_day"].to_numpy()
    continues = np.zeros(len(df), dtype=bool)
    continues[1:] = (case[1:] == case[:-1]) & (step[1:] == step[:-1]) & (np.abs(start[1:] - end[:-1]) < 1e-9)
    if not continues.any():
        return spells.reset_index(drop=True)
    first_rows = np.flatnonzero(~continues)
    last_rows = np.append(first_rows[1:] - 1, len(df) - 1)
    merged = df.iloc[first_rows].reset_index(drop=True)
    last = df.iloc[last_rows].reset_index(drop=True)
    for column in ("end_day", "end_reason", "censored"):
        if column in df:
            merged[column] = last[column].to_numpy()
    if "duration_days" in df:
        merged["duration_days"] = (last["start_day"] + last["duration_days"] - merged["start_day"]).to_numpy()
    return merged.sort_values(["start_day", "child"], kind="stable").reset_index(drop=True)


def care_episodes(placements: pd.DataFrame) -> pd.DataFrame:
    """Continuous time in care of one case: its placement stays that follow each other without
    a return home, with the number of stays (so changes of placement type) in each, and why
    the last one ended (``end_reason``, where the placements have it)."""
    cols = ["case", "child", "start_day", "end_day", "stays", "end_reason"]
    if placements.empty:
        return pd.DataFrame(columns=cols)
    df = placements.sort_values(["case", "start_day"], kind="stable")
    case, start, end = df["case"].to_numpy(), df["start_day"].to_numpy(), df["end_day"].to_numpy()
    continues = np.zeros(len(df), dtype=bool)
    continues[1:] = (case[1:] == case[:-1]) & (np.abs(start[1:] - end[:-1]) < 1e-9)
    first = np.flatnonzero(~continues)
    last = np.append(first[1:] - 1, len(df) - 1)  # (pandas' last() would skip a missing end)
    return pd.DataFrame(
        {
            "case": case[first],
            "child": df["child"].to_numpy()[first],
            "start_day": start[first],
            "end_day": end[last],
            "stays": last - first + 1,
            "end_reason": df["end_reason"].to_numpy()[last] if "end_reason" in df else None,
        }
    )


def care_turnover_indicators(placements: pd.DataFrame, measured_days: float) -> dict[str, float]:
    """Two of Danmarks Statistik's figures, per whole measured year and averaged over the years:
    the share of the children in care on its first day who have left care by its last
    (``care_left_within_year_share``), the share of the children in care the whole year
    whose placement type changed within it (``care_type_change_share``), and, derived from the
    same statistics, the share of the year's new entries into care that have left again by its
    last day (``care_entries_left_within_year_share``).

    Turning 18 is not counted as leaving: a child whose care ends at 18 within the year is in
    neither count. The statistic counts the placed children and young people aged 0-22, and a
    young person in care at 18 may stay on (efterværn); the model does not follow care after 18
    (docs/conceptual-model.md §3.9), so an end at 18 is the edge of the model, not a leaving of
    care in the statistic's sense (docs/sources.md)."""
    episodes = care_episodes(placements)
    years = int(measured_days // DAYS_PER_YEAR + 1e-9)
    if episodes.empty or years < 1:
        return {
            "care_left_within_year_share": math.nan,
            "care_type_change_share": math.nan,
            "care_entries_left_within_year_share": math.nan,
        }
    stays_start = placements["start_day"].to_numpy()
    stays_case = placements["case"].to_numpy()
    left, present, changed, all_year, entered, entered_left = 0, 0, 0, 0, 0, 0
    start = episodes["start_day"].to_numpy()
    end = episodes["end_day"].fillna(np.inf).to_numpy()
    aged_out = (episodes["end_reason"] == AGED_OUT).to_numpy()
    for k in range(years):
        y0, y1 = k * DAYS_PER_YEAR, (k + 1) * DAYS_PER_YEAR
        in_care = (start <= y0) & (end > y0) & ~(aged_out & (end <= y1))
        present += int(in_care.sum())
        left += int((in_care & (end <= y1)).sum())
        entry = (start > y0) & (start < y1) & ~(aged_out & (end <= y1))
        entered += int(entry.sum())
        entered_left += int((entry & (end <= y1)).sum())
        whole = (start <= y0) & (end >= y1)
        all_year += int(whole.sum())
        cases = set(episodes.loc[whole, "case"].tolist())
        new_stays = (stays_start > y0) & (stays_start < y1) & np.isin(stays_case, list(cases))
        changed += len(set(stays_case[new_stays].tolist()))
    return {
        "care_left_within_year_share": left / present if present else math.nan,
        "care_type_change_share": changed / all_year if all_year else math.nan,
        "care_entries_left_within_year_share": entered_left / entered if entered else math.nan,
    }


def _overlap_days(spells: pd.DataFrame, start: float, end: float) -> pd.Series:
    spell_end = spells["end_day"].fillna(end).clip(upper=end)
    spell_start = spells["start_day"].clip(lower=start)
    return (spell_end - spell_start).clip(lower=0.0)


def _staff_days(staff: float | Sequence[tuple[float, float]], y0: float, y1: float) -> float:
    """Person-days of staff between days ``y0`` and ``y1``: ``staff`` is a headcount, or a
    timeline of (day, headcount) changes (the first from day 0 or before)."""
    if isinstance(staff, int | float):
        return staff * (y1 - y0)
    total = 0.0
    for i, (day, count) in enumerate(staff):
        until = staff[i + 1][0] if i + 1 < len(staff) else math.inf
        total += count * max(0.0, min(until, y1) - max(day, y0))
    return total


def cost_table(
    spells: pd.DataFrame,
    measured_days: float,
    cost_dkk_per_year_by_step: Sequence[float],
    staff: float | Sequence[tuple[float, float]],
    staff_cost_dkk_per_year: float,
    implementation: tuple[float, float, float] | None = None,
) -> pd.DataFrame:
    """Costs per measured year and category, in DKK: the ladder steps (1-5), staff (0) and a
    one-off implementation cost (-1) given as (DKK, start day, days it is spread over).

    ``staff`` is a constant headcount or a timeline of (day, headcount)."""
    rows = []
    n_years = max(1, math.ceil(measured_days / DAYS_PER_YEAR - 1e-9))
    starts = spells["start_day"].to_numpy(dtype=float)
    ends = spells["end_day"].to_numpy(dtype=float)
    on_step = [spells["step"].to_numpy() == step for step in range(1, len(STEP_NAMES) + 1)]
    for k in range(n_years):
        y0 = k * DAYS_PER_YEAR
        y1 = min((k + 1) * DAYS_PER_YEAR, measured_days)
        days = np.maximum(np.minimum(np.where(np.isnan(ends), y1, ends), y1) - np.maximum(starts, y0), 0.0)
        for step, name in enumerate(STEP_NAMES, start=1):
            cost = float(days[on_step[step - 1]].sum()) / DAYS_PER_YEAR * cost_dkk_per_year_by_step[step - 1]
            rows.append((k + 1, step, name, cost))
        rows.append((k + 1, 0, "staff", _staff_days(staff, y0, y1) * staff_cost_dkk_per_year / DAYS_PER_YEAR))
        if implementation is not None:
            amount, start, spread = implementation
            share = max(0.0, min(y1, start + spread) - max(y0, start)) / spread
            rows.append((k + 1, -1, "implementation", amount * share))
    return pd.DataFrame(rows, columns=["year", "step", "category", "cost_dkk"])


def cost_indicators(costs: pd.DataFrame, measured_days: float) -> dict[str, float]:
    years = measured_days / DAYS_PER_YEAR
    by_step = costs.groupby("step")["cost_dkk"].sum()
    measures = by_step[by_step.index > 0].sum()
    return {
        "cost_total_per_year": float(by_step.sum() / years),
        "cost_placements_per_year": float(by_step.reindex([3, 4, 5]).fillna(0).sum() / years),
        "cost_interventions_per_year": float(by_step.reindex([1, 2]).fillna(0).sum() / years),
        "cost_measures_per_year": float(measures / years),
        "cost_staff_per_year": float(by_step.get(0, 0.0) / years),
        "cost_implementation_per_year": float(by_step.get(-1, 0.0) / years),
        "cost_share_steps_1_2": float(by_step.reindex([1, 2]).fillna(0).sum() / measures) if measures else math.nan,
        "cost_share_step_5": float(by_step.get(5, 0.0) / measures) if measures else math.nan,
    }
