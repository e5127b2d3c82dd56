"""Batches: replications, common random numbers, confidence intervals, parallel runs,
resume, manifest, batch files (issue 3)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.batch import BatchSpec, read_table, run_batch, scenario_entry
from sim.params import shipped_scenarios_dir
from sim.results.stats import mean_ci

SHIPPED = shipped_scenarios_dir()


def small_scenarios(folder: Path) -> tuple[Path, Path]:
    """A municipality a fifth of Herning's size with a short warm-up: fast replications."""
    base = folder / "small_baseline.toml"
    base.write_text(
        'base = "danish_baseline"\n'
        'name = "small_baseline"\n'
        "[run]\nwarmup_years = 0.5\n"
        "[municipality]\nchildren = 4000\n"
        "[staffing]\ncaseworkers = 4\n"
        "[intake]\ndesk_staff = 1\n",
        encoding="utf-8",
    )
    swedish = folder / "small_swedish.toml"
    swedish.write_text(
        'base = "swedish_model"\n'
        'name = "small_swedish"\n'
        "[run]\nwarmup_years = 0.5\n"
        "[municipality]\nchildren = 4000\n"
        "[staffing]\ncaseworkers = 8\n",
        encoding="utf-8",
    )
    return base, swedish


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return small_scenarios(tmp_path_factory.mktemp("scenarios"))


def spec_for(files, **kw) -> BatchSpec:
    defaults = {"replications": 3, "years": 1.0, "seed": 5, "workers": 1}
    defaults.update(kw)
    return BatchSpec(scenarios=[scenario_entry(f) for f in files], **defaults)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_batch_with_one_or_two_workers(files, tmp_path):
    one = run_batch(spec_for(files, workers=1), tmp_path / "one")
    two = run_batch(spec_for(files, workers=2), tmp_path / "two")
    pd.testing.assert_frame_equal(one.replications, two.replications, check_exact=True)
    for name in ("replications.parquet",):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "one" / name), pd.read_parquet(tmp_path / "two" / name), check_exact=True
        )
    assert (tmp_path / "one" / "comparison.csv").read_bytes() == (tmp_path / "two" / "comparison.csv").read_bytes()
    for table in ("events", "placements", "followups"):
        pd.testing.assert_frame_equal(read_table(tmp_path / "one", table), read_table(tmp_path / "two", table))


def test_every_replication_of_every_scenario_is_written(files, tmp_path):
    result = run_batch(spec_for(files, replications=2), tmp_path / "b")
    assert list(zip(result.replications["scenario"], result.replications["replication"])) == [
        ("small_baseline", 0),
        ("small_baseline", 1),
        ("small_swedish", 0),
        ("small_swedish", 1),
    ]
    for scenario in ("small_baseline", "small_swedish"):
        for r in (0, 1):
            folder = tmp_path / "b" / "tables" / f"scenario={scenario}" / f"replication={r}"
            assert (folder / "summary.json").exists()
            assert (folder / "events.parquet").exists()
    events = read_table(tmp_path / "b", "events")
    assert set(events["scenario"]) == {"small_baseline", "small_swedish"}
    comparison = pd.read_csv(tmp_path / "b" / "comparison.csv")
    row = comparison[(comparison["indicator"] == "mean_caseload_cases") & (comparison["scenario"] == "small_swedish")]
    values = result.replications.set_index(["scenario", "replication"])["mean_caseload_cases"]
    paired = values["small_swedish"] - values["small_baseline"]
    assert row["diff_mean"].item() == pytest.approx(paired.mean())
    assert row["diff_ci_low"].item() < paired.mean() < row["diff_ci_high"].item()


@pytest.mark.slow
def test_common_random_numbers_narrow_the_paired_difference(files, tmp_path):
    crn = run_batch(spec_for(files, replications=8, years=1.5), tmp_path / "crn").comparison
    ind = run_batch(spec_for(files, replications=8, years=1.5, crn=False), tmp_path / "ind").comparison

    def diff_half_width(comparison, indicator):
        row = comparison[(comparison["indicator"] == indicator) & (comparison["scenario"] == "small_swedish")]
        return (row["diff_ci_high"] - row["diff_ci_low"]).item() / 2

    # The arrivals are common: the notification count does not differ at all with CRN.
    assert diff_half_width(crn, "notifications_per_year") == 0
    assert diff_half_width(ind, "notifications_per_year") > 0
    narrower = [
        diff_half_width(crn, i) < diff_half_width(ind, i)
        for i in ("cost_total_per_year", "children_in_care_mean", "placements_per_year", "cost_placements_per_year")
    ]
    assert sum(narrower) >= 3, narrower


@pytest.mark.slow
def test_confidence_intervals_cover_a_known_mean():
    rng = np.random.default_rng(2024)
    trials, n = 4000, 8
    covered = 0
    for _ in range(trials):
        _, low, high, _ = mean_ci(rng.exponential(3.0, size=n) + rng.normal(0, 1, size=n))
        covered += low <= 3.0 <= high
    # Skewed data and n = 8: the t interval covers a little under 95 %; 4,000 trials give
    # a standard error of about 0.35 percentage points.
    assert 0.90 <= covered / trials <= 0.97
    normal = sum(
        (lambda lo_hi: lo_hi[1] <= 10.0 <= lo_hi[2])(mean_ci(rng.normal(10.0, 2.0, size=n))) for _ in range(trials)
    )
    assert abs(normal / trials - 0.95) < 0.015


def test_the_manifest_names_every_scenario_file_and_hash(files, tmp_path):
    run_batch(spec_for(files, replications=1), tmp_path / "m", command=["test"])
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["package_version"]
    assert manifest["seed"] == 5 and manifest["replications_used"] == 1
    by_name = {s["name"]: s for s in manifest["scenarios"]}
    assert set(by_name) == {"small_baseline", "small_swedish"}
    for name, expected_base in (("small_baseline", "danish_baseline.toml"), ("small_swedish", "swedish_model.toml")):
        listed = by_name[name]["files"]
        # The file and every file of its base chain, each with the hash of its bytes.
        assert any(Path(f["path"]).name == f"{name}.toml" for f in listed)
        assert any(Path(f["path"]).name == expected_base for f in listed)
        for f in listed:
            assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
    assert by_name["small_swedish"]["files"][-1]["path"].endswith("danish_baseline.toml")
    assert {(f["scenario"], f["replication"]) for f in manifest["finished"]} == {
        ("small_baseline", 0),
        ("small_swedish", 0),
    }
    assert manifest["seeds"]["small_baseline"] == [[5, 0]]


@pytest.mark.slow
def test_auto_replications_stop_at_the_precision_or_the_cap(files, tmp_path):
    loose = run_batch(spec_for(files, replications=None, precision=0.5, years=0.5), tmp_path / "loose")
    assert loose.replications_used == 5  # the first round is enough
    capped = run_batch(
        spec_for(files, replications=None, precision=0.0001, max_replications=7, years=0.5), tmp_path / "capped"
    )
    assert capped.replications_used == 7
    assert len(capped.replications) == 14
    manifest = json.loads((tmp_path / "capped" / "manifest.json").read_text())
    assert manifest["replications_used"] == 7


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_uninterrupted_results(files, tmp_path):
    args = [*map(str, files), "--replications", "6", "--years", "1", "--seed", "3", "--workers", "1", "--quiet"]
    whole = tmp_path / "whole"
    assert main(["compare", *args, "--out", str(whole)]) == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "compare", *args, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(killed.glob("tables/*/*/summary.json"))) < 3:
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    done_before = len(list(killed.glob("tables/*/*/summary.json")))
    assert done_before < 12
    assert not (killed / "replications.parquet").exists()
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"

    assert main(["compare", *args, "--out", str(killed), "--resume"]) == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "replications.parquet"), pd.read_parquet(whole / "replications.parquet")
    )
    assert (killed / "comparison.csv").read_bytes() == (whole / "comparison.csv").read_bytes()
    pd.testing.assert_frame_equal(read_table(killed, "placements"), read_table(whole, "placements"))
    assert not list(killed.rglob(".*partial*"))


@pytest.mark.slow
def test_resume_refuses_other_arguments(files, tmp_path, capsys):
    out = tmp_path / "b"
    args = [*map(str, files), "--replications", "1", "--years", "0.5", "--workers", "1", "--quiet", "--out", str(out)]
    assert main(["compare", *args]) == 0
    capsys.readouterr()
    assert main(["compare", *args, "--resume", "--seed", "99"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0]


@pytest.mark.slow
def test_a_finished_batch_folder_is_not_overwritten(files, tmp_path, capsys):
    out = tmp_path / "b"
    args = [*map(str, files), "--replications", "1", "--years", "0.5", "--workers", "1", "--quiet", "--out", str(out)]
    assert main(["compare", *args]) == 0
    before = (out / "replications.parquet").read_bytes()
    assert main(["compare", *args]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "replications.parquet").read_bytes() == before


@pytest.mark.slow
def test_a_batch_file_runs_like_the_same_compare(files, tmp_path):
    folder = tmp_path / "study"  # the batch file names scenarios beside it
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    batch = folder / "study.toml"
    batch.write_text(
        f'scenarios = ["{files[0].name}", "{files[1].stem}"]\n'
        'replications = 2\nseed = 5\nyears = 1.0\nworkers = 1\nout = "study-out"\n',
        encoding="utf-8",
    )
    assert main(["batch", str(batch), "--quiet"]) == 0
    direct = run_batch(spec_for(files, replications=2), tmp_path / "direct")
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "study-out" / "replications.parquet"), direct.replications)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('scenarios = ["danish_baseline"]\nreplications = 0\n', "replications"),
        ('scenarios = ["danish_baseline"]\nreplicatons = 3\n', "replicatons"),
        ('scenarios = ["no_such_scenario.toml"]\n', "no_such_scenario.toml"),
        ('scenarios = ["danish_baseline"]\nreplications = "many"\n', "replications"),
        ("scenarios = [\n", "malformed TOML"),
    ],
)
def test_a_bad_batch_file_gets_one_line_and_exit_2(tmp_path, capsys, content, field):
    batch = tmp_path / "bad.toml"
    batch.write_text(content, encoding="utf-8")
    assert main(["batch", str(batch), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_progress_is_quiet_when_not_a_terminal(files, tmp_path, capsys):
    args = [*map(str, files), "--replications", "1", "--years", "0.5", "--workers", "1"]
    assert main(["compare", *args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "[" not in err  # one header line, no bar
    assert main(["compare", *args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "small_swedish - small_baseline" in captured.out
