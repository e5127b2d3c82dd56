"""Arrivals of notifications and applications (docs/conceptual-model.md §3.1).

Poisson processes at a rate per 1,000 children per year times the municipality's
children, with monthly seasonality by thinning. A notification on a child with an open
case joins that case; otherwise it opens a new case, for a child seen before (whose
earlier case closed) or a child new to the department.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.constants import DAYS_PER_YEAR

if TYPE_CHECKING:
    from sim.engine.caseworkers import Steps
    from sim.engine.model import Model
    from sim.engine.rng import Stream

DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def notifications(m: Model) -> Steps[None]:
    """The process of notifications (underretninger)."""
    a = m.scenario.arrivals
    stream = m.rng.notifications
    yield from _arrivals(m, stream, a.notifications_per_1000_children_per_year, _notification)


def applications(m: Model) -> Steps[None]:
    """The process of applications for help from families."""
    a = m.scenario.arrivals
    stream = m.rng.applications
    yield from _arrivals(m, stream, a.applications_per_1000_children_per_year, _application)


def _arrivals(
    m: Model, stream: Stream, per_1000_per_year: float, handle: Callable[[Model, Stream], None]
) -> Steps[None]:
    season = m.scenario.arrivals.seasonality
    peak = max(season)
    rate_per_day = per_1000_per_year * m.scenario.municipality.children / 1000.0 / DAYS_PER_YEAR * peak
    if rate_per_day <= 0:
        return
    mean_gap = 1.0 / rate_per_day
    env = m.env
    timeout = env.timeout
    log = math.log
    while True:
        u_gap, u_thin = stream.take(2)  # the gap, then the thinning draw (as exponential(), uniform())
        yield timeout(-log(1.0 - u_gap) * mean_gap)
        month = int((env.now % DAYS_PER_YEAR) / DAYS_PER_MONTH) % 12
        if u_thin * peak < season[month]:
            handle(m, stream)


def _notification(m: Model, stream: Stream) -> None:
    a = m.arrivals
    # Four draws whatever happens, so that arrivals stay aligned across scenarios.
    u_repeat, u_pick, u_known, u_pick_known = stream.take(4)
    if u_repeat < a.repeat_notification_share and m.open_cases:
        case = m.open_cases[min(int(u_pick * len(m.open_cases)), len(m.open_cases) - 1)]
        m.notification_joins(case)
        return
    child = m.notified_child(u_known, u_pick_known)
    m.open_case(child, "notification")


def _application(m: Model, _stream: Stream) -> None:
    child = m.notified_child(1.0, 0.0)
    m.open_case(child, "application")
