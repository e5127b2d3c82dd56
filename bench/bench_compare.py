"""Benchmark of the main job: ``welfare-sim compare`` with its defaults.

Run:  python bench/bench_compare.py [--workers K] [--replications N] [--repeat R]

Times the whole command in a fresh process (start-up, the two shipped scenarios with the
default replications, every replication's tables written, the comparison), R times, and
prints the best and median wall-clock seconds with the machine's core count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--replications", default=None, help="replications (default: the command's default)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    args = parser.parse_args()

    command = [sys.executable, "-m", "sim", "compare", "--quiet"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.replications:
        command += ["--replications", args.replications]
    seconds = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            subprocess.run([*command, "--out", str(Path(tmp) / "batch")], check=True, stdout=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - started)
    print(f"cores: {os.cpu_count()}; command: {' '.join(command[1:])}")
    print(f"main job: best {min(seconds):.1f} s, median {statistics.median(seconds):.1f} s over {args.repeat} runs")


if __name__ == "__main__":
    main()
