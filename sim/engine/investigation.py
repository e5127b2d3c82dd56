"""Investigation with its 4-month deadline, and the start step it leads to (docs/conceptual-model.md §3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.caseworkers import ACUTE, DEADLINE, FOLLOWUP, INVESTIGATION_TASK, work
from sim.engine.entities import INVESTIGATION_APPLICATION

if TYPE_CHECKING:
    from sim.engine.caseworkers import Steps
    from sim.engine.entities import Case
    from sim.engine.model import Model


def investigate(m: Model, case: Case, first_session: int = 0) -> Steps[int]:
    """Spend the investigation's hours in sessions; returns the start step (0 = close).

    Sessions wait for statements in between; a session is prioritised once the deadline
    is near, and at once after an acute event. The investigation reveals the need. A case
    of the initial stock starts at ``first_session``: the sessions before it were done before
    the run.
    """
    h = m.hours
    if case.source == "application":
        m.set_kind(case, INVESTIGATION_APPLICATION)
    m.log(case, "investigation_start")
    deadline = case.notified_day + h.investigation_deadline_days
    session_hours = h.investigation_hours / h.investigation_sessions
    for session in range(first_session, h.investigation_sessions):
        if session > first_session and not case.acute:
            yield m.env.timeout(h.investigation_gap_days)
        if case.acute:
            priority = ACUTE
        elif deadline - m.env.now <= h.deadline_alarm_days:
            priority = DEADLINE
        else:
            priority = FOLLOWUP  # due work, first come first served with follow-ups
        if case.owner is not None:  # as work() does, without a nested generator (a hot path)
            yield case.owner.do(session_hours, priority, case, deadline - h.deadline_alarm_days, INVESTIGATION_TASK)
        else:
            yield from work(case, session_hours, priority, deadline - h.deadline_alarm_days, INVESTIGATION_TASK)
    case.acute = False
    m.investigation_done(case)
    case.seen_need = case.child.need
    return start_step(case.seen_need)


def start_step(need: int) -> int:
    """The step an investigation starts a child on: the lowest that meets the need it saw
    (0 = close). One rule for every scenario (docs/conceptual-model.md §3.3: normalisation)."""
    return max(need, 0)
