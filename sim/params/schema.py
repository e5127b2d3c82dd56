"""The scenario schema: pydantic v2 models of every section of a scenario file, validated once
at the edge and then frozen (reading files is :mod:`sim.params.loading`).

Every section may carry a ``source`` table that maps a field of that section to a
note saying where its value comes from: ``"source: ..."`` (the seed material or public
statistics), ``"assumption: ..."`` or ``"calibrated: ..."``.

Errors are raised as :class:`~sim.params.errors.ScenarioError`, whose text is one line naming
the file and the dotted field, e.g. ``scenarios/x.toml: staffing.caseworkers: must be > 0, got -3``.

Hostile input (issue 11): every number has a finite range (stated in its field's
description) and a strict type (``caseworkers = true`` or ``1.5`` is refused, not
converted); a scenario's ``name`` is an identifier, since it names output folders.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.constants import DAYS_PER_YEAR, STEP_NAMES
from sim.params.errors import ScenarioError, _first_error, _short

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A scenario's name in a file: an identifier (it names output folders and files)."""

DERIVED_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
"""A name the program derives (``herning.north`` for a district, ``x-share-0.25`` for a
sweep): identifiers joined by dots, still one safe folder name (no ``/``, never ``..``)."""

TEN_YEARS_DAYS = 10 * DAYS_PER_YEAR
CHILDHOOD_DAYS = 18 * DAYS_PER_YEAR

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

# Ranges of issue 11 (every number finite; each field's description states its range).
RatePerYear = Annotated[float, Field(ge=0, le=52)]  # a change of need at most weekly
TaskHours = Annotated[float, Field(ge=0, le=500)]  # one task: at most three months of full-time work
StandingHours = Annotated[float, Field(ge=0, le=40)]  # one case's standing work: at most a working week
Interval = Annotated[float, Field(ge=1, le=TEN_YEARS_DAYS)]  # days between visits or to a deadline
CasePoints = Annotated[float, Field(ge=0, le=1000)]
StaffCount = Annotated[int, Field(gt=0, le=10_000)]
StaffCount0 = Annotated[int, Field(ge=0, le=10_000)]


class Section(BaseModel):
    """A table of a scenario file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    source: dict[str, str] = Field(
        default_factory=dict,
        description="Where each value of this section comes from: field name -> note "
        "('source: ...', 'assumption: ...' or 'calibrated: ...').",
    )

    @model_validator(mode="after")
    def _source_names_fields(self) -> Section:
        unknown = sorted(set(self.source) - set(type(self).model_fields) - {"source"})
        if unknown:
            raise ValueError(f"source.{unknown[0]}: a note for a field this section does not have")
        return self


class Run(Section):
    years: Annotated[float, Field(ge=0.01, le=100)] = Field(
        10.0,
        description="Measured simulation length in years, after the warm-up (years; 0.01 to 100: a century is "
        "beyond any plan).",
    )
    warmup_years: Annotated[float, Field(ge=0, le=50)] = Field(
        2.0, description="Years simulated before measurement starts; cut from every result (years; 0 to 50)."
    )
    snapshot_interval_days: Annotated[float, Field(ge=1, le=DAYS_PER_YEAR)] = Field(
        7.0,
        description="Days between caseload snapshots of every caseworker (days; 1 to 365.25, and at most the "
        "measured length: a finer or coarser look says nothing more).",
    )

    @model_validator(mode="after")
    def _snapshots_fit(self) -> Run:
        if self.snapshot_interval_days > self.years * DAYS_PER_YEAR:
            raise ValueError(
                f"snapshot_interval_days: must be at most the measured length (run.years = {self.years:g}: "
                f"{self.years * DAYS_PER_YEAR:g} days), got {self.snapshot_interval_days:g}"
            )
        return self


class Municipality(Section):
    children: Annotated[int, Field(ge=1, le=1_500_000)] = Field(
        20000,
        description="Children aged 0-17 living in the municipality (count; 1 to 1,500,000: more than all of "
        "Denmark's, about 1.2 million).",
    )


class Arrivals(Section):
    notifications_per_1000_children_per_year: Annotated[float, Field(ge=0, le=5000)] = Field(
        130.0,
        description="Notifications (underretninger) per 1,000 children per year (0 to 5,000: five a child a year, "
        "far above any municipality's, Denmark's average being about 130, and room for queueing-theory checks).",
    )
    repeat_notification_share: Probability = Field(
        0.43,
        description="Share of notifications that concern a child who already has an open case "
        "(share, 0-1); 1.75 notifications per notified child gives 1 - 1/1.75.",
    )
    known_child_share: Probability = Field(
        0.3,
        description="Share of notifications not about an open case that concern a child whose "
        "earlier case has closed (share, 0-1).",
    )
    applications_per_1000_children_per_year: Annotated[float, Field(ge=0, le=5000)] = Field(
        8.0, description="Applications for help from families per 1,000 children per year (0 to 5,000)."
    )
    urgent_share: Probability = Field(
        0.1, description="Share of new notifications that are urgent (assessed within 24 hours)."
    )
    seasonality: list[Annotated[float, Field(ge=0.01, le=4)]] = Field(
        default_factory=lambda: [1.0] * 12,
        description="Monthly multipliers of the arrival rates (12 values, mean 1; each 0.01 to 4: four "
        "times a month's share of the year; dimensionless).",
    )

    @model_validator(mode="after")
    def _twelve_months(self) -> Arrivals:
        if len(self.seasonality) != 12:
            raise ValueError(f"seasonality: must have 12 monthly values, got {len(self.seasonality)}")
        return self


class Children(Section):
    age_min_years: Annotated[int, Field(ge=0, le=17)] = Field(
        0, description="Youngest age at first notification (years, 0 to 17)."
    )
    age_max_years: Annotated[int, Field(ge=0, le=17)] = Field(
        17, description="Oldest age at first notification (years, 0 to 17); children leave the system at 18."
    )
    initial_need_probabilities: list[Probability] = Field(
        default_factory=lambda: [0.45, 0.30, 0.13, 0.06, 0.04, 0.02],
        description="Probability of need level 0..5 for a newly notified child (6 values, sum 1).",
    )
    screen_out_probability_by_need: list[Probability] = Field(
        default_factory=lambda: [0.9, 0.4, 0.1, 0.0, 0.0, 0.0],
        description="Probability that the preliminary assessment screens out a child of need 0..5.",
    )
    kinship_available_probability: Probability = Field(
        0.5,
        description="Probability that a network search finds a suitable kinship or network placement (share, 0-1).",
    )
    network_comes_forward_probability: Probability = Field(
        0.0,
        description="Probability that a suitable kinship or network placement comes forward by itself, "
        "without a network search (share, 0-1, of the children for whom one exists).",
    )
    persistent_need_share: Probability = Field(
        0.0,
        description="Share of children whose need persists for years whatever is done (share, 0-1): "
        "a need of theirs at placement level (3 or more) falls at need.improve_rate_per_year_when_met "
        "times persistent_improve_rate_factor.",
    )
    crisis_share: Probability = Field(
        0.0,
        description="Share of notifications opening a case that come with an acute crisis (share, 0-1): the "
        "child's need is raised by crisis_need_levels (at most to 5) until the crisis passes, and the "
        "notification is urgent (docs/conceptual-model.md §3.5).",
    )
    crisis_need_levels: Annotated[int, Field(ge=0, le=5)] = Field(
        3, description="Levels of need an acute crisis adds while it lasts (levels, 0 to 5)."
    )
    crisis_resolve_rate_per_year: RatePerYear = Field(
        4.0,
        description="Rate (per year) at which an acute crisis passes, whatever the step (0 to 52: weekly; "
        "4 is a mean of 3 months): the need falls back by the levels the crisis added.",
    )
    persistent_improve_rate_factor: Probability = Field(
        1.0,
        description="Factor on the rate at which a met need falls, for a child whose need persists "
        "(dimensionless, 0-1; 1 = no different from other children).",
    )

    @model_validator(mode="after")
    def _vectors(self) -> Children:
        if len(self.initial_need_probabilities) != 6:
            raise ValueError("initial_need_probabilities: must have 6 values (need 0..5)")
        if abs(sum(self.initial_need_probabilities) - 1.0) > 1e-6:
            raise ValueError(f"initial_need_probabilities: must sum to 1, got {sum(self.initial_need_probabilities):g}")
        if len(self.screen_out_probability_by_need) != 6:
            raise ValueError("screen_out_probability_by_need: must have 6 values (need 0..5)")
        if self.age_min_years > self.age_max_years:
            raise ValueError("age_min_years: must be <= age_max_years")
        return self


class Need(Section):
    improve_rate_per_year_when_met: list[RatePerYear] = Field(
        default_factory=lambda: [0.8, 0.8, 0.5, 0.5, 2.0],
        description="Rate (per year) at which the need falls one level while the step meets it, for steps 1..5 "
        "(each 0 to 52: weekly).",
    )
    improve_rate_per_year_unmet: RatePerYear = Field(
        0.2, description="Rate (per year) at which the need falls one level while unmet (0 to 52: weekly)."
    )
    worsen_rate_per_year_unmet: RatePerYear = Field(
        1.0, description="Rate (per year) at which the need rises one level while unmet (0 to 52: weekly)."
    )
    worsen_rate_per_year_met: RatePerYear = Field(
        0.1, description="Rate (per year) at which the need rises one level while met (0 to 52: weekly)."
    )
    relapse_rate_per_year_after_step_down: RatePerYear = Field(
        1.0,
        description="Extra rate (per year) of a rise in need during the window after a step down or a return home "
        "(0 to 52: weekly).",
    )
    relapse_window_days: Annotated[float, Field(ge=0, le=TEN_YEARS_DAYS)] = Field(
        180.0,
        description="Days after a step down during which the relapse rate applies (days; 0 to 3,652.5: ten years).",
    )
    unsupported_relapse_factor: Annotated[float, Field(ge=1.0, le=20.0)] = Field(
        1.0,
        description="Factor on the relapse rate after a move down, from the move until the first "
        "follow-up after it that is done with its full hours (dimensionless, 1 to 20): a move down without "
        "the early follow-up carries a higher relapse risk (docs/conceptual-model.md §3.6).",
    )
    acute_probability_when_unmet: Probability = Field(
        0.4,
        description="Probability that a rise of the need above what the step meets is reported "
        "at once as an acute event (school, police, placement).",
    )

    @model_validator(mode="after")
    def _five(self) -> Need:
        if len(self.improve_rate_per_year_when_met) != 5:
            raise ValueError("improve_rate_per_year_when_met: must have 5 values (steps 1..5)")
        return self


class Step(Section):
    label: str = Field(..., description="Readable name of the ladder step.")
    cost_dkk_per_year: Annotated[float, Field(ge=0, le=100_000_000)] = Field(
        ...,
        description="Cost of one child on this step (DKK per year; 0 to 100 million: fifty times the dearest "
        "institution place).",
    )
    standing_hours_per_week: StandingHours = Field(
        ...,
        description="Caseworker hours per week that an open case on this step costs before any "
        "visit (documentation, calls, meetings; hours per week, 0 to 40: a working week).",
    )
    followup_hours: TaskHours = Field(
        ..., description="Caseworker hours of one follow-up visit (hours; 0 to 500: three months' work)."
    )


class Ladder(Section):
    early_support: Step
    home_support: Step
    kinship: Step
    foster: Step
    institution: Step

    def step(self, number: int) -> Step:
        step: Step = getattr(self, STEP_NAMES[number - 1])
        return step


class Schedule(Section):
    first_days: Interval = Field(
        ..., description="Days from the start of the step to the first follow-up (days; 1 to 3,652.5: ten years)."
    )
    every_days: Interval = Field(..., description="Days between later follow-ups (days; 1 to 3,652.5: ten years).")
    after_first_year_every_days: Interval | None = Field(
        None,
        description="Days between follow-ups once the child has been on the step a year (optional; days, 1 to "
        "3,652.5).",
    )


class Followup(Section):
    early_support: Schedule
    home_support: Schedule
    kinship: Schedule
    foster: Schedule
    institution: Schedule
    on_time_grace_days: Annotated[float, Field(ge=0, le=DAYS_PER_YEAR)] = Field(
        7.0,
        description="A follow-up counts as on time when done at most this many days after it was due "
        "(days; 0 to 365.25).",
    )
    legal_interval_days: Interval = Field(
        183.0, description="Legal maximum interval between follow-ups (days; 6 months; 1 to 3,652.5)."
    )

    def schedule(self, number: int) -> Schedule:
        schedule: Schedule = getattr(self, STEP_NAMES[number - 1])
        return schedule


class Practice(Section):
    """What a review sets out to do, and which elements a way of working has
    (docs/conceptual-model.md §3.6 and §3.10). Every element costs caseworker hours each time
    it is used. None of these fields is the probability that a decision is right: whether an
    intended move happens comes out of the hours (a plan not started before the next
    follow-up is dropped) and the schedules."""

    step_down_after_reviews: Annotated[int, Field(ge=1, le=6)] = Field(
        1,
        description="How many reviews in a row must find a child over-served (its step above the "
        "lowest that meets the need seen) before a review sets out to prepare a move down "
        "(count, 1 to 6; 1 = at every review that finds it, the Swedish practice; 2 = wait and see).",
    )
    step_down_plan_priority: Literal["due", "when_time_allows"] = Field(
        "due",
        description="How urgent the plan of a move down is in the caseworker's queue: 'due' work, "
        "first come first served with follow-ups, or 'when_time_allows', after every other task. "
        "Either way a plan not started before the next follow-up is due is dropped.",
    )
    institution_plan_after_days: Annotated[float, Field(ge=1, le=CHILDHOOD_DAYS)] | None = Field(
        None,
        description="Days into an institution stay after which a review plans a move to a receiving "
        "placement (foster care or lower) whatever the need seen: an aim that triggers a plan (hours and "
        "a receiving placement), not a forced move (none = no such plan; days, 1 to 6,574.5: a childhood).",
    )
    network_search_before_placement: bool = Field(
        False,
        description="Whether the family network is searched (hours) before a placement that kinship "
        "care could meet; without a search, kinship care is used only when the network comes forward "
        "by itself (children.network_comes_forward_probability).",
    )
    matching_hours: TaskHours = Field(
        0.0,
        description="Extra caseworker hours spent matching each new placement to the child, on top "
        "of hours.placement_hours (hours; 0 to 500).",
    )
    second_caseworker_first_year_in_foster_care: bool = Field(
        False,
        description="Whether a second caseworker follows the foster family in the first year of a "
        "foster placement: the standing hours and every follow-up visit of the step again, for a "
        "second caseworker.",
    )
    political_review_every_days: Interval | None = Field(
        None,
        description="Days between the political reviews of every placement (a report by the "
        "caseworker, hours.political_review_hours each; none = no such review; days, 1 to 3,652.5).",
    )
    early_support_when_screened_out: bool = Field(
        False,
        description="Whether a notified child with a need whom the preliminary assessment would "
        "screen out is offered early preventive support (step 1, with the team partners) instead.",
    )


class Assignment(Section):
    point_cap: Annotated[float, Field(gt=0, le=100_000)] | None = Field(
        None, description="Most points a caseworker may carry (none = no cap; Borås: 120 points; at most 100,000)."
    )
    points_investigation_notification: CasePoints = Field(
        9, description="Points of an investigation from a notification (0 to 1,000)."
    )
    points_investigation_application: CasePoints = Field(
        6, description="Points of an investigation from an application (0 to 1,000)."
    )
    points_placement: CasePoints = Field(6, description="Points of a placement case (steps 3-5; 0 to 1,000).")
    points_intervention: CasePoints = Field(
        4, description="Points of an in-home intervention case (steps 1-2; 0 to 1,000)."
    )
    points_preliminary_assessment: CasePoints = Field(
        2, description="Points of a case in preliminary assessment (0 to 1,000)."
    )

    def heaviest_case_points(self) -> float:
        return max(
            self.points_investigation_notification,
            self.points_investigation_application,
            self.points_placement,
            self.points_intervention,
            self.points_preliminary_assessment,
        )


class Intake(Section):
    desk: bool = Field(False, description="Whether an intake desk screens notifications before a caseworker.")
    desk_staff: StaffCount0 = Field(0, description="Intake desk staff (count; 0 to 10,000).")
    handover_delay_days: Annotated[float, Field(ge=0, le=DAYS_PER_YEAR)] = Field(
        7.0,
        description="Days from the intake desk's assessment until the case reaches a caseworker (days; 0 to 365.25).",
    )
    handover_hours: TaskHours = Field(
        2.0, description="Caseworker hours spent reading into a case handed over from the desk (hours; 0 to 500)."
    )

    @model_validator(mode="after")
    def _desk_has_staff(self) -> Intake:
        if self.desk and self.desk_staff < 1:
            raise ValueError("desk_staff: must be >= 1 when desk = true")
        return self


class Staffing(Section):
    caseworkers: StaffCount = Field(
        ..., description="District caseworkers (count; 1 to 10,000: Copenhagen employs well under 1,000)."
    )
    hours_per_week: Annotated[float, Field(ge=1, le=80)] = Field(
        37.0, description="Contract hours per caseworker (hours per week; 1 to 80)."
    )
    case_hours_share: Annotated[float, Field(ge=0.01, le=1)] = Field(
        0.8,
        description="Share of contract hours available for casework (the rest: admin, training; share, 0.01-1: "
        "a caseworker with no casework hours never finishes a task).",
    )
    min_task_hours_share: Annotated[float, Field(ge=0.01, le=1)] = Field(
        0.15,
        description="Share of casework hours that always goes to visits and tasks, however much "
        "standing work the caseload brings (share, 0.01-1: with none, tasks would never end).",
    )
    backlog_tolerance_weeks: Annotated[float, Field(ge=0, le=520)] = Field(
        2.0,
        description="Weeks of queued task hours a caseworker works through without cutting corners "
        "(weeks; 0 to 520: ten years).",
    )
    corner_cutting_per_backlog_week: Annotated[float, Field(ge=0, le=100)] = Field(
        0.25,
        description="How fast tasks shrink with the backlog beyond the tolerance: a task takes "
        "1 / (1 + this x extra backlog weeks) of its hours (per week of backlog; 0 = never; at most 100).",
    )
    min_hours_fraction: Annotated[float, Field(ge=0.01, le=1.0)] = Field(
        0.4, description="The least share of its hours a rushed task still takes (share, 0.01-1)."
    )
    cost_dkk_per_year: Annotated[float, Field(ge=0, le=10_000_000)] = Field(
        650000.0,
        description="Cost of one caseworker or intake desk worker (DKK per year, with overhead; 0 to 10 million: "
        "fifteen times a caseworker's).",
    )
    task_queue: Literal["per_caseworker", "pooled"] = Field(
        "per_caseworker",
        description="How tasks queue: 'per_caseworker', each case's tasks in its own caseworker's "
        "priority queue (the practice of both models); or 'pooled', one queue served by whichever "
        "caseworker is free (a textbook M/M/c queue with exponential task hours; for theory checks).",
    )


class Hours(Section):
    preliminary_assessment_hours: TaskHours = Field(
        3.0, description="Hours of a preliminary assessment (hours; 0 to 500)."
    )
    investigation_hours: TaskHours = Field(
        20.0, description="Caseworker hours of a whole investigation (hours; 0 to 500: three months' work)."
    )
    investigation_sessions: Annotated[int, Field(ge=1, le=100)] = Field(
        4, description="Sessions the investigation's hours are split into (count; 1 to 100)."
    )
    investigation_gap_days: Annotated[float, Field(ge=0, le=DAYS_PER_YEAR)] = Field(
        14.0, description="Days between investigation sessions (waiting for statements, meetings; days, 0 to 365.25)."
    )
    investigation_deadline_days: Interval = Field(
        122.0, description="Legal deadline of an investigation from the notification (days; 4 months; 1 to 3,652.5)."
    )
    deadline_alarm_days: Annotated[float, Field(ge=0, le=TEN_YEARS_DAYS)] = Field(
        30.0, description="Days before the deadline from which investigation work is prioritised (days; 0 to 3,652.5)."
    )
    placement_hours: TaskHours = Field(10.0, description="Hours to arrange a placement (hours; 0 to 500).")
    network_search_hours: TaskHours = Field(8.0, description="Hours of a network search (hours; 0 to 500).")
    step_down_plan_hours: TaskHours = Field(6.0, description="Hours to plan a move down the ladder (hours; 0 to 500).")
    acute_review_hours: TaskHours = Field(
        4.0, description="Hours of a review forced by an acute event (hours; 0 to 500)."
    )
    renotification_hours: TaskHours = Field(
        1.0, description="Hours to handle a notification on an open case (hours; 0 to 500)."
    )
    political_review_hours: TaskHours = Field(
        2.0, description="Hours of the caseworker's report for one political review of a placement (hours; 0 to 500)."
    )
    standing_hours_per_week_preliminary: StandingHours = Field(
        0.2, description="Standing caseworker hours per week of a case in preliminary assessment (0 to 40)."
    )
    standing_hours_per_week_investigation: StandingHours = Field(
        1.0, description="Standing caseworker hours per week of a case under investigation (0 to 40)."
    )
    task_hours_distribution: Literal["fixed", "exponential"] = Field(
        "fixed",
        description="Whether a task takes its hours ('fixed'), or a time drawn from the exponential "
        "distribution with those hours as its mean ('exponential', its own random stream; for theory "
        "checks).",
    )


class InitialStock(Section):
    open_cases_per_1000_children: list[list[Annotated[float, Field(ge=0, le=1000)]]] = Field(
        default_factory=lambda: [[0.0] * 6 for _ in range(5)],
        description="Open cases when the run starts, per 1,000 children of the municipality, by step "
        "(5 rows: steps 1..5) and the child's need (6 columns: need 0..5; each 0 to 1,000); all zero = start "
        "empty. Scaled to the municipality's children (cases, rounded at random to whole cases).",
    )
    persistent_share_by_step: list[Probability] = Field(
        default_factory=lambda: [0.0] * 5,
        description="Share of the initial cases on each step (5 values: steps 1..5) whose child's need persists "
        "(share, 0 to 1); used where persistent_share_by_step_and_need is not given.",
    )
    persistent_share_by_step_and_need: list[list[Probability]] | None = Field(
        None,
        description="Share of the initial cases whose child's need persists, by step (5 rows: steps 1..5) and "
        "need (6 columns: need 0..5; share, 0 to 1): in the steady state a persistent need is mostly a placed "
        "child's need of 3 and above. Not given: persistent_share_by_step for every need.",
    )
    moved_down_share_by_step: list[Probability] = Field(
        default_factory=lambda: [0.0] * 5,
        description="Share of the initial cases on each step (5 values: steps 1..5) that moved down to it within "
        "need.relapse_window_days before the start (share, 0 to 1): their higher risk of relapse runs on to a "
        "point drawn at random within the window.",
    )
    unsupported_share_of_moved_down_by_step: list[Probability] = Field(
        default_factory=lambda: [0.0] * 5,
        description="Share of those moved down (5 values: steps 1..5) not yet followed up in full since the move, "
        "with the higher relapse risk of need.unsupported_relapse_factor (share, 0 to 1).",
    )
    over_served_reviewed_share_by_step: list[Probability] = Field(
        default_factory=lambda: [0.0] * 5,
        description="Share of the initial cases on each step (5 values: steps 1..5) whose need is below what the "
        "step meets that a review has already found over-served (share, 0 to 1): the next review that finds it "
        "counts as the second.",
    )
    known_children_per_1000: Annotated[float, Field(ge=0, le=1000)] = Field(
        0.0,
        description="Children known from cases closed before the start, still under 18, per 1,000 children of "
        "the municipality (0 to 1,000): the children a notification may concern again "
        "(arrivals.known_child_share). Their number grows for 18 years from an empty department.",
    )
    known_children_persistent_share: Probability = Field(
        0.0, description="Share of the known children whose need persists (share, 0 to 1)."
    )
    known_children_mean_age_years: Annotated[float, Field(ge=3.0, le=15.0)] = Field(
        9.0,
        description="Mean age of the known children (years, 3 to 15), drawn as the cases' ages are "
        "(mean_age_years_by_step).",
    )
    under_investigation_per_1000_children: list[Annotated[float, Field(ge=0, le=1000)]] = Field(
        default_factory=lambda: [0.0] * 6,
        description="Cases under investigation when the run starts, per 1,000 children of the municipality, by "
        "the child's need (6 values: need 0..5; each 0 to 1,000): the pipeline, whose work weighs on the "
        "caseworkers from the first day. Each starts at a session of its investigation drawn at random.",
    )
    under_investigation_application_share: Probability = Field(
        0.0,
        description="Share of the cases under investigation at the start that came from an application rather "
        "than a notification (share, 0 to 1).",
    )

    mean_age_years_by_step: list[Annotated[float, Field(ge=3.0, le=15.0)]] = Field(
        default_factory=lambda: [9.0] * 5,
        description="Mean age of the initial cases' children on each step (5 values: steps 1..5; years, 3 to 15); "
        "ages are drawn on 0-18 years as 18 u^(1/p) for a uniform u (mirrored below 9), p giving that mean "
        "(9 = uniform).",
    )

    @model_validator(mode="after")
    def _shape(self) -> InitialStock:
        rows = self.open_cases_per_1000_children
        if len(rows) != 5 or any(len(row) != 6 for row in rows):
            raise ValueError("open_cases_per_1000_children: must have 5 rows (steps 1..5) of 6 values (need 0..5)")
        if len(self.persistent_share_by_step) != 5:
            raise ValueError("persistent_share_by_step: must have 5 values (steps 1..5)")
        if len(self.mean_age_years_by_step) != 5:
            raise ValueError("mean_age_years_by_step: must have 5 values (steps 1..5)")
        shares = self.persistent_share_by_step_and_need
        if shares is not None and (len(shares) != 5 or any(len(row) != 6 for row in shares)):
            raise ValueError("persistent_share_by_step_and_need: must have 5 rows (steps 1..5) of 6 values (need 0..5)")
        for name in (
            "moved_down_share_by_step",
            "unsupported_share_of_moved_down_by_step",
            "over_served_reviewed_share_by_step",
        ):
            if len(getattr(self, name)) != 5:
                raise ValueError(f"{name}: must have 5 values (steps 1..5)")
        if len(self.under_investigation_per_1000_children) != 6:
            raise ValueError("under_investigation_per_1000_children: must have 6 values (need 0..5)")
        return self

    def persistent_share(self, step: int, need: int) -> float:
        """The share of the initial cases on ``step`` (1..5) with ``need`` whose need persists."""
        shares = self.persistent_share_by_step_and_need
        if shares is None:
            return self.persistent_share_by_step[step - 1]
        return shares[step - 1][need]

    def empty(self) -> bool:
        return (
            not any(any(row) for row in self.open_cases_per_1000_children)
            and not any(self.under_investigation_per_1000_children)
            and not self.known_children_per_1000
        )


class Implementation(Section):
    cost_dkk: Annotated[float, Field(ge=0, le=100_000_000_000)] = Field(
        0.0,
        description="One-off cost of implementing the scenario's way of working (DKK): training, consultants, "
        "reorganisation; not the extra caseworkers, whose cost is in staff cost (DKK; 0 to 100 billion).",
    )
    start_years: Annotated[float, Field(ge=0, le=100)] = Field(
        0.0, description="Years after measurement began when the spending starts (years; 0 to 100)."
    )
    spread_years: Annotated[float, Field(ge=0.01, le=100)] = Field(
        1.0, description="Years over which the cost is spent evenly (years; 0.01 to 100)."
    )


class Transition(Section):
    at_years: Annotated[float, Field(ge=0, le=100)] = Field(
        ..., description="Years after measurement began when the new way of working starts (years; 0 to 100)."
    )
    to: str = Field(
        ...,
        description="The scenario whose staffing, organisation and practice apply from then on: a file beside "
        "this one (no absolute path, no '..'), or a shipped scenario's name. Municipality, children and need "
        "dynamics stay this scenario's.",
    )
    hiring_ramp_years: Annotated[float, Field(ge=0, le=100)] = Field(
        0.0,
        description="Years over which the extra caseworkers are hired, evenly, from the switch on (years; 0 to 100).",
    )
    target: Scenario | None = Field(None, description="The resolved `to` scenario (set when the file is loaded).")


class District(Section):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        ..., description="Short name of the district (letters, digits, _ and -)."
    )
    share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(..., description="Share of the municipality's children.")
    scenario: str = Field(
        ...,
        description="The scenario whose staffing, organisation and practice the district follows: a file beside "
        "this one (no absolute path, no '..'), or a shipped scenario's name.",
    )
    caseworkers: StaffCount | None = Field(
        None,
        description="The district's caseworkers (count, 1 to 10,000; default: the scenario's, times the share, "
        "rounded).",
    )
    desk_staff: StaffCount0 | None = Field(
        None,
        description="The district's intake desk staff, if its scenario has a desk (count, 0 to 10,000; default: "
        "scaled by share).",
    )
    target: Scenario | None = Field(None, description="The district's resolved scenario (set when the file is loaded).")


class Scenario(BaseModel):
    """A whole scenario: every parameter of one run of the model."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    name: str = Field(
        ...,
        description="Short name; used for output folders: letters, digits, _ and - (at most 64; the program joins "
        "names with '.' for districts and sweeps).",
    )
    title: str = Field("", description="One-line description.")
    run: Run = Field(default_factory=Run)
    municipality: Municipality = Field(default_factory=Municipality)
    arrivals: Arrivals = Field(default_factory=Arrivals)
    children: Children = Field(default_factory=Children)
    need: Need = Field(default_factory=Need)
    ladder: Ladder
    followup: Followup
    practice: Practice = Field(default_factory=Practice)
    assignment: Assignment = Field(default_factory=Assignment)
    intake: Intake = Field(default_factory=Intake)
    staffing: Staffing
    hours: Hours = Field(default_factory=Hours)
    initial_stock: InitialStock = Field(default_factory=InitialStock)
    implementation: Implementation = Field(default_factory=Implementation)
    transition: Transition | None = Field(
        None, description="Switch to another scenario's way of working at a date (optional)."
    )
    districts: list[District] = Field(
        default_factory=list,
        description="Split the municipality into districts, each with its own staffing and practice, sharing nothing "
        "but the placement market (optional; none = one district).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_policy_section(cls, data: Any) -> Any:
        if isinstance(data, dict) and "policy" in data:
            raise ValueError(
                "policy: the [policy] section and its probabilities were removed in welfare-sim 0.2 (a "
                "scenario no longer sets how often a decision is right); describe the way of working in "
                "[practice] (see docs/model.md)"
            )
        return data

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, name: str) -> str:
        if len(name) > 200 or not DERIVED_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"must be letters, digits, _ and - only (it names output folders), got {_short(name)}")
        return name

    @model_validator(mode="after")
    def _districts_add_up(self) -> Scenario:
        if self.districts:
            if len(self.districts) < 2:
                raise ValueError("districts: name at least two districts, or none")
            total = sum(d.share for d in self.districts)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"districts: the shares must add up to 1, got {total:g}")
            names = [d.name for d in self.districts]
            if len(set(names)) < len(names):
                raise ValueError("districts: two districts have the same name")
            if self.transition is not None:
                raise ValueError("districts: a scenario with districts cannot also have a transition")
        return self

    @model_validator(mode="after")
    def _cap_fits_heaviest_case(self) -> Scenario:
        cap = self.assignment.point_cap
        heaviest = self.assignment.heaviest_case_points()
        if cap is not None and cap < heaviest:
            raise ValueError(f"assignment.point_cap: must be >= the heaviest case ({heaviest:g} points), got {cap:g}")
        return self

    def with_overrides(self, **dotted: Any) -> Scenario:
        """A copy with dotted-path values replaced, validated again (``staffing.caseworkers=30``)."""
        data = self.model_dump()
        for path, value in dotted.items():
            node: object = data
            *parents, leaf = path.split(".")
            for key in parents:
                node = node.get(key) if isinstance(node, dict) else None
                if node is None:
                    raise ScenarioError(self.name, path, f"unknown parameter here: {key} is not set in this scenario")
            if not isinstance(node, dict) or leaf not in node:
                raise ScenarioError(self.name, path, "unknown parameter")
            node[leaf] = value
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            field, message = _first_error(exc)
            raise ScenarioError(self.name, field, message) from None


Transition.model_rebuild()
District.model_rebuild()
