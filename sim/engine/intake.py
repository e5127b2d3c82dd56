"""Preliminary assessment: by the intake desk where there is one, else by the district
caseworker (docs/conceptual-model.md §3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.caseworkers import ACUTE, DEADLINE, HANDOVER_TASK, PRELIMINARY_TASK, work
from sim.engine.entities import INVESTIGATION_NOTIFICATION, PRELIMINARY

if TYPE_CHECKING:
    from sim.engine.caseworkers import Steps
    from sim.engine.entities import Case
    from sim.engine.model import Model


def preliminary_assessment(m: Model, case: Case) -> Steps[bool]:
    """Assess a new notification; returns True when the case goes on to investigation."""
    s = m.scenario
    priority = ACUTE if case.urgent else DEADLINE
    if m.desk:
        desk_worker = min(m.desk, key=lambda w: (len(w.queue), w.id))
        yield desk_worker.do(s.hours.preliminary_assessment_hours, priority, case, None, PRELIMINARY_TASK)
        m.first_contact(case, "desk")
        m.log(case, "preliminary_assessment", worker=desk_worker.id)
        if _screened_out(m, case):
            return False
        yield m.env.timeout(s.intake.handover_delay_days)
        m.set_kind(case, INVESTIGATION_NOTIFICATION)
        if case.owner is not None:  # as work() does, without a nested generator (a hot path)
            yield case.owner.do(s.intake.handover_hours, DEADLINE, case, None, HANDOVER_TASK)
        else:
            yield from work(case, s.intake.handover_hours, DEADLINE, kind=HANDOVER_TASK)
        m.caseworker_contact(case)
        m.log(case, "handover")
        return True
    m.set_kind(case, PRELIMINARY)
    if case.owner is not None:
        yield case.owner.do(s.hours.preliminary_assessment_hours, priority, case, None, PRELIMINARY_TASK)
    else:
        yield from work(case, s.hours.preliminary_assessment_hours, priority, kind=PRELIMINARY_TASK)
    m.first_contact(case, "caseworker")
    m.caseworker_contact(case)
    m.log(case, "preliminary_assessment")
    if _screened_out(m, case):
        return False
    m.set_kind(case, INVESTIGATION_NOTIFICATION)
    return True


def _screened_out(m: Model, case: Case) -> bool:
    return case.screen_u < m.scenario.children.screen_out_probability_by_need[case.child.need]
