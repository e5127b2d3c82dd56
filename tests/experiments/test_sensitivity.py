"""The Morris global sensitivity analysis (issue 6): the uncertain parameters are the ones the
scenarios mark as such, effects are zero where they must be and rank where they must, the
table depends only on the seed, and the command writes its files or fails in one line."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments import sensitivity as morris
from sim.params import load_scenario

# A tiny design: 3 parameters x 2 trajectories = 8 points, 16 short runs.
SMALL = ("staffing.cost_dkk_per_year", "ladder.steps_1_2.cost_dkk_per_year", "need.worsen_rate_per_year_unmet")
YEARS = 0.25


def small_parameters():
    return tuple(p for p in morris.PARAMETERS if p.name in SMALL)


@pytest.fixture(scope="module")
def small():
    return morris.run_morris(trajectories=2, years=YEARS, seed=3, workers=1, parameters=small_parameters())


def _exact_csv(path):
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, **exact)


def test_every_default_parameter_is_uncertain_where_it_is_varied():
    baseline, swedish = load_scenario("danish_baseline"), load_scenario("swedish_model")
    morris.check_parameters(morris.PARAMETERS, baseline, [swedish])  # raises if a note is "source: ..."
    for parameter in morris.PARAMETERS:
        assert 0 < parameter.low < 1 < parameter.high, parameter.name
        for scenario in (baseline, swedish):
            for path in parameter.fields:
                if scenario.name in parameter.sourced_in:
                    continue  # varied there whatever its note: the practice as kept, not as written
                if morris.applies(parameter, scenario, path):
                    assert morris.note(scenario, path).startswith(("assumption:", "calibrated:")), path
    # the Swedish practice's hours and schedules are screened too (issue 10)
    varied = {p.name for p in morris.PARAMETERS if morris.varied_in(p, swedish)}
    assert {"practice.matching_hours", "practice.institution_plan_after_days"} <= varied


def test_a_parameter_with_a_source_is_refused():
    baseline = load_scenario("danish_baseline")
    foster = morris.Uncertain("foster cost", ("ladder.foster.cost_dkk_per_year",), 0.7, 1.3, "")
    with pytest.raises(morris.SensitivityError, match="ladder.foster.cost_dkk_per_year"):
        morris.check_parameters((morris.PARAMETERS[0], foster), baseline)
    caseworkers = morris.Uncertain("caseworkers", ("staffing.caseworkers",), 0.7, 1.3, "")
    with pytest.raises(morris.SensitivityError, match="not a decimal number"):
        morris.check_parameters((morris.PARAMETERS[0], caseworkers), baseline)


def test_factors_apply_where_the_scenario_marks_the_field_uncertain():
    baseline, swedish = load_scenario("danish_baseline"), load_scenario("swedish_model")
    by_name = {p.name: p for p in morris.PARAMETERS}
    chosen = [by_name["children.persistent_need_share"], by_name["need.improve_rate_per_year_when_met[1-4]"]]
    factors = [1.2, 1.3]
    b = morris.apply_factors(baseline, chosen, factors)
    s = morris.apply_factors(swedish, chosen, factors)
    share = baseline.children.persistent_need_share
    assert b.children.persistent_need_share == pytest.approx(share * 1.2)
    assert s.children.persistent_need_share == pytest.approx(share * 1.2)  # inherited, calibrated: varied
    plan = by_name["practice.institution_plan_after_days"]
    assert morris.apply_factors(swedish, [plan], [0.8]).practice.institution_plan_after_days == pytest.approx(
        swedish.practice.institution_plan_after_days * 0.8
    )  # sourced, but varied in the Swedish model as kept
    assert morris.apply_factors(baseline, [plan], [0.8]).practice.institution_plan_after_days is None
    foster = morris.Uncertain("foster cost", ("ladder.foster.cost_dkk_per_year",), 0.7, 1.3, "")
    assert morris.apply_factors(swedish, [foster], [1.3]) == swedish  # from a source: kept
    rates = baseline.need.improve_rate_per_year_when_met
    assert b.need.improve_rate_per_year_when_met[:4] == pytest.approx([r * 1.3 for r in rates[:4]])
    assert b.need.improve_rate_per_year_when_met[4] == rates[4]
    assert s.need.improve_rate_per_year_when_met[:4] == pytest.approx([r * 1.3 for r in rates[:4]])
    # a probability is clipped to 1
    kin = by_name["children.kinship_available_probability"]
    likely = baseline.with_overrides(**{"children.kinship_available_probability": 0.9})
    high = morris.apply_factors(likely, [kin], [1.4])
    assert high.children.kinship_available_probability == 1.0


@pytest.mark.slow
def test_a_parameter_that_cannot_move_an_indicator_has_no_effect(small):
    table = small.table.set_index(["output", "parameter"])
    for output in (
        "danish_baseline.children_in_care_mean",
        "swedish_model.children_in_care_mean",
        "danish_baseline.followup_on_time_share",
    ):
        for cost in ("staffing.cost_dkk_per_year", "ladder.steps_1_2.cost_dkk_per_year"):
            assert table.loc[(output, cost), "mu_star"] == 0.0
            assert table.loc[(output, cost), "sigma"] == 0.0
        assert table.loc[(output, "need.worsen_rate_per_year_unmet"), "mu_star"] > 0
        assert table.loc[(output, "need.worsen_rate_per_year_unmet"), "rank"] == 1


@pytest.mark.slow
def test_a_parameter_that_must_move_the_cost_does_and_ranks_above(small):
    table = small.table.set_index(["output", "parameter"])
    for output in ("danish_baseline.cost_total_per_year", "swedish_model.cost_total_per_year"):
        steps_1_2 = table.loc[(output, "ladder.steps_1_2.cost_dkk_per_year")]
        staff = table.loc[(output, "staffing.cost_dkk_per_year")]
        assert steps_1_2["mu_star"] > staff["mu_star"] > 0
        assert steps_1_2["rank"] < staff["rank"]
        assert steps_1_2["mu"] > 0  # dearer support, dearer department
    # staff cost is linear: every elementary effect equals (caseworkers + desk) x cost x range
    baseline = load_scenario("danish_baseline")
    staff = baseline.staffing.caseworkers + baseline.intake.desk_staff
    expected = staff * baseline.staffing.cost_dkk_per_year * (1.15 - 0.85)
    effect = table.loc[("danish_baseline.cost_total_per_year", "staffing.cost_dkk_per_year")]
    assert effect["mu_star"] == pytest.approx(expected, rel=1e-9)
    assert effect["sigma"] == pytest.approx(0.0, abs=1e-6 * expected)
    saving = table.loc[("swedish_saving_per_year", "staffing.cost_dkk_per_year")]
    assert saving["mu"] < 0  # the Swedish model has more staff: dearer staff shrinks the saving


@pytest.mark.slow
def test_the_table_is_ranked_and_complete(small):
    table = small.table
    assert len(table) == len(morris.OUTPUTS) * len(SMALL)
    assert list(dict.fromkeys(table["output"])) == [o.name for o in morris.OUTPUTS]
    for _, part in table.groupby("output", sort=False):
        assert list(part["rank"]) == [1, 2, 3]
        assert part["mu_star"].is_monotonic_decreasing
    assert len(small.points) == 2 * (len(SMALL) + 1) and small.runs == 2 * len(small.points)
    assert small.varied["staffing.cost_dkk_per_year"] == ["danish_baseline", "swedish_model"]


@pytest.mark.slow
def test_the_command_writes_the_table_and_figure_whatever_the_workers(tmp_path, monkeypatch, capsys, small):
    monkeypatch.setattr(morris, "PARAMETERS", small_parameters())
    out = tmp_path / "sens"
    args = ["sensitivity", "--trajectories", "2", "--years", str(YEARS), "--seed", "3", "--workers", "2"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "points.csv",
        "sensitivity.csv",
        "sensitivity.json",
        "sensitivity.png",
    ]
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = _exact_csv(out / "sensitivity.csv")
    # the same seed gives the same table, in-process (the fixture) or on a pool of two workers
    pd.testing.assert_frame_equal(written, small.table.reset_index(drop=True), check_dtype=False)
    printed = capsys.readouterr().out
    assert "Swedish saving" in printed and "sensitivity.png" in printed
    # a folder that is not empty is refused before anything runs
    assert main([*args, "--quiet", "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--trajectories", "1"], "--trajectories"),
        (["--years", "0"], "--years"),
        (["--seed", "-1"], "--seed"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path, capsys, extra, option):
    out = tmp_path / "sens"
    assert main(["sensitivity", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0], err
    assert not out.exists()
