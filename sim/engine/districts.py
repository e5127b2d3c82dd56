"""Districts (issue 5): a municipality split into districts, each with its own staffing
and policy, sharing nothing but the placement market, in one run.

The placement market has no capacity limit in the model, so the districts do not
interact: each runs as its own model on its share of the children, with its own random
streams (``[*seed, k]`` for the ``k``-th district), and the tables are put together with
a ``district`` column. The summary is the municipality's, computed from all the tables,
followed by each district's indicators as ``<district>.<indicator>``. A pilot and its
control thus sit in one run, and in one batch.
"""

from __future__ import annotations

from typing import cast

import pandas as pd

from sim.constants import STEP_NAMES
from sim.engine.collect import model_tables
from sim.params import Scenario
from sim.results.indicators import SUMMARY_NAMES
from sim.results.result import Result, summarize

ID_OFFSET = 10_000_000  # child and case ids of district k start at k x this
WORKER_OFFSET = 1_000  # caseworker ids of district k start at k x this; desk ids below -k x this


def _offset(tables: dict[str, pd.DataFrame], k: int, name: str) -> dict[str, pd.DataFrame]:
    out = {}
    for table_name, frame in tables.items():
        frame = frame.copy()
        for column in ("child", "case"):
            if column in frame:
                frame[column] += k * ID_OFFSET
        if "caseworker" in frame:
            worker = frame["caseworker"]
            frame["caseworker"] = worker.where(worker == -1, worker + k * WORKER_OFFSET).where(
                worker >= -1, worker - k * WORKER_OFFSET
            )
        frame.insert(0, "district", name)
        out[table_name] = frame
    return out


def _with_implementation(costs: pd.DataFrame, scenario: Scenario, measured_days: float) -> pd.DataFrame:
    """The municipality's own ``[implementation]`` cost (a pilot's training and programme), once,
    as rows of district ``municipality``; the districts' scenarios' own implementation costs
    are already in their tables."""
    from sim.constants import DAYS_PER_YEAR
    from sim.results.indicators import cost_table

    imp = scenario.implementation
    if imp.cost_dkk <= 0:
        return costs
    spells = pd.DataFrame({"start_day": [], "end_day": [], "step": []})
    rows = cost_table(
        spells,
        measured_days,
        [0.0] * 5,
        0,
        0.0,
        (imp.cost_dkk, imp.start_years * DAYS_PER_YEAR, imp.spread_years * DAYS_PER_YEAR),
    )
    rows = rows[rows["step"] == -1].copy()
    rows.insert(0, "district", "municipality")
    return pd.concat([costs, rows], ignore_index=True)


def simulate_districts(scenario: Scenario, seed: int | list[int], years: float | None) -> tuple[Result, dict[str, int]]:
    """Run every district and put the results together (see the module docstring)."""
    from sim.engine.model import Model

    base_seed = list(seed) if isinstance(seed, list | tuple) else [seed]
    parts, summaries, events = [], {}, 0
    for k, district in enumerate(scenario.districts):
        local = district.target
        assert local is not None  # load_scenario resolves every district's scenario
        model = Model(local, [*base_seed, k], years)
        model.run()
        events += model.env.events_scheduled()
        tables = model_tables(model)
        summaries[district.name] = summarize(
            tables, local, model.measured_days, local.municipality.children, district.name
        )
        parts.append(_offset(tables, k, district.name))
        measured = model.measured_days
        model.dispose()
    combined = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    combined["costs"] = _with_implementation(combined["costs"], scenario, measured)
    # The ladder of the municipality: children on each step, summed over the districts.
    # A frame (as_index=False), which pandas-stubs type as a Series.
    ladder = cast(pd.DataFrame, combined["ladder"].groupby(["time_days", "step"], as_index=False)["children"].sum())
    ladder["step_name"] = ladder["step"].map(lambda k: STEP_NAMES[k - 1])
    combined["ladder"] = ladder
    combined["events"] = combined["events"].sort_values(["time_days"], kind="stable", ignore_index=True)
    first = scenario.districts[0].target  # indicator definitions (grace, deadlines) of the first district
    assert first is not None
    summary = summarize(combined, first, measured, scenario.municipality.children, scenario.name)
    extra = {
        f"{name}.{indicator}": float(values[indicator])
        for name, values in summaries.items()
        for indicator in SUMMARY_NAMES
    }
    summary = pd.concat([summary, pd.Series(extra, dtype=float)]).rename(scenario.name)
    result = Result(scenario=scenario, seed=seed, measured_days=measured, summary=summary, **combined)  # type: ignore[arg-type]
    result.districts = pd.DataFrame(summaries).T.rename_axis("district")
    return result, {"simpy_events": events}
