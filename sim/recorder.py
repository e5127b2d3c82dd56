"""Columnar buffers: one list per column, turned into DataFrames once at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Table:
    """Rows appended column by column; ``frame()`` builds the DataFrame.

    Columns are given as ``"name:kind"`` with kind ``f`` (float), ``i`` (integer),
    ``b`` (boolean) or ``s`` (text); declaring the kind makes the conversion fast.
    """

    __slots__ = ("columns", "kinds", "data")

    _DTYPES = {"f": np.float64, "i": np.int64, "b": np.bool_, "s": object}

    def __init__(self, *columns: str):
        self.columns = tuple(c.split(":")[0] for c in columns)
        self.kinds = tuple(self._DTYPES[c.split(":")[1]] for c in columns)
        self.data: list[list] = [[] for _ in columns]

    def add(self, *values) -> None:
        for column, value in zip(self.data, values):
            column.append(value)

    def appenders(self) -> tuple:
        """The columns' bound ``append`` methods, for the hottest call sites."""
        return tuple(column.append for column in self.data)

    def frame(self, extra_rows: list[tuple] | None = None) -> pd.DataFrame:
        """The rows so far (and ``extra_rows``, not kept) as a DataFrame of declared dtypes."""
        data = self.data
        if extra_rows:
            data = [column + list(values) for column, values in zip(data, zip(*extra_rows))]
        return pd.DataFrame(
            {name: np.array(values, dtype=kind) for name, kind, values in zip(self.columns, self.kinds, data)}
        )

    def __len__(self) -> int:
        return len(self.data[0])


class Recorder:
    """Everything one replication records, in the tables of MODEL.md section 4."""

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
        self.caseload = Table("time_days:f", "caseworker:i", "cases:i", "points:f", "task_queue:i", "waiting_list:i")
        self.ladder = Table("time_days:f", "step:i", "children:i")
