"""Validation (issue 6): the observed figures of the conceptual model (docs/conceptual-model.md
§5) beside the simulated ones, and how much of the Swedish effect each mechanism carries.

``welfare-sim validation`` runs the shipped Danish baseline and Swedish model (and one
variant of the Swedish model per mechanism, switched back to the baseline's setting) with
common random numbers, screens the uncertain parameters with the method of Morris
(:mod:`sim.sensitivity`), and writes ``docs/VALIDATION.md`` with its figure
``docs/validation-sensitivity.png``. The document is generated,
never edited by hand: it names the replications, seed and commit it came from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.batch import BatchSpec, ScenarioEntry, _git_commit, run_batch, scenario_entry
from sim.output import atomic_write
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


def _percent(p: float) -> str:
    return f"{100 * p:.3g} %"


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
document prints them under the table, and tests/test_calibration.py leaves them out. Checks out of
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


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else (f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}")


HOURS_SHOWN: tuple[tuple[str, str], ...] = (
    ("standing", "standing hours of the open cases"),
    ("followup", "follow-up visits"),
    ("second_caseworker", "second caseworker (foster care, year 1)"),
    ("step_down_plan", "plans of moves down"),
    ("placement", "arranging and matching placements"),
    ("network_search", "network searches"),
    ("political_review", "political reviews"),
    ("preliminary_assessment", "preliminary assessments"),
    ("handover", "handovers from the intake desk"),
    ("investigation", "investigations"),
    ("acute_review", "acute reviews"),
    ("renotification", "notifications on open cases"),
)


def _m(value: float) -> str:
    return f"{value / 1e6:+.1f}" if not math.isnan(value) else "–"


def _interval_m(mean: float, low: float, high: float) -> str:
    return f"{_m(mean)} [{_m(low)}, {_m(high)}]"


def validation_markdown(
    result,
    spec: BatchSpec,
    command: str,
    seconds: float,
    sensitivity=None,
    figure: str | None = None,
    herning=None,
) -> str:
    """The validation document from the batch ``result`` of :func:`run_validation` (and the
    Herning business case and the Morris analysis, where run)."""
    from sim.results.stats import mean_ci

    children = {e.name: e.scenario.municipality.children for e in spec.scenarios}
    reps = _derived(result.replications, children)
    wide = reps.set_index(["scenario", "replication"])
    scenarios = {e.name: e.scenario for e in spec.scenarios}

    def paired(a: str, b: str, indicator: str = "cost_total_per_year"):
        return mean_ci(wide.loc[a, indicator] - wide.loc[b, indicator])

    def mean(name: str, indicator: str) -> float:
        return float(wide.loc[name, indicator].mean())

    saving_total = paired(BASELINE, SWEDISH)
    # What the hours buy: the saving on the children's measures (steps 1-5), staff and
    # implementation left out; the counterfactual and mechanism shares are of this saving.
    saving = paired(BASELINE, SWEDISH, MEASURES)
    lines = [
        "# Validation",
        "",
        "Generated by `" + command + "`: **do not edit by hand**; run the command again.",
        "",
        f"- Replications: {result.replications_used} per scenario, seed {spec.seed}, common random numbers; "
        f"{spec.years if spec.years is not None else 'the scenarios’ own'} measured years "
        "after each scenario's warm-up (from its steady-state initial stock).",
        f"- Commit: `{_git_commit() or 'unknown'}`; generated {dt.datetime.now().isoformat(timespec='seconds')} "
        f"in {seconds:.0f} s.",
        "- Observed figures: `docs/conceptual-model.md` §5 (sources, described in `docs/sources.md`: the seed "
        "documents 001-004 and public statistics). A check passes when the simulated mean lies within the stated "
        "range; the interval is the 95 % confidence interval over replications.",
        "- **Fitted** checks are the Danish figures `scripts/calibrate.py` fits the shared parameters to (a pass "
        "shows the fit, not the model). **Out of sample** checks are never seen by the calibration: the Swedish "
        "model's figures come out of its practice and staffing alone.",
        "",
        "## Observed against simulated",
        "",
        "| figure | scenario | observed | accepted range | simulated mean [95 % CI] | kind | result |",
        "|---|---|---|---|---|---|---|",
    ]
    passed = {True: 0, False: 0}
    total = {True: 0, False: 0}
    failed_out = []
    for check, m, low, high, ok in evaluate_checks(reps):
        passed[check.fitted] += ok
        total[check.fitted] += 1
        if not ok and not check.fitted:
            failed_out.append(check)
        lines.append(
            f"| {check.what} | {check.scenario} | {check.observed} ({check.source}) | "
            f"{_fmt(check.low)} to {_fmt(check.high)} | {_fmt(m)} [{_fmt(low)}, {_fmt(high)}] | "
            f"{'fitted' if check.fitted else 'out of sample'} | {'pass' if ok else '**fail**'} |"
        )
    lines += [
        "",
        f"{passed[True] + passed[False]} of {len(CHECKS)} checks pass: {passed[True]} of {total[True]} fitted, "
        f"{passed[False]} of {total[False]} out of sample.",
        "",
    ]
    if NOT_MET:
        lines += ["Fitted checks the calibration does not meet:", ""]
        for (scenario, indicator), reason in NOT_MET.items():
            what = next(c.what for c in CHECKS if c.scenario == scenario and c.indicator == indicator)
            lines.append(f"- {what} ({scenario}): {reason}.")
        lines.append("")
    if failed_out:
        lines += ["Out-of-sample checks that fail:", ""]
        for check in failed_out:
            why = OUT_OF_SAMPLE_NOTES.get((check.scenario, check.indicator), "not explained yet")
            lines.append(f"- {check.what} ({check.scenario}): {why}.")
        lines.append("")

    # ------------------------------------------------------------------ hours
    at_danish = "swedish_at_danish_staffing"
    shown = [(BASELINE, "Danish baseline"), (SWEDISH, "Swedish model"), (at_danish, "Swedish at Danish staffing")]
    lines += [
        "## Caseworker hours",
        "",
        "The share of the district caseworkers' casework hours used (utilisation), in all and by kind of work, "
        "over the measured years; above 100 % the standing work of the caseload no longer fits beside the least "
        "share of hours that always goes to tasks. The intake desk's hours are not included.",
        "",
        "| | " + " | ".join(label for _, label in shown) + " |",
        "|---|" + "---:|" * len(shown),
        "| caseworkers | " + " | ".join(f"{scenarios[n].staffing.caseworkers}" for n, _ in shown) + " |",
        "| cases per caseworker | " + " | ".join(f"{mean(n, 'mean_caseload_cases'):.1f}" for n, _ in shown) + " |",
        "| **utilisation** | "
        + " | ".join(f"**{100 * mean(n, 'caseworker_utilisation'):.0f} %**" for n, _ in shown)
        + " |",
    ]
    for kind, label in HOURS_SHOWN:
        column = f"hours_share_{kind}"
        lines.append(f"| {label} | " + " | ".join(f"{100 * mean(n, column):.1f} %" for n, _ in shown) + " |")
    lines += [
        "| follow-ups on time | "
        + " | ".join(f"{100 * mean(n, 'followup_on_time_share'):.0f} %" for n, _ in shown)
        + " |",
        "| achieved follow-up interval, days | "
        + " | ".join(f"{mean(n, 'mean_followup_interval_days'):.0f}" for n, _ in shown)
        + " |",
        "",
    ]

    # ------------------------------------------------------------------ counterfactuals
    a = paired(at_danish, SWEDISH, MEASURES)
    kept_a = 1 - a[0] / saving[0] if saving[0] else math.nan
    b_name = f"on_{_slug('staffing and point cap')}"
    b = paired(BASELINE, b_name, MEASURES)
    bought_b = b[0] / saving[0] if saving[0] else math.nan
    staff = paired(SWEDISH, BASELINE, "cost_staff_per_year")
    lines += [
        "## Where the saving comes from: counterfactuals",
        "",
        "The saving on measures, the baseline's spending on the children's measures (steps 1-5) minus the "
        f"Swedish model's (paired): **{_interval_m(*saving[:3])} M DKK a year**. It is what the hours buy; the "
        f"Swedish staffing costs {_interval_m(*staff[:3])} M DKK a year more, so the total saving, the "
        f"baseline's total cost minus the Swedish model's, is **{_interval_m(*saving_total[:3])} M DKK a year**. "
        "The shares below are of the saving on measures.",
        "",
        "| counterfactual | measures, M DKK/yr | difference to the Swedish model | share of the saving kept | "
        "total cost, M DKK/yr | follow-ups on time | achieved follow-up interval, days |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label, kept in (
        (SWEDISH, "Swedish model", 1.0),
        (
            at_danish,
            f"(a) Swedish practice at the baseline's staffing ({scenarios[at_danish].staffing.caseworkers} "
            "caseworkers, no cap)",
            kept_a,
        ),
        (
            b_name,
            f"(b) Danish practice at the Swedish staffing ({scenarios[b_name].staffing.caseworkers} caseworkers, cap)",
            bought_b,
        ),
        (BASELINE, "Danish baseline", 0.0),
    ):
        diff = paired(name, SWEDISH, MEASURES)
        lines.append(
            f"| {label} | {mean(name, MEASURES) / 1e6:.1f} | {_interval_m(*diff[:3])} | "
            f"{100 * kept:.0f} % | {mean(name, 'cost_total_per_year') / 1e6:.1f} | "
            f"{100 * mean(name, 'followup_on_time_share'):.0f} % | "
            f"{mean(name, 'mean_followup_interval_days'):.0f} |"
        )
    lines += [
        "",
        (
            f"(a) keeps {100 * kept_a:.0f} % of the saving on measures"
            if kept_a > 0
            else "(a) keeps none of the saving on measures: without its hours the Swedish practice spends "
            f"{-(saving[0] - a[0]) / 1e6:.1f} M DKK a year more on measures than the Danish baseline"
        )
        + f"; (b) buys {100 * bought_b:.0f} % of it. The practice without the hours and the hours without the "
        "practice each give at most a part of the saving, not the whole.",
        "",
        "(c) The Swedish practice at fewer caseworkers than it needs (without the point cap, which would leave new "
        "cases waiting without end; the last column is the mean number of cases waiting for a caseworker):",
        "",
        "| caseworkers | cases per caseworker | total cost, M DKK/yr [95 % CI] | difference to its own staffing | "
        "follow-ups on time | plans dropped per year | waiting |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sweep = sorted(
        [n for n in scenarios if n.startswith("swedish_staff_")] + [SWEDISH],
        key=lambda n: scenarios[n].staffing.caseworkers,
    )
    for name in sweep:
        cost = mean_ci(wide.loc[name, "cost_total_per_year"])
        diff = paired(name, SWEDISH) if name != SWEDISH else (0.0, 0.0, 0.0, 0)
        lines.append(
            f"| {scenarios[name].staffing.caseworkers}{' (its own)' if name == SWEDISH else ''} | "
            f"{mean(name, 'mean_caseload_cases'):.1f} | "
            f"{cost[0] / 1e6:.1f} [{cost[1] / 1e6:.1f}, {cost[2] / 1e6:.1f}] | "
            f"{_interval_m(*diff[:3])} | {100 * mean(name, 'followup_on_time_share'):.0f} % | "
            f"{mean(name, 'plans_dropped_per_year'):.0f} | {mean(name, 'waiting_list_mean'):.0f} |"
        )
    lines.append("")

    # ------------------------------------------------------------------ mechanisms
    lines += [
        "## Which mechanism carries the effect, from both ends",
        "",
        "Each mechanism is switched **on alone** in the Danish baseline (its fields taken from the Swedish model) "
        "and switched **off alone** in the Swedish model (its fields taken from the baseline). Money is spending on "
        "measures (steps 1-5, staff left out), and the shares are of the saving on measures above; they need not "
        "add up to 100 %, since the mechanisms interact (the frequent follow-ups "
        "are worth little without the hours to keep them, and the hours little without a practice that uses them).",
        "",
        "| mechanism | on alone in the baseline: saving on measures, M DKK/yr [95 % CI] | share | off alone in "
        "the Swedish model: spending given back, M DKK/yr [95 % CI] | share | follow-ups on time (on / off) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mech in MECHANISMS:
        on, off = f"on_{_slug(mech)}", f"off_{_slug(mech)}"
        got = paired(BASELINE, on, MEASURES)
        back = paired(off, SWEDISH, MEASURES)
        lines.append(
            f"| {mech} | {_interval_m(*got[:3])} | {100 * got[0] / saving[0]:.0f} % | {_interval_m(*back[:3])} | "
            f"{100 * back[0] / saving[0]:.0f} % | {100 * mean(on, 'followup_on_time_share'):.0f} % / "
            f"{100 * mean(off, 'followup_on_time_share'):.0f} % |"
        )
    lines += [
        f"| (everything) | {_interval_m(*saving[:3])} | 100 % | {_interval_m(*saving[:3])} | 100 % | "
        f"{100 * mean(SWEDISH, 'followup_on_time_share'):.0f} % / "
        f"{100 * mean(BASELINE, 'followup_on_time_share'):.0f} % |",
        "",
    ]
    if herning is not None:
        lines += herning_section(herning)
    lines += sensitivity_section(sensitivity, figure)
    return "\n".join(lines)


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


def herning_section(case) -> list[str]:
    """The out-of-sample check against Herning's business case."""
    from sim.results.stats import mean_ci

    invested, returned, ratio = herning_ratio(case)
    per = case.per_replication.groupby("replication")[["net"]].sum()["net"]
    net = mean_ci(per)
    low, high = HERNING_RATIO_RANGE
    ok = low <= ratio <= high
    return [
        "## Herning's business case, out of sample",
        "",
        f"`herning_before` against `herning_pilot`: the Danish practice in all of a municipality of Herning's size, "
        f"against the same municipality whose pilot districts (20 % of the children) switch at the start to the "
        f"Swedish practice with twice their caseworkers (8 instead of 4; KORA), {case.replications} paired "
        f"replications of {HERNING_YEARS} years from the Danish steady state. Nothing of this was fitted.",
        "",
        "| | model, 4 years | Herning (seed 002) |",
        "|---|---:|---:|",
        f"| invested (extra staff and implementation), M DKK | {invested / 1e6:.1f} | about "
        f"{HERNING_INVESTED_DKK / 1e6:g} |",
        f"| returned (saving on interventions and placements), M DKK | {returned / 1e6:.1f} | "
        f"{HERNING_RETURN_DKK / 1e6:g} expected |",
        f"| return over investment | {ratio:.2f} | {HERNING_RETURN_DKK / HERNING_INVESTED_DKK:.2f} |",
        f"| net over the 4 years, M DKK [95 % CI] | {_interval_m(*net[:3])} | "
        f"{(HERNING_INVESTED_DKK - HERNING_RETURN_DKK) / 1e6:+.1f} |",
        "",
        f"Check: the model's return over investment within {low:g} to {high:g}: **{'pass' if ok else 'fail'}**.",
        "",
    ]


def _effect(value: float, scale: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    value *= scale
    return f"{value:,.0f}" if abs(value) >= 100 else (f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}")


def sensitivity_section(sensitivity, figure: str | None, top: int | None = None) -> list[str]:
    """The section "Global sensitivity (Morris)": method, parameters and ranges, the top
    parameters per indicator and the ranking figure; or a sentence saying it was skipped."""
    from sim import sensitivity as morris

    lines = ["## Global sensitivity (Morris)", ""]
    if sensitivity is None:
        return lines + [
            "Skipped in this run (`--sensitivity-trajectories 0`); `welfare-sim sensitivity` runs it on its own.",
            "",
        ]
    top = top or morris.TOP
    k = len(sensitivity.parameters)
    years = f"{sensitivity.years:g}" if sensitivity.years is not None else "the scenarios’ own"
    lines += [
        f"Morris elementary effects (SALib) of the main indicators to {k} uncertain parameters: those the scenario "
        "files mark `assumption:` or `calibrated:` that plausibly matter. "
        f"{sensitivity.trajectories} trajectories of {k + 1} points on a {sensitivity.levels}-level grid "
        f"({len(sensitivity.points)} points), each point run for the Danish baseline and the Swedish model "
        f"({sensitivity.runs} runs, {years} measured years after each scenario's warm-up, "
        f"{sensitivity.seconds:.0f} s on {sensitivity.workers} worker(s)). "
        f"Every point of trajectory *t* uses the seed [{sensitivity.seed}, *t*] in both scenarios (common random "
        "numbers): an elementary effect compares runs that meet the same children with the same draws, and the "
        "Swedish saving is a paired difference.",
        "",
        "A parameter is a factor on the scenario's own value, drawn from the range below (probabilities clipped to "
        "1); it applies in every scenario whose note marks the field uncertain, so the Danish policy "
        "probabilities vary the baseline only (the Swedish model's come from a source). "
        "μ* is the mean absolute elementary effect, in the indicator's units over the parameter's whole range "
        "(the change divided by the grid step on the unit scale); ± is the half-width of its 95 % bootstrap "
        f"interval ({morris.RESAMPLES:,} resamples); μ is the signed mean (its sign: the direction of the effect); "
        "σ, the spread of the effects, shows non-linearity or interaction. "
        "With few trajectories the ranking is a screening, not a precise measure: read the top, not the decimals.",
        "",
        "| parameter | value in the baseline | factor range | varied in | why this range |",
        "|---|---|---|---|---|",
    ]
    for p in sensitivity.parameters:
        values = sensitivity.baseline_values[p.name]
        shown = ", ".join(_fmt(v) for v in values)
        if len(values) == 1:
            low, high = values[0] * p.low, values[0] * p.high
            upper = morris._upper_bound(morris._split(p.fields[0])[0])
            high = min(high, upper) if upper is not None else high
            shown += f" ({_fmt(low)} to {_fmt(high)})"
        varied = ", ".join(sensitivity.varied[p.name]) or "none"
        lines.append(f"| `{p.name}` | {shown} | ×{p.low:g} to ×{p.high:g} | {varied} | {p.why} |")
    lines += [
        "",
        f"The {top} most influential parameters per indicator:",
        "",
        "| indicator | unit | rank | parameter | μ* ± 95 % | μ | σ |",
        "|---|---|---|---|---|---|---|",
    ]
    for output in sensitivity.outputs:
        unit, scale = morris.unit_and_scale(output)
        for _, row in sensitivity.top(output.name, top).iterrows():
            lines.append(
                f"| {output.label} | {unit} | {int(row['rank'])} | `{row['parameter']}` | "
                f"{_effect(row['mu_star'], scale)} ± {_effect(row['mu_star_conf'], scale)} | "
                f"{_effect(row['mu'], scale)} | {_effect(row['sigma'], scale)} |"
            )
    lines.append("")
    if figure:
        lines += [
            f"![Morris ranking: μ* of every uncertain parameter with its 95 % bootstrap interval, one panel per "
            f"indicator]({figure})",
            "",
        ]
    return lines


def run_validation(
    replications: int,
    years: float | None,
    seed: int,
    workers: int | None,
    out: Path,
    batch_out: Path,
    command: str,
    progress: bool = False,
    sensitivity_trajectories: int = 0,
    herning_replications: int = 0,
) -> tuple[Path, int, int]:
    """Run the validation batch (and, with ``sensitivity_trajectories`` > 0, the Morris
    screening of :mod:`sim.sensitivity`) and write the document; returns (path, checks
    passed, checks). The sensitivity's files go to ``batch_out/sensitivity/``, its figure
    beside the document as ``<document stem, lower case>-sensitivity.png``."""
    import time

    started = time.perf_counter()
    baseline, swedish = scenario_entry(BASELINE), scenario_entry(SWEDISH)
    if sensitivity_trajectories:  # a parameter no longer marked uncertain stops us before the batch, not after
        from sim import sensitivity as morris

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
        from sim.business import run_business_case

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
    sensitivity, figure = None, None
    if sensitivity_trajectories:
        from sim.output import atomic_folder
        from sim.plots import save_figure
        from sim.sensitivity import plot_ranking, run_morris, write_sensitivity

        sensitivity = run_morris(
            trajectories=sensitivity_trajectories, years=years, seed=seed, workers=workers, progress=progress
        )
        with atomic_folder(batch_out / "sensitivity") as tmp:
            write_sensitivity(sensitivity, tmp, command=[command])
        figure = f"{out.stem.lower()}-sensitivity.png"
        save_figure(plot_ranking(sensitivity), out.parent / figure)
    text = validation_markdown(
        result, spec, command, time.perf_counter() - started, sensitivity=sensitivity, figure=figure, herning=herning
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, text.encode("utf-8"))
    passed = text.count("| pass |")
    return out, passed, len(CHECKS)
