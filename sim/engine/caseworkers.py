"""Caseworkers and the intake desk (docs/conceptual-model.md §3.7 and §3.8).

A caseworker is a single server whose tasks queue by priority. Each open case costs a
standing share of hours every week; what is left of the casework hours goes to tasks,
so a task of ``h`` hours takes ``h / (hours left per day)`` calendar days. With many
cases the hours left shrink and every visit waits longer: follow-ups slip out of the
caseload, not out of a parameter.

Under a backlog longer than a tolerance, a caseworker cuts corners: a task started
then takes fewer hours (a call instead of a visit, a thinner investigation), down to
a floor. This is the work-pressure response of service systems (Oliva and Sterman
2001, "Cutting corners and working overtime"); it keeps an overloaded department
working, late and thin, instead of letting its queues grow without end.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Generator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import simpy

from sim.constants import TASK_KINDS
from sim.engine.kernel import StockEnvironment

if TYPE_CHECKING:
    from sim.engine.entities import Case
    from sim.engine.rng import Stream


_R = TypeVar("_R")
Steps: TypeAlias = Generator[simpy.Event, Any, _R]
"""A SimPy process, or a part of one run with ``yield from``, that returns an ``_R``: it yields
the events it waits on and is sent their values."""

Task: TypeAlias = list[Any]
"""A queued task: ``[priority, seq, hours, done, case, kind]`` (a list: a task's ``done`` is set
to None where it is withdrawn or requeued) with ``done`` a :class:`simpy.Event` or None and
``case`` a :class:`Case` or None."""
Escalation: TypeAlias = tuple[float, int, Task]
"""``(escalate_day, seq, task)``: when a queued task moves up to deadline priority."""

# Task priorities (lower first): docs/conceptual-model.md §3.7.
ACUTE = 0
DEADLINE = 1
FOLLOWUP = 2
OTHER = 3

# The codes of the task kinds, in the order of :data:`sim.constants.TASK_KINDS`.
(
    PRELIMINARY_TASK,
    HANDOVER_TASK,
    INVESTIGATION_TASK,
    FOLLOWUP_TASK,
    ACUTE_REVIEW_TASK,
    PLAN_TASK,
    PLACEMENT_TASK,
    NETWORK_SEARCH_TASK,
    POLITICAL_REVIEW_TASK,
    SECOND_CASEWORKER_TASK,
    RENOTIFICATION_TASK,
    OTHER_TASK,
) = range(len(TASK_KINDS))

DROPPED = 0.0
"""The value of a task's event when the task was withdrawn before it started (a plan not
started by its deadline); otherwise the value is the share of its hours the task got (1.0 in
full, less when corners were cut)."""


class Worker:
    """One caseworker (or intake desk worker) working through a priority queue of tasks."""

    __slots__ = (
        "env",
        "id",
        "case_hours_per_week",
        "min_task_hours_per_week",
        "cases",
        "points",
        "standing_hours",
        "queue",
        "escalations",
        "_seq",
        "busy",
        "_current",
        "hours_worked",
        "hours_requested",
        "queued_hours",
        "backlog_tolerance_weeks",
        "corner_cutting",
        "min_hours_fraction",
        "durations",
        "_ledger",
        "_current_kind",
        "hours_by_kind",
        "_finish",
    )

    def __init__(
        self,
        env: StockEnvironment,
        worker_id: int,
        case_hours_per_week: float,
        min_task_share: float,
        backlog_tolerance_weeks: float = float("inf"),
        corner_cutting: float = 0.0,
        min_hours_fraction: float = 1.0,
    ):
        self.env = env
        self.id = worker_id
        self.case_hours_per_week = case_hours_per_week
        self.min_task_hours_per_week = case_hours_per_week * min_task_share
        self.cases = 0
        self.points = 0.0
        self.standing_hours = 0.0
        self.queue: list[Task] = []
        self.escalations: list[Escalation] = []
        self._seq = 0
        self.busy = False
        self._current: float | None = None  # hours of the task under way
        self.hours_worked = 0.0
        self.hours_requested = 0.0
        self.queued_hours = 0.0
        self.backlog_tolerance_weeks = backlog_tolerance_weeks
        self.corner_cutting = corner_cutting
        self.min_hours_fraction = min_hours_fraction
        self.durations: Stream | None = None  # draws exponential task times when set
        self._ledger: Worker | TaskPool = self  # whose ``queued_hours`` a dequeued task leaves: its own, or its team's
        self._current_kind = OTHER_TASK
        self.hours_by_kind = [0.0] * len(TASK_KINDS)  # task hours done, by kind
        self._finish = self._next  # the callback of a task's event: bound once, not once a task

    def task_hours_per_day(self) -> float:
        """Hours a day left for tasks after the standing work of the current caseload."""
        free = self.case_hours_per_week - self.standing_hours
        if free < self.min_task_hours_per_week:
            free = self.min_task_hours_per_week
        return free / 7.0

    def do(
        self,
        hours: float,
        priority: int,
        case: Case | None = None,
        escalate_day: float | None = None,
        kind: int = OTHER_TASK,
    ) -> simpy.Event:
        """Queue a task of ``kind`` (:data:`TASK_KINDS`); the returned event fires when it is
        done, with the share of its hours the task got as its value (1.0 unless corners were cut).

        A task with ``escalate_day`` moves up to :data:`DEADLINE` priority from that day on
        (an investigation whose legal deadline draws near).
        """
        if not self.busy and hours > 0:
            # Idle (so nothing queued): the task starts now, and its timeout is the event
            # the caller waits on.
            self.busy = True
            return self._start(None, hours, kind)
        done = self.env.event()
        self._seq = seq = self._seq + 1
        task = [priority, seq, hours, done, case, kind]
        heappush(self.queue, task)
        self.queued_hours += hours
        if escalate_day is not None and priority > DEADLINE:
            heappush(self.escalations, (escalate_day, seq, task))
        if not self.busy:
            self.busy = True
            self._next()
        return done

    def withdraw(self, done: simpy.Event) -> bool:
        """Take the task whose event is ``done`` out of the queue if it has not started; its
        event then never fires. Returns whether it was withdrawn (False: it has started)."""
        for task in self.queue:
            if task[3] is done:
                task[3] = None
                self._ledger.queued_hours -= task[2]
                return True
        return False

    def _start(self, done: simpy.Event | None, hours: float, kind: int) -> simpy.Event:
        """Start a task now; under a long backlog it is done in fewer hours (corners cut)."""
        free = self.case_hours_per_week - self.standing_hours  # task_hours_per_day(), inlined
        if free < self.min_task_hours_per_week:
            free = self.min_task_hours_per_week
        rate_per_day = free / 7.0
        self.hours_requested += hours
        backlog_weeks = self.queued_hours / (7.0 * rate_per_day)
        share = 1.0
        if backlog_weeks > self.backlog_tolerance_weeks:
            fraction = 1.0 / (1.0 + self.corner_cutting * (backlog_weeks - self.backlog_tolerance_weeks))
            share = max(fraction, self.min_hours_fraction)
            hours *= share
        days = hours / rate_per_day
        if self.durations is not None:
            days = self.durations.exponential(days)
            hours = days * rate_per_day
        self._current = hours
        self._current_kind = kind
        if done is None:
            done = self.env.timeout(days, share)
        else:
            # The event its caller already waits on fires when the task is done: scheduled
            # with the task's duration as its delay, as a Timeout would be (one event per
            # task instead of a Timeout and a completion event).
            self.env.succeed_after(done, days, share)
        done.callbacks.append(self._finish)
        return done

    def _escalate(self, now: float) -> None:
        escalations = self.escalations
        while escalations and escalations[0][0] <= now:
            task = heappop(escalations)[2]
            if task[3] is not None:  # still queued: requeue at deadline priority
                heappush(self.queue, [DEADLINE, task[1], task[2], task[3], task[4], task[5]])
                task[3] = None

    def _next(self, _timeout: simpy.Event | None = None) -> None:
        """Finish the current task, if any, and start the next one (driven by callbacks,
        not a process: a task costs one event)."""
        if self._current is not None:
            self.hours_worked += self._current
            self.hours_by_kind[self._current_kind] += self._current
            self._current = None
        queue = self.queue
        if queue:
            now = self.env.now
            escalations = self.escalations
            if escalations and escalations[0][0] <= now:
                self._escalate(now)
            while queue:
                task = heappop(queue)
                done = task[3]
                if done is None:
                    continue  # moved up to deadline priority, queued again
                task[3] = None
                hours = task[2]
                self._ledger.queued_hours -= hours
                case = task[4]
                if case is not None and case.closed:
                    continue  # the case closed while the task waited: nothing left to do
                if hours > 0:
                    self._start(done, hours, task[5])
                    return
                done.succeed(1.0)
        self.busy = False


class TaskPool:
    """One queue of tasks shared by a team of :class:`PooledWorker` (``task_queue = "pooled"``)."""

    __slots__ = ("workers", "queue", "escalations", "seq", "queued_hours")

    def __init__(self) -> None:
        self.workers: list[PooledWorker] = []
        self.queue: list[Task] = []
        self.escalations: list[Escalation] = []
        self.seq = 0
        self.queued_hours = 0.0


class PooledWorker(Worker):
    """A caseworker who takes the next task from the team's shared queue, whoever's case it
    is: with one priority and exponential task times, the team is a textbook M/M/c queue
    (first come, first served; ``c`` the number of caseworkers)."""

    __slots__ = ("pool",)

    def __init__(self, env: StockEnvironment, worker_id: int, pool: TaskPool, *args: float, **kwargs: float):
        super().__init__(env, worker_id, *args, **kwargs)
        self.pool = pool
        self.queue = pool.queue  # the same list: snapshots show the team's queue
        self.escalations = pool.escalations
        self._ledger = pool  # Worker._next takes a task's hours off the team's queued hours
        pool.workers.append(self)

    def do(
        self,
        hours: float,
        priority: int,
        case: Case | None = None,
        escalate_day: float | None = None,
        kind: int = OTHER_TASK,
    ) -> simpy.Event:
        """Queue a task for the team; an idle caseworker (the first) starts it at once."""
        pool = self.pool
        idle = next((w for w in pool.workers if not w.busy), None)
        if idle is not None and hours > 0:
            idle.busy = True
            return idle._start(None, hours, kind)
        done = self.env.event()
        pool.seq += 1
        task = [priority, pool.seq, hours, done, case, kind]
        heappush(pool.queue, task)
        pool.queued_hours += hours
        if escalate_day is not None and priority > DEADLINE:
            heappush(pool.escalations, (escalate_day, pool.seq, task))
        if idle is not None:
            idle.busy = True
            idle._next()
        return done

    def _start(self, done: simpy.Event | None, hours: float, kind: int) -> simpy.Event:
        # The backlog that may make a caseworker cut corners: the team's, per caseworker.
        self.queued_hours = self.pool.queued_hours / len(self.pool.workers)
        return super()._start(done, hours, kind)


class Caseworkers:
    """The district caseworkers, assignment to the one with fewest points, and the waiting list.

    Under a point cap no caseworker *takes a new case* beyond the cap: a new case that does
    not fit waits unassigned, first come first served, until points are freed. A case keeps
    its caseworker when its points rise, even past the cap.
    """

    def __init__(
        self, env: StockEnvironment, workers: list[Worker], point_cap: float | None, near_tie_points: float = 0.0
    ):
        self.env = env
        self.workers = workers
        self.point_cap = point_cap
        self.near_tie_points = near_tie_points
        self.waiting: deque[tuple[Case, str, float, float]] = deque()
        # The caseworkers ordered by (points, id): the ones near the fewest points are found
        # without looking at all of them (their number grows with the municipality). Ids are
        # the caseworkers' places in ``workers``; every change of a caseworker's points goes
        # through :meth:`_set_points`.
        self._by_points: list[tuple[float, int, Worker]] = sorted((w.points, w.id, w) for w in workers)

    def add(self, worker: Worker) -> None:
        """A new caseworker (a hire), with the next id."""
        assert worker.id == len(self.workers)
        self.workers.append(worker)
        insort(self._by_points, (worker.points, worker.id, worker))

    def _set_points(self, worker: Worker, points: float) -> None:
        order = self._by_points
        del order[bisect_left(order, (worker.points, worker.id))]
        worker.points = points
        insort(order, (points, worker.id, worker))

    def fewest_points(self, other_than: Worker | None = None) -> Worker:
        """The caseworker with the fewest points (the lowest id among equals), other than
        ``other_than`` unless there is no other."""
        order = self._by_points
        first = order[0][2]
        return order[1][2] if first is other_than and len(order) > 1 else first

    def _lightest(self) -> Worker:
        """The caseworker with the fewest points; among those within ``near_tie_points`` of
        the fewest, the one with the least work queued, the lowest id among equals (so that a
        burst of new cases is spread, not piled on whoever was lightest when it began)."""
        order = self._by_points
        fewest = order[0][0] + self.near_tie_points
        best = order[0][2]
        least_queued, best_id = best.queued_hours, best.id
        for k in range(1, bisect_right(order, (fewest, math.inf))):
            _, wid, w = order[k]
            queued = w.queued_hours
            if queued < least_queued or (queued == least_queued and wid < best_id):
                best, least_queued, best_id = w, queued, wid
        return best

    def _fits(self, worker: Worker, points: float) -> bool:
        return self.point_cap is None or worker.points + points <= self.point_cap + 1e-9

    def _attach(self, case: Case, worker: Worker, kind: str, points: float, standing: float) -> None:
        case.owner = worker
        case.kind = kind
        case.points = points
        case.standing_hours = standing
        worker.cases += 1
        self._set_points(worker, worker.points + points)
        worker.standing_hours += standing

    def _detach(self, case: Case) -> None:
        worker = case.owner
        if worker is not None:
            worker.cases -= 1
            self._set_points(worker, worker.points - case.points)
            worker.standing_hours -= case.standing_hours
            case.owner = None

    def set_kind(self, case: Case, kind: str, points: float, standing: float) -> simpy.Event | None:
        """Give ``case`` a new kind; returns None when it has an owner at once, else an event
        that fires when a caseworker with room takes it.

        A case keeps its caseworker when its kind changes, even if its new points take the
        caseworker above the cap: the cap governs which caseworker takes a *new* case
        (docs/conceptual-model.md §3.8), and a child placed is not left without anyone
        following up."""
        owner = case.owner
        if owner is not None:
            freed = case.points - points
            if freed:  # (a move between steps of one kind keeps the points: the order stays)
                self._set_points(owner, owner.points - freed)
            owner.standing_hours += standing - case.standing_hours
            case.kind, case.points, case.standing_hours = kind, points, standing
            if freed > 0 and self.waiting:
                self.serve_waiting()
            return None
        best = self._lightest()
        if not self.waiting and self._fits(best, points):
            self._attach(case, best, kind, points, standing)
            return None
        case.kind, case.points, case.standing_hours = kind, points, standing
        case.assigned = self.env.event()
        self.waiting.append((case, kind, points, standing))
        return case.assigned

    def release(self, case: Case) -> None:
        """The case closed: free its points and take cases off the waiting list."""
        if case.owner is not None:
            self._detach(case)
            self.serve_waiting()
        elif case.assigned is not None and not case.assigned.triggered:
            self.waiting = deque(w for w in self.waiting if w[0] is not case)

    def serve_waiting(self) -> None:
        while self.waiting:
            case, kind, points, standing = self.waiting[0]
            best = self._lightest()
            if not self._fits(best, points):
                return
            self.waiting.popleft()
            self._attach(case, best, kind, points, standing)
            assert case.assigned is not None  # set_kind gave every waiting case its event
            case.assigned.succeed(self.env.now)


def work(
    case: Case, hours: float, priority: int, escalate_day: float | None = None, kind: int = OTHER_TASK
) -> Generator[simpy.Event, float, float]:
    """Hours of the case's caseworker (a SimPy generator returning the share of its hours the
    task got); while the case waits unassigned on the waiting list, nothing is done."""
    while case.owner is None:
        assert case.assigned is not None  # set_kind gave the case its event when it joined the list
        yield case.assigned
    return (yield case.owner.do(hours, priority, case, escalate_day, kind))


def work_by(
    env: StockEnvironment, case: Case, hours: float, priority: int, deadline_day: float, kind: int
) -> Steps[float]:
    """Hours of the case's caseworker that must *start* by ``deadline_day``: a task not started
    by then is withdrawn and the generator returns :data:`DROPPED`; otherwise the share of
    its hours the task got. A case still on the waiting list at the deadline drops it too."""
    while case.owner is None:
        assert case.assigned is not None  # set_kind gave the case its event when it joined the list
        yield case.assigned
    if env.now >= deadline_day:
        return DROPPED
    owner = case.owner
    done = owner.do(hours, priority, case, None, kind)
    share: float  # the value of ``done``
    if done.triggered:  # started at once
        share = yield done
        return share
    yield done | env.timeout(deadline_day - env.now)
    if done.triggered or not owner.withdraw(done):
        share = yield done  # started before the deadline: it runs to its end
        return share
    return DROPPED
