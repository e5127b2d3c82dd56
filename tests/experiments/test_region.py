"""``welfare-sim region``: a list of municipalities, each in its own scenario, and their sum
(sim/experiments/region.py), on the process pool and on Dask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_tools import one_line, run_cli
from pandas.testing import assert_frame_equal

from sim import load_scenario
from sim.experiments.region import ADDITIVE, PER_1000, TOTAL, observed_table, region_table, total_of
from sim.params import ScenarioError
from sim.params.municipality import Municipality, municipality_files, municipality_scenario, read_municipalities
from sim.results.stats import mean_ci

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "national_example.csv"


def test_the_shipped_example_has_at_least_ten_municipalities_of_different_sizes_and_says_it_is_illustrative():
    towns = read_municipalities(EXAMPLE)
    assert len(towns) >= 10
    sizes = sorted(t.children for t in towns)
    assert sizes[-1] >= 10 * sizes[0]
    assert {t.practice for t in towns} == {"danish", "swedish"}
    assert "ILLUSTRATIVE" in EXAMPLE.read_text().splitlines()[0]


def test_a_municipality_in_memory_is_the_file_init_writes(tmp_path):
    town = Municipality("a_town", 7000, 6, None, "danish")
    for name, text in municipality_files(town).items():
        (tmp_path / name).write_text(text)
    from_file = load_scenario(tmp_path / "a_town.toml").model_dump(exclude={"title", "notes"})
    in_memory = municipality_scenario(town).model_dump(exclude={"title", "notes"})
    assert in_memory == from_file


def _csv(tmp_path, text: str) -> Path:
    path = tmp_path / "towns.csv"
    path.write_text(text)
    return path


def test_comments_blank_lines_and_optional_columns(tmp_path):
    path = _csv(tmp_path, "# a comment\nname,caseworkers,children\n\na,3,4000\n# b is out\nc,9,4000\n")
    towns = read_municipalities(path)
    assert [(t.name, t.children, t.caseworkers, t.practice, t.desk_staff) for t in towns] == [
        ("a", 4000, 3, "danish", None),
        ("c", 4000, 9, "danish", None),
    ]


def test_observed_figures_are_optional_columns_empty_where_not_known(tmp_path):
    path = _csv(
        tmp_path,
        "name,children,caseworkers,children_in_care_per_1000_children,new_placements_per_1000_children_per_year\n"
        "a,4000,3,8.5,\nb,4000,3,,2.5\nc,4000,3,,\n",
    )
    towns = read_municipalities(path)
    assert [t.observed for t in towns] == [
        (("children_in_care_per_1000_children", 8.5),),
        (("new_placements_per_1000_children_per_year", 2.5),),
        (),
    ]


def test_observed_figures_sit_beside_the_models_mean_and_interval():
    towns = [
        Municipality("a", 2000, 2, observed=(("children_in_care_per_1000_children", 10.0),)),
        Municipality("b", 4000, 3, observed=(("notifications_per_1000_children_per_year", 200.0),)),
        Municipality("c", 1000, 1),
    ]
    rng = np.random.default_rng(4)
    rows = []
    for r in range(5):
        for town in towns:
            row = {k: rng.normal(100, 10) for k in ADDITIVE}
            row["children_in_care_per_1000"] = rng.normal(10.0, 0.5)
            rows.append({"scenario": town.name, "replication": r, **row})
    reps = pd.DataFrame(rows)
    table = observed_table(reps, towns)
    assert list(table["municipality"]) == ["a", "b"]
    a, b = table.iloc[0], table.iloc[1]
    care = reps[reps["scenario"] == "a"]["children_in_care_per_1000"].to_numpy()
    assert (a["mean"], a["ci_low"], a["ci_high"]) == pytest.approx(mean_ci(care)[:3])
    assert a["observed"] == 10.0 and a["difference"] == pytest.approx(care.mean() - 10.0)
    low, high = np.percentile(care, [2.5, 97.5])
    assert (a["range_low"], a["range_high"]) == pytest.approx((low, high))
    assert bool(a["inside"]) == (low <= 10.0 <= high)
    # notifications per 1,000 children: the replications' notifications a year over b's 4,000 children
    notes = reps[reps["scenario"] == "b"]["notifications_per_year"].to_numpy() / 4
    assert b["mean"] == pytest.approx(notes.mean()) and not b["inside"]  # about 25 against 200
    assert b["relative_difference"] == pytest.approx(notes.mean() / 200 - 1)
    assert observed_table(reps, [Municipality("c", 1000, 1)]) is None


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "empty"),
        ("name,children,caseworkers\n", "no municipalities"),
        ("name,children,staff\na,1,1\n", "towns.csv:1: 'staff': unknown column"),
        ("name,children\na,1\n", "towns.csv:1: caseworkers: missing column"),
        ("name,children,children,caseworkers\na,1,1,1\n", "named twice"),
        ("name,children,caseworkers\na,1000\n", "towns.csv:2: 2 values for 3 columns"),
        ("name,children,caseworkers\na,0,1\n", "towns.csv:2: children: must be a whole number"),
        ("name,children,caseworkers\na,12.5,1\n", "children: must be a whole number"),
        ("name,children,caseworkers\na,\u00b2,1\n", "children: must be a whole number"),
        ("name,children,caseworkers\na," + "9" * 5000 + ",1\n", "children: must be a whole number"),
        ("name,children,caseworkers\na,100,0\n", "caseworkers: must be a whole number"),
        ("name,children,caseworkers\n../a,100,1\n", "name: must be"),
        ("name,children,caseworkers\na,100,1\na,100,1\n", "towns.csv:3: name: 'a' is named twice"),
        ("name,children,caseworkers\ntotal,100,1\n", "the name of the sum"),
        ("name,children,caseworkers,practice\na,100,1,norwegian\n", "practice: must be danish or swedish"),
        ("name,children,caseworkers,practice,desk_staff\na,100,1,swedish,2\n", "no intake desk"),
        (
            "name,children,caseworkers,children_in_care_per_1000_children\na,100,1,many\n",
            "towns.csv:2: children_in_care_per_1000_children: must be a number",
        ),
        ("name,children,caseworkers,time_in_care_years\na,100,1,-2\n", "time_in_care_years: must be above 0"),
        ("name,children,caseworkers,foster_share_of_care_days\na,100,1,1.5\n", "foster_share_of_care_days: must"),
        ("name,children,caseworkers,caseload_cases_per_caseworker\na,100,1,nan\n", "caseload_cases_per_caseworker"),
    ],
)
def test_a_bad_list_is_one_line_naming_file_line_and_column(tmp_path, capsys, text, says):
    path = _csv(tmp_path, text)
    with pytest.raises(ScenarioError) as error:
        read_municipalities(path)
    assert says in str(error.value)
    code, _, err = run_cli(capsys, "region", path, "--out", tmp_path / "out")
    assert code == 2
    assert says in one_line(err)
    assert not (tmp_path / "out").exists()


def test_the_total_is_the_sum_of_each_replication_and_its_interval_is_over_those_sums():
    towns = [Municipality("a", 1000, 1), Municipality("b", 3000, 2)]
    rng = np.random.default_rng(3)
    rows = []
    for r in range(6):
        for town in towns:
            rows.append({"scenario": town.name, "replication": r, **{k: rng.normal(100, 10) for k in ADDITIVE}})
    reps = pd.DataFrame(rows)
    table = region_table(reps, towns)
    for indicator in ADDITIVE:
        sums = reps.groupby("replication")[indicator].sum().to_numpy()
        assert total_of(table, indicator) == pytest.approx(mean_ci(sums)[:3])
        per = total_of(table, f"{indicator}_per_1000_children") if indicator in PER_1000 else None
        if per is not None:
            assert per[0] == pytest.approx(sums.mean() / 4)
    # Adding the municipalities' intervals would be wider than the interval of the sum of
    # independent draws: the table does not do that.
    a = table[(table["municipality"] == "a") & (table["indicator"] == "cost_total_per_year")].iloc[0]
    b = table[(table["municipality"] == "b") & (table["indicator"] == "cost_total_per_year")].iloc[0]
    low, high = total_of(table, "cost_total_per_year")[1:]
    assert high - low != pytest.approx((a["ci_high"] - a["ci_low"]) + (b["ci_high"] - b["ci_low"]))
    # A replication without one of the municipalities has no total.
    partial = region_table(reps.drop(index=0), towns)
    assert partial[partial["municipality"] == TOTAL]["replications"].eq(5).all()


CHEAP_YEARS = "0.5"


def _small_list(tmp_path) -> Path:
    return _csv(
        tmp_path,
        "name,children,caseworkers,practice,children_in_care_per_1000_children\n"
        "twin_a,3000,3,danish,50\ntwin_b,3000,3,danish,\n",
    )


@pytest.mark.slow
def test_region_runs_writes_region_csv_and_gives_twins_their_own_streams(tmp_path, capsys):
    path = _small_list(tmp_path)
    argv = ["region", path, "--replications", "2", "--years", CHEAP_YEARS, "--workers", "2", "--quiet"]
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "one")
    assert code == 0, err
    assert "total" in out and "per 1,000 children" in out
    table = pd.read_csv(tmp_path / "one" / "region.csv")
    reps = pd.read_parquet(tmp_path / "one" / "replications.parquet")
    sums = reps.groupby("replication")["children_in_care_mean"].sum().to_numpy()
    assert total_of(table, "children_in_care_mean")[0] == pytest.approx(sums.mean())
    # twin_a's observed figure, far above the model's: shown beside it, outside its interval
    observed = pd.read_csv(tmp_path / "one" / "observed.csv")
    assert list(observed["municipality"]) == ["twin_a"] and not observed["inside"].item()
    assert "observed figures against the model (1 of 1 outside the range" in out and "welfare-sim calibrate" in out
    # Two municipalities with the same counts are independent draws, not the same one twice.
    a = reps[reps["scenario"] == "twin_a"]["cost_total_per_year"].to_numpy()
    b = reps[reps["scenario"] == "twin_b"]["cost_total_per_year"].to_numpy()
    assert not np.array_equal(a, b)
    # The same list and seed give the same results, whatever the number of workers.
    code, _, err = run_cli(capsys, *argv[:-3], "--workers", "1", "--quiet", "--out", tmp_path / "two")
    assert code == 0, err
    assert (tmp_path / "two" / "region.csv").read_bytes() == (tmp_path / "one" / "region.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.dask
def test_the_national_example_gives_the_same_results_on_two_workers_and_on_dask(tmp_path, capfd):
    argv = ["region", EXAMPLE, "--replications", "2", "--years", CHEAP_YEARS, "--workers", "2", "--quiet"]
    from sim.cli import main

    assert main([str(a) for a in [*argv, "--out", tmp_path / "local"]]) == 0
    assert main([str(a) for a in [*argv, "--backend", "dask", "--out", tmp_path / "dask"]]) == 0
    capfd.readouterr()
    assert_frame_equal(
        pd.read_parquet(tmp_path / "dask" / "replications.parquet"),
        pd.read_parquet(tmp_path / "local" / "replications.parquet"),
        check_exact=True,
    )
    assert (tmp_path / "dask" / "region.csv").read_bytes() == (tmp_path / "local" / "region.csv").read_bytes()
    table = pd.read_csv(tmp_path / "local" / "region.csv")
    assert set(table["municipality"]) == {t.name for t in read_municipalities(EXAMPLE)} | {TOTAL}


@pytest.mark.parametrize(
    "options, says",
    [
        (["--replications", "0"], "--replications: must be a whole number from 1"),
        (["--years", "-1"], "--years:"),
        (["--workers", "0"], "--workers:"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler: needs --backend dask"),
        (["--resume"], "--resume"),
    ],
)
def test_bad_region_options_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, options, says):
    argv = ["region", EXAMPLE, *options]
    if "--resume" not in options:
        argv += ["--out", tmp_path / "out"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert says in one_line(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_ctrl_c_in_a_region_says_how_to_finish_and_resume_gives_the_uninterrupted_results(
    tmp_path, capsys, monkeypatch, fail_on_call
):
    import shlex

    import sim.experiments.jobs

    path = _small_list(tmp_path)
    argv = ["region", path, "--replications", "2", "--years", CHEAP_YEARS, "--workers", "1", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "whole")
    assert code == 0, err
    original = fail_on_call(sim.experiments.jobs, "run_job", 3, lambda *args, **kwargs: KeyboardInterrupt())
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "cut")
    assert code == 130
    line = one_line(err)
    head, sep, again = line.partition("; finish the batch with: welfare-sim ")
    assert sep and "--resume" in again and again.startswith("region ")
    assert not (tmp_path / "cut" / "region.csv").exists()
    monkeypatch.setattr(sim.experiments.jobs, "run_job", original)
    code, _, err = run_cli(capsys, *shlex.split(again))
    assert code == 0, err
    assert (tmp_path / "cut" / "region.csv").read_bytes() == (tmp_path / "whole" / "region.csv").read_bytes()
