"""The numbers of the scenario schema, found by walking ``Scenario.model_fields`` (never a
hand-written list: the schema changes, these tests follow it), and a small TOML writer for
scenario files made from them, and tiny scenario files for quick runs. Used by the
hostile-input and fault tests."""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.params import Scenario, load_scenario

# A small municipality (1,000 children, 20 caseworkers), 0.3 simulated years after 0.1 of warm-up.
TINY = {"run": {"years": 0.3, "warmup_years": 0.1}, "municipality": {"children": 1000}, "staffing": {"caseworkers": 20}}


@dataclass(frozen=True)
class Number:
    """A numeric parameter of the schema: its dotted path, type and range; ``index`` is set
    for one element of a list of numbers (``length`` the list's length)."""

    path: str
    kind: type  # int or float
    low: float | None
    low_open: bool
    high: float | None
    high_open: bool
    description: str
    index: int | None = None
    length: int | None = None

    @property
    def label(self) -> str:
        return self.path if self.index is None else f"{self.path}.{self.index}"

    def inside(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True


def _bounds(items) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in items:
        if isinstance(item, FieldInfo):
            found.update(_bounds(item.metadata))
            continue
        for key in ("ge", "gt", "le", "lt"):
            value = getattr(item, key, None)
            if value is not None:
                found[key] = value
    return found


def _unwrap(annotation) -> tuple[set, dict[str, float], object | None]:
    """(plain types, bounds, element annotation of a list) of an annotation."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        types_, bounds, element = _unwrap(base)
        return types_, {**bounds, **_bounds(meta)}, element
    if origin in (typing.Union, types.UnionType):
        found: set = set()
        bounds: dict[str, float] = {}
        element = None
        for arg in typing.get_args(annotation):
            t, b, e = _unwrap(arg)
            found |= t
            bounds.update(b)
            element = element or e
        return found, bounds, element
    if origin is list:
        return {list}, {}, typing.get_args(annotation)[0]
    return {annotation}, {}, None


def _number(path: str, kind: type, bounds: dict[str, float], description: str, **extra) -> Number:
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    return Number(path, kind, low, "gt" in bounds, high, "lt" in bounds, description, **extra)


def _kind(found: set) -> type | None:
    found = found - {type(None)}
    if found == {int}:
        return int
    if found and found <= {int, float}:
        return float
    return None


def numbers(scenario: str = "danish_baseline") -> list[Number]:
    """Every numeric parameter (and every element of a list of numbers) that the shipped
    ``scenario`` sets, with the range its field declares."""
    out: list[Number] = []

    def walk(model: type[BaseModel], data: dict, prefix: str) -> None:
        for name, info in model.model_fields.items():
            if name in ("source", "target") or name not in data:
                continue
            found, bounds, element = _unwrap(info.annotation)
            bounds = {**bounds, **_bounds(info.metadata)}
            value = data[name]
            path = f"{prefix}{name}"
            sections = [t for t in found if isinstance(t, type) and issubclass(t, BaseModel)]
            if sections:
                if isinstance(value, dict):
                    walk(sections[0], value, path + ".")
                continue
            if list in found and element is not None:
                e_found, e_bounds, _ = _unwrap(element)
                kind = _kind(e_found)
                if kind is not None and isinstance(value, list):
                    for i in range(len(value)):
                        out.append(_number(path, kind, e_bounds, info.description or "", index=i, length=len(value)))
                continue
            kind = _kind(found)
            if kind is not None and bool not in found:
                out.append(_number(path, kind, bounds, info.description or ""))

    walk(Scenario, load_scenario(scenario).model_dump(), "")
    return out


def sections() -> list[str]:
    """The dotted paths of the schema's sections (tables)."""
    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            found, _, _ = _unwrap(info.annotation)
            models = [t for t in found if isinstance(t, type) and issubclass(t, BaseModel) and t is not Scenario]
            if models and name != "target":
                out.append(prefix + name)
                walk(models[0], prefix + name + ".")

    walk(Scenario, "")
    return out


# ----------------------------------------------------------------------------- writing files


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def set_dotted(data: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = value


def write_overrides(path: Path, overrides: dict, base: str = "danish_baseline") -> Path:
    """A scenario file beside nothing but itself: ``base`` (a shipped scenario) and the
    nested ``overrides`` (tables of values)."""
    lines = [f"base = {toml_value(base)}"]
    tables: list[tuple[str, dict]] = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {toml_value(value)}")

    def emit(prefix: str, table: dict) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in scalars.items())
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{k}", v)

    for key, table in tables:
        emit(key, table)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def baseline_value(number: Number):
    """The shipped baseline's value of ``number``."""
    node = load_scenario("danish_baseline").model_dump()
    for key in number.path.split("."):
        node = node[key]
    return node if number.index is None else node[number.index]


def baseline_list(number: Number) -> list:
    node = load_scenario("danish_baseline").model_dump()
    for key in number.path.split("."):
        node = node[key]
    return list(node)


def tiny(folder: Path, name: str, base: str = "danish_baseline", **more) -> Path:
    """``folder/name.toml``: the shipped ``base`` made TINY, named ``name``; ``more`` sets
    further values by dotted path."""
    data = json.loads(json.dumps(TINY))
    data["name"] = name
    for path, value in more.items():
        set_dotted(data, path, value)
    return write_overrides(folder / f"{name}.toml", data, base=base)
