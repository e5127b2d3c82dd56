"""bench/bench_scale.py runs as its docstring says, with its control (a smoke test: the timings
themselves are the benchmark's to print, not a test's to assert)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_scale.py"


def test_the_scale_benchmark_prints_each_size_and_the_shared_loop_control():
    command = [sys.executable, str(BENCH), "--sizes", "1000,2000", "--years", "0.2", "--shared-loop", "--budget", "0"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300).stdout
    table = [line.split() for line in out.splitlines()[2:] if len(line.split()) == 7]
    rows = {row[0]: row for row in table}
    assert set(rows) == {"1,000", "2,000", "2x1,000"}
    # The control is two municipalities of 1,000 with their own staff, each run once.
    assert rows["2x1,000"][1] == str(2 * int(rows["1,000"][1]))
    assert rows["2x1,000"][2] == "1"
    assert "2,000 children against 1,000:" in out
    assert "2 municipalities of 1,000 on one event loop" in out
