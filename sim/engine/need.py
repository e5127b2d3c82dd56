"""The child's changing need (docs/conceptual-model.md §3.5).

The need moves one level at a time, up or down, at rates that depend on whether the
child's step meets it. Only the next change is scheduled, as one timeout; when the step
changes, a new change is drawn (the rates are memoryless) and the old one is ignored.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.constants import DAYS_PER_YEAR

if TYPE_CHECKING:
    from simpy.events import Timeout

    from sim.engine.entities import Case, Child
    from sim.engine.model import Model

MAX_NEED = 5
PLACEMENT_NEED = 3
"""The lowest need that calls for a placement: a persistent need persists at this level and above."""


def need_rates_per_year(m: Model, child: Child) -> tuple[float, float]:
    """(rise, fall) rates per year of the child's need, given its step now.

    At the top of the scale an unmet need cannot rise further: it escalates instead (a
    placement that cannot hold the child breaks down), at the rate an unmet need rises.
    """
    p = m.need
    step, need = child.step, child.need
    if step >= need:
        fall = p.improve_rate_per_year_when_met[step - 1] if step > 0 and need > 0 else 0.0
        if child.persistent and need >= PLACEMENT_NEED:
            fall *= m.children.persistent_improve_rate_factor
        rise = p.worsen_rate_per_year_met
    else:
        fall = p.improve_rate_per_year_unmet
        rise = p.worsen_rate_per_year_unmet
    if m.env.now < child.relapse_until_day:
        relapse = p.relapse_rate_per_year_after_step_down
        rise += relapse * p.unsupported_relapse_factor if child.unsupported else relapse
    if need >= MAX_NEED and step >= need:
        rise = 0.0
    return rise, fall


def schedule_need_change(m: Model, child: Child) -> None:
    """Draw when the child's need next changes; forget any change drawn before."""
    child.need_version += 1
    rise, fall = need_rates_per_year(m, child)
    total = rise + fall
    if total <= 0.0:
        return
    env = m.env
    now = env.now
    draws = child.need_draws
    delay = draws.exponential(DAYS_PER_YEAR / total)
    if now < child.relapse_until_day < now + delay:
        # The relapse rate ends before the drawn change: draw again from then on.
        event = env.timeout(child.relapse_until_day - now, (m, child, child.need_version, 0))
    else:
        direction = 1 if draws.uniform() * total < rise else -1
        if now + delay >= m.end_day:
            return  # after the end of the run: it would never fire, only weigh on the event queue
        event = env.timeout(delay, (m, child, child.need_version, direction))
    # The callback reads what it needs from the event's value: no closure per change
    # (a closure's cells would be garbage for the cyclic collector to find).
    event.callbacks.append(_on_timeout)


def _on_timeout(event: Timeout) -> None:
    # The payload schedule_need_change gave the timeout: (Model, Child, int, int). SimPy types a
    # value as Optional[Any]; no cast() call here, a function call on every change of need.
    m, child, version, direction = event.value  # type: ignore[misc]
    if version != child.need_version or child.case is None:
        return  # the step changed, or the case closed, since this change was drawn
    if direction == 0:
        schedule_need_change(m, child)
    else:
        _change(m, child, direction)


def start_crisis(m: Model, case: Case, u_length: float) -> None:
    """The case opens in an acute crisis (its need already raised by ``child.crisis_levels``):
    the crisis passes after an exponential time, whatever the step, and takes those levels
    with it; a review after that sees the lower need."""
    m.log(case, "crisis")
    rate = m.children.crisis_resolve_rate_per_year
    if rate <= 0.0:
        return
    delay = -math.log(1.0 - u_length) * DAYS_PER_YEAR / rate
    if m.env.now + delay >= m.end_day:
        return
    event = m.env.timeout(delay, (m, case))
    event.callbacks.append(_on_crisis_over)


def _on_crisis_over(event: Timeout) -> None:
    m, case = event.value  # type: ignore[misc]
    child = case.child
    if case.closed or child.case is not case or child.crisis_levels <= 0:
        return
    child.need = max(0, child.need - child.crisis_levels)
    child.crisis_levels = 0
    m.log(case, "crisis_over")
    if child.need <= child.step:
        case.accepted_need = child.step  # as for any fall of need: a later rise is a rise
    schedule_need_change(m, child)
    if child.step >= PLACEMENT_NEED and child.need < PLACEMENT_NEED:
        # A placement made for the crisis, which has passed: the family asks for the child home
        # (most placements are made with the parents' consent, which they can withdraw). The
        # caseworker reviews at once; the practice's wait for a second review does not apply,
        # the plan and its hours do.
        case.family_request = True
        m.raise_acute(case)


def _change(m: Model, child: Child, direction: int) -> None:
    case: Case = child.case  # type: ignore[assignment]  # not None: _on_timeout returns when the case has closed
    if direction > 0 and child.need >= MAX_NEED:
        # An unmet need at the top of the scale: the placement breaks down, reported at once.
        m.log(case, "acute_event")
        m.raise_acute(case)
        schedule_need_change(m, child)
        return
    child.need += direction
    m.log(case, "need_up" if direction > 0 else "need_down")
    if direction < 0 and child.need <= child.step:
        case.accepted_need = child.step  # the step meets the need again: a later rise is a rise
    if direction > 0 and child.need > child.step and child.need_draws.uniform() < m.need.acute_probability_when_unmet:
        m.log(case, "acute_event")
        m.raise_acute(case)
    schedule_need_change(m, child)
