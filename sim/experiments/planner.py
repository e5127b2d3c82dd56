"""Planning (issue 5): sweeps of a scenario parameter, and the search for the smallest
staffing that meets a set of targets.

A **sweep** runs one batch whose scenarios are the same scenario at every value of one
numeric parameter (a dotted path, ``staffing.caseworkers``). Replication ``r`` of every
value uses the seed ``[seed, r]`` (common random numbers), so the values meet the same
children with the same draws and the curves are far smoother than independent runs would
give. The sweep folder holds the batch's own files (``manifest.json``, ``comparison.csv``,
``replications.parquet``, ``scenarios/``; ``tables/`` only with ``write_tables=True``) and

    sweep.csv   parameter, value, scenario, indicator, n, mean, ci_low, ci_high: every
                indicator at every value, with its 95 % interval
    sweep.png   one panel per chosen indicator: the mean against the value with its 95 % band

The scenario of value ``v`` is named ``<scenario>-<leaf>-<v>`` (``small-caseworkers-6``,
``small-cost_dkk_per_year-0.25``): only letters, digits, ``.``, ``_`` and ``-``, so the name
is safe as the folder ``tables/scenario=<name>/`` and the file ``scenarios/<name>.json``.

The **staffing search** (:func:`find_staffing`) finds the smallest number of caseworkers at
which every target (``"followup_on_time_share>=0.9"``) is met *with the stated confidence*:
the confidence interval of the mean lies entirely on the right side of the threshold
(``>=``/``>``: its lower end; ``<=``/``<``: its upper end). It assumes that meeting the
targets is monotone in the number of caseworkers: from the scenario's own staffing it
doubles (or halves) until one level fails and another passes, then bisects on whole
numbers. Each level is a one-scenario batch of the same replications with the same seeds
as a sweep would use, so a level gives exactly the numbers it has in a sweep; a level is
never run twice. The search folder holds ``levels/caseworkers=<n>/`` (each level's batch),
``staff.csv`` (every level tried: indicator, n, mean, interval, targets met),
``staff.json`` (the answer, targets, levels in the order tried) and ``staff.png``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import operator
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.constants import CONFIDENCE
from sim.params import Scenario, ScenarioError
from sim.results.indicators import SUMMARY_NAMES, format_value
from sim.storage.output import atomic_write_csv, atomic_write_json, check_destination

if (
    typing.TYPE_CHECKING
):  # sim.experiments.batch and sim.results.stats (scipy) load when a sweep runs: the CLI starts fast
    from sim.experiments.batch import BatchResult, ScenarioEntry


DEFAULT_SWEEP_INDICATORS: tuple[str, ...] = (
    "mean_caseload_cases",
    "followup_on_time_share",
    "investigations_within_deadline_share",
    "cost_total_per_year",
)
"""The indicators a sweep plots and prints unless others are named."""

DEFAULT_REPLICATIONS = 5
STAFF_PARAM = "staffing.caseworkers"
STAFF_LOW = 1
STAFF_HIGH = 500
STAFF_MAX = 10_000  # the range of staffing.caseworkers
MAX_VALUES = 1000
CONTEXT_INDICATORS: tuple[str, ...] = ("mean_caseload_cases", "cost_staff_per_year", "cost_total_per_year")
"""Shown beside the targets' indicators in the staffing answer."""

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class PlannerError(ValueError):
    """A sweep or search cannot run as asked; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- values


def _number(text: str, what: str) -> int | float:
    text = text.strip()
    if not text:
        raise ValueError(f"{what}: empty")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: must be finite, got {text!r}")
    return value


def _clean(value: float) -> float:
    """Drop the binary noise of ``start + i * step`` (``0.30000000000000004`` -> ``0.3``)."""
    return float(f"{value:.12g}")


def parse_values(text: str) -> list[int | float]:
    """The values of a sweep, sorted ascending.

    ``"20:60:5"`` is a range ``start:stop:step`` whose ``stop`` is included when it lands on
    the grid (``"20:62:5"`` ends at 60; ``"20:60"`` steps by 1); ``"20,25,30"`` is a list;
    ``"20"`` a single value. Whole numbers stay ``int``; any decimal makes ``float``.
    Raises ``ValueError`` with a one-line message (step 0, empty, not a number, a step
    that never reaches ``stop``, repeated values, more than 1,000 values).
    """
    text = (text or "").strip()
    if not text:
        raise ValueError("no values given; write a range start:stop:step (20:60:5) or a list (20,25,30)")
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"a range is start:stop:step, got {text!r}")
        start = _number(parts[0], "range start")
        stop = _number(parts[1], "range stop")
        step = _number(parts[2], "range step") if len(parts) == 3 else 1
        if step == 0:
            raise ValueError(f"range step must not be 0, got {text!r}")
        if (stop - start) * step < 0:
            raise ValueError(f"range step {step} never gets from {start} to {stop}")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_VALUES:
            raise ValueError(f"range {text!r} has {count} values; at most {MAX_VALUES}")
        whole = all(isinstance(v, int) for v in (start, stop, step))
        values = [start + i * step if whole else _clean(start + i * step) for i in range(count)]
    else:
        values = [_number(part, "value") for part in text.split(",")]
        if len(values) > MAX_VALUES:
            raise ValueError(f"{len(values)} values; at most {MAX_VALUES}")
    seen: set[float] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"value {value} is given twice")
        seen.add(value)
    return sorted(values)


# ----------------------------------------------------------------------------- parameters


def _base_types(annotation) -> set:
    """The plain types an annotation allows (through ``Annotated`` and ``Optional``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: set = set()
        for arg in typing.get_args(annotation):
            found |= _base_types(arg)
        return found
    if origin is not None:
        return {origin}
    return {annotation}


def parameter_kind(scenario: Scenario, param: str) -> type:
    """``int`` or ``float``: the type of the numeric scenario parameter at the dotted path
    ``param``. Raises :class:`ScenarioError` for a path the scenario does not have and
    :class:`PlannerError` for a parameter that is not a number (a flag, a list, a text)."""
    model: type = Scenario
    parts = param.split(".")
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields or part == "source":
            where = ".".join(parts[:i])
            if isinstance(fields, dict):
                known = ", ".join(k for k in fields if k != "source")
                hint = f"; {where or 'a scenario'} has: {known}"
            else:
                hint = f"; {where} is a value, not a section"
            raise ScenarioError(scenario.name, param, f"unknown parameter{hint}")
        annotation = fields[part].annotation
        allowed = _base_types(annotation) - {type(None)}
        if i < len(parts) - 1:
            sections = [t for t in allowed if isinstance(t, type) and hasattr(t, "model_fields")]
            model = sections[0] if sections else annotation
            continue
        if any(isinstance(t, type) and hasattr(t, "model_fields") for t in allowed):
            raise PlannerError(f"{param}: a section, not a parameter; name one of its values ({param}.<name>)")
        if allowed == {int}:
            return int
        if allowed <= {int, float} and float in allowed:
            return float
        kind = "flag" if bool in allowed else "list" if list in allowed else "text" if str in allowed else "value"
        raise PlannerError(f"{param}: not a numeric parameter (a {kind})")
    raise PlannerError(f"{param}: not a parameter")  # pragma: no cover (an empty path has a part)


def parameter_label(param: str) -> str:
    """``param`` with the unit its field's description ends with: ``staffing.caseworkers
    (count)``, ``staffing.hours_per_week (hours per week)``."""
    model, info = Scenario, None
    for part in param.split("."):
        fields = getattr(model, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return param
        info = fields[part]
        sections = [t for t in _base_types(info.annotation) if isinstance(t, type) and hasattr(t, "model_fields")]
        model = sections[0] if sections else None
    match = re.search(r"\(([^()]*)\)\.?\s*$", (info.description or "") if info else "")
    if not match or any(mark in match.group(1) for mark in ("=", ";", "optional")):
        return param  # a remark in parentheses, not a unit
    return f"{param} ({match.group(1)})"


def value_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def safe_name(text: str) -> str:
    """``text`` with every character other than letters, digits, ``.``, ``_`` and ``-``
    replaced by ``_`` (names of scenarios become folder and file names)."""
    return _NAME_UNSAFE.sub("_", text).strip(".") or "scenario"


def sweep_name(entry_name: str, param: str, value: int | float) -> str:
    """The name of the scenario of one value: ``<scenario>-<leaf>-<value>``."""
    return safe_name(f"{entry_name}-{param.rsplit('.', 1)[-1]}-{value_text(value)}")


def sweep_entries(entry: ScenarioEntry, param: str, values: Sequence[int | float]) -> list[ScenarioEntry]:
    """One :class:`ScenarioEntry` per value: the scenario with ``param`` set to the value
    (validated), named by :func:`sweep_name`. An integer parameter gets ``int`` values (a
    decimal is an error); the entries keep the files of ``entry``."""
    if not values:
        raise PlannerError("no values to sweep")
    kind = parameter_kind(entry.scenario, param)
    entries = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PlannerError(f"{param}: not a finite number: {value!r}")
        if kind is int:
            if float(value) != int(value):
                raise PlannerError(f"{param}: a whole number, got {value:g}")
            value = int(value)
        scenario = entry.scenario.with_overrides(**{param: value})
        name = sweep_name(entry.name, param, value)
        scenario = scenario.model_copy(update={"name": name})
        entries.append(dataclasses.replace(entry, name=name, scenario=scenario))
    return entries


def _entry(entry: ScenarioEntry | str | Path) -> ScenarioEntry:
    from sim.experiments.batch import ScenarioEntry, scenario_entry

    return entry if isinstance(entry, ScenarioEntry) else scenario_entry(entry)


def check_indicators(indicators: Sequence[str] | None, default: Sequence[str] = DEFAULT_SWEEP_INDICATORS) -> list[str]:
    names = list(dict.fromkeys(indicators or default))
    for name in names:
        if name not in SUMMARY_NAMES:
            raise PlannerError(f"unknown indicator {name!r}; valid: {', '.join(SUMMARY_NAMES)}")
    return names


# ----------------------------------------------------------------------------- statistics


def indicator_stats(replications: pd.DataFrame, scenario: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per indicator of one scenario of a batch: n, mean and the confidence interval of the
    mean (t-based, as :func:`sim.results.stats.mean_ci`); indexed by indicator."""
    from sim.results.stats import mean_ci

    part = replications[replications["scenario"] == scenario]
    rows = []
    for indicator in [c for c in part.columns if c not in ("scenario", "replication", "seed")]:
        mean, low, high, n = mean_ci(part[indicator], confidence)
        rows.append({"indicator": indicator, "n": n, "mean": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows).set_index("indicator")


def _run_levels(
    entries: list[ScenarioEntry],
    replications: int,
    seed: int,
    years: float | None,
    workers: int | None,
    out: Path,
    write_tables: bool,
    progress: bool,
    command: list[str] | None,
    force: bool = False,
) -> BatchResult:
    """One batch over the entries with common random numbers (the sweep machinery)."""
    from sim.experiments.batch import BatchSpec, run_batch

    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise PlannerError(f"replications: must be a whole number >= 1, got {replications!r}")
    spec = BatchSpec(
        scenarios=entries,
        replications=replications,
        seed=seed,
        years=years,
        crn=True,
        write_tables=write_tables,
        force=force,
    )
    if workers is not None:
        spec.workers = workers
    return run_batch(spec, Path(out), progress=progress, command=command)


# ----------------------------------------------------------------------------- sweeps


@dataclass
class SweepResult:
    """A finished sweep: ``table`` has one row per value x indicator (every indicator),
    ``indicators`` are the chosen ones (plotted and printed)."""

    out: Path
    scenario: str
    param: str
    values: list[int | float]
    indicators: list[str]
    replications: int
    seed: int
    table: pd.DataFrame
    batch: BatchResult

    def indicator(self, name: str) -> pd.DataFrame:
        """One indicator's rows, by value: n, mean, ci_low, ci_high."""
        part = self.table[self.table["indicator"] == name]
        return part.set_index("value")[["n", "mean", "ci_low", "ci_high"]]


def sweep_table(batch: BatchResult, param: str, entries: list[ScenarioEntry], values: list, confidence=CONFIDENCE):
    """The long table of a sweep: parameter, value, scenario, indicator, n, mean, ci_low, ci_high."""
    rows = []
    for entry, value in zip(entries, values):
        stats = indicator_stats(batch.replications, entry.name, confidence)
        for indicator, row in stats.iterrows():
            rows.append(
                {
                    "parameter": param,
                    "value": value,
                    "scenario": entry.name,
                    "indicator": indicator,
                    "n": int(row["n"]),
                    "mean": row["mean"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                }
            )
    order = {name: i for i, name in enumerate(dict.fromkeys(r["indicator"] for r in rows))}
    frame = pd.DataFrame(rows)
    frame["_order"] = frame["indicator"].map(order)
    frame = frame.sort_values(["_order", "value"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)


def run_sweep(
    entry: ScenarioEntry | str | Path,
    param: str,
    values: Sequence[int | float],
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = 1,
    years: float | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    indicators: Sequence[str] | None = None,
    progress: bool = False,
    write_tables: bool = False,
    command: list[str] | None = None,
    force: bool = False,
) -> SweepResult:
    """Run ``entry`` at every value of ``param`` in one batch with common random numbers
    and write ``sweep.csv`` beside the batch's files in ``out`` (a new or empty folder; default
    ``outputs/sweep-<scenario>-<leaf>-<timestamp>``); the figure is the presentation's
    (:func:`sim.present.planner.write_sweep_figure`)."""
    entry = _entry(entry)
    names = check_indicators(indicators)
    values = sorted(values)
    entries = sweep_entries(entry, param, values)
    values = [_lookup(e.scenario.model_dump(), param) for e in entries]  # as validated: ints stay ints
    if out is None:
        out = Path("outputs") / f"sweep-{safe_name(entry.name)}-{param.rsplit('.', 1)[-1]}-{_timestamp()}"
    out = Path(out)
    from sim.storage.output import folder_lock, note_output

    check_destination(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    note_output(out, "files")
    with folder_lock(out):  # for the whole sweep: the batch, then its table and figure
        try:
            batch = _run_levels(
                entries, replications, seed, years, workers, out, write_tables, progress, command, force
            )
        except BaseException:
            if created and not (out / "manifest.json").exists():  # refused before the batch began: no folder
                import shutil

                shutil.rmtree(out, ignore_errors=True)
            raise
        table = sweep_table(batch, param, entries, values)
        atomic_write_csv(out / "sweep.csv", table)
    return SweepResult(out, entry.name, param, values, names, replications, seed, table, batch)


def _lookup(data: dict, param: str):
    for key in param.split("."):
        data = data[key]
    return data


def _timestamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


# ----------------------------------------------------------------------------- targets


_OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([^\s%]+)\s*(%?)\s*$")


@dataclass(frozen=True)
class Target:
    """A target on an indicator's mean, met with confidence when the whole confidence
    interval lies on the right side of the threshold."""

    indicator: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.indicator} {self.op} {self.threshold:g}"

    @property
    def upward(self) -> bool:
        """True for ``>=``/``>``: the target wants the indicator high."""
        return self.op in (">=", ">")

    def met(self, ci_low: float, ci_high: float) -> bool:
        """Whether the interval [ci_low, ci_high] lies on the target's side (NaN: not met)."""
        bound = ci_low if self.upward else ci_high
        if bound is None or math.isnan(bound):
            return False
        return bool(_OPERATORS[self.op](bound, self.threshold))


def parse_target(text: str) -> Target:
    """``"followup_on_time_share>=0.9"`` (operators ``>=``, ``<=``, ``>``, ``<``; spaces
    allowed; a share may also be written in per cent, ``>=90%``). Raises ``ValueError``
    with a one-line message for bad syntax or an unknown indicator (naming the valid ones)."""
    match = _TARGET.match(text or "")
    if not match:
        raise ValueError(
            f"target {text!r}: write INDICATOR OP NUMBER with OP one of >=, <=, >, < (e.g. followup_on_time_share>=0.9)"
        )
    indicator, op, number, percent = match.groups()
    if indicator not in SUMMARY_NAMES:
        raise ValueError(f"target {text!r}: unknown indicator {indicator!r}; valid: {', '.join(SUMMARY_NAMES)}")
    try:
        threshold = float(number)
    except ValueError:
        raise ValueError(f"target {text!r}: {number!r} is not a number") from None
    if not math.isfinite(threshold):
        raise ValueError(f"target {text!r}: the threshold must be finite")
    share = "_share" in indicator
    if percent:
        if not share:
            raise ValueError(f"target {text!r}: per cent only for shares; {indicator} is not a share")
        threshold /= 100.0
    elif share and threshold > 1:
        raise ValueError(f"target {text!r}: shares run from 0 to 1; write {threshold / 100:g} or {number}%")
    return Target(indicator, op, threshold)


# ----------------------------------------------------------------------------- staffing search


@dataclass
class LevelResult:
    """One staffing level: every indicator's n, mean and interval, and the targets met."""

    level: int
    stats: pd.DataFrame  # indexed by indicator: n, mean, ci_low, ci_high
    met: dict[str, bool]  # str(target) -> met
    out: Path

    @property
    def all_met(self) -> bool:
        return all(self.met.values())


@dataclass
class StaffResult:
    """The answer of :func:`find_staffing`.

    ``found`` is False when no level up to ``high`` meets every target; then ``answer`` is
    None and ``message`` says so. ``tried`` lists the levels in the order they were run
    (each once); ``levels`` holds their results. ``notes`` records levels that contradict
    the monotonicity the search assumes.
    """

    out: Path
    scenario: str
    targets: list[Target]
    replications: int
    seed: int
    confidence: float
    low: int
    high: int
    found: bool
    answer: int | None
    tried: list[int]
    levels: dict[int, LevelResult]
    message: str
    notes: list[str] = field(default_factory=list)

    @property
    def at_answer(self) -> LevelResult | None:
        return self.levels.get(self.answer) if self.answer is not None else None

    @property
    def below_answer(self) -> LevelResult | None:
        return self.levels.get(self.answer - 1) if self.answer is not None else None

    def table(self) -> pd.DataFrame:
        """Every level tried x indicator: n, mean, interval; and per target whether it is met."""
        rows = []
        for level in sorted(self.levels):
            result = self.levels[level]
            for indicator, row in result.stats.iterrows():
                rows.append(
                    {
                        "caseworkers": level,
                        "indicator": indicator,
                        "n": int(row["n"]),
                        "mean": row["mean"],
                        "ci_low": row["ci_low"],
                        "ci_high": row["ci_high"],
                        "target": "; ".join(str(t) for t in self.targets if t.indicator == indicator),
                        "target_met": (
                            all(result.met[str(t)] for t in self.targets if t.indicator == indicator)
                            if any(t.indicator == indicator for t in self.targets)
                            else None
                        ),
                        "all_targets_met": result.all_met,
                    }
                )
        return pd.DataFrame(rows)


def _check_staff_args(targets, replications, low, high, confidence) -> tuple[list[Target], int, int]:
    parsed = [t if isinstance(t, Target) else parse_target(t) for t in targets]
    if not parsed:
        raise PlannerError("name at least one target (INDICATOR>=NUMBER)")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 2:
        raise PlannerError(f"replications: must be >= 2 for a confidence interval, got {replications!r}")
    if not (0 < confidence < 1):
        raise PlannerError(f"confidence: must be between 0 and 1, got {confidence:g}")
    lo = STAFF_LOW if low is None else low
    hi = STAFF_HIGH if high is None else high
    if isinstance(lo, bool) or not isinstance(lo, int) or lo < 1:
        raise PlannerError(f"low: must be a whole number >= 1, got {lo!r}")
    if isinstance(hi, bool) or not isinstance(hi, int) or hi < lo:
        raise PlannerError(f"high: must be a whole number >= low ({lo}), got {hi!r}")
    return parsed, lo, hi


def find_staffing(
    entry: ScenarioEntry | str | Path,
    targets: Sequence[str | Target],
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = 1,
    years: float | None = None,
    workers: int | None = None,
    low: int | None = None,
    high: int | None = None,
    confidence: float = CONFIDENCE,
    out: str | Path | None = None,
    progress: bool = False,
    report=None,
    command: list[str] | None = None,
    force: bool = False,
) -> StaffResult:
    """The smallest number of caseworkers in ``[low, high]`` (default 1..500) at which every
    target is met with ``confidence``; see the module's docstring for the search.

    ``report(level, result)`` is called after each level is evaluated. The folder ``out``
    (new or empty; default ``outputs/staff-<scenario>-<timestamp>``) receives every level's
    batch and ``staff.csv`` and ``staff.json`` (the figure, ``staff.png``, is the
    presentation's: :func:`sim.present.planner.write_staff_figure`). When even ``high``
    fails, the result has ``found=False`` and a message; nothing is raised.
    """
    entry = _entry(entry)
    parsed, lo, hi = _check_staff_args(targets, replications, low, high, confidence)
    parameter_kind(entry.scenario, STAFF_PARAM)
    if out is None:
        out = Path("outputs") / f"staff-{safe_name(entry.name)}-{_timestamp()}"
    out = Path(out)
    check_destination(out)
    out.mkdir(parents=True, exist_ok=True)

    levels: dict[int, LevelResult] = {}
    tried: list[int] = []

    def evaluate(level: int) -> LevelResult:
        if level in levels:
            return levels[level]
        entries = sweep_entries(entry, STAFF_PARAM, [level])
        folder = out / "levels" / f"caseworkers={level}"
        batch = _run_levels(entries, replications, seed, years, workers, folder, False, progress, command, force)
        stats = indicator_stats(batch.replications, entries[0].name, confidence)
        met = {str(t): t.met(stats.loc[t.indicator, "ci_low"], stats.loc[t.indicator, "ci_high"]) for t in parsed}
        result = LevelResult(level, stats, met, folder)
        levels[level] = result
        tried.append(level)
        if report is not None:
            report(level, result)
        return result

    # A bracket: a failing level below a passing one, from the scenario's own staffing.
    start = min(max(entry.scenario.staffing.caseworkers, lo), hi)
    failing: int | None = None
    passing: int | None = None
    if evaluate(start).all_met:
        passing = start
        while passing > lo:
            candidate = max(lo, passing // 2)
            if evaluate(candidate).all_met:
                passing = candidate
            else:
                failing = candidate
                break
    else:
        failing = start
        while failing < hi:
            candidate = min(hi, failing * 2)
            if evaluate(candidate).all_met:
                passing = candidate
                break
            failing = candidate
    # Bisection on whole numbers.
    if passing is not None and failing is not None:
        while passing - failing > 1:
            middle = (passing + failing) // 2
            if evaluate(middle).all_met:
                passing = middle
            else:
                failing = middle

    notes: list[str] = []
    if passing is not None:
        if passing - 1 >= 1:
            evaluate(passing - 1)  # the indicators one below the answer
        answer = passing
        message = f"smallest staffing meeting every target: {caseworkers_text(answer)} (levels tried: {_levels(tried)})"
        if passing == lo and lo > 1:
            below = levels[passing - 1]
            verdict = "also meet" if below.all_met else "do not meet"
            if lo - 1 == 1:
                verdict = "also meets" if below.all_met else "does not meet"
            notes.append(f"the answer is the lower bound {lo}; {caseworkers_text(lo - 1)} {verdict} every target")
    else:
        answer = None
        missed = [str(t) for t in parsed if not levels[hi].met[str(t)]]
        message = (
            f"no staffing from {lo} to {hi} caseworkers meets every target with {confidence * 100:g} % confidence "
            f"(at {hi}: {', '.join(missed)} not met; levels tried: {_levels(tried)})"
        )
    for a in levels:
        for b in levels:
            if a < b and levels[a].all_met and not levels[b].all_met:
                notes.append(
                    f"not monotone: {caseworkers_text(a)} meet every target but {caseworkers_text(b)} do not; "
                    "the search assumed more caseworkers never hurt"
                )
    result = StaffResult(
        out=out,
        scenario=entry.name,
        targets=parsed,
        replications=replications,
        seed=seed,
        confidence=confidence,
        low=lo,
        high=hi,
        found=passing is not None,
        answer=answer,
        tried=tried,
        levels=levels,
        message=message,
        notes=notes,
    )
    _write_staff_folder(result, years)
    return result


def caseworkers_text(n: int) -> str:
    return f"{n} caseworker" if n == 1 else f"{n} caseworkers"


def _levels(levels: Sequence[int]) -> str:
    return ", ".join(str(n) for n in levels)


def _write_staff_folder(result: StaffResult, years: float | None) -> None:
    table = result.table()
    atomic_write_csv(result.out / "staff.csv", table)
    atomic_write_json(
        result.out / "staff.json",
        {
            "scenario": result.scenario,
            "parameter": STAFF_PARAM,
            "targets": [str(t) for t in result.targets],
            "confidence": result.confidence,
            "replications": result.replications,
            "seed": result.seed,
            "years": years,
            "low": result.low,
            "high": result.high,
            "found": result.found,
            "answer": result.answer,
            "levels_tried": result.tried,
            "message": result.message,
            "notes": result.notes,
        },
    )


def target_text(target: Target) -> str:
    """The target's operator and threshold in the indicator's display unit (``>= 90.0``)."""
    return f"{target.op} {format_value(target.indicator, target.threshold)}"
