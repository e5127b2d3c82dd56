"""Columnar buffers: one typed buffer per column, turned into DataFrames once at the end."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import pandas as pd

from sim.constants import TASK_KINDS

if TYPE_CHECKING:
    import numpy.typing as npt

Column: TypeAlias = "array[Any] | list[Any]"
"""One column's buffer: a typed ``array.array`` (numbers) or a list (text)."""
Appender: TypeAlias = Callable[[Any], None]


class Table:
    """Rows appended column by column; ``frame()`` builds the DataFrame.

    Columns are given as ``"name:kind"`` with kind ``f`` (float), ``i`` (integer),
    ``b`` (boolean) or ``s`` (text). Numeric columns are typed ``array.array`` buffers,
    which numpy reads without copying element by element; text columns are lists.
    """

    __slots__ = ("columns", "kinds", "data", "add")

    _TYPECODES = {"f": "d", "i": "q", "b": "b", "s": None}
    _DTYPES: dict[str, npt.DTypeLike] = {"f": np.float64, "i": np.int64, "b": np.int8, "s": object}

    def __init__(self, *columns: str):
        self.columns = tuple(c.split(":")[0] for c in columns)
        self.kinds = tuple(c.split(":")[1] for c in columns)
        self.data: list[Column] = [self._empty(kind) for kind in self.kinds]
        self.add = _adder(self.appenders())
        """``add(*values)``: append one row, a value per column."""

    @classmethod
    def _empty(cls, kind: str) -> Column:
        code = cls._TYPECODES[kind]
        return [] if code is None else array(code)

    def appenders(self) -> tuple[Appender, ...]:
        """The columns' bound ``append`` methods, for the hottest call sites."""
        return tuple(column.append for column in self.data)

    def frame(self, extra_rows: Sequence[tuple[Any, ...]] | None = None) -> pd.DataFrame:
        """The rows so far (and ``extra_rows``, not kept) as a DataFrame of declared dtypes."""
        data = self.data
        if extra_rows:
            extended = []
            for column, values in zip(data, zip(*extra_rows)):
                column = column[:]  # a copy: the extra rows are not kept
                column.extend(values)
                extended.append(column)
            data = extended
        return pd.DataFrame(
            {name: self._array(kind, values) for name, kind, values in zip(self.columns, self.kinds, data)}
        )

    def _array(self, kind: str, values: Column) -> np.ndarray:
        if kind == "s":
            return np.array(values, dtype=object)
        # A numeric column's buffer is an array.array (see _empty).
        numbers = cast("array[Any]", values)
        out = np.frombuffer(numbers, dtype=self._DTYPES[kind]) if len(values) else np.empty(0, self._DTYPES[kind])
        return out.astype(bool) if kind == "b" else out.copy()

    def __len__(self) -> int:
        return len(self.data[0])


def _adder(appenders: tuple[Appender, ...]) -> Callable[..., None]:
    """A function that appends its arguments to the columns, one explicit call each: about
    three times as fast as a loop over the columns, and rows are recorded a million times a
    run. Generated, as :mod:`dataclasses` generates ``__init__``."""
    names = [f"v{i}" for i in range(len(appenders))]
    body = "; ".join(f"a{i}(v{i})" for i in range(len(appenders)))
    namespace = {f"a{i}": append for i, append in enumerate(appenders)}
    exec(f"def add({', '.join(names)}):\n    {body}", namespace)  # noqa: S102 - code built above, no input
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
