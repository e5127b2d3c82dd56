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

Bad input ends with one line on standard error naming the file and the field, and exit
status 2; nothing is written. Exit status 74 is a failure of the system (a full disk, a
folder that cannot be written, no memory), 130 an interrupt (Ctrl-C), 141 a closed pipe;
each is one line too, saying what was kept.

The heavy libraries (pandas, SciPy, Matplotlib) load inside :func:`main`, so that Ctrl-C
while the program starts is an interrupt like any other, not a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
from pathlib import Path

DEFAULT_COMPARISON = ("danish_baseline", "swedish_model")
EXIT_BAD_INPUT = 2
EXIT_SYSTEM = 74  # sysexits.h EX_IOERR: a full disk, an unwritable folder, no memory
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
RESUMABLE = ("compare", "batch")


class UsageError(ValueError):
    """A bad command-line value; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- commands


def _timestamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def check_years(years: float | None, option: str = "--years") -> None:
    """``--years`` of any command: none (the scenario's), or the range of ``run.years``."""
    from sim.workload import years_problem

    if problem := years_problem(years):
        raise UsageError(f"{option}: {problem}")


def check_seed(seed: int, option: str = "--seed") -> None:
    """``--seed`` of any command: a whole number from 0 to 2^63 - 1."""
    from sim.workload import seed_problem

    if problem := seed_problem(seed):
        raise UsageError(f"{option}: {problem}")


def check_count(value: int | None, option: str, low: int, high: int) -> None:
    """A whole-number option (``None``: its default) from ``low`` to ``high``."""
    from sim.workload import count_problem

    if value is not None and (problem := count_problem(value, low, high)):
        raise UsageError(f"{option}: {problem}")


def check_workers(workers: int | None) -> None:
    from sim.workload import MAX_WORKERS

    check_count(workers, "--workers", 1, MAX_WORKERS)


def check_work(scenarios, years: float | None, replications: int, force: bool) -> None:
    """Refuse, with the estimate, work that would not fit in memory or would run for days
    (:mod:`sim.workload`), unless ``force``."""
    from sim.workload import WorkloadError, check_workload

    try:
        check_workload(scenarios, years, replications, force)
    except WorkloadError as exc:
        raise UsageError(f"{exc}") from None


def _check_run_args(args) -> None:
    check_seed(args.seed)
    check_years(args.years)


def cmd_run(args) -> int:
    from sim import __version__, simulate
    from sim.batch import _git_commit
    from sim.output import atomic_folder, check_destination, child_name, remove_stale_partials, write_result
    from sim.scenario import load_scenario

    _check_run_args(args)
    scenario = load_scenario(args.scenario)
    check_work([scenario], args.years, 1, args.force)
    out = Path(args.out) if args.out else Path("outputs") / child_name(f"{scenario.name}-{_timestamp()}")
    remove_stale_partials(out.parent, out.name)  # left by a run that was killed
    check_destination(out)  # before the run, not after it
    started = time.time()
    result = simulate(scenario, seed=args.seed, years=args.years)
    with atomic_folder(out) as tmp:
        write_result(
            result,
            tmp,
            {
                "package_version": __version__,
                "git_commit": _git_commit(),
                "scenario_file": str(args.scenario),
                "years": args.years if args.years is not None else scenario.run.years,
                "warmup_years": scenario.run.warmup_years,
                "started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
                "seconds": round(time.time() - started, 3),
                "stats": result.stats,
            },
        )
    print(f"{scenario.name}: {scenario.title}")
    print(
        f"seed {args.seed}, {result.measured_days / 365.25:g} measured years "
        f"after {scenario.run.warmup_years:g} warm-up years"
    )
    print()
    from sim.present.text import summary_table

    print(summary_table({scenario.name: result.summary}))
    print()
    print(f"results written to {out}")
    return 0


def _replications(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number or 'auto', got {value!r}") from None


def _run_batch_and_print(spec, out: Path, args) -> int:
    from sim.batch import _read_manifest, run_batch
    from sim.indicators import SUMMARY_NAMES
    from sim.output import check_destination, check_unlocked

    spec.check()  # every check that can be made before the work, before a word is printed
    if args.resume:
        _read_manifest(out, spec)
        check_unlocked(out)
    else:
        check_destination(out)
    interactive = sys.stderr.isatty() and not args.quiet
    if not args.quiet:
        how = "auto" if spec.replications is None else spec.replications
        print(
            f"{len(spec.scenarios)} scenario(s) x {how} replications, seed {spec.seed}, "
            f"{'common random numbers' if spec.crn else 'independent streams'}, "
            + (f"Dask scheduler {spec.scheduler}" if spec.scheduler else f"{spec.workers} worker(s) ({spec.backend})")
            + f" -> {out}",
            file=sys.stderr,
        )
    result = run_batch(spec, out, resume=args.resume, progress=interactive, command=sys.argv)
    names = [e.name for e in spec.scenarios]
    print(f"{result.replications_used} replications per scenario, seed {spec.seed}; means with 95 % intervals")
    if result.ran < len(result.replications):
        print(f"({len(result.replications) - result.ran} replications were already done and were read back)")
    print()
    from sim.present.text import comparison_text

    print(comparison_text(result.comparison, names, list(SUMMARY_NAMES)))
    print()
    print(f"results written to {out}")
    if not args.no_report:
        if spec.write_tables:
            from sim.report import report_summary, write_report

            print(report_summary(write_report(out)))
        else:
            print("no report: the batch was run with --no-tables")
    return 0


def cmd_report(args) -> int:
    from sim.report import report_summary, write_report
    from sim.rundata import RunDataError

    try:
        path = write_report(args.folder)
    except RunDataError as exc:
        raise UsageError(str(exc)) from None
    print(report_summary(path))
    return 0


def cmd_compare(args) -> int:
    from sim.batch import BatchSpec, scenario_entry

    _check_run_args(args)
    names = args.scenarios or list(DEFAULT_COMPARISON)
    spec = BatchSpec(
        scenarios=[scenario_entry(n) for n in names],
        replications=args.replications,
        precision=args.precision,
        precision_indicators=tuple(args.indicator or ()) or BatchSpec.precision_indicators,
        max_replications=args.max_replications,
        seed=args.seed,
        years=args.years,
        crn=not args.no_crn,
        backend=args.backend,
        scheduler=args.scheduler,
        write_tables=not args.no_tables,
        force=args.force,
    )
    if args.workers is not None:
        spec.workers = args.workers
    spec.check()
    if args.resume and not args.out:
        raise UsageError("--resume: name the batch folder to finish with --out DIR")
    out = Path(args.out) if args.out else Path("outputs") / f"compare-{_timestamp()}"
    return _run_batch_and_print(spec, out, args)


def cmd_batch(args) -> int:
    from sim.batch import load_batch_file

    spec, out = load_batch_file(args.file, force=args.force)
    if args.workers is not None:
        check_workers(args.workers)
        spec.workers = args.workers
    out = Path(args.out) if args.out else out or Path("outputs") / f"{Path(args.file).stem}-{_timestamp()}"
    if args.resume and not (args.out or out.exists()):
        raise UsageError("--resume: the batch folder does not exist")
    return _run_batch_and_print(spec, out, args)


def cmd_validate(args) -> int:
    from sim.scenario import load_scenario

    for path in args.scenarios:
        scenario = load_scenario(path)
        print(f"{path}: ok ({scenario.name}: {scenario.title})")
    return 0


def cmd_scenarios(args) -> int:
    from sim.scenario import load_scenario, shipped_scenarios_dir

    folder = shipped_scenarios_dir()
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(path)
        print(f"{path.stem:<22} {scenario.title}")
    print(f"\n(in {folder})")
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from sim import __version__
    from sim.business import add_business_command
    from sim.export import add_export_command
    from sim.planner import add_planner_commands
    from sim.sensitivity import add_sensitivity_command
    from sim.validation import add_validation_command
    from sim.warmup import add_warmup_command

    parser = OneLineParser(
        prog="welfare-sim",
        description="Discrete-event simulation of a municipal child-welfare system: "
        "the Danish practice against the Swedish model.",
    )
    parser.add_argument("--version", action="version", version=f"welfare-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)

    def run_options(p):
        p.add_argument("--seed", type=int, default=1, help="random seed (default 1); same seed, same results")
        p.add_argument("--years", type=float, default=None, help="measured years (default: the scenario's run.years)")

    p = sub.add_parser("run", help="run one replication and write its tables", description=cmd_run.__doc__)
    p.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    run_options(p)
    p.add_argument("--out", help="output folder (default: outputs/<scenario>-<timestamp>/)")
    add_force_option(p)
    p.set_defaults(func=cmd_run)

    def batch_options(p):
        p.add_argument(
            "--workers", type=int, default=None, help="worker processes (default: one per core; 1 = in-process)"
        )
        p.add_argument("--out", help="batch folder (default: outputs/<name>-<timestamp>/)")
        p.add_argument(
            "--resume", action="store_true", help="finish an interrupted batch in --out: run only what is missing"
        )
        p.add_argument("--quiet", action="store_true", help="no progress on standard error")
        p.add_argument("--no-report", action="store_true", help="do not write report.html into the batch folder")
        add_force_option(p)

    p = sub.add_parser(
        "compare",
        help="run scenarios with replications and compare them (default: Danish baseline vs Swedish model)",
        description="Run every scenario N times with common random numbers and compare: means with 95 % "
        "confidence intervals and paired differences to the first scenario.",
    )
    p.add_argument("scenarios", nargs="*", help="scenario files or names (default: danish_baseline swedish_model)")
    run_options(p)
    p.add_argument(
        "--replications",
        type=_replications,
        default=10,
        help="replications per scenario, or 'auto' to add them until --precision is reached (default 10)",
    )
    p.add_argument(
        "--precision", type=float, default=0.05, help="with auto: target 95%% half-width / mean (default 0.05)"
    )
    p.add_argument("--indicator", action="append", help="with auto: an indicator the precision applies to (repeatable)")
    p.add_argument("--max-replications", type=int, default=100, help="with auto: the most replications (default 100)")
    p.add_argument(
        "--no-crn", action="store_true", help="independent random streams per scenario (no common random numbers)"
    )
    p.add_argument(
        "--backend", choices=["local", "dask"], default="local", help="local process pool or Dask distributed"
    )
    p.add_argument("--scheduler", help="with --backend dask: address of a running scheduler (tcp://HOST:PORT)")
    p.add_argument("--no-tables", action="store_true", help="write only the summaries, not every replication's tables")
    batch_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("batch", help="run a batch described in a TOML file")
    p.add_argument("file", help="batch file (scenarios, replications, seed, years, ...)")
    batch_options(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", help="scenario files or names")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("report", help="write report.html (tables, figures, parameters) for a results folder")
    p.add_argument("folder", help="a folder written by run, compare or batch")
    p.set_defaults(func=cmd_report)

    add_warmup_command(sub)
    add_export_command(sub)
    add_planner_commands(sub)
    add_business_command(sub)
    add_sensitivity_command(sub)
    add_validation_command(sub)
    return parser


def add_force_option(p) -> None:
    """``--force``: run even when the work estimate is above the limits."""
    p.add_argument(
        "--force",
        action="store_true",
        help="run even if the estimated work is above the limits (see sim.workload: 30 million events a "
        "replication, 2 billion a command)",
    )


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit status 2), like every other
    bad input."""

    def error(self, message: str):
        text = " ".join(message.split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {text} (see {self.prog} --help)\n")


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
    from sim.batch import BatchInterrupted
    from sim.output import noted_outputs

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
    from sim.sensitivity import MAX_TRAJECTORIES
    from sim.workload import MAX_REPLICATIONS, MAX_WORKERS

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
    from sim.batch import BatchError
    from sim.output import OutputError, forget_outputs
    from sim.rundata import RunDataError
    from sim.scenario import ScenarioError
    from sim.workload import WorkloadError

    forget_outputs()
    try:
        check_option_limits(args)
        return args.func(args)
    except (ScenarioError, OutputError, BatchError) as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except (UsageError, RunDataError, WorkloadError) as exc:
        _say(f"welfare-sim: {exc}")
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


if __name__ == "__main__":
    sys.exit(main())
