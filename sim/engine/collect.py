"""A finished model's result: its columnar buffers turned into the result's tables, times
relative to the start of measurement, and the summary (the engine's side of :mod:`sim.results`,
which knows nothing of the model)."""

from __future__ import annotations

import pandas as pd

from sim.constants import DAYS_PER_YEAR, STEP_NAMES
from sim.engine.model import EVENTS, Model
from sim.results import indicators as ind
from sim.results.result import Result, summarize


def build_result(m: Model) -> Result:
    """Turn the model's columnar buffers into tables and compute the summary."""
    s = m.initial_scenario
    tables = model_tables(m)
    summary = summarize(tables, s, m.measured_days, s.municipality.children, s.name)
    # The tables fill the DataFrame fields; mypy cannot tell that ``**tables`` leaves ``stats`` alone.
    return Result(scenario=s, seed=m.seed, measured_days=m.measured_days, summary=summary, **tables)  # type: ignore[arg-type]


def model_tables(m: Model) -> dict[str, pd.DataFrame]:
    """The tables of one model run, times relative to the start of measurement."""
    s = m.initial_scenario  # prices and indicator definitions: the municipality's, whatever the policy
    rec = m.rec
    w = m.warmup_days
    end = m.measured_days

    events = rec.events.frame()
    done = rec.followups.frame()
    followup_events = pd.DataFrame(
        {
            "time_days": done["done_day"],
            "child": done["child"],
            "case": done["case"],
            "event": EVENTS.index("followup"),
            "step": done["step"],
            "caseworker": done["caseworker"],
        }
    )
    # A follow-up comes before what it decides at the same moment (a move, a closing).
    events = pd.concat([followup_events, events], ignore_index=True)
    events = events.sort_values("time_days", kind="stable", ignore_index=True)
    # pandas-stubs take only an Index as categories; pandas takes any list-like.
    events["event"] = pd.Categorical.from_codes(events["event"], categories=list(EVENTS))  # type: ignore[call-overload]
    events = events[events["time_days"] >= w].reset_index(drop=True)
    events["time_days"] -= w

    notifications = rec.notifications.frame(m.pending_notifications())
    notifications = notifications[notifications["time_days"] >= w].sort_values("notification").reset_index(drop=True)
    notifications["time_days"] -= w

    spells = rec.spells.frame(m.open_spells())
    spells["start_day"] -= w
    spells["end_day"] -= w
    spells = spells[spells["end_day"].isna() | (spells["end_day"] >= 0)].reset_index(drop=True)
    spells["censored"] = spells["end_day"].isna()
    spells["duration_days"] = spells["end_day"].fillna(end) - spells["start_day"]
    spells["left_truncated"] = spells["start_day"] < 0
    spells["step_name"] = spells["step"].map(lambda k: STEP_NAMES[k - 1])
    spells = spells.sort_values(["start_day", "child"], kind="stable").reset_index(drop=True)
    placements = ind.stays(spells[spells["step"] >= 3])
    placements["placement_type"] = placements["step"].map(ind.PLACEMENT_TYPES)

    followups = rec.followups.frame(m.overdue_followups())
    for col in ("due_day", "done_day", "previous_day"):
        followups[col] -= w
    followups = followups[followups["done_day"].fillna(end) >= 0].reset_index(drop=True)
    followups["delay_days"] = followups["done_day"] - followups["due_day"]
    followups["interval_days"] = followups["done_day"] - followups["previous_day"]

    investigations = rec.investigations.frame()
    investigations = investigations[investigations["done_day"] >= w].reset_index(drop=True)
    investigations["notified_day"] -= w
    investigations["done_day"] -= w
    investigations["duration_days"] = investigations["done_day"] - investigations["notified_day"]
    investigations["within_deadline"] = investigations["duration_days"] <= s.hours.investigation_deadline_days

    contacts = rec.contacts.frame()
    contacts["notified_day"] -= w
    contacts["contact_day"] = contacts.pop("first_contact_day") - w
    contacts = contacts[contacts["notified_day"] >= 0].reset_index(drop=True)

    caseload = rec.caseload.frame()
    caseload["time_days"] -= w
    hours = rec.hours.frame()
    hours["time_days"] -= w
    ladder = rec.ladder.frame()
    ladder["time_days"] -= w
    stock = rec.stock.frame(m.end_stock())  # the open cases on the ladder when the run ends
    stock["step_start_day"] -= w
    known = rec.known.frame(m.end_known())  # the children known from closed cases when the run ends
    ladder["step_name"] = ladder["step"].map(lambda k: STEP_NAMES[k - 1])

    staff = [(day - w, caseworkers + desk) for day, caseworkers, desk in m.staff_timeline]
    step_costs = [s.ladder.step(k).cost_dkk_per_year for k in range(1, 6)]
    imp = s.implementation
    implementation = (imp.cost_dkk, imp.start_years * DAYS_PER_YEAR, imp.spread_years * DAYS_PER_YEAR)
    costs = ind.cost_table(spells, end, step_costs, staff, s.staffing.cost_dkk_per_year, implementation)

    return {
        "events": events,
        "notifications": notifications,
        "spells": spells,
        "placements": placements,
        "followups": followups,
        "investigations": investigations,
        "contacts": contacts,
        "caseload": caseload,
        "hours": hours,
        "ladder": ladder,
        "stock": stock,
        "known": known,
        "costs": costs,
    }
