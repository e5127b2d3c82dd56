"""Engine benchmark: seconds per replication, events per second, and raw SimPy's rate.

Run:  python bench/bench_engine.py [--years 10] [--repeat 3] [SCENARIO ...]

Prints, for each scenario, the best and median wall-clock seconds of one replication
(``--years`` measured years plus the scenario's warm-up; tables and summary included),
the best CPU seconds, the best seconds of the simulation alone, the SimPy events it scheduled,
and the model's events per second; and, measured in the same run, how many bare
``env.timeout`` events per second SimPy manages on this machine, so the figures can be
compared across machines.
"""

from __future__ import annotations

import argparse
import statistics
import time

import simpy

from sim import load_scenario, simulate


def raw_simpy_timeouts_per_second(n: int = 300_000) -> float:
    env = simpy.Environment()

    def ticker(env):
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(ticker(env))
    started = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["danish_baseline", "swedish_model", "danish_high_load"])
    parser.add_argument("--years", type=float, default=10.0, help="measured years per replication (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="replications timed per scenario (default 3)")
    args = parser.parse_args()

    raw = max(raw_simpy_timeouts_per_second() for _ in range(3))
    print(f"raw SimPy: {raw:,.0f} timeouts per second (best of 3)")
    header = ("scenario", "years", "best s", "median s", "cpu s", "sim s", "events", "events/s", "vs raw")
    widths = (-20, 5, 7, 8, 6, 6, 9, 10, 7)
    print(" ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(header, widths)))
    for name in args.scenarios:
        scenario = load_scenario(name)
        totals, sims, cpus, events = [], [], [], 0
        for rep in range(args.repeat):
            cpu = time.process_time()
            result = simulate(scenario, seed=rep + 1, years=args.years)
            cpus.append(time.process_time() - cpu)
            totals.append(result.stats["seconds_total"])
            sims.append(result.stats["seconds_simulation"])
            events = result.stats["simpy_events"]
        rate = events / min(sims)
        simulated = args.years + scenario.run.warmup_years
        print(
            f"{name:<20} {simulated:>5.0f} {min(totals):>7.2f} {statistics.median(totals):>8.2f} "
            f"{min(cpus):>6.2f} {min(sims):>6.2f} {events:>9,} {rate:>10,.0f} {rate / raw:>7.2f}"
        )


if __name__ == "__main__":
    main()
