"""Batches of replications (issue 3): common random numbers, confidence intervals, parallel
and distributed runs, results written as each replication finishes, and resume.

A batch runs every scenario ``n`` times. Replication ``r`` of every scenario uses the seed
``[seed, r]``, so the scenarios meet the same arrivals and the same children with the same
random draws (common random numbers); with ``crn=False`` each scenario gets its own
streams, ``[seed, r, k]`` for the ``k``-th scenario. A replication's result depends only on
its scenario and seed, never on which worker ran it or when, so the batch's results are
bit-identical whatever the number of workers or the backend.

Layout of a batch folder::

    manifest.json           what ran: version, commit, scenario files and hashes, seeds, times
    scenarios/<name>.json   every scenario's resolved parameters
    replications.parquet    one row per scenario x replication, every summary indicator
    comparison.csv          per indicator and scenario: mean, 95 % interval, paired difference
    tables/scenario=<name>/replication=<r>/<table>.parquet, summary.json
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from sim import __version__
from sim.experiments.jobs import Backend, BatchError, Job, JobResult, local_backend
from sim.params import Scenario, base_chain, load_scenario
from sim.results.indicators import SUMMARY_NAMES
from sim.results.stats import comparison_table, relative_half_width
from sim.storage.output import (
    OutputError,
    atomic_folder,
    atomic_write,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_destination,
    check_writable,
    child_name,
    folder_lock,
    note_output,
    remove_stale_partials,
)

DEFAULT_REPLICATIONS = 10
AUTO_FIRST_ROUND = 5
AUTO_ROUND = 5
DEFAULT_MAX_REPLICATIONS = 100
DEFAULT_PRECISION = 0.05
DEFAULT_PRECISION_INDICATORS = ("cost_total_per_year", "children_in_care_mean", "mean_caseload_cases")


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: ``kept`` finished replications of ``total`` (``None`` for
    ``auto``) are in ``out``, and ``--resume`` finishes the rest."""

    def __init__(self, out: Path, kept: int, total: int | None):
        super().__init__(f"{out}: {kept} replications kept")
        self.out, self.kept, self.total = out, kept, total


# ----------------------------------------------------------------------------- specification


@dataclass(frozen=True)
class ScenarioEntry:
    """A scenario of the batch, with the files it was read from and their hashes."""

    name: str
    scenario: Scenario
    files: tuple[tuple[str, str], ...]  # (path, sha256) of the file and its base chain

    @property
    def parameters_sha256(self) -> str:
        return hashlib.sha256(self.scenario.model_dump_json().encode()).hexdigest()


def scenario_entry(path_or_name: str | Path) -> ScenarioEntry:
    scenario = load_scenario(path_or_name)
    files = tuple((str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in base_chain(path_or_name))
    return ScenarioEntry(scenario.name, scenario, files)


@dataclass
class BatchSpec:
    """Everything that decides a batch's results (and how it is run)."""

    scenarios: list[ScenarioEntry]
    replications: int | None = DEFAULT_REPLICATIONS  # None: as many as the precision needs
    precision: float = DEFAULT_PRECISION
    precision_indicators: tuple[str, ...] = DEFAULT_PRECISION_INDICATORS
    max_replications: int = DEFAULT_MAX_REPLICATIONS
    seed: int = 1
    years: float | None = None
    crn: bool = True
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    backend: str = "local"
    scheduler: str | None = None
    write_tables: bool = True
    force: bool = False  # run even when the work estimate is above the limits (sim.engine.workload)

    def check(self) -> None:
        names = [e.name for e in self.scenarios]
        if not names:
            raise BatchError("scenarios: at least one scenario is needed")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise BatchError(f"scenarios: two scenarios are named {dup[0]!r}; give each file its own name")
        from sim.engine.workload import MAX_REPLICATIONS, MAX_WORKERS, count_problem, seed_problem, years_problem

        if self.replications is not None and (problem := count_problem(self.replications, 1, MAX_REPLICATIONS)):
            raise BatchError(f"replications: {problem} (or 'auto')")
        if not (isinstance(self.precision, float | int) and 0 < self.precision < 1):
            raise BatchError(f"precision: must be between 0 and 1, got {self.precision:g}")
        if problem := count_problem(self.max_replications, 2, MAX_REPLICATIONS):
            raise BatchError(f"max_replications: {problem}")
        unknown = [i for i in self.precision_indicators if i not in SUMMARY_NAMES]
        if unknown:
            raise BatchError(f"precision_indicators: unknown indicator {unknown[0]!r}")
        if problem := seed_problem(self.seed):
            raise BatchError(f"seed: {problem}")
        if problem := years_problem(self.years):
            raise BatchError(f"years: {problem}")
        if problem := count_problem(self.workers, 1, MAX_WORKERS):
            raise BatchError(f"workers: {problem}")
        if self.backend not in ("local", "dask"):
            raise BatchError(f"backend: must be 'local' or 'dask', got {self.backend!r}")
        if self.scheduler and self.backend != "dask":
            raise BatchError("scheduler: needs backend dask")
        if self.scheduler:
            from sim.experiments.distributed import check_scheduler_address

            check_scheduler_address(self.scheduler)
        from sim.engine.workload import WorkloadError, check_workload

        try:
            check_workload([e.scenario for e in self.scenarios], self.years, self.most_replications, self.force)
        except WorkloadError as exc:
            raise BatchError(str(exc)) from exc

    @property
    def most_replications(self) -> int:
        """The most replications of each scenario the batch may run."""
        return self.replications if self.replications is not None else self.max_replications

    @property
    def workers_used(self) -> int:
        """The workers the batch starts: never more than it has replications to run."""
        return max(1, min(self.workers, len(self.scenarios) * self.most_replications))

    def identity(self) -> dict:
        """What must match for ``--resume`` to continue this batch."""
        return {
            "scenarios": [{"name": e.name, "parameters_sha256": e.parameters_sha256} for e in self.scenarios],
            "replications": self.replications if self.replications is not None else "auto",
            "precision": self.precision if self.replications is None else None,
            "precision_indicators": list(self.precision_indicators) if self.replications is None else None,
            "max_replications": self.max_replications if self.replications is None else None,
            "seed": self.seed,
            "years": self.years,
            "crn": self.crn,
        }


def replication_seed(seed: int, replication: int, scenario_index: int, crn: bool) -> tuple[int, ...]:
    """The ``SeedSequence`` entropy of one replication of one scenario."""
    return (seed, replication) if crn else (seed, replication, scenario_index + 1)


def make_backend(spec: BatchSpec, jobs: int | None = None) -> Backend:
    """The backend of ``spec``, with at most ``jobs`` workers (the replications left to run)."""
    workers = spec.workers_used if jobs is None else max(1, min(spec.workers_used, jobs))
    if spec.backend == "dask":
        from sim.experiments.distributed import DaskBackend

        return DaskBackend(workers, spec.scheduler)
    return local_backend(workers, workers)


# ----------------------------------------------------------------------------- the batch folder


def replication_folder(out: Path, scenario: str, replication: int) -> Path:
    return out / "tables" / child_name(f"scenario={scenario}") / f"replication={int(replication)}"


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parents[1]  # the package (sim/experiments/batch.py -> sim)
    try:
        top = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=5
        )
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != here.parent:
            return None
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def read_table(out: str | Path, table: str) -> pd.DataFrame:
    """One table of every finished replication of a batch, with ``scenario`` and
    ``replication`` columns."""
    frames = []
    for folder in sorted(Path(out, "tables").glob("scenario=*/replication=*")):
        scenario = folder.parent.name.split("=", 1)[1]
        replication = int(folder.name.split("=", 1)[1])
        frame = pd.read_parquet(folder / f"{table}.parquet")
        frame.insert(0, "replication", replication)
        frame.insert(0, "scenario", scenario)
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"{out}: no replication has a {table!r} table")
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- running a batch


@dataclass
class BatchResult:
    out: Path
    spec: BatchSpec
    replications: pd.DataFrame
    comparison: pd.DataFrame
    replications_used: int
    ran: int  # replications run now (the rest were already on disk)


class Progress:
    """A progress line on standard error: replications done and time left (tty only)."""

    def __init__(self, total: int | None, enabled: bool):
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        if self.total:
            width = 30
            filled = int(width * self.done / self.total)
            left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} replications"
                f"  {_clock(elapsed)} elapsed, {_clock(left)} left"
            )
        else:
            line = f"{self.done} replications  {_clock(elapsed)} elapsed"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def run_batch(
    spec: BatchSpec,
    out: Path,
    resume: bool = False,
    progress: bool = False,
    command: list[str] | None = None,
) -> BatchResult:
    """Run (or finish, with ``resume``) a batch into the folder ``out``.

    The folder is locked for the whole batch (:func:`sim.storage.output.folder_lock`): a second
    batch on it is refused at once. Temporary folders of replications that a killed batch
    was writing are removed first.
    """
    spec.check()
    out = Path(out)
    if resume:
        _read_manifest(out, spec)
        check_writable(out)
    else:
        check_destination(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the batch folder ({exc.strerror})") from None
    note_output(out, "batch")
    with folder_lock(out):
        try:
            if resume:
                _read_manifest(out, spec)  # again, now that no one else writes it
            else:
                check_destination(out)  # another batch may have filled it before we locked it
            for folder in [out, out / "scenarios", *(out / "tables").glob("scenario=*")]:
                remove_stale_partials(folder, locked=True)  # left by a batch that was killed
            # before anything is written: a backend that fails leaves no folder
            backend = make_backend(spec, len(spec.scenarios) * spec.most_replications)
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
        try:
            return _run(spec, out, backend, progress, command)
        finally:
            backend.close()


def _read_manifest(out: Path, spec: BatchSpec) -> dict:
    """The manifest of a batch to resume, checked against ``spec``."""
    from sim.params import ScenarioError, read_limited

    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise OutputError(f"{out}: nothing to resume (no manifest.json)")
    try:
        old = json.loads(read_limited(manifest_path, "manifest", limit=100_000_000))
    except ScenarioError as exc:
        raise BatchError(f"{manifest_path}: cannot resume: {exc.message}") from None
    except json.JSONDecodeError as exc:
        raise BatchError(f"{manifest_path}: corrupt (not JSON: {exc.msg}); cannot resume this batch") from None
    if not isinstance(old, dict) or "identity" not in old:
        raise BatchError(f"{manifest_path}: corrupt (no identity); cannot resume this batch")
    if old.get("identity") != spec.identity():
        raise BatchError(f"{out}: --resume needs the same scenarios, seed, years and replications as the first run")
    return old


def _finished_summary(marker: Path) -> dict[str, float] | None:
    """The summary of a finished replication, or ``None`` when its ``summary.json`` is not
    one (corrupt, cut short, edited): that replication is run again."""
    from sim.params import ScenarioError, read_limited

    try:
        values = json.loads(read_limited(marker, "summary"))
    except (ScenarioError, json.JSONDecodeError):
        return None
    if not isinstance(values, dict) or not values:
        return None
    if any(not isinstance(v, int | float) or isinstance(v, bool) for v in values.values() if v is not None):
        return None
    if any(name not in values for name in SUMMARY_NAMES):
        return None
    return {key: (math.nan if v is None else float(v)) for key, v in values.items()}


def _run(spec: BatchSpec, out: Path, backend: Backend, progress: bool, command: list[str] | None) -> BatchResult:
    manifest_path = out / "manifest.json"

    names = [e.name for e in spec.scenarios]
    summaries: dict[tuple[int, int], dict[str, float]] = {}
    finished: list[dict] = []
    for k, name in enumerate(names):
        for folder in (out / "tables" / child_name(f"scenario={name}")).glob("replication=*"):
            r_text = folder.name.split("=", 1)[1]
            if not r_text.isdigit() or not folder.is_dir():
                continue
            marker = folder / "summary.json"
            values = _finished_summary(marker) if marker.exists() else None
            if values is None:
                if marker.exists():
                    print(f"welfare-sim: {marker}: not a summary (corrupt); running it again", file=sys.stderr)
                shutil.rmtree(folder, ignore_errors=True)  # unfinished or corrupt: run again
                continue
            r = int(r_text)
            summaries[(k, r)] = values
            finished.append({"scenario": name, "replication": r, "seconds": None, "resumed": True})

    manifest = {
        "package_version": __version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "command": command,
        "identity": spec.identity(),
        "scenarios": [
            {
                "name": e.name,
                "files": [{"path": p, "sha256": h} for p, h in e.files],
                "parameters_sha256": e.parameters_sha256,
            }
            for e in spec.scenarios
        ],
        "seed": spec.seed,
        "crn": spec.crn,
        "years": spec.years,
        "seeds": {},
        "workers": spec.workers_used,
        "backend": spec.backend,
        "scheduler": spec.scheduler,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "ended": None,
        "status": "running",
        "replications_used": None,
        "finished": finished,
    }
    atomic_write_json(manifest_path, manifest)  # first: a folder with anything in it can be resumed
    (out / "scenarios").mkdir(exist_ok=True)
    for entry in spec.scenarios:  # the resolved parameters, for reports and re-plotting
        path = out / "scenarios" / child_name(f"{entry.name}.json")
        atomic_write_text(path, entry.scenario.model_dump_json(indent=2) + "\n")

    def record(result: JobResult) -> None:
        name = names[result.scenario_index]
        if spec.write_tables:
            folder = replication_folder(out, name, result.replication)
            folder.parent.mkdir(parents=True, exist_ok=True)
            if folder.exists():  # a replication interrupted while writing: written again
                shutil.rmtree(folder)
            with atomic_folder(folder) as tmp:
                for table_name, table in result.tables.items():
                    table.to_parquet(tmp / f"{table_name}.parquet", index=False)
                atomic_write_json(tmp / "summary.json", dict(result.summary.items()))
        summaries[(result.scenario_index, result.replication)] = result.summary
        finished.append({"scenario": name, "replication": result.replication, "seconds": round(result.seconds, 3)})
        atomic_write_json(manifest_path, manifest)
        bar.advance()

    target = spec.replications if spec.replications is not None else AUTO_FIRST_ROUND
    bar = Progress(len(names) * spec.replications if spec.replications is not None else None, progress)
    bar.done = len(summaries)
    ran_before = len(summaries)
    try:
        while True:
            target = min(target, spec.max_replications) if spec.replications is None else target
            jobs = [
                Job(k, e.scenario, r, replication_seed(spec.seed, r, k, spec.crn), spec.years)
                for r in range(target)
                for k, e in enumerate(spec.scenarios)
                if (k, r) not in summaries
            ]
            if jobs:
                backend.run(jobs, record, spec.write_tables)
            if spec.replications is not None or target >= spec.max_replications:
                break
            if _precise_enough(summaries, len(names), target, spec):
                break
            target += AUTO_ROUND
    except BaseException as exc:
        manifest["status"] = "interrupted"
        manifest["ended"] = dt.datetime.now().isoformat(timespec="seconds")
        try:
            atomic_write_json(manifest_path, manifest)
        except OSError:
            pass  # a full disk: the replications on disk say what was finished
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, BatchInterrupted):
            kept = len(summaries) if spec.write_tables else 0
            total = len(names) * spec.replications if spec.replications is not None else None
            raise BatchInterrupted(out, kept, total) from None
        raise
    finally:
        bar.close()

    rows = []
    for (k, r), values in sorted(summaries.items()):
        if r >= target:
            continue  # an earlier auto run went further; this batch stops at its own target
        seed = replication_seed(spec.seed, r, k, spec.crn)
        rows.append({"scenario": names[k], "replication": r, "seed": list(seed), **values})
    replications = pd.DataFrame(rows)
    indicators = [c for c in replications.columns if c not in ("scenario", "replication", "seed")]
    comparison = comparison_table(replications, names, indicators)
    atomic_write(out / "replications.parquet", replications.to_parquet(index=False))
    atomic_write_csv(out / "comparison.csv", comparison)

    manifest["seeds"] = {
        name: [list(replication_seed(spec.seed, r, k, spec.crn)) for r in range(target)] for k, name in enumerate(names)
    }
    manifest["replications_used"] = target
    manifest["status"] = "complete"
    manifest["ended"] = dt.datetime.now().isoformat(timespec="seconds")
    atomic_write_json(manifest_path, manifest)
    return BatchResult(out, spec, replications, comparison, target, len(summaries) - ran_before)


def _precise_enough(summaries: dict, n_scenarios: int, target: int, spec: BatchSpec) -> bool:
    for k in range(n_scenarios):
        for indicator in spec.precision_indicators:
            values = [summaries[(k, r)][indicator] for r in range(target)]
            if relative_half_width(values) > spec.precision:
                return False
    return True


# ----------------------------------------------------------------------------- batch files


def load_batch_file(path: str | Path, force: bool = False) -> tuple[BatchSpec, Path | None]:
    """Read a batch description (TOML): the spec and the output folder it names, if any.

    Keys: ``scenarios`` (list of files, relative to the batch file, or shipped names),
    ``replications`` (a number or ``"auto"``), ``precision``, ``indicators``,
    ``max_replications``, ``seed``, ``years``, ``crn``, ``workers``, ``backend``,
    ``scheduler``, ``out`` (relative to the batch file), ``tables``.
    """
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from sim.engine.workload import MAX_REPLICATIONS, MAX_SEED, MAX_WORKERS, YEARS_MAX, YEARS_MIN
    from sim.params import ScenarioError, parse_toml, resolve_reference
    from sim.params.errors import _display, _first_error

    class BatchFile(BaseModel):
        model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
        scenarios: list[str] = Field(min_length=1, max_length=1000)
        replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)] | Literal["auto"] = DEFAULT_REPLICATIONS
        precision: float = Field(DEFAULT_PRECISION, gt=0, lt=1)
        indicators: list[str] = Field(list(DEFAULT_PRECISION_INDICATORS), max_length=1000)
        max_replications: int = Field(DEFAULT_MAX_REPLICATIONS, ge=2, le=MAX_REPLICATIONS)
        seed: int = Field(1, ge=0, le=MAX_SEED)
        years: float | None = Field(None, ge=YEARS_MIN, le=YEARS_MAX)
        crn: bool = True
        workers: int | None = Field(None, ge=1, le=MAX_WORKERS)
        backend: Literal["local", "dask"] = "local"
        scheduler: str | None = Field(None, max_length=1000)
        out: str | None = Field(None, min_length=1, max_length=1000)
        tables: bool = True

    path = Path(path)
    raw = parse_toml(path, "batch file")
    try:
        spec_file = BatchFile.model_validate(raw)
    except ValidationError as exc:
        field_name, message = _first_error(exc)
        raise ScenarioError(_display(path), field_name, message) from None
    scenario_paths = [resolve_reference(item, path, f"scenarios.{i}") for i, item in enumerate(spec_file.scenarios)]
    out = None
    if spec_file.out is not None:
        relative = PurePosixPath(spec_file.out)
        if relative.is_absolute() or ".." in relative.parts or spec_file.out.startswith("~"):
            raise ScenarioError(
                _display(path),
                "out",
                f"must be a folder beside the batch file (no absolute path, no '..'), got "
                f"{spec_file.out!r}; or give --out",
            )
        out = path.parent / relative
    spec = BatchSpec(
        scenarios=[scenario_entry(p) for p in scenario_paths],
        replications=None if spec_file.replications == "auto" else int(spec_file.replications),
        precision=spec_file.precision,
        precision_indicators=tuple(spec_file.indicators),
        max_replications=spec_file.max_replications,
        seed=spec_file.seed,
        years=spec_file.years,
        crn=spec_file.crn,
        backend=spec_file.backend,
        scheduler=spec_file.scheduler,
        write_tables=spec_file.tables,
        force=force,
    )
    if spec_file.workers is not None:
        spec.workers = spec_file.workers
    try:
        spec.check()
    except BatchError as exc:  # named by the file's keys
        label, colon, reason = str(exc).partition(": ")
        key = {"precision_indicators": "indicators"}.get(label, label)
        raise ScenarioError(_display(path), None, f"{key}{colon}{reason}") from None
    return spec, out
