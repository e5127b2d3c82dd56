"""Caseworkers: priorities, hours, the point cap and the waiting list, on their own."""

from __future__ import annotations

import numpy as np

from sim.engine.caseworkers import ACUTE, DEADLINE, FOLLOWUP, OTHER, Caseworkers, Worker
from sim.engine.entities import Case, Child
from sim.engine.kernel import StockEnvironment


def _case(i: int) -> Case:
    return Case(i, Child(i, 0.0, 1, key=i), "notification", 0.0, False, 0.5)


def test_tasks_run_by_priority_then_arrival():
    env = StockEnvironment()
    w = Worker(env, 0, case_hours_per_week=7.0, min_task_share=1.0)  # one task hour a day
    order = []
    w.do(1.0, OTHER).callbacks.append(lambda e: order.append("first, started at once"))
    for name, priority in (("other", OTHER), ("followup", FOLLOWUP), ("acute", ACUTE), ("deadline", DEADLINE)):
        w.do(1.0, priority).callbacks.append(lambda e, n=name: order.append(n))
    env.run()
    assert order == ["first, started at once", "acute", "deadline", "followup", "other"]
    assert env.now == 5.0


def test_standing_hours_of_the_caseload_slow_every_task():
    env = StockEnvironment()
    w = Worker(env, 0, case_hours_per_week=28.0, min_task_share=0.25)
    assert w.task_hours_per_day() == 4.0
    w.standing_hours = 14.0
    assert w.task_hours_per_day() == 2.0
    w.standing_hours = 100.0  # beyond the week: the protected share is left
    assert w.task_hours_per_day() == 1.0


def test_a_task_waiting_for_its_deadline_moves_up():
    env = StockEnvironment()
    w = Worker(env, 0, case_hours_per_week=7.0, min_task_share=1.0)
    done = {}
    w.do(3.0, ACUTE)  # busy until day 3
    w.do(1.0, FOLLOWUP).callbacks.append(lambda e: done.setdefault("followup", env.now))
    w.do(1.0, OTHER, escalate_day=2.0).callbacks.append(lambda e: done.setdefault("escalated", env.now))
    env.run()
    assert done["escalated"] < done["followup"]


def test_a_long_backlog_makes_tasks_shorter_down_to_a_floor():
    env = StockEnvironment()
    w = Worker(env, 0, 7.0, 1.0, backlog_tolerance_weeks=1.0, corner_cutting=1.0, min_hours_fraction=0.5)
    for _ in range(30):  # 30 hours queued at one hour a day: about 4 weeks of backlog
        w.do(1.0, FOLLOWUP)
    env.run()
    assert w.hours_requested == 30
    assert 15 <= w.hours_worked < 30  # corners were cut, never below half


def test_the_point_cap_is_never_exceeded_and_the_waiting_list_is_served_in_order():
    env = StockEnvironment()
    workers = [Worker(env, i, 28.0, 0.25) for i in range(3)]
    team = Caseworkers(env, workers, point_cap=20.0)
    rng = np.random.default_rng(0)
    cases, waiting_order, served = [], [], []
    for i in range(200):
        if cases and rng.random() < 0.45:
            case = cases.pop(int(rng.integers(len(cases))))
            case.closed = True
            team.release(case)
        else:
            case = _case(i)
            cases.append(case)
            event = team.set_kind(case, "investigation", float(rng.choice([2, 4, 6, 9])), 0.5)
            if event is not None:
                waiting_order.append(case.id)
                event.callbacks.append(lambda e, c=case: served.append(c.id))
        env.run()
        for w in workers:
            assert w.points <= 20.0
            assert w.cases == sum(1 for c in cases if c.owner is w)
            assert abs(w.points - sum(c.points for c in cases if c.owner is w)) < 1e-9
    assert waiting_order, "the cap never bound"
    assert served == [c for c in waiting_order if c in served]  # first come, first served


def test_without_a_cap_cases_go_to_the_caseworker_with_fewest_points():
    env = StockEnvironment()
    workers = [Worker(env, i, 28.0, 0.25) for i in range(2)]
    team = Caseworkers(env, workers, point_cap=None)
    a, b, c = _case(1), _case(2), _case(3)
    assert team.set_kind(a, "placement", 6.0, 0.3) is None
    assert team.set_kind(b, "intervention", 4.0, 0.3) is None
    assert team.set_kind(c, "intervention", 4.0, 0.3) is None
    assert (a.owner, b.owner, c.owner) == (workers[0], workers[1], workers[1])
    for _ in range(100):
        team.set_kind(_case(9), "investigation", 9.0, 0.3)
    assert max(w.points for w in workers) > 120  # grows with whatever the staffing allows


def test_a_case_keeps_its_caseworker_when_its_points_rise_past_the_cap_and_new_cases_wait():
    env = StockEnvironment()
    team = Caseworkers(env, [Worker(env, 0, 28.0, 0.25)], point_cap=10.0)
    first, second = _case(1), _case(2)
    assert team.set_kind(first, "preliminary_assessment", 2.0, 0.1) is None
    assert team.set_kind(second, "preliminary_assessment", 2.0, 0.1) is None
    # an assessment becomes an investigation of 9 points: the caseworker keeps it, above the cap
    assert team.set_kind(first, "investigation_notification", 9.0, 0.25) is None
    assert first.owner is team.workers[0] and team.workers[0].points == 11.0
    # a new case does not fit: it waits until points are freed
    third = _case(3)
    waiting = team.set_kind(third, "preliminary_assessment", 2.0, 0.1)
    assert waiting is not None and third.owner is None
    team.release(first)
    assert third.owner is team.workers[0] and waiting.triggered


def test_the_desk_takes_a_notification_to_its_shortest_queue_lowest_id_among_equals():
    from types import SimpleNamespace

    from sim.engine.intake import _desk_worker

    rng = np.random.default_rng(5)
    for _ in range(500):
        n = int(rng.integers(1, 12))
        # Desk ids run -2, -3, ... down the list, as the model makes them.
        desk = [SimpleNamespace(id=-2 - i, queue=[0] * int(rng.integers(0, 3))) for i in range(n)]
        assert _desk_worker(desk) is min(desk, key=lambda w: (len(w.queue), w.id))


def test_the_lightest_caseworker_by_the_index_is_the_one_a_look_at_every_caseworker_finds():
    """The assignment keeps the caseworkers ordered by points; whatever the points and queues,
    it picks what the rule picks by looking at all of them: the least queued among those
    within the near-tie of the fewest points, the lowest id among equals."""
    env = StockEnvironment()
    rng = np.random.default_rng(11)
    team = Caseworkers(env, [Worker(env, i, 28.0, 0.25) for i in range(5)], point_cap=None, near_tie_points=2.0)

    def by_looking() -> Worker:
        fewest = min(w.points for w in team.workers) + team.near_tie_points
        return min((w for w in team.workers if w.points <= fewest), key=lambda w: (w.queued_hours, w.id))

    for step in range(3000):
        if step % 500 == 0:
            team.add(Worker(env, len(team.workers), 28.0, 0.25))
        worker = team.workers[int(rng.integers(len(team.workers)))]
        team._set_points(worker, float(rng.integers(0, 12)) + float(rng.choice([0.0, 0.5])))
        team.workers[int(rng.integers(len(team.workers)))].queued_hours = float(rng.integers(0, 4))
        assert team._lightest() is by_looking()
        owner = team.workers[int(rng.integers(len(team.workers)))]
        others = [w for w in team.workers if w is not owner]
        assert team.fewest_points(other_than=owner) is min(others, key=lambda w: (w.points, w.id))
    assert [k[2] for k in team._by_points] == sorted(team.workers, key=lambda w: (w.points, w.id))
