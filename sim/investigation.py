"""Investigation with its 4-month deadline, and the start step it leads to (MODEL.md 3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.caseworkers import ACUTE, DEADLINE, FOLLOWUP, work
from sim.entities import INVESTIGATION_APPLICATION

if TYPE_CHECKING:
    from sim.entities import Case, Child
    from sim.model import Model


def investigate(m: Model, case: Case):
    """Spend the investigation's hours in sessions; returns the start step (0 = close).

    Sessions wait for statements in between; a session is prioritised once the deadline
    is near, and at once after an acute event. The investigation reveals the need.
    """
    h = m.scenario.hours
    if case.source == "application":
        m.set_kind(case, INVESTIGATION_APPLICATION)
    m.log(case, "investigation_start")
    deadline = case.notified_day + h.investigation_deadline_days
    session_hours = h.investigation_hours / h.investigation_sessions
    for session in range(h.investigation_sessions):
        if session and not case.acute:
            yield m.env.timeout(h.investigation_gap_days)
        if case.acute:
            priority = ACUTE
        elif deadline - m.env._now <= h.deadline_alarm_days:
            priority = DEADLINE
        else:
            priority = FOLLOWUP  # due work, first come first served with follow-ups
        if case.owner is not None:  # as work() does, without a nested generator (a hot path)
            yield case.owner.do(session_hours, priority, case, deadline - h.deadline_alarm_days)
        else:
            yield from work(case, session_hours, priority, escalate_day=deadline - h.deadline_alarm_days)
    case.acute = False
    m.investigation_done(case)
    return start_step(m, case.child)


def start_step(m: Model, child: Child) -> int:
    """The step the policy starts a child of this need on: the lowest that meets it, or,
    with the policy's probability, one above (a conservative start)."""
    need = child.need
    if need <= 0:
        return 0
    if need < 5 and child.decision_draws.uniform() < m.scenario.policy.start_step_extra_probability:
        return need + 1
    return need
