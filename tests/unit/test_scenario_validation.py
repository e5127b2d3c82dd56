"""Scenario files: every kind of bad input is a one-line ScenarioError naming the file and
the dotted field; the shipped scenarios load, inherit as documented, and every parameter
carries a source note."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sim.params import Scenario, ScenarioError, Section, load_scenario, shipped_scenarios_dir

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "danish_baseline.toml"
SHIPPED = tuple(sorted(p.stem for p in shipped_scenarios_dir().glob("*.toml")))
NOTE_PREFIXES = ("source:", "assumption:", "calibrated:")


# ----------------------------------------------------------------------------- helpers


def write(tmp_path: Path, name: str, body: str, base: Path | str | None = BASELINE) -> Path:
    """A scenario file in ``tmp_path`` that overrides ``base`` (an absolute path) with ``body``."""
    path = tmp_path / name
    if isinstance(base, Path) and base.parent == SCENARIOS:
        base = base.stem  # a shipped scenario, by name (a file names only what is beside it)
    head = f'base = "{Path(base).as_posix() if isinstance(base, Path) else base}"\n' if base is not None else ""
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def load_error(path: Path) -> ScenarioError:
    """The ScenarioError that loading ``path`` raises; its text must be one line."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.splitlines() == [message], f"not one line: {message!r}"
    assert message.strip() == message
    return info.value


def assert_names(error: ScenarioError, file: Path, field: str | None) -> str:
    """The message starts with ``file`` (as shown: absolute or relative to the working
    folder) and then the dotted ``field``; returns the rest of the message."""
    message = str(error)
    shown, sep, rest = message.partition(": ")
    assert sep, message
    assert Path(shown).resolve() == file.resolve(), f"names {shown!r}, expected {file}: {message}"
    if field is not None:
        assert rest.startswith(f"{field}: "), f"expected field {field!r}: {message}"
        assert error.field == field
        return rest.removeprefix(f"{field}: ")
    return rest


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("casewrkers = 3\n", "casewrkers"),
        ("[staffing]\ncasewrkers = 3\n", "staffing.casewrkers"),
        ("[ladder.foster]\ncost = 3\n", "ladder.foster.cost"),
        ("[followup.kinship]\nevry_days = 30\n", "followup.kinship.evry_days"),
    ],
    ids=["top-level", "section", "ladder-step", "followup-schedule"],
)
def test_unknown_key(tmp_path, body, field):
    path = write(tmp_path, "unknown.toml", body)
    rest = assert_names(load_error(path), path, field)
    assert "unknown" in rest


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [
        ('[staffing]\ncaseworkers = "many"\n', "staffing.caseworkers", "'many'"),
        ('[staffing]\nhours_per_week = "full time"\n', "staffing.hours_per_week", "'full time'"),
        ('[intake]\ndesk = "maybe"\n', "intake.desk", "'maybe'"),
        ("[arrivals]\nseasonality = 1.0\n", "arrivals.seasonality", "1.0"),
    ],
    ids=["int", "float", "bool", "list"],
)
def test_wrong_type(tmp_path, body, field, shown):
    path = write(tmp_path, "type.toml", body)
    rest = assert_names(load_error(path), path, field)
    assert rest.startswith("must be a valid")
    assert rest.endswith(f"got {shown}")


def test_negative_rate(tmp_path):
    path = write(tmp_path, "rate.toml", "[arrivals]\nnotifications_per_1000_children_per_year = -5\n")
    rest = assert_names(load_error(path), path, "arrivals.notifications_per_1000_children_per_year")
    assert rest.startswith("must be >= 0")
    assert rest.endswith("got -5")


def test_negative_count(tmp_path):
    path = write(tmp_path, "count.toml", "[staffing]\ncaseworkers = -3\n")
    error = load_error(path)
    assert_names(error, path, "staffing.caseworkers")
    assert str(error).endswith(": staffing.caseworkers: must be > 0, got -3")


@pytest.mark.parametrize(("value", "bound"), [("1.5", "<= 1"), ("-0.1", ">= 0")])
def test_probability_outside_unit_interval(tmp_path, value, bound):
    path = write(tmp_path, "prob.toml", f"[children]\nkinship_available_probability = {value}\n")
    rest = assert_names(load_error(path), path, "children.kinship_available_probability")
    assert rest.startswith(f"must be {bound}")
    assert rest.endswith(f"got {value}")


def test_point_cap_below_heaviest_case(tmp_path):
    heaviest = load_scenario(BASELINE).assignment.heaviest_case_points()
    cap = heaviest - 4
    assert cap > 0
    path = write(tmp_path, "cap.toml", f"[assignment]\npoint_cap = {cap:g}\n")
    rest = assert_names(load_error(path), path, "assignment.point_cap")
    assert f"{heaviest:g} points" in rest
    assert rest.endswith(f"got {cap:g}")


def test_point_cap_equal_to_heaviest_case_is_accepted(tmp_path):
    heaviest = load_scenario(BASELINE).assignment.heaviest_case_points()
    path = write(tmp_path, "cap.toml", f"[assignment]\npoint_cap = {heaviest:g}\n")
    assert load_scenario(path).assignment.point_cap == heaviest


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    rest = assert_names(load_error(path), path, None)
    assert "no such scenario file" in rest


def test_missing_base_file(tmp_path):
    path = write(tmp_path, "orphan.toml", "[staffing]\ncaseworkers = 5\n", base="no_such_base")
    rest = assert_names(load_error(path), path, "base")
    assert "'no_such_base'" in rest
    assert "not found" in rest


def test_circular_base(tmp_path):
    a = write(tmp_path, "a.toml", "title = 'a'\n", base="b")
    b = write(tmp_path, "b.toml", "title = 'b'\n", base="a.toml")
    error = load_error(a)
    shown = Path(str(error).partition(": ")[0]).resolve()
    assert shown in (a.resolve(), b.resolve()), str(error)
    assert error.field == "base"
    assert "circular" in str(error)
    assert "a.toml" in error.message and "b.toml" in error.message


def test_base_naming_itself(tmp_path):
    path = write(tmp_path, "me.toml", "title = 'me'\n", base="me")
    rest = assert_names(load_error(path), path, "base")
    assert "circular" in rest


def test_malformed_toml(tmp_path):
    path = write(tmp_path, "broken.toml", "[staffing\ncaseworkers = 3\n")
    rest = assert_names(load_error(path), path, None)
    assert rest.startswith("malformed TOML")
    assert "line 2" in rest  # the line of the broken table header (line 1 is the base)


def test_file_not_utf8(tmp_path):
    """A file saved in Latin-1 (an accented title) is bad input like any other: a one-line
    ScenarioError naming the file, not a UnicodeDecodeError (which the CLI does not catch)."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(f'base = "{BASELINE.stem}"\ntitle = "Århus"\n'.encode("latin-1"))
    rest = assert_names(load_error(path), path, None)
    assert "UTF-8" in rest.upper()


def test_source_note_for_unknown_field(tmp_path):
    """A self-contained file whose [staffing] source table names a field that does not exist."""
    text = BASELINE.read_text(encoding="utf-8")
    assert "\n[staffing]\n" in text
    text = text.replace("\n[staffing]\n", '\n[staffing]\nsource.casewrkers = "assumption: a typo"\n', 1)
    path = tmp_path / "typo.toml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    rest = assert_names(error, path, None)
    assert rest.startswith("staffing"), str(error)
    assert "casewrkers" in rest


def test_source_note_for_unknown_field_in_overriding_file(tmp_path):
    """The same typo in a file that overrides the baseline: the error must name the file
    with the typo, not the (correct) base file."""
    path = write(tmp_path, "typo.toml", '[staffing]\nsource.casewrkers = "assumption: a typo"\n')
    error = load_error(path)
    rest = assert_names(error, path, None)
    assert rest.startswith("staffing"), str(error)
    assert "casewrkers" in rest


def test_probability_vector_not_summing_to_one(tmp_path):
    path = write(
        tmp_path, "vector.toml", "[children]\ninitial_need_probabilities = [0.5, 0.3, 0.1, 0.05, 0.04, 0.02]\n"
    )
    rest = assert_names(load_error(path), path, "children.initial_need_probabilities")
    assert "sum to 1" in rest
    assert rest.endswith("got 1.01")


def test_probability_vector_of_wrong_length(tmp_path):
    path = write(tmp_path, "vector.toml", "[children]\ninitial_need_probabilities = [0.5, 0.5]\n")
    rest = assert_names(load_error(path), path, "children.initial_need_probabilities")
    assert "6 values" in rest


def test_infinite_run_length_is_rejected(tmp_path):
    """``run.years = inf`` passes ``gt=0``; `validate` calls it ok and `run` never ends."""
    path = write(tmp_path, "forever.toml", "[run]\nyears = inf\n")
    rest = assert_names(load_error(path), path, "run.years")
    assert "inf" in rest


def test_error_in_base_file_names_the_base_file(tmp_path):
    bad_base = write(tmp_path, "bad_base.toml", "[staffing]\ncaseworkers = -3\n")
    child = write(
        tmp_path, "child.toml", "title = 'inherits a bad value'\n[intake]\nhandover_hours = 1\n", base="bad_base"
    )
    error = load_error(child)
    assert_names(error, bad_base, "staffing.caseworkers")
    assert str(error).endswith(": staffing.caseworkers: must be > 0, got -3")


def test_error_fixed_in_overriding_file_is_not_reported(tmp_path):
    write(tmp_path, "bad_base.toml", "[staffing]\ncaseworkers = -3\n")
    child = write(tmp_path, "child.toml", "[staffing]\ncaseworkers = 7\n", base="bad_base")
    assert load_scenario(child).staffing.caseworkers == 7


def test_bad_value_in_overriding_file_names_that_file(tmp_path):
    good_base = write(tmp_path, "good_base.toml", "[staffing]\ncaseworkers = 7\n")
    child = write(tmp_path, "child.toml", "[hours]\ninvestigation_sessions = 0\n", base=good_base.stem)
    rest = assert_names(load_error(child), child, "hours.investigation_sessions")
    assert rest.endswith("got 0")


# ----------------------------------------------------------------------------- shipped scenarios


def test_every_shipped_scenario_is_described_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines() if line.startswith("| `")}
    assert len(SHIPPED) >= 5
    assert [name for name in SHIPPED if name not in rows] == []


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads(name):
    by_name = load_scenario(name)
    by_path = load_scenario(SCENARIOS / f"{name}.toml")
    assert isinstance(by_name, Scenario)
    assert by_name == by_path
    assert by_name.name == name
    assert by_name.title


def test_swedish_model_inherits_from_baseline():
    dk = load_scenario("danish_baseline")
    se = load_scenario("swedish_model")
    # inherited whole
    assert se.ladder == dk.ladder
    assert se.municipality == dk.municipality
    assert se.children == dk.children
    assert se.need == dk.need
    assert se.hours == dk.hours
    assert se.run == dk.run
    # overridden
    assert dk.assignment.point_cap is None
    assert se.assignment.point_cap == 120
    assert se.intake.desk is False and dk.intake.desk is True
    assert se.followup != dk.followup
    for step in (1, 2, 3, 4, 5):
        assert se.followup.schedule(step).every_days < dk.followup.schedule(step).every_days
    # a partly overridden section keeps the base's other keys
    assert se.followup.legal_interval_days == dk.followup.legal_interval_days
    assert se.followup.on_time_grace_days == dk.followup.on_time_grace_days
    assert se.assignment.points_placement == dk.assignment.points_placement
    assert se.staffing.hours_per_week == dk.staffing.hours_per_week
    assert se.staffing.caseworkers != dk.staffing.caseworkers


def test_high_load_differs_from_baseline_only_in_caseworkers():
    dk = load_scenario("danish_baseline").model_dump()
    hi = load_scenario("danish_high_load").model_dump()
    # the same work shared by fewer caseworkers: that is what makes the load high
    assert hi["staffing"]["caseworkers"] < dk["staffing"]["caseworkers"]
    for d in (dk, hi):
        for key in ("name", "title"):
            d.pop(key)
        d["staffing"].pop("caseworkers")
        d["staffing"]["source"].pop("caseworkers")
    assert hi == dk


def _note_gaps(section: Section, where: str) -> list[str]:
    """Fields of ``section`` (and of its nested sections) without a proper source note."""
    gaps = []
    notes = section.source
    for field in type(section).model_fields:
        if field in ("source", "target"):  # a transition's target is a shipped scenario, checked on its own
            continue
        value = getattr(section, field)
        if isinstance(value, Section):
            gaps += _note_gaps(value, f"{where}.{field}")
            continue
        note = notes.get(field)
        if note is None:
            if value is not None:
                gaps.append(f"{where}.{field}: no note")
        elif not note.startswith(NOTE_PREFIXES):
            gaps.append(f"{where}.{field}: note {note!r} does not start with source:/assumption:/calibrated:")
    return gaps


@pytest.mark.parametrize("name", SHIPPED)
def test_every_parameter_has_a_source_note(name):
    scenario = load_scenario(name)
    gaps = []
    sections = 0
    for field in Scenario.model_fields:
        value = getattr(scenario, field)
        if isinstance(value, Section):
            sections += 1
            gaps += _note_gaps(value, field)
    assert sections >= 13  # the walk reached the sections at all
    assert gaps == [], f"{name}: parameters without a proper note:\n" + "\n".join(gaps)


def test_note_check_finds_a_missing_note(tmp_path):
    """The check above can fail: a parameter set without a note is reported."""
    path = write(tmp_path, "unnoted.toml", "[followup.institution]\nafter_first_year_every_days = 400\n")
    gaps = _note_gaps(load_scenario(path).followup, "followup")
    assert gaps == ["followup.institution.after_first_year_every_days: no note"]
