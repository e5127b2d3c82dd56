"""The tables the commands print: a run's summary, a comparison of scenarios, a sweep and
the answer of a staffing search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.experiments.planner import CONTEXT_INDICATORS, caseworkers_text, target_text, value_text
from sim.present.format import format_estimate, text_table
from sim.results.indicators import format_value, unit_of

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.planner import StaffResult


def summary_table(summaries: dict[str, pd.Series], difference: bool = False) -> str:
    """Indicators as rows, scenarios as columns, with units; optionally the difference of
    the last scenario to the first."""
    import pandas as pd

    frame = pd.DataFrame(summaries)
    names = list(frame.columns)
    header = ["indicator", "unit", *names] + (["difference"] if difference and len(names) > 1 else [])
    rows = []
    for indicator, values in frame.iterrows():
        cells = [indicator, unit_of(indicator)] + [format_value(indicator, values[n]) for n in names]
        if len(header) > len(cells):
            diff = values[names[-1]] - values[names[0]]
            cells.append(("+" if diff > 0 else "") + format_value(indicator, diff))
        rows.append(cells)
    return text_table(header, rows, left=2)


def comparison_text(comparison: pd.DataFrame, names: list[str], indicators: list[str] | None = None) -> str:
    """The comparison as a readable table: per scenario the mean and its 95 % interval, and
    each scenario's paired difference to the first."""
    indicators = indicators or list(dict.fromkeys(comparison["indicator"]))
    header = ["indicator", "unit", *names] + [f"{n} - {names[0]}" for n in names[1:]]
    rows = []
    for indicator in indicators:
        part = comparison[comparison["indicator"] == indicator].set_index("scenario")
        cells = [indicator, unit_of(indicator)]
        cells += [format_estimate(indicator, *part.loc[n, ["mean", "ci_low", "ci_high"]]) for n in names]
        cells += [
            format_estimate(indicator, *part.loc[n, ["diff_mean", "diff_ci_low", "diff_ci_high"]]) for n in names[1:]
        ]
        rows.append(cells)
    return text_table(header, rows, left=2)


def sweep_text(table: pd.DataFrame, param: str, indicators: Sequence[str]) -> str:
    """A sweep's table (:func:`sim.experiments.planner.sweep_table`): values as rows, indicators as
    columns, mean [low, high] in the indicator's unit."""
    header = [param] + [f"{i} ({unit_of(i)})" if unit_of(i) else i for i in indicators]
    rows = []
    for value in sorted(table["value"].unique()):
        at = table[table["value"] == value].set_index("indicator")
        cells = [value_text(value.item() if hasattr(value, "item") else value)]
        cells += [format_estimate(i, *at.loc[i, ["mean", "ci_low", "ci_high"]]) for i in indicators]
        rows.append(cells)
    return text_table(header, rows)


def staff_text(result: StaffResult) -> str:
    """The answer line of a staffing search, then the indicators at the answer and one below
    (or at ``high`` when nothing met the targets), each target and whether it is met."""
    lines = [result.message, ""]
    if result.found:
        shown = [n for n in (result.answer - 1, result.answer) if n in result.levels]
    else:
        shown = [result.high]
    header = ["indicator", "unit", "target"] + [caseworkers_text(n) for n in shown]
    rows = []
    targeted = list(dict.fromkeys(t.indicator for t in result.targets))
    for indicator in targeted + [i for i in CONTEXT_INDICATORS if i not in targeted]:
        mine = [t for t in result.targets if t.indicator == indicator]
        cells = [indicator, unit_of(indicator), "; ".join(target_text(t) for t in mine) or "-"]
        for n in shown:
            level = result.levels[n]
            row = level.stats.loc[indicator]
            text = format_estimate(indicator, row["mean"], row["ci_low"], row["ci_high"])
            if mine:
                text += "  met" if all(level.met[str(t)] for t in mine) else "  NOT met"
            cells.append(text)
        rows.append(cells)
    lines.append(text_table(header, rows, left=3))
    lines.append("")
    lines.append(
        f"met = the {result.confidence * 100:g} % interval of the mean over {result.replications} replications "
        "lies entirely on the target's side"
    )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def desk_warning(scenario) -> str | None:
    """A line when a scenario's intake desk gets more notifications per worker than the
    shipped Danish baseline's, which works near its capacity; else None."""
    from sim.params.municipality import PRACTICES, desk_load, shipped

    if not scenario.intake.desk:
        return None
    baseline = shipped(PRACTICES["danish"])
    mine, theirs = desk_load(scenario.municipality.children, scenario.intake.desk_staff, baseline)
    if mine <= theirs * 1.001:
        return None
    return (
        f"note: {mine:,.0f} notifications a year per intake desk worker, against the shipped baseline's "
        f"{theirs:,.0f}, which is near the desk's capacity: the desk may fall behind for good"
    )
