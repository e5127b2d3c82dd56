"""Reading saved results back: a ``run`` folder (one replication) or a batch folder
(``compare``/``batch``), so that every figure and report can be made again without
running the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.constants import DAYS_PER_YEAR

MAX_JSON_BYTES = 100_000_000
"""The largest JSON file of a results folder read back (a manifest of many replications)."""


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
            frame = _parquet(path)
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
                    frame = _parquet(path)
                    frame.insert(0, "replication", int(folder.name.split("=", 1)[1]))
                    frames.append(frame)
            if not frames:
                raise RunDataError(f"{self.folder}: no {name} table for scenario {scenario!r} (run with tables)")
            out[scenario] = pd.concat(frames, ignore_index=True)
        return out

    @property
    def measured_days(self) -> float:
        if self.kind == "run":
            try:
                return float(self.manifest["measured_days"])
            except (KeyError, TypeError, ValueError):
                raise RunDataError(f"{self.folder}: run.json does not record the measured days") from None
        years = self.manifest.get("years")
        if years is None:
            known = [p["run"]["years"] for p in self.parameters.values() if "run" in p]
            if not known:
                raise RunDataError(f"{self.folder}: the measured years are not recorded (an older batch)")
            years = known[0]
        return float(years) * DAYS_PER_YEAR


def _parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (ValueError, OSError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise RunDataError(f"{path}: corrupt table ({' '.join(str(exc).split())[:100]})") from None


def _json(path: Path, what: str):
    """A JSON file of a results folder; a :class:`RunDataError` if it is not one."""
    from sim.params import ScenarioError, read_limited

    try:
        return json.loads(read_limited(path, what, limit=MAX_JSON_BYTES))
    except ScenarioError as exc:
        raise RunDataError(f"{path}: {exc.message}") from None
    except json.JSONDecodeError as exc:
        raise RunDataError(f"{path}: corrupt ({exc.msg} at line {exc.lineno}); not a {what}") from None


def _name(value, path: Path, folder_name: bool = True) -> str:
    """A scenario name read from a results folder; in a batch folder it names folders and
    files, so it must be one file name (nothing that leaves its folder)."""
    from sim.storage.output import OutputError, child_name

    if not isinstance(value, str) or not value:
        raise RunDataError(f"{path}: corrupt (a scenario name that is not one: {str(value)[:60]!r})")
    if folder_name:
        try:
            child_name(f"scenario={value}")
            child_name(f"{value}.json")
        except OutputError:
            raise RunDataError(f"{path}: corrupt (a scenario name that leaves its folder: {value[:60]!r})") from None
    return value


def load_run(folder: str | Path) -> RunData:
    """Open a results folder written by ``welfare-sim run``, ``compare`` or ``batch``.

    A folder that is not one, or whose files are corrupt or lack what they should hold,
    gives a one-line :class:`RunDataError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunDataError(f"{folder}: not a results folder (no such folder)")
    try:
        return _load_run(folder)
    except RunDataError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise RunDataError(f"{folder}: corrupt results folder (a file lacks {exc!s:.60})") from None
    except (ValueError, OSError) as exc:  # pyarrow's and pandas' errors on a damaged table
        reason = " ".join(str(exc).split())[:120]
        raise RunDataError(f"{folder}: corrupt results folder ({type(exc).__name__}: {reason})") from None


def _load_run(folder: Path) -> RunData:
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = _json(manifest_path, "batch manifest")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("scenarios"), list):
            raise RunDataError(f"{manifest_path}: corrupt (no list of scenarios); not a batch manifest")
        scenarios = [_name(s["name"], manifest_path) for s in manifest["scenarios"]]
        parameters = {}
        for name in scenarios:
            path = folder / "scenarios" / f"{name}.json"
            parameters[name] = _json(path, "scenario") if path.exists() else {}
        if not (folder / "replications.parquet").exists():
            raise RunDataError(
                f"{folder}: the batch has not finished (no replications.parquet); finish it with --resume"
            )
        replications = pd.read_parquet(folder / "replications.parquet")
        comparison = pd.read_csv(folder / "comparison.csv")
        return RunData(folder, "batch", scenarios, parameters, replications, comparison, manifest)
    if (folder / "run.json").exists() and (folder / "summary.json").exists():
        facts = _json(folder / "run.json", "run description")
        if not isinstance(facts, dict):
            raise RunDataError(f"{folder / 'run.json'}: corrupt (not a table of facts)")
        parameters = _json(folder / "scenario.json", "scenario")
        name = _name(facts["scenario"], folder / "run.json", folder_name=False)
        summary = _json(folder / "summary.json", "summary")
        if not isinstance(summary, dict):
            raise RunDataError(f"{folder / 'summary.json'}: corrupt (not a table of indicators)")
        row = {
            "scenario": name,
            "replication": 0,
            **{k: (float("nan") if v is None else v) for k, v in summary.items()},
        }
        return RunData(folder, "run", [name], {name: parameters}, pd.DataFrame([row]), None, facts)
    raise RunDataError(f"{folder}: not a results folder (no manifest.json or run.json)")
