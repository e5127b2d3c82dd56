"""Parameters: the scenario schema and the loading of scenario files; the bottom layer.

:mod:`sim.params.schema` (the sections and the :class:`Scenario`), :mod:`sim.params.loading`
(files, ``base`` chains, the scenarios a file names) and :mod:`sim.params.errors` (the one-line
:class:`ScenarioError`); their public names are here. A :class:`Scenario` is validated once,
at the edge, and frozen; every value may carry a note saying where it comes from.
:func:`load_scenario` reads a file (or a shipped scenario by name) with its chain of ``base``
files and raises :class:`ScenarioError`, one line naming the file and the dotted field, on any
problem.

Nothing here imports the rest of ``sim`` but :mod:`sim.constants` (an import-linter contract
in ``pyproject.toml``).
"""

from sim.params.errors import ScenarioError
from sim.params.loading import (
    MAX_BASE_CHAIN,
    MAX_FILE_BYTES,
    MAX_NESTING,
    base_chain,
    load_scenario,
    parse_toml,
    read_limited,
    resolve_reference,
    resolve_scenario_path,
    shipped_scenarios_dir,
)
from sim.params.schema import (
    DERIVED_NAME_PATTERN,
    NAME_PATTERN,
    Arrivals,
    Assignment,
    Children,
    District,
    Followup,
    Hours,
    Implementation,
    InitialStock,
    Intake,
    Ladder,
    Municipality,
    Need,
    Practice,
    Run,
    Scenario,
    Schedule,
    Section,
    Staffing,
    Step,
    Transition,
)

__all__ = [
    "DERIVED_NAME_PATTERN",
    "MAX_BASE_CHAIN",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "NAME_PATTERN",
    "Arrivals",
    "Assignment",
    "Children",
    "District",
    "Followup",
    "Hours",
    "Implementation",
    "InitialStock",
    "Intake",
    "Ladder",
    "Municipality",
    "Need",
    "Practice",
    "Run",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "Section",
    "Staffing",
    "Step",
    "Transition",
    "base_chain",
    "load_scenario",
    "parse_toml",
    "read_limited",
    "resolve_reference",
    "resolve_scenario_path",
    "shipped_scenarios_dir",
]
