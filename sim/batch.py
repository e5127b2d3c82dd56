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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim import __version__, simulate
from sim.indicators import SUMMARY_NAMES
from sim.output import OutputError, atomic_folder, check_destination
from sim.scenario import Scenario, base_chain, load_scenario
from sim.stats import comparison_table, relative_half_width

DEFAULT_REPLICATIONS = 10
AUTO_FIRST_ROUND = 5
AUTO_ROUND = 5
DEFAULT_MAX_REPLICATIONS = 100
DEFAULT_PRECISION = 0.05
DEFAULT_PRECISION_INDICATORS = ("cost_total_per_year", "children_in_care_mean", "mean_caseload_cases")


class BatchError(ValueError):
    """A batch cannot run as asked; ``str()`` is a one-line message."""


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

    def check(self) -> None:
        names = [e.name for e in self.scenarios]
        if not names:
            raise BatchError("scenarios: at least one scenario is needed")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise BatchError(f"scenarios: two scenarios are named {dup[0]!r}; give each file its own name")
        if self.replications is not None and self.replications < 1:
            raise BatchError(f"--replications: must be >= 1 or 'auto', got {self.replications}")
        if not (0 < self.precision < 1):
            raise BatchError(f"--precision: must be between 0 and 1, got {self.precision:g}")
        if self.max_replications < 2:
            raise BatchError(f"--max-replications: must be >= 2, got {self.max_replications}")
        unknown = [i for i in self.precision_indicators if i not in SUMMARY_NAMES]
        if unknown:
            raise BatchError(f"--indicator: unknown indicator {unknown[0]!r}")
        if self.seed < 0:
            raise BatchError(f"--seed: must be >= 0, got {self.seed}")
        if self.years is not None and not (math.isfinite(self.years) and self.years > 0):
            raise BatchError(f"--years: must be a finite number > 0, got {self.years:g}")
        if self.workers < 1:
            raise BatchError(f"--workers: must be >= 1, got {self.workers}")
        if self.backend not in ("local", "dask"):
            raise BatchError(f"--backend: must be 'local' or 'dask', got {self.backend!r}")
        if self.scheduler and self.backend != "dask":
            raise BatchError("--scheduler: needs --backend dask")

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


# ----------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One replication of one scenario: all a worker needs."""

    scenario_index: int
    scenario: Scenario
    replication: int
    seed: tuple[int, ...]
    years: float | None


@dataclass
class JobResult:
    scenario_index: int
    replication: int
    summary: dict[str, float]
    tables: dict[str, pd.DataFrame]
    seconds: float


def run_job(job: Job, with_tables: bool = True) -> JobResult:
    """Run one replication (in whatever process or machine the backend chose)."""
    started = time.perf_counter()
    result = simulate(job.scenario, seed=list(job.seed), years=job.years)
    return JobResult(
        job.scenario_index,
        job.replication,
        {k: float(v) for k, v in result.summary.items()},
        result.tables() if with_tables else {},
        time.perf_counter() - started,
    )


# ----------------------------------------------------------------------------- backends


class Backend:
    """Runs jobs and hands each result back as it finishes."""

    def run(self, jobs: list[Job], done: Callable[[JobResult], None], with_tables: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class InProcess(Backend):
    def run(self, jobs, done, with_tables):
        for job in jobs:
            done(run_job(job, with_tables))


class ProcessPool(Backend):
    """A local pool of worker processes."""

    def __init__(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork starts fast and needs no importable __main__; the workers only simulate.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))

    def run(self, jobs, done, with_tables):
        from concurrent.futures import as_completed

        futures = [self.pool.submit(run_job, job, with_tables) for job in jobs]
        try:
            for future in as_completed(futures):
                done(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def make_backend(spec: BatchSpec) -> Backend:
    if spec.backend == "dask":
        from sim.distributed import DaskBackend

        return DaskBackend(spec.workers, spec.scheduler)
    if spec.workers == 1:
        return InProcess()
    return ProcessPool(spec.workers)


# ----------------------------------------------------------------------------- the batch folder


def _write_json(path: Path, data) -> None:
    """Write JSON atomically (a temporary file renamed over the old one)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


def _jsonable(value: float):
    return None if isinstance(value, float) and math.isnan(value) else value


def replication_folder(out: Path, scenario: str, replication: int) -> Path:
    return out / "tables" / f"scenario={scenario}" / f"replication={replication}"


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
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
    """Run (or finish, with ``resume``) a batch into the folder ``out``."""
    spec.check()
    out = Path(out)
    manifest_path = out / "manifest.json"
    if resume:
        if not manifest_path.exists():
            raise OutputError(f"{out}: nothing to resume (no manifest.json)")
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("identity") != spec.identity():
            raise BatchError(f"{out}: --resume needs the same scenarios, seed, years and replications as the first run")
    else:
        check_destination(out)
    backend = make_backend(spec)  # before anything is written: a backend that fails leaves no folder
    try:
        return _run(spec, out, backend, progress, command)
    finally:
        backend.close()


def _run(spec: BatchSpec, out: Path, backend: Backend, progress: bool, command: list[str] | None) -> BatchResult:
    manifest_path = out / "manifest.json"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenarios").mkdir(exist_ok=True)
    for entry in spec.scenarios:  # the resolved parameters, for reports and re-plotting
        (out / "scenarios" / f"{entry.name}.json").write_text(entry.scenario.model_dump_json(indent=2) + "\n")

    names = [e.name for e in spec.scenarios]
    summaries: dict[tuple[int, int], dict[str, float]] = {}
    finished: list[dict] = []
    for k, name in enumerate(names):
        for folder in (out / "tables" / f"scenario={name}").glob("replication=*"):
            marker = folder / "summary.json"
            if marker.exists():
                r = int(folder.name.split("=", 1)[1])
                values = json.loads(marker.read_text(encoding="utf-8"))
                summaries[(k, r)] = {key: (math.nan if v is None else v) for key, v in values.items()}
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
        "workers": spec.workers,
        "backend": spec.backend,
        "scheduler": spec.scheduler,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "ended": None,
        "status": "running",
        "replications_used": None,
        "finished": finished,
    }
    _write_json(manifest_path, manifest)

    def record(result: JobResult) -> None:
        name = names[result.scenario_index]
        if spec.write_tables:
            folder = replication_folder(out, name, result.replication)
            folder.parent.mkdir(parents=True, exist_ok=True)
            if folder.exists():  # a replication interrupted while writing: written again
                import shutil

                shutil.rmtree(folder)
            with atomic_folder(folder) as tmp:
                for table_name, table in result.tables.items():
                    table.to_parquet(tmp / f"{table_name}.parquet", index=False)
                _write_json(tmp / "summary.json", {k: _jsonable(v) for k, v in result.summary.items()})
        summaries[(result.scenario_index, result.replication)] = result.summary
        finished.append({"scenario": name, "replication": result.replication, "seconds": round(result.seconds, 3)})
        _write_json(manifest_path, manifest)
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
    except BaseException:
        manifest["status"] = "interrupted"
        manifest["ended"] = dt.datetime.now().isoformat(timespec="seconds")
        _write_json(manifest_path, manifest)
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
    replications.to_parquet(out / ".replications.parquet.tmp", index=False)
    os.replace(out / ".replications.parquet.tmp", out / "replications.parquet")
    comparison.to_csv(out / ".comparison.csv.tmp", index=False, float_format="%.17g")
    os.replace(out / ".comparison.csv.tmp", out / "comparison.csv")

    manifest["seeds"] = {
        name: [list(replication_seed(spec.seed, r, k, spec.crn)) for r in range(target)] for k, name in enumerate(names)
    }
    manifest["replications_used"] = target
    manifest["status"] = "complete"
    manifest["ended"] = dt.datetime.now().isoformat(timespec="seconds")
    _write_json(manifest_path, manifest)
    return BatchResult(out, spec, replications, comparison, target, len(summaries) - ran_before)


def _precise_enough(summaries: dict, n_scenarios: int, target: int, spec: BatchSpec) -> bool:
    for k in range(n_scenarios):
        for indicator in spec.precision_indicators:
            values = [summaries[(k, r)][indicator] for r in range(target)]
            if relative_half_width(values) > spec.precision:
                return False
    return True


# ----------------------------------------------------------------------------- batch files


def load_batch_file(path: str | Path) -> tuple[BatchSpec, Path | None]:
    """Read a batch description (TOML): the spec and the output folder it names, if any.

    Keys: ``scenarios`` (list of files, relative to the batch file, or shipped names),
    ``replications`` (a number or ``"auto"``), ``precision``, ``indicators``,
    ``max_replications``, ``seed``, ``years``, ``crn``, ``workers``, ``backend``,
    ``scheduler``, ``out`` (relative to the batch file), ``tables``.
    """
    import tomllib

    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from sim.scenario import ScenarioError, _first_error

    class BatchFile(BaseModel):
        model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
        scenarios: list[str] = Field(min_length=1)
        replications: int | str = DEFAULT_REPLICATIONS
        precision: float = Field(DEFAULT_PRECISION, gt=0, lt=1)
        indicators: list[str] = list(DEFAULT_PRECISION_INDICATORS)
        max_replications: int = Field(DEFAULT_MAX_REPLICATIONS, ge=2)
        seed: int = Field(1, ge=0)
        years: float | None = Field(None, gt=0)
        crn: bool = True
        workers: int | None = Field(None, ge=1)
        backend: str = "local"
        scheduler: str | None = None
        out: str | None = None
        tables: bool = True

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(path, None, "no such batch file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(path, None, f"malformed TOML: {exc}") from None
    try:
        spec_file = BatchFile.model_validate(raw)
    except ValidationError as exc:
        field_name, message = _first_error(exc)
        raise ScenarioError(path, field_name, message) from None
    if isinstance(spec_file.replications, str) and spec_file.replications != "auto":
        raise ScenarioError(path, "replications", f"must be a number or 'auto', got {spec_file.replications!r}")
    scenario_paths = []
    for item in spec_file.scenarios:
        candidate = path.parent / item
        scenario_paths.append(candidate if candidate.exists() or "/" in item or item.endswith(".toml") else item)
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
    )
    if spec_file.workers is not None:
        spec.workers = spec_file.workers
    try:
        spec.check()
    except BatchError as exc:
        raise ScenarioError(path, None, str(exc).replace("--", "")) from None
    out = (path.parent / spec_file.out) if spec_file.out else None
    return spec, out
