"""The warm-up analysis's figure (:mod:`sim.experiments.warmup` runs the analysis)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.constants import DAYS_PER_YEAR
from sim.experiments.warmup import INDICATORS, WarmupReport

if TYPE_CHECKING:  # matplotlib is imported only when a plot is drawn
    from matplotlib.figure import Figure


def plot_warmup(report: WarmupReport) -> Figure:
    """One panel per indicator: each replication as a thin line, Welch's moving average in
    bold, the MSER-5 point as a dashed vertical line (and the scenario's own warm-up as a
    dotted one, if it has any). Drawn on a :class:`matplotlib.figure.Figure` without
    pyplot, so no display is needed; save it with ``fig.savefig(path, dpi=120)``."""
    from matplotlib.figure import Figure

    n = len(report.indicators)
    fig = Figure(figsize=(9.0, 2.9 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    start = "an empty system" if report.empty else "the scenario's initial stock"
    fig.suptitle(
        f"Warm-up of {report.scenario_name}: {report.replications} replications from {start}; "
        f"suggested warm-up {report.suggested_warmup_years:g} years"
    )
    x = (report.time_days - report.time_days[0]) / DAYS_PER_YEAR
    for ax, name in zip(axes, report.indicators):
        info = INDICATORS[name]
        for r, row in enumerate(report.values[name]):
            ax.plot(x, row, color="0.6", linewidth=0.6, alpha=0.8, label="replications" if r == 0 else None)
        ax.plot(x, report.welch[name], color="C0", linewidth=2.2, label=f"Welch moving average (w = {report.window})")
        point = report.mser5_days(name) / DAYS_PER_YEAR
        limit = " (at the limit: run longer)" if report.at_limit(name) else ""
        ax.axvline(point, color="C3", linestyle="--", linewidth=1.4, label=f"MSER-5: {point:.2f} years{limit}")
        if report.scenario_warmup_years > 0:
            ax.axvline(
                report.scenario_warmup_years,
                color="0.3",
                linestyle=":",
                linewidth=1.2,
                label=f"scenario's warm-up: {report.scenario_warmup_years:g} years",
            )
        ax.set_title(f"{name}: {info.description}")
        ax.set_xlabel("years since start")
        ax.set_ylabel(f"{name.replace('_', ' ')} ({info.unit})")
        ax.set_xlim(x[0], x[-1])
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.legend(loc="best", fontsize="small")
    return fig
