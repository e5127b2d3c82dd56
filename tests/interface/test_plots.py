"""Figures of saved results (sim/present/plots.py): every function on a small real batch and on a
single run; axes, labels, one artist per scenario, the same colour for a scenario
everywhere, and the plotted numbers against the tables they come from."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from sim import simulate
from sim.experiments.batch import BatchSpec, run_batch, scenario_entry
from sim.params import load_scenario
from sim.present.plots import (
    ALL_FIGURES,
    SCENARIO_PALETTE,
    STEP_COLORS,
    STEP_LABELS,
    cost_means,
    ladder_means,
    placement_curves,
    plot_caseload,
    plot_costs,
    plot_followup_delay,
    plot_ladder,
    plot_survival,
    plot_transitions,
    save_all_figures,
    save_figure,
    scenario_colors,
    transition_counts,
)
from sim.results.indicators import PLACEMENT_TYPES, km_median
from sim.storage.output import write_result
from sim.storage.rundata import RunData, load_run

SCENARIOS = ("danish_baseline", "swedish_model")
QUICK = {"run.warmup_years": 0.5}


def quick_entry(name: str):
    entry = scenario_entry(name)
    return dataclasses.replace(entry, scenario=entry.scenario.with_overrides(**QUICK))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> RunData:
    out = tmp_path_factory.mktemp("plots") / "batch"
    spec = BatchSpec(scenarios=[quick_entry(n) for n in SCENARIOS], replications=2, years=1.0, workers=1)
    run_batch(spec, out)
    return load_run(out)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> RunData:
    scenario = load_scenario("swedish_model").with_overrides(**QUICK)
    folder = tmp_path_factory.mktemp("plots") / "run"
    folder.mkdir()
    write_result(simulate(scenario, seed=3, years=1.0), folder)
    return load_run(folder)


@pytest.fixture(params=[pytest.param("batch", marks=pytest.mark.slow), "single"])
def data(request) -> RunData:
    return request.getfixturevalue(request.param)


def expected_axes(name: str, n_scenarios: int) -> int:
    return {
        "survival": len(PLACEMENT_TYPES),
        "caseload": 2,
        "ladder": n_scenarios,
        "followup_delay": 2,
        "costs": 2,
        "utilisation": 1,
        "transitions": n_scenarios,
    }[name]


def labelled(artists) -> list:
    return [a for a in artists if not a.get_label().startswith("_")]


def same_colour(a, b) -> bool:
    return np.allclose(to_rgba(a), to_rgba(b))


def _legend_texts(fig: Figure) -> list[str]:
    """Every legend entry of the figure: its own legends and those of its axes."""
    texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    return texts


# ----------------------------------------------------------------------------- every figure


@pytest.mark.parametrize("name", list(ALL_FIGURES))
def test_every_figure_has_titles_labels_and_the_expected_axes(data, name):
    fig = ALL_FIGURES[name](data)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle().strip()
    assert len(fig.axes) == expected_axes(name, len(data.scenarios))
    for ax in fig.axes:
        assert ax.get_title().strip(), f"{name}: an axes without a title"
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), f"{name}: {ax.get_title()} lacks a label"
    if name != "transitions":  # the heat maps print their numbers in the cells instead
        assert _legend_texts(fig), f"{name}: no legend"


def test_all_figures_are_those_of_the_issues_in_order():
    assert list(ALL_FIGURES) == [
        "survival",
        "caseload",
        "ladder",
        "followup_delay",
        "costs",
        "utilisation",
        "transitions",
    ]


def test_scenario_colors_follow_the_position():
    colors = scenario_colors(["a", "b", "c"])
    assert list(colors.values()) == list(SCENARIO_PALETTE[:3])
    assert scenario_colors(["x", "y"]) == {"x": SCENARIO_PALETTE[0], "y": SCENARIO_PALETTE[1]}
    many = scenario_colors([f"s{i}" for i in range(len(SCENARIO_PALETTE) + 1)])
    assert many[f"s{len(SCENARIO_PALETTE)}"] == SCENARIO_PALETTE[0]
    assert len(set(SCENARIO_PALETTE)) == len(SCENARIO_PALETTE)
    assert len({STEP_COLORS[k] for k in range(6)}) == 6


@pytest.mark.slow
def test_a_scenario_has_the_same_colour_in_every_figure(batch):
    colors = scenario_colors(batch.scenarios)
    assert colors[SCENARIOS[0]] != colors[SCENARIOS[1]]
    survival = plot_survival(batch)
    caseload = plot_caseload(batch)
    followup = plot_followup_delay(batch)
    ladder = plot_ladder(batch)
    costs = plot_costs(batch)
    transitions = plot_transitions(batch)
    for name in batch.scenarios:
        expected = colors[name]
        (line,) = [ln for ln in labelled(survival.axes[1].lines) if ln.get_label().startswith(name + ":")]
        assert same_colour(line.get_color(), expected)
        for ax in caseload.axes:
            (hist,) = [p for p in labelled(ax.patches) if p.get_label().startswith(name + " (")]
            assert same_colour(hist.get_edgecolor(), expected)
        (bars,) = [c for c in followup.axes[0].containers if c.get_label().startswith(name + ":")]
        assert same_colour(bars.lines[0].get_color(), expected)
        for fig in (ladder, transitions):
            (ax,) = [a for a in fig.axes if a.get_title() == name]
            assert same_colour(ax.title.get_color(), expected)
        groups = costs.axes[0].child_axes[0].get_xticklabels()
        (label,) = [t for t in groups if t.get_text().strip() == name]
        assert same_colour(label.get_color(), expected)
    # and a different figure of the same data draws the same colours again
    again = plot_survival(batch)
    for a, b in zip(labelled(survival.axes[0].lines), labelled(again.axes[0].lines)):
        assert a.get_label() == b.get_label() and same_colour(a.get_color(), b.get_color())


# ----------------------------------------------------------------------------- survival


def test_survival_draws_one_kaplan_meier_curve_per_scenario_and_type(data):
    fig = plot_survival(data)
    placements = data.table("placements")
    for ax, (step, kind) in zip(fig.axes, PLACEMENT_TYPES.items()):
        assert kind in ax.get_title()
        assert ax.get_xlabel() == "days since placement" and ax.get_ylabel() == "share still placed"
        curves = labelled(ax.lines)
        assert [c.get_label().split(":")[0] for c in curves] == list(data.scenarios)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(legend) == len(data.scenarios)
        for name, line in zip(data.scenarios, curves):
            curve, n = placement_curves(placements[name], step)
            frame = placements[name]
            started = frame[(frame["start_day"] >= 0) & (frame["step"] == step)]
            assert n == len(started)
            assert f"n = {n}" in line.get_label() or n == 0
            if n == 0:
                continue
            # the step curve is the KM estimate of the placements that started in the window
            np.testing.assert_allclose(line.get_xdata(), curve["time"])
            np.testing.assert_allclose(line.get_ydata(), curve["survival"])
            assert not started["left_truncated"].any()
            median = km_median(started["duration_days"], ~started["censored"])
            if math.isnan(median):
                assert "median not reached" in line.get_label()
            else:
                assert f"median {median:.0f} d" in line.get_label()
        # one confidence band per scenario with placements
        with_data = [c for c in curves if "no placements" not in c.get_label()]
        assert len(ax.collections) == len(with_data)


@pytest.mark.slow
def test_survival_reports_the_logrank_test_against_the_first_scenario(batch):
    fig = plot_survival(batch)
    foster = labelled(fig.axes[1].lines)
    assert "log-rank" not in foster[0].get_label()
    assert "log-rank p = " in foster[1].get_label()


# ----------------------------------------------------------------------------- caseload


def test_caseload_histograms_bands_and_cap(data):
    fig = plot_caseload(data)
    ax_cases, ax_points = fig.axes
    table = data.table("caseload")
    for ax in (ax_cases, ax_points):
        hists = [p for p in labelled(ax.patches) if p.get_label().split(" (")[0] in data.scenarios]
        assert [h.get_label().split(" (")[0] for h in hists] == list(data.scenarios)
    for name in data.scenarios:
        assert any(t.startswith(f"{name} (mean {table[name]['cases'].mean():.1f})") for t in _legend_texts(fig))
    bands = {"Swedish model: 15-25 cases": (15, 25), "Danish practice: 30-60 cases": (30, 60)}
    spans = {p.get_label(): p for p in ax_cases.patches if "cases" in p.get_label() and ":" in p.get_label()}
    assert set(spans) == set(bands)
    for label, (low, high) in bands.items():
        span = spans[label]  # a Rectangle in data x, axes y
        assert (span.get_x(), span.get_x() + span.get_width()) == (low, high)
    caps = [ln for ln in ax_points.lines if ln.get_label().startswith("point cap")]
    assert [ln.get_xdata()[0] for ln in caps] == [120.0]
    assert "swedish_model" in caps[0].get_label()


@pytest.mark.slow
def test_caseload_histogram_is_a_share_of_snapshots(batch):
    fig = plot_caseload(batch)
    ax_cases = fig.axes[0]
    for name in batch.scenarios:
        (hist,) = [p for p in labelled(ax_cases.patches) if p.get_label().startswith(name + " (")]
        xy = hist.get_xy()
        # step outline: heights at the left edge of every bin; bins are one case wide
        heights = xy[1:-1:2, 1]
        assert heights.sum() == pytest.approx(1.0)
        mode = xy[1 + 2 * int(np.argmax(heights)), 0] + 0.5
        counts = batch.table("caseload")[name]["cases"].value_counts()
        assert mode == counts.idxmax()


# ----------------------------------------------------------------------------- ladder


def test_ladder_stacks_the_mean_children_on_each_step(data):
    fig = plot_ladder(data)
    ladder = data.table("ladder")
    for ax, name in zip(fig.axes, data.scenarios):
        assert ax.get_title() == name
        assert ax.get_xlabel().startswith("years") and ax.get_ylabel().startswith("children")
        stacks = ax.collections
        assert [c.get_label() for c in stacks] == [STEP_LABELS[k] for k in range(1, 6)]
        for k, c in zip(range(1, 6), stacks):
            assert same_colour(c.get_facecolor()[0], STEP_COLORS[k])
        mean = ladder_means(ladder[name])
        # the top of the stack is the mean number of children on the ladder
        top = stacks[-1].get_paths()[0].vertices[:, 1].max()
        assert top == pytest.approx(mean.sum(axis=1).max())
        per_time = ladder[name].groupby(["replication", "time_days"])["children"].sum()
        assert mean.sum(axis=1).mean() == pytest.approx(per_time.groupby("time_days").mean().mean())
    assert set(_legend_texts(fig)) == set(STEP_LABELS.values())


# ----------------------------------------------------------------------------- follow-ups


def test_followup_delay_shows_achieved_against_policy_per_scenario(data):
    fig = plot_followup_delay(data)
    ax_interval, ax_delay = fig.axes
    bars = [c for c in ax_interval.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label().split(":")[0] for c in bars] == list(data.scenarios)
    followups = data.table("followups")
    for name, container in zip(data.scenarios, bars):
        done = followups[name][followups[name]["done_day"].notna()]
        policies = np.unique(done["policy_interval_days"].round(2))
        marker = container.lines[0]
        assert len(marker.get_xdata()) == len(policies)
        means = done.groupby(done["policy_interval_days"].round(2))["interval_days"].mean()
        np.testing.assert_allclose(marker.get_ydata(), means.to_numpy())
        assert f"{len(done)} done" in container.get_label()
    (identity,) = [ln for ln in ax_interval.lines if ln.get_label() == "achieved = policy"]
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    hists = [p for p in labelled(ax_delay.patches) if p.get_label().split(" (")[0] in data.scenarios]
    assert len(hists) == len(data.scenarios)
    assert any(ln.get_label().startswith("on time") for ln in ax_delay.lines)


# ----------------------------------------------------------------------------- costs


@pytest.mark.slow
def test_costs_stack_one_bar_group_per_scenario_and_the_paired_difference(batch):
    fig = plot_costs(batch)
    ax_bars, ax_diff = fig.axes
    containers = [c for c in ax_bars.containers if isinstance(c, BarContainer)]
    assert len(containers) == 6 * len(batch.scenarios)  # steps 1-5 and staff, per scenario
    costs = batch.table("costs")
    for name in batch.scenarios:
        patches = [p for c in containers for p in c if p.get_gid().startswith(name + ":")]
        years = cost_means(costs[name]).index
        assert len(patches) == 6 * len(years)
        total = sum(p.get_height() for p in patches)
        expected = costs[name].groupby("replication")["cost_dkk"].sum().mean() / 1e6
        assert total == pytest.approx(expected)
    legend = [t.get_text() for t in ax_bars.get_legend().get_texts()]
    assert set(legend) == {"staff", *STEP_LABELS.values()}
    # the difference panel: one point per other scenario, at the comparison's paired mean
    diffs = [c for c in ax_diff.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in diffs] == [f"{n} - {batch.scenarios[0]}" for n in batch.scenarios[1:]]
    comparison = batch.comparison.set_index(["indicator", "scenario"])
    marker = diffs[0].lines[0]
    assert marker.get_ydata()[0] == pytest.approx(
        comparison.loc[("cost_total_per_year", batch.scenarios[1]), "diff_mean"] / 1e6
    )
    low = comparison.loc[("cost_total_per_year", batch.scenarios[1]), "diff_ci_low"] / 1e6
    high = comparison.loc[("cost_total_per_year", batch.scenarios[1]), "diff_ci_high"] / 1e6
    segments = diffs[0].lines[2][0].get_segments()
    assert segments[0][:, 1].min() == pytest.approx(low) and segments[0][:, 1].max() == pytest.approx(high)


def test_costs_of_a_single_run_say_there_is_no_difference(single):
    fig = plot_costs(single)
    ax_diff = fig.axes[1]
    assert not [c for c in ax_diff.containers if isinstance(c, ErrorbarContainer)]
    assert any("single run" in t.get_text() for t in ax_diff.texts)
    assert len([c for c in fig.axes[0].containers if isinstance(c, BarContainer)]) == 6


# ----------------------------------------------------------------------------- transitions


def test_transition_counts_of_a_hand_made_history():
    # replication 0, child 1 (case 10): step 1 -> 2 -> 4 -> closed (need met)
    # replication 0, child 2 (case 20): step 2 -> 1, still on step 1 at the end (censored: left out)
    # replication 1, child 1 (case 10): step 4 -> aged out; the same child and case in another
    #   replication must not continue replication 0's history
    spells = pd.DataFrame(
        [
            (0, 1, 10, 1, 0.0, 5.0, "moved", False),
            (0, 1, 10, 2, 5.0, 9.0, "moved", False),
            (0, 1, 10, 4, 9.0, 20.0, "need_met", False),
            (0, 2, 20, 2, -3.0, 4.0, "moved", False),
            (0, 2, 20, 1, 4.0, np.nan, "censored", True),
            (1, 1, 10, 4, 2.0, 7.0, "aged_out", False),
        ],
        columns=["replication", "child", "case", "step", "start_day", "end_day", "end_reason", "censored"],
    )
    counts = transition_counts(spells.sample(frac=1.0, random_state=3))  # order must not matter
    assert list(counts.index) == [STEP_LABELS[k] for k in range(1, 6)]
    assert list(counts.columns) == [STEP_LABELS[k] for k in range(1, 6)] + ["closed: need met", "closed: aged out"]
    expected = pd.DataFrame(0, index=counts.index, columns=counts.columns)
    expected.loc[STEP_LABELS[1], STEP_LABELS[2]] = 1
    expected.loc[STEP_LABELS[2], STEP_LABELS[4]] = 1
    expected.loc[STEP_LABELS[4], "closed: need met"] = 1
    expected.loc[STEP_LABELS[2], STEP_LABELS[1]] = 1
    expected.loc[STEP_LABELS[4], "closed: aged out"] = 1
    pd.testing.assert_frame_equal(counts, expected, check_names=False)
    assert int(counts.to_numpy().sum()) == 5


def test_transitions_heat_map_per_scenario_is_row_normalised(data):
    fig = plot_transitions(data)
    spells = data.table("spells")
    for ax, name in zip(fig.axes, data.scenarios):
        (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
        shares = np.asarray(image.get_array(), dtype=float)
        counts = transition_counts(spells[name])
        assert shares.shape == counts.shape
        rows = counts.sum(axis=1).to_numpy() > 0
        np.testing.assert_allclose(np.nansum(shares[rows], axis=1), 1.0)
        ended = spells[name][~spells[name]["censored"]]
        assert counts.to_numpy().sum() == len(ended)  # every ended spell is counted once
        assert [t.get_text() for t in ax.get_xticklabels()] == list(counts.columns)
        assert ax.get_xlabel().startswith("to step") and ax.get_ylabel().startswith("from step")
        cell_texts = [t.get_text() for t in ax.texts]
        assert len(cell_texts) == int((counts.to_numpy() > 0).sum())


# ----------------------------------------------------------------------------- saving


@pytest.mark.slow
def test_save_figure_writes_a_png_at_120_dpi(batch, tmp_path):
    fig = plot_caseload(batch)
    path = save_figure(fig, tmp_path / "sub" / "caseload.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(path) as image:
        assert image.info.get("dpi", (0, 0))[0] == pytest.approx(120, abs=0.5)


def test_figures_show_themselves_as_png_in_notebooks(single):
    # without pyplot there is no inline backend: the figure itself must give a PNG
    png = plot_ladder(single)._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_save_all_figures_writes_one_file_per_figure(single, tmp_path):
    paths = save_all_figures(single, tmp_path)
    assert [p.name for p in paths] == [f"{name}.png" for name in ALL_FIGURES]
    assert all(p.stat().st_size > 10_000 for p in paths)
