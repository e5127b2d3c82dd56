"""Scale benchmark: the cost of a replication per child-year, from a small municipality to a large one.

Run:  python bench/bench_scale.py [--sizes 20000,100000,400000] [--years 10] [--practice danish|swedish]
                                  [--budget 60] [--shared-loop]

Each size is a municipality made as ``welfare-sim init`` makes it (the shipped scenario with
its children and the caseworkers and desk staff scaled with them), run (seed 1, the
scenario's warm-up plus ``--years``) in a fresh process of its own, so that its peak memory
is its own, after a short untimed run of 1,000 children that pays the process's one-time
costs. A size is run again, each time in a fresh process, until its runs have taken
``--budget`` CPU seconds or five runs (a small municipality's single run varies by a fifth
or more from one run to the next, which would move every ratio); the median run is shown.
Prints, per size: runs, CPU seconds of the simulation and its tables, SimPy events,
microseconds of CPU per child-year simulated, peak memory (MB) and memory per 1,000
children; then each size's cost per child-year against the first size's (1.00 = linear).

``--shared-loop`` adds a control: the largest size as that many children in municipalities
of the first size, all started on one event loop and run together (``Model(env=...)``). Each
does the work of a small municipality, so nothing in it grows with the population; only the
heap is the large size's. If it costs as much per child-year as the large municipality, the
growth is the price of a heap that no longer fits the processor's caches, not of the model.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.params import Scenario


def one(practice: str, children: int, years: float, towns: int = 1) -> dict:
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
    if towns == 1:
        events = simulate(scenario, seed=1, years=years).stats["simpy_events"]
    else:
        events = shared_loop(scenario, towns, years)
    cpu = time.process_time() - started
    child_years = children * towns * (years + scenario.run.warmup_years)
    return {
        "children": children * towns,
        "caseworkers": caseworkers * towns,
        "cpu_seconds": cpu,
        "events": events,
        "us_per_child_year": cpu / child_years * 1e6,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def shared_loop(scenario: Scenario, towns: int, years: float) -> int:
    """``towns`` copies of ``scenario`` (seeds 1, 2, ...) started on one event loop and run
    together, then each one's tables built as :func:`sim.simulate` builds them; the events."""
    from sim.engine.collect import build_result
    from sim.engine.kernel import Environment, collector_paused
    from sim.engine.model import Model, bucket_days, run_together

    env = Environment(bucket_days=bucket_days(scenario.municipality.children * towns))
    with collector_paused():  # as simulate: paused until the tables are built
        models = [Model(scenario, seed, years, env=env) for seed in range(1, towns + 1)]
        run_together(models)
        for model in models:
            build_result(model)
    return env.events_scheduled()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000,400000", help="children, comma-separated")
    parser.add_argument("--years", type=float, default=10.0, help="measured years (default 10)")
    parser.add_argument("--practice", choices=["danish", "swedish"], default="danish", help="the shipped scenario")
    parser.add_argument(
        "--shared-loop",
        action="store_true",
        help="also run the largest size as municipalities of the first size on one event loop (a control)",
    )
    parser.add_argument(
        "--budget", type=float, default=60.0, help="CPU seconds after which a size is not run again (default 60)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size and print JSON
    parser.add_argument("--towns", type=int, default=1, help=argparse.SUPPRESS)  # ... on one loop
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.practice, args.one, args.years, args.towns)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{args.practice} practice, {args.years:g} measured years + warm-up, seed 1, a fresh process per run")
    heading = ("children", 9), ("caseworkers", 11), ("runs", 4), ("cpu s", 8), ("events", 10), ("us/child-yr", 11)
    print(" ".join(f"{name:>{width}}" for name, width in heading), f"{'peak MB':>8}")
    runs = [(children, 1) for children in sizes]
    towns = round(max(sizes) / sizes[0])
    if args.shared_loop and towns > 1:
        runs.append((sizes[0], towns))
    rows = []
    for children, count in runs:
        command = [sys.executable, __file__, "--one", str(children), "--years", str(args.years), "--towns", str(count)]
        tries: list[dict] = []
        while not tries or (len(tries) < 5 and sum(t["cpu_seconds"] for t in tries) < args.budget):
            out = subprocess.run([*command, "--practice", args.practice], capture_output=True, text=True, check=True)
            tries.append(json.loads(out.stdout.strip().splitlines()[-1]))
        row = sorted(tries, key=lambda t: t["cpu_seconds"])[(len(tries) - 1) // 2]  # the median (lower of two)
        row["towns"] = count
        row["runs"] = len(tries)
        rows.append(row)
        label = f"{row['children']:>9,}" if count == 1 else f"{f'{count}x{children:,}':>9}"  # on one loop
        print(
            f"{label} {row['caseworkers']:>11,} {row['runs']:>4} {row['cpu_seconds']:>8.2f} {row['events']:>10,} "
            f"{row['us_per_child_year']:>11.2f} {row['peak_mb']:>8.0f}",
            flush=True,
        )
    first = rows[0]
    print()
    for row in rows[1:]:
        ratio = row["us_per_child_year"] / first["us_per_child_year"]
        if row["towns"] > 1:
            print(
                f"{row['towns']} municipalities of {first['children']:,} on one event loop (the work of "
                f"{first['children']:,} each, the heap of {row['children']:,}): {ratio:.2f}x the CPU per child-year"
            )
            continue
        more = row["children"] - first["children"]
        memory = (
            f"; {(row['peak_mb'] - first['peak_mb']) / more * 1000:.1f} MB more per 1,000 more children" if more else ""
        )
        against = f"{row['children']:,} children against {first['children']:,}"
        print(f"{against}: {ratio:.2f}x the CPU per child-year{memory}")


if __name__ == "__main__":
    main()
