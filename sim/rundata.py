"""Reading saved results back: a ``run`` folder (one replication) or a batch folder
(``compare``/``batch``), so that every figure and report can be made again without
running the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


class RunDataError(ValueError):
    """The folder is not a results folder; ``str()`` is a one-line message."""


@dataclass
class RunData:
    """The results in one folder, by scenario, in the order the scenarios were given.

    ``table(name)`` gives ``{scenario: DataFrame}``; every DataFrame has a ``replication``
    column (0 for a single run). ``replications`` (one row per scenario x replication,
    every summary indicator) and ``comparison`` (means, intervals, paired differences) are
    there for batches; a single run has a one-row ``replications`` and no ``comparison``.
    """

    folder: Path
    kind: str  # "run" or "batch"
    scenarios: list[str]
    parameters: dict[str, dict]
    replications: pd.DataFrame
    comparison: pd.DataFrame | None
    manifest: dict
    _cache: dict = field(default_factory=dict, repr=False)

    def table(self, name: str) -> dict[str, pd.DataFrame]:
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        if self.kind == "run":
            path = self.folder / f"{name}.parquet"
            if not path.exists():
                raise RunDataError(f"{self.folder}: no {name} table")
            frame = pd.read_parquet(path)
            frame.insert(0, "replication", 0)
            out[self.scenarios[0]] = frame
            return out
        for scenario in self.scenarios:
            frames = []
            folders = sorted(
                (self.folder / "tables" / f"scenario={scenario}").glob("replication=*"),
                key=lambda p: int(p.name.split("=", 1)[1]),
            )
            for folder in folders:
                path = folder / f"{name}.parquet"
                if path.exists():
                    frame = pd.read_parquet(path)
                    frame.insert(0, "replication", int(folder.name.split("=", 1)[1]))
                    frames.append(frame)
            if not frames:
                raise RunDataError(f"{self.folder}: no {name} table for scenario {scenario!r} (run with tables)")
            out[scenario] = pd.concat(frames, ignore_index=True)
        return out

    @property
    def measured_days(self) -> float:
        if self.kind == "run":
            return float(self.manifest["measured_days"])
        years = self.manifest.get("years")
        if years is None:
            known = [p["run"]["years"] for p in self.parameters.values() if "run" in p]
            if not known:
                raise RunDataError(f"{self.folder}: the measured years are not recorded (an older batch)")
            years = known[0]
        return float(years) * 365.25


def load_run(folder: str | Path) -> RunData:
    """Open a results folder written by ``welfare-sim run``, ``compare`` or ``batch``."""
    folder = Path(folder)
    if (folder / "manifest.json").exists():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        scenarios = [s["name"] for s in manifest["scenarios"]]
        parameters = {}
        for name in scenarios:
            path = folder / "scenarios" / f"{name}.json"
            parameters[name] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not (folder / "replications.parquet").exists():
            raise RunDataError(
                f"{folder}: the batch has not finished (no replications.parquet); finish it with --resume"
            )
        replications = pd.read_parquet(folder / "replications.parquet")
        comparison = pd.read_csv(folder / "comparison.csv")
        return RunData(folder, "batch", scenarios, parameters, replications, comparison, manifest)
    if (folder / "run.json").exists() and (folder / "summary.json").exists():
        facts = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        parameters = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
        name = facts["scenario"]
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        row = {
            "scenario": name,
            "replication": 0,
            **{k: (float("nan") if v is None else v) for k, v in summary.items()},
        }
        return RunData(folder, "run", [name], {name: parameters}, pd.DataFrame([row]), None, facts)
    raise RunDataError(f"{folder}: not a results folder (no manifest.json or run.json)")
