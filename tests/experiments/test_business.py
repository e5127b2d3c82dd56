"""The business case (issue 5): yearly differences NEW - BASELINE with intervals, their
cumulative net, the payback year, the files, the report section and the command line."""

from __future__ import annotations

import base64
import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.batch import read_table
from sim.experiments.business import (
    COMPONENTS,
    CSV_NAME,
    JSON_NAME,
    PARTS,
    PNG_NAME,
    business_case_from_costs,
    payback_year,
    run_business_case,
)
from sim.params import load_scenario, shipped_scenarios_dir
from sim.present.business import write_business_case_figure
from sim.present.report import business_case_html

SHIPPED = shipped_scenarios_dir()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
YEARS = 3
REPLICATIONS = 3
SWITCH_YEARS = 1
IMPLEMENTATION_DKK = 500_000


def write_scenarios(folder: Path) -> dict[str, Path]:
    """A small municipality: a Danish baseline, a Swedish target and a transition from the
    one to the other after a year, with an implementation cost spent over the second year."""
    common = "[run]\nwarmup_years = 0.5\n[municipality]\nchildren = 4000\n"
    files = {
        "baseline": (
            f'base = "danish_baseline"\nname = "small_baseline"\n{common}'
            "[intake]\ndesk_staff = 1\n[staffing]\ncaseworkers = 4\n"
        ),
        "swedish": (f'base = "swedish_model"\nname = "small_swedish"\n{common}[staffing]\ncaseworkers = 8\n'),
        "transition": (
            'base = "small_baseline.toml"\nname = "small_transition"\n'
            f'[transition]\nat_years = {SWITCH_YEARS}\nto = "small_swedish.toml"\nhiring_ramp_years = 0.5\n'
            f"[implementation]\ncost_dkk = {IMPLEMENTATION_DKK}\nstart_years = {SWITCH_YEARS}\nspread_years = 1\n"
        ),
    }
    paths = {}
    for key, text in files.items():
        path = folder / f"small_{key}.toml"
        path.write_text(text, encoding="utf-8")
        paths[key] = path
    return paths


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, Path]:
    return write_scenarios(tmp_path_factory.mktemp("business-scenarios"))


@pytest.fixture(scope="module")
def case(scenarios, tmp_path_factory):
    """The business case run as the command runs it: the case, then its figure."""
    out = tmp_path_factory.mktemp("business") / "case"
    case = run_business_case(
        scenarios["baseline"],
        scenarios["transition"],
        years=YEARS,
        replications=REPLICATIONS,
        seed=1,
        workers=2,
        out=out,
    )
    assert not (out / PNG_NAME).exists()  # the experiment writes data, not figures
    write_business_case_figure(case, out)
    return case


def mean_of(case, component: str) -> pd.Series:
    part = case.table[case.table["component"] == component]
    return part.set_index("year")["mean"].sort_index()


# ----------------------------------------------------------------------------- the sums


@pytest.mark.slow
def test_the_business_cases_cumulative_net_equals_the_sum_of_its_yearly_parts(case):
    per = case.per_replication
    assert sorted(per["replication"].unique()) == list(range(REPLICATIONS))
    assert sorted(per["year"].unique()) == list(range(1, YEARS + 1))
    # every replication and year: net = the sum of the four components
    np.testing.assert_allclose(per["net"], per[list(PARTS)].sum(axis=1), rtol=1e-12, atol=1e-6)
    # every replication: the cumulative net is the running sum of the yearly nets ...
    for _, rep in per.groupby("replication"):
        rep = rep.sort_values("year")
        np.testing.assert_allclose(rep["cumulative_net"], np.cumsum(rep["net"].to_numpy()), rtol=1e-12, atol=1e-6)
        # ... which is the sum of every component over the years so far
        np.testing.assert_allclose(rep["cumulative_net"], rep[list(PARTS)].cumsum().sum(axis=1), rtol=1e-12, atol=1e-6)
    # the means: cumulative net = running sum of the mean nets = sum of the mean parts
    net = mean_of(case, "net")
    np.testing.assert_allclose(net, sum(mean_of(case, p) for p in PARTS), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(mean_of(case, "cumulative_net"), net.cumsum(), rtol=1e-12, atol=1e-6)
    assert set(case.table["component"]) == set(COMPONENTS)


@pytest.mark.slow
def test_the_net_is_the_difference_in_total_cost_read_from_the_batch(case):
    costs = read_table(case.out, "costs")
    totals = costs.groupby(["scenario", "replication", "year"])["cost_dkk"].sum()
    expected = (totals.loc["small_transition"] - totals.loc["small_baseline"]).sort_index()
    got = case.per_replication.set_index(["replication", "year"])["net"].sort_index()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-6)
    assert not np.allclose(got.to_numpy(), 0.0)  # the transition changes something


@pytest.mark.slow
def test_implementation_component_sums_to_the_implementation_cost(case):
    per = case.per_replication
    for _, rep in per.groupby("replication"):
        assert rep["implementation"].sum() == pytest.approx(IMPLEMENTATION_DKK, rel=1e-9)
        # spent evenly over the year after the switch: all of it in year 2
        year = rep.set_index("year")["implementation"]
        assert year[SWITCH_YEARS + 1] == pytest.approx(IMPLEMENTATION_DKK, rel=1e-9)
    assert mean_of(case, "implementation").sum() == pytest.approx(IMPLEMENTATION_DKK, rel=1e-9)


@pytest.mark.slow
def test_extra_staff_cost_is_zero_before_the_switch_and_positive_after(case, scenarios):
    per = case.per_replication
    before = per[per["year"] <= SWITCH_YEARS]
    after = per[per["year"] > SWITCH_YEARS]
    assert (before["extra_staff"] == 0.0).all()
    assert (after["extra_staff"] > 0).all()
    # before the switch both scenarios are the same: with common random numbers nothing differs
    assert np.allclose(before[list(COMPONENTS)], 0.0, atol=1e-3)  # sums of the same spells, up to rounding
    # once everyone is hired: the headcount difference times the cost of a caseworker
    base = load_scenario(scenarios["baseline"])
    target = load_scenario(scenarios["swedish"])
    headcount = lambda s: s.staffing.caseworkers + (s.intake.desk_staff if s.intake.desk else 0)  # noqa: E731
    expected = (headcount(target) - headcount(base)) * base.staffing.cost_dkk_per_year
    assert expected > 0
    np.testing.assert_allclose(per[per["year"] == YEARS]["extra_staff"], expected, rtol=1e-9)


def test_from_a_hand_made_costs_table():
    rows = []
    for scenario, staff, step1, step4, implementation in (
        ("base", 10.0, 5.0, 20.0, None),
        ("new", 12.0, 4.0, 17.0, 3.0),
    ):
        for replication in range(2):
            for year in (1, 2):
                extra = replication  # the second replication places one more DKK per year in both scenarios
                rows += [
                    (scenario, replication, year, 0, staff),
                    (scenario, replication, year, 1, step1),
                    (scenario, replication, year, 4, step4 + extra),
                ]
                if implementation is not None and year == 1:
                    rows.append((scenario, replication, year, -1, implementation))
    costs = pd.DataFrame(rows, columns=["scenario", "replication", "year", "step", "cost_dkk"])
    costs["district"] = "all"
    # a municipality split into districts (sim.engine.districts): NEW's staff in two rows, summed
    split = costs[(costs["scenario"] == "new") & (costs["step"] == 0)].copy()
    costs.loc[split.index, "cost_dkk"] = 7.0
    split["cost_dkk"], split["district"] = 5.0, "pilot"
    costs = pd.concat([costs, split], ignore_index=True)
    case = business_case_from_costs(costs, "base", "new")
    per = case.per_replication.set_index(["replication", "year"])
    assert (per["extra_staff"] == 2.0).all()
    assert (per["interventions"] == -1.0).all()
    assert (per["placements"] == -3.0).all()
    assert per["implementation"].tolist() == [3.0, 0.0, 3.0, 0.0]  # missing in the baseline: 0
    assert per["net"].tolist() == [1.0, -2.0, 1.0, -2.0]
    assert per["cumulative_net"].tolist() == [1.0, -1.0, 1.0, -1.0]
    assert case.payback["mean"] == {"year": 2, "immediate": False, "text": "year 2"}
    assert case.payback["share_paying_back"] == 1.0
    assert case.payback["replications_ahead_at_horizon"] == 2


# ----------------------------------------------------------------------------- payback


@pytest.mark.parametrize(
    ("series", "year", "immediate", "text"),
    [
        ([5.0, 3.0, -1.0, -4.0], 3, False, "year 3"),  # invests, then pays back in year 3
        ([5.0, 0.0, 2.0], 2, False, "year 2"),  # exactly 0 counts as paid back; later years are not looked at
        ([5.0, 3.0, 1.0], None, False, "not within 3 years"),
        ([-1.0, -2.0, 4.0], 1, True, "from year 1"),  # never cost more: pays back from the start
        ([0.0, 0.0, 4.0, 1.0, -2.0], 5, False, "year 5"),  # years before a transition do not count
        ([0.0, 0.0, -3.0, -5.0], 3, True, "from year 3"),
        ([0.0, 0.0, 0.0], 1, True, "from year 1"),  # no difference at all
        ([0.004, 2.0, 0.006], 3, False, "year 3"),  # within an øre of 0 is 0
    ],
)
def test_payback_year_of_hand_made_series(series, year, immediate, text):
    payback = payback_year(series)
    assert payback.year == year
    assert payback.immediate is immediate
    assert payback.text == text


def test_payback_text_names_the_horizon_and_missing_values_are_refused():
    assert payback_year([1.0, 2.0], horizon=7.5).text == "not within 7.5 years"
    with pytest.raises(ValueError):
        payback_year([1.0, math.nan])


@pytest.mark.slow
def test_payback_summary_agrees_with_the_series(case):
    cumulative = case.table[case.table["component"] == "cumulative_net"].sort_values("year")
    p = case.payback
    assert p["mean"]["year"] == payback_year(cumulative["mean"]).year
    assert p["latest"]["year"] == payback_year(cumulative["ci_high"]).year
    assert p["earliest"]["year"] == payback_year(cumulative["ci_low"]).year
    per_rep = {
        str(r): payback_year(g.sort_values("year")["cumulative_net"]).year
        for r, g in case.per_replication.groupby("replication")
    }
    assert p["per_replication"] == per_rep
    assert p["replications_paying_back"] == sum(y is not None for y in per_rep.values())
    assert p["share_paying_back"] == pytest.approx(p["replications_paying_back"] / REPLICATIONS)
    final = case.per_replication[case.per_replication["year"] == YEARS]["cumulative_net"]
    assert p["replications_ahead_at_horizon"] == int((final <= 0).sum())

    def key(entry):
        return math.inf if entry["year"] is None else entry["year"]

    assert key(p["earliest"]) <= key(p["mean"]) <= key(p["latest"])


# ----------------------------------------------------------------------------- files and report


@pytest.mark.slow
def test_outputs_are_written(case):
    out = case.out
    for name in ("manifest.json", "replications.parquet", "comparison.csv", CSV_NAME, JSON_NAME, PNG_NAME):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "tables").iterdir()) == [
        "scenario=small_baseline",
        "scenario=small_transition",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["crn"] is True and manifest["years"] == YEARS
    table = pd.read_csv(out / CSV_NAME)
    assert list(table.columns) == ["year", "component", "mean", "ci_low", "ci_high"]
    assert len(table) == YEARS * len(COMPONENTS)
    pd.testing.assert_frame_equal(table, case.table.reset_index(drop=True), check_exact=False, rtol=1e-12)
    later = table[table["year"] > SWITCH_YEARS]
    assert (later["ci_low"] <= later["mean"] + 1e-6).all() and (later["mean"] <= later["ci_high"] + 1e-6).all()
    info = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    assert info["baseline"] == "small_baseline" and info["new"] == "small_transition"
    assert info["replications"] == REPLICATIONS
    assert "positive = extra cost" in info["sign_convention"]
    assert info["payback"] == json.loads(json.dumps(case.payback))
    assert (out / PNG_NAME).read_bytes().startswith(PNG_MAGIC)


class Balance(HTMLParser):
    VOID = {"img", "br", "hr", "meta", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.errors.append(tag)


@pytest.mark.slow
def test_business_case_html_for_a_business_case_folder_and_none_for_a_plain_batch(case, tmp_path):
    section = business_case_html(case.out)
    assert section is not None
    assert 'id="business-case"' in section and "small_transition" in section and "payback" in section.lower()
    checker = Balance()
    checker.feed(section)
    assert checker.errors == [] and checker.stack == []
    (image,) = checker.images
    assert image.startswith("data:image/png;base64,")
    assert base64.b64decode(image.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert section.count("<tr>") == 1 + YEARS  # the header and one row per year
    plain = tmp_path / "plain"
    shutil.copytree(case.out, plain, ignore=shutil.ignore_patterns("business_case.*"))
    assert (plain / "manifest.json").exists()
    assert business_case_html(plain) is None


@pytest.mark.slow
def test_printed_table_has_a_row_per_year_and_the_payback(case):
    text = case.text()
    lines = text.splitlines()
    rows = [line for line in lines if line.strip()[:1].isdigit()]
    assert [int(line.split()[0]) for line in rows] == list(range(1, YEARS + 1))
    assert lines[-1].startswith("payback: ") and case.payback["mean"]["text"] in lines[-1]
    year = mean_of(case, "cumulative_net").index[-1]
    assert f"{mean_of(case, 'cumulative_net')[year] / 1e6:.2f}" in rows[-1]


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def no_simulation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("nothing should run")

    monkeypatch.setattr("sim.experiments.jobs.simulate", refuse)


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--years", "0", "--years"),
        ("--years", "nan", "--years"),
        ("--replications", "1", "--replications"),
        ("--seed", "-1", "--seed"),
        ("--workers", "0", "--workers"),
    ],
)
def test_cli_bad_values_end_in_one_line(scenarios, tmp_path, capsys, no_simulation, option, value, field):
    out = tmp_path / "out"
    argv = ["business-case", str(scenarios["baseline"]), str(scenarios["transition"]), option, value]
    code = main([*argv, "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and lines[0].startswith("welfare-sim: ")
    assert not out.exists()


def test_cli_bad_scenarios_and_folders_end_in_one_line(scenarios, tmp_path, capsys, no_simulation):
    base, new = str(scenarios["baseline"]), str(scenarios["transition"])
    missing = str(tmp_path / "missing.toml")
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x", encoding="utf-8")
    for argv, expected in (
        ([base, base], "both scenarios"),
        ([base, missing], "missing.toml"),
        ([base, new, "--out", str(full)], "not empty"),
    ):
        code = main(["business-case", *argv, "--quiet"] + ([] if "--out" in argv else ["--out", str(tmp_path / "o")]))
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and expected in err[0], (argv, err)
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in full.iterdir()) == ["something"]


@pytest.mark.slow
@pytest.mark.parametrize("report", [True, False])
def test_cli_runs_and_prints_the_case(scenarios, tmp_path, capsys, report):
    out = tmp_path / "cli"
    argv = [str(scenarios["baseline"]), str(scenarios["transition"]), "--years", "2", "--replications", "2"]
    argv += ["--workers", "2", "--out", str(out), "--quiet"] + ([] if report else ["--no-report"])
    code = main(["business-case", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert any(line.startswith("payback: ") for line in lines)
    assert [line.split()[0] for line in lines if line.strip()[:1].isdigit()] == ["1", "2"]
    assert (out / CSV_NAME).is_file() and (out / PNG_NAME).is_file()
    assert (out / "report.html").exists() is report
    info = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    assert info["years"] == 2 and info["replications"] == 2 and info["seed"] == 1
    measured = pd.read_parquet(next((out / "tables").glob("scenario=*/replication=0")) / "costs.parquet")
    assert measured["year"].max() == 2  # --years is the measured horizon
