"""Jobs and backends: one replication as a job, run in this process, in a pool of local
processes or (:mod:`sim.experiments.distributed`) on Dask, each result handed back as it finishes.

The one replication loop of the package: a batch (:mod:`sim.experiments.batch`, and through it the
sweeps, the staffing search, the business case and the validation), the Morris screening
(:mod:`sim.experiments.sensitivity`) and the warm-up analysis (:mod:`sim.experiments.warmup`) build their jobs and
run them on a backend; :func:`local_backend` picks the local one. The Dask backend builds on
the same :class:`Backend`, so that it needs nothing of the batch and the batch loads it only
when asked to.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeAlias

import pandas as pd

from sim.engine.run import simulate
from sim.params import Scenario

Tables: TypeAlias = bool | Collection[str]
"""Which tables of a result a job hands back: all (True), none (False), or those named."""


class BatchError(ValueError):
    """A batch cannot run as asked (its backend included); ``str()`` is a one-line message."""


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


def run_job(job: Job, with_tables: Tables = True) -> JobResult:
    """Run one replication (in whatever process or machine the backend chose); hand back its
    summary and the tables ``with_tables`` asks for."""
    started = time.perf_counter()
    result = simulate(job.scenario, seed=list(job.seed), years=job.years)
    if with_tables is True:
        tables = result.tables()
    elif with_tables is False:
        tables = {}
    else:
        tables = {name: getattr(result, name) for name in with_tables}
    return JobResult(
        job.scenario_index,
        job.replication,
        {k: float(v) for k, v in result.summary.items()},
        tables,
        time.perf_counter() - started,
    )


# ----------------------------------------------------------------------------- backends


class Backend:
    """Runs jobs and hands each result back as it finishes."""

    def run(self, jobs: list[Job], done: Callable[[JobResult], None], with_tables: Tables) -> None:
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


def local_backend(workers: int | None, jobs: int) -> Backend:
    """This process for one worker, else a pool of ``workers`` processes (None: one per core),
    never more than the ``jobs`` to run."""
    workers = max(1, min(workers or os.cpu_count() or 1, jobs))
    return InProcess() if workers == 1 else ProcessPool(workers)
