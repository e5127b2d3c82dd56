"""The event loop: SimPy with a leaner loop, and the only module that touches SimPy's internals.

The model uses SimPy's public API (processes, events, timeouts, conditions, interrupts) plus
the few calls defined here: :meth:`StockEnvironment.succeed_after` (an event the caller already
waits on fires after a delay, with a value: one event per caseworker task instead of a timeout
and an event), :meth:`~StockEnvironment.run_until`, :meth:`~StockEnvironment.events_scheduled`
and :meth:`~StockEnvironment.drop_pending`. :class:`StockEnvironment` does them with SimPy's own
loop; :class:`Environment`, the one the model runs on, does the same faster, and runs processes
as its leaner :class:`Process`. Both give the same steps in the same order (tests/regression/test_golden.py
compares every table of the shipped scenarios, tests/unit/test_kernel.py small processes).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import math
from bisect import insort
from collections.abc import Iterator
from typing import Any, TypeAlias

import simpy
from simpy.core import BoundClass, SimTime
from simpy.events import NORMAL, URGENT, EventPriority, Initialize, Timeout


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. A run allocates many short-lived objects and
    no cycles worth collecting before its end; the collector would cost a third of the run
    time. Nested pauses keep it paused until the outermost ends."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class StockEnvironment(simpy.Environment):
    """SimPy as shipped, with the kernel's calls written on its own loop."""

    def __init__(self, bucket_days: float = 1.0) -> None:
        # One heap of every pending event: the width of :class:`Environment`'s buckets of
        # time means nothing here, and is taken so that either can run a model.
        super().__init__()

    def succeed_after(self, event: simpy.Event, delay: float, value: Any) -> None:
        """Let the untriggered ``event`` succeed with ``value`` after ``delay`` days, scheduled
        as a :class:`simpy.Timeout` of that delay would be."""
        event._ok = True
        event._value = value
        self.schedule(event, NORMAL, delay)

    def run_until(self, at: float) -> None:
        """Process events until time ``at``."""
        self.run(until=at)

    def events_scheduled(self) -> int:
        """The number of events scheduled so far (call it once, at the end: it counts itself)."""
        return next(self._eid)

    def drop_pending(self) -> None:
        """Forget every pending event (and, through their callbacks, the processes waiting)."""
        self._queue.clear()


_new_event = object.__new__


class Process(simpy.Process):
    """A :class:`simpy.Process` that costs less per step, with the same steps in the same order.

    * Its start event (SimPy's :class:`~simpy.events.Initialize`, urgent, at once) is built
      without the constructor calls.
    * The bound ``_resume`` is made once, not at every wait.
    * A process that ends with nobody waiting for it is marked processed at once instead of
      being scheduled as an event that would do nothing (a case's process ends so, about
      20,000 times a run); one that fails is still scheduled, so that the run crashes as
      SimPy's does.
    """

    def __init__(self, env: Environment, generator: Any) -> None:
        if not hasattr(generator, "throw"):
            raise ValueError(f"{generator} is not a generator.")
        self.env = env
        self.callbacks = []
        self._generator = generator
        self._resume = resume = self._resume  # type: ignore[method-assign]
        start = _new_event(Initialize)
        start.env = env
        start.callbacks = [resume]
        start._value = None
        start._ok = True
        item = (env.now, URGENT, next(env._eid), start)
        if item[0] < env._horizon:
            insort(env._queue, item)
        else:
            env._defer(item)
        self._target = start

    def _resume(self, event: simpy.Event) -> None:
        env = self.env
        env._active_proc = self
        generator = self._generator
        while True:
            try:
                if event._ok:
                    event = generator.send(event._value)
                else:
                    # As SimPy: the process handles the failed event or fails itself.
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = generator.throw(exc)
            except StopIteration as stop:
                self._ok = True
                self._value = stop.value
                if self.callbacks:
                    env.schedule(self)
                else:
                    self.callbacks = None  # type: ignore[assignment]  # processed: nobody waits for it
                event = None  # type: ignore[assignment]
                del self._resume  # the bound method kept on the process is a cycle: without it,
                # reference counting frees the ended process (the collector is paused in a run)
                break
            except BaseException as exc:
                self._ok = False
                exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
                self._value = exc
                env.schedule(self)
                event = None  # type: ignore[assignment]
                del self._resume
                break
            try:
                callbacks = event.callbacks
            except AttributeError:
                raise RuntimeError(f"Invalid yield value {event!r}") from None
            if callbacks is not None:
                callbacks.append(self._resume)
                break
        self._target = event
        env._active_proc = None


Item: TypeAlias = tuple[SimTime, EventPriority, int, simpy.Event]
"""A scheduled event as SimPy queues it: ``(time, priority, event id, event)``, compared in
that order (the event ids are unique, so the events themselves are never compared)."""

_LAST_BUCKET = 1 << 52
"""Buckets from this one on are too far out for their times to be exact: the first of them to
come up is the last bucket, and every event from then on goes into the current one."""


class _Buckets(dict[int, list[Item]]):
    """The events of later buckets, a list by bucket number; a heap of the numbers beside them."""

    __slots__ = ("numbers",)

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[int] = []

    def __missing__(self, number: int) -> list[Item]:
        self[number] = bucket = list[Item]()
        heapq.heappush(self.numbers, number)
        return bucket


class Environment(StockEnvironment):
    """The model's event loop: :meth:`run_until` with :meth:`simpy.Environment.step` inlined,
    :meth:`timeout` without the calls of its constructor, ``now`` a plain attribute instead
    of SimPy's property (read a few hundred thousand times a run), and a two-level queue.

    The two-level queue (a calendar queue): SimPy keeps every pending event in one heap, whose
    pops cost more the more events are pending (a few thousand in a municipality of 20,000
    children, tens of thousands in one of 400,000, where the heap no longer fits the caches),
    and each pop costs some ten comparisons of ``(time, priority, event id, event)`` tuples. Here
    only the events of the current *bucket* of time, ``[k w, (k + 1) w)`` for a width ``w`` of
    ``bucket_days``, are in the queue proper (``self._queue``), a list kept sorted: a later
    event waits in its bucket's plain list until its bucket comes up, and is then sorted with
    the others of its bucket at once (one ``list.sort``, whose comparisons of tuples that start
    with a float are a fraction of the cost of the heap's). The next event is the first of the
    list; an event of the current bucket (one in six) is put in its place by bisection. The
    width is a power of two, so that ``floor(t / w)`` is exact and an event's bucket never
    contradicts its time: the events leave the queue in SimPy's order, ``(time, priority,
    event id)``, whatever the width (tests/unit/test_kernel.py compares them on random
    schedules)."""

    now = 0.0  # shadows SimPy's ``now`` property; each instance keeps its own, set by run_until

    def __init__(self, bucket_days: float = 1.0) -> None:
        super().__init__()
        if not bucket_days > 0 or math.frexp(bucket_days)[0] != 0.5:
            raise ValueError(f"bucket_days must be a power of two, not {bucket_days}")
        self.now = self._now
        self._bucket_days = bucket_days
        self._buckets_per_day = 1.0 / bucket_days  # exact: a power of two
        self._later = _Buckets()  # the events of later buckets
        self._horizon = bucket_days  # the end of the current bucket: an event before it is in the queue
        # SimPy binds ``timeout``, ``event``, ``process``... to the instance only for names in
        # the class's own namespace, which a subclass's is not: bind them here.
        for name, value in vars(simpy.Environment).items():
            if isinstance(value, BoundClass) and name not in ("timeout", "process", "event"):
                setattr(self, name, getattr(self, name))

    def _next_bucket(self) -> None:
        """The current bucket has no events left: the next bucket with events becomes the
        current one, its events sorted into the queue."""
        later = self._later
        if not later:
            raise simpy.core.EmptySchedule
        number = heapq.heappop(later.numbers)
        queue = self._queue
        queue += later.pop(number)
        if number >= _LAST_BUCKET:  # too far out for exact buckets: one bucket from now on
            for bucket in later.values():
                queue += bucket
            later.clear()
            later.numbers.clear()
            self._horizon = math.inf
        else:
            self._horizon = (number + 1) * self._bucket_days
        queue.sort()

    def _defer(self, item: Item) -> None:
        """Keep an event of a later bucket than the current one in its bucket's list."""
        try:
            self._later[int(item[0] * self._buckets_per_day)].append(item)
        except OverflowError:  # at infinity
            self._later[_LAST_BUCKET].append(item)

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        """Schedule ``event`` as SimPy does (its ``Event.succeed``, interrupts, conditions and
        ends of processes come here), on the two-level queue."""
        item = (self.now + delay, priority, next(self._eid), event)
        if item[0] < self._horizon:
            insort(self._queue, item)
        else:
            self._defer(item)

    def peek(self) -> float:
        """The time of the next scheduled event (infinity if none)."""
        if self._queue:
            return self._queue[0][0]
        if self._later:
            return min(item[0] for item in self._later[self._later.numbers[0]])
        return math.inf

    def process(self, generator: Any) -> Process:
        """Start ``generator`` as a :class:`Process` (SimPy's, leaner)."""
        return Process(self, generator)

    def event(self) -> simpy.Event:
        """A new :class:`simpy.Event`, built without the calls of SimPy's bound class and
        constructor (a queued task has one)."""
        event = _new_event(simpy.Event)
        event.env = self
        event.callbacks = []
        return event

    def timeout(self, delay: float = 0, value: Any = None) -> Timeout:
        """A :class:`simpy.Timeout`, built and scheduled without the two calls of its
        constructor (a fifth of a run's events are timeouts)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        event = _new_event(Timeout)
        event.env = self
        event.callbacks = []
        event._value = value
        event._delay = delay
        event._ok = True
        at = self.now + delay
        if at < self._horizon:
            insort(self._queue, (at, NORMAL, next(self._eid), event))
        else:  # _defer, inlined (five events in six wait for a later bucket)
            try:
                self._later[int(at * self._buckets_per_day)].append((at, NORMAL, next(self._eid), event))
            except OverflowError:  # at infinity
                self._defer((at, NORMAL, next(self._eid), event))
        return event

    def succeed_after(self, event: simpy.Event, delay: float, value: Any) -> None:
        event._ok = True
        event._value = value
        at = self.now + delay
        if at < self._horizon:
            insort(self._queue, (at, NORMAL, next(self._eid), event))
        else:  # _defer, inlined (five events in six wait for a later bucket)
            try:
                self._later[int(at * self._buckets_per_day)].append((at, NORMAL, next(self._eid), event))
            except OverflowError:  # at infinity
                self._defer((at, NORMAL, next(self._eid), event))

    def drop_pending(self) -> None:
        self._queue.clear()
        self._later.clear()
        self._later.numbers.clear()
        self._horizon = (int(self.now * self._buckets_per_day) + 1) * self._bucket_days

    def step(self) -> None:
        """Process the next event, as :meth:`simpy.Environment.step` does (SimPy's ``run``
        calls it; the model runs :meth:`run_until`, which does the same inline)."""
        if not self._queue:
            self._next_bucket()
        self.now, _, _, event = self._queue.pop(0)
        self._now = self.now
        callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
        try:
            for callback in callbacks:
                callback(event)
        except simpy.core.StopSimulation:
            # As SimPy: the event's other callbacks run first when the simulation resumes.
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]
            self.schedule(event, EventPriority(-1))
            raise
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc

    def run_until(self, at: float) -> None:
        """Process events until time ``at``: what ``run(until=at)`` does, with
        :meth:`simpy.Environment.step` inlined into the loop (a call less per event, about
        a twentieth of the run time). The same events fire in the same order."""
        until = simpy.Event(self)
        until._ok = True
        until._value = None
        self.schedule(until, URGENT, at - self.now)  # before any other event at ``at``
        queue = self._queue
        take_first = queue.pop
        while True:
            if not queue:
                self._next_bucket()
            now, _, _, event = take_first(0)
            self.now = now
            if event is until:
                self._now = now  # SimPy's own clock, read by nothing of this class's
                return
            # SimPy marks an event processed by setting its callbacks to None (as its step()
            # does); the attribute's annotation leaves None out.
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                # A failed event nobody handled: crash as SimPy does.
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
