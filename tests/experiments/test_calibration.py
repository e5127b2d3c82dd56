"""The calibrated shipped scenarios reproduce the Danish figures of the conceptual model
(docs/conceptual-model.md §5) that ``scripts/calibrate.py`` fits them to (issue 10).

The Danish baseline runs ``REPLICATIONS`` replications of ``YEARS`` measured years each (after
its own warm-up, from its own initial stock), with common random numbers from seed 1 (the
validation document's seed; ``scripts/calibrate.py`` calibrates on another seed, so this is a
check on fresh random numbers). The indicators are derived as ``sim.experiments.validation`` derives them
and held to the *fitted* ``sim.experiments.validation.CHECKS``, so this test and ``docs/VALIDATION.md`` agree
on what is checked. The out-of-sample checks (the Swedish model's) are reported in the document,
pass or fail; holding them here would make them targets.

Tolerance, and why: with a handful of short replications the simulated mean carries sampling
error, so a check passes here when the 99 % confidence interval of the simulated mean (Student
t over the replications) overlaps the accepted range: the test fails only when the replications
are evidence, at the 1 % level, that the scenario's long-run mean lies outside the range. The
validation document (10 replications of the scenarios' own 10 years) holds the mean itself to
the range.

Fitted checks the calibration cannot honestly meet would be listed in ``sim.experiments.validation.NOT_MET``
with the reason (the validation document prints it) and left out of the tolerance test; today
there are none.

The rest holds the pieces of the calibration ``scripts/calibrate.py`` calls in
``sim.experiments.calibration`` to what they promise, on hand-made numbers and cheap stand-ins
(no simulation): the residuals of a target with a range and a figure, the staffing searches, the
editing of a scenario file in place, and that the script still starts.
"""

from __future__ import annotations

import math
import tomllib

import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.experiments.calibration import (
    DANISH_FIGURES,
    DANISH_TARGETS,
    MISSING,
    PARAMETERS,
    CalibrationError,
    Target,
    fewest_staff,
    overrides_at,
    practice_runs,
    range_residuals,
    staff_for_caseload,
    staff_for_cases,
    write_values,
)
from sim.experiments.validation import BASELINE, CHECKS, NOT_MET, _derived
from sim.params import ScenarioError
from sim.params.observed import set_values_text
from sim.results.stats import mean_ci

REPLICATIONS = 8
YEARS = 6.0
SEED = 1
CONFIDENCE = 0.99


@pytest.fixture(scope="module")
def replications() -> pd.DataFrame:
    rows = []
    children = {}
    for name in (BASELINE,):
        scenario = load_scenario(name)
        children[name] = scenario.municipality.children
        for r in range(REPLICATIONS):
            row = simulate(scenario, seed=[SEED, r], years=YEARS).summary.to_dict()
            row.update(scenario=name, replication=r)
            rows.append(row)
    return _derived(pd.DataFrame(rows), children)


@pytest.mark.slow
@pytest.mark.parametrize(
    "check",
    [
        pytest.param(c, id=f"{c.scenario}-{c.indicator}")
        for c in CHECKS
        if c.fitted and (c.scenario, c.indicator) not in NOT_MET
    ],
)
def test_the_calibrated_scenarios_meet_the_observed_figures(replications, check):
    values = replications.loc[replications["scenario"] == check.scenario, check.indicator]
    mean, low, high, n = mean_ci(values, CONFIDENCE)
    assert n == REPLICATIONS, f"{check.indicator}: {n} of {REPLICATIONS} replications have a value"
    assert low <= check.high and high >= check.low, (
        f"{check.what} ({check.scenario}): simulated {mean:.3g} [{low:.3g}, {high:.3g}] "
        f"({CONFIDENCE:.0%} CI, {n} replications of {YEARS:g} years) lies outside "
        f"the accepted {check.low:g} to {check.high:g} ({check.observed}, {check.source})"
    )


def _calibrate_script():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "calibrate.py"
    spec = importlib.util.spec_from_file_location("calibrate_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_calibration_script_still_starts_and_keeps_its_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        _calibrate_script().main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ")
    assert "Calibrate the shipped scenarios on Danish figures only (issue 10)." in out
    for option in (
        "--replications",
        "--years",
        "--warmup",
        "--first-warmup",
        "--rounds",
        "--seed",
        "--evaluations",
        "--check-replications",
        "--workers",
        "--start",
        "--no-search",
        "--stock-only",
        "--write",
    ):
        assert option in out


# ----------------------------------------------------------------------------- targets in ranges


def test_a_target_counts_the_figure_inside_its_range_and_weighs_the_outside():
    """Range 8 to 12 (half-width 2), figure 10, the default margin 0.15 (0.3 clear of each end)
    and outside weight 3: at the figure both residuals are 0; near it, inside, the first is the
    distance in half-widths and the second 0; inside but within the margin of an end, the second
    counts the distance into the margin; outside, the whole distance past the margin, three
    times; a weight scales both."""
    target = Target("x", 8.0, 12.0, figure=10.0)
    assert target.residuals(10.0) == (0.0, 0.0)
    point, outside = target.residuals(10.2)
    assert point == pytest.approx(0.1) and outside == 0.0
    point, outside = target.residuals(11.9)  # 0.2 past 11.7, the margin's edge
    assert point == pytest.approx(0.95) and outside == pytest.approx(3 * 0.1)
    point, outside = target.residuals(13.0)  # 1.3 past the margin's edge
    assert point == pytest.approx(1.5) and outside == pytest.approx(3 * 0.65)
    assert outside > point  # outside the range, the range counts more than the figure
    point, outside = target.residuals(6.0)  # below: the same rule, from 8.3
    assert point == pytest.approx(-2.0) and outside == pytest.approx(3 * (8.3 - 6.0) / 2)
    heavy = Target("x", 8.0, 12.0, figure=10.0, weight=2.0)
    assert heavy.residuals(13.0) == pytest.approx((3.0, 6 * 0.65))
    assert Target("x", 8.0, 12.0).residuals(11.0) == (0.0, 0.0)  # no figure: only the range
    assert Target("x", 8.0, 12.0).residuals(12.5)[1] == pytest.approx(3 * 0.8 / 2)
    assert Target("x", 8.0, 12.0, figure=10.0).residuals(math.nan) == (MISSING, MISSING)
    assert target.residuals(11.9, outside=1.0, margin=0.0) == pytest.approx((0.95, 0.0))


def test_range_residuals_are_two_per_target_of_the_mean_over_the_replications():
    reps = pd.DataFrame({"a": [9.0, 11.4], "b": [0.5, 0.7], "c": [math.nan, math.nan]})
    targets = [Target("a", 8, 12, 10.0), Target("b", 0, 1), Target("c", 0, 1, 0.5)]
    res = range_residuals(reps, targets)
    assert res.shape == (6,)
    assert res[:2] == pytest.approx([0.1, 0.0])  # mean 10.2
    assert res[2:4] == pytest.approx([0.0, 0.0])  # mean 0.6, no figure
    assert list(res[4:]) == [MISSING, MISSING]


def test_the_danish_targets_are_the_fitted_checks_with_their_figures_inside_the_ranges():
    fitted = [c for c in CHECKS if c.scenario == BASELINE and c.fitted]
    assert [(t.indicator, t.low, t.high) for t in DANISH_TARGETS] == [(c.indicator, c.low, c.high) for c in fitted]
    figures = {t.indicator: t.figure for t in DANISH_TARGETS if t.figure is not None}
    assert figures == {k: figure for k, (figure, _) in DANISH_FIGURES.items()}
    for t in DANISH_TARGETS:
        assert t.figure is None or t.low < t.figure < t.high, t.indicator
        assert t.weight == 1.0
    for p in PARAMETERS:  # every parameter's note names figures that exist
        assert p.against and set(p.against) <= set(DANISH_FIGURES), p.name


def test_parameters_set_together_each_see_the_others():
    """Both improve rates freed: the rate of step 5 is set on the list the rate of steps 3-4 set
    (each parameter of a list sees the values set before it)."""
    base = load_scenario(BASELINE)
    over = overrides_at(base, {"improve_steps_3_4": 0.7, "improve_step_5": 2.2})
    rates = over["need.improve_rate_per_year_when_met"]
    assert rates[2] == rates[3] == 0.7 and rates[4] == 2.2
    assert rates[:2] == list(base.need.improve_rate_per_year_when_met)[:2]


# ----------------------------------------------------------------------------- staffing


def test_fewest_staff_bisects_to_the_first_that_runs():
    calls = []

    def runs(n: int) -> bool:  # a cheap monotone stand-in: the practice runs from 37 staff on
        calls.append(n)
        return n >= 37

    assert fewest_staff(runs, 5, 10) == 37  # 10 fails: 20, 40, then between 20 and 40
    assert calls[:3] == [10, 20, 40] and len(calls) <= 3 + 5
    assert fewest_staff(runs, 30, 64) == 37
    assert fewest_staff(runs, 36, 37) == 37
    calls.clear()
    assert fewest_staff(runs, 36, 100) == 37
    assert all(36 < n <= 100 for n in calls)
    with pytest.raises(CalibrationError, match="does not run with up to 20 staff"):
        fewest_staff(runs, 5, 10, most=30)


def test_staff_for_caseload_takes_the_whole_number_nearest_the_target():
    calls = []

    def caseload(n: int) -> float:  # 500 open cases, and a little more with fewer staff
        calls.append(n)
        return (500 + 100 / n) / n

    staff, load = staff_for_caseload(caseload, 5, 48.0)
    assert calls == [5, 10, 11]  # the current staff once, then the two around 520 / 48 = 10.8
    assert staff == 11 and load == pytest.approx(caseload(11))
    assert abs(caseload(11) - 48) < abs(caseload(10) - 48)
    calls.clear()
    assert staff_for_caseload(caseload, 10, 48.0)[0] == 11
    assert calls == [10, 11]  # the current staff is not run twice
    assert staff_for_caseload(lambda n: 0.5 / n, 4, 48.0)[0] == 1  # never fewer than one
    assert staff_for_cases(540.0, 60.0) == 9
    assert staff_for_cases(10.0, 60.0) == 1


def test_a_practice_runs_only_when_every_replication_meets_both_requirements():
    reps = pd.DataFrame(
        {
            "mean_caseload_cases": [20.0, 20.0],
            "waiting_list_mean": [0.0, 3.0],  # 3 of 400 cases: 0.75 %
            "followup_on_time_share": [0.97, 0.92],
        }
    )
    check = practice_runs(reps, 20, 0.01, 0.9)
    assert check.ok
    assert check.waiting_share == pytest.approx(3 / 400) and check.on_time_share == pytest.approx(0.92)
    assert not practice_runs(reps, 20, 0.005, 0.9).ok  # too many waiting in one replication
    assert not practice_runs(reps, 20, 0.01, 0.95).ok  # too few on time in one replication


# ----------------------------------------------------------------------------- editing a file


def test_the_calibration_writes_a_value_and_its_note_and_nothing_else(tmp_path):
    """``write_values`` (what ``scripts/calibrate.py --write`` calls) edits a scenario file in
    place: the value line and its ``source.`` note in the named section (the value added before
    the notes when missing); comments, other sections and other values stay as they were, and
    the file still loads."""
    import difflib
    import shutil

    from sim.params import shipped_scenarios_dir

    path = tmp_path / "danish_baseline.toml"
    shutil.copy(shipped_scenarios_dir() / "danish_baseline.toml", path)
    before = path.read_text(encoding="utf-8").splitlines()
    write_values(
        path,
        {
            "practice.step_down_after_reviews": (3, "calibrated: a test"),
            # a key the section has a note for but no value (no institution plan in the Danish practice)
            "practice.institution_plan_after_days": (365.0, "calibrated: another test"),
        },
    )
    after = path.read_text(encoding="utf-8").splitlines()

    diff = list(difflib.ndiff(before, after))
    removed = sorted(line[2:] for line in diff if line.startswith("- "))
    added = sorted(line[2:] for line in diff if line.startswith("+ "))
    assert [line.split(" = ")[0] for line in removed] == [
        "source.institution_plan_after_days",
        "source.step_down_after_reviews",
        "step_down_after_reviews",
    ]
    assert added == sorted(
        [
            'source.institution_plan_after_days = "calibrated: another test"',
            'source.step_down_after_reviews = "calibrated: a test"',
            "institution_plan_after_days = 365.0",
            "step_down_after_reviews = 3",
        ]
    )
    scenario = load_scenario(path)
    assert scenario.practice.step_down_after_reviews == 3
    assert scenario.practice.institution_plan_after_days == 365.0
    assert scenario.practice.source["step_down_after_reviews"] == "calibrated: a test"
    assert scenario.practice.source["institution_plan_after_days"] == "calibrated: another test"
    assert [f.name for f in tmp_path.iterdir()] == [path.name]  # the temporary file was renamed, none left


TEXT = (
    "# a comment = kept\r\n"
    "[need]\n"
    "rate = 1.5  # replaced, comment and all\n"
    "other = [1, 2]\n"
    'source.rate = "old"\n'
    'source.other = "kept \\"as is\\""\n'
    "\n"
    "\n"
    "[children]\r\n"
    "share = 0.1\r\n"
    "\r\n"
    "[staffing]\n"
    "caseworkers = 12"
)


def test_set_values_replaces_value_and_note_adds_missing_ones_at_the_section_end_and_keeps_the_rest():
    text = set_values_text(
        TEXT,
        {
            "need.rate": (0.25, 'calibrated: a "quoted" note'),
            "need.new": ([[0.5, 1], [2.0, 0.001]], "calibrated: new"),
            "children.crisis_share": (0.0001, "calibrated: added"),
            "staffing.caseworkers": (14, "calibrated: staff"),
        },
        "x.toml",
    )
    assert text == (
        "# a comment = kept\r\n"
        "[need]\n"
        "rate = 0.25\n"
        "other = [1, 2]\n"
        "new = [[0.5, 1], [2.0, 0.001]]\n"  # the value before the section's notes
        'source.rate = "calibrated: a \\"quoted\\" note"\n'
        'source.other = "kept \\"as is\\""\n'
        'source.new = "calibrated: new"\n'  # the note at the end, before the blank lines
        "\n"
        "\n"
        "[children]\r\n"
        "share = 0.1\r\n"
        "crisis_share = 0.0001\n"
        'source.crisis_share = "calibrated: added"\n'
        "\r\n"
        "[staffing]\n"
        "caseworkers = 14\n"  # the last line had no end: it gets one, the note comes after it
        'source.caseworkers = "calibrated: staff"\n'
    )
    assert tomllib.loads(text)["need"]["source"]["rate"] == 'calibrated: a "quoted" note'
    assert set_values_text(TEXT, {}, "x.toml") == TEXT  # nothing to set: byte for byte the same


def test_set_values_refuses_a_missing_section_and_writes_nothing(tmp_path):
    with pytest.raises(ScenarioError, match=r"^x\.toml: no \[practice\] section$"):
        set_values_text(TEXT, {"practice.step_down_after_reviews": (3, "n")}, "x.toml")
    path = tmp_path / "x.toml"
    path.write_bytes(TEXT.encode("utf-8"))
    with pytest.raises(ScenarioError, match=r"x\.toml: no \[practice\] section"):
        write_values(path, {"need.rate": (2.0, "n"), "practice.step_down_after_reviews": (3, "n")})
    assert path.read_bytes() == TEXT.encode("utf-8")  # not even the section that exists
    write_values(path, {"need.rate": (2.0, "n")})
    assert path.read_bytes().startswith(b"# a comment = kept\r\n[need]\nrate = 2.0\n")
    assert [f.name for f in tmp_path.iterdir()] == ["x.toml"]
