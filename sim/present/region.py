"""The table ``welfare-sim region`` prints: each municipality and the sum."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.experiments.region import TOTAL
from sim.present.format import format_estimate, text_table

if TYPE_CHECKING:
    import pandas as pd

SHOWN = (
    ("children_in_care_mean", "children in care"),
    ("placements_per_year", "placements a year"),
    ("cost_total_per_year", "total cost, M DKK a year"),
)


def region_text(table: pd.DataFrame) -> str:
    """Municipalities as rows (the total last), with their children, caseworkers and
    practice, and the mean and 95 % interval of the shown indicators."""
    header = ["municipality", "children", "caseworkers", "practice", *(label for _, label in SHOWN)]
    rows = []
    for name, part in table.groupby("municipality", sort=False):
        first = part.iloc[0]
        cells = [str(name), f"{int(first['children']):,}", f"{int(first['caseworkers']):,}", str(first["practice"])]
        for indicator, _ in SHOWN:
            r = part[part["indicator"] == indicator].iloc[0]
            cells.append(format_estimate(indicator, float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])))
        rows.append(cells)
    rows.sort(key=lambda cells: cells[0] == TOTAL)  # the total last, the municipalities in their order
    return text_table(header, rows)


def per_1000_text(table: pd.DataFrame) -> str:
    """The total's figures per 1,000 children, one line."""
    total = table[(table["municipality"] == TOTAL) & table["indicator"].str.endswith("_per_1000_children")]
    parts = []
    for _, r in total.iterrows():
        name = str(r["indicator"]).removesuffix("_per_1000_children").replace("_", " ")
        value = f"{r['mean'] / 1e6:.2f} M DKK" if name.startswith("cost") else f"{r['mean']:.2f}"
        parts.append(f"{name} {value}")
    return "per 1,000 children, all municipalities: " + "; ".join(parts)


def observed_text(observed: pd.DataFrame) -> str:
    """Each observed figure beside the model's mean and interval, one row each."""
    header = [
        "municipality",
        "observed figure",
        "observed",
        "model [95 % interval]",
        "one run's range",
        "model - observed",
    ]
    rows = []
    for _, r in observed.iterrows():
        model = f"{r['mean']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
        spread = f"{r['range_low']:.3g} to {r['range_high']:.3g}"
        relative = r["relative_difference"]
        change = f"{r['difference']:+.3g} ({relative:+.0%})" if relative == relative else f"{r['difference']:+.3g}"
        rows.append([str(r["municipality"]), str(r["figure"]), f"{r['observed']:g}", model, spread, change])
    return text_table(header, rows)
