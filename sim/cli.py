"""The command line: ``welfare-sim`` (or ``python -m sim``).

Commands:
  run SCENARIO       one replication; tables as Parquet, summary as CSV and JSON
  compare [A B ...]  scenarios side by side (default: the Danish baseline and the Swedish model)
  validate FILE ...  check scenario files without running them
  scenarios          list the shipped scenarios

Bad input ends with one line on standard error naming the file and the field, and exit
status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from pathlib import Path

import pandas as pd

from sim import __version__
from sim.scenario import ScenarioError, load_scenario, shipped_scenarios_dir

DEFAULT_COMPARISON = ("danish_baseline", "swedish_model")
EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """A bad command-line value; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- formatting


def unit_of(indicator: str) -> str:
    """The unit an indicator's name implies (shares are shown in per cent)."""
    if "_share" in indicator:
        return "%"
    if indicator.startswith("cost_"):
        return "M DKK/yr"
    if "_days" in indicator:
        return "days"
    if indicator.endswith("_per_1000_children_per_year"):
        return "per 1,000/yr"
    if indicator.endswith("_per_1000"):
        return "per 1,000"
    if indicator.endswith("_per_year"):
        return "per year"
    if "caseload_points" in indicator:
        return "points"
    if "caseload" in indicator:
        return "cases"
    if indicator.startswith("children_") or indicator.startswith("waiting_list"):
        return "children" if indicator.startswith("children_") else "cases"
    return ""


def format_value(indicator: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    unit = unit_of(indicator)
    if unit == "%":
        return f"{100 * value:.1f}"
    if unit == "M DKK/yr":
        return f"{value / 1e6:.1f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def summary_table(summaries: dict[str, pd.Series], difference: bool = False) -> str:
    """Indicators as rows, scenarios as columns, with units; optionally the difference of
    the last scenario to the first."""
    frame = pd.DataFrame(summaries)
    names = list(frame.columns)
    header = ["indicator", "unit", *names] + (["difference"] if difference and len(names) > 1 else [])
    rows = []
    for indicator, values in frame.iterrows():
        cells = [indicator, unit_of(indicator)] + [format_value(indicator, values[n]) for n in names]
        if len(header) > len(cells):
            diff = values[names[-1]] - values[names[0]]
            cells.append(("+" if diff > 0 else "") + format_value(indicator, diff))
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        lines.append(
            "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        )
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- commands


def _timestamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _check_run_args(args) -> None:
    if args.seed < 0:
        raise UsageError(f"--seed: must be >= 0, got {args.seed}")
    if args.years is not None and not (math.isfinite(args.years) and args.years > 0):
        raise UsageError(f"--years: must be a finite number > 0, got {args.years:g}")


def cmd_run(args) -> int:
    from sim import simulate
    from sim.output import atomic_folder, check_destination, write_result

    _check_run_args(args)
    scenario = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("outputs") / f"{scenario.name}-{_timestamp()}"
    check_destination(out)  # before the run, not after it
    started = time.time()
    result = simulate(scenario, seed=args.seed, years=args.years)
    with atomic_folder(out) as tmp:
        write_result(
            result,
            tmp,
            {
                "package_version": __version__,
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
    print(summary_table({scenario.name: result.summary}))
    print()
    print(f"results written to {out}")
    return 0


def cmd_compare(args) -> int:
    from sim import simulate

    _check_run_args(args)
    names = args.scenarios or list(DEFAULT_COMPARISON)
    scenarios = [load_scenario(n) for n in names]
    summaries = {}
    for scenario in scenarios:
        if not args.quiet:
            print(f"running {scenario.name} ...", file=sys.stderr)
        result = simulate(scenario, seed=args.seed, years=args.years)
        summaries[scenario.name] = result.summary
    print(f"one replication each, seed {args.seed}; difference = {scenarios[-1].name} - {scenarios[0].name}")
    print()
    print(summary_table(summaries, difference=True))
    return 0


def cmd_validate(args) -> int:
    for path in args.scenarios:
        scenario = load_scenario(path)
        print(f"{path}: ok ({scenario.name}: {scenario.title})")
    return 0


def cmd_scenarios(args) -> int:
    folder = shipped_scenarios_dir()
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(path)
        print(f"{path.stem:<22} {scenario.title}")
    print(f"\n(in {folder})")
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="welfare-sim",
        description="Discrete-event simulation of a municipal child-welfare system: "
        "the Danish practice against the Swedish model.",
    )
    parser.add_argument("--version", action="version", version=f"welfare-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def run_options(p):
        p.add_argument("--seed", type=int, default=1, help="random seed (default 1); same seed, same results")
        p.add_argument("--years", type=float, default=None, help="measured years (default: the scenario's run.years)")

    p = sub.add_parser("run", help="run one replication and write its tables", description=cmd_run.__doc__)
    p.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    run_options(p)
    p.add_argument("--out", help="output folder (default: outputs/<scenario>-<timestamp>/)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run scenarios and print their indicators side by side")
    p.add_argument("scenarios", nargs="*", help="scenario files or names (default: danish_baseline swedish_model)")
    run_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", help="scenario files or names")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sim.output import OutputError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, UsageError, OutputError) as exc:
        print(f"welfare-sim: {exc}" if isinstance(exc, UsageError) else str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("welfare-sim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
