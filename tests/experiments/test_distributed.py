"""The Dask backend (sim/experiments/distributed.py): a batch on a real ``LocalCluster``, and on a scheduler
and a worker started as separate processes with the ``dask`` command line on 127.0.0.1, is
bit-identical to the same batch run in-process and on the local process pool; the command line
runs ``compare --backend dask``; an unreachable or malformed scheduler, a missing dask extra
and a worker with another welfare-sim version are one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed  # the test extra includes dask: imported here, before any test captures output
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim.experiments.distributed
from sim.cli import main
from sim.experiments.batch import BatchSpec, run_batch, scenario_entry
from sim.experiments.distributed import DaskBackend, run_on_worker
from sim.experiments.jobs import BatchError, Job

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("danish_baseline", "swedish_model")
REPLICATIONS = 2
YEARS = 0.5
SEED = 7
CHEAP = {"run.warmup_years": 0.5}  # the shipped scenarios warm up for 3 years


# ----------------------------------------------------------------------------- helpers


def cheap_spec(**how) -> BatchSpec:
    entries = []
    for name in SCENARIOS:
        entry = scenario_entry(name)
        entries.append(dataclasses.replace(entry, scenario=entry.scenario.with_overrides(**CHEAP)))
    return BatchSpec(scenarios=entries, replications=REPLICATIONS, years=YEARS, seed=SEED, **how)


def replication_folders(out: Path) -> dict[str, Path]:
    return {f"{p.parent.name}/{p.name}": p for p in sorted((out / "tables").glob("scenario=*/replication=*"))}


def assert_same_batch(expected: Path, actual: Path) -> None:
    """Same replications, comparison, and every replication's tables and summary, exactly."""
    assert_frame_equal(
        pd.read_parquet(actual / "replications.parquet"),
        pd.read_parquet(expected / "replications.parquet"),
        check_exact=True,
    )
    assert_frame_equal(
        pd.read_csv(actual / "comparison.csv"), pd.read_csv(expected / "comparison.csv"), check_exact=True
    )
    assert (actual / "comparison.csv").read_bytes() == (expected / "comparison.csv").read_bytes()
    want, got = replication_folders(expected), replication_folders(actual)
    assert list(got) == list(want)
    for name, folder in want.items():
        files = sorted(p.name for p in folder.iterdir())
        assert sorted(p.name for p in got[name].iterdir()) == files, name
        for file in files:
            if file.endswith(".parquet"):
                assert_frame_equal(
                    pd.read_parquet(got[name] / file), pd.read_parquet(folder / file), check_exact=True, obj=file
                )
            else:
                assert (got[name] / file).read_bytes() == (folder / file).read_bytes(), f"{name}/{file}"
    manifest = json.loads((actual / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"


def cli(capfd, *argv) -> tuple[int, str, str]:
    """``main`` in-process; an exception escaping it would be a traceback for the user."""
    try:
        code = main([str(a) for a in argv])
    except Exception as exc:
        pytest.fail(f"main{tuple(str(a) for a in argv)} raised {type(exc).__name__}: {exc}")
    out, err = capfd.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    return lines[0]


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Path:
    """The reference: the cheap batch run in this process (local backend, one worker)."""
    out = tmp_path_factory.mktemp("batch") / "in_process"
    result = run_batch(cheap_spec(workers=1, backend="local"), out)
    assert result.ran == len(SCENARIOS) * REPLICATIONS
    return out


# ----------------------------------------------------------------------------- the reference is worth comparing to


@pytest.mark.slow
def test_the_reference_batch_has_every_replication_and_they_differ(in_process):
    replications = pd.read_parquet(in_process / "replications.parquet")
    assert len(replications) == len(SCENARIOS) * REPLICATIONS
    assert sorted(replications["scenario"].unique()) == sorted(SCENARIOS)
    assert len(replication_folders(in_process)) == len(SCENARIOS) * REPLICATIONS
    events = pd.read_parquet(in_process / "tables/scenario=danish_baseline/replication=0/events.parquet")
    assert len(events) > 0
    # Replications 0 and 1 have different seeds: a comparison of the tables can tell them apart.
    other = pd.read_parquet(in_process / "tables/scenario=danish_baseline/replication=1/events.parquet")
    with pytest.raises(AssertionError):
        assert_frame_equal(other, events, check_exact=True)


# ----------------------------------------------------------------------------- same results on every backend


@pytest.mark.slow
@pytest.mark.dask
def test_local_cluster_and_process_pool_match_the_in_process_batch(in_process, tmp_path):
    dask_out, pool_out = tmp_path / "dask", tmp_path / "pool"
    result = run_batch(cheap_spec(workers=2, backend="dask"), dask_out)
    assert result.ran == len(SCENARIOS) * REPLICATIONS
    manifest = json.loads((dask_out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["backend"] == "dask" and manifest["scheduler"] is None
    assert_same_batch(in_process, dask_out)

    run_batch(cheap_spec(workers=2, backend="local"), pool_out)
    assert_same_batch(in_process, pool_out)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # the worker's nanny and worker processes too
        else:
            proc.kill()
        proc.wait(timeout=5)


def _wait_for_scheduler_file(path: Path, scheduler: subprocess.Popen, log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            pytest.fail(f"dask scheduler exited with {scheduler.returncode}:\n{log.read_text()}")
        try:
            return json.loads(path.read_text(encoding="utf-8"))["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)
    pytest.fail(f"dask scheduler wrote no {path.name} within {timeout} s:\n{log.read_text()}")


@pytest.mark.slow
@pytest.mark.dask
def test_scheduler_and_worker_started_with_the_dask_command_line(in_process, tmp_path, monkeypatch):
    dask = Path(sys.executable).parent / ("dask.exe" if os.name == "nt" else "dask")
    assert dask.exists(), f"no dask command next to {sys.executable}"
    scheduler_file = tmp_path / "sched.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    logs = {name: tmp_path / f"{name}.log" for name in ("scheduler", "worker")}
    common = {"cwd": tmp_path, "env": env, "stdout": subprocess.DEVNULL, "start_new_session": True}
    procs: list[subprocess.Popen] = []
    try:
        with open(logs["scheduler"], "w") as log:
            procs.append(
                subprocess.Popen(
                    [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
                    + ["--scheduler-file", scheduler_file],
                    stderr=log,
                    **common,
                )
            )
        address = _wait_for_scheduler_file(scheduler_file, procs[0], logs["scheduler"])
        assert address.startswith("tcp://127.0.0.1:")
        with open(logs["worker"], "w") as log:
            procs.append(
                subprocess.Popen(
                    [dask, "worker", "--scheduler-file", scheduler_file, "--nthreads", "1", "--nworkers", "1"]
                    + ["--no-dashboard", "--host", "127.0.0.1"],
                    stderr=log,
                    **common,
                )
            )
        with distributed.Client(address, timeout=10, set_as_default=False) as client:
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                pytest.fail(f"no worker connected within 60 s:\n{logs['worker'].read_text()}")

        out = tmp_path / "external"
        result = run_batch(cheap_spec(workers=1, backend="dask", scheduler=address), out)
        assert result.ran == len(SCENARIOS) * REPLICATIONS
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["backend"] == "dask" and manifest["scheduler"] == address
        assert_same_batch(in_process, out)

        # A client of another welfare-sim version: the worker refuses the jobs, one-line error.
        monkeypatch.setattr(sim.experiments.distributed, "__version__", "0.0.0-other")
        refused = tmp_path / "refused"
        with pytest.raises(BatchError, match=r"^backend dask: a worker has welfare-sim .* this client 0\.0\.0-other"):
            run_batch(cheap_spec(workers=1, backend="dask", scheduler=address), refused)
        assert json.loads((refused / "manifest.json").read_text(encoding="utf-8"))["status"] == "interrupted"
        assert not replication_folders(refused)
    finally:
        for proc in reversed(procs):
            _stop(proc)


# ----------------------------------------------------------------------------- the command line


@pytest.mark.slow
@pytest.mark.dask
def test_cli_compare_backend_dask_matches_the_local_backend(tmp_path, capfd):
    argv = ["compare", "danish_baseline", "--replications", "2", "--years", "0.5", "--quiet"]
    code, out, err = cli(capfd, *argv, "--backend", "dask", "--workers", "2", "--out", tmp_path / "dask")
    assert code == 0, err
    assert "results written to" in out
    replications = pd.read_parquet(tmp_path / "dask" / "replications.parquet")
    assert list(replications["replication"]) == [0, 1]
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))["backend"] == "dask"

    code, _, err = cli(capfd, *argv, "--workers", "1", "--out", tmp_path / "local")
    assert code == 0, err
    assert_same_batch(tmp_path / "local", tmp_path / "dask")


@pytest.mark.slow
def test_cli_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(sim.experiments.distributed, "CONNECT_TIMEOUT", 2.0)
    started = time.monotonic()
    code, out, err = cli(
        capfd,
        *("compare", "danish_baseline", "--replications", "2", "--years", "0.5", "--quiet"),
        *("--backend", "dask", "--scheduler", "tcp://127.0.0.1:1", "--out", tmp_path / "out"),
    )
    assert time.monotonic() - started < 15
    assert code == 2
    line = one_line(err)
    assert line.startswith("--scheduler: ") and "tcp://127.0.0.1:1" in line
    assert not (tmp_path / "out").exists()  # nothing written, not even a manifest


@pytest.mark.parametrize("address", ["foo://127.0.0.1:8786", "tcp://127.0.0.1:port", "tcp://:8786"])
def test_a_malformed_scheduler_address_is_refused_before_connecting(address):
    started = time.monotonic()
    with pytest.raises(BatchError, match=r"^scheduler: .* is not a Dask scheduler address") as info:
        DaskBackend(1, address)
    assert address in str(info.value) and "\n" not in str(info.value)
    assert time.monotonic() - started < 2


def test_without_the_dask_extra_the_backend_names_the_extra(monkeypatch, tmp_path, capfd):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails as if not installed
    with pytest.raises(BatchError) as info:
        DaskBackend(2, None)
    assert str(info.value) == 'backend dask: needs the dask extra: pip install ".[dask]"'
    code, _, err = cli(capfd, "compare", "danish_baseline", "--quiet", "--backend", "dask", "--out", tmp_path / "out")
    assert code == 2
    assert one_line(err) == f"--{info.value}"  # the command line names its option


def test_a_worker_runs_jobs_only_for_its_own_version():
    job = Job(0, scenario_entry("danish_baseline").scenario, 0, (SEED, 0), YEARS)
    with pytest.raises(BatchError, match="install the same version everywhere"):
        run_on_worker(job, False, "0.0.0-other")
