"""Random streams: one ``numpy.random.Generator`` per stochastic process.

All streams are spawned from one ``SeedSequence(seed)`` in a fixed order, with spare
slots, so adding a process later shifts none of the existing streams. Draws are taken
from the generator in blocks (numpy is slow one number at a time); the sequence a
stream yields depends only on the seed and the stream's name.

Each child also carries its own counter-based streams (:class:`ChildStream`), one for
its need and one for the facts about its family (kinship), keyed by a number drawn when it is first
notified: the common random numbers that let scenarios be compared child by child.
"""

from __future__ import annotations

import math

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "notifications",  # arrival times of notifications and which child they concern
    "applications",  # arrival times of applications
    "children",  # attributes of newly notified children (age, need, urgency, screening, key)
    "initial_stock",  # the open cases a run starts with
    "task_durations",  # task times, when they are drawn (hours.task_hours_distribution = "exponential")
    "crises",  # whether a new case comes with an acute crisis, and how long it lasts (taken from the spares)
)
SPARE_STREAMS = 7
_BLOCK = 2048


class Stream:
    """A buffered source of uniform and exponential draws from one generator."""

    __slots__ = ("generator", "_u", "_ui", "_e", "_ei")

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.generator = np.random.Generator(np.random.PCG64(seed_sequence))
        self._u: list[float] = self.generator.random(_BLOCK).tolist()
        self._ui = 0
        self._e: list[float] = []
        self._ei = 0

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        i = self._ui
        if i == _BLOCK:
            self._u = self.generator.random(_BLOCK).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def exponential(self, mean: float) -> float:
        """A draw from the exponential distribution with the given mean."""
        return -math.log(1.0 - self.uniform()) * mean

    def take(self, n: int) -> list[float]:
        """The next ``n`` draws from U[0, 1), as ``n`` calls of :meth:`uniform` would give."""
        i = self._ui
        j = i + n
        if j <= _BLOCK:
            self._ui = j
            return self._u[i:j]
        return [self.uniform() for _ in range(n)]

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return min(int(self.uniform() * n), n - 1)

    def choice(self, probabilities: list[float] | tuple[float, ...]) -> int:
        """An index drawn with the given probabilities (which sum to 1)."""
        return index_for(self.uniform(), probabilities)


def index_for(u: float, probabilities: list[float] | tuple[float, ...]) -> int:
    """The index whose cumulative probability first exceeds ``u`` (inverse-CDF sampling)."""
    acc = 0.0
    for i, p in enumerate(probabilities):
        acc += p
        if u < acc:
            return i
    return len(probabilities) - 1


class Streams:
    """The named streams of one replication."""

    def __init__(self, seed: int | list[int]):
        children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES) + SPARE_STREAMS)
        for name, seq in zip(STREAM_NAMES, children):
            setattr(self, name, Stream(seq))

    notifications: Stream
    applications: Stream
    children: Stream
    initial_stock: Stream
    task_durations: Stream
    crises: Stream


_log = math.log
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def mixed_key(base: int, *parts: int) -> int:
    """A 64-bit key from ``base`` and small non-negative integers, each step through SplitMix64's
    finaliser: distinct parts give unrelated keys."""
    key = base & _MASK
    for part in parts:
        key = _mix((key + _GOLDEN * (part + 1)) & _MASK)
    return key


class ChildStream:
    """A child's own random numbers: a counter-based SplitMix64 sequence keyed by the child.

    Common random numbers: a child gets its key from the arrival of its first notification,
    which every scenario sees alike, so the same child meets the same sequence of draws
    for its need and its family in every scenario, as far as the
    mechanisms ask for the same number of draws.
    """

    __slots__ = ("_state",)

    def __init__(self, key: int, purpose: int):
        self._state = _mix((key * 0x100000001B3 + purpose) & _MASK)

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        # _mix, inlined (a call less per draw)
        self._state = z = (self._state + _GOLDEN) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0)

    def exponential(self, mean: float) -> float:
        """A draw from the exponential distribution with the given mean."""
        return -_log(1.0 - self.uniform()) * mean

    def take(self, n: int) -> list[float]:
        """The next ``n`` draws from U[0, 1), as ``n`` calls of :meth:`uniform` would give."""
        return [self.uniform() for _ in range(n)]
