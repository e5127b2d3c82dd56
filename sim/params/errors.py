"""The one-line errors of scenario files: :class:`ScenarioError`, whose text names the file
and the dotted field, e.g. ``scenarios/x.toml: staffing.caseworkers: must be > 0, got -3``,
and the wording of pydantic's first validation error as such a line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class ScenarioError(ValueError):
    """A scenario file could not be read or is invalid; ``str()`` is a one-line message."""

    def __init__(self, file: str | Path, field: str | None, message: str):
        self.file = str(file)
        self.field = field
        self.message = message
        super().__init__(f"{self.file}: {field}: {message}" if field else f"{self.file}: {message}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value) if not isinstance(value, int) else _int_text(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_text(value: int) -> str:
    if value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    return str(value)


def _describe(value: Any) -> str:
    return _short(value)


_UNION_MEMBER = re.compile(r"(constrained-)?(int|float|str|bool)|literal\[.*\]")
"""The part of an error's location that names the member of a union, not a field."""


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not _UNION_MEMBER.fullmatch(str(p))]
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "greater_than":
        return ".".join(loc), f"must be > {ctx['gt']}, got {_describe(value)}"
    if kind == "greater_than_equal":
        return ".".join(loc), f"must be >= {ctx['ge']}, got {_describe(value)}"
    if kind == "less_than_equal":
        return ".".join(loc), f"must be <= {ctx['le']}, got {_describe(value)}"
    if kind == "less_than":
        return ".".join(loc), f"must be < {ctx['lt']}, got {_describe(value)}"
    if kind == "extra_forbidden":
        return ".".join(loc), "unknown key"
    if kind == "missing":
        return ".".join(loc), "required but missing"
    if kind == "value_error":
        # Our own validators word their message as "field: problem" relative to the section.
        message = str(ctx.get("error", err["msg"]))
        head, sep, rest = message.partition(": ")
        if sep and " " not in head:
            return ".".join([*loc, head]), rest
        return ".".join(loc) or "scenario", message
    expected = err["msg"].removeprefix("Input should be ").rstrip(".")
    return ".".join(loc), f"must be {expected}, got {_describe(value)}"


def _display(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it, as the user wrote it
    (a symbolic link is not followed), else as given."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(os.getcwd())))
    except (ValueError, OSError):
        pass
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
