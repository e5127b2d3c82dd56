"""One replication of the municipal child-welfare flow (docs/conceptual-model.md §3).

:class:`Model` holds the state the processes share (children, open cases, caseworkers,
the intake desk, the recorder) and the small bookkeeping steps they call; the processes
themselves live in the modules named after them (arrivals, intake, investigation,
ladder, need, cases).
"""

from __future__ import annotations

import heapq
import math
from array import array
from operator import itemgetter
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np
from pydantic import BaseModel

from sim.constants import AGED_OUT, DAYS_PER_YEAR, TASK_KINDS
from sim.engine.arrivals import applications, notifications
from sim.engine.cases import case_flow, stock_case_flow, stock_investigation_flow
from sim.engine.caseworkers import (
    DEADLINE,
    RENOTIFICATION_TASK,
    Caseworkers,
    PooledWorker,
    Steps,
    TaskPool,
    Worker,
)
from sim.engine.entities import (
    INTERVENTION,
    INVESTIGATION_APPLICATION,
    INVESTIGATION_NOTIFICATION,
    PLACEMENT,
    PRELIMINARY,
    Case,
    Child,
)
from sim.engine.kernel import Environment, collector_paused
from sim.engine.ladder import ACUTE_CAUSE, FIRST_PLACEMENT_STEP, FOSTER, followup_interval_days, reachable_step
from sim.engine.need import MAX_NEED, schedule_need_change, start_crisis
from sim.engine.recorder import Recorder
from sim.engine.rng import ChildStream, Streams, index_for, mixed_key
from sim.params import Scenario

if TYPE_CHECKING:
    from sim.engine.rng import Stream
    from sim.params import Schedule

ADULT_YEARS = 18.0
ADULT_DAYS = ADULT_YEARS * DAYS_PER_YEAR
EVENTS: tuple[str, ...] = (
    "notification",
    "application",
    "notification_joined",
    "preliminary_assessment",
    "handover",
    "waiting_list",
    "investigation_start",
    "investigation_done",
    "step_start",
    "followup",
    "acute_event",
    "acute_review",
    "step_down_deferred",
    "plan_dropped",
    "network_search",
    "need_up",
    "need_down",
    "case_closed",
    "crisis",
    "crisis_over",
)
"""The names of the event log's events; stored as codes, read back as a categorical."""
EVENT_CODES = {name: code for code, name in enumerate(EVENTS)}
REPLACEMENT_WINDOW_DAYS = 365.0
"""A new placement within 12 months of returning home is a re-placement (docs/conceptual-model.md §3.9)."""


_Section = TypeVar("_Section", bound=BaseModel)


class _Values:
    """A scenario section's values as plain attributes (made by :func:`plain_values`)."""


def plain_values(section: _Section) -> _Section:
    """A copy of a scenario section's values as plain attributes, for the engine's hot paths.

    A section is a pydantic model, whose class has a ``__getattr__`` hook: each read of one of
    its values goes through the hook and cannot be specialised by the interpreter, some 300
    machine instructions against a few dozen for a plain attribute, and a run reads scenario
    values a million and a half times. The copy has the values, not the section's methods."""
    values = _Values()
    values.__dict__.update(section.__dict__)
    return cast("_Section", values)


STOCK_DRAWS = 3
"""The purpose of a stock child's own stream (:class:`ChildStream`) for its place in the stock."""


def _stock_keys(base: int, expected: float, kind: int, step: int, need: int) -> list[int]:
    """The keys (53 bits) of the stock children of one cell: ``expected`` rounded at random to a
    whole number, by a draw of the cell's own; the i-th key depends only on ``base``, the cell
    and i."""
    cell = mixed_key(base, kind, step, need)
    count = int(expected) + (ChildStream(cell, 0).uniform() < expected - int(expected))
    return [mixed_key(cell, i) >> 11 for i in range(count)]


def bucket_days(children: int) -> float:
    """The width of the event queue's buckets of time (:class:`~sim.engine.kernel.Environment`):
    a power of two near half a day per 20,000 children, so that a bucket holds some fifty events
    whatever the size of the municipality (a run has about six events a day per 1,000 children)."""
    return 2.0 ** min(4, max(-12, round(math.log2(10_000.0 / max(children, 1)))))


def run_together(models: list[Model]) -> None:
    """Start ``models``, which share one event loop (``Model(env=...)``) and end on the same
    day, and run them to that day. Each runs as it would alone: they share no state, and the
    loop keeps the order of each one's events (time, priority, then the order they were
    scheduled in). bench/bench_scale.py runs many small municipalities so, to part the cost of
    a larger heap from the cost of a larger municipality."""
    env, end_day = models[0].env, models[0].end_day
    if any(m.env is not env or m.end_day != end_day for m in models):
        raise ValueError("models run together share one event loop and one end day")
    for model in models:
        model.start()
    with collector_paused():
        env.run_until(end_day)


def _stock_age(stream: Stream | ChildStream, mean_years: float) -> float:
    """An age in [0, 18) years with the given mean (3 to 15; 9 is uniform): children in care
    are older on average than children notified, since those whose need persists stay until
    18. The age is 18 u^(1/p) (or 18 minus that, for a mean under 9) for a uniform u, with p
    chosen for the mean: one draw from the initial stock's own stream."""
    u = stream.uniform()
    age: float  # float ** float is typed Any (a negative base gives a complex number); u is not negative
    if mean_years >= 9.0:
        age = ADULT_YEARS * u ** ((ADULT_YEARS - mean_years) / mean_years)
        return age
    age = ADULT_YEARS - ADULT_YEARS * u ** (mean_years / (ADULT_YEARS - mean_years))
    return age


class Model:
    """The shared state of one replication."""

    def __init__(
        self, scenario: Scenario, seed: int | list[int], years: float | None = None, env: Environment | None = None
    ):
        """``env``: the event loop to run on, shared with other models (see :meth:`start`); by
        default one of the model's own, its buckets of time sized for the municipality."""
        s = self.scenario = self.initial_scenario = scenario
        self.seed = seed
        self.env = Environment(bucket_days=bucket_days(s.municipality.children)) if env is None else env
        self.rng = Streams(seed)
        self.rec = Recorder()
        self._log_append, self._log_pack = self.rec.events.row_writer()
        self.warmup_days = s.run.warmup_years * DAYS_PER_YEAR
        self.measured_days = (s.run.years if years is None else years) * DAYS_PER_YEAR
        self.end_day = self.warmup_days + self.measured_days
        case_hours = s.staffing.hours_per_week * s.staffing.case_hours_share
        # The queue discipline and the task time distribution are the initial scenario's
        # for the whole run (a transition changes neither).
        self._pool = TaskPool() if s.staffing.task_queue == "pooled" else None
        self._durations = self.rng.task_durations if s.hours.task_hours_distribution == "exponential" else None
        workers = [self._new_worker(i, s) for i in range(s.staffing.caseworkers)]
        # Near ties: within the weight of the lightest case kind (a preliminary assessment).
        near_tie = min(s.assignment.points_preliminary_assessment, s.assignment.points_intervention)
        self.caseworkers = Caseworkers(self.env, workers, s.assignment.point_cap, near_tie)
        # Intake desk workers have ids -2, -3, ...: -1 means "no caseworker" in the tables.
        self.desk = [self._new_desk_worker(i, case_hours) for i in range(s.intake.desk_staff if s.intake.desk else 0)]
        # (day, caseworkers, intake desk staff) from each change of staffing on: for staff cost.
        self.staff_timeline: list[tuple[float, int, int]] = [(0.0, len(workers), len(self.desk))]
        self.open_cases: list[Case] = []
        self._adults: list[tuple[float, int, Case]] = []  # (18th birthday, case id, case)
        self.closed_children: list[Child] = []
        self._closed_birth_days = array("d")  # the pooled children's birth days, in step with the pool
        self.on_step = [0] * 6
        # A foster placement's second caseworker carries the standing hours of the municipality's
        # foster care, whatever the practice after a transition.
        self._second_standing_hours = s.ladder.foster.standing_hours_per_week
        self._next_child = 0
        self._next_case = 0
        self._next_notification = 0

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        """Run the replication to its end."""
        run_together([self])

    def start(self) -> None:
        """Put the initial stock and the model's processes on its event loop, without running
        it (:func:`run_together` starts and runs models that share one loop)."""
        env = self.env
        self._initial_stock()
        env.process(notifications(self))
        env.process(applications(self))
        env.process(self._snapshots())
        env.process(self._age_outs())
        if self.scenario.transition is not None:
            env.process(self._transition())

    def dispose(self) -> None:
        """Break the model's reference cycles once its tables are built, so that reference
        counting frees it at once instead of leaving the cyclic collector a few hundred
        thousand objects to trace (a pause of up to a second in the middle of a batch)."""
        self.env.drop_pending()  # pending events and, through their callbacks, processes
        for case in self.open_cases:
            case.process = None
            case.child.case = None
            case.owner = None
            case.second = None
            case.assigned = None
        for worker in [*self.caseworkers.workers, *self.desk]:
            worker.queue.clear()
            worker.escalations.clear()
        self.caseworkers.waiting.clear()
        self.open_cases.clear()
        self.closed_children.clear()
        del self._closed_birth_days[:]
        self._adults.clear()

    def _snapshots(self) -> Steps[None]:
        env = self.env
        rec = self.rec
        yield env.timeout(self.warmup_days)
        interval = self.scenario.run.snapshot_interval_days
        reported: dict[int, list[float]] = {}  # task hours by kind of each caseworker at the last snapshot
        first = True
        while True:
            now = env.now
            waiting = len(self.caseworkers.waiting)
            kinds = len(TASK_KINDS)
            period = [0.0] * kinds
            standing_total = available = 0.0
            for w in self.caseworkers.workers:
                before = reported.get(w.id) or [0.0] * kinds
                done = list(w.hours_by_kind)
                task_hours = sum(done) - sum(before)
                for k in range(kinds):
                    period[k] += done[k] - before[k]
                reported[w.id] = done
                rec.caseload.add(now, w.id, w.cases, w.points, len(w.queue), waiting, w.standing_hours, task_hours)
                standing_total += w.standing_hours
                available += w.case_hours_per_week
            if not first:  # the hours of the week before this snapshot (none before measurement)
                weeks = interval / 7.0
                rec.hours.add(now, len(self.caseworkers.workers), available * weeks, standing_total * weeks, *period)
            first = False
            for step in range(1, 6):
                rec.ladder.add(now, step, self.on_step[step])
            yield env.timeout(interval)

    def _transition(self) -> Steps[None]:
        """At the switch date the new scenario's staffing, organisation and practice take
        over: later decisions, bookings and assignments follow it; cases keep their
        caseworkers; the extra caseworkers are hired evenly over the ramp."""
        env = self.env
        transition = self.scenario.transition
        assert transition is not None  # run() starts this process only for a transition
        yield env.timeout(self.warmup_days + transition.at_years * DAYS_PER_YEAR)
        new = transition.target
        assert new is not None  # load_scenario resolves the scenario switched to
        self.scenario = new
        team = self.caseworkers
        team.point_cap = new.assignment.point_cap
        team.near_tie_points = min(new.assignment.points_preliminary_assessment, new.assignment.points_intervention)
        for worker in team.workers:
            self._configure(worker, new)
        case_hours = new.staffing.hours_per_week * new.staffing.case_hours_share
        if not new.intake.desk:
            self.desk = []
        elif len(self.desk) < new.intake.desk_staff:
            start = len(self.desk)
            self.desk += [self._new_desk_worker(i, case_hours) for i in range(start, new.intake.desk_staff)]
        self._record_staff()
        hires = new.staffing.caseworkers - len(team.workers)
        for _ in range(hires):
            if transition.hiring_ramp_years > 0:
                yield env.timeout(transition.hiring_ramp_years * DAYS_PER_YEAR / hires)
            team.add(self._new_worker(len(team.workers), new))
            team.serve_waiting()
            self._record_staff()

    @property
    def scenario(self) -> Scenario:
        """The scenario that decisions, bookings and assignments follow (the target of a
        transition from its switch date on). Setting it sets the copies of its sections that
        the processes read (:func:`plain_values`) and the follow-up hours, schedules and
        standing hours per step (index 1-5)."""
        return self._scenario

    @scenario.setter
    def scenario(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.arrivals = plain_values(scenario.arrivals)
        self.children = plain_values(scenario.children)
        self.need = plain_values(scenario.need)
        self.followup = plain_values(scenario.followup)
        self.practice = plain_values(scenario.practice)
        self.assignment = plain_values(scenario.assignment)
        self.intake = plain_values(scenario.intake)
        self.hours = plain_values(scenario.hours)
        steps = [scenario.ladder.step(k) for k in range(1, 6)]
        self.followup_hours = [0.0] + [step.followup_hours for step in steps]
        self.standing_hours = [0.0] + [step.standing_hours_per_week for step in steps]
        # Index 0 (off the ladder) is never looked up: a child has a follow-up only on a step.
        self.followup_schedules = cast(
            "list[Schedule]", [None] + [plain_values(scenario.followup.schedule(k)) for k in range(1, 6)]
        )

    def _new_desk_worker(self, index: int, case_hours: float) -> Worker:
        """Intake desk worker number ``index``; desk ids are -2, -3, ... (-1: no caseworker)."""
        worker = Worker(self.env, -2 - index, case_hours, 1.0)
        worker.durations = self._durations
        return worker

    def _new_worker(self, worker_id: int, scenario: Scenario) -> Worker:
        """A district caseworker with ``scenario``'s staffing, in the team's pool if tasks are pooled."""
        st = scenario.staffing
        args = (
            st.hours_per_week * st.case_hours_share,
            st.min_task_hours_share,
            st.backlog_tolerance_weeks,
            st.corner_cutting_per_backlog_week,
            st.min_hours_fraction,
        )
        worker: Worker
        if self._pool is not None:
            worker = PooledWorker(self.env, worker_id, self._pool, *args)
        else:
            worker = Worker(self.env, worker_id, *args)
        worker.durations = self._durations
        return worker

    @staticmethod
    def _configure(worker: Worker, scenario: Scenario) -> None:
        st = scenario.staffing
        worker.case_hours_per_week = st.hours_per_week * st.case_hours_share
        worker.min_task_hours_per_week = worker.case_hours_per_week * st.min_task_hours_share
        worker.backlog_tolerance_weeks = st.backlog_tolerance_weeks
        worker.corner_cutting = st.corner_cutting_per_backlog_week
        worker.min_hours_fraction = st.min_hours_fraction

    def _record_staff(self) -> None:
        self.staff_timeline.append((self.env.now, len(self.caseworkers.workers), len(self.desk)))

    def _age_outs(self) -> Steps[None]:
        """Children leave at 18: once a day, close the cases of those who have turned 18
        (one daily sweep instead of a timer per case)."""
        env = self.env
        adults = self._adults
        day = 0
        while True:
            while adults and adults[0][0] <= env.now:
                self._age_out(heapq.heappop(adults)[2])
            day += 1
            if day % 91 == 0:
                # Every quarter, children known from a closed case who have turned 18
                # leave the pool of those who may be notified again (else the share of
                # notifications on known children would drift down over the years).
                self._purge_adults(env.now)
            yield env.timeout(1.0)

    def _purge_adults(self, now: float) -> None:
        """Drop the children who have turned 18 from the pool of closed cases, keeping the
        order of the others (a vectorised filter: the pool holds thousands of children)."""
        if not self.closed_children:
            return
        births = np.frombuffer(self._closed_birth_days, dtype=np.float64)
        keep = np.flatnonzero(now - births < ADULT_DAYS)
        if len(keep) < len(births):
            if len(keep) > 1:  # itemgetter of many indices: a tuple, in C
                self.closed_children = list(itemgetter(*keep.tolist())(self.closed_children))
            else:
                self.closed_children = [self.closed_children[i] for i in keep.tolist()]
            self._closed_birth_days = array("d", births[keep].tobytes())

    def _initial_stock(self) -> None:
        """The state a run starts in (docs/STRESS-DES.md §4.1): the open cases on the ladder, per
        1,000 children by step and need (each count rounded at random to whole cases), with
        their persistence, relapse risk and the reviews that found them over-served; the cases
        under investigation; and the children known from closed cases.

        Common random numbers: the i-th stock child of a cell (the same step and need, or the
        i-th case under investigation with a need, or the i-th known child) has a key of its
        own, from the replication's seed and its place in the stock, and takes every draw from
        it: two scenarios that start with that child start with the same child, whatever their
        other counts."""
        s = self.scenario
        stock = s.initial_stock
        base = int(self.rng.initial_stock.uniform() * 9007199254740992.0)
        scale = s.municipality.children / 1000.0
        for step, row in enumerate(stock.open_cases_per_1000_children, start=1):
            for need, per_1000 in enumerate(row):
                share = stock.persistent_share(step, need)
                for key in _stock_keys(base, per_1000 * scale, 1, step, need):
                    draws = ChildStream(key, STOCK_DRAWS)
                    age_years = _stock_age(draws, stock.mean_age_years_by_step[step - 1])
                    persistent = draws.uniform() < share
                    child = self._new_child(-age_years * DAYS_PER_YEAR, need, key / 9007199254740992.0, persistent)
                    case = self._new_case(child, "stock", urgent=False, screen_u=1.0)
                    # Kinship care is known to exist for a child in it. A child in foster care had its
                    # network searched when it was placed: had there been a kinship placement, it would
                    # be in it (in the steady state 99 % of foster children know there is none).
                    case.kinship_available = {FIRST_PLACEMENT_STEP: True, FOSTER: False}.get(step)
                    self.set_step(case, step)
                    case.seen_need = need
                    case.accepted_need = max(step, need)
                    case.spell_initial = True
                    start_u, due_u, political_u, moved_u, window_u, unsupported_u, reviewed_u = draws.take(7)
                    case.step_start_day = case.last_followup_day = -start_u * DAYS_PER_YEAR
                    case.next_due_day = due_u * s.followup.schedule(step).every_days
                    if step >= FIRST_PLACEMENT_STEP and s.practice.political_review_every_days is not None:
                        case.next_political_day = political_u * s.practice.political_review_every_days
                    if moved_u < stock.moved_down_share_by_step[step - 1]:
                        # Moved down within the relapse window: the higher risk runs on for part of it.
                        child.relapse_until_day = window_u * s.need.relapse_window_days
                        child.unsupported = unsupported_u < stock.unsupported_share_of_moved_down_by_step[step - 1]
                        schedule_need_change(self, child)
                    if reachable_step(case, need, step) < step:
                        reviewed = reviewed_u < stock.over_served_reviewed_share_by_step[step - 1]
                        case.over_served_reviews = int(reviewed)
                    case.process = self.env.process(stock_case_flow(self, case))
        self._initial_investigations(base)
        self._initial_known(base)

    def _initial_investigations(self, base: int) -> None:
        """The cases under investigation when the run starts: each a new child's, notified (or
        applied for) within the investigation's sessions so far, at a session drawn at random."""
        s = self.scenario
        stock, c, h = s.initial_stock, s.children, s.hours
        scale = s.municipality.children / 1000.0
        for need, per_1000 in enumerate(stock.under_investigation_per_1000_children):
            for key in _stock_keys(base, per_1000 * scale, 2, 0, need):
                age_u, persistent_u, source_u, session_u, day_u = ChildStream(key, STOCK_DRAWS).take(5)
                age_years = c.age_min_years + age_u * (c.age_max_years + 1 - c.age_min_years)
                persistent = persistent_u < c.persistent_need_share
                child = self._new_child(-age_years * DAYS_PER_YEAR, need, key / 9007199254740992.0, persistent)
                application = source_u < stock.under_investigation_application_share
                case = self._new_case(child, "application" if application else "notification", False, 1.0)
                first_session = min(int(session_u * h.investigation_sessions), h.investigation_sessions - 1)
                case.notified_day = -(first_session + day_u) * h.investigation_gap_days
                if not application:  # an application's investigation sets its own kind
                    self.set_kind(case, INVESTIGATION_NOTIFICATION)
                case.process = self.env.process(stock_investigation_flow(self, case, first_session))

    def _initial_known(self, base: int) -> None:
        """The children known from cases closed before the start: a notification may concern one
        of them again, older than a child new to the department (docs/STRESS-DES.md §4.1)."""
        s = self.scenario
        stock = s.initial_stock
        expected = stock.known_children_per_1000 * s.municipality.children / 1000.0
        for key in _stock_keys(base, expected, 3, 0, 0):
            draws = ChildStream(key, STOCK_DRAWS)
            age_years = _stock_age(draws, stock.known_children_mean_age_years)
            persistent = draws.uniform() < stock.known_children_persistent_share
            child = self._new_child(-age_years * DAYS_PER_YEAR, 0, key / 9007199254740992.0, persistent)
            self.closed_children.append(child)
            self._closed_birth_days.append(child.birth_day)

    # ------------------------------------------------------------------ children and cases

    def _new_child(self, birth_day: float, need: int, key_u: float, persistent: bool = False) -> Child:
        child = Child(self._next_child, birth_day, need, int(key_u * 9007199254740992.0), persistent)
        self._next_child += 1
        return child

    def notified_child(self, u_known: float, u_pick: float) -> Child:
        """The child a new notification concerns: one seen before, or a new one."""
        c = self.children
        age_u, need_u, key_u, persistent_u = self.rng.children.take(4)
        need = index_for(need_u, c.initial_need_probabilities)
        now = self.env.now
        pool = self.closed_children
        if pool and u_known < self.arrivals.known_child_share:
            i = min(int(u_pick * len(pool)), len(pool) - 1)
            child = pool[i]
            pool[i] = pool[-1]
            pool.pop()
            births = self._closed_birth_days
            births[i] = births[-1]
            births.pop()
            if now - child.birth_day < ADULT_DAYS - 1.0:
                child.need = need
                return child
        age_years = c.age_min_years + age_u * (c.age_max_years + 1 - c.age_min_years)
        return self._new_child(now - age_years * DAYS_PER_YEAR, need, key_u, persistent_u < c.persistent_need_share)

    def _new_case(self, child: Child, source: str, urgent: bool, screen_u: float) -> Case:
        case = Case(self._next_case, child, source, self.env.now, urgent, screen_u)
        self._next_case += 1
        child.case = case
        case.open_index = len(self.open_cases)
        self.open_cases.append(case)
        schedule_need_change(self, child)
        adult_day = child.birth_day + ADULT_DAYS
        if adult_day < self.end_day:
            heapq.heappush(self._adults, (adult_day, case.id, case))
        return case

    def open_case(self, child: Child, source: str) -> Case:
        """A notification or application on a child without an open case opens one."""
        u_urgent, screen_u = self.rng.children.take(2)
        urgent = source == "notification" and u_urgent < self.arrivals.urgent_share
        # Two draws whatever happens, from a stream of their own, so that the other streams stay aligned.
        u_crisis, u_length = self.rng.crises.take(2)
        c = self.children
        crisis = source == "notification" and u_crisis < c.crisis_share and c.crisis_need_levels > 0
        child.crisis_levels = 0
        if crisis:
            child.crisis_levels = min(c.crisis_need_levels, MAX_NEED - child.need)
            child.need += child.crisis_levels
            urgent = True
        case = self._new_case(child, source, urgent, screen_u)
        if crisis:
            start_crisis(self, case, u_length)
        nid = self._next_notification
        self._next_notification += 1
        if source == "notification":
            case.notification = (nid, self.env.now)
        else:
            self.rec.notifications.add(nid, self.env.now, child.id, case.id, source, "opened_case")
        self.log(case, source)
        case.process = self.env.process(case_flow(self, case))
        return case

    def notification_joins(self, case: Case) -> None:
        """A notification on a child with an open case: a short task and a signal."""
        nid = self._next_notification
        self._next_notification += 1
        self.rec.notifications.add(nid, self.env.now, case.child.id, case.id, "notification", "joined_case")
        self.log(case, "notification_joined")
        if case.owner is not None:
            case.owner.do(self.hours.renotification_hours, DEADLINE, case, None, RENOTIFICATION_TASK)
        if case.child.need > case.child.step:
            self.raise_acute(case)

    def decide_notification(self, case: Case, outcome: str) -> None:
        if case.notification is not None:
            nid, day = case.notification
            self.rec.notifications.add(nid, day, case.child.id, case.id, "notification", outcome)
            case.notification = None

    def _age_out(self, case: Case) -> None:
        if not case.closed and case.process is not None and case.process.is_alive:
            case.process.interrupt(AGED_OUT)

    def close_case(self, case: Case, reason: str) -> None:
        """Close the case: end the child's spell, free the caseworker's points."""
        if case.closed:
            return
        child = case.child
        if child.step:
            self.set_step(case, 0, reason)
        self.release_second_caseworker(case)
        case.closed = True
        self.caseworkers.release(case)
        last = self.open_cases.pop()
        if last is not case:
            self.open_cases[case.open_index] = last
            last.open_index = case.open_index
        child.case = None
        child.need_version += 1
        self.log(case, "case_closed")
        if reason != AGED_OUT:
            self.closed_children.append(child)
            self._closed_birth_days.append(child.birth_day)

    def raise_acute(self, case: Case) -> None:
        """An acute event or a worrying notification forces an immediate review."""
        if case.closed:
            return
        case.acute = True
        if case.waiting:
            case.waiting = False
            assert case.process is not None  # a case waits for its follow-up in its own process
            case.process.interrupt(ACUTE_CAUSE)

    # ------------------------------------------------------------------ kinds, steps, points

    def set_kind(self, case: Case, kind: str, step: int = 0) -> None:
        a, h = self.assignment, self.hours
        if kind == PRELIMINARY:
            points, standing = a.points_preliminary_assessment, h.standing_hours_per_week_preliminary
        elif kind == INVESTIGATION_NOTIFICATION:
            points, standing = a.points_investigation_notification, h.standing_hours_per_week_investigation
        elif kind == INVESTIGATION_APPLICATION:
            points, standing = a.points_investigation_application, h.standing_hours_per_week_investigation
        else:
            points = a.points_placement if kind == PLACEMENT else a.points_intervention
            standing = self.standing_hours[step]
        if self.caseworkers.set_kind(case, kind, points, standing) is not None:
            self.log(case, "waiting_list")

    def set_step(self, case: Case, new: int, reason: str = "moved") -> None:
        """Move the child to step ``new`` (0 = off the ladder), ending its current spell."""
        child = case.child
        old = child.step
        now = self.env.now
        if old:
            self.rec.spells.add(
                child.id,
                case.id,
                old,
                case.step_start_day,
                now,
                reason,
                case.spell_entry,
                case.spell_replacement,
                case.spell_initial,
            )
        if old:
            self.on_step[old] -= 1
        if new:
            self.on_step[new] += 1
        if old == FOSTER:
            self.release_second_caseworker(case)
        child.step = new
        if new:
            placed, was_placed = new >= FIRST_PLACEMENT_STEP, old >= FIRST_PLACEMENT_STEP
            case.spell_entry = placed and not was_placed
            case.spell_replacement = (
                case.spell_entry
                and child.returned_home_day is not None
                and now - child.returned_home_day <= REPLACEMENT_WINDOW_DAYS
            )
            case.spell_initial = False
            case.step_start_day = case.last_followup_day = now
            case.next_due_day = now + followup_interval_days(self, case, first=True)
            self.set_kind(case, PLACEMENT if placed else INTERVENTION, new)
            self.log(case, "step_start")
            if case.spell_entry:
                every = self.practice.political_review_every_days
                case.next_political_day = float("inf") if every is None else now + every
        if old >= FIRST_PLACEMENT_STEP and new < FIRST_PLACEMENT_STEP:
            child.returned_home_day = now
            case.next_political_day = float("inf")
        if 0 < new < old:
            # A move down: a higher risk of relapse for a while, and higher still until the
            # first full follow-up after the move (docs/conceptual-model.md §3.6).
            child.relapse_until_day = now + self.need.relapse_window_days
            child.unsupported = True
        elif new > old:
            child.unsupported = False
        if new:
            schedule_need_change(self, child)

    def assign_second_caseworker(self, case: Case) -> None:
        """A second caseworker for the foster family in the placement's first year (Borås): the
        district caseworker with the fewest points other than the owner carries its standing
        hours and visits the family with every follow-up."""
        second = self.caseworkers.fewest_points(other_than=case.owner)
        case.second = second
        second.standing_hours += self._second_standing_hours

    def release_second_caseworker(self, case: Case) -> None:
        second = case.second
        if second is not None:
            second.standing_hours -= self._second_standing_hours
            case.second = None

    # ------------------------------------------------------------------ records

    def log(self, case: Case, event: str, worker: int | None = None) -> None:
        """One row of the event log (the hottest record: packed here, without a call of the
        table's ``add``)."""
        if worker is None:
            owner = case.owner
            worker = owner.id if owner is not None else -1
        child = case.child
        self._log_append(self._log_pack(self.env.now, child.id, case.id, EVENT_CODES[event], child.step, worker))

    def first_contact(self, case: Case, by: str) -> None:
        self.rec.contacts.add(case.id, case.child.id, case.notified_day, self.env.now, by)

    def caseworker_contact(self, case: Case) -> None:
        if self.desk:
            self.rec.contacts.add(case.id, case.child.id, case.notified_day, self.env.now, "caseworker")

    def investigation_done(self, case: Case) -> None:
        self.rec.investigations.add(case.id, case.child.id, case.source, case.notified_day, self.env.now)
        self.log(case, "investigation_done")

    def followup_done(self, case: Case, step: int, due_day: float, done_day: float) -> None:
        owner = case.owner.id if case.owner is not None else -1
        last = case.last_followup_day
        self.rec.followups.add(case.id, case.child.id, step, owner, due_day, done_day, last, due_day - last)
        # The event log's "followup" rows are made from this table at the end (sim/engine/collect.py).

    def open_spells(self) -> list[tuple[int, int, int, float, float, str, bool, bool, bool]]:
        """The spells still running at the end of the run (censored)."""
        return [
            (
                c.child.id,
                c.id,
                c.child.step,
                c.step_start_day,
                float("nan"),
                "censored",
                c.spell_entry,
                c.spell_replacement,
                c.spell_initial,
            )
            for c in self.open_cases
            if c.child.step
        ]

    def end_stock(self) -> list[tuple[int, int, int, int, bool, float, float, bool, float, bool, int]]:
        """The open cases at the end of the run on the ladder, and under investigation (step 0):
        step, need, persistence, age, whether an application opened the case, the days of higher
        relapse risk left (0: none), whether that risk is unsupported, and the reviews in a row
        that found the child over-served."""
        end = self.end_day
        investigating = (INVESTIGATION_NOTIFICATION, INVESTIGATION_APPLICATION)
        return [
            (
                c.id,
                c.child.id,
                c.child.step,
                c.child.need,
                c.child.persistent,
                c.step_start_day,
                (end - c.child.birth_day) / DAYS_PER_YEAR,
                c.source == "application",
                max(c.child.relapse_until_day - end, 0.0),
                c.child.unsupported,
                c.over_served_reviews,
            )
            for c in self.open_cases
            if c.child.step or c.kind in investigating
        ]

    def end_known(self) -> list[tuple[int, float, bool]]:
        """The children known from closed cases at the end of the run (those a new notification
        may concern again): age and persistence."""
        end = self.end_day
        return [
            (c.id, (end - c.birth_day) / DAYS_PER_YEAR, c.persistent)
            for c in self.closed_children
            if end - c.birth_day < ADULT_DAYS
        ]

    def overdue_followups(self) -> list[tuple[int, int, int, int, float, float, float, float]]:
        """Follow-ups not done by the end of the run that were already late then (due more
        than the on-time grace before the end); later ones are neither late nor on time."""
        late_after = self.end_day - self.scenario.followup.on_time_grace_days
        return [
            (
                c.id,
                c.child.id,
                c.child.step,
                c.owner.id if c.owner is not None else -1,
                c.next_due_day,
                float("nan"),
                c.last_followup_day,
                c.next_due_day - c.last_followup_day,
            )
            for c in self.open_cases
            if c.in_ladder and c.child.step and c.next_due_day < late_after
        ]

    def pending_notifications(self) -> list[tuple[int, float, int, int, str, str]]:
        """Notifications whose preliminary assessment had not ended when the run stopped."""
        return [
            (c.notification[0], c.notification[1], c.child.id, c.id, "notification", "pending")
            for c in self.open_cases
            if c.notification is not None
        ]
