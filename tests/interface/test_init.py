"""``welfare-sim init``: scenario files for one's own municipality, and whether a municipality
of another size gives the per-1,000 figures of the 20,000-children baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cli_tools import one_line, run_cli
from scipy import stats

from sim import load_scenario
from sim.experiments.batch import BatchSpec, run_batch, scenario_entry
from sim.experiments.calibration import END_STATE, STOCK_FIELDS, replicate, steady_stock
from sim.experiments.jobs import local_backend
from sim.params import parse_toml
from sim.params.municipality import OWN, Municipality, TransitionPlan, municipality_files
from sim.results.stats import mean_ci


def test_init_writes_a_file_that_loads_with_the_municipality_s_counts_and_the_rest_of_the_base(tmp_path, capsys):
    code, out, err = run_cli(capsys, "init", "my_town", "--children", 12000, "--caseworkers", 22, "--dir", tmp_path)
    assert code == 0, err
    town, base = load_scenario(tmp_path / "my_town.toml"), load_scenario("danish_baseline")
    assert (town.name, town.municipality.children, town.staffing.caseworkers) == ("my_town", 12000, 22)
    assert town.intake.desk_staff == math.ceil(base.intake.desk_staff * 12000 / base.municipality.children)
    # Everything else is the base's: rates per 1,000 children scale by themselves.
    assert town.arrivals == base.arrivals and town.initial_stock == base.initial_stock and town.need == base.need
    notes = parse_toml(tmp_path / "my_town.toml")
    assert notes["municipality"]["source"]["children"] == OWN
    assert notes["staffing"]["source"]["caseworkers"] == OWN
    assert notes["intake"]["source"]["desk_staff"].startswith("assumption:")
    assert "wrote" in out and "per caseworker" in out and "welfare-sim run" in out


def test_init_with_the_desk_given_and_the_swedish_practice():
    files = municipality_files(Municipality("a", 5000, 4, desk_staff=2))
    assert 'desk_staff = 2\nsource.desk_staff = "source: the municipality' in files["a.toml"]
    files = municipality_files(Municipality("b", 5000, 9, practice="swedish"))
    assert 'base = "swedish_model"' in files["b.toml"] and "desk_staff" not in files["b.toml"]


def test_init_transition_writes_the_swedish_file_and_the_switch_between_them(tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        *("init", "my_town", "--children", 12000, "--caseworkers", 22, "--transition"),
        *("--swedish-caseworkers", 30, "--at-years", 1.5, "--hiring-ramp-years", 0.5, "--dir", tmp_path),
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "my_town.toml",
        "my_town_swedish.toml",
        "my_town_transition.toml",
    ]
    switch = load_scenario(tmp_path / "my_town_transition.toml")
    assert switch.transition is not None and switch.transition.target is not None
    assert (switch.transition.at_years, switch.transition.hiring_ramp_years) == (1.5, 0.5)
    target = switch.transition.target
    assert (target.name, target.staffing.caseworkers, target.municipality.children) == ("my_town_swedish", 30, 12000)
    assert target.practice == load_scenario("swedish_model").practice
    assert switch.staffing.caseworkers == 22 and switch.municipality.children == 12000
    shipped = load_scenario("transition_to_swedish")
    assert switch.implementation.cost_dkk == pytest.approx(
        shipped.implementation.cost_dkk * 12000 / shipped.municipality.children, abs=1
    )
    assert switch.implementation.start_years == 1.5


def test_init_defaults_the_swedish_staffing_and_timing_to_the_shipped_scaled():
    files = municipality_files(Municipality("t", 10000, 8), TransitionPlan())
    swedish, shipped = load_scenario("swedish_model"), load_scenario("transition_to_swedish")
    expected = round(swedish.staffing.caseworkers * 10000 / swedish.municipality.children)
    assert f"caseworkers = {expected}\n" in files["t_swedish.toml"]
    assert shipped.transition is not None
    assert f"at_years = {shipped.transition.at_years:g}\n" in files["t_transition.toml"]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["../x", "--children", "100", "--caseworkers", "2"], "NAME: must be"),
        (["danish_baseline", "--children", "100", "--caseworkers", "2"], "shipped scenario's name"),
        (["t", "--children", "0", "--caseworkers", "2"], "--children:"),
        (["t", "--children", "2000000", "--caseworkers", "2"], "--children:"),
        (["t", "--children", "100", "--caseworkers", "0"], "--caseworkers:"),
        (["t", "--children", "100", "--caseworkers", "2", "--desk-staff", "-1"], "--desk-staff:"),
        (["t", "--children", "100", "--caseworkers", "2", "--at-years", "1"], "--at-years: only with --transition"),
        (["t", "--children", "100", "--caseworkers", "2", "--transition", "--at-years", "nan"], "--at-years:"),
        (["t", "--children", "100", "--caseworkers", "2", "--practice", "swedish", "--desk-staff", "1"], "no intake"),
        (["t", "--children", "100", "--caseworkers", "2", "--practice", "swedish", "--transition"], "--transition:"),
        (["t", "--children", "many", "--caseworkers", "2"], "--children"),
        (["t", "--children", "100", "--caseworkers", "2", "--settle-years", "5"], "--settle-years: only with --settle"),
        (["t", "--children", "100", "--caseworkers", "2", "--workers", "2"], "--workers: only with --settle"),
        (["t", "--children", "100", "--caseworkers", "2", "--settle", "--settle-years", "0.5"], "at least 1 year"),
        (["t", "--children", "100", "--caseworkers", "2", "--settle", "--settle-replications", "0"], "--settle-rep"),
    ],
)
def test_bad_init_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, says):
    code, out, err = run_cli(capsys, "init", *argv, "--dir", tmp_path / "here")
    assert code == 2
    assert says in one_line(err)
    assert not (tmp_path / "here").exists()


def test_init_does_not_overwrite_unless_asked_and_leaves_no_partial_files(tmp_path, capsys):
    argv = ("init", "t", "--children", 3000, "--caseworkers", 3, "--transition", "--dir", tmp_path)
    (tmp_path / "t_swedish.toml").write_text("mine\n")
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "t_swedish.toml: exists" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t_swedish.toml"]
    assert (tmp_path / "t_swedish.toml").read_text() == "mine\n"
    code, _, err = run_cli(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml", "t_swedish.toml", "t_transition.toml"]
    assert load_scenario(tmp_path / "t_swedish.toml").municipality.children == 3000


def test_init_settle_starts_the_files_from_the_municipality_s_own_end_state(tmp_path, capsys):
    argv = ["init", "t", "--children", 3000, "--caseworkers", 5, "--transition", "--dir", tmp_path]
    code, _, settling = run_cli(
        capsys, *argv, "--settle", "--settle-years", 1, "--settle-replications", 2, "--workers", 1
    )
    assert code == 0, settling
    assert "settling t: 2 runs of 1 years" in settling and "settling t_swedish" in settling
    for name in ("t", "t_swedish"):
        raw = parse_toml(tmp_path / f"{name}.toml")["initial_stock"]
        notes = raw.pop("source")
        assert set(raw) == set(notes) == set(STOCK_FIELDS)
        assert all(note.startswith(f"calibrated: the state {name}'s own runs end in") for note in notes.values())
    transition = parse_toml(tmp_path / "t_transition.toml")
    assert "initial_stock" not in transition  # it starts from t's own stock, which it is based on
    settled, scenario = load_scenario(tmp_path / "t.toml"), load_scenario(tmp_path / "t_transition.toml")
    assert scenario.initial_stock == settled.initial_stock
    # the stock is the mean end state of the runs: the same runs again give the same values
    plain = tmp_path / "plain"
    code, _, err = run_cli(capsys, "init", "t", "--children", 3000, "--caseworkers", 5, "--dir", plain)
    assert code == 0, err
    runs = load_scenario(plain / "t.toml").with_overrides(**{"run.warmup_years": 0.0})
    backend = local_backend(1, 2)
    try:
        _, results = replicate(backend, runs, 2, 1, 1.0, END_STATE)
    finally:
        backend.close()
    stock = steady_stock([r.tables for r in results], 3000)
    assert settled.initial_stock.model_dump(exclude={"source"}) == {
        key: stock[f"initial_stock.{key}"] for key in STOCK_FIELDS
    }
    assert settled.initial_stock != runs.initial_stock
    # the printed interval is that of the same runs' children in care per 1,000
    in_care = [(r.tables["stock"]["step"] >= 3).sum() / 3.0 for r in results]
    mean, low, high, _ = mean_ci(in_care)
    assert f"settled t: children in care {mean:.2f} per 1,000 children [95 % CI {low:.2f}, {high:.2f}]" in settling


def test_settle_runs_enough_children_in_all_by_default():
    from types import SimpleNamespace

    from sim.cli.commands.init import SETTLE_CHILD_RUNS, settle_replications

    default = SimpleNamespace(settle_replications=None)
    assert settle_replications(20000, default) == SETTLE_CHILD_RUNS // 20000
    assert settle_replications(5000, default) == 128
    assert settle_replications(1000, default) == 256 and settle_replications(900_000, default) == 4
    assert settle_replications(5000, SimpleNamespace(settle_replications=3)) == 3


PER_1000 = ["notifications_per_year", "placements_per_year", "children_in_care_mean", "cost_total_per_year"]


@pytest.mark.slow
def test_municipalities_of_5000_and_80000_children_give_the_baseline_s_per_1000_figures(tmp_path):
    """Made with init at the baseline's caseworkers per child, a small and a large municipality
    land within the interval of their difference from the 20,000-children baseline, per 1,000
    children (eight replications of four years each): four figures for two municipalities are
    eight comparisons, so each interval is Bonferroni's for a family-wise 1 % (z = 3.23)."""
    base = load_scenario("danish_baseline")
    sizes = {"town5k": 5000, "town80k": 80000}
    for name, children in sizes.items():
        caseworkers = round(base.staffing.caseworkers * children / base.municipality.children)
        for file, text in municipality_files(Municipality(name, children, caseworkers)).items():
            (tmp_path / file).write_text(text)
    entries = [scenario_entry("danish_baseline")] + [scenario_entry(str(tmp_path / f"{n}.toml")) for n in sizes]
    spec = BatchSpec(scenarios=entries, replications=8, years=4.0, seed=1, write_tables=False, workers=2)
    rows = run_batch(spec, tmp_path / "batch").replications
    children = {"danish_baseline": base.municipality.children, **sizes}
    z = float(stats.norm.ppf(1 - 0.01 / 2 / (len(PER_1000) * len(sizes))))
    for indicator in PER_1000:
        values = {
            name: rows.loc[rows["scenario"] == name, indicator].to_numpy() * 1000 / n for name, n in children.items()
        }
        reference = values["danish_baseline"]
        for name in sizes:
            diff = values[name].mean() - reference.mean()
            se = np.sqrt(values[name].var(ddof=1) / len(values[name]) + reference.var(ddof=1) / len(reference))
            assert abs(diff) <= z * se, (name, indicator, values[name].mean(), reference.mean(), se)
            # and the interval is narrow enough to see an error of a fifth (the small municipality's
            # placements, about a dozen a year, are the widest: about +-19 %)
            assert z * se < 0.2 * reference.mean(), (name, indicator, se)


def test_init_rounds_the_desk_up_and_warns_when_a_desk_worker_gets_more_than_the_baseline_s(tmp_path, capsys):
    code, out, err = run_cli(capsys, "init", "a", "--children", 8000, "--caseworkers", 7, "--dir", tmp_path)
    assert code == 0, err
    assert load_scenario(tmp_path / "a.toml").intake.desk_staff == 2  # 3 per 20,000 is 1.2, rounded up
    assert "note:" not in out
    argv = ("init", "b", "--children", 8000, "--caseworkers", 7, "--desk-staff", 1, "--dir", tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    base = load_scenario("danish_baseline")
    rate = base.arrivals.notifications_per_1000_children_per_year
    theirs = rate * base.municipality.children / 1000 / base.intake.desk_staff
    assert f"note: {rate * 8:,.0f} notifications a year per intake desk worker" in out
    assert f"the shipped baseline's {theirs:,.0f}" in out
