"""The command line: ``welfare-sim`` (or ``python -m sim``).

Commands:
  run SCENARIO       one replication; tables as Parquet, summary as CSV and JSON
  compare [A B ...]  replications of scenarios with common random numbers, compared with
                     confidence intervals (default: the Danish baseline and the Swedish model)
  batch FILE         a batch described in a TOML file
  warmup SCENARIO    where the indicators settle (Welch's moving average, MSER-5)
  report FOLDER      report.html: comparison, figures, parameters side by side, manifest
  export FOLDER      the event log for process mining (XES or CSV)
  sweep SCENARIO     a scenario at every value of one parameter (common random numbers), plotted
  staff SCENARIO     the smallest number of caseworkers meeting every --target
  business-case A B  the business case of moving from A to B: yearly costs and savings, payback year
  sensitivity        Morris global sensitivity of the main indicators to the uncertain parameters
  validation         docs/VALIDATION.md: observed figures against simulated, mechanism checks
  validate FILE ...  check scenario files without running them
  scenarios          list the shipped scenarios
  region FILE.csv    many municipalities, each in its own scenario, and their sum
  init NAME          scenario files for your own municipality: its children and staff on a
                     shipped scenario (--transition: and the switch to the Swedish practice)
  calibrate FILE     fit the children's and needs' parameters of a municipality's file to its
                     own observed figures (--observed OBSERVED.toml; --write: NAME_calibrated.toml)

Each command is a module of :mod:`sim.cli.commands` (parse, call the library, write, print);
what they share is in :mod:`sim.cli.common`.

Bad input ends with one line on standard error naming the file and the field, and exit
status 2; nothing is written. Exit status 74 is a failure of the system (a full disk, a
folder that cannot be written, no memory), 130 an interrupt (Ctrl-C), 141 a closed pipe;
each is one line too, saying what was kept.

The heavy libraries (pandas, SciPy, Matplotlib) load inside :func:`main`, so that Ctrl-C
while the program starts is an interrupt like any other, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from sim.cli.common import UsageError, check_seed, check_years, option_text

EXIT_BAD_INPUT = 2
EXIT_SYSTEM = 74  # sysexits.h EX_IOERR: a full disk, an unwritable folder, no memory
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
RESUMABLE = ("compare", "batch", "region")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit status 2), like every other
    bad input."""

    def error(self, message: str):
        text = " ".join(message.split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {text} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from sim import __version__
    from sim.cli.commands import (
        business_case,
        calibrate,
        compare,
        export,
        init,
        planner,
        region,
        report,
        run,
        scenarios,
        sensitivity,
        validation,
        warmup,
    )

    parser = OneLineParser(
        prog="welfare-sim",
        description="Discrete-event simulation of a municipal child-welfare system: "
        "the Danish practice against the Swedish model.",
    )
    parser.add_argument("--version", action="version", version=f"welfare-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    for commands in (
        run,
        compare,
        scenarios,
        init,
        region,
        calibrate,
        report,
        warmup,
        export,
        planner,
        business_case,
        sensitivity,
        validation,
    ):
        commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a bad option (one line, already printed)
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        args._argv = argv
        return dispatch(args)
    except KeyboardInterrupt as exc:
        _say(interrupted_message(None, argv, exc))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _broken_pipe()


def _say(line: str) -> None:
    try:
        print(" ".join(line.split()), file=sys.stderr)
    except (BrokenPipeError, ValueError):
        pass


def _broken_pipe() -> int:
    """Standard output was closed (``| head``): say nothing more, exit like a program that
    SIGPIPE stopped. Python would otherwise complain once more when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _resume_command(argv: list[str], out: Path) -> str:
    again = [a for a in argv if a != "--resume"]
    if not ("--out" in again or any(a.startswith("--out=") for a in again)):
        again += ["--out", str(out)]
    return "welfare-sim " + shlex.join([*again, "--resume"])


def interrupted_message(args, argv: list[str] | None, exc: BaseException) -> str:
    """What an interrupted command leaves: nothing, a batch to finish with ``--resume``, or
    files kept."""
    from sim.experiments.batch import BatchInterrupted
    from sim.storage.output import noted_outputs

    command = getattr(args, "command", None) or (argv[0] if argv else None)
    resumable = command in RESUMABLE and argv is not None
    if isinstance(exc, BatchInterrupted):
        of = f" of {exc.total}" if exc.total is not None else ""
        kept = f"interrupted; {exc.kept}{of} replications had finished and are kept in {exc.out}"
        if resumable:
            return f"welfare-sim: {kept}; finish the batch with: {_resume_command(argv, exc.out)}"
        return f"welfare-sim: {kept}; {command} has no --resume: run it again into a new folder"
    kept = noted_outputs()
    if kept and resumable and kept[0][1] == "batch":
        folder = kept[0][0]
        return (
            f"welfare-sim: interrupted; the finished replications are kept in {folder}; finish the batch with: "
            f"{_resume_command(argv, folder)}"
        )
    if kept:
        folders = ", ".join(str(f) for f, _ in kept)
        return f"welfare-sim: interrupted; kept what was finished in {folders} (incomplete: the command did not end)"
    return "welfare-sim: interrupted; nothing was written"


def check_option_limits(args) -> None:
    """The limits every command shares, checked before the command starts: ``--seed``,
    ``--years``, and the upper bounds of the counts (replications, workers, trajectories)."""
    from sim.engine.workload import MAX_REPLICATIONS, MAX_WORKERS
    from sim.experiments.sensitivity import MAX_TRAJECTORIES

    if isinstance(getattr(args, "seed", None), int):
        check_seed(args.seed)
    if isinstance(getattr(args, "years", None), float):
        check_years(args.years)
    limits = {
        "replications": MAX_REPLICATIONS,
        "max_replications": MAX_REPLICATIONS,
        "replication": MAX_REPLICATIONS,
        "workers": MAX_WORKERS,
        "trajectories": MAX_TRAJECTORIES,
        "sensitivity_trajectories": MAX_TRAJECTORIES,
    }
    for dest, high in limits.items():
        value = getattr(args, dest, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > high:
            raise UsageError(f"--{dest.replace('_', '-')}: must be at most {high:,}, got {value:,}")


def dispatch(args) -> int:
    """Run a parsed command: bad input becomes one line on standard error and exit 2."""
    from sim.engine.workload import WorkloadError
    from sim.experiments.jobs import BatchError
    from sim.params import ScenarioError
    from sim.storage.output import OutputError, forget_outputs
    from sim.storage.rundata import RunDataError

    forget_outputs()
    try:
        check_option_limits(args)
        return args.func(args)
    except (ScenarioError, OutputError, BatchError) as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except (UsageError, RunDataError, WorkloadError) as exc:
        _say(f"welfare-sim: {option_text(exc, {})}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        _say(interrupted_message(args, getattr(args, "_argv", None), exc))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _broken_pipe()
    except MemoryError:
        _say("welfare-sim: out of memory; run fewer or smaller replications (fewer --workers, children or years)")
        return EXIT_SYSTEM
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or type(exc).__name__
        kept = interrupted_message(args, getattr(args, "_argv", None), exc).split("; ", 1)[1]
        _say(f"welfare-sim: {where}{reason}; {kept}")
        return EXIT_SYSTEM
