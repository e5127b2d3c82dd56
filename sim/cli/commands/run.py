"""``welfare-sim run SCENARIO``: one replication; tables as Parquet, summary as CSV and JSON."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sim.cli.common import (
    add_force_option,
    add_run_options,
    add_scenario_argument,
    check_seed,
    check_work,
    check_years,
    timestamp,
)


def register(sub) -> None:
    p = sub.add_parser("run", help="run one replication and write its tables")
    add_scenario_argument(p, metavar=None)
    add_run_options(p)
    p.add_argument("--out", help="output folder (default: outputs/<scenario>-<timestamp>/)")
    add_force_option(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from sim import __version__, simulate
    from sim.constants import DAYS_PER_YEAR
    from sim.experiments.batch import _git_commit
    from sim.params import load_scenario
    from sim.present.text import summary_table
    from sim.storage.output import atomic_folder, check_destination, child_name, remove_stale_partials, write_result

    check_seed(args.seed)
    check_years(args.years)
    scenario = load_scenario(args.scenario)
    check_work([scenario], args.years, 1, args.force)
    out = Path(args.out) if args.out else Path("outputs") / child_name(f"{scenario.name}-{timestamp()}")
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
        f"seed {args.seed}, {result.measured_days / DAYS_PER_YEAR:g} measured years "
        f"after {scenario.run.warmup_years:g} warm-up years"
    )
    print()
    print(summary_table({scenario.name: result.summary}))
    print()
    print(f"results written to {out}")
    return 0
