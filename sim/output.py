"""Writing results: every run folder appears whole or not at all.

A run is written into a hidden temporary folder beside its destination and renamed into
place at the end, so an interrupted run leaves nothing half-written behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sim.results import Result


class OutputError(ValueError):
    """The output folder cannot be used; ``str()`` is a one-line message."""


def check_destination(destination: Path) -> None:
    """Raise :class:`OutputError` unless ``destination`` can become a new results folder."""
    destination = Path(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise OutputError(f"{destination}: output folder exists and is not empty")
    for parent in destination.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{destination}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise OutputError(f"{destination}: cannot write in {parent}")
            break


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never half of it. Readable by all (0644)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(destination: Path):
    """Yield a temporary folder; on success it is renamed to ``destination``.

    ``destination`` must not exist, or be an empty folder. On any error the temporary
    folder is removed and ``destination`` is left as it was.
    """
    destination = Path(destination)
    check_destination(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=destination.parent))
    except OSError as exc:
        raise OutputError(f"{destination}: cannot create the output folder ({exc.strerror})") from None
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a results folder is not
        if destination.exists():
            destination.rmdir()
        os.replace(tmp, destination)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_result(result: Result, folder: Path, extra: dict | None = None) -> None:
    """Write one replication's tables (Parquet), summary (CSV and JSON), the resolved
    scenario and the run's facts into ``folder`` (which exists and is empty)."""
    for name, table in result.tables().items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    summary = result.summary
    summary.rename_axis("indicator").rename("value").to_frame().to_csv(folder / "summary.csv", float_format="%.17g")
    (folder / "summary.json").write_text(
        json.dumps({k: _jsonable(float(v)) for k, v in summary.items()}, indent=2) + "\n", encoding="utf-8"
    )
    if result.districts is not None:
        result.districts.to_csv(folder / "districts.csv", float_format="%.17g")
    (folder / "scenario.json").write_text(result.scenario.model_dump_json(indent=2) + "\n", encoding="utf-8")
    facts = {"scenario": result.scenario.name, "seed": result.seed, "measured_days": result.measured_days}
    facts.update(extra or {})
    (folder / "run.json").write_text(json.dumps(facts, indent=2, default=str) + "\n", encoding="utf-8")


def read_summary(folder: Path) -> pd.Series:
    """The summary of a written run."""
    # pandas 3 parses floats exactly by default; pandas 2 needs to be asked.
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(Path(folder) / "summary.csv", index_col="indicator", **exact)
    return frame["value"]
