"""``welfare-sim sensitivity``: the Morris global sensitivity of the main indicators to the
uncertain parameters, ranked (:mod:`sim.experiments.sensitivity`)."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import add_force_option, check_years, library_errors, timestamp
from sim.experiments.sensitivity import BASELINE, DEFAULT_TRAJECTORIES, PARAMETERS, SWEDISH

DESIGN_OPTIONS = {"trajectories": "--trajectories", "years": "--years", "seed": "--seed", "workers": "--workers"}


def register(sub) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="Morris global sensitivity of the main indicators to the uncertain parameters, ranked",
        description="Screen the uncertain parameters (those the scenario files mark as assumption or calibrated) "
        "with the method of Morris: the total cost and the children in care of the Danish baseline and the "
        "Swedish model, the Swedish saving and the share of follow-ups on time. Writes sensitivity.csv (mu*, "
        "its 95 % interval and sigma per indicator and parameter, ranked), points.csv, sensitivity.png and "
        "sensitivity.json.",
    )
    p.add_argument(
        "--trajectories",
        type=int,
        default=DEFAULT_TRAJECTORIES,
        metavar="R",
        help=f"Morris trajectories (default {DEFAULT_TRAJECTORIES}); each is k+1 points, run for both scenarios",
    )
    p.add_argument("--years", type=float, default=None, help="measured years (default: the scenarios' run.years)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1); same seed, same results")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; 1 = in-process)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/sensitivity-<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    add_force_option(p)
    p.set_defaults(func=cmd_sensitivity)


def cmd_sensitivity(args) -> int:
    from sim.experiments.sensitivity import check_design, run_morris, write_sensitivity
    from sim.present.sensitivity import write_sensitivity_figure
    from sim.storage.output import atomic_folder, check_destination

    check_years(args.years)
    with library_errors(**DESIGN_OPTIONS):
        check_design(args.trajectories, args.years, args.seed, args.workers)
    out = Path(args.out) if args.out else Path("outputs") / f"sensitivity-{timestamp()}"
    check_destination(out)  # before the runs, not after them
    k = len(PARAMETERS)
    if not args.quiet:
        print(
            f"Morris: {k} parameters x {args.trajectories} trajectories = {args.trajectories * (k + 1)} points, "
            f"each run for {BASELINE} and {SWEDISH}, seed {args.seed} -> {out}",
            file=sys.stderr,
        )
    with library_errors(**DESIGN_OPTIONS):
        result = run_morris(
            trajectories=args.trajectories,
            years=args.years,
            seed=args.seed,
            workers=args.workers,
            progress=sys.stderr.isatty() and not args.quiet,
            force=args.force,
        )
    with atomic_folder(out) as tmp:
        write_sensitivity(result, tmp, command=sys.argv)
        write_sensitivity_figure(result, tmp)
    print(
        f"Morris screening: {k} parameters, {args.trajectories} trajectories, {result.runs} runs in "
        f"{result.seconds:.0f} s on {result.workers} worker(s), seed {args.seed}"
    )
    print()
    print(result.text())
    print()
    print(f"results written to {out} (sensitivity.csv, points.csv, sensitivity.png, sensitivity.json)")
    return 0
