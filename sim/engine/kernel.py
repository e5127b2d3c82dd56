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
from collections.abc import Iterator
from typing import Any

import simpy
from simpy.core import BoundClass
from simpy.events import NORMAL, URGENT, Initialize, Timeout


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
        heapq.heappush(env._queue, (env._now, URGENT, next(env._eid), start))
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


class Environment(StockEnvironment):
    """The model's event loop: :meth:`run_until` with :meth:`simpy.Environment.step` inlined,
    :meth:`timeout` without the calls of its constructor, and ``now`` a plain attribute instead
    of SimPy's property (read a few hundred thousand times a run)."""

    now = 0.0  # shadows SimPy's ``now`` property; each instance keeps its own, set by run_until

    def __init__(self) -> None:
        super().__init__()
        self.now = self._now
        # SimPy binds ``timeout``, ``event``, ``process``... to the instance only for names in
        # the class's own namespace, which a subclass's is not: bind them here.
        for name, value in vars(simpy.Environment).items():
            if isinstance(value, BoundClass) and name not in ("timeout", "process"):
                setattr(self, name, getattr(self, name))

    def process(self, generator: Any) -> Process:
        """Start ``generator`` as a :class:`Process` (SimPy's, leaner)."""
        return Process(self, generator)

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
        heapq.heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))
        return event

    def succeed_after(self, event: simpy.Event, delay: float, value: Any) -> None:
        event._ok = True
        event._value = value
        heapq.heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))

    def run_until(self, at: float) -> None:
        """Process events until time ``at``: what ``run(until=at)`` does, with
        :meth:`simpy.Environment.step` inlined into the loop (a call less per event, about
        a twentieth of the run time). The same events fire in the same order."""
        until = simpy.Event(self)
        until._ok = True
        until._value = None
        self.schedule(until, URGENT, at - self._now)  # before any other event at ``at``
        queue = self._queue
        pop = heapq.heappop
        while True:
            self._now, _, _, event = pop(queue)
            self.now = self._now
            if event is until:
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
