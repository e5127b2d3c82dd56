"""The decision rules of a review, one at a time, on a hand-built case
(docs/conceptual-model.md §3.6, §3.9; issue 10): one rule for every scenario, whether a
decision happens decided by the hours.

Each test builds a small model from the Danish baseline or the Swedish model (empty, no
arrivals), puts one child on a step with a given need, and drives ``review`` or the plan
machinery in SimPy's own time, so the outcome can be read off the model's state."""

from __future__ import annotations

import pytest
from model_tools import empty_model

from sim import load_scenario
from sim.engine.caseworkers import ACUTE, DROPPED, FOLLOWUP, OTHER, PLAN_TASK, Worker, work_by
from sim.engine.entities import Case, Child
from sim.engine.investigation import start_step
from sim.engine.kernel import StockEnvironment
from sim.engine.ladder import FOSTER, INSTITUTION, follow_ladder, review
from sim.engine.model import Model
from sim.engine.need import schedule_need_change


def _model(name: str, **over) -> Model:
    return empty_model(name, **over)


def _case_on(model: Model, step: int, need: int) -> Case:
    child = model._new_child(-8 * 365.25, need, 0.123)
    case = model._new_case(child, "notification", urgent=False, screen_u=1.0)
    case.kinship_available = False
    model.set_step(case, step)
    case.accepted_need = step
    case.seen_need = need
    case.in_ladder = True
    return case


def _drive(model: Model, generator, until: float = 400.0):
    """Run ``generator`` as a process and return its value."""
    process = model.env.process(generator)
    model.env.run_until(until)
    assert not process.is_alive, "the review did not finish"
    return process.value


@pytest.mark.parametrize("name", ["danish_baseline", "swedish_model"])
def test_a_review_that_sees_need_0_at_home_closes_the_case_in_every_practice(name):
    model = _model(name)
    case = _case_on(model, 2, 0)
    assert _drive(model, review(model, case, False)) is True
    assert case.closed and case.child.step == 0


@pytest.mark.parametrize("name", ["danish_baseline", "swedish_model"])
def test_a_need_above_the_step_moves_the_child_up_at_once(name):
    model = _model(name)
    case = _case_on(model, 1, 4)
    assert _drive(model, review(model, case, False)) is False
    assert case.child.step == 4  # no kinship placement exists for this case


def test_the_swedish_practice_plans_a_move_down_at_the_first_review_that_finds_the_child_over_served():
    model = _model("swedish_model")
    case = _case_on(model, 4, 1)
    _drive(model, review(model, case, False))
    assert case.child.step == 1
    assert model.caseworkers.workers[0].hours_by_kind[PLAN_TASK] + model.caseworkers.workers[1].hours_by_kind[
        PLAN_TASK
    ] == pytest.approx(model.scenario.hours.step_down_plan_hours)


def test_no_plan_is_made_in_vain_for_a_kinship_placement_that_does_not_exist():
    model = _model("swedish_model")
    case = _case_on(model, FOSTER, 3)  # kinship care would meet the need, but none exists
    assert case.kinship_available is False
    _drive(model, review(model, case, False))
    assert case.child.step == FOSTER
    assert sum(w.hours_by_kind[PLAN_TASK] for w in model.caseworkers.workers) == 0


def test_the_danish_practice_waits_for_a_second_review_before_planning_a_move_down():
    model = _model("danish_baseline")
    assert model.scenario.practice.step_down_after_reviews == 2
    case = _case_on(model, 4, 1)
    _drive(model, review(model, case, False), until=10)
    assert case.child.step == 4 and case.over_served_reviews == 1  # deferred: wait and see
    _drive(model, review(model, case, False), until=400)
    assert case.child.step == 1


@pytest.mark.parametrize("priority", ["due", "when_time_allows"])
def test_a_plan_that_cannot_start_before_the_next_follow_up_is_dropped_and_the_child_stays(priority):
    model = _model("swedish_model", **{"practice.step_down_plan_priority": priority})
    case = _case_on(model, 4, 2)
    case.next_due_day = 30.0
    for worker in model.caseworkers.workers:  # every caseworker busy with acute work for 60 days
        worker.do(60 * worker.task_hours_per_day(), ACUTE)
    _drive(model, review(model, case, False), until=200)
    assert case.child.step == 4
    assert (model.rec.events.frame()["event"] == model_event_code("plan_dropped")).sum() == 1


def model_event_code(name: str) -> int:
    from sim.engine.model import EVENT_CODES

    return EVENT_CODES[name]


def test_the_institution_plan_moves_a_child_whose_need_has_not_fallen_and_no_review_moves_it_back():
    model = _model("swedish_model")
    case = _case_on(model, INSTITUTION, 5)
    case.step_start_day = -200.0  # in the institution for 200 days: beyond the 183-day aim
    _drive(model, review(model, case, False), until=50)
    assert case.child.step == FOSTER and case.accepted_need == 5
    # A routine review that sees the same need does not move the child back up (no ping-pong)...
    _drive(model, review(model, case, False), until=100)
    assert case.child.step == FOSTER
    # ...an acute event (a breakdown of the placement) does.
    _drive(model, review(model, case, True), until=200)
    assert case.child.step == INSTITUTION


def test_without_an_institution_plan_a_child_whose_need_has_not_fallen_stays():
    model = _model("danish_baseline")
    case = _case_on(model, INSTITUTION, 5)
    case.step_start_day = -2000.0
    _drive(model, review(model, case, False), until=50)
    assert case.child.step == INSTITUTION


def test_an_unmet_need_at_the_top_breaks_the_placement_down_as_an_acute_event():
    model = _model("swedish_model")
    model.scenario = model.initial_scenario = model.scenario.with_overrides(**{"need.worsen_rate_per_year_unmet": 50.0})
    case = _case_on(model, FOSTER, 5)
    case.accepted_need = 5  # placed there by a planned move
    case.next_due_day = 1e9
    case.process = model.env.process(follow_ladder(model, case, FOSTER))
    schedule_need_change(model, case.child)
    model.env.run_until(30)
    assert case.child.step == INSTITUTION


def test_an_investigation_starts_the_child_on_the_lowest_step_that_meets_the_need_seen():
    assert [start_step(n) for n in range(6)] == [0, 1, 2, 3, 4, 5]


def test_a_task_withdrawn_before_it_starts_never_runs_and_leaves_the_queue():
    env = StockEnvironment()
    w = Worker(env, 0, case_hours_per_week=7.0, min_task_share=1.0)  # one hour a day
    w.do(5.0, ACUTE)
    queued = w.do(2.0, OTHER)
    assert w.queued_hours == 2.0
    assert w.withdraw(queued) is True
    assert w.queued_hours == 0.0
    env.run()
    assert not queued.triggered
    assert w.hours_worked == 5.0


def test_work_by_returns_dropped_past_its_deadline_and_the_share_of_hours_otherwise():
    env = StockEnvironment()
    w = Worker(env, 0, case_hours_per_week=7.0, min_task_share=1.0)
    case = Case(1, Child(1, 0.0, 1, key=1), "notification", 0.0, False, 0.5)
    case.owner = w
    w.do(10.0, ACUTE)  # busy until day 10
    finished = {}

    def plan(name, deadline):
        value = yield from work_by(env, case, 2.0, FOLLOWUP, deadline, PLAN_TASK)
        finished[name] = (value, env.now)

    env.process(plan("late", 5.0))
    env.process(plan("in time", 20.0))
    env.run()
    assert finished["late"] == (DROPPED, 5.0)  # given up at its deadline, not when the worker was free
    assert finished["in time"] == (1.0, 12.0)
    assert w.hours_worked == 12.0


def test_a_scenario_cannot_set_the_probability_of_a_right_decision(tmp_path):
    from sim.params import Practice, ScenarioError

    assert not [name for name in Practice.model_fields if "probability" in name]
    old = tmp_path / "old.toml"
    old.write_text('base = "danish_baseline"\n[policy]\nstep_down_probability = 1.0\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"old.toml: policy: the \[policy\] section .* were removed"):
        load_scenario(old)
