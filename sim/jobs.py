"""Jobs and backends: one replication as a job, run in this process, in a pool of local
processes or (:mod:`sim.distributed`) on Dask, each result handed back as it finishes.

A batch (:mod:`sim.batch`) and the Morris screening (:mod:`sim.sensitivity`) build their
jobs and pick a backend; the Dask backend builds on the same :class:`Backend`, so that it
needs nothing of the batch and the batch loads it only when asked to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sim import simulate
from sim.scenario import Scenario


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
