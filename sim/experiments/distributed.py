"""The Dask backend of a batch (``--backend dask``): replications run on Dask distributed, on a
local cluster started for the batch or on an existing cluster named with ``--scheduler``.

A replication's result depends only on its scenario and seed, so a batch on Dask is
bit-identical to the same batch on the local backend. Dask is an optional extra::

    pip install ".[dask]"

On one machine, ``welfare-sim compare --backend dask --workers N`` starts a local cluster of
``N`` single-threaded worker processes on 127.0.0.1 (no dashboard) and stops it at the end.

On several machines, start a scheduler on one of them and workers on each of them (every
machine with welfare-sim installed, the same version; the workers refuse jobs from a client
with another version)::

    dask scheduler --host 0.0.0.0 --port 8786                       # on the scheduler machine
    dask worker tcp://SCHEDULER:8786 --nthreads 1 --nworkers N      # on each machine, N = its cores

then run the batch from any machine that reaches the scheduler::

    welfare-sim compare --backend dask --scheduler tcp://SCHEDULER:8786

The batch waits for workers if none is connected yet. Every result comes back to this client,
which writes the batch folder itself, so the workers need no shared disk (and no access to the
scenario files: the scenarios travel with the jobs).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from sim import __version__
from sim.experiments.jobs import Backend, BatchError, Job, JobResult, Tables, run_job

CONNECT_TIMEOUT = 10.0  # seconds to reach an existing scheduler
QUIET = logging.ERROR  # worker and scheduler log level on standard error


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BatchError('backend dask: needs the dask extra: pip install ".[dask]"') from None
    return distributed


def _bad_address(address: str, exc: Exception) -> BatchError:
    reason = " ".join(str(exc).split())
    return BatchError(f"scheduler: {address!r} is not a Dask scheduler address (tcp://HOST:PORT): {reason}")


_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):([0-9]{1,5})")


def check_scheduler_address(address: str) -> None:
    """Refuse an address that is not ``tcp://HOST:PORT`` (or ``tls://``) with a one-line
    :class:`BatchError`, without importing Dask or connecting: before any work starts."""
    match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        shown = address if isinstance(address, str) and len(address) <= 80 else f"{str(address)[:77]}..."
        raise BatchError(
            f"scheduler: {shown!r} is not a Dask scheduler address (tcp://HOST:PORT, the port written out)"
        )


def _check_address(address: str) -> None:
    """Refuse a malformed address before connecting (a Client that fails on one lingers)."""
    check_scheduler_address(address)
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme != "inproc":
            host, _ = parse_host_port(location, default_port=8786)
            if not host:
                raise ValueError("no host")
    except ValueError as exc:
        raise _bad_address(address, exc) from None


def run_on_worker(job: Job, with_tables: Tables, version: str) -> JobResult:
    """Run one job on a Dask worker, which must have the client's welfare-sim version."""
    if version != __version__:
        raise BatchError(
            f"backend dask: a worker has welfare-sim {__version__} and this client {version}; "
            "install the same version everywhere"
        )
    return run_job(job, with_tables)


class DaskBackend(Backend):
    """Runs jobs on Dask distributed: a ``LocalCluster`` of ``workers`` processes, or the
    cluster of the scheduler at ``scheduler`` (``tcp://HOST:PORT``)."""

    def __init__(self, workers: int, scheduler: str | None):
        distributed = _import_distributed()
        self.cluster = None
        if scheduler is None:
            self.cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,
                silence_logs=QUIET,
            )
            try:
                self.client = distributed.Client(self.cluster, set_as_default=False)
            except BaseException:
                self.cluster.close()
                raise
        else:
            _check_address(scheduler)
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise BatchError(
                    f"scheduler: cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT:g} s"
                    " (is it running, and is the address tcp://HOST:PORT?)"
                ) from exc
            except ValueError as exc:
                raise _bad_address(scheduler, exc) from None

    def run(self, jobs: list[Job], done: Callable[[JobResult], None], with_tables: Tables) -> None:
        from distributed import as_completed

        batch = uuid.uuid4().hex
        futures = [
            self.client.submit(
                run_on_worker,
                job,
                with_tables,
                __version__,
                key=f"welfare-sim-{job.scenario_index}-{job.replication}-{batch}",
                pure=False,
            )
            for job in jobs
        ]
        try:
            for future in as_completed(futures, loop=self.client.loop):
                done(future.result())
        except BaseException:
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
