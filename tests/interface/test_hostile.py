"""Hostile input (issue 11): every class of bad input the issue names is refused with one
line on standard error, exit status 2, nothing written, before any simulation starts.

The scenario files are made here from the schema (``Scenario.model_fields`` and the shipped
baseline's values, through ``schema_tools``), never from a hand-written list of fields.
Commands run in-process through ``sim.cli.main`` in an empty working folder, with the model
replaced by one that fails the test if it is ever built: a refusal must come before the
work, so these tests run in seconds and in little memory whatever the input asks for.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import one_line, run_cli
from schema_tools import Number, baseline_list, numbers, set_dotted, tiny, write_overrides

import sim
import sim.engine.model
from sim.cli import main
from sim.params import MAX_BASE_CHAIN, MAX_FILE_BYTES, load_scenario

NUMBERS = numbers()


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working folder (the default ``outputs/`` would appear here)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def no_model(monkeypatch):
    """Fail if a model is ever built: bad input must be refused before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built although the input is bad")

    monkeypatch.setattr(sim.engine.model.Model, "__init__", refuse)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(capsys, folder: Path, *argv) -> str:
    """Run the command; assert exit 2, one line, and nothing new under ``folder``."""
    before = listing(folder)
    code, out, err = run_cli(capsys, *argv)
    line = one_line(err)
    assert code == 2, f"exit {code}: {line}"
    assert listing(folder) == before, f"something was written: {set(listing(folder)) - set(before)}"
    return line


def scenario_file(folder: Path, name: str, overrides: dict | None = None, extra: str = "") -> Path:
    path = write_overrides(folder / name, overrides or {})
    if extra:
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- names


BAD_NAMES = ["/tmp/welfare-escape", "../../../x", "a/b", "..", ".", "", "x" * 65, "a b", "a.b", "år", "a\\b", "-" * 65]


@pytest.mark.parametrize("command", ["validate", "run", "compare"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_a_name_that_is_not_an_identifier_is_refused(workdir, capsys, no_model, command, name):
    path = scenario_file(workdir, "named.toml", {"name": name})
    argv = {"validate": [path], "run": [path], "compare": [path, "--workers", "1"]}[command]
    line = refused(capsys, workdir, command, *argv)
    assert line.startswith("named.toml: name: must be letters, digits, _ and - only"), line
    assert not Path("/tmp/welfare-escape").exists()


def test_a_name_that_would_escape_the_outputs_folder_never_becomes_a_folder(workdir, capsys, no_model, tmp_path):
    escape = tmp_path / "escaped"
    path = scenario_file(workdir, "escape.toml", {"name": str(escape)})
    refused(capsys, tmp_path, "run", path)
    refused(capsys, tmp_path, "compare", path, "danish_baseline", "--workers", "1")
    assert not escape.exists()


def test_a_file_name_that_is_no_identifier_needs_a_name_inside(workdir, capsys, no_model):
    text = (Path(sim.params.shipped_scenarios_dir()) / "danish_baseline.toml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("name =")]
    path = workdir / "my scenario.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = refused(capsys, workdir, "validate", path)
    assert "name: must be letters" in line and "the file's name" in line


def test_names_the_program_derives_are_still_one_folder_name():
    herning = load_scenario("herning_pilot")
    assert all("." in d.target.name and "/" not in d.target.name for d in herning.districts)
    with pytest.raises(sim.params.ScenarioError, match="name: must be letters"):
        herning.districts[0].target.with_overrides(name="../x")


# ----------------------------------------------------------------------------- files and references


REFERENCES = {
    "base-absolute": ("base", 'base = "/etc/passwd"\n'),
    "base-device": ("base", 'base = "/dev/zero"\n'),
    "base-up": ("base", 'base = "../outside"\n'),
    "base-home": ("base", 'base = "~/x"\n'),
    "to-device": ("transition.to", 'base = "danish_baseline"\n[transition]\nat_years = 1\nto = "/dev/zero"\n'),
    "to-passwd": ("transition.to", 'base = "danish_baseline"\n[transition]\nat_years = 1\nto = "/etc/passwd"\n'),
    "to-up": ("transition.to", 'base = "danish_baseline"\n[transition]\nat_years = 1\nto = "../../x"\n'),
    "district": (
        "districts.0.scenario",
        'base = "danish_baseline"\n[[districts]]\nname = "a"\nshare = 0.5\nscenario = "/etc/passwd"\n'
        '[[districts]]\nname = "b"\nshare = 0.5\nscenario = "danish_baseline"\n',
    ),
}


@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_a_reference_outside_the_files_folder_is_refused(workdir, capsys, no_model, case):
    field, text = REFERENCES[case]
    path = workdir / "ref.toml"
    path.write_text(text, encoding="utf-8")
    line = refused(capsys, workdir, "validate", path)
    assert line.startswith(f"ref.toml: {field}: must name a file beside this one"), line


def test_a_reference_is_found_beside_the_file_or_among_the_shipped(workdir):
    sub = workdir / "sub"
    sub.mkdir()
    tiny(sub, "beside")
    (sub / "user.toml").write_text('base = "beside"\nname = "user"\n', encoding="utf-8")
    assert load_scenario(sub / "user.toml").municipality.children == 1000
    (sub / "user.toml").write_text('base = "swedish_model"\nname = "user"\n', encoding="utf-8")
    assert load_scenario(sub / "user.toml").assignment.point_cap == load_scenario("swedish_model").assignment.point_cap


@pytest.mark.parametrize("kind", ["device-link", "fifo", "folder", "too-large", "not-utf8"])
@pytest.mark.parametrize("how", ["argument", "base"])
def test_only_regular_text_files_of_limited_size_are_read(workdir, capsys, no_model, kind, how):
    target = workdir / "target.toml"
    if kind == "device-link":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)  # opening it for reading would wait for a writer for ever
    elif kind == "folder":
        target.mkdir()
    elif kind == "too-large":
        target.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 10), encoding="utf-8")
    else:
        target.write_bytes(b'name = "caf\xe9"\n')
    path = target
    if how == "base":
        path = workdir / "uses.toml"
        path.write_text('base = "target"\n', encoding="utf-8")
    line = refused(capsys, workdir, "validate", path)
    expected = {
        "device-link": "not a regular file",
        "fifo": "not a regular file",
        "folder": "not a regular file",
        "too-large": "too large",
        "not-utf8": "not UTF-8",
    }[kind]
    assert line.startswith("target.toml: ") and expected in line, line


def test_validate_dev_zero_is_refused_at_once(workdir, capsys):
    line = refused(capsys, workdir, "validate", "/dev/zero")
    assert line == "/dev/zero: not a regular file (a device, pipe or socket); a scenario file is a text file"


BATCH_FILES = {
    "scenario-absolute": ("scenarios.0", 'scenarios = ["/etc/passwd"]\n'),
    "scenario-up": ("scenarios.0", 'scenarios = ["../x.toml"]\n'),
    "out-absolute": ("out", 'scenarios = ["danish_baseline"]\nout = "/tmp/welfare-escape"\n'),
    "out-up": ("out", 'scenarios = ["danish_baseline"]\nout = "../../escape"\n'),
    "years": ("years", 'scenarios = ["danish_baseline"]\nyears = 1e300\n'),
    "seed": ("seed", f'scenarios = ["danish_baseline"]\nseed = {2**64}\n'),
    "workers": ("workers", 'scenarios = ["danish_baseline"]\nworkers = 1000\n'),
    "replications": ("replications", 'scenarios = ["danish_baseline"]\nreplications = 100000\n'),
    "replications-type": ("replications", 'scenarios = ["danish_baseline"]\nreplications = 2.5\n'),
    "crn-type": ("crn", 'scenarios = ["danish_baseline"]\ncrn = 1\n'),
    "backend": ("backend", 'scenarios = ["danish_baseline"]\nbackend = "garbage"\n'),
}


@pytest.mark.parametrize("case", sorted(BATCH_FILES))
def test_a_bad_batch_file_is_refused_before_anything_runs(workdir, capsys, no_model, case):
    field, text = BATCH_FILES[case]
    (workdir / "study.toml").write_text(text, encoding="utf-8")
    line = refused(capsys, workdir, "batch", "study.toml")
    assert line.startswith(f"study.toml: {field}: "), line
    assert not Path("/tmp/welfare-escape").exists()


# ----------------------------------------------------------------------------- ranges and types


def _override(number: Number, value) -> dict:
    data: dict = {}
    if number.index is None:
        set_dotted(data, number.path, value)
    else:
        values = baseline_list(number)
        values[number.index] = value
        set_dotted(data, number.path, values)
    return data


def _far_above(number: Number):
    high = number.high
    value = high if number.high_open else high + max(1, abs(high))
    return int(value) if number.kind is int else float(value)


def _far_below(number: Number):
    low = number.low
    value = low if number.low_open else low - max(1, abs(low))
    return int(value) if number.kind is int else float(value)


def test_every_number_has_a_finite_range_stated_in_its_description():
    assert len(NUMBERS) > 50  # the walk found the schema's numbers
    undocumented = []
    for number in NUMBERS:
        assert number.high is not None, f"{number.label}: no upper bound"
        assert number.low is not None, f"{number.label}: no lower bound"
        high = number.high
        shown = {f"{high:,}", f"{high:g}", str(high)}
        if float(high).is_integer():
            shown.add(f"{int(high):,}")
        if high >= 1e6:
            shown |= {f"{high / 1e6:g} million", f"{high / 1e9:g} billion"}
        share = high == 1 and any(w in number.path for w in ("share", "probabilit", "fraction"))
        if not share and not any(text in number.description for text in shown):
            undocumented.append(f"{number.label} (at most {high:g})")
    assert not undocumented, f"the description does not state the range: {undocumented}"


def test_the_shipped_scenarios_lie_inside_their_ranges():
    for name in ("danish_baseline", "swedish_model", "danish_high_load", "herning_pilot", "transition_to_swedish"):
        load_scenario(name)  # raises on any value out of range


@pytest.mark.parametrize("number", [n for n in NUMBERS], ids=lambda n: n.label)
def test_a_value_above_its_range_is_refused(workdir, capsys, number):
    path = scenario_file(workdir, "above.toml", _override(number, _far_above(number)))
    line = refused(capsys, workdir, "validate", path)
    assert line.startswith(f"above.toml: {number.label}: must be <"), line


@pytest.mark.parametrize("number", [n for n in NUMBERS], ids=lambda n: n.label)
def test_a_value_below_its_range_is_refused(workdir, capsys, number):
    path = scenario_file(workdir, "below.toml", _override(number, _far_below(number)))
    line = refused(capsys, workdir, "validate", path)
    assert line.startswith(f"below.toml: {number.label}: must be >"), line


@pytest.mark.parametrize("number", [n for n in NUMBERS], ids=lambda n: n.label)
def test_a_flag_is_not_a_number(workdir, capsys, number):
    path = scenario_file(workdir, "flag.toml", _override(number, True))
    line = refused(capsys, workdir, "validate", path)
    assert line.startswith(f"flag.toml: {number.label}: must be a valid"), line


@pytest.mark.parametrize("number", [n for n in NUMBERS if n.kind is int], ids=lambda n: n.label)
def test_a_whole_number_is_not_rounded(workdir, capsys, number):
    value = (number.low or 0) + 1.5
    path = scenario_file(workdir, "half.toml", _override(number, value))
    line = refused(capsys, workdir, "validate", path)
    assert line == f"half.toml: {number.label}: must be a valid integer, got {value:g}", line


@pytest.mark.parametrize(
    "path,value",
    [
        ("staffing.caseworkers", 1_000_000_000),
        ("municipality.children", 1_000_000_000),
        ("arrivals.notifications_per_1000_children_per_year", 1e12),
        ("run.years", 1_000_000),
        ("run.warmup_years", 1_000_000),
        ("hours.investigation_sessions", 100_000_000),
        ("run.snapshot_interval_days", 1e-6),
        ("followup.legal_interval_days", 1e-300),
        ("ladder.institution.cost_dkk_per_year", 1e308),
        ("staffing.caseworkers", 10**30),
    ],
)
def test_the_values_of_the_issue_are_refused(workdir, capsys, no_model, path, value):
    data: dict = {}
    set_dotted(data, path, value)
    file = scenario_file(workdir, "issue.toml", data)
    line = refused(capsys, workdir, "run", file)
    assert line.startswith("issue.toml: "), line


def test_seasonality_of_1e300_and_a_snapshot_longer_than_the_run_are_refused(workdir, capsys, no_model):
    file = scenario_file(workdir, "season.toml", {"arrivals": {"seasonality": [1e300] + [1.0] * 11}})
    assert "arrivals.seasonality.0: must be <= 4" in refused(capsys, workdir, "validate", file)
    file = scenario_file(workdir, "snap.toml", {"run": {"years": 0.05, "snapshot_interval_days": 30}})
    assert "run.snapshot_interval_days: must be at most the measured length" in refused(
        capsys, workdir, "validate", file
    )


# ----------------------------------------------------------------------------- the work estimate

BIG = {"name": "big", "municipality": {"children": 1_500_000}, "run": {"years": 100}}


def test_work_that_would_not_fit_is_refused_with_its_estimate(workdir, capsys, no_model):
    big = scenario_file(
        workdir, "big.toml", {"name": "big", "municipality": {"children": 1_500_000}, "run": {"years": 100}}
    )
    for argv in (
        ["run", big],
        ["compare", big, "--workers", "1"],
        ["warmup", big, "--years", "100"],
        ["sweep", big, "--param", "staffing.caseworkers", "--values", "10,20"],
        ["staff", big, "--target", "followup_on_time_share>=0.5"],
        ["business-case", big, "danish_baseline", "--years", "100"],
    ):
        line = refused(capsys, workdir, *argv)
        assert "would simulate about" in line and "events" in line and "--force" in line, line


def test_a_batch_too_long_in_all_is_refused(workdir, capsys, no_model):
    line = refused(capsys, workdir, "compare", "--replications", "10000", "--years", "100", "--workers", "1")
    assert "replications would simulate about" in line and "of one core" in line and "--force" in line


def test_force_runs_what_the_estimate_refuses(workdir, capsys, monkeypatch):
    big = scenario_file(
        workdir, "big.toml", {"name": "big", "municipality": {"children": 1_500_000}, "run": {"years": 100}}
    )
    started = []

    def stop_at_once(*args, **kwargs):
        started.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(sim, "simulate", stop_at_once)
    code, _, err = run_cli(capsys, "run", big, "--force")
    assert started and code == 130 and one_line(err) == "welfare-sim: interrupted; nothing was written"


# ----------------------------------------------------------------------------- options


SEED = str(2**64)
BAD_OPTIONS = {
    "run-years": ["run", "danish_baseline", "--years", "1e300"],
    "run-years-nan": ["run", "danish_baseline", "--years", "nan"],
    "run-seed": ["run", "danish_baseline", "--seed", SEED],
    "run-seed-negative": ["run", "danish_baseline", "--seed", "-1"],
    "warmup-years": ["warmup", "danish_baseline", "--years", "1e300"],
    "warmup-seed": ["warmup", "danish_baseline", "--seed", SEED],
    "warmup-replications": ["warmup", "danish_baseline", "--replications", "100000"],
    "compare-years": ["compare", "--years", "inf"],
    "compare-seed": ["compare", "--seed", SEED],
    "compare-workers": ["compare", "--workers", "1000"],
    "compare-workers-zero": ["compare", "--workers", "0"],
    "compare-replications": ["compare", "--replications", "100000"],
    "compare-max-replications": ["compare", "--replications", "auto", "--max-replications", "100000"],
    "compare-precision": ["compare", "--replications", "auto", "--precision", "nan"],
    "compare-scheduler": ["compare", "--backend", "dask", "--scheduler", "garbage"],
    "compare-scheduler-port": ["compare", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:99999"],
    "compare-not-a-number": ["compare", "--workers", "many"],
    "compare-unknown-option": ["compare", "--wrokers", "2"],
    "sweep-values": ["sweep", "danish_baseline", "--param", "staffing.caseworkers", "--values", "1e9"],
    "sweep-absent-section": ["sweep", "danish_baseline", "--param", "transition.at_years", "--values", "1,2"],
    "sweep-seed": ["sweep", "danish_baseline", "--param", "staffing.caseworkers", "--values", "5,6", "--seed", SEED],
    "sweep-workers": [
        "sweep",
        "danish_baseline",
        "--param",
        "staffing.caseworkers",
        "--values",
        "5",
        "--workers",
        "999",
    ],
    "staff-high": ["staff", "danish_baseline", "--target", "followup_on_time_share>=0.9", "--high", "1000000"],
    "staff-seed": ["staff", "danish_baseline", "--target", "followup_on_time_share>=0.9", "--seed", SEED],
    "business-seed": ["business-case", "danish_baseline", "transition_to_swedish", "--seed", SEED],
    "business-years": ["business-case", "danish_baseline", "transition_to_swedish", "--years", "1e300"],
    "sensitivity-trajectories": ["sensitivity", "--trajectories", "100000"],
    "sensitivity-seed": ["sensitivity", "--seed", SEED],
    "validation-replications": ["validation", "--replications", "100000", "--out", "v.md"],
    "validation-seed": ["validation", "--seed", SEED, "--out", "v.md"],
    "run-out-unwritable": ["run", "danish_baseline", "--out", "/proc/welfare-sim-hostile/run"],
    "compare-out-unwritable": ["compare", "--workers", "1", "--out", "/proc/welfare-sim-hostile/batch"],
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_a_bad_option_is_refused_before_the_work(workdir, capsys, no_model, case):
    argv = BAD_OPTIONS[case]
    line = refused(capsys, workdir, *argv)
    option = next((a for a in argv if a.startswith("--")), None)
    if case.endswith("unwritable"):
        assert "cannot write" in line, line
    elif case == "compare-unknown-option":
        assert "unrecognized arguments: --wrokers" in line, line
    elif case == "sweep-values":
        assert line.startswith("welfare-sim: --values: staffing.caseworkers: must be <= 10000"), line
    elif case == "sweep-absent-section":
        assert line.startswith("welfare-sim: --param: transition.at_years: "), line
    else:
        named = [a for a in argv if a.startswith("--")]
        assert any(o in line for o in named) or option in line, line


def test_workers_are_capped_at_the_number_of_replications(workdir, capsys):
    a = tiny(workdir, "tiny_a")
    code, _, err = run_cli(capsys, "compare", a, "--replications", "2", "--workers", "200", "--quiet", "--no-report")
    assert code == 0, err
    folder = next(Path("outputs").iterdir())
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["workers"] == 2


# ----------------------------------------------------------------------------- what used to be tracebacks


DEPTH = 3000
NESTED = {
    "inline-tables": "x = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n",
    "arrays": "x = " + "[" * DEPTH + "]" * DEPTH + "\n",
    "dotted-header": "[" + ".".join(["a"] * DEPTH) + "]\nx = 1\n",
    "dotted-key": ".".join(["a"] * DEPTH) + " = 1\n",
    "shallow-but-too-deep": "x = " + "[" * 12 + "]" * 12 + "\n",
    "huge-integer": "[staffing]\ncaseworkers = 1" + "0" * 5000 + "\n",
}


@pytest.mark.parametrize("case", sorted(NESTED))
def test_deeply_nested_or_huge_toml_is_one_line(workdir, capsys, case):
    path = workdir / "deep.toml"
    path.write_text(NESTED[case], encoding="utf-8")
    line = refused(capsys, workdir, "validate", path)
    assert line.startswith("deep.toml: "), line


def test_a_base_chain_hundreds_of_files_long_is_one_line(workdir, capsys):
    for i in range(300):
        base = f'base = "c{i + 1}"\n' if i < 299 else 'base = "danish_baseline"\n'
        (workdir / f"c{i}.toml").write_text(base + f'name = "c{i}"\n', encoding="utf-8")
    line = refused(capsys, workdir, "validate", "c0.toml")
    assert f"a chain of more than {MAX_BASE_CHAIN} base files" in line, line
    (workdir / "c299.toml").write_text('base = "c0"\n', encoding="utf-8")
    assert "base" in refused(capsys, workdir, "validate", "c280.toml")


def test_ctrl_c_while_the_program_starts_is_one_line(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["sim.cli.main"], "build_parser", interrupted)  # the module, not main()
    code, _, err = run_cli(capsys, "compare")
    assert code == 130 and one_line(err) == "welfare-sim: interrupted; nothing was written"


def test_a_full_disk_is_one_line_and_leaves_nothing(workdir, capsys, monkeypatch):
    tiny(workdir, "tiny_a")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "caseload.parquet")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    before = listing(workdir)
    code, _, err = run_cli(capsys, "run", "tiny_a.toml", "--out", "result")
    line = one_line(err)
    assert code == 74 and "No space left on device" in line and "nothing was written" in line, line
    assert listing(workdir) == before


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already gone
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "scenarios"], stdout=write_end, stderr=subprocess.PIPE, timeout=120, cwd=tmp_path
    )
    os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == b""


# ----------------------------------------------------------------------------- damaged results folders


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """A finished batch folder and a finished run folder of a tiny scenario."""
    root = tmp_path_factory.mktemp("finished")
    a = tiny(root, "tiny_a")
    batch, run = root / "batch", root / "run"
    assert main(["compare", str(a), "--replications", "2", "--workers", "1", "--quiet", "--out", str(batch)]) == 0
    assert main(["run", str(a), "--out", str(run)]) == 0
    return batch, run


DAMAGE = {
    "manifest-not-json": ("batch", "manifest.json", "{not json"),
    "manifest-a-list": ("batch", "manifest.json", "[1, 2]"),
    "manifest-no-scenarios": ("batch", "manifest.json", '{"identity": {}}'),
    "manifest-escaping-name": ("batch", "manifest.json", '{"scenarios": [{"name": "../../etc"}]}'),
    "replications-not-parquet": ("batch", "replications.parquet", "garbage"),
    "run-json-not-json": ("run", "run.json", "{"),
    "run-json-no-scenario": ("run", "run.json", "{}"),
    "summary-not-json": ("run", "summary.json", "nan nan"),
    "events-not-parquet": ("run", "events.parquet", "garbage"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "export"])
@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_report_and_export_of_a_damaged_folder_are_one_line(tmp_path, capsys, finished, command, case):
    kind, name, text = DAMAGE[case]
    folder = tmp_path / kind
    shutil.copytree(finished[0] if kind == "batch" else finished[1], folder)
    (folder / name).write_text(text, encoding="utf-8")
    (folder / "report.html").unlink(missing_ok=True)
    if (command, case) == ("report", "events-not-parquet"):  # the report does not need the event log
        code, _, err = run_cli(capsys, command, folder)
        assert code == 0 and err == "" and (folder / "report.html").exists()
        return
    line = refused(capsys, tmp_path, command, folder)
    assert line.startswith("welfare-sim: "), line
    assert not (folder / "report.html").exists()


@pytest.mark.slow
def test_resume_over_a_damaged_manifest_is_one_line(tmp_path, capsys, finished):
    folder = tmp_path / "batch"
    shutil.copytree(finished[0], folder)
    (folder / "manifest.json").write_text("{", encoding="utf-8")
    a = next(p for p in finished[0].parent.glob("tiny_a.toml"))
    line = refused(capsys, tmp_path, "compare", a, "--replications", "2", "--workers", "1", "--out", folder, "--resume")
    assert "manifest.json: corrupt" in line, line


@pytest.mark.slow
def test_export_does_not_create_missing_folders(tmp_path, capsys, finished):
    line = refused(capsys, tmp_path, "export", finished[1], "--out", tmp_path / "no" / "such" / "log.xes")
    assert "does not exist" in line, line


@pytest.mark.slow
def test_files_are_readable_by_all_and_the_report_names_no_local_path(tmp_path, finished):
    batch, _ = finished
    modes = {p.name: p.stat().st_mode & 0o777 for p in batch.rglob("*") if p.is_file()}
    assert modes["manifest.json"] == 0o644 and set(modes.values()) == {0o644}, modes
    page = (batch / "report.html").read_text(encoding="utf-8")
    assert str(batch.parent) not in page and str(Path.home()) + "/" not in page
    assert str(Path(sim.__file__).resolve().parent.parent) not in page
