"""Planning (issue 5): parameter sweeps with common random numbers, and the staffing search.

The model runs on a small municipality (4,000 children, half a year of warm-up, one
measured year) so a level takes a tenth of a second. Thresholds of the search tests are
read from a sweep at run time, never copied from an earlier run.
"""

from __future__ import annotations

import math
import operator
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.batch import scenario_entry
from sim.experiments.planner import (
    PlannerError,
    Target,
    find_staffing,
    parameter_kind,
    parse_target,
    parse_values,
    run_sweep,
    sweep_entries,
)
from sim.params import ScenarioError
from sim.present.planner import write_staff_figure, write_sweep_figure
from sim.present.text import staff_text, sweep_text

GRID = "2:12:1"  # caseworkers of the brute-force sweep; the small scenario itself has 4
REPLICATIONS = 3
YEARS = 1.0
SEED = 7
WORKERS = 2


def write_small(folder: Path) -> Path:
    path = folder / "small.toml"
    path.write_text(
        'base = "danish_baseline"\n'
        'name = "small"\n'
        "[municipality]\nchildren = 4000\n"
        "[staffing]\ncaseworkers = 4\n"
        "[run]\nwarmup_years = 0.5\n"
        "[intake]\ndesk_staff = 1\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return write_small(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def sweep(small, tmp_path_factory):
    """The brute force: every level of GRID, one batch, common random numbers."""
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    result = run_sweep(
        small,
        "staffing.caseworkers",
        parse_values(GRID),
        replications=REPLICATIONS,
        seed=SEED,
        years=YEARS,
        workers=WORKERS,
        out=out,
    )
    assert not (out / "sweep.png").exists()  # the experiment writes data; the figure is the presentation's
    write_sweep_figure(result)
    return result


def brute_force(sweep, targets: list[Target], low: int, high: int) -> int | None:
    """The smallest level of the sweep in [low, high] meeting every target by the same
    confidence rule as the search: the whole 95 % interval on the target's side."""
    compare = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}

    def met(level: int, target: Target) -> bool:
        row = sweep.indicator(target.indicator).loc[level]
        bound = row["ci_low"] if target.op in (">=", ">") else row["ci_high"]
        return not math.isnan(bound) and bool(compare[target.op](bound, target.threshold))

    return next((n for n in range(low, high + 1) if all(met(n, t) for t in targets)), None)


# ----------------------------------------------------------------------------- values and targets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:60:5", [20, 25, 30, 35, 40, 45, 50, 55, 60]),
        ("20:62:5", [20, 25, 30, 35, 40, 45, 50, 55, 60]),
        ("3:6", [3, 4, 5, 6]),
        ("10:4:-3", [4, 7, 10]),
        ("20,25,30", [20, 25, 30]),
        (" 30 , 20 ", [20, 30]),
        ("7", [7]),
        ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
        ("0.5,1", [0.5, 1]),
    ],
)
def test_parse_values(text, expected):
    values = parse_values(text)
    assert values == pytest.approx(expected)
    assert [type(v) for v in values] == [type(e) for e in expected]  # whole numbers stay int


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("20:60:0", "step must not be 0"),
        ("", "no values"),
        ("  ", "no values"),
        ("a,b", "not a number"),
        ("20:x:5", "not a number"),
        ("20,,30", "empty"),
        ("60:20:5", "never gets"),
        ("1:2:3:4", "start:stop:step"),
        ("20,20", "twice"),
        ("nan", "finite"),
        ("0:100000:1", "at most"),
    ],
)
def test_parse_values_errors(text, words):
    with pytest.raises(ValueError, match=words):
        parse_values(text)


def test_parse_target():
    assert parse_target("followup_on_time_share>=0.9") == Target("followup_on_time_share", ">=", 0.9)
    assert parse_target(" mean_caseload_cases <= 25 ") == Target("mean_caseload_cases", "<=", 25.0)
    assert parse_target("investigations_within_deadline_share>95%") == Target(
        "investigations_within_deadline_share", ">", 0.95
    )
    assert parse_target("waiting_list_mean<3").op == "<"
    with pytest.raises(ValueError, match="valid: mean_caseload_cases"):
        parse_target("caseload<=25")
    for bad in ("followup_on_time_share=0.9", "followup_on_time_share>=", ">=0.9", "followup_on_time_share>=x"):
        with pytest.raises(ValueError, match="target"):
            parse_target(bad)
    with pytest.raises(ValueError, match="0 to 1"):
        parse_target("followup_on_time_share>=90")


def test_target_needs_the_whole_interval_on_its_side():
    at_least = Target("followup_on_time_share", ">=", 0.9)
    assert at_least.met(0.9, 0.99) and not at_least.met(0.89, 0.99) and not at_least.met(math.nan, math.nan)
    at_most = Target("mean_caseload_cases", "<=", 25.0)
    assert at_most.met(20.0, 25.0) and not at_most.met(20.0, 25.5)
    assert not Target("mean_caseload_cases", "<", 25.0).met(20.0, 25.0)


def test_sweep_entries_names_and_types(small):
    entry = scenario_entry(small)
    entries = sweep_entries(entry, "staffing.caseworkers", [3, 5.0])
    assert [e.scenario.staffing.caseworkers for e in entries] == [3, 5]
    assert all(type(e.scenario.staffing.caseworkers) is int for e in entries)
    assert [e.name for e in entries] == [e.scenario.name for e in entries]
    assert len({e.name for e in entries}) == 2
    assert all("/" not in e.name and "=" not in e.name for e in entries)
    with pytest.raises(PlannerError, match="whole number"):
        sweep_entries(entry, "staffing.caseworkers", [4.5])
    floats = sweep_entries(entry, "staffing.hours_per_week", [30, 37.5])
    assert [e.scenario.staffing.hours_per_week for e in floats] == [30.0, 37.5]
    assert parameter_kind(entry.scenario, "ladder.foster.cost_dkk_per_year") is float
    assert parameter_kind(entry.scenario, "assignment.point_cap") is float  # optional, None in the baseline
    with pytest.raises(ScenarioError, match="unknown parameter"):
        parameter_kind(entry.scenario, "staffing.caseworker")
    with pytest.raises(ScenarioError, match="unknown parameter"):
        parameter_kind(entry.scenario, "nosuch.section")
    with pytest.raises(PlannerError, match="not a numeric parameter"):
        parameter_kind(entry.scenario, "intake.desk")
    with pytest.raises(PlannerError, match="section"):
        parameter_kind(entry.scenario, "staffing")


# ----------------------------------------------------------------------------- sweeps


@pytest.mark.slow
def test_sweep_is_monotone_and_writes_its_files(sweep):
    levels = parse_values(GRID)
    caseload = sweep.indicator("mean_caseload_cases")
    assert list(caseload.index) == levels
    assert (caseload["n"] == REPLICATIONS).all()
    means = caseload["mean"].to_numpy()
    # With common random numbers more caseworkers never raise the mean caseload.
    assert all(b <= a for a, b in zip(means, means[1:])), means
    assert means[0] > means[-1]
    assert (caseload["ci_low"] <= caseload["mean"]).all() and (caseload["mean"] <= caseload["ci_high"]).all()
    # Staff cost rises with every caseworker.
    staff = sweep.indicator("cost_staff_per_year")["mean"].to_numpy()
    assert all(b > a for a, b in zip(staff, staff[1:]))

    out = sweep.out
    for name in ("sweep.csv", "sweep.png", "manifest.json", "comparison.csv", "replications.parquet"):
        assert (out / name).is_file(), name
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "tables").exists()  # light by default
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:8]) == ["parameter", "value", "scenario", "indicator", "n", "mean", "ci_low", "ci_high"]
    on_disk = table[table["indicator"] == "mean_caseload_cases"].set_index("value")["mean"]
    assert on_disk.to_numpy() == pytest.approx(means, rel=1e-12)
    # Each value's replications are the batch's own: replication r of every level uses seed [SEED, r].
    reps = sweep.batch.replications
    assert sorted({tuple(s) for s in reps["seed"]}) == [(SEED, r) for r in range(REPLICATIONS)]
    assert "small-caseworkers-7" in set(reps["scenario"])
    text = sweep_text(sweep.table, sweep.param, sweep.indicators)
    assert "staffing.caseworkers" in text and "mean_caseload_cases" in text


# ----------------------------------------------------------------------------- the staffing search


@pytest.mark.slow
@pytest.mark.parametrize("where", ["above the scenario's staffing", "below the scenario's staffing"])
def test_staffing_search_agrees_with_a_full_sweep(sweep, small, tmp_path, where):
    levels = parse_values(GRID)
    low, high = levels[0], levels[-1]
    start = scenario_entry(small).scenario.staffing.caseworkers
    # The caseload target: halfway between the upper interval ends at the chosen level and
    # one below, so it is met at the chosen level and not below (if the sweep is monotone).
    chosen = levels[len(levels) // 2] if where.startswith("above") else start - 1
    high_end = sweep.indicator("mean_caseload_cases")["ci_high"]
    threshold = (high_end[chosen] + high_end[chosen - 1]) / 2
    targets = [Target("mean_caseload_cases", "<=", threshold)]
    if where.startswith("above"):  # a second target, met lower down (3 caseworkers cannot keep up)
        targets.append(parse_target("followup_on_time_share>=0.5"))
    expected = brute_force(sweep, targets, low, high)
    assert expected is not None and low < expected <= high  # met inside the range, not at its bottom

    result = find_staffing(
        small,
        targets,
        replications=REPLICATIONS,
        seed=SEED,
        years=YEARS,
        workers=WORKERS,
        low=low,
        high=high,
        out=tmp_path / "staff",
    )
    assert result.found and result.answer == expected, (result.message, result.tried)
    assert result.message.startswith(f"smallest staffing meeting every target: {expected} caseworkers")
    # A search, not a grid: fewer levels, none twice, and the answer and one below among them.
    assert len(result.tried) < len(levels)
    assert len(set(result.tried)) == len(result.tried)
    assert {expected, expected - 1} <= set(result.tried)
    assert result.tried[0] == start
    assert result.at_answer.all_met and not result.below_answer.all_met
    # Common random numbers: every level tried gives exactly the sweep's numbers.
    for level in result.tried:
        ours = result.levels[level].stats.loc["mean_caseload_cases", "mean"]
        assert ours == pytest.approx(sweep.indicator("mean_caseload_cases").loc[level, "mean"], rel=1e-12)
    text = staff_text(result)
    assert text.splitlines()[0] == result.message
    assert f"{expected} caseworkers" in text and f"{expected - 1} caseworkers" in text and "NOT met" in text
    assert not (result.out / "staff.png").exists()
    assert write_staff_figure(result) == result.out / "staff.png"
    for name in ("staff.csv", "staff.json", "staff.png"):
        assert (result.out / name).is_file()
    assert sorted(int(p.name.split("=")[1]) for p in (result.out / "levels").iterdir()) == sorted(result.tried)


def test_target_never_met_within_high(small, tmp_path):
    result = find_staffing(
        small,
        ["mean_caseload_cases<=1"],
        replications=2,
        seed=SEED,
        years=0.5,
        workers=WORKERS,
        high=6,
        out=tmp_path / "staff",
    )
    assert not result.found and result.answer is None
    assert max(result.tried) == 6 and not result.levels[6].all_met
    assert "no staffing" in result.message and "6" in result.message
    assert "no staffing" in staff_text(result).splitlines()[0]
    assert (result.out / "staff.json").is_file()


# ----------------------------------------------------------------------------- the commands


def planner_main(monkeypatch, capsys, *argv) -> tuple[int, str, str]:
    """``sim.cli.main`` on the planner's commands."""
    try:
        code = main([str(a) for a in argv])
    except Exception as exc:
        pytest.fail(f"main{argv} raised {type(exc).__name__}: {exc}")
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sweep", "--param", "staffing.caseworkers", "--values", "20:10:0"], "--values: range step must not be 0"),
        (["sweep", "--param", "staffing.caseworkers", "--values", "a,b"], "--values: value: not a number"),
        (["sweep", "--param", "staffing.nosuch", "--values", "3,4"], "--param: staffing.nosuch: unknown parameter"),
        (["sweep", "--param", "intake.desk", "--values", "3,4"], "--param: intake.desk: not a numeric parameter"),
        (["sweep", "--param", "staffing.caseworkers", "--values", "3.5"], "whole number"),
        (
            ["sweep", "--param", "staffing.caseworkers", "--values", "0,4"],
            "--values: staffing.caseworkers: must be > 0",
        ),
        (["sweep", "--param", "staffing.caseworkers", "--values", "3,4", "--indicator", "nope"], "unknown indicator"),
        (["staff", "--target", "followup_on_time_share=0.9"], "--target: target 'followup_on_time_share=0.9'"),
        (["staff", "--target", "happiness>=0.9"], "unknown indicator 'happiness'"),
        (["staff", "--target", "mean_caseload_cases<=25", "--replications", "1"], "--replications: must be >= 2"),
        (["staff", "--target", "mean_caseload_cases<=25", "--low", "5", "--high", "4"], "--high: must be >= --low"),
    ],
)
def test_cli_bad_input_is_one_line(monkeypatch, capsys, small, tmp_path, args, words):
    out = tmp_path / "out"
    command, rest = args[0], args[1:]
    code, stdout, err = planner_main(monkeypatch, capsys, command, small, *rest, "--out", out, "--quiet")
    assert code == 2
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert words in err, err
    assert not out.exists()


@pytest.mark.slow
def test_cli_sweep_and_staff(monkeypatch, capsys, small, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, err = planner_main(
        monkeypatch, capsys, "sweep", small, "--param", "staffing.caseworkers", "--values", "3,6",
        "--replications", "2", "--years", "0.5", "--workers", "1", "--indicator", "mean_caseload_cases",
        "--out", out, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert err == ""
    rows = [line.split() for line in stdout.splitlines()]
    assert any(r[:1] == ["3"] for r in rows) and any(r[:1] == ["6"] for r in rows)
    assert "mean_caseload_cases (cases)" in stdout
    assert (out / "sweep.csv").is_file() and (out / "sweep.png").is_file()

    out = tmp_path / "staff"
    code, stdout, err = planner_main(
        monkeypatch, capsys, "staff", small, "--target", "mean_caseload_cases<=1000", "--low", "2",
        "--replications", "2", "--years", "0.5", "--workers", "1", "--out", out, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    first = stdout.splitlines()[0]
    assert first.startswith("smallest staffing meeting every target: 2 caseworkers (levels tried: 4, 2")
    assert "1 caseworker " in stdout and "2 caseworkers" in stdout
    assert "note: the answer is the lower bound 2" in stdout
    assert (out / "staff.json").is_file()
