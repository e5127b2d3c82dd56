"""Global sensitivity (issue 6): Morris elementary effects of the main indicators to the
uncertain parameters, ranked.

``welfare-sim sensitivity`` (and the section "Global sensitivity (Morris)" of
``docs/VALIDATION.md``) screens the parameters whose value the scenario files mark as our
own (``assumption: ...``) or tuned (``calibrated: ...``) with the method of Morris (SALib).

**Parameters.** :data:`PARAMETERS` is a curated list of sixteen such parameters, the ones
that plausibly matter: need dynamics, persistence, relapse and its support, the availability
of kinship care, task and standing hours, the Swedish practice's own hours (matching), its
schedules and its institution plan as a municipality keeps them, and the unit costs that are
assumptions. Each is a *factor* on the scenario's own value, drawn from a stated range
(``0.7`` to ``1.3``: ±30 %); a value is clipped to the field's bounds (a probability to 1).
A parameter may name several fields (every step's follow-up hours, the improvement rates of
steps 1-4: a list field is perturbed element by element): one factor multiplies them all. A
factor applies to every scenario whose note for the field starts with ``assumption:`` or
``calibrated:``, and to the scenarios a parameter names in ``sourced_in`` whatever the note
(the Swedish schedules and institution plan come from the sources, but how closely a
municipality keeps them is uncertain); elsewhere a value taken from a source stays.
:func:`check_parameters` refuses a parameter that applies nowhere.

**Design.** ``r`` Morris trajectories (SALib ``morris.sample``, 4 levels, seeded) of
``k + 1`` points each: ``r (k + 1)`` points, each run for the Danish baseline and for the
Swedish model. Every point of trajectory ``t``, in both scenarios, uses the random streams
of ``SeedSequence([seed, t])`` (the seeds of replication ``t`` of a batch): an elementary
effect compares two runs that meet the same children with the same draws (common random
numbers), so a parameter that cannot move an indicator has an effect of exactly 0, and the
Swedish saving (baseline minus Swedish total cost) is a paired difference. The trajectories
differ in their seeds, so the screening averages over random streams as well as over the
parameter space.

**Statistics.** SALib ``morris.analyze`` per indicator: ``mu_star`` (the mean absolute
elementary effect), ``mu`` (the mean, signed), ``sigma`` (their standard deviation:
non-linearity and interactions) and ``mu_star_conf`` (the half-width of the 95 % bootstrap
interval of ``mu_star``, 1,000 resamples, seeded). An elementary effect is the change of
the indicator divided by the step on the unit scale (2/3 of the range with 4 levels), so
``mu_star`` is in the indicator's own units *per whole range of the parameter*: the
parameters' effects are comparable within an indicator.

The results depend only on the seed, the trajectories, the years and the parameters, never
on the number of workers. A results folder holds ``sensitivity.csv`` (the ranked table),
``points.csv`` (every point's factors and indicators), ``sensitivity.png`` (the ranking)
and ``sensitivity.json`` (the design).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.constants import CONFIDENCE

BASELINE, SWEDISH = "danish_baseline", "swedish_model"
UNCERTAIN_NOTES = ("assumption:", "calibrated:")
LEVELS = 4
RESAMPLES = 1000
DEFAULT_TRAJECTORIES = 10
TOP = 5
"""Parameters per indicator in the text output and the validation document."""


class SensitivityError(ValueError):
    """The analysis cannot run as asked; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Uncertain:
    """An uncertain parameter: a factor between ``low`` and ``high`` on the value of every
    field in ``fields`` (dotted paths; ``path[i]`` is element ``i`` of a list field)."""

    name: str
    fields: tuple[str, ...]
    low: float
    high: float
    why: str
    sourced_in: tuple[str, ...] = ()
    """Scenarios in which the factor applies even where a source gives the value: the practice
    as a municipality keeps it, not as it is written (the Swedish schedules and aims)."""


def _steps(template: str, steps: Sequence[str] = ("early_support", "home_support", "kinship", "foster", "institution")):
    return tuple(template.format(step) for step in steps)


PARAMETERS: tuple[Uncertain, ...] = (
    Uncertain(
        "need.worsen_rate_per_year_unmet",
        ("need.worsen_rate_per_year_unmet",),
        0.7,
        1.3,
        "±30 %: how fast an unmet need rises is a guess",
    ),
    Uncertain(
        "need.improve_rate_per_year_when_met[1-4]",
        tuple(f"need.improve_rate_per_year_when_met[{i}]" for i in range(4)),
        0.7,
        1.3,
        "±30 % on steps 1-4 together (steps 3-4 calibrated on the Danish figures); step 5 stays within the "
        "seed's 'within about 6 months'",
    ),
    Uncertain(
        "children.persistent_need_share",
        ("children.persistent_need_share",),
        0.7,
        1.3,
        "±30 %: calibrated on the Danish turnover of children in care",
    ),
    Uncertain(
        "need.relapse_rate_per_year_after_step_down",
        ("need.relapse_rate_per_year_after_step_down",),
        0.5,
        1.5,
        "±50 %: the risk after a step down is the least known of the dynamics",
    ),
    Uncertain(
        "need.unsupported_relapse_factor",
        ("need.unsupported_relapse_factor",),
        0.5,
        1.5,
        "×0.5-1.5 of 2 (clipped at 1): how much a move down without its early follow-up raises the relapse risk",
    ),
    Uncertain(
        "need.acute_probability_when_unmet",
        ("need.acute_probability_when_unmet",),
        0.5,
        1.5,
        "±50 %: how often school, police or the placement report a rise at once",
    ),
    Uncertain(
        "children.kinship_available_probability",
        ("children.kinship_available_probability",),
        0.6,
        1.4,
        "±40 %: how often a network search finds a placement",
    ),
    Uncertain(
        "hours.investigation_hours",
        ("hours.investigation_hours",),
        0.7,
        1.3,
        "±30 %: hours of a child-welfare investigation",
    ),
    Uncertain(
        "ladder.*.followup_hours",
        _steps("ladder.{}.followup_hours"),
        0.7,
        1.3,
        "±30 % on every step together: hours of a follow-up visit (the Swedish practice's contact)",
    ),
    Uncertain(
        "ladder.*.standing_hours_per_week",
        _steps("ladder.{}.standing_hours_per_week"),
        0.7,
        1.3,
        "±30 % on every step together: the weekly hours an open case costs before any visit",
    ),
    Uncertain(
        "hours.step_down_plan_hours",
        ("hours.step_down_plan_hours",),
        0.5,
        1.5,
        "±50 %: hours of the plan of a move down",
    ),
    Uncertain(
        "practice.matching_hours",
        ("practice.matching_hours",),
        0.5,
        1.5,
        "±50 %: the Swedish practice's extra hours matching a placement (none in the Danish practice)",
    ),
    Uncertain(
        "followup.*.every_days (Swedish schedule as kept)",
        _steps("followup.{}.every_days"),
        0.75,
        1.5,
        "×0.75-1.5: the Swedish schedules as a municipality keeps them, not as written (the Danish booking "
        "at 24 weeks, an assumption, varies too)",
        sourced_in=(SWEDISH,),
    ),
    Uncertain(
        "practice.institution_plan_after_days",
        ("practice.institution_plan_after_days",),
        0.7,
        1.3,
        "±30 %: when the Swedish practice plans the move out of an institution (the aim is about 6 months)",
        sourced_in=(SWEDISH,),
    ),
    Uncertain(
        "ladder.steps_1_2.cost_dkk_per_year",
        _steps("ladder.{}.cost_dkk_per_year", ("early_support", "home_support")),
        0.7,
        1.3,
        "±30 % on steps 1 and 2 together: no public unit cost found",
    ),
    Uncertain(
        "staffing.cost_dkk_per_year",
        ("staffing.cost_dkk_per_year",),
        0.85,
        1.15,
        "±15 %: salary, pension and overhead of a social worker",
    ),
)
"""The uncertain parameters screened by default."""


def _split(path: str) -> tuple[str, int | None]:
    """``"a.b[2]"`` -> ``("a.b", 2)``; ``"a.b"`` -> ``("a.b", None)``."""
    if path.endswith("]") and "[" in path:
        head, _, index = path[:-1].rpartition("[")
        return head, int(index)
    return path, None


def _field_info(path: str):
    """The pydantic field of a dotted path, or ``None``."""
    from sim.experiments.planner import _base_types
    from sim.params import Scenario

    model, info = Scenario, None
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields or part == "source":
            return None
        info = fields[part]
        sections = [t for t in _base_types(info.annotation) if isinstance(t, type) and hasattr(t, "model_fields")]
        model = sections[0] if sections else None
    return info


def _upper_bound(path: str) -> float | None:
    info = _field_info(path)
    bounds = [m.le for m in getattr(info, "metadata", ()) if getattr(m, "le", None) is not None]
    return min(bounds) if bounds else None


def _lower_bound(path: str) -> float | None:
    info = _field_info(path)
    bounds = [m.ge for m in getattr(info, "metadata", ()) if getattr(m, "ge", None) is not None]
    return max(bounds) if bounds else None


def note(scenario, path: str) -> str:
    """The ``source`` note of the field at ``path`` in ``scenario`` (``""`` if none)."""
    path, _ = _split(path)
    *sections, leaf = path.split(".")
    node = scenario
    for key in sections:
        node = getattr(node, key, None)
        if node is None:
            return ""
    return (getattr(node, "source", None) or {}).get(leaf, "")


def is_uncertain(scenario, path: str) -> bool:
    """Whether ``scenario`` marks the field as ``assumption:`` or ``calibrated:``."""
    return note(scenario, path).lstrip().lower().startswith(UNCERTAIN_NOTES)


def value_at(scenario, path: str):
    path, index = _split(path)
    node = scenario
    for key in path.split("."):
        node = getattr(node, key)
    return node if index is None else node[index]


def applies(parameter: Uncertain, scenario, path: str) -> bool:
    """Whether the parameter's factor applies to the field at ``path`` of ``scenario``: the
    scenario marks it uncertain, or the parameter varies it there whatever the note."""
    if scenario.name in parameter.sourced_in:
        try:
            return value_at(scenario, path) is not None
        except (AttributeError, IndexError, TypeError):
            return False
    return is_uncertain(scenario, path)


def check_parameters(parameters: Sequence[Uncertain], baseline, others: Sequence = ()) -> None:
    """Raise :class:`SensitivityError` unless every parameter names numeric fields that the
    baseline marks as uncertain (or that the scenarios it is ``sourced_in`` have), with a range
    ``0 < low < high``, and no two share a name."""
    names = [p.name for p in parameters]
    if len(parameters) < 2:
        raise SensitivityError("parameters: at least two are needed")
    if len(set(names)) < len(names):
        raise SensitivityError("parameters: two parameters have the same name")
    scenarios = [baseline, *others]
    for p in parameters:
        if not (0 < p.low < p.high and math.isfinite(p.high)):
            raise SensitivityError(f"{p.name}: the range must be 0 < low < high, got {p.low:g} to {p.high:g}")
        if not p.fields:
            raise SensitivityError(f"{p.name}: names no field")
        for path in p.fields:
            head, index = _split(path)
            if _field_info(head) is None:
                raise SensitivityError(f"{p.name}: {head}: not a scenario parameter")
            where = [s for s in scenarios if applies(p, s, path)]
            if not where and p.sourced_in:
                raise SensitivityError(f"{p.name}: {path}: no value in {', '.join(p.sourced_in)}")
            if not where:
                raise SensitivityError(
                    f"{p.name}: {path}: the baseline does not mark it as an assumption or calibrated "
                    f"(note: {note(baseline, path)!r})"
                )
            for scenario in where:
                try:
                    value = value_at(scenario, path)
                except (AttributeError, IndexError, TypeError):
                    raise SensitivityError(f"{p.name}: {path}: not in {scenario.name}") from None
                if isinstance(value, bool) or not isinstance(value, float):
                    raise SensitivityError(f"{p.name}: {path}: not a decimal number (got {value!r})")


def varied_in(parameter: Uncertain, scenario) -> bool:
    """Whether the parameter's factor applies to ``scenario`` (to some of its fields)."""
    return any(applies(parameter, scenario, path) for path in parameter.fields)


def apply_factors(scenario, parameters: Sequence[Uncertain], factors: Sequence[float]):
    """``scenario`` with each parameter's fields multiplied by its factor, where the factor
    applies (:func:`applies`), clipped to the field's bounds; validated."""
    overrides: dict[str, object] = {}
    for parameter, factor in zip(parameters, factors, strict=True):
        for path in parameter.fields:
            if not applies(parameter, scenario, path):
                continue
            head, index = _split(path)
            value = value_at(scenario, path) * float(factor)
            bound = _upper_bound(head)
            if bound is not None:
                value = min(value, bound)
            lower = _lower_bound(head)
            if lower is not None:
                value = max(value, lower)
            if index is None:
                overrides[head] = value
            else:
                current = list(overrides.get(head, value_at(scenario, head)))
                current[index] = value
                overrides[head] = current
    return scenario.with_overrides(**overrides) if overrides else scenario


def values_of(parameter: Uncertain, scenarios: dict) -> list[float]:
    """The parameter's field values in the first scenario it is varied in (the baseline's
    where it applies there)."""
    for scenario in scenarios.values():
        if varied_in(parameter, scenario):
            return [float(value_at(scenario, f)) for f in parameter.fields if applies(parameter, scenario, f)]
    return []


# ----------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class Output:
    """An indicator of the analysis: a summary indicator of one scenario, or (scenario
    ``None``) the Swedish saving, the baseline's total cost minus the Swedish model's."""

    name: str
    indicator: str
    scenario: str | None
    label: str


OUTPUTS: tuple[Output, ...] = (
    Output("danish_baseline.cost_total_per_year", "cost_total_per_year", BASELINE, "Danish baseline: total cost"),
    Output("swedish_model.cost_total_per_year", "cost_total_per_year", SWEDISH, "Swedish model: total cost"),
    Output("swedish_saving_per_year", "cost_total_per_year", None, "Swedish saving (baseline - Swedish total cost)"),
    Output(
        "danish_baseline.children_in_care_mean", "children_in_care_mean", BASELINE, "Danish baseline: children in care"
    ),
    Output("swedish_model.children_in_care_mean", "children_in_care_mean", SWEDISH, "Swedish model: children in care"),
    Output(
        "danish_baseline.followup_on_time_share",
        "followup_on_time_share",
        BASELINE,
        "Danish baseline: follow-ups on time",
    ),
    Output(
        "swedish_model.followup_on_time_share", "followup_on_time_share", SWEDISH, "Swedish model: follow-ups on time"
    ),
)


def unit_and_scale(output: Output) -> tuple[str, float]:
    """The unit an output's effects are shown in, and the factor to it from the indicator's."""
    from sim.results.indicators import unit_of

    unit = unit_of(output.indicator)
    if unit == "%":
        return "percentage points", 100.0
    if unit == "M DKK/yr":
        return "M DKK/yr", 1e-6
    return unit, 1.0


# ----------------------------------------------------------------------------- the analysis


@dataclass
class SensitivityResult:
    """A finished Morris analysis.

    ``table``: one row per output x parameter, ranked by ``mu_star`` within each output:
    ``output, indicator, scenario, unit, rank, parameter, mu_star, mu_star_conf, mu, sigma``
    (effects in the indicator's own units: DKK per year, children, a share 0-1).
    ``points``: one row per Morris point: ``point, trajectory``, every parameter's factor,
    every output's value.
    """

    parameters: tuple[Uncertain, ...]
    trajectories: int
    levels: int
    seed: int
    years: float | None
    table: pd.DataFrame
    points: pd.DataFrame
    varied: dict[str, list[str]]  # parameter -> the scenarios it was applied to
    baseline_values: dict[str, list[float]]  # parameter -> its fields' values in the baseline
    runs: int
    seconds: float
    workers: int
    outputs: tuple[Output, ...] = field(default=OUTPUTS)

    def top(self, output: str, n: int = TOP) -> pd.DataFrame:
        part = self.table[self.table["output"] == output]
        return part[part["rank"] <= n]

    def text(self, n: int = TOP) -> str:
        """The ranking as readable text: the top ``n`` parameters of every output."""
        lines = []
        for output in self.outputs:
            unit, scale = unit_and_scale(output)
            lines.append(f"{output.label} ({output.name}); mu* in {unit} over the parameter's range")
            for _, row in self.top(output.name, n).iterrows():
                lines.append(
                    f"  {int(row['rank']):>2}. {row['parameter']:<44} mu* {_num(row['mu_star'] * scale):>9} "
                    f"± {_num(row['mu_star_conf'] * scale):<8} sigma {_num(row['sigma'] * scale)}"
                )
            lines.append("")
        return "\n".join(lines).rstrip()


def _num(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else (f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}")


def morris_design(parameters: Sequence[Uncertain], trajectories: int, seed: int, levels: int = LEVELS):
    """The Morris points: an array of ``trajectories * (k + 1)`` rows of ``k`` factors."""
    import numpy as np
    from SALib.sample import morris as morris_sample

    problem = _problem(parameters)
    design = morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    return np.asarray(design, dtype=float)


def _problem(parameters: Sequence[Uncertain]) -> dict:
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[p.low, p.high] for p in parameters],
    }


MAX_TRAJECTORIES = 1000


def check_design(trajectories: int, years: float | None, seed: int, workers: int | None) -> None:
    """Raise :class:`SensitivityError` naming the first argument of :func:`run_morris` out of its range."""
    from sim.engine.workload import MAX_WORKERS, count_problem, seed_problem, years_problem

    if isinstance(trajectories, bool) or not isinstance(trajectories, int) or trajectories < 2:
        raise SensitivityError(f"trajectories: must be a whole number >= 2, got {trajectories!r}")
    if problem := count_problem(trajectories, 2, MAX_TRAJECTORIES):
        raise SensitivityError(f"trajectories: {problem}")
    if problem := years_problem(years):
        raise SensitivityError(f"years: {problem}")
    if problem := seed_problem(seed):
        raise SensitivityError(f"seed: {problem}")
    if workers is not None and (problem := count_problem(workers, 1, MAX_WORKERS)):
        raise SensitivityError(f"workers: {problem}")


def run_morris(
    trajectories: int = DEFAULT_TRAJECTORIES,
    years: float | None = None,
    seed: int = 1,
    workers: int | None = None,
    parameters: Sequence[Uncertain] | None = None,
    progress: bool = False,
    force: bool = False,
) -> SensitivityResult:
    """Run the Morris analysis of :data:`OUTPUTS` to ``parameters`` (default
    :data:`PARAMETERS`) on the shipped Danish baseline and Swedish model. The work is
    estimated first (:mod:`sim.engine.workload`) and refused above the limits unless ``force``."""

    from sim.experiments.batch import Progress
    from sim.experiments.jobs import Job, local_backend
    from sim.params import load_scenario

    parameters = tuple(PARAMETERS if parameters is None else parameters)
    check_design(trajectories, years, seed, workers)
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    scenarios = {BASELINE: load_scenario(BASELINE), SWEDISH: load_scenario(SWEDISH)}
    check_parameters(parameters, scenarios[BASELINE], [scenarios[SWEDISH]])
    names = list(scenarios)
    from sim.engine.workload import WorkloadError, check_workload

    try:
        runs = trajectories * (len(parameters) + 1)
        check_workload(list(scenarios.values()), years, force=force, runs_per_scenario=runs)
    except WorkloadError as exc:
        raise SensitivityError(str(exc)) from exc

    design = morris_design(parameters, trajectories, seed)
    per_trajectory = len(parameters) + 1
    jobs = []
    for point, factors in enumerate(design):
        trajectory = point // per_trajectory
        for k, name in enumerate(names):
            scenario = apply_factors(scenarios[name], parameters, factors)
            jobs.append(Job(point * len(names) + k, scenario, trajectory, (seed, trajectory), years))

    summaries: dict[int, dict[str, float]] = {}
    bar = Progress(len(jobs), progress)

    def done(result) -> None:
        summaries[result.scenario_index] = result.summary
        bar.advance()

    workers = max(1, min(workers, len(jobs)))  # never more processes than runs
    backend = local_backend(workers, len(jobs))
    try:
        backend.run(jobs, done, False)
    finally:
        backend.close()
        bar.close()

    rows = []
    for point, factors in enumerate(design):
        row = {"point": point, "trajectory": point // per_trajectory}
        row.update({p.name: float(f) for p, f in zip(parameters, factors)})
        results = {name: summaries[point * len(names) + k] for k, name in enumerate(names)}
        for output in OUTPUTS:
            if output.scenario is None:
                value = results[BASELINE]["cost_total_per_year"] - results[SWEDISH]["cost_total_per_year"]
            else:
                value = results[output.scenario][output.indicator]
            row[output.name] = float(value)
        rows.append(row)
    points = pd.DataFrame(rows)
    table = morris_table(parameters, design, points, seed)
    return SensitivityResult(
        parameters=parameters,
        trajectories=trajectories,
        levels=LEVELS,
        seed=seed,
        years=years,
        table=table,
        points=points,
        varied={p.name: [n for n in names if varied_in(p, scenarios[n])] for p in parameters},
        baseline_values={p.name: values_of(p, scenarios) for p in parameters},
        runs=len(jobs),
        seconds=time.perf_counter() - started,
        workers=workers,
    )


def morris_table(parameters: Sequence[Uncertain], design, points: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SALib's Morris statistics of every output, ranked by ``mu_star`` (ties: the order of
    ``parameters``); an output with a missing value at any point gets ``NaN`` statistics."""
    import numpy as np
    from SALib.analyze import morris as morris_analyze

    problem = _problem(parameters)
    frames = []
    for output in OUTPUTS:
        y = points[output.name].to_numpy(dtype=float)
        unit, _ = unit_and_scale(output)
        if np.isfinite(y).all():
            si = morris_analyze.analyze(
                problem,
                design,
                y,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=LEVELS,
                seed=seed,
            )
            stats = {key: np.asarray(si[key], dtype=float) for key in ("mu_star", "mu_star_conf", "mu", "sigma")}
        else:
            stats = {key: np.full(len(parameters), np.nan) for key in ("mu_star", "mu_star_conf", "mu", "sigma")}
        frame = pd.DataFrame(
            {
                "output": output.name,
                "indicator": output.indicator,
                "scenario": output.scenario or f"{BASELINE} - {SWEDISH}",
                "unit": _base_unit(output),
                "parameter": [p.name for p in parameters],
                **stats,
            }
        )
        frame["_order"] = range(len(parameters))
        frame = frame.sort_values(["mu_star", "_order"], ascending=[False, True], na_position="last", kind="stable")
        frame.insert(4, "rank", range(1, len(frame) + 1))
        frames.append(frame.drop(columns="_order"))
    return pd.concat(frames, ignore_index=True)


def _base_unit(output: Output) -> str:
    """The unit of the table's effects (the indicator's own, unscaled)."""
    unit, _ = unit_and_scale(output)
    return {"percentage points": "share (0-1)", "M DKK/yr": "DKK/yr"}.get(unit, unit)


# ----------------------------------------------------------------------------- writing


def design_facts(result: SensitivityResult, command: list[str] | None = None) -> dict:
    from sim import __version__
    from sim.experiments.batch import _git_commit

    return {
        "package_version": __version__,
        "git_commit": _git_commit(),
        "command": command,
        "method": "Morris elementary effects (SALib)",
        "scenarios": [BASELINE, SWEDISH],
        "trajectories": result.trajectories,
        "levels": result.levels,
        "points": len(result.points),
        "runs": result.runs,
        "seed": result.seed,
        "simulation_seeds": [[result.seed, t] for t in range(result.trajectories)],
        "years": result.years,
        "workers": result.workers,
        "seconds": round(result.seconds, 1),
        "confidence": CONFIDENCE,
        "resamples": RESAMPLES,
        "parameters": [
            {
                "name": p.name,
                "fields": list(p.fields),
                "factor_low": p.low,
                "factor_high": p.high,
                "baseline_values": result.baseline_values[p.name],
                "varied_in": result.varied[p.name],
                "why": p.why,
            }
            for p in result.parameters
        ],
        "outputs": [{"name": o.name, "indicator": o.indicator, "scenario": o.scenario} for o in result.outputs],
        "written": dt.datetime.now().isoformat(timespec="seconds"),
    }


def write_sensitivity(result: SensitivityResult, folder: Path, command: list[str] | None = None) -> None:
    """Write ``sensitivity.csv``, ``points.csv`` and ``sensitivity.json`` into ``folder``
    (which exists); the figure, ``sensitivity.png``, is the presentation's
    (:func:`sim.present.sensitivity.write_sensitivity_figure`)."""
    folder = Path(folder)
    result.table.to_csv(folder / "sensitivity.csv", index=False, float_format="%.17g")
    result.points.to_csv(folder / "points.csv", index=False, float_format="%.17g")
    (folder / "sensitivity.json").write_text(
        json.dumps(design_facts(result, command), indent=2, default=str) + "\n", encoding="utf-8"
    )
