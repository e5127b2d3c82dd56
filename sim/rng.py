"""Random streams: one ``numpy.random.Generator`` per stochastic process.

All streams are spawned from one ``SeedSequence(seed)`` in a fixed order, with spare
slots, so adding a process later shifts none of the existing streams. Draws are taken
from the generator in blocks (numpy is slow one number at a time); the sequence a
stream yields depends only on the seed and the stream's name.
"""

from __future__ import annotations

import math

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "notifications",  # arrival times of notifications and which child they concern
    "applications",  # arrival times of applications
    "children",  # attributes of newly notified children (age, need, urgency, screening)
    "need",  # changes of a child's need
    "decisions",  # caseworker decisions: start step, step down, network search, kinship
    "acute",  # whether a rise in need is reported at once
    "initial_stock",  # the open cases a run starts with
)
SPARE_STREAMS = 9
_BLOCK = 2048


class Stream:
    """A buffered source of uniform and exponential draws from one generator."""

    __slots__ = ("generator", "_u", "_ui", "_e", "_ei")

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.generator = np.random.Generator(np.random.PCG64(seed_sequence))
        self._u = self.generator.random(_BLOCK).tolist()
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

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return min(int(self.uniform() * n), n - 1)

    def choice(self, probabilities: list[float] | tuple[float, ...]) -> int:
        """An index drawn with the given probabilities (which sum to 1)."""
        u = self.uniform()
        acc = 0.0
        for i, p in enumerate(probabilities):
            acc += p
            if u < acc:
                return i
        return len(probabilities) - 1


class Streams:
    """The named streams of one replication."""

    def __init__(self, seed: int):
        children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES) + SPARE_STREAMS)
        for name, seq in zip(STREAM_NAMES, children):
            setattr(self, name, Stream(seq))

    notifications: Stream
    applications: Stream
    children: Stream
    need: Stream
    decisions: Stream
    acute: Stream
    initial_stock: Stream
