"""The event log for process mining: XES or CSV, in the columns the tools expect.

``event_log(load_run(folder))`` turns the ``events`` table of a run or batch folder into
one row per event with the standard column names of pm4py and XES:

==================== ==================================================================
``case:concept:name`` the case id, ``"<scenario>/<replication>/<case>"``: unique across
                      the scenarios and replications of a batch
``concept:name``      the activity: a readable name for the event (``ACTIVITIES``); a
                      ``step_start`` names the step, e.g. ``"Start foster care"``
``time:timestamp``    ``start`` (default 2020-01-01, UTC) plus the event's ``time_days``,
                      rounded to the millisecond
``org:resource``      ``"caseworker <id>"``, ``"intake desk"``, or missing (no one: the
                      case had no caseworker, e.g. a notification or the case's closing)
``scenario``, ``replication``, ``child``, ``step``
                      where the event comes from, the child, and the child's ladder step
                      (0 = none, 1-5) after the event
==================== ==================================================================

Rows are sorted by scenario (in the folder's order), replication, case number and time.
Events of a case at the same moment keep the model's order, except that a follow-up comes
first: the decisions it leads to (a new step, a deferred step-down, the case's closing)
are logged at the moment it ends, but the model's table lists follow-ups after them.

What is left out: ``need_up`` and ``need_down`` are not activities anyone performed but
changes of the child's latent need, which the department does not see (it sees them only
at a follow-up or an acute event, which are in the log); nor are ``crisis`` and
``crisis_over``, the rise of the need an acute crisis brings and its passing. They are left
out unless ``include_need=True``. The event log holds every event of the measured period;
cases open when measurement began start in the middle of their story.

``write_xes`` writes XES 1.0 (one trace per case, with the case id, scenario, replication
and child as trace attributes; events with activity, timestamp, resource and step) with a
small writer of its own, so the export needs no process-mining library; ``write_csv``
writes the same columns as CSV. Both write a temporary file and rename it into place.

On the command line: ``welfare-sim export RUN_DIR [--format xes|csv] [--scenario NAME]
[--replication R] [--include-need] [--start DATE] [--out FILE]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.storage.output import atomic_write_with
from sim.storage.rundata import RunData

CASE = "case:concept:name"
ACTIVITY = "concept:name"
TIMESTAMP = "time:timestamp"
RESOURCE = "org:resource"
ATTRIBUTES = ("scenario", "replication", "child", "step")
TRACE_ATTRIBUTES = ("scenario", "replication", "child")
"""Attributes that are the same for every event of a case: XES writes them on the trace."""
COLUMNS = (CASE, ACTIVITY, TIMESTAMP, RESOURCE, *ATTRIBUTES)

ACTIVITIES: dict[str, str] = {
    "notification": "Notification received",
    "application": "Application received",
    "notification_joined": "Further notification received",
    "preliminary_assessment": "Preliminary assessment",
    "handover": "Handover to caseworker",
    "waiting_list": "Put on waiting list",
    "investigation_start": "Investigation started",
    "investigation_done": "Investigation completed",
    "step_start": "Intervention step started",  # named by its step, see STEP_ACTIVITIES
    "followup": "Follow-up",
    "acute_event": "Acute event",
    "acute_review": "Acute review",
    "step_down_deferred": "Step-down deferred",
    "network_search": "Network search",
    "need_up": "Need increased",
    "need_down": "Need decreased",
    "case_closed": "Case closed",
    "crisis": "Acute crisis",
    "crisis_over": "Acute crisis over",
}
"""The activity name of each event of the model's event log."""
STEP_ACTIVITIES: dict[int, str] = {
    1: "Start early support",
    2: "Start home support",
    3: "Start kinship care",
    4: "Start foster care",
    5: "Start institution",
}
"""The activity of a ``step_start`` event, by the step the child starts on."""
NEED_EVENTS = ("need_up", "need_down", "crisis", "crisis_over")
INTAKE_DESK = "intake desk"
FORMATS = ("xes", "csv")
DEFAULT_START = "2020-01-01"


class ExportError(ValueError):
    """The event log cannot be made as asked; ``str()`` is a one-line message."""


# ----------------------------------------------------------------------------- the log


def _start_timestamp(start) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ExportError(f"start: not a date, got {start!r} (use e.g. 2020-01-01)")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _resources(events: pd.DataFrame) -> pd.Series:
    """``org:resource``: the caseworker, the intake desk, or missing.

    The model numbers intake-desk staff -2, -3, ... and records -1 for "no caseworker".
    """
    worker = events["caseworker"].to_numpy()
    desk = worker < -1
    names = pd.Series([f"caseworker {w}" for w in worker], index=events.index, dtype=object)
    names[desk] = INTAKE_DESK
    names[(worker < 0) & ~desk] = None
    return names


def _activities(events: pd.DataFrame) -> pd.Series:
    event = events["event"].astype(str)
    activity = event.map(ACTIVITIES)
    unknown = sorted(set(event[activity.isna()]))
    if unknown:
        raise ExportError(f"events: unknown event {unknown[0]!r}")
    starts = event == "step_start"
    activity[starts] = events.loc[starts, "step"].map(STEP_ACTIVITIES).fillna(ACTIVITIES["step_start"])
    return activity


def event_log(
    data: RunData,
    scenario: str | None = None,
    replication: int | None = None,
    start: str = DEFAULT_START,
    include_need: bool = False,
) -> pd.DataFrame:
    """The events of ``data`` (every scenario and replication, or the one named) as an
    event log with the standard columns (see the module's documentation).

    Raises :class:`ExportError` for an unknown scenario, a replication that is not in
    every selected scenario, or a bad ``start``; ``sim.storage.rundata.RunDataError`` when the
    folder has no events table (a batch run without tables).
    """
    origin = _start_timestamp(start)
    if scenario is not None and scenario not in data.scenarios:
        raise ExportError(f"scenario: {scenario!r} is not in {data.folder} (it has {', '.join(data.scenarios)})")
    scenarios = data.scenarios if scenario is None else [scenario]
    if replication is not None:
        for name in scenarios:
            have = sorted(int(r) for r in data.replications.loc[data.replications["scenario"] == name, "replication"])
            if replication not in have:
                if not have:
                    listed = "none"
                elif have == list(range(have[0], have[-1] + 1)):
                    listed = f"{have[0]}-{have[-1]}"
                else:
                    listed = ", ".join(map(str, have))
                raise ExportError(f"replication: {name!r} has no replication {replication} (it has {listed})")
    tables = data.table("events")
    frames = []
    for order, name in enumerate(scenarios):
        events = tables[name]
        keep = np.ones(len(events), dtype=bool)
        if replication is not None:
            keep &= (events["replication"] == replication).to_numpy()
        if not include_need:
            keep &= ~events["event"].isin(NEED_EVENTS).to_numpy()
        events = events[keep]
        frames.append(
            pd.DataFrame(
                {
                    "_order": order,
                    "_row": np.arange(len(events)),
                    "_case": events["case"].to_numpy(),
                    "_days": events["time_days"].to_numpy(),
                    "_tie": (events["event"] != "followup").to_numpy(dtype=np.int8),
                    CASE: [f"{name}/{r}/{c}" for r, c in zip(events["replication"], events["case"])],
                    ACTIVITY: _activities(events).to_numpy(dtype=object),
                    RESOURCE: _resources(events).to_numpy(),
                    "scenario": name,
                    "replication": events["replication"].to_numpy(dtype=np.int64),
                    "child": events["child"].to_numpy(dtype=np.int64),
                    "step": events["step"].to_numpy(dtype=np.int64),
                }
            )
        )
    log = pd.concat(frames, ignore_index=True)
    keys = ["_order", "replication", "_case", "_days", "_tie", "_row"]
    log = log.sort_values(keys, kind="stable", ignore_index=True)
    try:
        log[TIMESTAMP] = (origin + pd.to_timedelta(log["_days"].astype(float), unit="D")).dt.round("ms")
    except (OverflowError, ValueError):
        raise ExportError(f"start: {start!r} is too late, the timestamps overflow") from None
    return log.reindex(columns=list(COLUMNS))


# ----------------------------------------------------------------------------- writing


def _timestamp_text(stamps: pd.Series) -> pd.Series:
    """ISO 8601 with milliseconds and the UTC offset: ``2020-01-01T06:00:00.000+00:00``."""
    stamps = pd.to_datetime(stamps)
    if stamps.dt.tz is None:
        raise ExportError(f"{TIMESTAMP}: needs time-zone-aware timestamps")
    stamps = stamps.dt.tz_convert("UTC")
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "+00:00"


def _check_columns(log: pd.DataFrame) -> None:
    missing = [c for c in (CASE, ACTIVITY, TIMESTAMP) if c not in log.columns]
    if missing:
        raise ExportError(f"event log: no {missing[0]!r} column")


def write_csv(log: pd.DataFrame, path: str | Path) -> None:
    """Write the event log as CSV (UTF-8, a header row; timestamps in ISO 8601 with the
    UTC offset; a missing resource is an empty field)."""
    _check_columns(log)
    out = log.copy()
    out[TIMESTAMP] = _timestamp_text(log[TIMESTAMP])
    atomic_write_with(Path(path), lambda handle: out.to_csv(handle, index=False, lineterminator="\n"))


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def xml_attribute(value) -> str:
    """``value`` as the text of a double-quoted XML attribute: markup escaped, tabs and
    line breaks kept (as character references), characters XML 1.0 forbids replaced by
    U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", str(value)).translate(_XML_ESCAPES)


def _xes_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "date"
    return "string"


def _attribute_lines(log: pd.DataFrame, column: str, indent: str) -> list[str | None]:
    """One XES attribute element per row of ``column`` (``None`` where it is missing)."""
    series = log[column]
    kind = _xes_type(series)
    if kind == "date":
        texts = _timestamp_text(series)
    elif kind == "boolean":
        texts = series.map(lambda v: "true" if v else "false")
    elif kind == "float":
        texts = series.map(lambda v: repr(float(v)))
    else:
        texts = series.map(xml_attribute, na_action="ignore")
    key = xml_attribute(column)
    missing = series.isna().to_numpy()
    return [None if gone else f'{indent}<{kind} key="{key}" value="{text}"/>\n' for gone, text in zip(missing, texts)]


_XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xes.features="" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<global scope="trace">
\t\t<string key="concept:name" value="__INVALID__"/>
\t</global>
\t<global scope="event">
\t\t<string key="concept:name" value="__INVALID__"/>
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
\t</global>
\t<classifier name="Activity" keys="concept:name"/>
\t<classifier name="Resource" keys="org:resource"/>
"""


_TRACES_PER_CHUNK = 5000


def write_xes(log: pd.DataFrame, path: str | Path, name: str = "welfare-sim event log") -> None:
    """Write the event log as XES 1.0: a trace per case (in order of first appearance),
    its events in time order (ties in row order).

    The trace carries ``concept:name`` (the case id) and the columns of
    ``TRACE_ATTRIBUTES`` that are present (they must be constant within a case); each event
    carries ``concept:name``, ``time:timestamp`` and every other column (``org:resource``
    and the rest), typed as int, float, boolean, date or string, left out where missing.
    """
    _check_columns(log)
    log = log.reset_index(drop=True)
    codes, cases = pd.factorize(log[CASE])
    if (codes < 0).any():
        raise ExportError(f"{CASE}: a case id is missing")
    stamps = pd.to_datetime(log[TIMESTAMP])
    order = np.lexsort((stamps.to_numpy(), codes))  # stable: ties keep row order
    log = log.iloc[order].reset_index(drop=True)
    codes = codes[order]
    trace_columns = [c for c in TRACE_ATTRIBUTES if c in log.columns]
    for column in trace_columns:
        if (log.groupby(codes)[column].nunique(dropna=False) > 1).any():
            raise ExportError(f"{column}: differs within a case, cannot be a trace attribute")
    event_columns = [ACTIVITY, TIMESTAMP] + [
        c for c in log.columns if c not in (CASE, ACTIVITY, TIMESTAMP, *trace_columns)
    ]
    firsts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(log) else np.array([], dtype=int)
    ends = np.r_[firsts[1:], len(log)].astype(int)

    def traces(t0: int, t1: int) -> str:
        """The XML of traces ``t0`` to ``t1 - 1``."""
        rows = log.iloc[firsts[t0] : ends[t1 - 1]].reset_index(drop=True)
        heads = log.iloc[firsts[t0:t1]].reset_index(drop=True)
        trace_lines = [_attribute_lines(heads, c, "\t\t") for c in [CASE, *trace_columns]]
        trace_lines[0] = [line.replace(f'key="{CASE}"', 'key="concept:name"') for line in trace_lines[0]]
        event_lines = [_attribute_lines(rows, c, "\t\t\t") for c in event_columns]
        parts = []
        for t in range(t1 - t0):
            parts.append("\t<trace>\n")
            parts.extend(lines[t] for lines in trace_lines if lines[t] is not None)
            for row in range(firsts[t0 + t] - firsts[t0], ends[t0 + t] - firsts[t0]):
                parts.append("\t\t<event>\n")
                parts.extend(lines[row] for lines in event_lines if lines[row] is not None)
                parts.append("\t\t</event>\n")
            parts.append("\t</trace>\n")
        return "".join(parts)

    def write(handle) -> None:
        handle.write(_XES_HEADER)
        handle.write(f'\t<string key="concept:name" value="{xml_attribute(name)}"/>\n')
        for t0 in range(0, len(firsts), _TRACES_PER_CHUNK):  # bounded memory for a big batch
            handle.write(traces(t0, min(t0 + _TRACES_PER_CHUNK, len(firsts))))
        handle.write("</log>\n")

    atomic_write_with(Path(path), write)


def write_log(log: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """Write ``log`` as ``fmt`` (``"xes"`` or ``"csv"``)."""
    if fmt == "xes":
        write_xes(log, path)
    elif fmt == "csv":
        write_csv(log, path)
    else:
        raise ExportError(f"format: must be one of {', '.join(FORMATS)}, got {fmt!r}")


# ----------------------------------------------------------------------------- file names


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def default_path(folder: Path, fmt: str, scenario: str | None = None, replication: int | None = None) -> Path:
    """``FOLDER/eventlog[-SCENARIO][-rR].FMT``: the selection is in the name."""
    stem = "eventlog"
    if scenario is not None:
        stem += f"-{_safe(scenario)}"
    if replication is not None:
        stem += f"-r{replication}"
    return Path(folder) / f"{stem}.{fmt}"
