"""Validation (issue 6): the observed figures of the conceptual model (docs/conceptual-model.md
§5) beside the simulated ones, and how much of the Swedish effect each mechanism carries.

``welfare-sim validation`` runs the shipped Danish baseline and Swedish model (and one
variant of the Swedish model per mechanism, switched back to the baseline's setting) with
common random numbers and screens the uncertain parameters with the method of Morris
(:mod:`sim.experiments.sensitivity`); :mod:`sim.present.validation` writes
``docs/VALIDATION.md`` from it, with its figure ``docs/validation-sensitivity.png``. The
document is generated, never edited by hand: it names the replications, seed and commit it
came from. This module holds the checks, the mechanism and counterfactual variants and the
run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.batch import BatchSpec, ScenarioEntry, run_batch, scenario_entry
from sim.params import Scenario

BASELINE, SWEDISH = "danish_baseline", "swedish_model"
DEFAULT_SENSITIVITY_TRAJECTORIES = 6
"""Morris trajectories of the validation's global sensitivity section (``welfare-sim
sensitivity`` defaults to 10)."""


@dataclass(frozen=True)
class Check:
    """An observed figure, the indicator that measures it, and the tolerance it is held to.

    ``fitted`` says whether ``scripts/calibrate.py`` fits the scenarios to it (in sample: a
    pass shows the fit, not the model) or never sees it (out of sample: a test of the model)."""

    what: str
    scenario: str
    indicator: str  # a summary indicator, or one derived below ("time_in_care_years", ...)
    low: float
    high: float
    observed: str
    source: str
    fitted: bool = True

    def passes(self, mean: float) -> bool:
        return not math.isnan(mean) and self.low <= mean <= self.high


CHECKS: tuple[Check, ...] = (
    # The Danish baseline: the figures the calibration is fitted to (Danish statistics only).
    Check(
        "notifications per 1,000 children a year",
        BASELINE,
        "notifications_per_1000",
        120,
        140,
        "about 130",
        "Danmarks Statistik",
    ),
    Check(
        "cases per caseworker", BASELINE, "mean_caseload_cases", 30, 60, "30 on average, up to 60; Herning ~48", "003"
    ),
    Check("placed children per 1,000", BASELINE, "children_in_care_per_1000", 8, 12, "about 10", "Danmarks Statistik"),
    Check(
        "time in care (stock / inflow), years", BASELINE, "time_in_care_years", 3, 5, "about 4", "Danmarks Statistik"
    ),
    Check(
        "placed on 1 January who have left by 31 December (an end at 18 not counted)",
        BASELINE,
        "care_left_within_year_share",
        0.10,
        0.22,
        "16 % of the placed aged 0-22",
        "Danmarks Statistik",
    ),
    Check(
        "children placed all year who change placement type",
        BASELINE,
        "care_type_change_share",
        0.03,
        0.11,
        "about 7 %",
        "Danmarks Statistik",
    ),
    Check(
        "new entries into care that leave again within the year",
        BASELINE,
        "care_entries_left_within_year_share",
        0.25,
        0.45,
        "about a third (derived: new placements about 25 % of the stock a year, 16 % of the stock leaving)",
        "Danmarks Statistik",
        fitted=False,
    ),
    Check(
        "share of placed children in foster care",
        BASELINE,
        "care_days_share_foster",
        0.53,
        0.73,
        "63 %",
        "Danmarks Statistik",
    ),
    Check(
        "share of placed children in institutions",
        BASELINE,
        "care_days_share_institution",
        0.21,
        0.41,
        "17 % + 14 % care homes",
        "Danmarks Statistik",
    ),
    Check(
        "follow-up interval, days",
        BASELINE,
        "mean_followup_interval_days",
        120,
        190,
        "legal minimum every 6 months",
        "002",
        fitted=False,
    ),
    Check(
        "new measures followed up within 3 months of their start",
        BASELINE,
        "first_followup_within_3_months_share",
        0.44,
        0.75,
        "44 % (2020) to 75 % (2024) of the cases reviewed",
        "Ankestyrelsen",
        fitted=False,
    ),
    Check(
        "investigations done within the 4-month deadline",
        BASELINE,
        "investigations_within_deadline_share",
        0.50,
        0.60,
        "60 % (2021), 50 % (2024) of the cases reviewed",
        "Ankestyrelsen",
        fitted=False,
    ),
    Check("kinship share of placements", BASELINE, "placement_share_kinship", 0, 0.05, "under 1 in 20", "002"),
    Check("re-placements among placements", BASELINE, "replacement_share", 0.08, 0.14, "just over 1 in 10", "002"),
    # The Swedish model: never seen by the calibration (out of sample).
    Check(
        "cases per caseworker",
        SWEDISH,
        "mean_caseload_cases",
        15,
        25,
        "15-20 (Borås), about 24 (Herning)",
        "003, 002",
        fitted=False,
    ),
    Check(
        "follow-up interval, days",
        SWEDISH,
        "mean_followup_interval_days",
        30,
        100,
        "6 weeks (placements) to 3 months (preventive)",
        "002, 003",
        fitted=False,
    ),
    Check(
        "median institution stay, days",
        SWEDISH,
        "median_placement_days_institution",
        0,
        183,
        "mostly under 6 months",
        "002, 003",
        fitted=False,
    ),
    Check(
        "institution stays over a year (Kaplan-Meier share of stays)",
        SWEDISH,
        "placement_over_1y_share_institution",
        0,
        0.10,
        "rarely over 1 year",
        "002, 003",
        fitted=False,
    ),
    Check("kinship share of placements", SWEDISH, "placement_share_kinship", 0.10, 1, "over 1 in 10", "002", False),
    Check("re-placements among placements", SWEDISH, "replacement_share", 0.17, 0.25, "just over 1 in 5", "002", False),
    Check("spending on steps 1+2", SWEDISH, "cost_share_steps_1_2", 0.39, 0.49, "44 % (Borås)", "002", False),
    Check("spending on step 5", SWEDISH, "cost_share_step_5", 0.24, 0.34, "29 % (Borås)", "002", False),
)


def _derived(replications: pd.DataFrame, children: dict[str, int]) -> pd.DataFrame:
    out = replications.copy()
    out["notifications_per_1000"] = out["notifications_per_year"] / out["scenario"].map(children) * 1000
    out["time_in_care_years"] = out["children_in_care_mean"] / out["placements_per_year"]
    return out


MECHANISMS: dict[str, list[str]] = {
    # name: the sections or dotted fields that make the mechanism (taken from the other scenario)
    "follow-up schedule": ["followup"],
    "staffing and point cap": ["staffing.caseworkers", "assignment.point_cap"],
    "moving down (plan at every review, as due work)": [
        "practice.step_down_after_reviews",
        "practice.step_down_plan_priority",
    ],
    "institution plan at 6 months": ["practice.institution_plan_after_days"],
    "network search before placement": ["practice.network_search_before_placement"],
    "no intake desk": ["intake"],
    "early support when screened out": ["practice.early_support_when_screened_out"],
    "matching, second caseworker, political review": [
        "practice.matching_hours",
        "practice.second_caseworker_first_year_in_foster_care",
        "practice.political_review_every_days",
    ],
}
"""The Swedish model's mechanisms, each the fields in which it differs from the Danish baseline."""

SWEEP_FACTORS: tuple[float, ...] = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The staffing sweep of the Swedish practice: caseworkers as these factors of its own staffing,
without the point cap (under the cap, fewer caseworkers leave new cases waiting unserved without
end, which no municipality would keep up; the practice is what the sweep tests)."""

NOT_MET: dict[tuple[str, str], str] = {}
"""(scenario, indicator) of the *fitted* checks the calibration does not meet, with the reason; the
document prints them under the table, and tests/experiments/test_calibration.py leaves them out. Checks out of
sample are reported pass or fail, with a note in ``OUT_OF_SAMPLE_NOTES`` where they fail."""

OUT_OF_SAMPLE_NOTES: dict[tuple[str, str], str] = {
    (BASELINE, "care_entries_left_within_year_share"): (
        "the model's Danish care has too few short placements: a placement seldom ends within its first "
        "calendar year, since the Danish practice waits for two reviews six months apart before it plans a "
        "move down. The model has a mechanism for short placements, acute crises that end a placement when "
        "they pass (the family asks for the child home), but the shipped scenarios have none: a calibration "
        "with their share free chose 0.46 % of the notifications that open a case, moved the other values, "
        "and left this figure at 0.06; one with this figure as a target reached 0.24 with crises in 3.6 % "
        "of the notifications, and the time in care fell to 2.8 years, out of its range. The two figures pull "
        "apart in a model whose care ends at 18: Danmarks Statistik counts the placed aged 0-22, and young "
        "people who stay in care after 18 lengthen its time in care without a short placement to balance them"
    ),
    (BASELINE, "first_followup_within_3_months_share"): (
        "the model's Danish department follows up about 8 in 10 new measures within 3 months; the "
        "departments Ankestyrelsen reviewed, 44-75 %. The baseline has more hours to spare than they had: "
        "its 16 caseworkers carry about 44 cases each (the calibration chose 16 for about 48 cases, from an "
        "earlier initial stock); at 15 they carry about 48 and follow up about 59 % within 3 months, but "
        "with the stock derived at 15 the re-placements fall below their fitted range (7.7 %). The "
        "2020 figure also counts a follow-up that lacked the content the law asks for, which the model does "
        "not represent. How strained the Danish baseline is decides how much the Swedish staffing buys "
        "with the Danish practice (counterfactual (b)): README, 'Read the saving with care'"
    ),
    (BASELINE, "investigations_within_deadline_share"): (
        "the model moves an investigation up to deadline priority as its 4 months run out, and the Danish "
        "baseline has the hours to finish every one in time; Ankestyrelsen found about half of the "
        "investigations late. The model has no mechanism by which an investigation runs over for reasons "
        "other than hours (a statement from a school or a doctor that is late, a family that cannot be met), "
        "and its baseline is less strained than the departments reviewed (see the row above)"
    ),
    (SWEDISH, "median_placement_days_institution"): (
        "the practice as modelled plans the move out at the first monthly follow-up after 183 days "
        "(day 194 when follow-ups are on time), and the plan, the new placement and its matching take "
        "about 22 hours of casework after that, so a stay that lasts until the plan ends at about 200-220 "
        "days; more than half do, because about 9 in 10 children in an institution have needs that persist "
        "(calibrated on the Danish time in care) and do not improve sooner. The source's 'mostly under "
        "6 months' would need the plan made before the limit, or fewer persistent needs among the children "
        "placed in institutions than the Danish figures imply"
    ),
    (SWEDISH, "replacement_share"): (
        "the relapse after a move down is calibrated on the Danish share (about 1 in 10), and the Swedish "
        "follow-up two weeks after a move ends the doubled risk of an unsupported move down early; the model "
        "sends a child home only when the need seen is met there, so the Herning figure (just over 1 in 5) "
        "points to children sent home earlier, or at a higher need, than the model's rules allow"
    ),
    (SWEDISH, "cost_share_steps_1_2"): (
        "the Borås split is one Swedish municipality's spending, at Swedish prices and with its own range "
        "of preventive measures; with Danish unit costs and the same children as the Danish baseline, "
        "the Swedish practice's larger share in kinship and foster care (step 3-4) leaves steps 1+2 at "
        "about a third. The early support for screened-out children is priced; its only benefit in the "
        "model is that a met need rises more slowly than an unmet one"
    ),
    (SWEDISH, "cost_share_step_5"): (
        "as for steps 1+2: at Danish unit costs the planned moves out of institutions after 6 months "
        "shift spending from step 5 to foster care; the Borås figure is in Swedish prices, and Borås's "
        "children are not the Danish baseline's"
    ),
}
"""Why an out-of-sample check fails, where we know (printed under the table when it fails)."""


def _with_fields(target: Scenario, source: Scenario, fields: list[str], name: str, title: str) -> Scenario:
    """``target`` with the dotted ``fields`` (or whole sections) taken from ``source``."""
    data, src_data = target.model_dump(), source.model_dump()
    for field in fields:
        *parents, leaf = field.split(".")
        src, dst = src_data, data
        for key in parents:
            src, dst = src[key], dst[key]
        dst[leaf] = src[leaf]
    data["name"], data["title"] = name, title
    return type(target).model_validate(data)


def _entry(like: ScenarioEntry, scenario: Scenario) -> ScenarioEntry:
    return dataclasses.replace(like, name=scenario.name, scenario=scenario)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_").replace("__", "_")


def mechanism_entries(swedish: ScenarioEntry, baseline: ScenarioEntry) -> list[ScenarioEntry]:
    """Each mechanism switched off alone from the Swedish model (its fields from the baseline),
    then each switched on alone from the baseline (its fields from the Swedish model)."""
    entries = []
    for name, fields in MECHANISMS.items():
        off = _with_fields(swedish.scenario, baseline.scenario, fields, f"off_{_slug(name)}", f"Swedish without {name}")
        entries.append(_entry(swedish, off))
    for name, fields in MECHANISMS.items():
        on = _with_fields(baseline.scenario, swedish.scenario, fields, f"on_{_slug(name)}", f"Danish with {name}")
        entries.append(_entry(baseline, on))
    return entries


def counterfactual_entries(swedish: ScenarioEntry, baseline: ScenarioEntry) -> list[ScenarioEntry]:
    """(a) the Swedish practice at the baseline's staffing (its caseworkers and desk staff, as
    caseworkers) without the point cap; (c) the Swedish practice at fractions of its own staffing
    (:data:`SWEEP_FACTORS`), without the cap."""
    b = baseline.scenario
    headcount = b.staffing.caseworkers + (b.intake.desk_staff if b.intake.desk else 0)
    at_danish = swedish.scenario.with_overrides(
        **{"staffing.caseworkers": headcount, "assignment.point_cap": None, "name": "swedish_at_danish_staffing"}
    )
    entries = [_entry(swedish, at_danish)]
    own = swedish.scenario.staffing.caseworkers
    for factor in SWEEP_FACTORS:
        n = max(1, round(own * factor))
        over = {"staffing.caseworkers": n, "assignment.point_cap": None, "name": f"swedish_staff_{n}"}
        entries.append(_entry(swedish, swedish.scenario.with_overrides(**over)))
    return entries


def evaluate_checks(reps: pd.DataFrame) -> list[tuple[Check, float, float, float, bool]]:
    """Per check: (check, simulated mean, 95 % CI low, high, whether the mean passes), from
    the derived replications table (one row per scenario and replication)."""
    from sim.results.stats import mean_ci

    out = []
    for check in CHECKS:
        values = reps.loc[reps["scenario"] == check.scenario, check.indicator]
        mean, low, high, _ = mean_ci(values)
        out.append((check, mean, low, high, check.passes(mean)))
    return out


MEASURES = "cost_measures_per_year"
"""Spending on the children's measures (steps 1-5): what caseworker hours can save."""

HERNING_BEFORE, HERNING_PILOT = "herning_before", "herning_pilot"
HERNING_INVESTED_DKK = 9.0e6
HERNING_RETURN_DKK = 10.5e6
HERNING_YEARS = 4
HERNING_RATIO_RANGE = (0.5, 2.0)
"""Herning's business case (seed 002, docs/sources.md): about 9 M DKK invested over 4 years
for an expected 10.5 M DKK back, on a pilot with 20 % of the pupils. The check: the model's
return over the investment within a factor of 2 of Herning's (about 1.2)."""


def herning_ratio(case) -> tuple[float, float, float]:
    """(invested, returned, ratio) of a business case over its horizon: invested is the extra
    staff and implementation cost, returned the saving on interventions and placements (DKK)."""
    per = case.per_replication
    totals = per.groupby("replication")[["extra_staff", "implementation", "interventions", "placements"]].sum()
    invested = float((totals["extra_staff"] + totals["implementation"]).mean())
    returned = float(-(totals["interventions"] + totals["placements"]).mean())
    return invested, returned, returned / invested if invested else math.nan


@dataclass
class ValidationRun:
    """What :func:`run_validation` ran: the batch (and its spec), the Herning business case
    and the Morris screening where they were asked for; the presentation writes the document
    from it (:func:`sim.present.validation.write_validation`)."""

    result: Any  # the batch's BatchResult
    spec: BatchSpec
    command: str
    batch_out: Path
    seconds: float
    herning: Any = None  # a BusinessCase
    sensitivity: Any = None  # a SensitivityResult
    commit: str | None = None  # the code's commit when the run began (the document's own figure not yet written)


def run_validation(
    replications: int,
    years: float | None,
    seed: int,
    workers: int | None,
    batch_out: Path,
    command: str,
    progress: bool = False,
    sensitivity_trajectories: int = 0,
    herning_replications: int = 0,
) -> ValidationRun:
    """Run the validation batch into ``batch_out`` (and, with ``herning_replications`` > 0,
    the Herning business case into ``batch_out/herning``; with ``sensitivity_trajectories``
    > 0, the Morris screening of :mod:`sim.experiments.sensitivity`) and return what ran."""
    import time

    from sim.experiments.batch import _git_commit

    started = time.perf_counter()
    commit = _git_commit()
    baseline, swedish = scenario_entry(BASELINE), scenario_entry(SWEDISH)
    if sensitivity_trajectories:  # a parameter no longer marked uncertain stops us before the batch, not after
        from sim.experiments import sensitivity as morris

        morris.check_parameters(morris.PARAMETERS, baseline.scenario, [swedish.scenario])
    spec = BatchSpec(
        scenarios=[
            baseline,
            swedish,
            *mechanism_entries(swedish, baseline),
            *counterfactual_entries(swedish, baseline),
        ],
        replications=replications,
        years=years,
        seed=seed,
        write_tables=False,
    )
    if workers is not None:
        spec.workers = workers
    result = run_batch(spec, batch_out, progress=progress, command=[command])
    herning = None
    if herning_replications:
        from sim.experiments.business import run_business_case

        herning = run_business_case(
            HERNING_BEFORE,
            HERNING_PILOT,
            years=HERNING_YEARS,
            replications=herning_replications,
            seed=seed,
            workers=workers,
            out=batch_out / "herning",
            progress=progress,
            command=[command],
        )
    sensitivity = None
    if sensitivity_trajectories:
        from sim.experiments.sensitivity import run_morris

        sensitivity = run_morris(
            trajectories=sensitivity_trajectories, years=years, seed=seed, workers=workers, progress=progress
        )
    return ValidationRun(result, spec, command, batch_out, time.perf_counter() - started, herning, sensitivity, commit)
