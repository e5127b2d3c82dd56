"""The Morris screening's figure (:mod:`sim.experiments.sensitivity` runs the screening)."""

from __future__ import annotations

import math
from pathlib import Path

from sim.experiments.sensitivity import SWEDISH, SensitivityResult, unit_and_scale


def write_sensitivity_figure(result: SensitivityResult, folder: str | Path, name: str = "sensitivity.png") -> Path:
    """Write the ranking figure into ``folder`` (atomically) as ``name``; returns its path."""
    from sim.present.plots import save_figure

    path = Path(folder) / name
    save_figure(plot_ranking(result), path)
    return path


def plot_ranking(result: SensitivityResult, title: str = ""):
    """One panel per output: a horizontal bar of ``mu_star`` per parameter, largest on top,
    with its 95 % bootstrap interval. Built without pyplot (the Agg canvas)."""
    import numpy as np

    from sim.present.plots import SCENARIO_PALETTE, ResultFigure

    outputs = result.outputs
    k = len(result.parameters)
    columns = 2
    rows = math.ceil(len(outputs) / columns)
    fig = ResultFigure(figsize=(6.4 * columns, (0.28 * k + 1.3) * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(outputs) :]:
        ax.remove()
    for ax, output in zip(axes, outputs):
        unit, scale = unit_and_scale(output)
        part = result.table[result.table["output"] == output.name].sort_values("rank", ascending=False)
        y = np.arange(len(part))
        mu_star = part["mu_star"].to_numpy(dtype=float) * scale
        conf = part["mu_star_conf"].to_numpy(dtype=float) * scale
        color = SCENARIO_PALETTE[1] if output.scenario == SWEDISH else SCENARIO_PALETTE[0]
        if output.scenario is None:
            color = SCENARIO_PALETTE[2]
        ax.barh(y, np.nan_to_num(mu_star), color=color, alpha=0.85, label="μ*: the mean |elementary effect|")
        ax.errorbar(
            np.nan_to_num(mu_star),
            y,
            xerr=np.nan_to_num(conf),
            fmt="none",
            ecolor="0.2",
            elinewidth=1,
            capsize=2.5,
            label="95 % bootstrap interval",
        )
        ax.set_yticks(y, part["parameter"].tolist(), fontsize="small")
        ax.set_xlim(left=0)
        ax.set_title(output.label, fontsize="medium")
        ax.set_xlabel(f"μ*, {unit} over the parameter's range")
        ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
    from matplotlib.patches import Patch

    handles, labels = axes[0].get_legend_handles_labels()
    handles[0] = Patch(facecolor="0.55", label=labels[0])  # the bars' colour is the panel's scenario
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
    fig.suptitle(title or ranking_title(result), fontsize="medium")
    return fig


def ranking_title(result: SensitivityResult) -> str:
    years = f"{result.years:g} measured years" if result.years is not None else "the scenarios' measured years"
    return (
        f"Morris screening of {len(result.parameters)} uncertain parameters: {result.trajectories} trajectories, "
        f"{result.runs} runs, seed {result.seed}, {years}, common random numbers"
    )
