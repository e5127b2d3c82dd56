"""``welfare-sim warmup SCENARIO``: where the indicators settle (Welch's moving average,
MSER-5), to set the warm-up from data."""

from __future__ import annotations

import math
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
    timestamp,
)
from sim.experiments.warmup import DEFAULT_INDICATORS, INDICATORS, MSER_BATCH


def register(sub):
    p = sub.add_parser(
        "warmup",
        help="show where the indicators settle, to set the warm-up from data",
        description="Run replications of a scenario without warm-up and show, with Welch's moving average "
        "and the MSER-5 rule, where the indicators settle. Writes warmup.csv, suggestions.csv and warmup.png.",
    )
    add_scenario_argument(p)
    p.add_argument("--replications", type=int, default=5, metavar="N", help="replications (default 5; at least 2)")
    p.add_argument("--years", type=float, default=12.0, metavar="Y", help="years per replication (default 12)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument(
        "--indicator",
        dest="indicators",
        action="append",
        default=None,
        metavar="NAME",
        help=f"indicator to analyse (repeatable; default: {', '.join(DEFAULT_INDICATORS)}); one of: "
        f"{', '.join(INDICATORS)}",
    )
    p.add_argument(
        "--window", type=int, default=26, metavar="W", help="half-width of Welch's window in weeks (default 26)"
    )
    p.add_argument("--empty", action="store_true", help="start from an empty system instead of the initial stock")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="worker processes (default: one per core; 1 = in-process); the result does not depend on it",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/warmup-<scenario>-<timestamp>/)")
    add_force_option(p)
    p.set_defaults(func=cmd_warmup)
    return p


def check_warmup_args(args) -> list[str]:
    """Raise :class:`UsageError` for a bad value; return the indicators to analyse."""
    from sim.engine.workload import MAX_REPLICATIONS

    if args.replications < 2:
        raise UsageError(f"--replications: must be >= 2, got {args.replications}")
    check_count(args.replications, "--replications", 2, MAX_REPLICATIONS)
    check_years(args.years)
    check_seed(args.seed)
    if args.window < 1:
        raise UsageError(f"--window: must be >= 1, got {args.window}")
    check_count(args.window, "--window", 1, 100_000)
    check_workers(args.workers)
    names = list(dict.fromkeys(args.indicators or DEFAULT_INDICATORS))
    for name in names:
        if name not in INDICATORS:
            raise UsageError(f"--indicator: unknown indicator {name!r}; valid: {', '.join(INDICATORS)}")
    return names


def cmd_warmup(args) -> int:
    """Validate, run the analysis, write the folder, print the points."""
    from sim.constants import DAYS_PER_YEAR
    from sim.experiments.warmup import warmup_analysis
    from sim.params import load_scenario
    from sim.present.warmup import plot_warmup
    from sim.storage.output import atomic_folder, check_destination

    names = check_warmup_args(args)
    scenario = load_scenario(args.scenario)
    check_work([scenario], args.years, args.replications, args.force)
    interval = scenario.run.snapshot_interval_days
    snapshots = math.ceil(args.years * DAYS_PER_YEAR / interval)
    if snapshots < 2 * MSER_BATCH:
        raise UsageError(f"--years: {args.years:g} years give {snapshots} snapshots; need at least {2 * MSER_BATCH}")
    if 2 * args.window >= snapshots:
        raise UsageError(
            f"--window: must be below half the {snapshots} snapshots of {args.years:g} years, got {args.window}"
        )
    out = Path(args.out) if args.out else Path("outputs") / f"warmup-{scenario.name}-{timestamp()}"
    check_destination(out)  # before the run, not after it

    def progress(done: int, total: int) -> None:
        print(f"replication {done}/{total} done", file=sys.stderr)

    report = warmup_analysis(
        scenario,
        replications=args.replications,
        years=args.years,
        seed=args.seed,
        indicators=names,
        window=args.window,
        empty=args.empty,
        progress=progress,
        workers=args.workers,
    )
    fig = plot_warmup(report)
    with atomic_folder(out) as tmp:
        report.table().to_csv(tmp / "warmup.csv", index=False, float_format="%.10g")
        report.suggestions().to_csv(tmp / "suggestions.csv", index=False, float_format="%.10g")
        fig.savefig(tmp / "warmup.png", dpi=120)

    start = "an empty system" if args.empty else "the initial stock"
    print(f"{scenario.name}: {scenario.title}")
    print(
        f"{args.replications} replications of {args.years:g} years from {start}, seed {args.seed}, "
        f"Welch window {args.window} weeks"
    )
    print()
    width = max(len("indicator"), *(len(n) for n in names))
    after = f"drift after {scenario.run.warmup_years:g} y, % [95 % CI]"
    print(f"{'indicator'.ljust(width)}  MSER-5 (years)  {after}")
    print(f"{'-' * width}  {'-' * 14}  {'-' * len(after)}")
    drifts = {name: report.drift(name) for name in names}
    for name in names:
        note = "  at the limit: not settled in the first half, run longer" if report.at_limit(name) else ""
        mean, low, high = drifts[name]
        drift = "-" if math.isnan(low) else f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"
        print(f"{name.ljust(width)}  {report.mser5_days(name) / DAYS_PER_YEAR:14.2f}  {drift:>{len(after)}}{note}")
    print()
    print(
        "(drift: in each replication, the second half of the years after the warm-up against the first half; "
        "an interval that holds 0 shows no drift the replications can see)"
    )
    suggested, current = report.suggested_warmup_years, scenario.run.warmup_years
    print(f"suggested warm-up: {suggested:g} years (the scenario uses {current:g} years)")
    if any(report.at_limit(n) for n in names):
        print(
            f"(a lower bound: some indicators had not settled within {args.years / 2:g} years; run with more --years)"
        )
    seen = [low > 0.0 or high < 0.0 for _, low, high in drifts.values() if not math.isnan(low)]
    if suggested > current and seen and not any(seen):
        print(
            f"(no drift is seen after the scenario's {current:g} years, though: MSER-5 reads the mean curve of "
            f"{args.replications} replications, which moves by itself, the more so the smaller the municipality; "
            "more --replications tell the two apart)"
        )
    print(f"results written to {out}")
    return 0
