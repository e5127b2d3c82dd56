"""The fast event loop (sim/engine/kernel.py) behaves as stock SimPy on small processes: the same
steps at the same times, return values, waits on a process, interrupts and failures."""

from __future__ import annotations

import pytest
import simpy

from sim.engine.kernel import Environment, Process, StockEnvironment

ENVIRONMENTS = [StockEnvironment, Environment]


def _trace(env_class) -> list[tuple[float, str]]:
    """A few processes that wait, return values, wait on each other and interrupt."""
    env = env_class()
    trace: list[tuple[float, str]] = []

    def child(name: str, delay: float):
        yield env.timeout(delay)
        trace.append((env.now, f"{name} done"))
        return name.upper()

    def parent():
        value = yield env.process(child("a", 2.0))  # waits on a process: gets its return value
        trace.append((env.now, f"parent got {value}"))
        finished = env.process(child("b", 0.0))
        yield env.timeout(1.0)
        value = yield finished  # a process that ended before the wait began
        trace.append((env.now, f"parent got {value} late"))

    def sleeper():
        try:
            yield env.timeout(10.0)
        except simpy.Interrupt as stop:
            trace.append((env.now, f"sleeper interrupted: {stop.cause}"))

    def waker(target):
        yield env.timeout(1.5)
        target.interrupt("wake")

    env.process(parent())
    target = env.process(sleeper())
    env.process(waker(target))
    for i in range(3):  # processes ending at the same time as others, nobody waiting on them
        env.process(child(f"c{i}", 1.0))
    env.run_until(20.0)
    return trace


def test_the_fast_loop_takes_the_same_steps_at_the_same_times_as_stock_simpy():
    stock, fast = _trace(StockEnvironment), _trace(Environment)
    assert stock == fast
    assert (2.0, "parent got A") in fast and (3.0, "parent got B late") in fast
    assert (1.5, "sleeper interrupted: wake") in fast


def test_processes_of_the_fast_loop_are_its_lean_process():
    env = Environment()

    def nothing():
        yield env.timeout(1.0)

    assert isinstance(env.process(nothing()), Process)
    assert not isinstance(StockEnvironment().process(nothing()), Process)


def _events_for(env_class, processes: int) -> int:
    env = env_class()

    def short():
        yield env.timeout(1.0)

    for _ in range(processes):
        env.process(short())
    env.run_until(2.0)
    return env.events_scheduled()


def test_a_process_nobody_waits_for_costs_no_event_when_it_ends():
    # Stock SimPy: a start, a timeout and an end event per process; the fast loop: no end event.
    assert _events_for(StockEnvironment, 10) - _events_for(StockEnvironment, 5) == 15
    assert _events_for(Environment, 10) - _events_for(Environment, 5) == 10


@pytest.mark.parametrize("env_class", ENVIRONMENTS)
def test_a_process_that_fails_crashes_the_run(env_class):
    env = env_class()

    def failing():
        yield env.timeout(1.0)
        raise KeyError("lost")

    env.process(failing())
    with pytest.raises(KeyError, match="lost"):
        env.run_until(5.0)


@pytest.mark.parametrize("env_class", ENVIRONMENTS)
def test_a_process_must_yield_events(env_class):
    env = env_class()

    def wrong():
        yield 3

    env.process(wrong())
    with pytest.raises(RuntimeError, match="3"):
        env.run_until(1.0)


def test_a_process_needs_a_generator():
    with pytest.raises(ValueError, match="not a generator"):
        Environment().process(lambda: None)


@pytest.mark.parametrize("fails", [False, True])
def test_an_ended_process_is_freed_without_the_cyclic_collector(fails):
    """A run pauses the cyclic garbage collector, so an ended process must not sit in a
    reference cycle (its cached bound method would make one): reference counting frees it."""
    import gc
    import weakref

    env = Environment()

    def short():
        yield env.timeout(1.0)
        if fails:
            raise ValueError("ends badly")

    def catcher(process):
        try:
            yield process
        except ValueError:
            pass

    process = env.process(short())
    env.process(catcher(process))
    ref = weakref.ref(process)
    del process
    collecting = gc.isenabled()
    gc.disable()
    try:
        env.run_until(5.0)
        assert ref() is None
    finally:
        if collecting:
            gc.enable()


def _random_run(env, seed: int) -> list[tuple[float, str]]:
    """Processes that wait random times (nothing, ties on round numbers, the ends of buckets,
    fractions, far out), wait on events that others trigger, and interrupt one another."""
    import random

    rng = random.Random(seed)
    trace: list[tuple[float, str]] = []
    signals = [env.event() for _ in range(4)]
    sleepers = []

    def delay() -> float:
        kind = rng.randrange(6)
        if kind == 0:
            return 0.0
        if kind == 1:
            return float(rng.randrange(4))  # ties at whole days
        if kind == 2:
            return rng.randrange(1, 64) / 16.0  # on the ends of buckets of many widths
        if kind == 3:
            return rng.random() * 2.0
        if kind == 4:
            return rng.random() * 200.0
        return rng.expovariate(0.1)

    def worker(name: str):
        for step in range(40):
            try:
                yield env.timeout(delay())
            except simpy.Interrupt as stop:
                trace.append((env.now, f"{name} interrupted by {stop.cause}"))
            trace.append((env.now, f"{name} {step}"))
            action = rng.randrange(5)
            k = rng.randrange(len(signals))
            if action == 0 and not signals[k].triggered:
                signals[k].succeed(name)
            elif action == 1:
                if signals[k].triggered:
                    signals[k] = env.event()
                try:
                    value = yield signals[k] | env.timeout(delay())
                    trace.append((env.now, f"{name} woke {sorted(map(str, value.values()))}"))
                except simpy.Interrupt as stop:
                    trace.append((env.now, f"{name} interrupted by {stop.cause} while waiting"))
            elif action == 2 and sleepers:
                target = sleepers[rng.randrange(len(sleepers))]
                if target.is_alive and target is not env.active_process:
                    target.interrupt(name)

    for i in range(12):
        sleepers.append(env.process(worker(f"w{i}")))
    env.timeout(float("inf"))  # an event that never comes
    env.run_until(400.0)
    trace.append((env.now, "end"))
    return trace


@pytest.mark.parametrize("bucket_days", [2.0**-6, 0.25, 1.0, 16.0])
@pytest.mark.parametrize("seed", range(4))
def test_the_two_level_queue_fires_events_in_simpys_order(bucket_days, seed):
    """The fast loop's queue (a heap for the current bucket of time, lists for later ones) gives
    the events in the order of SimPy's one heap, whatever the width of its buckets."""
    stock = _random_run(StockEnvironment(), seed)
    assert len(stock) > 400
    assert _random_run(Environment(bucket_days=bucket_days), seed) == stock


@pytest.mark.parametrize("bucket_days", [2.0**-3, 1.0])
def test_the_two_level_queue_orders_by_time_priority_and_order_of_scheduling(bucket_days):
    import random

    from simpy.events import NORMAL, URGENT

    rng = random.Random(7)
    env = Environment(bucket_days=bucket_days)
    fired: list[int] = []
    expected = []
    for n in range(3000):
        event = env.event()
        event._ok, event._value = True, n
        event.callbacks.append(lambda e: fired.append(e.value))
        at = rng.choice([0.0, 1.0, 2.5, rng.random() * 50.0, rng.randrange(400) / 8.0, 1e9])
        priority = rng.choice([URGENT, NORMAL])
        env.schedule(event, priority, at)
        expected.append((at, priority, n))
    assert env.peek() == 0.0
    env.run_until(1e10)
    assert fired == [n for _, _, n in sorted(expected)]
    assert env.peek() == float("inf")


@pytest.mark.parametrize("width", [0.0, -1.0, 0.3, 3.0])
def test_buckets_are_a_power_of_two_days_wide(width):
    with pytest.raises(ValueError, match="power of two"):
        Environment(bucket_days=width)


def test_simpys_own_run_and_step_work_on_the_fast_loop():
    """``run(until=...)`` (SimPy's, which calls ``step``) takes the same steps as on stock SimPy."""

    def traced(env_class):
        env = env_class(bucket_days=0.25)
        trace = []

        def ticker(name, delay):
            for _ in range(5):
                yield env.timeout(delay)
                trace.append((env.now, name))

        env.process(ticker("a", 0.3))
        env.process(ticker("b", 0.7))
        env.run(until=2.0)
        trace.append((env.now, "paused"))
        env.run(until=4.0)
        return trace, env.peek()

    assert traced(Environment) == traced(StockEnvironment)
