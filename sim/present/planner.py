"""The figures of the planner's sweeps and staffing search (:mod:`sim.experiments.planner`
runs them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.experiments.planner import STAFF_PARAM, StaffResult, SweepResult, Target, parameter_label, target_text
from sim.results.indicators import unit_of


def write_sweep_figure(result: SweepResult) -> Path:
    """Write ``sweep.png`` (the chosen indicators against the parameter) into the sweep's
    folder, atomically; returns its path."""
    from sim.present.plots import save_figure

    path = result.out / "sweep.png"
    fig = plot_sweep(
        result.table,
        result.param,
        result.indicators,
        title=_sweep_title(result.scenario, result.param, result.replications, result.seed),
    )
    save_figure(fig, path)
    return path


def write_staff_figure(result: StaffResult) -> Path:
    """Write ``staff.png`` (the levels the staffing search tried, with the targets and the
    answer) into the search's folder, atomically; returns its path."""
    from sim.present.plots import save_figure

    table = result.table()
    indicators = list(dict.fromkeys([t.indicator for t in result.targets] + ["mean_caseload_cases"]))
    sweepish = table.rename(columns={"caseworkers": "value"})
    fig = plot_sweep(
        sweepish,
        STAFF_PARAM,
        indicators,
        title=f"{result.scenario}: levels tried by the staffing search ({result.replications} replications, "
        f"{result.confidence * 100:g} % intervals)",
        targets=result.targets,
        mark=result.answer,
    )
    path = result.out / "staff.png"
    save_figure(fig, path)
    return path


def _sweep_title(scenario: str, param: str, replications: int, seed: int) -> str:
    return (
        f"{scenario} against {param}: means with 95 % intervals over {replications} replications "
        f"(seed {seed}, common random numbers)"
    )


def _scale(indicator: str) -> float:
    unit = unit_of(indicator)
    return 100.0 if unit == "%" else 1e-6 if unit == "M DKK/yr" else 1.0


def plot_sweep(
    table: pd.DataFrame,
    param: str,
    indicators: Sequence[str],
    title: str = "",
    targets: Sequence[Target] = (),
    mark: int | float | None = None,
):
    """One panel per indicator: the mean against the parameter value (line and points) with
    its confidence interval as a shaded band; targets on an indicator as dashed horizontal
    lines, ``mark`` (an answer) as a dotted vertical line. Built without pyplot."""
    from matplotlib.ticker import MaxNLocator

    from sim.present.plots import SCENARIO_PALETTE, ResultFigure

    whole = all(float(v).is_integer() for v in table["value"])
    n = len(indicators)
    columns = min(n, 2)
    rows = math.ceil(n / columns)
    fig = ResultFigure(figsize=(5.6 * columns, 3.6 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    color = SCENARIO_PALETTE[0]
    for ax, indicator in zip(axes, indicators):
        part = table[table["indicator"] == indicator].sort_values("value")
        scale, unit = _scale(indicator), unit_of(indicator)
        x = part["value"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float) * scale, part["ci_high"].to_numpy(dtype=float) * scale
        if unit == "%":  # a t-interval of a share can pass 0 or 100 %; the band stops there
            low, high = low.clip(0.0, 100.0), high.clip(0.0, 100.0)
        ax.fill_between(
            x,
            low,
            high,
            color=color,
            alpha=0.22,
            linewidth=0,
            label="95 % interval",
        )
        ax.plot(x, part["mean"].to_numpy(dtype=float) * scale, color=color, marker="o", markersize=3.5, label="mean")
        for target in targets:
            if target.indicator == indicator:
                ax.axhline(
                    target.threshold * scale,
                    color="#D55E00",
                    linestyle="--",
                    linewidth=1.2,
                    label=f"target {target_text(target)}" + (f" {unit}" if unit else ""),
                )
        if mark is not None:
            ax.axvline(mark, color="0.3", linestyle=":", linewidth=1.2, label=f"answer: {mark:g}")
        ax.set_title(indicator)
        ax.set_xlabel(parameter_label(param))
        if whole:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{indicator.replace('_', ' ')} ({unit})" if unit else indicator.replace("_", " "))
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig
