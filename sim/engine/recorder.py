"""Row buffers: each row's numbers packed into one bytearray as it is recorded, turned into DataFrames
once at the end."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from itertools import starmap
from operator import itemgetter
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from sim.constants import TASK_KINDS

Appender: TypeAlias = Callable[[Any], None]


class Table:
    """Rows appended one at a time; ``frame()`` builds the DataFrame.

    Columns are given as ``"name:kind"`` with kind ``f`` (float), ``i`` (integer),
    ``b`` (boolean) or ``s`` (text). A row's numbers (every column but the text ones) are
    packed into one ``bytes`` by a precompiled :class:`struct.Struct` and added to the end of
    one ``bytearray``, which numpy reads as one record array at the end; text columns are lists. One ``pack`` call
    per row costs a third of what typed ``array.array`` buffers cost, a call per value (each
    of which parses its argument twice), and rows are recorded half a million times a run.
    """

    __slots__ = ("columns", "kinds", "_record", "_buffer", "_texts", "add")

    _CODES = {"f": ("d", "<f8"), "i": ("q", "<i8"), "b": ("?", "?")}

    def __init__(self, *columns: str):
        self.columns = tuple(c.split(":")[0] for c in columns)
        self.kinds = tuple(c.split(":")[1] for c in columns)
        numbers = [(name, kind) for name, kind in zip(self.columns, self.kinds) if kind != "s"]
        assert len(numbers) >= 2, "a table has two numeric columns or more (frame() picks them as a tuple)"
        self._record = struct.Struct("<" + "".join(self._CODES[kind][0] for _, kind in numbers))
        # The packed rows, one after the other: a bytearray grows in place, so a row costs its
        # bytes and nothing more (a list of one bytes object a row cost some 40 bytes a row more,
        # a fifth to a third more peak memory in the largest runs), and numpy reads it as it is.
        self._buffer = bytearray()
        self._texts: list[list[Any]] = [[] for kind in self.kinds if kind == "s"]
        self.add = _adder(self.kinds, self._buffer.extend, self._record.pack, [t.append for t in self._texts])
        """``add(*values)``: append one row, a value per column."""

    def row_writer(self) -> tuple[Callable[[bytes], None], Callable[..., bytes]]:
        """For the hottest call site, a table without text: ``(append, pack)``, to record a row
        as ``append(pack(*values))`` without the call of :attr:`add`."""
        assert "s" not in self.kinds, "a table with text columns records rows through add()"
        return self._buffer.extend, self._record.pack

    def frame(self, extra_rows: Sequence[tuple[Any, ...]] | None = None) -> pd.DataFrame:
        """The rows so far (and ``extra_rows``, not kept) as a DataFrame of declared dtypes."""
        packed: bytes | bytearray = self._buffer
        texts: list[list[Any]] = self._texts
        if extra_rows:
            text = [k for k, kind in enumerate(self.kinds) if kind == "s"]
            rows: Iterable[Sequence[Any]] = extra_rows
            if text:  # the numbers of each row, picked in C (a table has two numbers or more)
                rows = map(itemgetter(*(k for k, kind in enumerate(self.kinds) if kind != "s")), extra_rows)
            packed = packed + b"".join(starmap(self._record.pack, rows))  # a copy: not kept
            texts = [texts[j] + [row[k] for row in extra_rows] for j, k in enumerate(text)]
        dtype = np.dtype([(name, self._CODES[kind][1]) for name, kind in zip(self.columns, self.kinds) if kind != "s"])
        records = np.frombuffer(packed, dtype=dtype)
        text_values = iter(texts)
        return pd.DataFrame(
            {
                name: np.array(next(text_values), dtype=object) if kind == "s" else records[name].copy()
                for name, kind in zip(self.columns, self.kinds)
            }
        )

    def __len__(self) -> int:
        return len(self._buffer) // self._record.size


def _adder(
    kinds: tuple[str, ...], append: Callable[[bytes], None], pack: Callable[..., bytes], texts: list[Appender]
) -> Callable[..., None]:
    """A function that appends one row: the packed numbers, and each text to its list. Generated,
    as :mod:`dataclasses` generates ``__init__``, so that a row costs one call of it and no loop."""
    names = [f"v{i}" for i in range(len(kinds))]
    numbers = ", ".join(name for name, kind in zip(names, kinds) if kind != "s")
    text_names = [name for name, kind in zip(names, kinds) if kind == "s"]
    body = [f"append(pack({numbers}))", *(f"t{j}({name})" for j, name in enumerate(text_names))]
    namespace: dict[str, Any] = {"append": append, "pack": pack, **{f"t{j}": t for j, t in enumerate(texts)}}
    exec(f"def add({', '.join(names)}):\n    " + "; ".join(body), namespace)  # noqa: S102 - code built above, no input
    add: Callable[..., None] = namespace["add"]
    return add


class Recorder:
    """Everything one replication records, in the tables of docs/conceptual-model.md §4."""

    def __init__(self) -> None:
        self.events = Table("time_days:f", "child:i", "case:i", "event:i", "step:i", "caseworker:i")
        self.notifications = Table("notification:i", "time_days:f", "child:i", "case:i", "source:s", "outcome:s")
        self.spells = Table(
            "child:i",
            "case:i",
            "step:i",
            "start_day:f",
            "end_day:f",
            "end_reason:s",
            "entry:b",
            "replacement:b",
            "initial_stock:b",
        )
        self.followups = Table(
            "case:i",
            "child:i",
            "step:i",
            "caseworker:i",
            "due_day:f",
            "done_day:f",
            "previous_day:f",
            "policy_interval_days:f",
        )
        self.investigations = Table("case:i", "child:i", "source:s", "notified_day:f", "done_day:f")
        self.contacts = Table("case:i", "child:i", "notified_day:f", "first_contact_day:f", "by:s")
        self.caseload = Table(
            "time_days:f",
            "caseworker:i",
            "cases:i",
            "points:f",
            "task_queue:i",
            "waiting_list:i",
            "standing_hours_per_week:f",
            "task_hours:f",
        )
        self.hours = Table(
            "time_days:f",
            "caseworkers:i",
            "available_hours:f",
            "standing_hours:f",
            *(f"{kind}_hours:f" for kind in TASK_KINDS),
        )
        self.ladder = Table("time_days:f", "step:i", "children:i")
        self.stock = Table(
            "case:i",
            "child:i",
            "step:i",
            "need:i",
            "persistent:b",
            "step_start_day:f",
            "age_years:f",
            "application:b",
            "relapse_days_left:f",
            "unsupported:b",
            "over_served_reviews:i",
        )
        self.known = Table("child:i", "age_years:f", "persistent:b")
