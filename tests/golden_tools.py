"""Golden results: a digest of every table and the exact summary of short runs of the shipped
scenarios, committed under ``tests/golden/`` so that a change meant to leave results alone
(a speed-up, a move of files) can show that it did.

Write them again, after a change that is *meant* to change results, with::

    python tests/golden_tools.py --write

and say in the commit why they changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SEED = 1
YEARS = 2.0
"""Measured years of each golden run (the scenario's warm-up comes on top)."""
SCENARIOS = (
    "danish_baseline",
    "swedish_model",
    "danish_high_load",
    "herning_before",
    "herning_pilot",
    "transition_to_swedish",
)


def column_digest(values: pd.Series) -> str:
    """sha256 of one column's values: the bytes of numbers, the text of anything else
    (so that a change of pandas' string dtype does not change the digest)."""
    h = hashlib.sha256()
    if pd.api.types.is_bool_dtype(values.dtype):
        h.update(np.asarray(values, dtype=np.int8).tobytes())
    elif pd.api.types.is_integer_dtype(values.dtype):
        h.update(np.asarray(values, dtype=np.int64).tobytes())
    elif pd.api.types.is_float_dtype(values.dtype):
        h.update(np.asarray(values, dtype=np.float64).tobytes())
    else:
        h.update("\x1f".join("<NA>" if v is None or v is pd.NA else str(v) for v in values.tolist()).encode())
    return h.hexdigest()


def result_digest(result) -> dict:
    """The summary, exactly, and per table its rows, columns and one digest of its values."""
    summary = {}
    for key, value in result.summary.items():
        if isinstance(value, (np.floating, float)):
            value = float(value)
            summary[str(key)] = "nan" if math.isnan(value) else value
        elif isinstance(value, (np.integer, int)):
            summary[str(key)] = int(value)
        else:
            summary[str(key)] = str(value)
    tables = {}
    for name, frame in result.tables().items():
        h = hashlib.sha256()
        for column in frame.columns:
            h.update(f"{column}:{column_digest(frame[column])};".encode())
        tables[name] = {"rows": len(frame), "columns": [str(c) for c in frame.columns], "sha256": h.hexdigest()}
    return {"summary": summary, "tables": tables}


def run(name: str) -> dict:
    from sim import load_scenario, simulate

    return result_digest(simulate(load_scenario(name), seed=SEED, years=YEARS))


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


SUMMARY_RELATIVE_TOLERANCE = 1e-12
"""The tables must match to the bit: they are the simulation's own records. An indicator of the
summary, computed from them with numpy, may differ in its last bits on another processor (numpy
picks vectorised code by what the processor offers); a real change moves it far more."""


def _same(old: object, new: object) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return math.isclose(old, new, rel_tol=SUMMARY_RELATIVE_TOLERANCE, abs_tol=0.0)
    return old == new


def differences(expected: dict, actual: dict) -> list[str]:
    """What differs between two digests, one line each (empty when they are the same)."""
    lines = []
    for key in sorted(set(expected["summary"]) | set(actual["summary"])):
        old, new = expected["summary"].get(key, "<missing>"), actual["summary"].get(key, "<missing>")
        if not _same(old, new):
            lines.append(f"summary {key}: {old!r} -> {new!r}")
    for table in sorted(set(expected["tables"]) | set(actual["tables"])):
        old, new = expected["tables"].get(table), actual["tables"].get(table)
        if old != new:
            what = "missing" if old is None or new is None else f"rows {old['rows']} -> {new['rows']}"
            lines.append(f"table {table}: {what}")
    return lines


def write_all() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in SCENARIOS:
        text = json.dumps(run(name), indent=1, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=GOLDEN_DIR, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, golden_path(name))
        print(f"wrote {golden_path(name)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the golden results under tests/golden/.")
    parser.add_argument("--write", action="store_true", help="write them again from the current code")
    args = parser.parse_args(argv)
    if args.write:
        write_all()
        return 0
    failed = 0
    for name in SCENARIOS:
        lines = differences(json.loads(golden_path(name).read_text()), run(name))
        print(f"{name}: {'same' if not lines else 'DIFFERENT'}")
        for line in lines[:20]:
            print(f"  {line}")
        failed += bool(lines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
