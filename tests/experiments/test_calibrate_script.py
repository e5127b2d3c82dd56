"""scripts/calibrate.py's Danish staffing: scaled to about 48 cases each, or held with
``--danish-caseworkers`` (the high-load scenario then still gets about 60 cases each)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "calibrate.py"


@pytest.fixture(scope="module")
def calibrate():
    spec = importlib.util.spec_from_file_location("calibrate_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibrate_script"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["calibrate_script"]


def problem(calibrate, cases: float, held: int | None):
    """A Problem without scenarios or workers: a run with ``n`` caseworkers shares ``cases``
    open cases among them."""
    p = object.__new__(calibrate.Problem)
    p.staff = {calibrate.BASELINE: 20, calibrate.SWEDISH: 40, calibrate.HIGH_LOAD: 15}
    p.danish_caseworkers = held
    p.scenario = lambda name, x, staff=None, warmup=None: staff
    p.run = lambda staff, replications=None: pd.DataFrame({"mean_caseload_cases": [cases / staff] * 2})
    return p


def test_the_baseline_is_scaled_to_about_48_cases_unless_held(calibrate):
    x = np.zeros(len(calibrate.NAMES))
    scaled = problem(calibrate, 700.0, None).danish_staff(x)
    assert scaled[calibrate.BASELINE] == 15  # 46.7 cases each, nearer 48 than 16's 43.8
    held = problem(calibrate, 700.0, 16).danish_staff(x)
    assert held[calibrate.BASELINE] == 16
    assert held[calibrate.HIGH_LOAD] == 12  # 700 cases at about 60 each, whatever the baseline's staff
    assert held[calibrate.SWEDISH] == 40  # left to the Swedish search


def test_a_held_staffing_below_one_is_refused(calibrate, capsys):
    with pytest.raises(SystemExit) as stop:
        calibrate.main(["--danish-caseworkers", "0"])
    assert stop.value.code == 2
    assert "--danish-caseworkers: at least 1" in capsys.readouterr().err
