"""The life of one case, from notification to closing (docs/conceptual-model.md §3.2-§3.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.engine.intake import preliminary_assessment
from sim.engine.investigation import investigate
from sim.engine.ladder import follow_ladder

if TYPE_CHECKING:
    from sim.engine.caseworkers import Steps
    from sim.engine.entities import Case
    from sim.engine.model import Model


def case_flow(m: Model, case: Case) -> Steps[None]:
    """Preliminary assessment, investigation, then the ladder until the case closes."""
    try:
        if case.source == "notification":
            go_on = yield from preliminary_assessment(m, case)
            if not go_on:
                if m.practice.early_support_when_screened_out and case.child.need > 0:
                    # The practice offers early preventive support (with the team partners) to
                    # a child with a need whom the assessment would have screened out.
                    m.decide_notification(case, "early_support")
                    case.seen_need = case.child.need
                    yield from follow_ladder(m, case, 1)
                    return
                m.decide_notification(case, "screened_out")
                m.close_case(case, "screened_out")
                return
        m.decide_notification(case, "opened_case")
        start_step = yield from investigate(m, case)
        if start_step == 0:
            m.close_case(case, "no_need")
            return
        yield from follow_ladder(m, case, start_step)
    except simpy.Interrupt as stop:
        m.decide_notification(case, "opened_case")
        m.close_case(case, str(stop.cause))


def stock_case_flow(m: Model, case: Case) -> Steps[None]:
    """A case of the initial stock: already on its step, it only follows the ladder."""
    try:
        yield from follow_ladder(m, case, case.child.step)
    except simpy.Interrupt as stop:
        m.close_case(case, str(stop.cause))


def stock_investigation_flow(m: Model, case: Case, first_session: int) -> Steps[None]:
    """A case of the initial stock under investigation: the rest of its investigation, then
    the ladder, as a new case's."""
    try:
        start_step = yield from investigate(m, case, first_session)
        if start_step == 0:
            m.close_case(case, "no_need")
            return
        yield from follow_ladder(m, case, start_step)
    except simpy.Interrupt as stop:
        m.close_case(case, str(stop.cause))
