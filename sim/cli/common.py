"""What the commands share: the error of a bad command-line value, the checks of the options
every command has (``--seed``, ``--years``, counts, ``--workers``, the work estimate), the
shared option builders, and the naming of a library error after the option it is about.

The library names the parameter an error is about first (``seed: must be ...``,
``backend dask: needs the dask extra``); a command names its option instead (``--seed: must
be ...``) with :func:`option_text` or :func:`library_errors`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping


class UsageError(ValueError):
    """A bad command-line value; ``str()`` is a one-line message."""


def timestamp() -> str:
    """The time now as a default folder's suffix, ``20261201-134501``."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


# ----------------------------------------------------------------------------- library errors


def option_text(exc: BaseException, flags: Mapping[str, str]) -> str:
    """The one-line message of a library error as the command line says it: a leading
    parameter name found in ``flags`` becomes its option (``seed: ...`` -> ``--seed: ...``,
    ``backend dask: ...`` -> ``--backend dask: ...``), and the advice of a work estimate
    (:class:`sim.engine.workload.WorkloadError`, also as the cause of another error) names
    ``--years`` and ``--force``."""
    from sim.engine.workload import WorkloadError

    cause = exc if isinstance(exc, WorkloadError) else exc.__cause__
    if isinstance(cause, WorkloadError):
        return cause.text(years="--years", force="--force")
    label, colon, reason = str(exc).partition(": ")
    name, space, rest = label.partition(" ")
    if colon and name in flags:
        return f"{flags[name]}{space}{rest}{colon}{reason}"
    return str(exc)


@contextlib.contextmanager
def library_errors(**flags: str) -> Iterator[None]:
    """Around a command's calls of the library: an error of a batch stays one (shown as it
    is), the library's other errors of bad values become :class:`UsageError`; both name the
    command's options (``flags``: parameter name -> option) as :func:`option_text` does."""
    from sim.engine.workload import WorkloadError
    from sim.experiments.business import BusinessCaseError
    from sim.experiments.jobs import BatchError
    from sim.experiments.sensitivity import SensitivityError
    from sim.storage.export import ExportError

    try:
        yield
    except BatchError as exc:
        raise BatchError(option_text(exc, flags)) from None
    except (BusinessCaseError, ExportError, SensitivityError, WorkloadError) as exc:
        raise UsageError(option_text(exc, flags)) from None


# ----------------------------------------------------------------------------- checks


def check_years(years: float | None, option: str = "--years") -> None:
    """``--years`` of any command: none (the scenario's), or the range of ``run.years``."""
    from sim.engine.workload import years_problem

    if problem := years_problem(years):
        raise UsageError(f"{option}: {problem}")


def check_seed(seed: int, option: str = "--seed") -> None:
    """``--seed`` of any command: a whole number from 0 to 2^63 - 1."""
    from sim.engine.workload import seed_problem

    if problem := seed_problem(seed):
        raise UsageError(f"{option}: {problem}")


def check_count(value: int | None, option: str, low: int, high: int) -> None:
    """A whole-number option (``None``: its default) from ``low`` to ``high``."""
    from sim.engine.workload import count_problem

    if value is not None and (problem := count_problem(value, low, high)):
        raise UsageError(f"{option}: {problem}")


def check_workers(workers: int | None) -> None:
    from sim.engine.workload import MAX_WORKERS

    check_count(workers, "--workers", 1, MAX_WORKERS)


def check_work(scenarios, years: float | None, replications: int, force: bool) -> None:
    """Refuse, with the estimate, work that would not fit in memory or would run for days
    (:mod:`sim.engine.workload`), unless ``force``."""
    from sim.engine.workload import WorkloadError, check_workload

    try:
        check_workload(scenarios, years, replications, force)
    except WorkloadError as exc:
        raise UsageError(option_text(exc, {})) from None


# ----------------------------------------------------------------------------- options


def add_scenario_argument(p, dest: str = "scenario", metavar: str | None = "SCENARIO") -> None:
    """A positional scenario argument: a scenario file, or the name of a shipped scenario."""
    p.add_argument(dest, metavar=metavar, help="scenario file, or the name of a shipped scenario")


def add_run_options(p) -> None:
    """``--seed`` and ``--years`` of the commands that run scenarios as they are."""
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1); same seed, same results")
    p.add_argument("--years", type=float, default=None, help="measured years (default: the scenario's run.years)")


def add_backend_options(p) -> None:
    """``--backend`` and ``--scheduler`` of the commands that run a batch."""
    p.add_argument(
        "--backend", choices=["local", "dask"], default="local", help="local process pool or Dask distributed"
    )
    p.add_argument("--scheduler", help="with --backend dask: address of a running scheduler (tcp://HOST:PORT)")


def check_backend_options(args) -> None:
    """``--scheduler`` only with ``--backend dask``."""
    from sim.experiments.jobs import BatchError

    if args.scheduler and args.backend != "dask":
        raise BatchError("--scheduler: needs --backend dask")


def add_force_option(p) -> None:
    """``--force``: run even when the work estimate is above the limits."""
    p.add_argument(
        "--force",
        action="store_true",
        help="run even if the estimated work is above the limits (see sim.engine.workload: 30 million events a "
        "replication, 2 billion a command)",
    )
