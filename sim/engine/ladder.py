"""The intervention ladder: follow-ups, reviews and moves between steps
(docs/conceptual-model.md §3.4, §3.6 and §3.10).

One set of decision rules for every scenario. At a follow-up, or at a review forced by an
acute event, the caseworker sees the child's need; between contacts the need is known only
as it was at the last one. A move up happens at once: it is pressing. A case closes when
the need seen is 0 and the child is home. A move down, and the planned move out of an
institution, has to be *prepared*: a plan (hours of the caseworker) that must start before
the next follow-up is due, or it is dropped and the child stays where it is. So overload
shows up as inertia on the ladder, not only as late follow-ups.

What a practice differs in (``scenario.practice``) is what a review sets out to do and which
elements the way of working has; every element costs hours each time it is used. No
scenario sets the probability that a decision is right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.constants import DAYS_PER_YEAR
from sim.engine.caseworkers import (
    ACUTE,
    ACUTE_REVIEW_TASK,
    DEADLINE,
    DROPPED,
    FOLLOWUP,
    FOLLOWUP_TASK,
    NETWORK_SEARCH_TASK,
    OTHER,
    PLACEMENT_TASK,
    PLAN_TASK,
    POLITICAL_REVIEW_TASK,
    SECOND_CASEWORKER_TASK,
    Steps,
    work,
    work_by,
)
from sim.engine.need import schedule_need_change

if TYPE_CHECKING:
    from sim.engine.entities import Case
    from sim.engine.model import Model

KINSHIP, FOSTER, INSTITUTION = 3, 4, 5
FIRST_PLACEMENT_STEP = KINSHIP
ACUTE_CAUSE = "acute"
SECOND_CASEWORKER_DAYS = DAYS_PER_YEAR
"""Borås: two caseworkers share a foster placement in its first year (seed 003, docs/sources.md)."""
PLAN_PRIORITY = {"due": FOLLOWUP, "when_time_allows": OTHER}


def follow_ladder(m: Model, case: Case, start: int) -> Steps[None]:
    """Place the child on its start step, then follow up until the case closes.

    Between follow-ups the process waits; an acute event interrupts the wait and forces
    an immediate review. After each look at the child the review decides on the ladder.
    """
    yield from move(m, case, start, "start")
    case.in_ladder = True
    env = m.env
    child = case.child
    while True:
        if not case.acute:
            case.waiting = True
            try:
                wait = case.next_due_day - env.now
                yield env.timeout(wait if wait > 0.0 else 0.0)
            except simpy.Interrupt as stop:
                if stop.cause != ACUTE_CAUSE:
                    raise
            finally:
                case.waiting = False
        acute = case.acute
        if acute:
            case.acute = False
            yield from work(case, m.hours.acute_review_hours, ACUTE, kind=ACUTE_REVIEW_TASK)
            m.log(case, "acute_review")
        else:
            # The follow-up visit. One that breaks the legal interval is as pressing as an
            # investigation near its deadline: it moves up to deadline priority then.
            step = child.step
            due = case.next_due_day
            legal_day = case.last_followup_day + m.followup.legal_interval_days
            owner = case.owner
            if owner is not None:  # the common case, without a nested generator
                share = yield owner.do(m.followup_hours[step], FOLLOWUP, case, legal_day, FOLLOWUP_TASK)
            else:
                share = yield from work(case, m.followup_hours[step], FOLLOWUP, legal_day, FOLLOWUP_TASK)
            now = env.now
            m.followup_done(case, step, due, now)
            case.last_followup_day = now
            case.next_due_day = now + followup_interval_days(m, case, False)
            if child.unsupported and share >= 1.0:
                # The first full follow-up after a move down: the move is supported from now on.
                child.unsupported = False
                schedule_need_change(m, child)
            if case.second is not None:
                _second_caseworker_visit(m, case, now)
            if now >= case.next_political_day:
                _political_review(m, case, now)
        need = child.need
        case.seen_need = need
        # Nothing to decide when the need seen calls for the step the child is on and no
        # institution plan is due: the child stays.
        step = child.step
        if (need == step or reachable_step(case, need, step) == step) and (
            step != INSTITUTION or not _institution_plan_due(m, case)
        ):
            case.over_served_reviews = 0
            case.family_request = False  # the child is not over-served now: a request lapses with it
            continue
        closed = yield from review(m, case, acute)
        if closed:
            return


def followup_interval_days(m: Model, case: Case, first: bool) -> float:
    """The policy interval to the next follow-up on the child's current step."""
    schedule = m.followup_schedules[case.child.step]
    if first:
        return schedule.first_days
    if schedule.after_first_year_every_days is not None and m.env.now - case.step_start_day >= DAYS_PER_YEAR:
        return schedule.after_first_year_every_days
    return schedule.every_days


def target_step(need: int, step: int) -> int:
    """The lowest step that meets ``need`` (0 = close); a child in a placement goes home onto
    a support step before its case can close."""
    if step >= FIRST_PLACEMENT_STEP and need < FIRST_PLACEMENT_STEP:
        return max(need, 1)
    return need


def reachable_step(case: Case, need: int, step: int) -> int:
    """The lowest step that meets ``need`` *and can be had*: kinship care only while it is not
    known that no kinship placement exists (then foster care meets the need). A child in foster
    care for whom no kinship placement exists is not over-served, so no plan is made in vain."""
    target = target_step(need, step)
    if target == KINSHIP and case.kinship_available is False:
        return FOSTER
    return target


def review(m: Model, case: Case, acute: bool) -> Steps[bool]:
    """Decide on the ladder after a look at the child (``case.seen_need``); returns True if the
    case closed.

    The same rule in every scenario: a need above what the step meets moves the child up at
    once (after a planned move, only a rise since the move, or an acute event, does); a need
    of 0 at home closes the case; a child over-served (at as many reviews in a row as the
    practice waits for, or at once when the family asks for the child home after a crisis),
    or due for its institution plan, gets a plan, and moves when the
    plan is done, if it started before the next follow-up was due.
    """
    child = case.child
    step = child.step
    need = case.seen_need
    request = case.family_request
    case.family_request = False
    ceiling = step if acute else max(step, case.accepted_need)
    if need > ceiling:
        case.over_served_reviews = 0
        yield from move(m, case, target_step(need, step), "step_up")
        return False
    if need == 0 and step < FIRST_PLACEMENT_STEP:
        m.close_case(case, "need_met")
        return True
    practice = m.practice
    planned = _institution_plan_due(m, case)
    if not planned:
        if reachable_step(case, need, step) >= step:
            case.over_served_reviews = 0
            return False
        case.over_served_reviews += 1
        if case.over_served_reviews < practice.step_down_after_reviews and not request:
            m.log(case, "step_down_deferred")
            return False
    if request:
        # A withdrawn consent is not put off: the plan is pressing work, and never dropped.
        share = yield from work(case, m.hours.step_down_plan_hours, DEADLINE, kind=PLAN_TASK)
    else:
        share = yield from work_by(
            m.env,
            case,
            m.hours.step_down_plan_hours,
            PLAN_PRIORITY[practice.step_down_plan_priority],
            case.next_due_day,
            PLAN_TASK,
        )
    if share == DROPPED:
        m.log(case, "plan_dropped")
        return False
    # The plan meets the family and the placement: decide on the need as it is now.
    need = case.seen_need = child.need
    step = child.step
    if need == 0 and step < FIRST_PLACEMENT_STEP:
        m.close_case(case, "need_met")
        return True
    target = reachable_step(case, need, step)
    if planned:
        target = min(target, FOSTER)
    elif target > step:
        case.over_served_reviews = 0
        yield from move(m, case, target, "step_up")
        return False
    if target >= step:
        return False
    case.over_served_reviews = 0
    yield from move(m, case, target, "planned_move" if planned else "step_down", max(need, target))
    return False


def _institution_plan_due(m: Model, case: Case) -> bool:
    """Whether the child has been in the institution as long as the practice's plan aims at."""
    days = m.practice.institution_plan_after_days
    return case.child.step == INSTITUTION and days is not None and m.env.now - case.step_start_day >= days


def move(m: Model, case: Case, target: int, reason: str, accepted_need: int | None = None) -> Steps[None]:
    """Move the child to ``target`` (a placement needs hours to arrange and match, and a
    placement in kinship care a kinship placement that exists and is known). ``reason`` ends
    the current spell; ``accepted_need`` is the need the new step was chosen for (the step
    itself, unless a planned move accepted a higher need)."""
    child = case.child
    if target == KINSHIP:
        if case.kinship_available is None:
            yield from _look_for_kinship(m, case)
        if not case.kinship_available:
            target = FOSTER
    if target == child.step:
        return
    if target >= FIRST_PLACEMENT_STEP:
        priority = ACUTE if case.acute else DEADLINE
        hours = m.hours.placement_hours + m.practice.matching_hours
        yield from work(case, hours, priority, kind=PLACEMENT_TASK)
    m.set_step(case, target, reason)
    case.accepted_need = target if accepted_need is None else accepted_need
    if target == FOSTER and m.practice.second_caseworker_first_year_in_foster_care:
        m.assign_second_caseworker(case)


def _look_for_kinship(m: Model, case: Case) -> Steps[None]:
    """Whether a kinship or network placement exists for the child (drawn once per case), and
    whether it is known: found by a network search, where the practice makes one before a
    placement (hours), or else only if the network comes forward by itself."""
    draws = case.child.decision_draws
    c = m.children
    exists = draws.uniform() < c.kinship_available_probability
    comes_forward = draws.uniform() < c.network_comes_forward_probability  # drawn whatever the practice
    case.kinship_available = False
    if m.practice.network_search_before_placement:
        yield from work(case, m.hours.network_search_hours, DEADLINE, kind=NETWORK_SEARCH_TASK)
        m.log(case, "network_search")
        case.kinship_available = exists
    else:
        case.kinship_available = exists and comes_forward


def _second_caseworker_visit(m: Model, case: Case, now: float) -> None:
    """The second caseworker visits the foster family with every follow-up of the first year."""
    if case.child.step != FOSTER or now - case.step_start_day >= SECOND_CASEWORKER_DAYS:
        m.release_second_caseworker(case)
        return
    assert case.second is not None  # called only for a case with a second caseworker
    case.second.do(m.followup_hours[FOSTER], FOLLOWUP, case, None, SECOND_CASEWORKER_TASK)


def _political_review(m: Model, case: Case, now: float) -> None:
    """The caseworker's report for the political review of a placement (a legal deadline)."""
    every = m.practice.political_review_every_days
    if every is None or case.child.step < FIRST_PLACEMENT_STEP:
        case.next_political_day = float("inf")
        return
    while case.next_political_day <= now:
        case.next_political_day += every
    if case.owner is not None:
        case.owner.do(m.hours.political_review_hours, DEADLINE, case, None, POLITICAL_REVIEW_TASK)
