"""``welfare-sim sweep SCENARIO`` (a scenario at every value of one parameter, with common
random numbers, plotted) and ``welfare-sim staff SCENARIO`` (the smallest number of
caseworkers meeting every ``--target``): the planning commands of :mod:`sim.experiments.planner`."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import (
    UsageError,
    add_force_option,
    add_run_options,
    add_scenario_argument,
    check_count,
    check_seed,
    check_work,
    check_workers,
    check_years,
    timestamp,
)
from sim.experiments.planner import (
    DEFAULT_REPLICATIONS,
    DEFAULT_SWEEP_INDICATORS,
    STAFF_HIGH,
    STAFF_LOW,
    STAFF_MAX,
    STAFF_PARAM,
    LevelResult,
    PlannerError,
    caseworkers_text,
    check_indicators,
    find_staffing,
    parse_target,
    parse_values,
    run_sweep,
    safe_name,
    sweep_entries,
)


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a scenario at every value of one parameter and plot the indicators against it",
        description="Run SCENARIO at every value of one numeric parameter (a dotted path) as one batch with "
        "common random numbers; print each indicator's mean with its 95 % interval per value, and write "
        "sweep.csv, sweep.png and the batch's files.",
    )
    add_scenario_argument(p)
    p.add_argument("--param", required=True, metavar="P", help="dotted parameter path, e.g. staffing.caseworkers")
    p.add_argument(
        "--values", required=True, metavar="V", help="start:stop:step (stop included on the grid) or a list a,b,c"
    )
    p.add_argument(
        "--indicator",
        dest="indicators",
        action="append",
        default=None,
        metavar="NAME",
        help=f"indicator to print and plot (repeatable; default: {', '.join(DEFAULT_SWEEP_INDICATORS)})",
    )
    _common_options(p)
    p.add_argument("--tables", action="store_true", help="also write every replication's tables (large)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "staff",
        help="find the smallest number of caseworkers meeting every target",
        description="Find the smallest number of caseworkers at which every --target is met with 95 % "
        "confidence (the interval of the mean lies on the target's side), by doubling and bisection "
        "(assumes more caseworkers never hurt). Prints the answer and the indicators there and one below.",
    )
    add_scenario_argument(p)
    p.add_argument(
        "--target",
        dest="targets",
        action="append",
        required=True,
        metavar="T",
        help='e.g. "followup_on_time_share>=0.9" or "mean_caseload_cases<=25" (repeatable; all must be met)',
    )
    _common_options(p)
    p.add_argument("--low", type=int, default=None, metavar="N", help=f"fewest caseworkers (default {STAFF_LOW})")
    p.add_argument("--high", type=int, default=None, metavar="N", help=f"most caseworkers (default {STAFF_HIGH})")
    p.set_defaults(func=cmd_staff)


def _common_options(p) -> None:
    p.add_argument(
        "--replications",
        type=int,
        default=DEFAULT_REPLICATIONS,
        metavar="N",
        help=f"replications per value (default {DEFAULT_REPLICATIONS})",
    )
    add_run_options(p)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/<command>-<scenario>-<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    add_force_option(p)


def _check_common(args, least_replications: int) -> None:
    from sim.engine.workload import MAX_REPLICATIONS

    if args.replications < least_replications:
        raise UsageError(f"--replications: must be >= {least_replications}, got {args.replications}")
    check_count(args.replications, "--replications", least_replications, MAX_REPLICATIONS)
    check_seed(args.seed)
    check_years(args.years)
    check_workers(args.workers)


def cmd_sweep(args) -> int:
    from sim.experiments.batch import scenario_entry
    from sim.params import ScenarioError
    from sim.present.planner import write_sweep_figure
    from sim.present.text import sweep_text
    from sim.storage.output import check_destination

    _check_common(args, 1)
    try:
        values = parse_values(args.values)
    except ValueError as exc:
        raise UsageError(f"--values: {exc}") from None
    try:
        indicators = check_indicators(args.indicators)
    except PlannerError as exc:
        raise UsageError(f"--indicator: {exc}") from None
    entry = scenario_entry(args.scenario)
    try:
        entries = sweep_entries(entry, args.param, values)  # every value checked before anything runs
    except PlannerError as exc:
        raise UsageError(f"--param: {exc}") from None
    except ScenarioError as exc:  # an unknown path, or a value the parameter cannot take
        option = "--param" if exc.message.startswith("unknown parameter") else "--values"
        raise UsageError(f"{option}: {exc.field}: {exc.message}") from None
    leaf = args.param.rsplit(".", 1)[-1]
    out = Path(args.out) if args.out else Path("outputs") / f"sweep-{safe_name(entry.name)}-{leaf}-{timestamp()}"
    check_destination(out)
    check_work([e.scenario for e in entries], args.years, args.replications, args.force)
    if not args.quiet:
        print(
            f"{entry.name}: {args.param} at {len(entries)} values x {args.replications} replications, "
            f"seed {args.seed}, common random numbers -> {out}",
            file=sys.stderr,
        )
    result = run_sweep(
        entry,
        args.param,
        values,
        replications=args.replications,
        seed=args.seed,
        years=args.years,
        workers=args.workers,
        out=out,
        indicators=indicators,
        progress=sys.stderr.isatty() and not args.quiet,
        write_tables=args.tables,
        command=sys.argv,
        force=args.force,
    )
    write_sweep_figure(result)
    print(f"{entry.name}: {entry.scenario.title}")
    print(
        f"{args.param} swept over {len(values)} values; {args.replications} replications each, seed {args.seed}, "
        "common random numbers; means with 95 % intervals"
    )
    print()
    print(sweep_text(result.table, result.param, result.indicators))
    print()
    print(f"results written to {out} (sweep.csv, sweep.png)")
    return 0


def cmd_staff(args) -> int:
    """Exit status 0 with an answer, 1 when no staffing up to ``--high`` meets every target."""
    from sim.experiments.batch import scenario_entry
    from sim.present.planner import write_staff_figure
    from sim.present.text import staff_text
    from sim.storage.output import check_destination

    _check_common(args, 2)
    targets = []
    for text in args.targets:
        try:
            targets.append(parse_target(text))
        except ValueError as exc:
            raise UsageError(f"--target: {exc}") from None
    if args.low is not None and args.low < 1:
        raise UsageError(f"--low: must be >= 1, got {args.low}")
    check_count(args.low, "--low", 1, STAFF_MAX)
    check_count(args.high, "--high", 1, STAFF_MAX)
    if args.high is not None and args.high < (args.low or STAFF_LOW):
        raise UsageError(f"--high: must be >= --low ({args.low or STAFF_LOW}), got {args.high}")
    entry = scenario_entry(args.scenario)
    out = Path(args.out) if args.out else Path("outputs") / f"staff-{safe_name(entry.name)}-{timestamp()}"
    check_destination(out)

    def report(level: int, result: LevelResult) -> None:
        if args.quiet:
            return
        missed = [str(t) for t in targets if not result.met[str(t)]]
        verdict = "meets every target" if not missed else "misses " + ", ".join(missed)
        print(f"{caseworkers_text(level)}: {verdict}", file=sys.stderr)

    highest = entry.scenario.with_overrides(**{STAFF_PARAM: args.high or STAFF_HIGH})
    check_work([highest], args.years, args.replications, args.force)
    if not args.quiet:
        print(
            f"{entry.name}: searching {args.low or STAFF_LOW}..{args.high or STAFF_HIGH} caseworkers, "
            f"{args.replications} replications per level, seed {args.seed} -> {out}",
            file=sys.stderr,
        )
    result = find_staffing(
        entry,
        targets,
        replications=args.replications,
        seed=args.seed,
        years=args.years,
        workers=args.workers,
        low=args.low,
        high=args.high,
        out=out,
        report=report,
        command=sys.argv,
        force=args.force,
    )
    write_staff_figure(result)
    print(staff_text(result))
    print()
    print(f"results written to {out} (staff.csv, staff.json, staff.png, levels/)")
    return 0 if result.found else 1
