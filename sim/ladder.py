"""The intervention ladder: moving a child between steps, follow-ups and reviews
(MODEL.md 3.4 and 3.6).

Between follow-ups nothing changes on the ladder except through an acute event. At a
follow-up the caseworker sees the need and moves the child to the step the policy picks.
A move down needs a plan (hours); a move into kinship care needs a network search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.caseworkers import ACUTE, DEADLINE, FOLLOWUP, work

if TYPE_CHECKING:
    from sim.entities import Case
    from sim.model import Model

KINSHIP, FOSTER, INSTITUTION = 3, 4, 5
FIRST_PLACEMENT_STEP = KINSHIP
ACUTE_CAUSE = "acute"


def follow_ladder(m: Model, case: Case, start: int):
    """Place the child on its start step, then follow up until the case closes.

    Between follow-ups the process waits; an acute event interrupts the wait and forces
    an immediate review. After each look at the child the review decides on the ladder.
    """
    yield from move(m, case, start)
    case.in_ladder = True
    env = m.env
    child = case.child
    while True:
        if not case.acute:
            case.waiting = True
            try:
                wait = case.next_due_day - env._now  # env._now: SimPy's clock (env.now wraps it)
                yield env.timeout(wait if wait > 0.0 else 0.0)
            except simpy.Interrupt as stop:
                if stop.cause != ACUTE_CAUSE:
                    raise
            finally:
                case.waiting = False
        if case.acute:
            case.acute = False
            yield from work(case, m.scenario.hours.acute_review_hours, ACUTE)
            m.log(case, "acute_review")
        else:
            # The follow-up visit. One that breaks the legal interval is as pressing as an
            # investigation near its deadline: it moves up to deadline priority then.
            step = child.step
            due = case.next_due_day
            legal_day = case.last_followup_day + m.scenario.followup.legal_interval_days
            owner = case.owner
            if owner is not None:  # the common case, without a nested generator
                yield owner.do(m.followup_hours[step], FOLLOWUP, case, legal_day)
            else:
                yield from work(case, m.followup_hours[step], FOLLOWUP, legal_day)
            now = env._now
            m.followup_done(case, step, due, now)
            case.last_followup_day = now
            case.next_due_day = now + followup_interval_days(m, case, False)
        # Nothing to decide when the need the caseworker sees calls for the step the child is
        # on and no time limit has run out: the child stays. (``target_step`` equals the step
        # exactly when the need does: a placed child whose need fell below placement has a
        # target below its step.)
        if child.need == child.step and (child.step != INSTITUTION or not _over_time_limit(m, case)):
            continue
        closed = yield from review(m, case)
        if closed:
            return


def followup_interval_days(m: Model, case: Case, first: bool) -> float:
    """The policy interval to the next follow-up on the child's current step."""
    schedule = m.followup_schedules[case.child.step]
    if first:
        return schedule.first_days
    if schedule.after_first_year_every_days is not None and m.env._now - case.step_start_day >= 365.25:
        return schedule.after_first_year_every_days
    return schedule.every_days


def target_step(m: Model, case: Case) -> int:
    """The lowest step that meets the need the caseworker sees (0 = close); a child in a
    placement goes home onto a support step before its case can close."""
    need = case.child.need
    if case.child.step >= FIRST_PLACEMENT_STEP and need < FIRST_PLACEMENT_STEP:
        return max(need, 1)
    return need


def review(m: Model, case: Case):
    """Decide on the ladder after a follow-up or an acute review; returns True if closed."""
    p = m.scenario.policy
    child = case.child
    step = child.step
    target = target_step(m, case)
    if target > step:
        yield from move(m, case, target)
        return False
    over_limit = _over_time_limit(m, case)
    if target == step and not over_limit:
        return False
    if not over_limit and child.decision_draws.uniform() >= p.step_down_probability:
        m.log(case, "step_down_deferred")
        return False
    if target > 0:
        # A move down needs a plan; closing a case at home needs none.
        yield from work(case, m.scenario.hours.step_down_plan_hours, FOLLOWUP)
        target = target_step(m, case)  # the plan took time: decide on the need as it is now
    if over_limit:
        target = min(target, FOSTER)
    if target >= child.step:
        if target > child.step:
            yield from move(m, case, target)
        return False
    if target == 0:
        m.close_case(case, "need_met")
        return True
    yield from move(m, case, target)
    return False


def _over_time_limit(m: Model, case: Case) -> bool:
    """Whether the child has been in the institution longer than the policy's limit."""
    limit = m.scenario.policy.institution_time_limit_days
    return case.child.step == INSTITUTION and limit is not None and m.env.now - case.step_start_day >= limit


def move(m: Model, case: Case, target: int):
    """Move the child to ``target``, searching the network first for a kinship placement."""
    child = case.child
    p = m.scenario.policy
    if target == KINSHIP:
        if case.kinship_available is None:
            # Whether to search the network is decided once per case; without a search no
            # kinship placement is known.
            case.kinship_available = False
            if child.decision_draws.uniform() < p.network_search_probability:
                yield from work(case, m.scenario.hours.network_search_hours, DEADLINE)
                case.kinship_available = (
                    child.decision_draws.uniform() < m.scenario.children.kinship_available_probability
                )
                m.log(case, "network_search")
        if not case.kinship_available:
            target = FOSTER
    if target == child.step:
        return
    if target >= FIRST_PLACEMENT_STEP:
        priority = ACUTE if case.acute else DEADLINE
        yield from work(case, m.scenario.hours.placement_hours, priority)
    m.set_step(case, target)
