"""Scenario files for a municipality of one's own (``welfare-sim init``).

A municipality's file names a shipped scenario as its ``base`` and sets only the counts that
are the municipality's: its children, its caseworkers and, in the Danish practice, its intake
desk. Every rate of the shipped scenarios is per 1,000 children (notifications, applications,
the initial stock of open cases), so the rest scales with the children by itself, and every
other value keeps its source note. The user's figures are noted as the municipality's own;
what is scaled from a shipped scenario is noted as an assumption, with the figure scaled.

:func:`municipality_files` returns the files' texts; nothing here writes. The command line
writes them beside each other after loading them (so a file that would not load is never
written).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from sim.params.errors import ScenarioError
from sim.params.loading import load_scenario, read_limited, shipped_scenarios_dir
from sim.params.observed import FIGURES
from sim.params.schema import NAME_PATTERN, Scenario

Practice = Literal["danish", "swedish"]
PRACTICES: dict[str, str] = {"danish": "danish_baseline", "swedish": "swedish_model"}
"""The shipped scenario each practice's file is based on."""
TRANSITION = "transition_to_swedish"
"""The shipped transition whose timing and implementation cost a municipality's transition scales."""
OWN = "source: the municipality's own figures (welfare-sim init)"
SWEDISH_SUFFIX = "_swedish"
TRANSITION_SUFFIX = "_transition"


@dataclass(frozen=True)
class Municipality:
    """What a planner knows of a municipality: its name, children and staff."""

    name: str
    children: int
    caseworkers: int
    desk_staff: int | None = None  # None: scaled from the shipped Danish baseline
    practice: Practice = "danish"
    observed: tuple[tuple[str, float], ...] = ()  # (figure key of sim.params.observed.FIGURES, value)


@dataclass(frozen=True)
class TransitionPlan:
    """A switch to the Swedish practice: when, with how many caseworkers, hired over how long."""

    caseworkers: int | None = None  # None: scaled from the shipped Swedish model
    at_years: float | None = None  # None: the shipped transition's
    hiring_ramp_years: float | None = None  # None: the shipped transition's


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string (the same quotes and escapes).
    return json.dumps(text, ensure_ascii=False)


def _years(value: float) -> str:
    return f"{_number(value)} year" + ("" if value == 1 else "s")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def scaled(count: float, children_from: int, children_to: int, least: int = 0, up: bool = False) -> int:
    """``count`` for ``children_from`` children, scaled to ``children_to`` and rounded (``up``:
    to the next whole number), at least ``least``."""
    exact = count * children_to / children_from
    return max(least, math.ceil(exact - 1e-9) if up else round(exact))


def desk_load(children: int, desk_staff: int, base: Scenario) -> tuple[float, float]:
    """Notifications a year per intake desk worker: (this municipality's, ``base``'s). The
    shipped baseline's desk works near its capacity: a desk with fewer staff per child falls
    behind for good (at 8,000 children one worker is 225 days behind, two are not)."""
    rate = base.arrivals.notifications_per_1000_children_per_year
    mine = rate * children / 1000 / desk_staff if desk_staff else math.inf
    theirs = rate * base.municipality.children / 1000 / base.intake.desk_staff
    return mine, theirs


@functools.lru_cache(maxsize=8)
def shipped(name: str) -> Scenario:
    """A shipped scenario, loaded once per process (a :class:`Scenario` is frozen)."""
    return load_scenario(shipped_scenarios_dir() / f"{name}.toml")


def check_name(name: str) -> None:
    """Raise :class:`ScenarioError` unless ``name`` can be a new scenario's name and file name."""
    if not NAME_PATTERN.fullmatch(name):
        raise ScenarioError("NAME", "name", f"must be 1 to 64 letters, digits, '_' or '-', got {name!r}")
    if (shipped_scenarios_dir() / f"{name}.toml").exists():
        raise ScenarioError(f"{name}.toml", "name", f"{name!r} is a shipped scenario's name; choose another")


def _scenario_text(
    name: str, base: str, title: str, header: list[str], tables: dict[str, list[tuple[str, str, str]]]
) -> str:
    """A scenario file: a header comment, ``base``, ``name``, ``title``, then each table's
    ``key = value`` lines, each with its ``source.key`` note."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines += [f"base = {_toml_string(base)}", f"name = {_toml_string(name)}", f"title = {_toml_string(title)}"]
    for table, rows in tables.items():
        lines += _table_lines(table, rows)
    return "\n".join(lines) + "\n"


def _table_lines(table: str, rows: list[tuple[str, str, str]]) -> list[str]:
    """A TOML table of (key, value as TOML, note) rows: a blank line, ``[table]``, the
    ``key = value`` lines, then each key's ``source.key`` note."""
    lines = ["", f"[{table}]"]
    lines += [f"{key} = {value}" for key, value, _ in rows]
    lines += [f"source.{key} = {_toml_string(note)}" for key, _, note in rows]
    return lines


def municipality_files(town: Municipality, transition: TransitionPlan | None = None) -> dict[str, str]:
    """The scenario files for ``town``: ``{file name: text}``.

    Without ``transition``, one file, ``NAME.toml``, of the municipality in ``town.practice``.
    With it, three: ``NAME.toml`` (the municipality today, in the Danish practice),
    ``NAME_swedish.toml`` (the same municipality in the Swedish practice, at the transition's
    staffing) and ``NAME_transition.toml`` (today's practice, then the switch: the shipped
    transition's timing and implementation cost, the cost scaled by the children).
    Raises :class:`ScenarioError` on a name or count that cannot make a scenario.
    """
    check_name(town.name)
    if transition is not None and town.practice != "danish":
        raise ScenarioError(f"{town.name}.toml", "practice", "a transition starts from the Danish practice")
    base_name = PRACTICES[town.practice]
    base = shipped(base_name)
    n = town.children
    per = base.municipality.children
    own = f"{n:,} children, {town.caseworkers:,} caseworkers"
    tables: dict[str, list[tuple[str, str, str]]] = {
        "municipality": [("children", _number(n), OWN)],
        "staffing": [("caseworkers", _number(town.caseworkers), OWN)],
    }
    if base.intake.desk:
        if town.desk_staff is None:
            desk = scaled(base.intake.desk_staff, per, n, least=1, up=True)
            note = (
                f"assumption: {base_name}'s {base.intake.desk_staff} intake desk staff for {per:,} children, "
                f"scaled to {n:,} and rounded up: the desk works near its capacity (welfare-sim init)"
            )
        else:
            desk, note = town.desk_staff, OWN
        tables["intake"] = [("desk_staff", _number(desk), note)]
        own += f", {desk:,} at the intake desk"
    elif town.desk_staff:
        raise ScenarioError(
            f"{town.name}.toml", "intake.desk_staff", f"the {town.practice} practice has no intake desk"
        )
    header = [
        f"{town.name}: the municipality's own children and staff on the shipped {base_name}",
        "(welfare-sim init). Every other value, and its source, is the shipped scenario's: its rates",
        "are per 1,000 children (notifications, applications, the initial stock of open cases), so",
        "they scale with the children.",
    ]
    files = {
        f"{town.name}.toml": _scenario_text(
            town.name, base_name, f"{town.name}: {own}, the {town.practice.capitalize()} practice", header, tables
        )
    }
    if transition is None:
        return files
    files.update(_transition_files(town, transition))
    return files


def _transition_files(town: Municipality, plan: TransitionPlan) -> dict[str, str]:
    swedish_name, transition_name = town.name + SWEDISH_SUFFIX, town.name + TRANSITION_SUFFIX
    check_name(swedish_name)
    check_name(transition_name)
    swedish, shipped_transition = shipped(PRACTICES["swedish"]), shipped(TRANSITION)
    n, per = town.children, swedish.municipality.children
    if plan.caseworkers is None:
        caseworkers = scaled(swedish.staffing.caseworkers, per, n, least=1)
        note = (
            f"assumption: swedish_model's {swedish.staffing.caseworkers} caseworkers for {per:,} children, scaled to "
            f"{n:,} (welfare-sim init); welfare-sim staff finds the fewest the practice runs with"
        )
    else:
        caseworkers, note = plan.caseworkers, OWN
    files = {
        f"{swedish_name}.toml": _scenario_text(
            swedish_name,
            "swedish_model",
            f"{swedish_name}: {town.name}'s {n:,} children in the Swedish practice, {caseworkers:,} caseworkers",
            [
                f"{swedish_name}: {town.name}'s children on the shipped swedish_model, with the staffing the",
                "Swedish practice gets there (welfare-sim init); every other value, and its source, is the",
                "shipped scenario's.",
            ],
            {
                "municipality": [("children", _number(n), OWN)],
                "staffing": [("caseworkers", _number(caseworkers), note)],
            },
        )
    }
    spec = shipped_transition.transition
    implementation = shipped_transition.implementation
    assert spec is not None  # the shipped transition has one
    at = spec.at_years if plan.at_years is None else plan.at_years
    ramp = spec.hiring_ramp_years if plan.hiring_ramp_years is None else plan.hiring_ramp_years
    given = "the planner's (welfare-sim init)"
    cost = round(implementation.cost_dkk * n / shipped_transition.municipality.children)
    files[f"{transition_name}.toml"] = _scenario_text(
        transition_name,
        town.name,
        f"{transition_name}: {town.name} in the Danish practice for {_years(at)}, then the Swedish, "
        f"hiring over {_years(ramp)}",
        [
            f"{transition_name}: {town.name} as it is, then the switch to {swedish_name} (welfare-sim init).",
            "Timing and cost follow the shipped transition_to_swedish unless given.",
        ],
        {
            "transition": [
                (
                    "at_years",
                    _number(at),
                    f"assumption: {given}" if plan.at_years is not None else "assumption: transition_to_swedish's",
                ),
                ("to", _toml_string(swedish_name), f"source: {swedish_name}.toml, made with this file"),
                (
                    "hiring_ramp_years",
                    _number(ramp),
                    f"assumption: {given}"
                    if plan.hiring_ramp_years is not None
                    else "assumption: transition_to_swedish's",
                ),
            ],
            "implementation": [
                (
                    "cost_dkk",
                    _number(cost),
                    f"assumption: transition_to_swedish's {implementation.cost_dkk / 1e6:g} M DKK for "
                    f"{shipped_transition.municipality.children:,} children, scaled to {n:,} (welfare-sim init)",
                ),
                ("start_years", _number(at), "assumption: spent from the switch on"),
                (
                    "spread_years",
                    _number(implementation.spread_years),
                    "source: Herning's investment was spread over 4 years (seed 002)",
                ),
            ],
        },
    )
    return files


SUM_NAME = "total"
"""Reserved in a list of municipalities: the name of their sum in a regional run's tables."""
MAX_MUNICIPALITIES = 500
"""The most municipalities one list may hold (Denmark has 98)."""
COUNT_COLUMNS = ("name", "children", "caseworkers", "practice", "desk_staff")
LIST_COLUMNS = (*COUNT_COLUMNS, *FIGURES)
"""The columns of a municipality list: the counts, then any observed figure (optional, empty
where not known: shown beside the model's value, never fitted)."""
REQUIRED_COLUMNS = ("name", "children", "caseworkers")
_DIGITS = re.compile("[0-9]{1,9}")
LIMITS = {"children": (1, 1_500_000), "caseworkers": (1, 10_000), "desk_staff": (0, 10_000)}
"""The ranges of a municipality's counts (the scenario schema's), for a list's columns and init's options."""


def municipality_scenario(town: Municipality) -> Scenario:
    """``town`` as a validated scenario: the file :func:`municipality_files` writes as
    ``NAME.toml``, with its notes, loaded from a temporary folder (its base is a shipped
    scenario, so nothing beside it is needed)."""
    import tempfile

    text = municipality_files(town)[f"{town.name}.toml"]
    with tempfile.TemporaryDirectory(prefix="welfare-sim-") as folder:
        path = Path(folder) / f"{town.name}.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_scenario(path)
        except ScenarioError as exc:
            raise ScenarioError(town.name, exc.field, exc.message) from None


def read_municipalities(path: str | Path) -> list[Municipality]:
    """The municipalities of a CSV file: a header with ``name``, ``children`` and
    ``caseworkers`` and, optionally, ``practice`` (``danish`` or ``swedish``; default danish),
    ``desk_staff`` (empty: scaled) and observed figures (columns named as the keys of
    :data:`sim.params.observed.FIGURES`; empty: not known); one row per municipality; lines
    starting with ``#`` are comments. Raises
    :class:`ScenarioError` naming the file, the line and the column of the first problem."""
    import csv
    import io

    text = read_limited(path, "municipality list")
    # Lines starting with '#' are comments, blank lines are skipped; a line's number is kept.
    numbered = [
        (line, row)
        for line, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
    ]
    rows = [row for _, row in numbered]
    if not rows:
        raise ScenarioError(path, None, "empty: a header (name,children,caseworkers[,practice,desk_staff]) is needed")
    header = [cell.strip() for cell in rows[0]]
    for column in header:
        if column not in LIST_COLUMNS:
            shown = column if len(column) <= 40 else column[:37] + "..."
            raise ScenarioError(
                f"{path}:{numbered[0][0]}",
                repr(shown),
                f"unknown column (known: {', '.join(COUNT_COLUMNS)}, and observed figures: {', '.join(FIGURES)})",
            )
    if len(set(header)) < len(header):
        raise ScenarioError(f"{path}:{numbered[0][0]}", None, "a column is named twice")
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise ScenarioError(f"{path}:{numbered[0][0]}", column, "missing column")
    if len(rows) == 1:
        raise ScenarioError(path, None, "no municipalities: one row per municipality after the header")
    if len(rows) - 1 > MAX_MUNICIPALITIES:
        raise ScenarioError(path, None, f"at most {MAX_MUNICIPALITIES} municipalities, got {len(rows) - 1:,}")
    towns: list[Municipality] = []
    seen: set[str] = set()
    for line, row in numbered[1:]:
        where = f"{path}:{line}"
        if len(row) != len(header):
            raise ScenarioError(where, None, f"{len(row)} values for {len(header)} columns")
        cells = {column: cell.strip() for column, cell in zip(header, row)}
        name = cells["name"]
        if not NAME_PATTERN.fullmatch(name):
            raise ScenarioError(where, "name", f"must be 1 to 64 letters, digits, '_' or '-', got {name!r}")
        if name in seen:
            raise ScenarioError(where, "name", f"{name!r} is named twice")
        if name == SUM_NAME:
            raise ScenarioError(where, "name", f"{SUM_NAME!r} is the name of the sum; choose another")
        seen.add(name)
        counts: dict[str, int | None] = {}
        for column, (low, high) in LIMITS.items():
            value = cells.get(column, "")
            if column == "desk_staff" and value == "":
                counts[column] = None
                continue
            if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
                raise ScenarioError(where, column, f"must be a whole number from {low:,} to {high:,}, got {value!r}")
            counts[column] = int(value)
        practice = cells.get("practice") or "danish"
        if practice not in PRACTICES:
            raise ScenarioError(where, "practice", f"must be danish or swedish, got {practice!r}")
        if practice == "swedish" and counts["desk_staff"]:
            raise ScenarioError(where, "desk_staff", "the Swedish practice has no intake desk")
        children, caseworkers = counts["children"], counts["caseworkers"]
        assert children is not None and caseworkers is not None  # required columns
        observed = tuple((key, _observed_value(where, key, cells[key])) for key in FIGURES if cells.get(key, "") != "")
        towns.append(
            Municipality(name, children, caseworkers, counts["desk_staff"], cast(Practice, practice), observed)
        )
    return towns


def _observed_value(where: str, key: str, text: str) -> float:
    """An observed figure of a municipality list: a finite number in the figure's range."""
    figure = FIGURES[key]
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(where, key, f"must be a number ({figure.unit}), got {text!r}") from None
    low_ok = value > figure.low if figure.low_open else value >= figure.low
    if not math.isfinite(value) or not low_ok or value > figure.high:
        bound = "above" if figure.low_open else "from"
        raise ScenarioError(
            where, key, f"must be {bound} {figure.low:g} to {figure.high:g} ({figure.unit}), got {text!r}"
        )
    return value


def stock_table_text(stock: dict[str, Any], note: str) -> str:
    """An ``[initial_stock]`` table (appended to a file :func:`municipality_files` wrote, which
    has none): ``stock``'s dotted ``initial_stock.*`` values, each with ``note``."""
    from sim.params.observed import _toml_value

    rows = [(dotted.split(".", 1)[1], _toml_value(value), note) for dotted, value in stock.items()]
    return "\n".join(_table_lines("initial_stock", rows)) + "\n"
