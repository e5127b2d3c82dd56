"""Fixtures shared by several test files.

Plain helpers that tests import stay in modules of their own (``cli_tools``,
``schema_tools``): a conftest is not meant to be imported.
"""

from __future__ import annotations

import pytest

from sim import load_scenario


@pytest.fixture(scope="module")
def baseline():
    """The shipped Danish baseline."""
    return load_scenario("danish_baseline")


@pytest.fixture(scope="module")
def swedish():
    """The shipped Swedish model."""
    return load_scenario("swedish_model")


@pytest.fixture
def fail_on_call(monkeypatch):
    """Make a function fail from its n-th call on, for the test's duration.

    ``fail_on_call(owner, name, n, error)`` replaces ``owner.name`` (a module's function or a
    class's method) by a wrapper that counts its calls and raises ``error(*args, **kwargs)``,
    made from the call's own arguments, on the n-th call, and with ``and_later=True`` on
    every call after it too; the other calls go through to the original, which is returned
    (to put back where the test goes on without the fault).
    """

    def patch(owner, name: str, n: int, error, *, and_later: bool = False):
        original = getattr(owner, name)
        calls = 0

        def failing(*args, **kwargs):
            nonlocal calls
            calls += 1
            if calls == n or (and_later and calls > n):
                raise error(*args, **kwargs)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, failing)
        return original

    return patch
