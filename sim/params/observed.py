"""A municipality's own observed figures (``welfare-sim calibrate FILE --observed OBSERVED.toml``).

An observed file gives any of the figures of :data:`FIGURES`, each at the top level of the file,
either as a plain number or as a table with its uncertainty and where it comes from::

    # my_town_observed.toml: figures of my_town for 2023
    children_in_care_per_1000_children = {value = 9.5, sd = 0.5, source = "Danmarks Statistik, 2023"}
    notifications_per_1000_children_per_year = 142          # sd: 5 % of the value
    new_placements_per_1000_children_per_year = {value = 2.4, source = "own case system, 2021-2023"}

``sd`` is the standard deviation of the figure as the municipality knows it (the same unit as
the value): how far the model may sit from it. A figure without one gets
:data:`DEFAULT_RELATIVE_SD` of its value. ``source`` is a note, copied into the ``calibrated:``
note of every value fitted to it.

Reading follows the scenario files: a regular UTF-8 file of at most
:data:`~sim.params.loading.MAX_FILE_BYTES` (:func:`~sim.params.loading.parse_toml`), and every
problem is a :class:`~sim.params.errors.ScenarioError` naming the file and the key: an unknown
key, a value that is not a finite number in the figure's range, an ``sd`` that is not positive,
a file without figures, a figure the calibration has no parameter for (:data:`NOT_FITTED`).

Calibrated values become text here, never a file, by one writer, :func:`set_values_text` (each
value and its ``source`` note set in its section of a file's text, nothing else changed): in a
new file on the calibrated one (:func:`calibrated_file_text`, ``welfare-sim calibrate --write``),
or in place in an existing file (:func:`sim.experiments.calibration.write_values`,
``scripts/calibrate.py --write``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.params.errors import ScenarioError, _display, _short
from sim.params.loading import parse_toml

DEFAULT_RELATIVE_SD = 0.05
"""The standard deviation of a figure given as a plain number: 5 % of its value. A municipality's
yearly figures move by about that much from year to year (children in care, notifications); give
``sd`` where you know better (a small municipality's placements move by more)."""

MAX_SOURCE_CHARS = 500


@dataclass(frozen=True)
class Figure:
    """A figure a municipality may observe: its key in the file, the simulated indicator that
    measures it, what it is, its unit, and the range an observed value must lie in."""

    key: str
    indicator: str
    what: str
    unit: str
    low: float
    high: float
    low_open: bool = True  # the value must be above ``low`` (else at least ``low``)


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            "notifications_per_1000_children_per_year",
            "notifications_per_1000",
            "notifications a year per 1,000 children aged 0-17 (every notification, repeats included)",
            "per 1,000 children a year",
            0.0,
            1000.0,
        ),
        Figure(
            "new_placements_per_1000_children_per_year",
            "placements_per_1000_children_per_year",
            "new placements a year per 1,000 children (entries into care: moves between placements not counted)",
            "per 1,000 children a year",
            0.0,
            50.0,
        ),
        Figure(
            "children_in_care_per_1000_children",
            "children_in_care_per_1000",
            "children in care on an average day per 1,000 children",
            "per 1,000 children",
            0.0,
            100.0,
        ),
        Figure(
            "time_in_care_years",
            "time_in_care_years",
            "mean time in care: children in care over new placements a year",
            "years",
            0.0,
            18.0,
        ),
        Figure(
            "institution_share_of_care_days",
            "care_days_share_institution",
            "share of care days (children in care on an average day) in an institution",
            "share, 0 to 1",
            0.0,
            1.0,
            low_open=False,
        ),
        Figure(
            "foster_share_of_care_days",
            "care_days_share_foster",
            "share of care days (children in care on an average day) in a foster family",
            "share, 0 to 1",
            0.0,
            1.0,
            low_open=False,
        ),
        Figure(
            "caseload_cases_per_caseworker",
            "mean_caseload_cases",
            "open cases per district caseworker, on an average day",
            "cases per caseworker",
            0.0,
            500.0,
        ),
    )
}
"""The figures ``welfare-sim calibrate`` fits to, in the order it takes them (the order decides
which parameter each frees: :mod:`sim.experiments.calibration`)."""

NOT_FITTED: dict[str, str] = {
    "followup_on_time_share": "follow-ups on time come from the practice and the staffing",
    "mean_followup_interval_days": "the follow-up interval comes from the practice's schedule and the staffing",
    "caseworker_utilisation": "the caseworkers' utilisation comes from the practice and the staffing",
    "cost_total_per_year": "costs come from the unit costs and the staffing, which are the scenario's own figures",
}
"""Figures a municipality may know that no parameter of the children and their needs is fitted to:
calibrate never fits the practice, the staffing or the prices (change them in the scenario file)."""


@dataclass(frozen=True)
class Observed:
    """One observed figure: its value, its standard deviation (given or the default), and its
    source note."""

    key: str
    value: float
    sd: float
    sd_given: bool
    source: str

    @property
    def figure(self) -> Figure:
        return FIGURES[self.key]

    def text(self) -> str:
        """``children in care ... = 9.5 (sd 0.5; Danmarks Statistik, 2023)``"""
        sd = f"sd {self.sd:.3g}" + ("" if self.sd_given else f", {DEFAULT_RELATIVE_SD:.0%} of the value")
        source = f"; {self.source}" if self.source else ""
        return f"{self.key} = {self.value:g} ({sd}{source})"


def _number(file: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(file, key, f"must be a number, got {_short(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(file, key, f"must be a finite number, got {_short(value)}")
    return number


def _figure(file: str, key: str, entry: Any) -> Observed:
    figure = FIGURES[key]
    sd: float | None = None
    source = ""
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - {"value", "sd", "source"})
        if unknown:
            raise ScenarioError(file, f"{key}.{unknown[0]}", "unknown key; a figure has value, sd and source")
        if "value" not in entry:
            raise ScenarioError(file, f"{key}.value", "required but missing")
        value = _number(file, f"{key}.value", entry["value"])
        if "sd" in entry:
            sd = _number(file, f"{key}.sd", entry["sd"])
            if sd <= 0:
                raise ScenarioError(file, f"{key}.sd", f"must be > 0 (in {figure.unit}), got {sd:g}")
        if "source" in entry:
            source = entry["source"]
            if not isinstance(source, str):
                raise ScenarioError(file, f"{key}.source", f"must be a string, got {_short(source)}")
            if len(source) > MAX_SOURCE_CHARS or "\n" in source:
                raise ScenarioError(file, f"{key}.source", f"must be one line of at most {MAX_SOURCE_CHARS} characters")
        where = f"{key}.value"
    else:
        value = _number(file, key, entry)
        where = key
    below = value <= figure.low if figure.low_open else value < figure.low
    if below or value > figure.high:
        bound = ">" if figure.low_open else ">="
        raise ScenarioError(
            file, where, f"must be {bound} {figure.low:g} and <= {figure.high:g} ({figure.unit}), got {value:g}"
        )
    given = sd is not None
    return Observed(key, value, sd if sd is not None else DEFAULT_RELATIVE_SD * value, given, source)


def load_observed(path: str | Path) -> tuple[Observed, ...]:
    """The observed figures of ``path``, in the order of :data:`FIGURES`; a
    :class:`ScenarioError` naming the file and the key on any problem."""
    data = parse_toml(path, "observed file")
    file = _display(Path(path))
    for key in data:
        if key in NOT_FITTED:
            raise ScenarioError(
                file,
                key,
                f"no parameter to fit: {NOT_FITTED[key]}, which calibrate never fits (set them in the scenario file)",
            )
        if key not in FIGURES:
            raise ScenarioError(file, key, f"unknown key; an observed figure is one of: {', '.join(FIGURES)}")
    if not data:
        raise ScenarioError(file, None, f"no observed figures; give at least one of: {', '.join(FIGURES)}")
    observed = tuple(_figure(file, key, data[key]) for key in FIGURES if key in data)
    if "foster_share_of_care_days" in data and "institution_share_of_care_days" in data:
        total = sum(o.value for o in observed if o.key.endswith("_share_of_care_days"))
        if total > 1.0:
            raise ScenarioError(
                file, "foster_share_of_care_days", f"the foster and institution shares add up to {total:g}, over 1"
            )
    return observed


def _toml_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return repr(int(value)) if isinstance(value, int) else repr(float(value))


def calibrated_file_text(
    name: str, base: str, title: str, header: list[str], values: dict[str, tuple[Any, str]]
) -> str:
    """A scenario file on ``base`` (a file name beside it) that sets ``values`` (dotted field ->
    (value, its ``source`` note)), each under its section: the sections, empty, then each value
    set by :func:`set_values_text` (the values, then their notes); nothing here writes."""
    from sim.params.municipality import _scenario_text  # which reads this module's FIGURES

    tables: dict[str, list[tuple[str, str, str]]] = {dotted.split(".")[0]: [] for dotted in values}
    return set_values_text(_scenario_text(name, base, title, header, tables), values, f"{name}.toml")


def set_values_text(text: str, values: Mapping[str, tuple[Any, str]], file: str) -> str:
    """``text`` (a scenario file's) with each dotted ``section.key`` of ``values`` (value, its
    ``source`` note) set in its ``[section]``,
    in order: the ``key = ...`` and ``source.key = "..."`` lines replaced where the section has
    them; where not, the note added at the end of the section (before its trailing blank lines)
    and the value before the section's first ``source.`` line (or with the note, if it has
    none). Every other line is kept as it is, to the byte (its line ending too). Nothing here
    writes. Raises :class:`ScenarioError` naming ``file`` when a section is missing."""
    from sim.params.municipality import _toml_string  # which reads this module's FIGURES

    lines = text.splitlines(keepends=True)
    for dotted, (value, note) in values.items():
        section, key = dotted.split(".")
        try:
            start = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
        except StopIteration:
            raise ScenarioError(file, None, f"no [{section}] section") from None
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # insert before the blank lines that end the section
        if not lines[end - 1].endswith(("\n", "\r")):
            lines[end - 1] += "\n"  # the file's last line, without an end: a line added after it needs one
        value_line = f"{key} = {_toml_value(value)}\n"
        note_line = f"source.{key} = {_toml_string(note)}\n"
        found_value = found_note = False
        for i in range(start + 1, end):
            if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
                lines[i], found_value = value_line, True
            elif re.match(rf"^source\.{re.escape(key)}\s*=", lines[i]):
                lines[i], found_note = note_line, True
        if not found_note:
            lines[end:end] = [note_line]
        if not found_value:
            # values before the notes, as in the shipped files
            at = next((i for i in range(start + 1, end) if lines[i].startswith("source.")), end)
            lines[at:at] = [value_line]
    return "".join(lines)


_HEADER = re.compile(r"^\s*\[")
"""The start of a table's header line (the end of the table before it)."""
