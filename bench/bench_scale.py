"""Scale benchmark: the cost of a replication per child-year, from a small municipality to a large one.

Run:  python bench/bench_scale.py [--sizes 20000,100000,400000] [--years 10] [--practice danish|swedish]

Each size is a municipality made as ``welfare-sim init`` makes it (the shipped scenario with
its children and the caseworkers and desk staff scaled with them), run once (seed 1, the
scenario's warm-up plus ``--years``) in a fresh process of its own, so that its peak memory
is its own, after a short untimed run of 1,000 children that pays the process's one-time
costs. Prints, per size: CPU seconds of the simulation and its tables, SimPy events,
microseconds of CPU per child-year simulated, peak memory (MB) and memory per 1,000
children; then each size's cost per child-year against the first size's (1.00 = linear).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(practice: str, children: int, years: float) -> dict:
    from sim import load_scenario, simulate
    from sim.params.municipality import PRACTICES, Municipality, municipality_scenario, scaled

    base = load_scenario(PRACTICES[practice])
    caseworkers = scaled(base.staffing.caseworkers, base.municipality.children, children, least=1)
    scenario = municipality_scenario(Municipality(f"scale_{children}", children, caseworkers, None, practice))
    # A short run of a small municipality first, not timed: the first run in a process pays
    # one-time costs (lazy imports, the first use of pandas and pyarrow), about 0.4 s, which
    # would weigh on the smallest size alone and flatter the ratio.
    warm = scaled(base.staffing.caseworkers, base.municipality.children, 1000, least=1)
    simulate(municipality_scenario(Municipality("warm_up", 1000, warm, None, practice)), seed=2, years=0.2)
    started = time.process_time()
    result = simulate(scenario, seed=1, years=years)
    cpu = time.process_time() - started
    child_years = children * (years + scenario.run.warmup_years)
    return {
        "children": children,
        "caseworkers": caseworkers,
        "cpu_seconds": cpu,
        "events": result.stats["simpy_events"],
        "us_per_child_year": cpu / child_years * 1e6,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000,400000", help="children, comma-separated")
    parser.add_argument("--years", type=float, default=10.0, help="measured years (default 10)")
    parser.add_argument("--practice", choices=["danish", "swedish"], default="danish", help="the shipped scenario")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size and print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.practice, args.one, args.years)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{args.practice} practice, {args.years:g} measured years + warm-up, seed 1, one process per size")
    print(f"{'children':>9} {'caseworkers':>11} {'cpu s':>8} {'events':>10} {'us/child-yr':>11} {'peak MB':>8}")
    rows = []
    for children in sizes:
        command = [sys.executable, __file__, "--one", str(children), "--years", str(args.years)]
        out = subprocess.run([*command, "--practice", args.practice], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{row['children']:>9,} {row['caseworkers']:>11,} {row['cpu_seconds']:>8.2f} {row['events']:>10,} "
            f"{row['us_per_child_year']:>11.2f} {row['peak_mb']:>8.0f}",
            flush=True,
        )
    first = rows[0]
    print()
    for row in rows[1:]:
        ratio = row["us_per_child_year"] / first["us_per_child_year"]
        more = row["children"] - first["children"]
        memory = (
            f"; {(row['peak_mb'] - first['peak_mb']) / more * 1000:.1f} MB more per 1,000 more children" if more else ""
        )
        against = f"{row['children']:,} children against {first['children']:,}"
        print(f"{against}: {ratio:.2f}x the CPU per child-year{memory}")


if __name__ == "__main__":
    main()
