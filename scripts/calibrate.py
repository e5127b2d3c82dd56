"""Calibrate the shipped scenarios on Danish figures only (issue 10).

Run:  python scripts/calibrate.py [--replications 3] [--years 8] [--warmup 8] [--rounds 2] [--seed 2026] [--write]

What it does
------------
Only the **Danish baseline** is fitted. Its figures in docs/conceptual-model.md §5 (Danmarks
Statistik and the Danish rows of seed 002, see docs/sources.md: ``sim.experiments.validation.CHECKS`` with
``fitted=True``) give the residuals; the Swedish rows of ``docs/VALIDATION.md`` are never seen
here, so they are checks out of sample.

The parameters fitted (``PARAMETERS``) describe the children and how their needs change, which
every scenario shares (they live in the baseline's file and the others inherit them): the share
of notified children whose need calls for a placement and how much of it for an institution, the
share whose need persists for years and how slowly it falls, the share of notifications that come
with an acute crisis (the short placements), the rates at which foster or kinship
care and an institution meet a need, the rise of a met need, the relapse after a move down, and
how often a family's network offers a kinship placement by itself. No practice is fitted: the
practices are written from the sources (and marked assumptions where we had to read them).

Each evaluation runs ``--replications`` replications of the baseline (seed ``[seed, r]``, the same
at every evaluation: common random numbers) from the current estimate of its steady state (the
initial stock) with ``--warmup`` years of warm-up; the residuals are those of
``sim.experiments.validation.CHECKS`` as before: ``(mean - figure) / (half the accepted range)`` for a check with
a point figure (``TARGETS``) and ``OUTSIDE`` times the distance outside the range for every fitted
check. ``scipy.optimize.least_squares`` (bounded, trust region) minimises their squares; the best
evaluation is kept.

Then, from the fitted parameters:

* the baseline's caseworkers are scaled to about 48 cases each (Herning before the pilot), and
  the high-load scenario's to about 60 (the high end of Danish caseloads);
* the Swedish model's caseworkers are the fewest with which its practice runs, in every
  replication: no waiting list under the 120-point cap (at most 1 % of its open cases waiting on
  average) and at least 90 % of follow-ups on time. This is the practice's own requirement, not
  a Swedish figure: the caseload it gives is checked against Borås's 15-20 out of sample;
* each scenario's initial stock is its own steady state: the open cases per 1,000 children by
  step and need, the share of them whose need persists and their children's mean age, averaged
  over the end states of ``--check-replications`` runs. The search runs in ``--rounds`` rounds,
  each from the stock the last one measured; a file without a stock gets one first from a run of
  ``--first-warmup`` years from an empty department (a need that persists fills the stock over a
  childhood, so that run is long).

The parameters, the replications (``replicate``: through ``sim.experiments.jobs.local_backend``)
and the bounded least-squares search are ``sim.experiments.calibration``'s, the engine of
``welfare-sim calibrate``; what is this script's own is the Danish targets and their residuals
(ranges with margins, not ``(mean - figure) / sd``), the staffing and the steady-state stocks of
the shipped scenarios, and the editing of their files.

``--write`` writes the values into the scenario files, each with a ``source.<field> = "calibrated:
..."`` note; the rest of the files is left as it is. ``--no-search`` skips the fit (re-derives
staffing and stocks, and checks) after a change elsewhere in the model.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import load_scenario  # noqa: E402
from sim.experiments import calibration  # noqa: E402
from sim.experiments.calibration import (  # noqa: E402
    PARAMETERS,
    bounded_least_squares,
    need_mix,
    replicate,
    value_of,
)
from sim.experiments.jobs import local_backend  # noqa: E402
from sim.experiments.validation import BASELINE, CHECKS, SWEDISH, evaluate_checks  # noqa: E402
from sim.params.schema import InitialStock  # noqa: E402
from sim.storage.output import atomic_write  # noqa: E402

SCENARIOS = ROOT / "scenarios"
HIGH_LOAD = "danish_high_load"
FITTED = tuple(c for c in CHECKS if c.scenario == BASELINE and c.fitted)

TARGETS: dict[str, tuple[float, float, str]] = {
    # indicator of the baseline: (the figure of docs/conceptual-model.md §5, weight, what it is called in a note)
    "children_in_care_per_1000": (10.0, 1.0, "about 10 placed children per 1,000 (Danmarks Statistik)"),
    "time_in_care_years": (4.0, 1.0, "about 4 years in care (Danmarks Statistik)"),
    "care_left_within_year_share": (
        0.16,
        1.0,
        "16 % of those placed on 1 January gone by 31 December (Danmarks Statistik)",
    ),
    "care_type_change_share": (0.07, 1.0, "about 7 % of children placed all year changing type (Danmarks Statistik)"),
    "care_days_share_foster": (0.63, 1.0, "63 % of placed children in foster care (Danmarks Statistik)"),
    "care_days_share_institution": (0.31, 1.0, "17 % in institutions + 14 % in care homes (Danmarks Statistik)"),
    "placement_share_kinship": (0.025, 1.0, "under 1 in 20 placements in kinship care (seed 002)"),
    "replacement_share": (0.11, 1.0, "just over 1 in 10 re-placements (seed 002)"),
}
OUTSIDE = 3.0
"""The extra weight of the distance outside a check's accepted range: the ranges come first,
the figures inside them second."""
MARGIN = 0.15
"""The share of a range's half-width the fit keeps clear of each end: the calibration's seed is
not the validation's, and a figure fitted just inside a range at one seed lands just outside it at
another (leaving care within the year, before the crises and before an end at 18 was left out of
it: 0.215 at seed 2026, 0.222 at seed 1 with the margin at 0)."""
CASELOADS = {BASELINE: 48.0, HIGH_LOAD: 60.0}
"""Mean cases per caseworker the Danish staffing is scaled to: Herning before the pilot (about 48;
KORA, docs/conceptual-model.md §5), and the high end of Danish caseloads (seed 003)."""
SWEDISH_ON_TIME = 0.9
SWEDISH_WAITING_SHARE = 0.01
"""The Swedish practice runs when at least this share of follow-ups is on time and at most this
share of its open cases waits for a caseworker (the practice's own requirement)."""


NAMES = tuple(p.name for p in PARAMETERS)


def current_values(base) -> np.ndarray:
    return np.array([value_of(base, p.name) for p in PARAMETERS])


def to_unit(x: np.ndarray) -> np.ndarray:
    return calibration.to_unit(x, PARAMETERS)


def from_unit(u: np.ndarray) -> np.ndarray:
    return calibration.from_unit(u, PARAMETERS)


def rounded(x: np.ndarray) -> np.ndarray:
    return calibration.rounded(x, PARAMETERS)


def _empty_stock() -> dict:
    return {f"initial_stock.{key}": value for key, value in InitialStock().model_dump().items()}


def _stock_of(scenario) -> dict:
    stock = scenario.initial_stock.model_dump()
    return {f"initial_stock.{key}": stock[key] for key in calibration.STOCK_FIELDS}


class Problem:
    """The scenarios, the fixed seeds, and the evaluation of one parameter vector."""

    def __init__(self, replications: int, years: float, warmup: float, seed: int, workers: int, verbose=True):
        self.base = load_scenario(BASELINE)
        self.swedish = load_scenario(SWEDISH)
        self.high_load = load_scenario(HIGH_LOAD)
        self.replications, self.years, self.warmup, self.seed = replications, years, warmup, seed
        self.verbose = verbose
        self.backend = local_backend(workers, workers)  # the package's replication loop, kept for every evaluation
        self.stock = {BASELINE: _stock_of(self.base), SWEDISH: _stock_of(self.swedish)}
        self.staff = {
            BASELINE: self.base.staffing.caseworkers,
            SWEDISH: self.swedish.staffing.caseworkers,
            HIGH_LOAD: self.high_load.staffing.caseworkers,
        }
        self.evaluations = 0
        self.best: tuple[float, np.ndarray, pd.DataFrame] | None = None

    def shared(self, x: np.ndarray) -> dict:
        """The baseline's overrides at parameters ``x`` (the others inherit them)."""
        values = dict(zip(NAMES, x))
        over: dict = {
            "children.initial_need_probabilities": need_mix(
                self.base, values["p_need_placement"], values["institution_need_share"]
            )
        }
        for value, p in zip(x, PARAMETERS):
            probe = self.base.with_overrides(**over)
            over.update(p.overrides(float(value), probe))
        return over

    def scenario(self, name: str, x: np.ndarray, staff: int | None = None, warmup: float | None = None):
        """The scenario at parameters ``x``, from the current stock estimate (or empty, if it has
        none), with ``warmup`` years of warm-up (default ``--warmup``)."""
        source = {BASELINE: self.base, SWEDISH: self.swedish, HIGH_LOAD: self.high_load}[name]
        over = self.shared(x)
        over["staffing.caseworkers"] = staff if staff is not None else self.staff[name]
        over.update(self.stock.get(name, self.stock[BASELINE]))
        over["run.warmup_years"] = self.warmup if warmup is None else warmup
        return source.with_overrides(**over)

    def derive_stock(self, name: str, x: np.ndarray, replications: int, warmup: float | None = None):
        """Run ``name`` and take its mean end state as its new stock; returns the runs."""
        scenario = self.scenario(name, x, warmup=warmup)
        reps, ends = self.run(scenario, replications=replications)
        self.stock[name] = calibration.steady_stock(ends, scenario.municipality.children)
        return reps

    def run(self, scenario, replications: int | None = None) -> tuple[pd.DataFrame, list[dict[str, pd.DataFrame]]]:
        """One row per replication (the summary and the derived indicators), and the end states
        (the tables stock and known)."""
        reps, results = replicate(
            self.backend, scenario, replications or self.replications, self.seed, self.years, ("stock", "known")
        )
        return reps, [result.tables for result in results]

    @staticmethod
    def residuals(reps: pd.DataFrame) -> np.ndarray:
        out = []
        for check in FITTED:
            mean = float(reps[check.indicator].mean())
            half = (check.high - check.low) / 2
            if math.isnan(mean):
                out += [10.0, 10.0]
                continue
            margin = MARGIN * half
            outside = max(check.low + margin - mean, 0.0, mean - check.high + margin) / half
            target = TARGETS.get(check.indicator)
            weight = 1.0 if target is None else target[1]
            out.append(weight * (mean - target[0]) / half if target is not None else 0.0)
            out.append(OUTSIDE * weight * outside)
        return np.array(out)

    def objective(self, x: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        reps, _ = self.run(self.scenario(BASELINE, x))
        res = self.residuals(reps)
        cost = float(0.5 * (res**2).sum())
        self.evaluations += 1
        if self.best is None or cost < self.best[0]:
            self.best = (cost, x.copy(), reps)
        if self.verbose:
            values = " ".join(f"{v:.4g}" for v in x)
            print(
                f"  eval {self.evaluations:3d}  cost {cost:8.3f}  [{values}]  {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        return res


def search(problem: Problem, x0: np.ndarray, max_evaluations: int) -> np.ndarray:
    """Least squares from ``x0`` (sim.experiments.calibration.bounded_least_squares, the search of
    ``welfare-sim calibrate``); returns the best parameters evaluated."""
    problem.best = None
    return bounded_least_squares(problem.objective, x0, PARAMETERS, max_evaluations).x


def danish_staff(problem: Problem, x: np.ndarray) -> dict:
    """Caseworkers for about 48 (baseline) and 60 (high load) cases each. The open cases are
    shared among the caseworkers, so the caseload scales about as 1 / staff; but fewer hours also
    mean later closings, so of the two whole numbers around the estimate the one whose simulated
    caseload is nearer the target is taken."""
    staff = dict(problem.staff)

    def caseload(n: int) -> float:
        reps, _ = problem.run(problem.scenario(BASELINE, x, n))
        return float(reps["mean_caseload_cases"].mean())

    load = caseload(staff[BASELINE])
    estimate = load * staff[BASELINE] / CASELOADS[BASELINE]
    candidates = {max(1, math.floor(estimate)), max(1, math.ceil(estimate))}
    loads = {n: (load if n == staff[BASELINE] else caseload(n)) for n in sorted(candidates)}
    staff[BASELINE] = min(loads, key=lambda n: abs(loads[n] - CASELOADS[BASELINE]))
    cases = loads[staff[BASELINE]] * staff[BASELINE]
    staff[HIGH_LOAD] = max(1, int(round(cases / CASELOADS[HIGH_LOAD])))
    return staff


def swedish_runs(problem: Problem, x: np.ndarray, staff: int) -> bool:
    """Whether the Swedish practice runs with ``staff`` caseworkers in every replication."""
    reps, _ = problem.run(problem.scenario(SWEDISH, x, staff))
    cases = reps["mean_caseload_cases"] * staff
    waiting = (reps["waiting_list_mean"] / cases).max()
    on_time = reps["followup_on_time_share"].min()
    ok = waiting <= SWEDISH_WAITING_SHARE and on_time >= SWEDISH_ON_TIME
    if problem.verbose:
        print(f"  swedish {staff:3d} caseworkers: waiting {waiting:.3f}, on time {on_time:.3f} -> {ok}", flush=True)
    return ok


def swedish_staff(problem: Problem, x: np.ndarray, low: int, high: int) -> int:
    """The fewest caseworkers with which the Swedish practice runs (bisection between ``low``,
    which must fail, and ``high``, which must run)."""
    while not swedish_runs(problem, x, high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if swedish_runs(problem, x, mid):
            high = mid
        else:
            low = mid
    return high


def report(reps: pd.DataFrame) -> tuple[str, int]:
    lines = [f"{'check':52s} {'scenario':16s} {'range':>14s}  {'mean [95 % CI]':>28s}  result"]
    passed = 0
    checks = [row for row in evaluate_checks(reps) if row[0].scenario in set(reps["scenario"])]
    for check, mean, low, high, ok in checks:
        passed += ok
        target = TARGETS.get(check.indicator) if check.scenario == BASELINE else None
        fig = f" (figure {target[0]:g})" if target else ""
        kind = "fitted" if check.fitted and check.scenario == BASELINE else "out of sample"
        lines.append(
            f"{check.what[:52]:52s} {check.scenario:16s} {check.low:>6g} to {check.high:<6g}"
            f"  {mean:8.3f} [{low:8.3f}, {high:8.3f}]  {'pass' if ok else 'FAIL'}{fig} ({kind})"
        )
    lines.append(f"{passed} of {len(checks)} checks pass")
    names = set(reps["scenario"])
    if {BASELINE, SWEDISH} <= names:  # shown, never fitted: the calibration sees only Danish figures
        cost = reps.groupby("scenario")["cost_total_per_year"].mean() / 1e6
        lines.append(
            f"(not a check) total cost, M DKK a year: {BASELINE} {cost[BASELINE]:.1f}, {SWEDISH} {cost[SWEDISH]:.1f}, "
            f"saving {cost[BASELINE] - cost[SWEDISH]:.1f}"
        )
    return "\n".join(lines), passed


# --------------------------------------------------------------------------- writing TOML


def _fmt(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return str(value)


def set_toml_value(path: Path, section: str, key: str, value, note: str) -> None:
    """Replace ``key = ...`` and ``source.key = "..."`` in ``[section]`` of ``path``, adding
    them at the end of the section where they are missing; nothing else in the file changes."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = re.compile(r"^\s*\[")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
    except StopIteration:
        raise SystemExit(f"{path.name}: no [{section}] section") from None
    end = next((i for i in range(start + 1, len(lines)) if header.match(lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # insert before the blank lines that end the section
    value_line = f"{key} = {_fmt(value)}\n"
    note_line = f'source.{key} = "{note}"\n'
    found = {"value": False, "note": False}
    for i in range(start + 1, end):
        if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
            lines[i], found["value"] = value_line, True
        elif re.match(rf"^source\.{re.escape(key)}\s*=", lines[i]):
            lines[i], found["note"] = note_line, True
    if not found["note"]:
        lines[end:end] = [note_line]
    if not found["value"]:
        # values before the notes, as in the shipped files
        at = next((i for i in range(start + 1, end) if lines[i].startswith("source.")), end)
        lines[at:at] = [value_line]
    atomic_write(path, "".join(lines).encode("utf-8"))  # a scenario file is never left half-written


def write_stocks(stocks: dict) -> None:
    """The baseline's and the Swedish model's initial stocks (``stocks[name]``: dotted
    ``initial_stock.*`` values) into their files, each with the calibration's note."""
    note = (
        "calibrated: the steady state of this scenario at the calibrated parameters: the mean end state of "
        "the calibration's long runs, per 1,000 children, scripts/calibrate.py"
    )
    for name in (BASELINE, SWEDISH):
        for key in calibration.STOCK_FIELDS:
            set_toml_value(SCENARIOS / f"{name}.toml", "initial_stock", key, stocks[name][f"initial_stock.{key}"], note)


def write(problem: Problem, x: np.ndarray, staff: dict, stocks: dict) -> None:
    base_file = SCENARIOS / f"{BASELINE}.toml"
    tag = "scripts/calibrate.py"
    values = dict(zip(NAMES, x))
    by_name = {p.name: p for p in PARAMETERS}

    def against(name):
        return "; ".join(TARGETS[t][2] for t in by_name[name].against)

    probs = need_mix(problem.base, values["p_need_placement"], values["institution_need_share"])
    set_toml_value(
        base_file,
        "children",
        "initial_need_probabilities",
        [round(v, 5) for v in probs],
        "calibrated: need levels 0-5 of newly notified children; needs 1-2 assumption (with the screening, about "
        "38 % of notifications investigated, Socialstyrelsen); the share with need 3-5 against "
        f"{against('p_need_placement')}, and the share of it with need 5 against {against('institution_need_share')} "
        f"(needs 3 and 4 equal) (docs/conceptual-model.md §5), {tag}",
    )
    rates = list(problem.base.need.improve_rate_per_year_when_met)
    rates[2] = rates[3] = round(values["improve_steps_3_4"], 2)
    rates[4] = round(values["improve_step_5"], 2)
    set_toml_value(
        base_file,
        "need",
        "improve_rate_per_year_when_met",
        rates,
        f"calibrated: steps 3-4 (one value) against {against('improve_steps_3_4')}; step 5 within the source's "
        "bounds (an institution stay is meant to break a pattern within about 6 months, seed 002: a rate of "
        f"1.4-2.5 per year) against {against('improve_step_5')} (docs/conceptual-model.md §5), {tag}; "
        "steps 1-2 assumption: a year per level of need",
    )
    for name, section, key in (
        ("need.worsen_rate_per_year_met", "need", "worsen_rate_per_year_met"),
        ("need.relapse_rate_per_year_after_step_down", "need", "relapse_rate_per_year_after_step_down"),
        ("children.persistent_need_share", "children", "persistent_need_share"),
        ("children.persistent_improve_rate_factor", "children", "persistent_improve_rate_factor"),
        ("children.crisis_share", "children", "crisis_share"),
        ("children.network_comes_forward_probability", "children", "network_comes_forward_probability"),
    ):
        set_toml_value(
            base_file,
            section,
            key,
            round(float(values[name]), by_name[name].digits),
            f"calibrated: {by_name[name].what}, against {against(name)} (docs/conceptual-model.md §5), {tag}",
        )
    write_stocks(stocks)
    set_toml_value(
        base_file,
        "staffing",
        "caseworkers",
        staff[BASELINE],
        f"calibrated: staffing that yields about {CASELOADS[BASELINE]:.0f} cases per caseworker, Herning before the "
        f"pilot (KORA; 30 on average, up to 60, seed 003; docs/conceptual-model.md §5), {tag}",
    )
    set_toml_value(
        SCENARIOS / f"{SWEDISH}.toml",
        "staffing",
        "caseworkers",
        staff[SWEDISH],
        f"calibrated: the fewest caseworkers with which the practice runs (at least {SWEDISH_ON_TIME:.0%} of "
        f"follow-ups on time, at most {SWEDISH_WAITING_SHARE:.0%} of cases waiting under the point cap); the "
        f"caseload this gives is checked out of sample against Borås's 15-20 (seed 003), {tag}",
    )
    set_toml_value(
        SCENARIOS / f"{HIGH_LOAD}.toml",
        "staffing",
        "caseworkers",
        staff[HIGH_LOAD],
        "calibrated: staffing that yields about 60 cases per caseworker, the high end of Danish caseloads "
        f"(seed 003), with the baseline's cases, {tag}",
    )
    for name in (BASELINE, SWEDISH, HIGH_LOAD):
        load_scenario(SCENARIOS / f"{name}.toml")  # still valid


def stock_only(problem: Problem, x: np.ndarray, args) -> int:
    """Re-derive the baseline's and the Swedish model's initial stocks at the files' own values
    and staffing (after --warmup years from the current stock), check them, and with --write
    write only the stocks."""
    reps = {}
    for name in (BASELINE, SWEDISH):
        problem.derive_stock(name, x, args.check_replications)
        reps[name], _ = problem.run(problem.scenario(name, x), replications=args.check_replications)
        stock = problem.stock[name]
        per_step = [round(sum(row), 2) for row in stock["initial_stock.open_cases_per_1000_children"]]
        pipeline = round(sum(stock["initial_stock.under_investigation_per_1000_children"]), 2)
        print(f"{name} stock per 1,000 by step: {per_step}, under investigation {pipeline}")
    text, _ = report(pd.concat(reps.values(), ignore_index=True))
    print(text)
    if args.write:
        write_stocks(problem.stock)
        for name in (BASELINE, SWEDISH):
            load_scenario(SCENARIOS / f"{name}.toml")  # still valid
        print("stocks written to scenarios/danish_baseline.toml and swedish_model.toml")
    problem.backend.close()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=int, default=3, help="replications per evaluation (default 3)")
    ap.add_argument("--years", type=float, default=8.0, help="measured years per replication (default 8)")
    ap.add_argument("--warmup", type=float, default=8.0, help="warm-up years from the stock (default 8)")
    ap.add_argument("--first-warmup", type=float, default=30.0, help="warm-up years from empty (default 30)")
    ap.add_argument("--rounds", type=int, default=2, help="search rounds, each from the stock the last measured")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the common random numbers (default 2026)")
    ap.add_argument("--evaluations", type=int, default=40, help="evaluations of each search round (default 40)")
    ap.add_argument("--check-replications", type=int, default=8, help="replications of the final check")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument(
        "--start",
        default=None,
        help="comma-separated starting values of the parameters, in the order of PARAMETERS "
        "(default: the values in the scenario files)",
    )
    ap.add_argument("--no-search", action="store_true", help="only re-derive staffing and stocks, and check")
    ap.add_argument(
        "--stock-only",
        action="store_true",
        help="only re-derive the initial stocks at the files' values and staffing (with --write: write only them)",
    )
    ap.add_argument("--write", action="store_true", help="write the values into the scenario files")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    problem = Problem(args.replications, args.years, args.warmup, args.seed, args.workers)
    x0 = current_values(problem.base)
    x = x0.copy() if args.start is None else np.array([float(v) for v in args.start.split(",")])
    if len(x) != len(PARAMETERS):
        ap.error(f"--start: {len(PARAMETERS)} values needed, got {len(x)}")
    old_staff = dict(problem.staff)
    if args.stock_only:
        return stock_only(problem, x0, args)
    for name in (BASELINE, SWEDISH):
        if problem.base.initial_stock.empty() if name == BASELINE else problem.swedish.initial_stock.empty():
            print(f"{name}: no stock in the file; a first one from {args.first_warmup:g} years from empty", flush=True)
            problem.stock[name] = _empty_stock()
            problem.derive_stock(name, x, args.replications, warmup=args.first_warmup)
    problem.staff = danish_staff(problem, x)
    print(f"start: staff {problem.staff}", flush=True)
    for round_ in range(0 if args.no_search else args.rounds):
        print(
            f"round {round_ + 1}: least squares from {np.round(x, 4).tolist()}, at most {args.evaluations} evaluations",
            flush=True,
        )
        x = rounded(search(problem, x, args.evaluations))
        problem.derive_stock(BASELINE, x, args.check_replications)
        problem.staff = danish_staff(problem, x)
    low = problem.staff[BASELINE]
    problem.staff[SWEDISH] = swedish_staff(problem, x, low, max(low + 1, problem.staff[SWEDISH]))
    print(f"staff {problem.staff}", flush=True)

    print(f"final check: {args.check_replications} replications of {args.years:g} years, seed {args.seed}")
    reps = {}
    for name in (BASELINE, SWEDISH):
        problem.derive_stock(name, x, args.check_replications)  # the stock from its own end state...
        reps[name], _ = problem.run(problem.scenario(name, x), replications=args.check_replications)  # ...checked
    text, _ = report(pd.concat(reps.values(), ignore_index=True))
    fit = 0.5 * float((Problem.residuals(reps[BASELINE]) ** 2).sum())
    text += f"\ncalibration objective (Danish figures only, {args.check_replications} replications): {fit:.3f}"
    print()
    print(f"{'parameter':45s} {'old':>10s} {'new':>10s}")
    for p, old, new in zip(PARAMETERS, x0, x):
        print(f"{p.name:45s} {old:10.4g} {new:10.4g}")
    for name in problem.staff:
        print(f"{name + ' caseworkers':45s} {old_staff[name]:10d} {problem.staff[name]:10d}")
    for name in (BASELINE, SWEDISH):
        stock = problem.stock[name]
        per_step = [round(sum(row), 2) for row in stock["initial_stock.open_cases_per_1000_children"]]
        share, ages = stock["initial_stock.persistent_share_by_step"], stock["initial_stock.mean_age_years_by_step"]
        pipeline = round(sum(stock["initial_stock.under_investigation_per_1000_children"]), 2)
        print(
            f"{name} stock per 1,000 by step: {per_step}, under investigation {pipeline}, persistent {share}, "
            f"mean age {ages}"
        )
    print()
    print(text)
    if args.write:
        write(problem, x, problem.staff, problem.stock)
        print("written to scenarios/danish_baseline.toml, swedish_model.toml and danish_high_load.toml")
    print(f"{problem.evaluations} evaluations; {time.perf_counter() - started:.0f} s")
    problem.backend.close()  # before the interpreter's exit, which otherwise trips over a pool's pipe
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
