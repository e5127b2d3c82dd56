"""How much work a run will be, estimated before it starts (issue 11).

Every parameter of a scenario has a finite range, but the ranges multiply: a million
children, a thousand notifications per 1,000 children a year and a century of simulated
time are each allowed, and together would run for weeks and fill any memory. So every
command that simulates estimates the work first, from the scenario's own numbers, and
refuses (with the estimate) what would not fit, unless the caller says ``force``.

The estimate counts simulation events:

* arrivals: children / 1,000 x (notification + application rate) x the peak of the
  seasonality (arrivals are thinned from the peak rate) x the simulated years (warm-up
  included);
* per arrival, the events of its case: a few for the assessment and decisions, one per
  investigation session, the follow-ups of a year at the shortest follow-up interval, and
  a year of changes of need at the fastest need rate;
* the initial stock's cases, followed for the whole run in the same way;
* caseload snapshots: one row per caseworker (and one per ladder step) per snapshot.

It is an upper estimate: it counts every case as if it stayed open a year at the fastest
follow-up and need rates. For ``danish_baseline`` (2 measured years after 3 warm-up years)
it says 193,000 events where the simulation schedules 100,000, for ``swedish_model`` (10
years) 1.5 million for 283,000. Time and memory are scaled to the estimate: that
``danish_baseline`` replication takes 4 s and 150 MB on the reference machine, so 25 us
and 800 bytes per estimated event (rounded up).

Limits: :data:`MAX_EVENTS_PER_REPLICATION` (about 12 minutes and 24 GB by the estimate,
several times less in practice) for one replication, :data:`MAX_EVENTS_TOTAL` (about 14
hours of one core by the estimate) for a whole command. A municipality of 100,000 children
followed the Swedish way for 20 years is about 13 million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sim.constants import DAYS_PER_YEAR, STEP_NAMES
from sim.params import Run, Scenario

SECONDS_PER_EVENT = 25e-6
"""Seconds of one core per estimated event (measured on the reference machine, rounded up)."""

BYTES_PER_EVENT = 800
"""Memory a replication holds per estimated event (tables and model; measured, rounded up)."""

MAX_EVENTS_PER_REPLICATION = 30_000_000
"""One replication may be at most this many estimated events."""

MAX_EVENTS_TOTAL = 2_000_000_000
"""A command may simulate at most this many estimated events in all."""

EVENTS_PER_CASE = 4.0
"""Events of a case besides investigation sessions, follow-ups and changes of need."""


MAX_SEED = 2**63 - 1
"""The largest seed: seeds are stored as 64-bit integers (replications.parquet)."""

MAX_WORKERS = 256
"""The most worker processes; a batch never starts more than it has replications to run."""

MAX_REPLICATIONS = 10_000
"""The most replications of a scenario a command runs."""

YEARS_MIN = next(m.ge for m in Run.model_fields["years"].metadata if hasattr(m, "ge"))
YEARS_MAX = next(m.le for m in Run.model_fields["years"].metadata if hasattr(m, "le"))
"""``--years`` has the range of a scenario's ``run.years``."""


def seed_problem(seed: object) -> str | None:
    """Why ``seed`` is not a seed, or ``None``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        return f"must be a whole number from 0 to {MAX_SEED} (2^63 - 1), got {_text(seed)}"
    return None


def years_problem(years: object) -> str | None:
    """Why ``years`` cannot be the measured years of a run (``None``: the scenario's), or ``None``."""
    if years is None:
        return None
    if isinstance(years, bool) or not isinstance(years, int | float) or not YEARS_MIN <= years <= YEARS_MAX:
        return f"must be a number of years from {YEARS_MIN:g} to {YEARS_MAX:g}, got {_text(years)}"
    return None


def count_problem(value: object, low: int, high: int) -> str | None:
    """Why ``value`` is not a whole number from ``low`` to ``high``, or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"must be a whole number from {low:,} to {high:,}, got {_text(value)}"
    return None


def _text(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    text = f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class WorkloadError(ValueError):
    """The work asked for is too large; ``str()`` is a one-line message with the estimate and
    what would lower or allow it, naming the arguments ``years`` and ``force``;
    :meth:`text` names them as the caller's user knows them (the command line's options)."""

    def __init__(self, problem: str, advice: str):
        super().__init__(problem, advice)
        self.problem, self.advice = problem, advice  # the advice names {years} and {force}

    def text(self, years: str = "years", force: str = "force") -> str:
        return f"{self.problem}: {self.advice.format(years=years, force=force)}"

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class Estimate:
    """The estimated work of one replication of one scenario."""

    scenario: str
    events: float
    simulated_years: float
    arrivals: float

    @property
    def seconds(self) -> float:
        return self.events * SECONDS_PER_EVENT

    @property
    def memory_bytes(self) -> float:
        return self.events * BYTES_PER_EVENT


def _per_case(scenario: Scenario) -> tuple[float, float]:
    """Events of one case (a year of it) and the fastest follow-up rate (per day)."""
    shortest = min(
        min(
            getattr(scenario.followup, step).first_days,
            getattr(scenario.followup, step).every_days,
            getattr(scenario.followup, step).after_first_year_every_days or float("inf"),
        )
        for step in STEP_NAMES
    )
    shortest = min(shortest, scenario.followup.legal_interval_days)
    need = scenario.need
    fastest_need = max(
        *need.improve_rate_per_year_when_met,
        need.improve_rate_per_year_unmet,
        need.worsen_rate_per_year_unmet,
        need.worsen_rate_per_year_met,
        need.relapse_rate_per_year_after_step_down * need.unsupported_relapse_factor,
    )
    per_year = DAYS_PER_YEAR / shortest + fastest_need
    return EVENTS_PER_CASE + scenario.hours.investigation_sessions + per_year, per_year / DAYS_PER_YEAR


def estimate(scenario: Scenario, years: float | None = None) -> Estimate:
    """The estimated events of one replication of ``scenario`` over ``years`` measured
    years (default: the scenario's), warm-up included."""
    measured = scenario.run.years if years is None else years
    simulated = measured + scenario.run.warmup_years
    # A district's target is set when its scenario file is loaded (load_scenario).
    parts = cast("list[Scenario]", [d.target for d in scenario.districts]) if scenario.districts else [scenario]
    if scenario.transition is not None and scenario.transition.target is not None:
        parts = [scenario, scenario.transition.target]  # the costlier of the two ways of working counts
    events = arrivals = 0.0
    for i, part in enumerate(parts):
        a = part.arrivals
        rate = (
            part.municipality.children
            / 1000
            * (a.notifications_per_1000_children_per_year + a.applications_per_1000_children_per_year)
        )
        part_arrivals = rate * max(a.seasonality) * simulated
        per_case, per_day = _per_case(part)
        stock_cases = sum(map(sum, part.initial_stock.open_cases_per_1000_children)) * part.municipality.children / 1000
        stock = stock_cases * (EVENTS_PER_CASE + per_day * simulated * DAYS_PER_YEAR)
        staff = part.staffing.caseworkers + (part.intake.desk_staff if part.intake.desk else 0)
        snapshots = (measured * DAYS_PER_YEAR / part.run.snapshot_interval_days + 1) * (staff + len(STEP_NAMES))
        part_events = part_arrivals * per_case + stock + snapshots
        if scenario.transition is not None and not scenario.districts:
            if i == 0:
                events, arrivals = part_events, part_arrivals
            else:
                events, arrivals = max(events, part_events), max(arrivals, part_arrivals)
        else:
            events += part_events
            arrivals += part_arrivals
    return Estimate(scenario.name, events, simulated, arrivals)


def _count(events: float) -> str:
    if events >= 1e9:
        return f"{events / 1e9:.3g} billion"
    if events >= 1e6:
        return f"{events / 1e6:.3g} million"
    return f"{events:,.0f}"


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.3g} hours"
    if seconds >= 120:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds:.3g} s"


def _memory(size: float) -> str:
    return f"{size / 1e9:.3g} GB" if size >= 1e9 else f"{size / 1e6:.3g} MB"


def check_workload(
    scenarios: Sequence[Scenario],
    years: float | None = None,
    replications: int = 1,
    force: bool = False,
    runs_per_scenario: int | None = None,
) -> list[Estimate]:
    """Raise :class:`WorkloadError` unless every replication of every scenario and the
    whole command (``replications`` of each scenario) stay within the limits; ``force``
    skips the check. Returns the estimates."""
    estimates = [estimate(s, years) for s in scenarios]
    if force:
        return estimates
    for e in estimates:
        if e.events > MAX_EVENTS_PER_REPLICATION:
            raise WorkloadError(
                f"{e.scenario}: one replication would simulate about {_count(e.events)} events "
                f"({_count(e.arrivals)} arrivals over {e.simulated_years:g} years with the warm-up), about "
                f"{_duration(e.seconds)} and {_memory(e.memory_bytes)}; the limit is "
                f"{_count(MAX_EVENTS_PER_REPLICATION)} events a replication",
                "shorten {years}, lower the scenario's numbers, or add {force} to run it anyway",
            )
    runs = replications if runs_per_scenario is None else runs_per_scenario
    total = sum(e.events for e in estimates) * runs
    if total > MAX_EVENTS_TOTAL:
        raise WorkloadError(
            f"{len(estimates)} scenario(s) x {runs} replications would simulate about {_count(total)} events, "
            f"about {_duration(total * SECONDS_PER_EVENT)} of one core; the limit is {_count(MAX_EVENTS_TOTAL)} "
            "events a command",
            "fewer replications or years, or add {force} to run it anyway",
        )
    return estimates
