"""Running the command line in-process for the tests: one helper for the interface tests and
the hostile-input tests."""

from __future__ import annotations

import pytest

from sim.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``main`` in-process: exit status, stdout, stderr. Anything escaping ``main`` (an
    exception, ``SystemExit`` or ``KeyboardInterrupt``) is a failure: the user would see a
    traceback."""
    try:
        code = main([str(a) for a in argv])
    except BaseException as exc:  # nothing may escape main
        pytest.fail(f"main{tuple(str(a) for a in argv)} raised {type(exc).__name__}: {exc}")
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single line of an error report on stderr (ending in a newline, no traceback)."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    assert err.endswith("\n")
    return lines[0]
