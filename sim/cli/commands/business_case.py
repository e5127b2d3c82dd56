"""``welfare-sim business-case BASELINE NEW``: the business case of moving from BASELINE to
NEW (:mod:`sim.experiments.business`), yearly costs and savings and the payback year, and its report."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import (
    UsageError,
    add_force_option,
    add_scenario_argument,
    check_count,
    check_seed,
    check_work,
    check_workers,
    check_years,
    library_errors,
    timestamp,
)
from sim.experiments.business import CSV_NAME, DEFAULT_REPLICATIONS, DEFAULT_YEARS, JSON_NAME, PNG_NAME


def register(sub):
    p = sub.add_parser(
        "business-case",
        help="the business case of moving from BASELINE to NEW: yearly costs, savings and payback",
        description="Run BASELINE and NEW with common random numbers and report per measured year the extra "
        "staff cost, the implementation cost, the change in intervention and placement spending, the net and "
        "the cumulative net (NEW - BASELINE, million DKK, 95 % intervals), and the payback year. Writes "
        "business_case.csv, business_case.json and business_case.png beside the batch's files.",
    )
    add_scenario_argument(p, "baseline", "BASELINE")
    add_scenario_argument(p, "new", "NEW")
    p.add_argument(
        "--years",
        type=float,
        default=DEFAULT_YEARS,
        metavar="Y",
        help=f"measured years: the horizon of the case (default {DEFAULT_YEARS:g})",
    )
    p.add_argument(
        "--replications",
        type=int,
        default=DEFAULT_REPLICATIONS,
        metavar="N",
        help=f"replications per scenario (default {DEFAULT_REPLICATIONS}; at least 2)",
    )
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="worker processes (default: one per core; 1 = in-process)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/business-case-<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    p.add_argument("--no-report", action="store_true", help="do not write report.html into the folder")
    add_force_option(p)
    p.set_defaults(func=cmd_business_case)
    return p


def _check_args(args) -> None:
    from sim.engine.workload import MAX_REPLICATIONS

    check_years(args.years)
    if args.replications < 2:
        raise UsageError(f"--replications: must be >= 2 for confidence intervals, got {args.replications}")
    check_count(args.replications, "--replications", 2, MAX_REPLICATIONS)
    check_seed(args.seed)
    check_workers(args.workers)


def cmd_business_case(args) -> int:
    """Check, run the batch, write and print the case, and write the folder's report."""
    from sim.experiments.batch import scenario_entry
    from sim.experiments.business import run_business_case
    from sim.present.business import write_business_case_figure
    from sim.present.report import report_summary, write_report
    from sim.storage.output import check_destination

    _check_args(args)
    baseline, new = scenario_entry(args.baseline), scenario_entry(args.new)
    if baseline.name == new.name:
        raise UsageError(f"NEW: both scenarios are named {new.name!r}; compare two different scenarios")
    out = Path(args.out) if args.out else Path("outputs") / f"business-case-{timestamp()}"
    check_destination(out)  # before the run, not after it
    check_work([baseline.scenario, new.scenario], args.years, args.replications, args.force)
    if not args.quiet:
        print(
            f"business case {new.name} against {baseline.name}: {args.replications} replications x "
            f"{args.years:g} years, seed {args.seed}, common random numbers -> {out}",
            file=sys.stderr,
        )
    with library_errors(replications="--replications", seed="--seed", years="--years", workers="--workers"):
        case = run_business_case(
            baseline,
            new,
            years=args.years,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            out=out,
            progress=sys.stderr.isatty() and not args.quiet,
            command=sys.argv,
            force=args.force,
        )
    write_business_case_figure(case, out)
    print(case.text())
    print()
    print(f"results written to {out} ({CSV_NAME}, {JSON_NAME}, {PNG_NAME})")
    if not args.no_report:
        print(report_summary(write_report(out)))
    return 0
