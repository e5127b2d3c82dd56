"""``welfare-sim compare`` (replications of scenarios with common random numbers, compared
with confidence intervals) and ``welfare-sim batch FILE`` (a batch described in a TOML file):
both run a batch, print its comparison and write its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import (
    UsageError,
    add_backend_options,
    add_force_option,
    add_run_options,
    check_backend_options,
    check_seed,
    check_workers,
    check_years,
    library_errors,
    timestamp,
)

DEFAULT_COMPARISON = ("danish_baseline", "swedish_model")
BATCH_OPTIONS = {
    "replications": "--replications",
    "precision": "--precision",
    "max_replications": "--max-replications",
    "precision_indicators": "--indicator",
    "seed": "--seed",
    "years": "--years",
    "workers": "--workers",
    "backend": "--backend",
    "scheduler": "--scheduler",
}
"""The options of the batch's parameters (:class:`sim.experiments.batch.BatchSpec`)."""


def register(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="run scenarios with replications and compare them (default: Danish baseline vs Swedish model)",
        description="Run every scenario N times with common random numbers and compare: means with 95 % "
        "confidence intervals and paired differences to the first scenario.",
    )
    p.add_argument("scenarios", nargs="*", help="scenario files or names (default: danish_baseline swedish_model)")
    add_run_options(p)
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
    add_backend_options(p)
    p.add_argument("--no-tables", action="store_true", help="write only the summaries, not every replication's tables")
    _batch_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("batch", help="run a batch described in a TOML file")
    p.add_argument("file", help="batch file (scenarios, replications, seed, years, ...)")
    _batch_options(p)
    p.set_defaults(func=cmd_batch)


def _batch_options(p) -> None:
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; 1 = in-process)")
    p.add_argument("--out", help="batch folder (default: outputs/<name>-<timestamp>/)")
    p.add_argument(
        "--resume", action="store_true", help="finish an interrupted batch in --out: run only what is missing"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    p.add_argument("--no-report", action="store_true", help="do not write report.html into the batch folder")
    add_force_option(p)


def _replications(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number or 'auto', got {value!r}") from None


def cmd_compare(args) -> int:
    from sim.experiments.batch import BatchSpec, scenario_entry

    check_seed(args.seed)
    check_years(args.years)
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
    check_backend_options(args)
    with library_errors(**BATCH_OPTIONS):
        spec.check()
    if args.resume and not args.out:
        raise UsageError("--resume: name the batch folder to finish with --out DIR")
    out = Path(args.out) if args.out else Path("outputs") / f"compare-{timestamp()}"
    return _run_batch_and_print(spec, out, args)


def cmd_batch(args) -> int:
    from sim.experiments.batch import load_batch_file

    spec, out = load_batch_file(args.file, force=args.force)
    if args.workers is not None:
        check_workers(args.workers)
        spec.workers = args.workers
    out = Path(args.out) if args.out else out or Path("outputs") / f"{Path(args.file).stem}-{timestamp()}"
    if args.resume and not (args.out or out.exists()):
        raise UsageError("--resume: the batch folder does not exist")
    return _run_batch_and_print(spec, out, args)


def _run_batch_and_print(spec, out: Path, args) -> int:
    from sim.experiments.batch import _read_manifest, run_batch
    from sim.present.text import comparison_text
    from sim.results.indicators import SUMMARY_NAMES
    from sim.storage.output import check_destination, check_unlocked

    with library_errors(**BATCH_OPTIONS):
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
    with library_errors(**BATCH_OPTIONS):
        result = run_batch(spec, out, resume=args.resume, progress=interactive, command=sys.argv)
    names = [e.name for e in spec.scenarios]
    print(f"{result.replications_used} replications per scenario, seed {spec.seed}; means with 95 % intervals")
    if result.ran < len(result.replications):
        print(f"({len(result.replications) - result.ran} replications were already done and were read back)")
    print()
    print(comparison_text(result.comparison, names, list(SUMMARY_NAMES)))
    print()
    print(f"results written to {out}")
    if not args.no_report:
        if spec.write_tables:
            from sim.present.report import report_summary, write_report

            print(report_summary(write_report(out)))
        else:
            print("no report: the batch was run with --no-tables")
    return 0
