"""Warm-up analysis (sim/experiments/warmup.py): Welch's moving average and MSER-5 on hand-made and
synthetic series, indicator series read from a hand-made result, the analysis and the plot on
a short run of the shipped baseline, and the ``warmup`` command driven through its own
argparse parser (independent of whether sim/cli.py has wired it in)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.cli.commands import warmup as warmup_command
from sim.cli.common import UsageError
from sim.constants import DAYS_PER_YEAR
from sim.experiments.warmup import (
    DEFAULT_INDICATORS,
    INDICATORS,
    WarmupReport,
    indicator_series,
    mser5,
    mser5_statistics,
    warmup_analysis,
    welch_moving_average,
)
from sim.present.warmup import plot_warmup
from sim.storage.output import OutputError

# ----------------------------------------------------------------------------- drift after the warm-up


def _hand_report(values: np.ndarray, warmup_years: float) -> WarmupReport:
    """A report on hand-made weekly values (replications x weeks)."""
    time_days = np.arange(values.shape[1]) * 7.0
    return WarmupReport(
        scenario_name="hand",
        scenario_warmup_years=warmup_years,
        replications=values.shape[0],
        years=values.shape[1] * 7.0 / DAYS_PER_YEAR,
        seed=1,
        window=4,
        empty=False,
        seeds=[],
        time_days=time_days,
        values={"children_in_care": values},
        welch={"children_in_care": welch_moving_average(values, 4)},
        mser5_periods={"children_in_care": mser5(values.mean(axis=0))},
        mser5_limit_periods=0,
    )


def test_drift_after_the_warmup_sees_a_slow_rise_and_not_noise():
    """Half of the years after the warm-up against the other half, per replication: a rise of 4 %
    over the measured years is found with the right size (about half of it between the halves'
    means), stationary noise of 14 % per replication (a 5,000-children municipality) is not, and
    a transient that ends within the warm-up does not count."""
    rng = np.random.default_rng(3)
    weeks, reps = 12 * 52, 200
    t = np.arange(weeks) / 52.0
    level = rng.normal(100.0, 14.0, size=(reps, 1))  # each replication its own level
    noise = rng.normal(0.0, 2.0, size=(reps, weeks))
    flat = _hand_report(level + noise, warmup_years=3.0)
    mean, low, high = flat.drift("children_in_care")
    assert low < 0.0 < high and high - low < 2.0
    rising = _hand_report(level + noise + np.where(t >= 3.0, 4.0 * (t - 3.0) / 9.0, 0.0), warmup_years=3.0)
    mean, low, high = rising.drift("children_in_care")
    assert 1.5 < mean < 2.5 and low > 0.0
    transient = _hand_report(level + noise - 20.0 * np.exp(-t / 0.4), warmup_years=3.0)
    mean, low, high = transient.drift("children_in_care")
    assert low < 0.0 < high
    columns = flat.suggestions().columns.tolist()
    assert columns[-3:] == ["drift_percent", "drift_low_percent", "drift_high_percent"]


def test_drift_is_nan_when_nothing_is_left_after_the_warmup():
    values = np.ones((3, 60))
    assert all(math.isnan(v) for v in _hand_report(values, warmup_years=5.0).drift("children_in_care"))
    assert all(math.isnan(v) for v in _hand_report(np.zeros((3, 60)), warmup_years=0.0).drift("children_in_care"))


# ----------------------------------------------------------------------------- Welch


def test_welch_of_a_constant_matrix_is_constant_where_defined():
    values = np.full((3, 40), 7.5)
    smoothed = welch_moving_average(values, window=5)
    assert smoothed.shape == (40,)
    np.testing.assert_allclose(smoothed[:35], 7.5)
    assert np.isnan(smoothed[35:]).all()  # the last `window` periods have no centred window


def test_welch_averages_replications_then_shrinks_the_window_at_the_start():
    # The replications average to squares 0, 1, 4, ..., 49; half-width 2 (Law & Kelton).
    squares = np.arange(8, dtype=float) ** 2
    values = np.vstack([squares + 3.0, squares - 3.0])
    smoothed = welch_moving_average(values, window=2)
    expected = [
        0.0,  # i = 1: Y1
        (0 + 1 + 4) / 3,  # i = 2: Y1..Y3 (2i - 1 = 3 points)
        (0 + 1 + 4 + 9 + 16) / 5,  # i = 3: full window Y1..Y5
        (1 + 4 + 9 + 16 + 25) / 5,
        (4 + 9 + 16 + 25 + 36) / 5,
        (9 + 16 + 25 + 36 + 49) / 5,  # i = 6 = m - w: the last defined value
    ]
    np.testing.assert_allclose(smoothed[:6], expected)
    assert np.isnan(smoothed[6:]).all()


def test_welch_window_zero_is_the_mean_of_the_replications_and_one_row_is_one_replication():
    values = np.array([[1.0, 5.0, 2.0], [3.0, 1.0, 6.0]])
    np.testing.assert_allclose(welch_moving_average(values, 0), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(welch_moving_average(values[0], 1)[:2], [1.0, (1 + 5 + 2) / 3])
    with pytest.raises(ValueError, match="window"):
        welch_moving_average(values, -1)


# ----------------------------------------------------------------------------- MSER-5


def test_mser5_statistic_and_point_on_a_hand_example():
    # Batch means 10, 0, 2. d = 0: mean 4, squared deviations 36 + 16 + 4 over 3^2;
    # d = 1: mean 1, squared deviations 1 + 1 over 2^2. At most half the batches: d <= 1.
    series = np.repeat([10.0, 0.0, 2.0], 5)
    np.testing.assert_allclose(mser5_statistics(series), [56 / 9, 2 / 4])
    assert mser5(series) == 5  # in original periods


def test_mser5_ignores_a_remainder_shorter_than_a_batch_and_rejects_short_series():
    series = np.concatenate([np.repeat([10.0, 0.0, 2.0], 5), [1e6, -1e6]])
    assert mser5(series) == 5
    np.testing.assert_allclose(mser5_statistics(series), [56 / 9, 2 / 4])
    with pytest.raises(ValueError, match="at least"):
        mser5(np.arange(9.0))
    with pytest.raises(ValueError, match="finite"):
        mser5(np.array([1.0] * 9 + [np.nan] * 6))


def test_mser5_finds_the_end_of_an_exponential_transient():
    tau, level, start, sd = 50.0, 10.0, 20.0, 1.0
    t = np.arange(1000)
    noise = np.random.default_rng(20240607).normal(0.0, sd, t.size)
    series = level + start * np.exp(-t / tau) + noise
    point = mser5(series)
    assert point % 5 == 0
    # Not before the transient has fallen to twice the noise, and not long after it has
    # fallen to a fiftieth of it.
    assert tau * math.log(start / (2 * sd)) <= point <= tau * math.log(start / (sd / 50))


def test_mser5_keeps_almost_all_of_a_stationary_series():
    noise = np.random.default_rng(7).normal(10.0, 1.0, 1000)
    assert mser5(noise) <= 100  # at most a tenth of the series
    assert mser5(np.tile([1.0, 3.0], 200)) <= 10  # no trend at all: only batch noise


def test_mser5_never_truncates_more_than_the_allowed_fraction():
    rising = np.arange(200.0)  # never settles: MSER-5 goes to its limit
    assert mser5(rising) == 100
    assert mser5(rising, max_fraction=0.25) == 50


# ----------------------------------------------------------------------------- reading a result


def _fake_result():
    caseload = pd.DataFrame(
        {
            "time_days": [0.0, 0.0, 0.0, 7.0, 7.0, 7.0],
            "caseworker": [0, 1, 2, 0, 1, 2],
            "cases": [0, 3, 6, 10, 20, 30],
            "points": [0.0, 12.0, 24.0, 40.0, 80.0, 90.0],
            "task_queue": [0, 1, 2, 4, 5, 9],
            "waiting_list": [0, 0, 0, 4, 4, 4],
        }
    )
    ladder = pd.DataFrame(
        {
            "time_days": [0.0] * 5 + [7.0] * 5,
            "step": [1, 2, 3, 4, 5] * 2,
            "children": [1, 2, 0, 0, 0, 10, 20, 3, 4, 5],
        }
    )
    return SimpleNamespace(caseload=caseload, ladder=ladder)


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        ("mean_caseload_cases", [3.0, 20.0]),
        ("mean_caseload_points", [12.0, 70.0]),
        ("task_queue", [1.0, 6.0]),
        ("waiting_list", [0.0, 4.0]),
        ("children_in_care", [0.0, 12.0]),
        ("children_on_ladder", [3.0, 42.0]),
    ],
)
def test_indicator_series_on_a_hand_made_result(indicator, expected):
    series = indicator_series(_fake_result(), indicator)
    assert isinstance(series, pd.Series)
    assert series.index.name == "time_days"
    assert series.index.tolist() == [0.0, 7.0]
    np.testing.assert_allclose(series.to_numpy(), expected)


def test_indicator_series_counts_zero_in_care_when_no_placement_rows_exist():
    result = _fake_result()
    result.ladder = result.ladder[result.ladder["step"] <= 2]
    np.testing.assert_allclose(indicator_series(result, "children_in_care").to_numpy(), [0.0, 0.0])


def test_unknown_indicator_names_the_valid_ones():
    with pytest.raises(ValueError) as info:
        indicator_series(_fake_result(), "mean_caseload")
    for name in INDICATORS:
        assert name in str(info.value)


# ----------------------------------------------------------------------------- the analysis


@pytest.fixture(scope="module")
def empty_report() -> WarmupReport:
    """Two replications of three years of the baseline from an empty system."""
    return warmup_analysis(load_scenario("danish_baseline"), replications=2, years=3, empty=True, window=13)


def test_analysis_from_empty_shows_children_in_care_rising_from_zero(empty_report):
    report = empty_report
    assert report.indicators == DEFAULT_INDICATORS
    periods = report.time_days.size
    assert report.time_days[0] == 0.0
    np.testing.assert_allclose(np.diff(report.time_days), 7.0)
    assert periods == math.ceil(3 * DAYS_PER_YEAR / 7.0)
    care = report.values["children_in_care"]
    assert care.shape == (2, periods)
    assert (care[:, 0] == 0).all()
    assert (care[:, periods // 2 :] > 0).all()
    assert care[:, -periods // 4 :].mean() > care[:, : periods // 4].mean()
    assert not np.array_equal(care[0], care[1])  # the replications use different seeds
    assert report.suggested_warmup_years > 0
    assert report.suggested_warmup_years * 4 == int(report.suggested_warmup_years * 4)  # quarter years
    assert report.suggested_warmup_years * DAYS_PER_YEAR >= report.suggestions()["mser5_days"].max()


def test_report_tables(empty_report):
    report = empty_report
    periods = report.time_days.size
    table = report.table()
    assert list(table.columns) == ["time_days", "indicator", "mean", "welch"]
    assert len(table) == periods * len(report.indicators)
    care = table[table["indicator"] == "children_in_care"]
    np.testing.assert_allclose(care["mean"].to_numpy(), report.values["children_in_care"].mean(axis=0))
    np.testing.assert_allclose(care["welch"].to_numpy(), welch_moving_average(report.values["children_in_care"], 13))
    assert care["welch"].iloc[-13:].isna().all() and care["welch"].iloc[:-13].notna().all()

    suggestions = report.suggestions()
    assert list(suggestions.columns[:3]) == ["indicator", "mser5_days", "mser5_years"]
    assert suggestions["indicator"].tolist() == list(report.indicators)
    for _, row in suggestions.iterrows():
        mean = report.values[row["indicator"]].mean(axis=0)
        assert row["mser5_days"] == report.time_days[mser5(mean)]
        assert row["mser5_years"] == pytest.approx(row["mser5_days"] / DAYS_PER_YEAR)


def test_analysis_without_empty_starts_from_the_initial_stock():
    scenario = load_scenario("danish_baseline")
    report = warmup_analysis(scenario, replications=2, years=0.5, indicators=["children_in_care"], window=2)
    expected = sum(sum(row) for row in scenario.initial_stock.open_cases_per_1000_children[2:])
    expected *= scenario.municipality.children / 1000
    assert expected > 0
    assert report.time_days[0] == 0.0  # no warm-up cut
    # each cell of the stock is rounded at random to whole cases: within one case per cell
    assert (abs(report.values["children_in_care"][:, 0] - expected) <= 18).all()
    assert report.scenario_warmup_years == scenario.run.warmup_years


def test_analysis_gives_the_same_report_in_one_process_and_in_two(empty_report):
    """The replications run on the package's replication loop; the report does not depend on
    how many worker processes ran them, nor on the order they finished in."""
    calls = []
    pooled = warmup_analysis(
        load_scenario("danish_baseline"),
        replications=2,
        years=3,
        empty=True,
        window=13,
        workers=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    in_process = warmup_analysis(
        load_scenario("danish_baseline"), replications=2, years=3, empty=True, window=13, workers=1
    )
    for report in (pooled, in_process):
        np.testing.assert_array_equal(report.time_days, empty_report.time_days)
        for name in empty_report.indicators:
            np.testing.assert_array_equal(report.values[name], empty_report.values[name])
        assert report.mser5_periods == empty_report.mser5_periods
    assert sorted(calls) == [(1, 2), (2, 2)]


@pytest.mark.parametrize("workers", [0, -1, True, 1.5])
def test_analysis_rejects_a_bad_number_of_workers_before_running(workers):
    with pytest.raises(ValueError, match="workers"):
        warmup_analysis(load_scenario("danish_baseline"), replications=2, years=50, workers=workers)


def test_analysis_rejects_unknown_indicators_before_running():
    with pytest.raises(ValueError, match="children_in_care"):
        warmup_analysis(load_scenario("danish_baseline"), replications=2, years=50, indicators=["nope"])


def test_plot_has_a_labelled_panel_per_indicator(empty_report):
    fig = plot_warmup(empty_report)
    axes = fig.axes
    assert len(axes) == len(empty_report.indicators)
    for ax, name in zip(axes, empty_report.indicators):
        assert name in ax.get_title()
        assert ax.get_xlabel() == "years since start"
        assert f"({INDICATORS[name].unit})" in ax.get_ylabel()
        assert ax.get_legend() is not None
        assert len(ax.get_lines()) >= empty_report.replications + 2  # replications, Welch, MSER-5


# ----------------------------------------------------------------------------- the command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="welfare-sim")
    warmup_command.register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv) -> int:
    args = _parser().parse_args(["warmup", *map(str, argv)])
    return args.func(args)


def test_command_defaults():
    args = _parser().parse_args(["warmup", "danish_baseline"])
    assert (args.replications, args.years, args.seed, args.window, args.empty, args.out) == (
        5,
        12.0,
        1,
        26,
        False,
        None,
    )
    assert args.indicators is None  # the command falls back to DEFAULT_INDICATORS
    args = _parser().parse_args(["warmup", "x", "--indicator", "waiting_list", "--indicator", "task_queue"])
    assert args.indicators == ["waiting_list", "task_queue"]


def test_command_writes_the_three_files(tmp_path, capsys):
    out = tmp_path / "w"
    code = _run("danish_baseline", "--replications", 2, "--years", 1, "--window", 4, "--empty", "--out", out)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["suggestions.csv", "warmup.csv", "warmup.png"]
    table = pd.read_csv(out / "warmup.csv")
    assert list(table.columns) == ["time_days", "indicator", "mean", "welch"]
    assert set(table["indicator"]) == set(DEFAULT_INDICATORS)
    suggestions = pd.read_csv(out / "suggestions.csv")
    assert suggestions["indicator"].tolist() == list(DEFAULT_INDICATORS)
    assert (out / "warmup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    for name in DEFAULT_INDICATORS:
        assert name in printed
    scenario = load_scenario("danish_baseline")
    assert f"(the scenario uses {scenario.run.warmup_years:g} years)" in printed
    assert "suggested warm-up: " in printed
    assert f"drift after {scenario.run.warmup_years:g} y, % [95 % CI]" in printed
    assert list(suggestions.columns[-3:]) == ["drift_percent", "drift_low_percent", "drift_high_percent"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--replications", "1"], "--replications"),
        (["--years", "0"], "--years"),
        (["--years", "-2"], "--years"),
        (["--years", "nan"], "--years"),
        (["--years", "inf"], "--years"),
        (["--window", "0"], "--window"),
        (["--workers", "0"], "--workers"),
        (["--indicator", "children_in_care", "--indicator", "nope"], "--indicator"),
        (["--years", "0.5", "--window", "26"], "--window"),  # 27 snapshots: no room for the window
    ],
)
def test_command_rejects_bad_values_with_one_line_and_writes_nothing(tmp_path, argv, option):
    out = tmp_path / "w"
    with pytest.raises(UsageError) as info:
        _run("danish_baseline", *argv, "--out", out)
    message = str(info.value)
    assert message.startswith(f"{option}: ") and "\n" not in message
    assert not out.exists()


def test_command_refuses_a_non_empty_output_folder_before_running(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError):
        _run("danish_baseline", "--years", 100, "--window", 4, "--out", out)  # would take minutes if it ran
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_command_default_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run("danish_baseline", "--replications", 2, "--years", 0.5, "--window", 2) == 0
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("warmup-danish_baseline-")
    assert (Path(folder) / "warmup.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["danish_baseline", "swedish_model"])
def test_the_shipped_scenarios_start_in_their_steady_state_without_drift(name):
    """Issue 10: from the initial stock (per 1,000 children, by step and need, with the children's
    mean age) and the scenario's warm-up, the measured years do not drift: children in care and
    the spending rate on measures in the last measured years are within 8 % of the first ones
    (the review found a drift of 272 to 234 M DKK a year in the old baseline: 14 %)."""
    scenario = load_scenario(name)
    first, last = [], []
    for r in range(4):
        result = simulate(scenario, seed=[11, r], years=8)
        for indicator in ("children_in_care", "spending_rate"):
            series = indicator_series(result, indicator)
            years = series.index / DAYS_PER_YEAR
            first.append((indicator, series[years < 2].mean()))
            last.append((indicator, series[years >= 6].mean()))
    for indicator in ("children_in_care", "spending_rate"):
        a = np.mean([v for k, v in first if k == indicator])
        b = np.mean([v for k, v in last if k == indicator])
        assert abs(b - a) / a < 0.08, (indicator, a, b)


@pytest.mark.parametrize("rise", [0.0, 8.0])
def test_command_says_when_mser5_asks_for_more_than_a_drift_it_does_not_see(tmp_path, capsys, monkeypatch, rise):
    """MSER-5 past the scenario's warm-up: with no drift after the warm-up the command says the
    mean curve moves by itself; with a drift it sees, it does not."""
    rng = np.random.default_rng(5)
    weeks = 12 * 52
    t = np.arange(weeks) / 52.0
    values = rng.normal(100.0, 14.0, size=(64, 1)) + rng.normal(0.0, 2.0, size=(64, weeks)) + rise * t / 12.0
    report = _hand_report(values, warmup_years=3.0)
    report.mser5_periods["children_in_care"] = 300  # about 5.75 years
    monkeypatch.setattr("sim.experiments.warmup.warmup_analysis", lambda *args, **kwargs: report)
    code = _run("danish_baseline", "--replications", 64, "--indicator", "children_in_care", "--out", tmp_path / "w")
    assert code == 0
    printed = capsys.readouterr().out
    assert "suggested warm-up: 5.75 years" in printed
    assert ("no drift is seen after the scenario's 3 years" in printed) == (rise == 0.0)
