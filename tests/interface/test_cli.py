"""The command line, driven in-process through ``sim.cli.main`` (and once as ``python -m sim``):
bad input is one line on stderr and exit status 2 with nothing written; a run writes its
folder whole; compare, validate and scenarios print what they promise."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import one_line
from cli_tools import run_cli as cli

import sim
import sim.storage.output
from sim import Scenario, load_scenario, simulate
from sim.results.indicators import SUMMARY_NAMES
from sim.storage.output import read_summary

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "danish_baseline.toml"
SHIPPED = ("danish_baseline", "danish_high_load", "swedish_model")
WRITTEN_TABLES = ("events", "placements", "followups", "caseload", "costs", "notifications")


# ----------------------------------------------------------------------------- helpers


def assert_line_names(line: str, file: Path, field: str | None, cwd: Path | None = None) -> None:
    """``line`` starts with ``file`` (absolute, or relative to ``cwd``) and then the dotted ``field``."""
    shown, sep, rest = line.partition(": ")
    assert sep, line
    named = (cwd or Path.cwd()) / shown
    assert named.resolve() == file.resolve(), f"names {shown!r}, expected {file}: {line}"
    if field is not None:
        assert rest.startswith(f"{field}: "), f"expected field {field!r}: {line}"


def listing(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> content), folders as ``None``."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def partial_folders(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".partial-" in p.name]


def _toml(tmp_path: Path, name: str, body: str, base: str | None = BASELINE.stem) -> Path:
    path = tmp_path / name
    path.write_text((f'base = "{base}"\n' if base else "") + body, encoding="utf-8")
    return path


def _source_note_typo(tmp_path: Path) -> Path:
    text = BASELINE.read_text(encoding="utf-8").replace(
        "\n[staffing]\n", '\n[staffing]\nsource.casewrkers = "assumption: a typo"\n', 1
    )
    path = tmp_path / "typo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _circular(tmp_path: Path) -> Path:
    _toml(tmp_path, "b.toml", "title = 'b'\n", base="a")
    return _toml(tmp_path, "a.toml", "title = 'a'\n", base="b")


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.toml"
    path.write_bytes(f'base = "{BASELINE.stem}"\ntitle = "Århus"\n'.encode("latin-1"))
    return path


# kind -> (make the bad file in tmp_path, the field the message must name or None)
BAD_FILES = {
    "unknown-key": (lambda t: _toml(t, "bad.toml", "casewrkers = 3\n"), "casewrkers"),
    "unknown-key-in-section": (
        lambda t: _toml(t, "bad.toml", "[staffing]\ncasewrkers = 3\n"),
        "staffing.casewrkers",
    ),
    "wrong-type": (lambda t: _toml(t, "bad.toml", '[staffing]\ncaseworkers = "many"\n'), "staffing.caseworkers"),
    "negative-rate": (
        lambda t: _toml(t, "bad.toml", "[arrivals]\nnotifications_per_1000_children_per_year = -5\n"),
        "arrivals.notifications_per_1000_children_per_year",
    ),
    "negative-count": (lambda t: _toml(t, "bad.toml", "[staffing]\ncaseworkers = -3\n"), "staffing.caseworkers"),
    "probability": (
        lambda t: _toml(t, "bad.toml", "[children]\nkinship_available_probability = 1.5\n"),
        "children.kinship_available_probability",
    ),
    "point-cap": (lambda t: _toml(t, "bad.toml", "[assignment]\npoint_cap = 5\n"), "assignment.point_cap"),
    "missing-base": (lambda t: _toml(t, "bad.toml", "title = 'x'\n", base="no_such_base"), "base"),
    "circular-base": (_circular, "base"),
    "malformed": (lambda t: _toml(t, "bad.toml", "[staffing\ncaseworkers = 3\n"), None),
    "source-note": (_source_note_typo, None),
    "vector-sum": (
        lambda t: _toml(t, "bad.toml", "[children]\ninitial_need_probabilities = [0.5, 0.3, 0.1, 0.05, 0.04, 0.02]\n"),
        "children.initial_need_probabilities",
    ),
    "not-utf8": (_latin1, None),
}


@pytest.fixture(scope="module")
def reference():
    """The library's own result for the run the CLI tests make."""
    return simulate(load_scenario("danish_baseline"), seed=3, years=1)


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail if anything is simulated: bad input must be refused before the run."""

    def refuse(*args, **kwargs):
        raise AssertionError("simulate() was called although the input is bad")

    monkeypatch.setattr(sim, "simulate", refuse)


@pytest.fixture
def quick_simulation(monkeypatch, reference):
    """Replace the simulation by the reference result, for tests about what happens after it."""
    calls = []

    def fake(scenario, seed=1, years=None):
        calls.append((scenario.name, seed, years))
        return reference

    monkeypatch.setattr(sim, "simulate", fake)
    return calls


# ----------------------------------------------------------------------------- validate


@pytest.mark.parametrize("name", SHIPPED)
def test_validate_shipped_scenario(capsys, name):
    code, out, err = cli(capsys, "validate", name)
    assert code == 0, err
    assert err == ""
    assert out.splitlines() == [f"{name}: ok ({name}: {load_scenario(name).title})"]


def test_validate_several_files(capsys):
    code, out, err = cli(capsys, "validate", *(SCENARIOS / f"{n}.toml" for n in SHIPPED))
    assert code == 0, err
    assert len(out.splitlines()) == len(SHIPPED)
    assert all(": ok (" in line for line in out.splitlines())


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_validate_bad_file(tmp_path, monkeypatch, capsys, kind):
    monkeypatch.chdir(tmp_path)
    make, field = BAD_FILES[kind]
    path = make(tmp_path)
    code, out, err = cli(capsys, "validate", path)
    assert code == 2
    assert out == ""
    line = one_line(err)
    if kind == "circular-base":
        assert Path(line.partition(": ")[0]).resolve() in {p.resolve() for p in tmp_path.glob("*.toml")}, line
        assert ": base: circular base" in line
    else:
        assert_line_names(line, path, field)
    if kind == "source-note":
        assert "casewrkers" in line


def test_validate_stops_at_the_first_bad_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = _toml(tmp_path, "bad.toml", "[staffing]\ncaseworkers = -3\n")
    code, out, err = cli(capsys, "validate", "danish_baseline", bad)
    assert code == 2
    assert out.startswith("danish_baseline: ok")
    assert one_line(err).endswith("staffing.caseworkers: must be > 0, got -3")


@pytest.mark.slow
def test_python_dash_m_sim_reports_bad_file_in_one_line(tmp_path):
    bad = _toml(tmp_path, "bad.toml", "[staffing]\ncaseworkers = -3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    line = one_line(proc.stderr)
    assert_line_names(line, bad, "staffing.caseworkers", cwd=tmp_path)
    assert line.endswith(": staffing.caseworkers: must be > 0, got -3")


# ----------------------------------------------------------------------------- run


@pytest.mark.slow
def test_run_writes_every_output(tmp_path, monkeypatch, capsys, reference):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "run"
    code, out, err = cli(capsys, "run", "danish_baseline", "--years", "1", "--seed", "3", "--out", out_dir)
    assert code == 0, err
    assert err == ""
    assert f"results written to {out_dir}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no outputs/, no partial folder

    written = {p.name for p in out_dir.iterdir()}
    expected = {f"{t}.parquet" for t in WRITTEN_TABLES} | {"summary.csv", "summary.json", "run.json", "scenario.json"}
    assert expected <= written, expected - written

    for table in WRITTEN_TABLES:
        frame = pd.read_parquet(out_dir / f"{table}.parquet")
        pd.testing.assert_frame_equal(frame, getattr(reference, table).reset_index(drop=True), check_dtype=False)

    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert set(SUMMARY_NAMES) <= set(summary)
    assert list(summary) == list(reference.summary.index)
    for name, value in reference.summary.items():
        if math.isnan(value):
            assert summary[name] is None, name
        else:
            assert summary[name] == float(value), name  # bit-identical: JSON keeps every digit

    csv = read_summary(out_dir)  # written with 17 significant digits: reads back bit-identical
    assert list(csv.index) == list(reference.summary.index)
    pd.testing.assert_series_equal(csv, reference.summary, check_names=False, check_exact=True)

    facts = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    assert facts["scenario"] == "danish_baseline"
    assert facts["seed"] == 3
    assert facts["years"] == 1
    assert facts["measured_days"] == reference.measured_days
    assert facts["warmup_years"] == load_scenario("danish_baseline").run.warmup_years

    resolved = Scenario.model_validate_json((out_dir / "scenario.json").read_text(encoding="utf-8"))
    assert resolved == load_scenario("danish_baseline")

    for indicator in SUMMARY_NAMES:
        assert any(line.split()[:1] == [indicator] for line in out.splitlines()), indicator


@pytest.mark.parametrize("with_out", [True, False], ids=["--out", "default-out"])
def test_run_bad_scenario_writes_nothing(tmp_path, monkeypatch, capsys, no_simulation, with_out):
    monkeypatch.chdir(tmp_path)
    bad = _toml(tmp_path, "bad.toml", "[staffing]\ncaseworkers = -3\n")
    out_dir = tmp_path / "run"
    argv = ["run", bad, "--years", "1"] + (["--out", out_dir] if with_out else [])
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert one_line(err).endswith("staffing.caseworkers: must be > 0, got -3")
    assert not out_dir.exists()
    assert not (tmp_path / "outputs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_run_into_non_empty_folder_leaves_it_unchanged(tmp_path, monkeypatch, capsys, quick_simulation):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "taken"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("earlier results\n", encoding="utf-8")
    (out_dir / "sub").mkdir()
    (out_dir / "sub" / "summary.csv").write_text("indicator,value\n", encoding="utf-8")
    before = listing(out_dir)
    code, out, err = cli(capsys, "run", "danish_baseline", "--years", "1", "--seed", "3", "--out", out_dir)
    assert code == 2
    line = one_line(err)
    assert str(out_dir) in line
    assert "not empty" in line
    assert "results written" not in out
    assert listing(out_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_run_into_existing_empty_folder(tmp_path, monkeypatch, capsys, quick_simulation):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "empty"
    out_dir.mkdir()
    code, out, err = cli(capsys, "run", "danish_baseline", "--years", "1", "--seed", "3", "--out", out_dir)
    assert code == 0, err
    assert quick_simulation == [("danish_baseline", 3, 1.0)]
    assert (out_dir / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_run_out_below_a_file_is_bad_input(tmp_path, monkeypatch, capsys, quick_simulation):
    """``--out`` whose parent is a file cannot be used: one line and exit 2, like a non-empty folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, out, err = cli(capsys, "run", "danish_baseline", "--years", "1", "--out", tmp_path / "afile" / "run")
    assert code == 2
    assert "afile" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("command", ["run", "compare"])
@pytest.mark.parametrize(
    ("option", "value"),
    [("--years", "0"), ("--years", "-1"), ("--years", "nan"), ("--years", "inf"), ("--seed", "-1")],
)
def test_bad_run_option(tmp_path, monkeypatch, capsys, no_simulation, command, option, value):
    monkeypatch.chdir(tmp_path)
    argv = [command, "danish_baseline", option, value] + (["--out", tmp_path / "run"] if command == "run" else [])
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"welfare-sim: {option}: must be")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch, capsys, quick_simulation):
    monkeypatch.chdir(tmp_path)
    real_write = sim.storage.output.write_result
    seen = []

    def write_then_interrupt(result, folder, extra=None):
        real_write(result, folder, extra)  # half a run folder exists now
        seen.append(sorted(p.name for p in Path(folder).iterdir()))
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.storage.output, "write_result", write_then_interrupt)
    out_dir = tmp_path / "run"
    code, out, err = cli(capsys, "run", "danish_baseline", "--years", "1", "--seed", "3", "--out", out_dir)
    assert code == 130
    assert seen and "summary.json" in seen[0]  # the interrupt came after files were written
    assert "interrupted" in one_line(err)
    assert "results written" not in out
    assert not out_dir.exists()
    assert partial_folders(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- compare, scenarios


@pytest.mark.slow
def test_compare_default_scenarios(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "compare", "--years", "1", "--replications", "2")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("indicator"))
    assert "danish_baseline" in header.split()
    assert "swedish_model" in header.split()
    assert "swedish_model - danish_baseline" in header
    first_words = {line.split()[0] for line in lines if line.strip()}
    missing = [name for name in SUMMARY_NAMES if name not in first_words]
    assert missing == []
    assert "2 scenario(s) x 2 replications" in err
    written = list((tmp_path / "outputs").glob("compare-*"))
    assert len(written) == 1 and (written[0] / "replications.parquet").exists()


def test_compare_with_a_bad_scenario_runs_nothing(tmp_path, monkeypatch, capsys, no_simulation):
    monkeypatch.chdir(tmp_path)
    bad = _toml(tmp_path, "bad.toml", "[children]\nkinship_available_probability = 1.5\n")
    code, out, err = cli(capsys, "compare", "danish_baseline", bad, "--years", "1")
    assert code == 2
    assert out == ""
    assert_line_names(one_line(err), bad, "children.kinship_available_probability")


def test_scenarios_lists_the_shipped_scenarios(capsys):
    code, out, err = cli(capsys, "scenarios")
    assert code == 0, err
    for name in SHIPPED:
        rows = [line for line in out.splitlines() if line.split()[:1] == [name]]
        assert len(rows) == 1, name
        assert load_scenario(name).title in rows[0]
