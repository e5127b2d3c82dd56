"""Figures of saved results (issue 4): each function takes a :class:`sim.storage.rundata.RunData`
(a single run or a batch) and returns a :class:`matplotlib.figure.Figure`.

Figures are drawn without pyplot, so no display is needed; save one with
:func:`save_figure`. Every figure has a title, axes labelled with their units, and a legend
(the transition heat maps print their shares and counts in the cells instead);
a scenario has the same colour in every figure (:func:`scenario_colors`, by its position in
``RunData.scenarios``) and a ladder step the same colour wherever steps are shown
(:data:`STEP_COLORS`). Replications are pooled (survival curves, distributions, flows) or
averaged (ladder, costs), as each figure's title says.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from sim.constants import DAYS_PER_YEAR, STEP_NAMES
from sim.results.indicators import PLACEMENT_TYPES
from sim.results.survival import kaplan_meier_ci, logrank_test, median_ci
from sim.storage.output import atomic_write_png
from sim.storage.rundata import RunData, RunDataError

# ----------------------------------------------------------------------------- colours and labels

SCENARIO_PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
"""Colours of the scenarios by position (Okabe-Ito, readable with colour-blindness); they
repeat after eight scenarios."""

STEP_COLORS: dict[int, str] = {
    1: "#c7e9b4",  # early support: light green
    2: "#7fcdbb",  # home support: teal
    3: "#41b6c4",  # kinship care: turquoise
    4: "#225ea8",  # foster care: blue
    5: "#081d58",  # institution: navy
    0: "#9e9e9e",  # staff (in the cost figure): grey
}
"""Colours of the ladder steps 1-5 (light to dark as the intervention gets heavier) and of
staff (0), the same in every figure."""

STEP_LABELS: dict[int, str] = {k: f"{k} {name.replace('_', ' ')}" for k, name in enumerate(STEP_NAMES, start=1)}
"""``{1: "1 early support", ..., 5: "5 institution"}``."""

CATEGORY_LABELS: dict[int, str] = {**STEP_LABELS, 0: "staff"}

END_LABELS: dict[str, str] = {"need_met": "closed: need met", "aged_out": "closed: aged out"}
"""Labels of the ways a spell ends other than a move (other reasons: ``closed: <reason>``)."""

CASELOAD_BANDS: tuple[tuple[float, float, str, str], ...] = (
    (15.0, 25.0, "Swedish model", "#bdbdbd"),
    (30.0, 60.0, "Danish practice", "#e6d3b3"),
)
"""(low, high, label, colour) of the caseload ranges shaded on the cases panel."""

REFERENCE_POINT_CAP = 120.0
"""The Borås cap (points per caseworker) drawn on the points panel in every figure."""

MILLION = 1e6


def scenario_colors(names: Sequence[str]) -> dict[str, str]:
    """``{name: colour}``: the i-th scenario gets ``SCENARIO_PALETTE[i]`` (cycling), so a
    scenario has the same colour in every figure of the same results."""
    return {name: SCENARIO_PALETTE[i % len(SCENARIO_PALETTE)] for i, name in enumerate(names)}


# ----------------------------------------------------------------------------- helpers


DPI = 120


class ResultFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that shows itself as a PNG in Jupyter even when
    pyplot (and so the inline backend) was never imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    return ResultFigure(figsize=(width, height), layout="constrained")


def _replication_count(frames: dict[str, pd.DataFrame]) -> int:
    counts = [frame["replication"].nunique() for frame in frames.values() if "replication" in frame]
    return max(counts) if counts else 1


def _replications_text(n: int) -> str:
    return "1 replication" if n == 1 else f"{n} replications"


def _measured_days(data: RunData, fallback: float) -> float:
    try:
        return float(data.measured_days)
    except (RunDataError, KeyError, TypeError, ValueError):
        return fallback


def _scenario_parameter(data: RunData, name: str, section: str, key: str, default=None):
    value = (data.parameters.get(name) or {}).get(section, {}).get(key, default)
    return default if value is None else value


def _grid(n: int, max_columns: int = 3) -> tuple[int, int]:
    columns = min(n, max_columns)
    return math.ceil(n / columns), columns


def _panel_axes(fig: Figure, n: int, max_columns: int = 3, **kwargs) -> list:
    rows, columns = _grid(n, max_columns)
    axes = fig.subplots(rows, columns, squeeze=False, **kwargs).ravel()
    for ax in axes[n:]:
        ax.remove()
    return list(axes[:n])


# ----------------------------------------------------------------------------- placement durations


def placement_curves(placements: pd.DataFrame, step: int, confidence: float = 0.95) -> tuple[pd.DataFrame, int]:
    """The Kaplan-Meier curve (:func:`sim.results.survival.kaplan_meier_ci`) of the placements on
    ``step`` that started during measurement (``start_day >= 0``; the left-truncated ones
    are left out), pooled over replications, and their number."""
    started = placements[(placements["start_day"] >= 0) & (placements["step"] == step)]
    curve = kaplan_meier_ci(started["duration_days"], ~started["censored"].astype(bool), confidence)
    return curve, len(started)


def plot_survival(data: RunData, confidence: float = 0.95) -> Figure:
    """Placement durations by placement type: one panel per type (kinship, foster,
    institution), one Kaplan-Meier curve per scenario with its pointwise confidence band
    (log(-log) Greenwood) and a tick at every censored duration. Only placements that
    started during measurement count; replications are pooled. The legend gives each
    scenario's number of placements, median with its confidence interval, and (from the
    second scenario on) the log-rank p-value against the first."""
    placements = data.table("placements")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(placements)
    longest = max((float(f["duration_days"].max()) for f in placements.values() if len(f)), default=1.0)
    horizon = _measured_days(data, longest)
    fig = _figure(17.0, 6.2)
    axes = fig.subplots(1, len(PLACEMENT_TYPES), sharey=True, squeeze=False)[0]
    level = f"{confidence:.0%}"
    fig.suptitle(
        f"Placement durations: Kaplan-Meier curves with {level} confidence bands (| = censored: still placed "
        f"at the end)\nof the placements started during measurement, {_replications_text(n_rep)} pooled; "
        f"log-rank p against {data.scenarios[0]}"
    )
    for ax, (step, kind) in zip(axes, PLACEMENT_TYPES.items()):
        reference = None
        for i, name in enumerate(data.scenarios):
            frame = placements[name]
            started = frame[(frame["start_day"] >= 0) & (frame["step"] == step)]
            curve, n = placement_curves(frame, step, confidence)
            color = colors[name]
            if n == 0:
                ax.plot([], [], color=color, linewidth=1.8, label=f"{name}: no placements started")
                continue
            median, low, high = median_ci(curve)
            if math.isnan(median):
                summary = "median not reached"
            else:
                upper = "not reached" if math.isnan(high) else f"{high:.0f}"
                summary = f"median {median:.0f} d ({level} CI {low:.0f} to {upper})"
            label = f"{name}: n = {n}\n{summary}"
            durations, observed = started["duration_days"], ~started["censored"].astype(bool)
            if i == 0:
                reference = (durations, observed)
            elif reference is not None:
                _, p_value = logrank_test(durations, observed, *reference)
                if not math.isnan(p_value):
                    label += f"; log-rank p = {p_value:.2g}"
            t = curve["time"].to_numpy()
            ax.step(t, curve["survival"], where="post", color=color, linewidth=1.8, label=label)
            ax.fill_between(t, curve["ci_low"], curve["ci_high"], step="post", color=color, alpha=0.18, linewidth=0)
            marks = curve[curve["censored"] > 0]
            ax.plot(marks["time"], marks["survival"], linestyle="none", marker="|", markersize=6, color=color)
        ax.axhline(0.5, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_title(f"{kind} (step {step})")
        ax.set_xlabel("days since placement")
        ax.set_ylabel("share still placed")
        ax.set_xlim(0, horizon)
        ax.set_ylim(0, 1.02)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small", frameon=False)
    return fig


# ----------------------------------------------------------------------------- caseloads


def _share_hist(ax, values: np.ndarray, bins: np.ndarray, color: str, label: str) -> None:
    weights = np.full(values.size, 1.0 / values.size) if values.size else None
    ax.hist(values, bins=bins, weights=weights, histtype="step", linewidth=1.8, color=color, label=label)


def plot_caseload(data: RunData) -> Figure:
    """Distribution of caseloads over the weekly snapshots of every caseworker (pooled over
    replications): cases per caseworker with the Swedish (15-25) and Danish (30-60) ranges
    shaded, and Borås points per caseworker with the 120-point cap (and any other cap of the
    scenarios)."""
    caseload = data.table("caseload")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(caseload)
    fig = _figure(14.0, 5.0)
    ax_cases, ax_points = fig.subplots(1, 2, squeeze=True)
    fig.suptitle(f"Caseload per caseworker: weekly snapshots of every caseworker, {_replications_text(n_rep)} pooled")
    cases = {name: caseload[name]["cases"].to_numpy(dtype=float) for name in data.scenarios}
    points = {name: caseload[name]["points"].to_numpy(dtype=float) for name in data.scenarios}
    top_cases = max((v.max() for v in cases.values() if v.size), default=0.0)
    top_points = max((v.max() for v in points.values() if v.size), default=0.0)
    case_bins = np.arange(-0.5, top_cases + 1.5, 1.0)
    point_width = 5.0
    point_bins = np.arange(0.0, top_points + 2 * point_width, point_width)

    band_transform = blended_transform_factory(ax_cases.transData, ax_cases.transAxes)
    for low, high, label, color in CASELOAD_BANDS:
        ax_cases.axvspan(low, high, color=color, alpha=0.45, linewidth=0, label=f"{label}: {low:g}-{high:g} cases")
        ax_cases.text((low + high) / 2, 0.98, label, transform=band_transform, ha="center", va="top", fontsize="small")
    for name in data.scenarios:
        v = cases[name]
        mean = f"mean {v.mean():.1f}" if v.size else "no snapshots"
        _share_hist(ax_cases, v, case_bins, colors[name], f"{name} ({mean})")
    ax_cases.set_title("Open cases per caseworker")
    ax_cases.set_xlabel("cases per caseworker (cases)")
    ax_cases.set_ylabel("share of caseworker-weeks")
    ax_cases.set_xlim(0, max(65.0, top_cases + 2))

    caps: dict[float, list[str]] = {REFERENCE_POINT_CAP: []}
    for name in data.scenarios:
        cap = _scenario_parameter(data, name, "assignment", "point_cap")
        if cap is not None:
            caps.setdefault(float(cap), []).append(name)
    for name in data.scenarios:
        v = points[name]
        mean = f"mean {v.mean():.0f}" if v.size else "no snapshots"
        _share_hist(ax_points, v, point_bins, colors[name], f"{name} ({mean})")
    for i, (cap, names) in enumerate(sorted(caps.items())):
        who = ", ".join(names) if names else "Borås, for reference"
        ax_points.axvline(
            cap, color="0.2", linestyle=("--", "-.", ":")[i % 3], linewidth=1.3, label=f"point cap {cap:g} ({who})"
        )
    ax_points.set_title("Borås points per caseworker")
    ax_points.set_xlabel("points per caseworker (points)")
    ax_points.set_ylabel("share of caseworker-weeks")
    ax_points.set_xlim(0, max(top_points, max(caps)) + 2 * point_width)
    for ax in (ax_cases, ax_points):
        ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, fontsize="small", frameon=False)
    return fig


# ----------------------------------------------------------------------------- the ladder over time


def ladder_means(ladder: pd.DataFrame) -> pd.DataFrame:
    """Children on each step (columns 1-5) at each snapshot time (index, days), as the mean
    over replications."""
    mean = ladder.groupby(["time_days", "step"])["children"].mean().unstack("step")
    return mean.reindex(columns=range(1, 6)).fillna(0.0).sort_index()


def plot_ladder(data: RunData) -> Figure:
    """The intervention ladder over time: one panel per scenario, the children on steps 1-5
    stacked (mean over replications at each weekly snapshot)."""
    ladder = data.table("ladder")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(ladder)
    n = len(data.scenarios)
    rows, columns = _grid(n)
    fig = _figure(5.4 * columns + 0.6, 4.2 * rows + 1.0)
    axes = _panel_axes(fig, n, sharey=True)
    fig.suptitle(
        "Children on each step of the intervention ladder, stacked "
        f"(mean over {_replications_text(n_rep)} at each weekly snapshot)"
    )
    for ax, name in zip(axes, data.scenarios):
        mean = ladder_means(ladder[name])
        years = mean.index.to_numpy(dtype=float) / DAYS_PER_YEAR
        ax.stackplot(
            years,
            *(mean[k].to_numpy() for k in range(1, 6)),
            colors=[STEP_COLORS[k] for k in range(1, 6)],
            labels=[STEP_LABELS[k] for k in range(1, 6)],
            linewidth=0.3,
            edgecolor="white",
        )
        ax.set_title(name, color=colors[name], fontweight="bold")
        ax.set_xlabel("years since measurement began")
        ax.set_ylabel("children (number)")
        if len(years):
            ax.set_xlim(years[0], years[-1])
        ax.grid(True, linewidth=0.4, alpha=0.4)
        ax.tick_params(labelleft=True)
    handles, labels = axes[0].get_legend_handles_labels()
    # Top of the stack first in the legend, as in the picture.
    fig.legend(handles[::-1], labels[::-1], loc="outside right center", title="step", fontsize="small")
    return fig


# ----------------------------------------------------------------------------- follow-ups


def followup_summary(followups: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """Achieved intervals of the done follow-ups by policy interval (rounded to ``decimals``
    days): columns ``policy_interval_days``, ``n``, ``mean``, ``p05``, ``p95`` (days)."""
    done = followups[followups["done_day"].notna()]
    policy = done["policy_interval_days"].round(decimals)
    grouped = done["interval_days"].groupby(policy)
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "mean": grouped.mean(),
            "p05": grouped.quantile(0.05),
            "p95": grouped.quantile(0.95),
        }
    )
    out.index.name = "policy_interval_days"
    return out.reset_index()


def plot_followup_delay(data: RunData) -> Figure:
    """Follow-up delay. Left: the achieved interval between follow-ups against the policy
    interval (mean and 5-95 % range per policy interval and scenario), with the line
    achieved = policy and the legal maximum. Right: the distribution of the delay past the
    due date, with the on-time grace. Follow-ups still undone at the end are counted in the
    legend (their interval is not known yet)."""
    followups = data.table("followups")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(followups)
    n = len(data.scenarios)
    fig = _figure(14.0, 5.4)
    ax_interval, ax_delay = fig.subplots(1, 2, squeeze=True)
    fig.suptitle(f"Follow-ups: achieved against booked intervals; {_replications_text(n_rep)} pooled")
    largest = 1.0
    delays = {}
    for i, name in enumerate(data.scenarios):
        frame = followups[name]
        summary = followup_summary(frame)
        overdue = int(frame["done_day"].isna().sum())
        done = frame[frame["done_day"].notna()]
        delays[name] = done["delay_days"].to_numpy(dtype=float)
        offset = (i - (n - 1) / 2) * 1.5
        x = summary["policy_interval_days"].to_numpy(dtype=float) + offset
        mean = summary["mean"].to_numpy(dtype=float)
        yerr = np.vstack([mean - summary["p05"].to_numpy(dtype=float), summary["p95"].to_numpy(dtype=float) - mean])
        ax_interval.errorbar(
            x,
            mean,
            yerr=yerr,
            fmt="o",
            markersize=5,
            capsize=3,
            color=colors[name],
            label=f"{name}: {len(done)} done, {overdue} undone at the end",
        )
        if len(summary):
            largest = max(largest, float(summary["p95"].max()), float(summary["policy_interval_days"].max()))
    legal = _scenario_parameter(data, data.scenarios[0], "followup", "legal_interval_days", 183.0)
    top = max(largest, float(legal)) * 1.08
    ax_interval.plot([0, top], [0, top], color="0.4", linestyle="--", linewidth=1.0, label="achieved = policy")
    ax_interval.axhline(legal, color="0.2", linestyle=":", linewidth=1.2, label=f"legal maximum: {legal:g} days")
    ax_interval.set_xlim(0, top)
    ax_interval.set_ylim(0, top)
    ax_interval.set_title("Achieved interval by policy interval (mean, 5-95 % range)")
    ax_interval.set_xlabel("policy interval (days)")
    ax_interval.set_ylabel("achieved interval (days)")
    ax_interval.legend(loc="upper left", fontsize="small")

    values = [v for v in delays.values() if v.size]
    low = math.floor(min(v.min() for v in values)) if values else 0
    high = math.ceil(max(v.max() for v in values)) if values else 1
    bins = np.arange(low, high + 2, 1.0)
    for name in data.scenarios:
        v = delays[name]
        mean = f"mean {v.mean():.1f} days" if v.size else "none done"
        _share_hist(ax_delay, v, bins, colors[name], f"{name} ({mean})")
    grace = _scenario_parameter(data, data.scenarios[0], "followup", "on_time_grace_days", 7.0)
    ax_delay.axvline(grace, color="0.2", linestyle="--", linewidth=1.2, label=f"on time: within {grace:g} days")
    ax_delay.set_title("Delay past the due date (done follow-ups)")
    ax_delay.set_xlabel("days after the due date (days)")
    ax_delay.set_ylabel("share of done follow-ups")
    ax_delay.legend(loc="upper right", fontsize="small")
    for ax in (ax_interval, ax_delay):
        ax.grid(True, linewidth=0.4, alpha=0.5)
    return fig


# ----------------------------------------------------------------------------- costs

COST_DIFFERENCES: tuple[tuple[str, str], ...] = (
    ("cost_total_per_year", "total"),
    ("cost_placements_per_year", "placements\n(steps 3-5)"),
    ("cost_interventions_per_year", "in-home\n(steps 1-2)"),
    ("cost_staff_per_year", "staff"),
)
"""Indicators (and their labels) whose paired difference the cost figure shows."""


def cost_means(costs: pd.DataFrame) -> pd.DataFrame:
    """Cost per measured year (index) and category (columns: steps 1-5, then 0 = staff) in
    DKK, the mean over replications."""
    mean = costs.groupby(["year", "step"])["cost_dkk"].mean().unstack("step")
    return mean.reindex(columns=[1, 2, 3, 4, 5, 0]).fillna(0.0).sort_index()


def plot_costs(data: RunData) -> Figure:
    """Costs. Left: cost per measured year by category (steps 1-5 and staff) stacked, one
    group of bars per scenario (mean over replications; a last part-year is starred).
    Right: the paired difference of each scenario to the first (total, placements, in-home
    measures, staff; million DKK per year) with its 95 % confidence interval from the
    batch's comparison; for a single run or a single scenario the panel says so."""
    costs = data.table("costs")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(costs)
    fig = _figure(15.0, 5.8)
    ax_bars, ax_diff = fig.subplots(1, 2, squeeze=True, width_ratios=[1.5, 1.0])
    fig.suptitle("Costs of the department: per year by category, and the difference between scenarios")

    means = {name: cost_means(costs[name]) for name in data.scenarios}
    years = sorted(set().union(*(m.index for m in means.values())))
    measured_years = _measured_days(data, len(years) * DAYS_PER_YEAR) / DAYS_PER_YEAR
    year_labels = [
        f"{y}*" if measured_years < y - 1e-9 else f"{y}" for y in years
    ]  # a starred year is measured only in part
    ticks, tick_labels, centres = [], [], []
    for i, name in enumerate(data.scenarios):
        x = np.arange(len(years), dtype=float) + i * (len(years) + 1)
        mean = means[name].reindex(years).fillna(0.0) / MILLION
        bottom = np.zeros(len(years))
        for step in mean.columns:
            ax_bars.bar(
                x,
                mean[step].to_numpy(),
                bottom=bottom,
                width=0.8,
                color=STEP_COLORS[step],
                edgecolor=colors[name],
                linewidth=1.2,
                label=f"_{name}: {CATEGORY_LABELS[step]}",
                gid=f"{name}:{step}",
            )
            bottom += mean[step].to_numpy()
        ticks += list(x)
        tick_labels += year_labels
        centres.append(float(x.mean()) if len(x) else float(i * (len(years) + 1)))
    ax_bars.set_xticks(ticks, labels=tick_labels)
    groups = ax_bars.secondary_xaxis("bottom")
    groups.set_xticks(centres, labels=[f"\n\n{name}" for name in data.scenarios])
    groups.tick_params(axis="x", length=0)
    for label, name in zip(groups.get_xticklabels(), data.scenarios):
        label.set_color(colors[name])
        label.set_fontweight("bold")
    partial = " (* = part of a year)" if any("*" in t for t in year_labels) else ""
    ax_bars.set_title(f"Cost per year by category (mean over {_replications_text(n_rep)})")
    ax_bars.set_xlabel(f"measured year, grouped by scenario{partial}", labelpad=30)
    ax_bars.set_ylabel("cost (million DKK)")
    ax_bars.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    # Legend keys without a scenario's edge colour; the top of the stack first, as in the bars.
    keys = [Patch(facecolor=STEP_COLORS[k], edgecolor="0.3", label=CATEGORY_LABELS[k]) for k in (0, 5, 4, 3, 2, 1)]
    ax_bars.legend(handles=keys, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")

    first = data.scenarios[0]
    ax_diff.set_title(f"Paired difference to {first} (mean, 95 % CI)")
    ax_diff.set_xlabel("cost category")
    ax_diff.set_ylabel("difference (million DKK per year)")
    ax_diff.axhline(0.0, color="0.3", linewidth=0.9)
    ax_diff.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    comparison = data.comparison
    others = data.scenarios[1:]
    reason = None
    if comparison is None or data.kind == "run":
        reason = "A single run: no paired difference\n(run a batch with `welfare-sim compare`)."
    elif not others:
        reason = "One scenario only: no paired difference."
    present = [
        (ind, label)
        for ind, label in COST_DIFFERENCES
        if comparison is not None and ind in set(comparison["indicator"])
    ]
    if reason is None and not present:
        reason = "The comparison table has no cost indicators."
    if reason is not None:
        ax_diff.text(0.5, 0.5, reason, transform=ax_diff.transAxes, ha="center", va="center", fontsize="medium")
        ax_diff.set_xticks([])
        ax_diff.set_yticks([])
        ax_diff.plot([], [], color="0.3", linewidth=0.9, label="no difference (0)")
        ax_diff.legend(loc="upper right", fontsize="small")
        return fig
    x = np.arange(len(present), dtype=float)
    width = 0.6 / max(1, len(others))
    any_interval = False
    for j, name in enumerate(others):
        rows = comparison[comparison["scenario"] == name].set_index("indicator")
        mean = np.array([float(rows.at[ind, "diff_mean"]) if ind in rows.index else math.nan for ind, _ in present])
        low = np.array([float(rows.at[ind, "diff_ci_low"]) if ind in rows.index else math.nan for ind, _ in present])
        high = np.array([float(rows.at[ind, "diff_ci_high"]) if ind in rows.index else math.nan for ind, _ in present])
        any_interval = any_interval or bool(np.isfinite(low).any())
        yerr = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)]) / MILLION
        offset = (j - (len(others) - 1) / 2) * width
        ax_diff.errorbar(
            x + offset,
            mean / MILLION,
            yerr=yerr,
            fmt="o",
            markersize=7,
            capsize=5,
            color=colors[name],
            label=f"{name} - {first}",
        )
    ax_diff.set_xticks(x, labels=[label for _, label in present])
    ax_diff.set_xlim(-0.6, len(present) - 0.4)
    if not any_interval:
        ax_diff.text(
            0.5,
            0.02,
            "one replication: no confidence interval",
            transform=ax_diff.transAxes,
            ha="center",
            va="bottom",
            fontsize="small",
        )
    ax_diff.legend(loc="best", fontsize="small")
    return fig


# ----------------------------------------------------------------------------- flows between steps


def _end_label(reason: str) -> str:
    return END_LABELS.get(reason, f"closed: {reason.replace('_', ' ')}")


def transition_counts(spells: pd.DataFrame) -> pd.DataFrame:
    """How the spells that ended during measurement ended: rows are the step left (labels of
    :data:`STEP_LABELS`, all five), columns the step moved to (all five) followed by the ways
    a case ends (``closed: need met``, ``closed: aged out``, any other end reason).

    A spell that ended with ``end_reason == "moved"`` goes to the step of the next spell of
    the same child and case (within the same replication, if there is a ``replication``
    column); spells still open at the end (``censored``) are left out, as is a move whose
    next spell is missing. Counts are pooled over replications.
    """
    keys = [k for k in ("replication", "child", "case") if k in spells.columns]
    ordered = spells.sort_values([*keys, "start_day", "end_day"], kind="stable", na_position="last")
    following = ordered.groupby(keys, sort=False)["step"].shift(-1)
    reason = ordered["end_reason"].astype(object)
    ended = ~ordered["censored"].astype(bool) & reason.ne("censored") & reason.notna()
    moved = ended & reason.eq("moved")
    closed = ended & ~reason.eq("moved")
    to_step = following[moved].dropna().astype(int).map(STEP_LABELS)
    to_end = reason[closed].map(_end_label)
    target = pd.concat([to_step, to_end])
    source = ordered.loc[target.index, "step"].map(STEP_LABELS)
    counts = pd.crosstab(source, target) if len(target) else pd.DataFrame()
    others = sorted(set(reason[closed]) - set(END_LABELS))
    columns = [STEP_LABELS[k] for k in range(1, 6)] + [_end_label(r) for r in [*END_LABELS, *others]]
    out = counts.reindex(index=[STEP_LABELS[k] for k in range(1, 6)], columns=columns).fillna(0).astype(int)
    out.index.name = "from step"
    out.columns.name = "to step"
    return out


def plot_transitions(data: RunData) -> Figure:
    """Flows between ladder steps: for each scenario a heat map of the transition matrix
    (:func:`transition_counts`), coloured by the share of the row's ended spells, each cell
    annotated with that share and the count (pooled over replications)."""
    spells = data.table("spells")
    colors = scenario_colors(data.scenarios)
    n_rep = _replication_count(spells)
    n = len(data.scenarios)
    rows, columns = _grid(n, 2)
    fig = _figure(7.4 * columns, 5.4 * rows + 0.8)
    axes = _panel_axes(fig, n, max_columns=2)
    fig.suptitle(
        "Flows between ladder steps: where the spells that ended during measurement went "
        f"(colour and % = share of the row, number = spells; {_replications_text(n_rep)} pooled)"
    )
    for ax, name in zip(axes, data.scenarios):
        counts = transition_counts(spells[name])
        totals = counts.sum(axis=1).to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = counts.to_numpy(dtype=float) / totals[:, None]
        ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for r in range(shares.shape[0]):
            for c in range(shares.shape[1]):
                count = int(counts.iat[r, c])
                if count == 0:
                    continue
                share = shares[r, c]
                ax.text(
                    c,
                    r,
                    f"{'<1%' if share < 0.005 else format(share, '.0%')}\n{count}",
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="white" if share > 0.55 else "black",
                )
        ax.set_xticks(range(counts.shape[1]), labels=list(counts.columns), rotation=35, ha="right")
        ax.set_yticks(
            range(counts.shape[0]), labels=[f"{label} (n = {int(t)})" for label, t in zip(counts.index, totals)]
        )
        ax.set_xlabel("to step (or end of the case)")
        ax.set_ylabel("from step (spells ended)")
        ax.set_title(name, color=colors[name], fontweight="bold")
    return fig


# ----------------------------------------------------------------------------- caseworker hours

HOURS_KINDS: tuple[tuple[str, str, str], ...] = (
    ("standing", "standing hours of open cases", "#bdbdbd"),
    ("followup", "follow-up visits", "#225ea8"),
    ("second_caseworker", "second caseworker (foster care)", "#41b6c4"),
    ("step_down_plan", "plans of moves down", "#7fcdbb"),
    ("placement", "arranging and matching placements", "#081d58"),
    ("network_search", "network searches", "#c7e9b4"),
    ("political_review", "political reviews", "#CC79A7"),
    ("preliminary_assessment", "preliminary assessments", "#E69F00"),
    ("handover", "handovers from the intake desk", "#F0E442"),
    ("investigation", "investigations", "#D55E00"),
    ("acute_review", "acute reviews", "#b2182b"),
    ("renotification", "notifications on open cases", "#8c510a"),
    ("other", "other", "#000000"),
)
"""(kind, label, colour) of caseworker hours, in the order they are stacked."""


def plot_utilisation(data: RunData) -> Figure:
    """Caseworker utilisation: the share of the district caseworkers' casework hours used,
    stacked by kind of work (standing hours of the open cases first), one bar per scenario
    (mean over replications), with the casework hours available at 100 %."""
    reps = data.replications
    colors = scenario_colors(data.scenarios)
    n_rep = int(reps.groupby("scenario")["replication"].nunique().max()) if len(reps) else 1
    fig = _figure(12.0, 1.6 + 0.7 * len(data.scenarios))
    ax = fig.subplots()
    fig.suptitle(f"Caseworker hours: the share of casework hours used, by kind of work ({_replications_text(n_rep)})")
    y = np.arange(len(data.scenarios))[::-1]
    for kind, label, color in HOURS_KINDS:
        column = f"hours_share_{kind}"
        if column not in reps or not (reps[column].fillna(0) > 0).any():
            continue
        left = np.zeros(len(data.scenarios))
        for i, name in enumerate(data.scenarios):
            rows = reps[reps["scenario"] == name]
            previous = [f"hours_share_{k}" for k, _, _ in HOURS_KINDS[: [k for k, _, _ in HOURS_KINDS].index(kind)]]
            left[i] = 100 * sum(rows[c].mean() for c in previous if c in rows)
        widths = [100 * reps.loc[reps["scenario"] == name, column].mean() for name in data.scenarios]
        ax.barh(y, widths, left=left, color=color, edgecolor="white", linewidth=0.5, label=label)
    for i, name in enumerate(data.scenarios):
        total = 100 * reps.loc[reps["scenario"] == name, "caseworker_utilisation"].mean()
        ax.text(total + 1, y[i], f"{total:.0f} %", va="center", fontsize="small")
    ax.axvline(100.0, color="black", linestyle="--", linewidth=1.0, label="casework hours available")
    ax.set_yticks(y, labels=data.scenarios)
    for tick, name in zip(ax.get_yticklabels(), data.scenarios):
        tick.set_color(colors[name])
        tick.set_fontweight("bold")
    ax.set_xlabel("share of the caseworkers' casework hours (%)")
    ax.set_ylabel("scenario")
    ax.set_title("standing work, then tasks by kind; the dashed line is 100 % of the casework hours", fontsize="medium")
    ax.set_xlim(0, max(110.0, 100 * float(reps["caseworker_utilisation"].max()) + 12))
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.35 if len(data.scenarios) < 3 else -0.2),
        ncol=4,
        fontsize="small",
        frameon=False,
    )
    return fig


# ----------------------------------------------------------------------------- all figures

ALL_FIGURES: dict[str, Callable[[RunData], Figure]] = {
    "survival": plot_survival,
    "caseload": plot_caseload,
    "ladder": plot_ladder,
    "followup_delay": plot_followup_delay,
    "costs": plot_costs,
    "utilisation": plot_utilisation,
    "transitions": plot_transitions,
}
"""Every figure, by file name, in the order of the report."""


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG (dpi 120, tight bounding box) atomically (a reader sees the old file
    or the new one), making the folder if needed; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_png(path, fig, dpi=DPI)
    return path


def save_all_figures(data: RunData, folder: str | Path) -> list[Path]:
    """Draw every figure of :data:`ALL_FIGURES` and write it as ``<folder>/<name>.png``."""
    return [save_figure(plot(data), Path(folder) / f"{name}.png") for name, plot in ALL_FIGURES.items()]
