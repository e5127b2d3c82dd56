"""The business case's figure (:mod:`sim.experiments.business` makes the case)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.constants import CONFIDENCE
from sim.experiments.business import (
    COLORS,
    CUMULATIVE_COLOR,
    LABELS,
    MILLION,
    PARTS,
    PNG_NAME,
    BusinessCase,
    wide_table,
    year_label,
)

if TYPE_CHECKING:  # matplotlib loads when a figure is drawn
    from matplotlib.figure import Figure


def write_business_case_figure(case: BusinessCase, folder: str | Path) -> Path:
    """Write ``business_case.png`` into ``folder`` (atomically); returns its path."""
    from sim.storage.output import atomic_write_png

    path = Path(folder) / PNG_NAME
    atomic_write_png(path, plot_business_case(case.table, case.info()), dpi=120)
    return path


def plot_business_case(table: pd.DataFrame, info: dict) -> Figure:
    """Yearly stacked bars of the four components (mean; savings below zero), the yearly
    net as points, and the cumulative net as a line with its 95 % band; million DKK."""
    from sim.present.plots import ResultFigure

    mean, low, high = (
        wide_table(table, "mean") / MILLION,
        wide_table(table, "ci_low") / MILLION,
        wide_table(table, "ci_high") / MILLION,
    )
    years = mean.index.to_numpy(dtype=float)
    fig = ResultFigure(figsize=(11.0, 6.0), layout="constrained")
    ax = fig.subplots()
    fig.suptitle(f"Business case: {info['new']} against {info['baseline']}")
    ax.set_title(
        f"NEW - BASELINE per year, mean over {info['replications']} replications (common random numbers); "
        "positive = extra cost, negative = saving",
        fontsize="medium",
    )
    up, down = np.zeros(len(years)), np.zeros(len(years))
    for part in PARTS:  # positive parts stacked up from 0, savings stacked down from 0
        values = mean[part].fillna(0.0).to_numpy()
        for part_values, bottom in ((np.clip(values, 0.0, None), up), (np.clip(values, None, 0.0), down)):
            ax.bar(
                years,
                part_values,
                bottom=bottom,
                width=0.55,
                color=COLORS[part],
                edgecolor="0.25",
                linewidth=0.5,
                zorder=2,
                label=LABELS[part] if bottom is up else None,
            )
            bottom += part_values
    ax.plot(
        years, mean["net"], linestyle="none", marker="D", markersize=7, color="black", zorder=4, label="net of the year"
    )
    cumulative, band_low, band_high = mean["cumulative_net"], low["cumulative_net"], high["cumulative_net"]
    band = f"cumulative net: {100 * CONFIDENCE:.0f} % interval"
    ax.fill_between(years, band_low, band_high, color=CUMULATIVE_COLOR, alpha=0.15, linewidth=0, zorder=3, label=band)
    for edge in (band_low, band_high):
        ax.plot(years, edge, color=CUMULATIVE_COLOR, linewidth=0.9, linestyle="--", zorder=3)
    ax.plot(years, cumulative, color=CUMULATIVE_COLOR, marker="o", linewidth=2.2, zorder=5, label="cumulative net")
    ax.axhline(0.0, color="0.2", linewidth=1.0, zorder=2.5, label="break-even (0)")
    payback = info["payback"]["mean"]
    if payback["year"] is not None:
        ax.axvline(
            payback["year"],
            color=CUMULATIVE_COLOR,
            linestyle=":",
            linewidth=1.5,
            label=f"payback of the mean: {payback['text']}",
        )
    extremes = np.concatenate([up, down, band_low.to_numpy(), band_high.to_numpy(), cumulative.to_numpy(), [0.0]])
    extremes = extremes[np.isfinite(extremes)]
    top, bottom_ = float(extremes.max()), float(extremes.min())
    pad = 0.08 * (top - bottom_) if top > bottom_ else 1.0
    ax.set_ylim(bottom_ - pad, top + pad)
    ax.set_xticks(years, labels=[year_label(int(y), info["years"]) for y in years])
    ax.set_xlabel("measured year" + (" (* = part of a year)" if info["years"] < years.max() - 1e-9 else ""))
    ax.set_ylabel("million DKK (NEW - BASELINE)")
    ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] not in [LABELS[p] for p in PARTS])  # the bars first
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
    )
    return fig
