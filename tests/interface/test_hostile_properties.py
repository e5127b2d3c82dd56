"""A property of every scenario file (issue 11), tested with Hypothesis: a file made from
the schema, with values inside and outside their ranges, of the wrong type, sections
replaced by numbers and unknown keys, either validates and runs a short replication without
error, or is refused with one line on standard error and exit status 2, writing nothing.
Never a traceback.

The numbers are found in the schema (``schema_tools.numbers``), so new fields are covered
when they come. Every file starts from a tiny municipality (1,000 children, 0.4 simulated
years), and the work limit is lowered for the test, so that a value that would make a long
run is refused by the work estimate (one of the allowed outcomes) instead of run: each
example takes about a second. Hypothesis runs derandomized, with no deadline: the same
examples on every machine, however slow.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_tools import TINY, Number, baseline_list, numbers, sections, set_dotted, write_overrides

import sim.engine.workload
from sim.cli import main

pytestmark = pytest.mark.slow  # 60 examples

NUMBERS = numbers()
SECTIONS = [s for s in sections() if "." not in s and s != "transition"]
WORK_LIMIT = 300_000  # estimated events of one replication in this test (the real limit is far higher)


def _inside(number: Number):
    low, high = number.low, number.high
    if number.kind is int:
        return st.integers(int(math.ceil(low)) + number.low_open, int(high) - number.high_open)
    return st.floats(low, high, exclude_min=number.low_open, exclude_max=number.high_open, allow_nan=False)


def _outside(number: Number):
    low, high = number.low, number.high
    far = [high + max(1, abs(high)), low - max(1, abs(low)), 1e300, -1e300, 2**63, -(2**63)]
    values = [int(v) if number.kind is int and abs(v) < 1e30 else v for v in far]
    values += [math.inf, -math.inf, math.nan]
    if number.high_open:
        values.append(high)
    if number.low_open:
        values.append(low)
    return st.sampled_from(values)


def _wrong_type(number: Number):
    wrong = [True, False, "7", [1], "", {"a": 1}]
    if number.kind is int:
        wrong += [1.5, float(number.low or 0) + 0.5]
    return st.sampled_from(wrong)


def value_for(number: Number):
    edges = [v for v, open_ in ((number.low, number.low_open), (number.high, number.high_open)) if not open_]
    return st.one_of(
        _inside(number),
        _inside(number),
        st.sampled_from(edges or [number.low]),
        _outside(number),
        _wrong_type(number),
    )


@st.composite
def number_change(draw):
    number = draw(st.sampled_from(NUMBERS))
    value = draw(value_for(number))
    if number.index is not None:
        values = baseline_list(number)
        values[number.index] = value
        return number.path, values
    return number.path, value


@st.composite
def other_change(draw):
    kind = draw(st.sampled_from(["name", "section", "unknown", "list-length"]))
    if kind == "name":
        text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
        return "name", draw(st.one_of(text, st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)))
    if kind == "section":
        return draw(st.sampled_from(SECTIONS)), draw(st.sampled_from([1, 1.5, True, "x", [1, 2]]))
    if kind == "unknown":
        return f"{draw(st.sampled_from(SECTIONS))}.no_such_key", 1
    number = draw(st.sampled_from([n for n in NUMBERS if n.index is not None]))
    length = draw(st.sampled_from([0, 1, number.length - 1, number.length + 1, 1000]))
    return number.path, [baseline_list(number)[0]] * length


changes = st.lists(st.one_of(number_change(), number_change(), other_change()), min_size=1, max_size=3)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(changes=changes)
def test_a_scenario_file_runs_or_is_refused_in_one_line(tmp_path, capsys, changes):
    data = json.loads(json.dumps(TINY))
    data["name"] = "property"
    for path, value in changes:
        set_dotted(data, path, value)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    scenario = write_overrides(folder / "property.toml", data)
    out = folder / "result"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim.engine.workload, "MAX_EVENTS_PER_REPLICATION", WORK_LIMIT)
        try:
            code = main(["run", str(scenario), "--out", str(out)])
        except BaseException as exc:  # a traceback for the user
            pytest.fail(f"{changes}: main raised {type(exc).__name__}: {exc}")
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr
    if code == 0:
        assert (out / "summary.json").exists() and stderr == "", (changes, stderr)
    else:
        assert code == 2, (changes, code, stderr)
        assert len(stderr.splitlines()) == 1, (changes, stderr)
        assert not out.exists()
    assert not [p for p in folder.iterdir() if ".partial-" in p.name]
