"""Preliminary assessment: by the intake desk where there is one, else by the district
caseworker (docs/conceptual-model.md §3.2)."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from sim.engine.caseworkers import ACUTE, DEADLINE, HANDOVER_TASK, PRELIMINARY_TASK, work
from sim.engine.entities import INVESTIGATION_NOTIFICATION, PRELIMINARY

if TYPE_CHECKING:
    from sim.engine.caseworkers import Steps, Worker
    from sim.engine.entities import Case
    from sim.engine.model import Model

_QUEUE = attrgetter("queue")


def preliminary_assessment(m: Model, case: Case) -> Steps[bool]:
    """Assess a new notification; returns True when the case goes on to investigation."""
    priority = ACUTE if case.urgent else DEADLINE
    if m.desk:
        desk_worker = _desk_worker(m.desk)
        yield desk_worker.do(m.hours.preliminary_assessment_hours, priority, case, None, PRELIMINARY_TASK)
        m.first_contact(case, "desk")
        m.log(case, "preliminary_assessment", worker=desk_worker.id)
        if _screened_out(m, case):
            return False
        yield m.env.timeout(m.intake.handover_delay_days)
        m.set_kind(case, INVESTIGATION_NOTIFICATION)
        if case.owner is not None:  # as work() does, without a nested generator (a hot path)
            yield case.owner.do(m.intake.handover_hours, DEADLINE, case, None, HANDOVER_TASK)
        else:
            yield from work(case, m.intake.handover_hours, DEADLINE, kind=HANDOVER_TASK)
        m.caseworker_contact(case)
        m.log(case, "handover")
        return True
    m.set_kind(case, PRELIMINARY)
    if case.owner is not None:
        yield case.owner.do(m.hours.preliminary_assessment_hours, priority, case, None, PRELIMINARY_TASK)
    else:
        yield from work(case, m.hours.preliminary_assessment_hours, priority, kind=PRELIMINARY_TASK)
    m.first_contact(case, "caseworker")
    m.caseworker_contact(case)
    m.log(case, "preliminary_assessment")
    if _screened_out(m, case):
        return False
    m.set_kind(case, INVESTIGATION_NOTIFICATION)
    return True


def _desk_worker(desk: list[Worker]) -> Worker:
    """The desk worker with the shortest queue, the lowest id among equals: desk ids run -2,
    -3, ... down the list, so the last of them. In C, without a Python loop over the desk,
    whose staff grows with the municipality."""
    lengths = list(map(len, map(_QUEUE, desk)))
    return desk[len(lengths) - 1 - lengths[::-1].index(min(lengths))]


def _screened_out(m: Model, case: Case) -> bool:
    return case.screen_u < m.children.screen_out_probability_by_need[case.child.need]
