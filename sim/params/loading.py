"""Loading scenario files: read (hostile input refused before it is parsed), merged with their
chain of ``base`` files, validated as a :class:`~sim.params.schema.Scenario`, and the scenarios
they name (``transition.to``, ``districts[].scenario``) resolved.

A scenario file may name a ``base`` scenario (a file beside it, with or without
``.toml``, or a shipped scenario's name) and override only what differs; tables are merged key by key,
everything else (numbers, strings, lists) is replaced whole. Each value's dotted path remembers
the file it came from, so that an error names the file that set the value.

Hostile input (issue 11): only regular files of at most :data:`MAX_FILE_BYTES` are read, nested
at most :data:`MAX_NESTING` tables deep, with a ``base`` chain of at most :data:`MAX_BASE_CHAIN`
files; and a file names other scenarios (``base``, ``transition.to``, ``districts[].scenario``)
only beside itself or among the shipped scenarios.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from sim.params.errors import ScenarioError, _display, _first_error, _short
from sim.params.schema import NAME_PATTERN, Scenario

MAX_FILE_BYTES = 1_000_000
"""The largest scenario or batch file read (bytes); a shipped scenario is about 15 kB."""

MAX_NESTING = 10
"""The deepest nesting of tables and arrays in a scenario file (a scenario needs 4)."""

MAX_BASE_CHAIN = 16
"""The most files in a chain of ``base`` scenarios."""


def read_limited(path: str | Path, what: str = "scenario file", limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes, UTF-8; anything else (a device,
    a pipe, a folder, a larger file) is refused with a :class:`ScenarioError`, before it is
    read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError(_display(path), None, f"no such {what}") from None
    except OSError as exc:
        raise ScenarioError(_display(path), None, f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            raise ScenarioError(_display(path), None, f"not a regular file ({kind}); a {what} is a text file")
        if info.st_size > limit:
            raise ScenarioError(_display(path), None, f"too large ({info.st_size:,} bytes; at most {limit:,})")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while being read
            raise ScenarioError(_display(path), None, f"too large (more than {limit:,} bytes)")
    except OSError as exc:
        raise ScenarioError(_display(path), None, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(_display(path), None, f"not UTF-8 text (byte {exc.start})") from None


def parse_toml(path: str | Path, what: str = "scenario file") -> dict[str, Any]:
    """A TOML file read with :func:`read_limited` and parsed, nested at most
    :data:`MAX_NESTING` deep; a :class:`ScenarioError` on any problem."""
    text = read_limited(path, what)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(_display(Path(path)), None, f"malformed TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(_display(Path(path)), None, f"nested more than {MAX_NESTING} levels deep") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError(_display(Path(path)), None, f"malformed TOML: {_short(str(exc))}") from None
    deep = _too_deep(data)
    if deep is not None:
        raise ScenarioError(_display(Path(path)), deep, f"nested more than {MAX_NESTING} levels deep")
    return data


def _too_deep(data: Any) -> str | None:
    """The dotted path of the first value nested deeper than :data:`MAX_NESTING` (without
    recursion, however deep), or ``None``."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_NESTING:
            return ".".join(where[:MAX_NESTING]) + "..."
        if isinstance(value, dict):
            stack.extend((v, (*where, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*where, str(i))) for i, v in enumerate(value))
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    return parse_toml(path)


def _merge(
    base: dict[str, Any], over: dict[str, Any], origins: dict[str, Path], over_file: Path, prefix: str = ""
) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, origins, over_file, dotted + ".")
        else:
            out[key] = value
            _set_origin(origins, dotted, value, over_file)
    return out


def _set_origin(origins: dict[str, Path], dotted: str, value: Any, file: Path) -> None:
    origins[dotted] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            _set_origin(origins, f"{dotted}.{key}", sub, file)


def resolve_reference(text: Any, where: Path, field: str) -> Path:
    """The scenario file that ``text``, written in the file ``where`` as ``field``, names: a
    file beside ``where`` (or in a folder below it; ``.toml`` may be left out), else a
    shipped scenario of that name. An absolute path or one with ``..`` is refused: a file
    names only what lies beside it."""
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(_display(where), field, f"must name a scenario file, got {_short(text)}")
    relative = PurePosixPath(text.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or text.startswith("~") or "\x00" in text:
        raise ScenarioError(
            _display(where),
            field,
            f"must name a file beside this one (no absolute path, no '..') or a shipped scenario, got {_short(text)}",
        )
    candidate = where.parent / relative
    if candidate.suffix != ".toml":
        candidate = candidate.with_name(candidate.name + ".toml")
    if os.path.lexists(candidate):
        return candidate
    if len(relative.parts) == 1 and NAME_PATTERN.fullmatch(relative.name.removesuffix(".toml")):
        shipped = shipped_scenarios_dir() / f"{relative.name.removesuffix('.toml')}.toml"
        if shipped.is_file():
            return shipped
    raise ScenarioError(_display(where), field, f"scenario {text!r} not found (beside the file or shipped)")


def _load_raw(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, Path]]:
    if len(chain) >= MAX_BASE_CHAIN:
        raise ScenarioError(_display(chain[0]), "base", f"a chain of more than {MAX_BASE_CHAIN} base files")
    data = _read_toml(path)
    origins: dict[str, Path] = {}
    base_name = data.pop("base", None)
    if base_name is None:
        _merge({}, data, origins, path)
        return data, origins
    base_path = resolve_reference(base_name, path, "base")
    if base_path.resolve() in chain or base_path.resolve() == path.resolve():
        cycle = " -> ".join(p.name for p in (*chain, path.resolve(), base_path.resolve()))
        raise ScenarioError(_display(path), "base", f"circular base: {cycle}")
    base_data, origins = _load_raw(base_path, (*chain, path.resolve()))
    merged = _merge(base_data, data, origins, path)
    return merged, origins


def base_chain(path: str | Path) -> list[Path]:
    """The scenario file (or shipped name) ``path`` and the files of its ``base`` chain, as
    :func:`load_scenario` reads them."""
    current = resolve_scenario_path(path)
    files: list[Path] = []
    while len(files) < MAX_BASE_CHAIN:
        files.append(current)
        name = _read_toml(current).get("base")
        if name is None:
            break
        current = resolve_reference(name, current, "base")
        if current.resolve() in [f.resolve() for f in files]:
            break
    return files


def _error_file(field: str, origins: dict[str, Path], default: Path) -> Path:
    parts = field.split(".")
    while parts:
        hit = origins.get(".".join(parts))
        if hit is not None:
            return hit
        parts.pop()
    return default


def load_scenario(path: str | Path, _chain: tuple[Path, ...] = ()) -> Scenario:
    """Read, merge with its base chain and validate one scenario file.

    ``path`` is a file, or the name of a shipped scenario (``"swedish_model"``).
    Raises :class:`ScenarioError` with a one-line message on any problem.
    """
    file = resolve_scenario_path(path)
    data, origins = _load_raw(file, ())
    data.setdefault("name", file.stem)
    name = data["name"]
    if isinstance(name, str) and not NAME_PATTERN.fullmatch(name):
        origin = "" if "name" in origins else f' (the file\'s name; set name = "..." in {file.name})'
        raise ScenarioError(
            _display(_error_file("name", origins, file)),
            "name",
            f"must be letters, digits, _ and - only (at most 64; it names output folders), got {_short(name)}{origin}",
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        field, message = _first_error(exc)
        where = _error_file(field, origins, file)
        raise ScenarioError(_display(where), field, message) from None
    if _chain:
        return scenario  # a scenario named by transition.to or districts may name none itself (checked by the caller)
    if scenario.transition is not None:
        scenario = _with_transition_target(scenario, file, _error_file("transition.to", origins, file), _chain)
    if scenario.districts:
        scenario = _with_district_targets(scenario, file, _error_file("districts", origins, file), _chain)
    return scenario


def _with_district_targets(scenario: Scenario, file: Path, where: Path, chain: tuple[Path, ...]) -> Scenario:
    """Resolve every district's scenario and scale it to the district's share."""
    districts = []
    children = scenario.municipality.children
    for i, district in enumerate(scenario.districts):
        field = f"districts.{i}.scenario"
        path = resolve_reference(district.scenario, where, field)
        if path.resolve() in (*chain, file.resolve()):
            raise ScenarioError(_display(where), field, "a district cannot follow the scenario that contains it")
        target = load_scenario(path, _chain=(*chain, file.resolve()))
        if target.districts or target.transition is not None:
            raise ScenarioError(_display(where), field, f"{district.scenario!r} has districts or a transition itself")
        caseworkers = district.caseworkers or max(1, round(target.staffing.caseworkers * district.share))
        desk = (
            district.desk_staff
            if district.desk_staff is not None
            else max(1, round(target.intake.desk_staff * district.share))
        )
        overrides = {
            "name": f"{scenario.name}.{district.name}",
            "municipality.children": max(1, round(children * district.share)),
            "staffing.caseworkers": caseworkers,
            "intake.desk_staff": desk if target.intake.desk else 0,
        }
        data = target.model_dump()
        data["run"] = scenario.run.model_dump()  # one clock for the whole municipality
        # Every district starts from the municipality's state (its initial stock per 1,000
        # children), not from the steady state of the practice it follows: a pilot starts
        # where the municipality is and changes from there.
        data["initial_stock"] = scenario.initial_stock.model_dump()
        data["name"] = overrides.pop("name")
        local = Scenario.model_validate(data).with_overrides(**overrides)
        districts.append(district.model_copy(update={"target": local}))
    return scenario.model_copy(update={"districts": districts})


def _with_transition_target(scenario: Scenario, file: Path, where: Path, chain: tuple[Path, ...]) -> Scenario:
    """Load the scenario a transition switches to, and check it can be switched to."""
    transition = scenario.transition
    assert transition is not None  # the caller's condition
    name = transition.to
    target_path = resolve_reference(name, where, "transition.to")
    if target_path.resolve() in (*chain, file.resolve()):
        raise ScenarioError(_display(where), "transition.to", "a scenario cannot switch to itself")
    target = load_scenario(target_path, _chain=(*chain, file.resolve()))
    if target.transition is not None:
        raise ScenarioError(_display(where), "transition.to", f"{name!r} has a transition of its own")
    if target.municipality.children != scenario.municipality.children:
        raise ScenarioError(_display(where), "transition.to", f"{name!r} is for another municipality size")
    if target.staffing.caseworkers < scenario.staffing.caseworkers:
        raise ScenarioError(
            _display(where), "transition.to", f"{name!r} has fewer caseworkers: only hiring is modelled, not leaving"
        )
    transition = transition.model_copy(update={"target": target})
    return scenario.model_copy(update={"transition": transition})


def shipped_scenarios_dir() -> Path:
    """The folder of scenarios shipped with the package: ``scenarios/`` beside the package
    in a source tree or editable install, ``sim/scenarios`` in an installed wheel."""
    source_tree = Path(__file__).resolve().parents[2] / "scenarios"  # sim/params/loading.py -> the repository
    if source_tree.is_dir():
        return source_tree
    from importlib.resources import files

    return Path(str(files("sim.scenarios")))


def resolve_scenario_path(path: str | Path) -> Path:
    """A scenario file by path, or by the name of a shipped scenario."""
    p = Path(path)
    if p.exists() or p.suffix == ".toml" or len(p.parts) > 1:
        return p
    shipped = shipped_scenarios_dir() / f"{p.name}.toml"
    return shipped if shipped.exists() else p
