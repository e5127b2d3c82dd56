"""``welfare-sim calibrate FILE --observed OBSERVED.toml``: the mechanism parameters of a
municipality's file fitted to its own observed figures (:mod:`sim.experiments.calibration`,
:mod:`sim.params.observed`); with ``--write``, ``NAME_calibrated.toml`` beside the file."""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from pathlib import Path

from sim.cli.common import UsageError, add_force_option, check_count, check_work, check_workers, timestamp

MAX_EVALUATIONS = 1000
MAX_WARMUP_YEARS = 50.0
SUFFIX = "_calibrated"


def register(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit the children's and needs' parameters of a municipality's file to its own observed figures",
        description="Fit the mechanism parameters of the scenario FILE (the children and their needs: never the "
        "practice, the staffing or the prices) to the municipality's own figures in OBSERVED.toml, one parameter "
        "per figure at most (see docs/model.md), with common random numbers and bounded least squares. Prints "
        "each figure beside the fitted value and its 95 % interval, and the fitted parameters with their "
        "uncertainty; writes calibration.csv and calibration.json into --out; with --write, also "
        "NAME_calibrated.toml beside FILE (FILE itself is never changed).",
    )
    p.add_argument("file", metavar="FILE", help="the municipality's scenario file (e.g. one written by init)")
    p.add_argument(
        "--observed",
        required=True,
        metavar="OBSERVED.toml",
        help="the observed figures: any of notifications_per_1000_children_per_year, "
        "new_placements_per_1000_children_per_year, children_in_care_per_1000_children, time_in_care_years, "
        "institution_share_of_care_days, foster_share_of_care_days, caseload_cases_per_caseworker; each a number "
        'or {value = ..., sd = ..., source = "..."} (no sd: 5 %% of the value)',
    )
    p.add_argument(
        "--replications", type=int, default=4, metavar="N", help="replications at every evaluation (default 4)"
    )
    p.add_argument(
        "--years", type=float, default=None, metavar="Y", help="measured years (default: the file's run.years)"
    )
    p.add_argument(
        "--warmup-years",
        type=float,
        default=None,
        metavar="W",
        help="warm-up years before measuring (default: the file's run.warmup_years; 0 to 50)",
    )
    p.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the common random numbers (default 1)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="worker processes (default: one per core; 1 = in-process); the result does not depend on it",
    )
    p.add_argument(
        "--max-evaluations",
        type=int,
        default=30,
        metavar="E",
        help="evaluations of the search at most (default 30); the uncertainty takes two per parameter more, "
        "the fitted values' check one",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/calibrate-<name>-<timestamp>/)")
    p.add_argument(
        "--write",
        action="store_true",
        help="also write NAME_calibrated.toml beside FILE: based on FILE, with the fitted values, the initial "
        "stock they end in, and their 'calibrated:' notes (never overwritten)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    add_force_option(p)
    p.set_defaults(func=cmd_calibrate)


def check_calibrate_args(args) -> None:
    from sim.engine.workload import MAX_REPLICATIONS

    check_count(args.replications, "--replications", 1, MAX_REPLICATIONS)
    check_count(args.max_evaluations, "--max-evaluations", 1, MAX_EVALUATIONS)
    check_workers(args.workers)
    w = args.warmup_years
    if w is not None and not (math.isfinite(w) and 0 <= w <= MAX_WARMUP_YEARS):
        raise UsageError(f"--warmup-years: must be from 0 to {MAX_WARMUP_YEARS:g} years, got {w:g}")


def calibrated_path(file: Path) -> Path:
    """``NAME_calibrated.toml`` beside ``file``; refused for a shipped scenario or a name that
    cannot be a scenario's."""
    from sim.params import NAME_PATTERN, shipped_scenarios_dir

    if not file.is_file():
        raise UsageError(f"--write: FILE must be a scenario file (a shipped scenario is never written to), got {file}")
    if file.resolve().parent == shipped_scenarios_dir().resolve():
        raise UsageError(f"--write: {file} is a shipped scenario; make your own with welfare-sim init")
    name = file.stem + SUFFIX
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(f"--write: {name!r} cannot be a scenario's name (letters, digits, _ and -, at most 64)")
    return file.with_name(name + ".toml")


def cmd_calibrate(args) -> int:
    from sim.experiments.calibration import CalibrationError, calibrate, parameters_for
    from sim.params import load_scenario, resolve_scenario_path
    from sim.params.observed import calibrated_file_text, load_observed
    from sim.present.calibration import calibration_text
    from sim.storage.output import atomic_folder, atomic_write_csv, atomic_write_json, check_destination

    check_calibrate_args(args)
    observed = load_observed(args.observed)
    scenario = load_scenario(args.file)
    if scenario.transition is not None or scenario.districts:
        raise UsageError(
            f"{args.file}: calibrate fits one municipality without a transition or districts; calibrate the file it "
            "starts from"
        )
    file = resolve_scenario_path(args.file)
    target = calibrated_path(file) if args.write else None
    if target is not None and (target.exists() or target.is_symlink()):
        raise UsageError(f"{target}: exists; remove or rename it to calibrate again")
    out = Path(args.out) if args.out else Path("outputs") / f"calibrate-{scenario.name}-{timestamp()}"
    check_destination(out)
    freed = parameters_for(observed)
    evaluations = args.max_evaluations + 2 * len(freed) + 2
    warm = scenario if args.warmup_years is None else scenario.with_overrides(**{"run.warmup_years": args.warmup_years})
    check_work([warm], args.years, args.replications * evaluations, args.force)

    def progress(evaluation: int, cost: float, values: dict[str, float]) -> None:
        if not args.quiet:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
            print(f"evaluation {evaluation}: sum of squares {2 * cost:.3f} at {shown}", file=sys.stderr, flush=True)

    try:
        result = calibrate(
            scenario,
            observed,
            replications=args.replications,
            years=args.years,
            warmup_years=args.warmup_years,
            seed=args.seed,
            workers=args.workers,
            max_evaluations=args.max_evaluations,
            progress=progress,
        )
    except CalibrationError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    date = dt.date.today().isoformat()
    text = None
    if target is not None:
        name = target.stem
        text = calibrated_file_text(
            name,
            file.name,
            f"{name}: {scenario.name} with its children's parameters calibrated to its observed figures",
            [
                f"{name}: {file.name} with the parameters of its children and their needs fitted to the",
                f"municipality's observed figures ({Path(args.observed).name}) by welfare-sim calibrate on {date}:",
                f"{result.replications} replications of {result.years:g} years after {result.warmup_years:g} years "
                f"of warm-up, seed {result.seed}. Everything else is {file.name}'s.",
            ],
            result.written_values(date),
        )
    summary = {
        "scenario_file": str(file),
        "observed_file": str(args.observed),
        "command": "welfare-sim " + " ".join(getattr(args, "_argv", [])),
        "date": date,
        "replications": result.replications,
        "years": result.years,
        "warmup_years": result.warmup_years,
        "seed": result.seed,
        "evaluations": result.evaluations,
        "search_ended_by_itself": result.converged,
        "sum_of_squares_start": 2 * result.start_cost,
        "sum_of_squares_fitted": 2 * result.cost,
        "seconds": result.seconds,
        "figures": result.table().query("kind == 'figure'").dropna(axis=1, how="all").to_dict("records"),
        "parameters": result.table().query("kind == 'parameter'").dropna(axis=1, how="all").to_dict("records"),
        "covariance": result.covariance.tolist(),
        "written_values": {k: v for k, (v, _) in result.written_values(date).items()},
        "calibrated_file": str(target) if target is not None else None,
    }
    with atomic_folder(out) as tmp:
        atomic_write_csv(tmp / "calibration.csv", result.table())
        atomic_write_json(tmp / "calibration.json", summary)
    if target is not None and text is not None:
        _write_scenario(target, text)
    print(calibration_text(result))
    print()
    print(f"results written to {out}")
    if target is not None:
        print(
            f"wrote {target}: based on {file.name}, with the fitted values, the initial stock they end in, and "
            "their 'calibrated:' notes"
        )
        print(f"next: welfare-sim run {target}   (or welfare-sim compare {file} {target})")
    elif not args.write:
        print(f"to keep the fitted values: the same command with --write (writes {file.stem}{SUFFIX}.toml)")
    return 0


def _write_scenario(target: Path, text: str) -> None:
    """Write ``text`` beside its base under a temporary name, load it there (its ``base`` names
    the file beside it), and link it into place only if it loads and nothing is there yet."""
    from sim.params import ScenarioError, load_scenario

    tmp = target.with_name(f".{target.stem}.partial-{os.getpid()}.toml")
    try:
        tmp.write_text(text, encoding="utf-8")
        try:
            load_scenario(tmp)
        except ScenarioError as exc:  # a bug, not the user's input: say so in one line
            raise UsageError(f"{target}: the calibrated file would not load ({exc.message}); nothing written") from None
        try:
            try:
                os.link(tmp, target)  # fails if the target appeared meanwhile: never overwritten
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: exclusive creation instead
                with open(target, "x", encoding="utf-8") as f:
                    f.write(text)
        except FileExistsError:
            raise UsageError(f"{target}: exists; remove or rename it to calibrate again") from None
    finally:
        tmp.unlink(missing_ok=True)
