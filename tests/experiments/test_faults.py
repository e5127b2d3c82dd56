"""Faults and races (issue 11): a batch killed at any moment, even while a replication is
being written, is finished by ``--resume`` with exactly the files of an uninterrupted run
and nothing left over; Ctrl-C says what was kept and how to finish; one folder has one
writer (an exclusive lock), so of two batches started at once on it one runs and the other
is refused; temporary folders of killed processes are removed.

The kill moments are random but seeded (the same every run). Batches run as separate
processes (``python -m sim``) of two tiny scenarios, a few seconds each."""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from schema_tools import tiny

import sim.experiments.jobs
from sim.cli import main
from sim.storage.output import LOCK_NAME

REPLICATIONS = 3
TIMEOUT = 300  # a guard against a hung child process, far above what a batch takes


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two tiny scenarios and the uninterrupted batch of them (the reference)."""
    root = tmp_path_factory.mktemp("faults")
    files = [tiny(root, "tiny_a", "danish_baseline"), tiny(root, "tiny_b", "swedish_model")]
    reference = root / "reference"
    assert main(batch_argv(files, reference)) == 0
    return files, reference


def batch_argv(files, out: Path, *more) -> list[str]:
    return [
        "compare",
        *(str(f) for f in files),
        "--replications",
        str(REPLICATIONS),
        "--workers",
        "1",
        "--quiet",
        "--no-report",
        "--out",
        str(out),
        *more,
    ]


def results(folder: Path) -> dict[str, bytes]:
    """Every file a batch writes whose content does not depend on when it ran."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def leftovers(folder: Path) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if ".partial-" in p.name or p.name == LOCK_NAME or p.name.endswith(".tmp") or "probe" in p.name
    ]


def assert_same_as_reference(folder: Path, reference: Path) -> None:
    got, expected = results(folder), results(reference)
    assert sorted(got) == sorted(expected)
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, f"differs from the uninterrupted run: {different}"
    assert not leftovers(folder), leftovers(folder)
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["status"] == "complete"


def command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "sim", *argv]


def finish(files, out: Path) -> subprocess.CompletedProcess:
    """Run the batch to its end: ``--resume`` when a first run left a manifest."""
    more = ["--resume"] if (out / "manifest.json").exists() else []
    return subprocess.run(command(batch_argv(files, out, *more)), capture_output=True, text=True, timeout=TIMEOUT)


# ----------------------------------------------------------------------------- kills


@pytest.mark.slow
def test_a_batch_killed_at_random_moments_resumes_to_the_uninterrupted_results(tmp_path, study):
    files, reference = study
    rng = random.Random(11)
    for trial in range(3):
        out = tmp_path / f"killed-{trial}"
        for _ in range(2):  # killed twice, at random moments, then left to finish
            more = ["--resume"] if (out / "manifest.json").exists() else []
            proc = subprocess.Popen(command(batch_argv(files, out, *more)), stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=rng.uniform(1.0, 6.0))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=TIMEOUT)
        done = finish(files, out)
        assert done.returncode == 0, done.stderr
        assert_same_as_reference(out, reference)


KILL_WHILE_WRITING = """
import os, signal, sys
import pandas as pd
calls = [0]
original = pd.DataFrame.to_parquet
def to_parquet(self, *args, **kwargs):
    calls[0] += 1
    if calls[0] == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)  # in the middle of a replication's tables
    return original(self, *args, **kwargs)
pd.DataFrame.to_parquet = to_parquet
from sim.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [3, 15])
def test_a_batch_killed_while_writing_a_replication_resumes_without_leftovers(tmp_path, study, kill_at):
    files, reference = study
    out = tmp_path / "killed"
    script = textwrap.dedent(KILL_WHILE_WRITING).replace("{kill_at}", str(kill_at))
    proc = subprocess.run([sys.executable, "-c", script, *batch_argv(files, out)], capture_output=True, timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    assert [p for p in out.rglob("*") if ".partial-" in p.name], "the kill should leave a half-written replication"
    assert (out / LOCK_NAME).exists()  # and the killed writer's lock file
    done = finish(files, out)
    assert done.returncode == 0, done.stderr
    assert_same_as_reference(out, reference)


def test_resume_runs_a_replication_whose_summary_is_corrupt_again(tmp_path, capsys, study):
    files, reference = study
    out = tmp_path / "corrupt"
    shutil.copytree(reference, out)
    (out / "tables" / "scenario=tiny_b" / "replication=1" / "summary.json").write_text("{", encoding="utf-8")
    (out / "replications.parquet").unlink()
    assert main(batch_argv(files, out, "--resume")) == 0
    assert "summary.json: not a summary (corrupt); running it again" in capsys.readouterr().err
    assert_same_as_reference(out, reference)


# ----------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_in_a_batch_says_what_was_kept_and_how_to_finish(tmp_path, capsys, monkeypatch, study, fail_on_call):
    files, reference = study
    out = tmp_path / "interrupted"
    original = fail_on_call(sim.experiments.jobs, "run_job", 4, lambda *args, **kwargs: KeyboardInterrupt())
    assert main(batch_argv(files, out)) == 130
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "nothing was written" not in line
    total = 2 * REPLICATIONS
    assert line.startswith(f"welfare-sim: interrupted; 3 of {total} replications had finished and are kept in {out}")
    head, sep, again = line.partition("; finish the batch with: welfare-sim ")
    assert sep and "--resume" in again
    monkeypatch.setattr(sim.experiments.jobs, "run_job", original)
    assert main(shlex.split(again)) == 0
    assert_same_as_reference(out, reference)


def test_ctrl_c_in_a_sweep_says_what_was_kept(tmp_path, capsys, monkeypatch, study):
    files, _ = study
    out = tmp_path / "sweep"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.present.plots.save_figure", interrupted)  # while the sweep plots
    argv = ["sweep", str(files[0]), "--param", "staffing.caseworkers", "--values", "10,20"]
    assert main([*argv, "--replications", "2", "--workers", "1", "--quiet", "--out", str(out)]) == 130
    line = capsys.readouterr().err.strip()
    assert line == f"welfare-sim: interrupted; kept what was finished in {out} (incomplete: the command did not end)"
    assert (out / "replications.parquet").exists() and not (out / "sweep.png").exists()
    assert not leftovers(out)


# ----------------------------------------------------------------------------- one writer


HOLD_LOCK = """
import sys
from pathlib import Path
from sim.storage.output import folder_lock
lock = folder_lock(Path(sys.argv[1]))
lock.__enter__()
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_folder_being_written_refuses_a_second_writer(tmp_path, capsys, study):
    files, reference = study
    out = tmp_path / "held"
    shutil.copytree(reference, out)
    (out / "replications.parquet").unlink()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_LOCK), str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = results(out)
        for argv in (batch_argv(files, out, "--resume"), batch_argv(files, out)):
            assert main(argv) == 2
            line = capsys.readouterr().err.strip()
            assert "\n" not in line
            assert f"{out}: another welfare-sim (process {holder.pid}) is writing this folder" in line, line
        assert results(out) == before
    finally:
        holder.kill()  # killed while holding the lock
        holder.wait(timeout=TIMEOUT)
        holder.stdin.close()
        holder.stdout.close()
    # The holder died without releasing: its lock file is stale and simply taken over.
    assert (out / LOCK_NAME).exists()
    assert main(batch_argv(files, out, "--resume")) == 0
    assert_same_as_reference(out, reference)


@pytest.mark.slow
def test_two_batches_started_at_once_on_one_folder_one_runs_the_other_is_refused(tmp_path, study):
    files, reference = study
    out = tmp_path / "race"
    procs = [
        subprocess.Popen(command(batch_argv(files, out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=TIMEOUT), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    refusal = next(err for code, err in outcomes if code == 2)
    assert len(refusal.splitlines()) == 1 and "Traceback" not in refusal
    assert "another welfare-sim" in refusal or "exists and is not empty" in refusal, refusal
    assert_same_as_reference(out, reference)


# ----------------------------------------------------------------------------- temporary folders


def test_a_killed_runs_temporary_folder_is_removed_and_a_live_ones_kept(tmp_path, capsys, study):
    files, _ = study
    stale = tmp_path / ".result.partial-999999999-abcd"  # no such process
    stale.mkdir()
    (stale / "events.parquet").write_bytes(b"half")
    live = tmp_path / f".result.partial-{os.getpid()}-efgh"  # a process that is running
    live.mkdir()
    assert main(["run", str(files[0]), "--out", str(tmp_path / "result")]) == 0
    capsys.readouterr()
    assert not stale.exists() and live.exists()
    assert (tmp_path / "result" / "summary.json").exists()


def test_resume_removes_what_a_killed_batch_left(tmp_path, study):
    files, reference = study
    out = tmp_path / "left"
    shutil.copytree(reference, out)
    folder = out / "tables" / "scenario=tiny_a"
    shutil.rmtree(folder / "replication=2")
    half = folder / ".replication=2.partial-1-zz"  # pid 1 lives: only the lock says it is stale
    half.mkdir()
    (half / "events.parquet").write_bytes(b"half")
    (out / ".manifest.json.partial-999999999-x").write_text("{", encoding="utf-8")
    (out / LOCK_NAME).write_text("999999999\n", encoding="utf-8")
    assert main(batch_argv(files, out, "--resume")) == 0
    assert_same_as_reference(out, reference)


@pytest.mark.slow
def test_a_disk_that_fills_during_a_batch_is_one_line_and_resume_finishes(
    tmp_path, capsys, monkeypatch, study, fail_on_call
):
    import errno

    import pandas as pd

    files, reference = study
    out = tmp_path / "full"

    def full(self, *args, **kwargs):
        return OSError(errno.ENOSPC, "No space left on device", str(args[0]) if args else None)

    original = fail_on_call(pd.DataFrame, "to_parquet", 15, full, and_later=True)
    assert main(batch_argv(files, out)) == 74
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "No space left on device" in line
    assert "the finished replications are kept in" in line and "--resume" in line
    assert not leftovers(out)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", original)
    assert main(shlex.split(line.partition("; finish the batch with: welfare-sim ")[2])) == 0
    assert_same_as_reference(out, reference)
