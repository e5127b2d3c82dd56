"""``welfare-sim validation``: write docs/VALIDATION.md (:mod:`sim.experiments.validation`), observed
figures against simulated ones, mechanism checks and the global sensitivity."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import UsageError, check_seed, check_workers, check_years, option_text, timestamp
from sim.experiments.validation import DEFAULT_SENSITIVITY_TRAJECTORIES


def register(sub) -> None:
    p = sub.add_parser(
        "validation",
        help="write docs/VALIDATION.md: observed figures against simulated ones, and mechanism checks",
    )
    p.add_argument("--replications", type=int, default=10, help="replications per scenario (default 10)")
    p.add_argument("--years", type=float, default=None, help="measured years (default: the scenarios')")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--out", default="docs/VALIDATION.md", help="the document to write (default docs/VALIDATION.md)")
    p.add_argument("--batch-out", default=None, help="folder for the batch (default outputs/validation-<timestamp>)")
    p.add_argument(
        "--sensitivity-trajectories",
        type=int,
        default=DEFAULT_SENSITIVITY_TRAJECTORIES,
        metavar="R",
        help="Morris trajectories of the global sensitivity section (default "
        f"{DEFAULT_SENSITIVITY_TRAJECTORIES}; 0 skips the section)",
    )
    p.add_argument(
        "--herning-replications",
        type=int,
        default=10,
        metavar="N",
        help="replications of the out-of-sample check against Herning's business case (default 10; 0 skips it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    p.set_defaults(func=cmd_validation)


def cmd_validation(args) -> int:
    from sim.experiments.sensitivity import SensitivityError
    from sim.experiments.validation import run_validation
    from sim.present.validation import write_validation

    if args.replications < 2:
        raise UsageError(f"--replications: must be >= 2, got {args.replications}")
    check_years(args.years)
    if args.sensitivity_trajectories < 0 or args.sensitivity_trajectories == 1:
        raise UsageError(f"--sensitivity-trajectories: must be 0 (skip) or >= 2, got {args.sensitivity_trajectories}")
    check_seed(args.seed)
    check_workers(args.workers)
    if args.herning_replications < 0 or args.herning_replications == 1:
        raise UsageError(f"--herning-replications: must be 0 (skip) or >= 2, got {args.herning_replications}")
    batch_out = Path(args.batch_out) if args.batch_out else Path("outputs") / f"validation-{timestamp()}"
    command = "welfare-sim validation " + " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in (
            ("replications", args.replications),
            ("years", args.years),
            ("seed", args.seed),
            ("sensitivity_trajectories", args.sensitivity_trajectories),
            ("herning_replications", args.herning_replications),
        )
        if v is not None
    )
    try:
        run = run_validation(
            args.replications,
            args.years,
            args.seed,
            args.workers,
            batch_out,
            command,
            progress=sys.stderr.isatty() and not args.quiet,
            sensitivity_trajectories=args.sensitivity_trajectories,
            herning_replications=args.herning_replications,
        )
    except SensitivityError as exc:
        flags = {"trajectories": "--trajectories", "years": "--years", "seed": "--seed", "workers": "--workers"}
        raise UsageError(f"sensitivity: {option_text(exc, flags)}") from None
    path, passed, total = write_validation(run, Path(args.out))
    print(f"{passed} of {total} checks pass; written to {path} (batch in {batch_out})")
    return 0
