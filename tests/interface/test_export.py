"""The event-log export (issue #4): a run's and a batch's events, written as XES and CSV,
read back into pm4py with exactly the cases and events of the events table (less the
changes of the latent need), in time order, with markup escaped; and the ``export``
command, driven through a parser of its own (it does not rely on sim/cli.py wiring it)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pandas as pd
import pm4py
import pytest

import sim.storage.export
from sim.cli import main
from sim.cli.commands import export as export_command
from sim.cli.common import UsageError
from sim.storage.export import (
    ACTIVITY,
    CASE,
    INTAKE_DESK,
    RESOURCE,
    TIMESTAMP,
    ExportError,
    event_log,
    write_csv,
    write_xes,
)
from sim.storage.output import OutputError, atomic_write_with
from sim.storage.rundata import load_run

pytestmark = pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning")  # pm4py's advert

NEED = ("need_up", "need_down", "crisis", "crisis_over")
"""Changes of the latent need: an acute crisis raises it and its passing lowers it (left out unless asked for)."""
START = pd.Timestamp("2020-01-01", tz="UTC")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    assert main(["run", "swedish_model", "--years", "0.5", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    # The batch API that `compare` calls (not `main(["compare", ...])`, which also builds a
    # report that is not this test's business): the Danish baseline has the intake desk.
    from sim.experiments.batch import BatchSpec, run_batch, scenario_entry

    out = tmp_path_factory.mktemp("export") / "batch"
    spec = BatchSpec(
        scenarios=[scenario_entry("danish_baseline"), scenario_entry("swedish_model")],
        replications=2,
        years=0.5,
        workers=1,
    )
    run_batch(spec, out)
    return out


@pytest.fixture(scope="module")
def batch_xes(batch_dir, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The batch's event log, and what pm4py reads back from it as XES."""
    log = event_log(load_run(batch_dir))
    path = tmp_path_factory.mktemp("xes") / "log.xes"
    write_xes(log, path)
    return log, pm4py.read_xes(str(path))


def raw_events(folder: Path, scenario: str | None = None, replication: int | None = None, need: bool = False):
    """The events table itself, one frame, filtered as the export should filter it."""
    tables = load_run(folder).table("events")
    frames = [t.assign(scenario=name) for name, t in tables.items() if scenario in (None, name)]
    events = pd.concat(frames, ignore_index=True)
    if replication is not None:
        events = events[events["replication"] == replication]
    if not need:
        events = events[~events["event"].isin(NEED)]
    return events


def n_cases(events: pd.DataFrame) -> int:
    return len(events[["scenario", "replication", "case"]].drop_duplicates())


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


# ----------------------------------------------------------------------------- the log


@pytest.mark.slow
def test_event_log_has_the_standard_columns_and_unique_case_ids(batch_dir):
    log = event_log(load_run(batch_dir))
    raw = raw_events(batch_dir)
    assert list(log.columns[:4]) == [CASE, ACTIVITY, TIMESTAMP, RESOURCE]
    assert {"scenario", "replication", "child", "step"} <= set(log.columns)
    assert len(log) == len(raw)
    assert log[CASE].nunique() == n_cases(raw)
    assert set(log[CASE]) == {f"{s}/{r}/{c}" for s, r, c in zip(raw["scenario"], raw["replication"], raw["case"])}
    assert (log[CASE].str.rsplit("/", n=2).str[0] == log["scenario"]).all()
    assert str(log[TIMESTAMP].dt.tz) == "UTC"
    assert log[ACTIVITY].notna().all() and (log[ACTIVITY].str.len() > 0).all()
    # sorted by case, then time; each case in one block
    blocks = (log[CASE] != log[CASE].shift()).cumsum()
    assert blocks.max() == log[CASE].nunique()
    assert log.groupby(CASE)[TIMESTAMP].apply(lambda s: s.is_monotonic_increasing).all()
    # every step the ladder was started on is named, and need changes are left out
    assert not log[ACTIVITY].str.contains("need", case=False).any()
    assert log[ACTIVITY].str.startswith("Start ").sum() == (raw["event"] == "step_start").sum()


@pytest.mark.slow
def test_need_changes_only_on_request(run_dir):
    data = load_run(run_dir)
    with_need = event_log(data, include_need=True)
    assert len(with_need) == len(raw_events(run_dir, need=True))
    n_need = raw_events(run_dir, need=True)["event"].isin(NEED).sum()
    assert n_need > 0
    assert len(with_need) - len(event_log(data)) == n_need


@pytest.mark.slow
def test_a_follow_up_comes_before_what_it_decides(batch_dir):
    """A case closed at a follow-up: the follow-up, then the closing, at the same moment."""
    log = event_log(load_run(batch_dir))
    same_time = log[CASE].eq(log[CASE].shift()) & log[TIMESTAMP].eq(log[TIMESTAMP].shift())
    pairs = Counter(zip(log[ACTIVITY].shift()[same_time], log[ACTIVITY][same_time]))
    assert pairs[("Follow-up", "Case closed")] > 0
    assert pairs[("Case closed", "Follow-up")] == 0


@pytest.mark.slow
def test_start_date_and_selection(batch_dir):
    data = load_run(batch_dir)
    one = event_log(data, scenario="swedish_model", replication=1)
    assert set(one["scenario"]) == {"swedish_model"} and set(one["replication"]) == {1}
    assert len(one) == len(raw_events(batch_dir, "swedish_model", 1))
    later = event_log(data, scenario="swedish_model", replication=1, start="2031-06-15T12:00:00+02:00")
    shift = pd.Timestamp("2031-06-15T10:00:00", tz="UTC") - START
    assert ((later[TIMESTAMP] - one[TIMESTAMP]) == shift).all()
    with pytest.raises(ExportError, match="^scenario: "):
        event_log(data, scenario="norwegian_model")
    with pytest.raises(ExportError, match="^replication: "):
        event_log(data, replication=2)
    with pytest.raises(ExportError, match="start"):
        event_log(data, start="the first of May")


@pytest.mark.slow
def test_resources_name_caseworkers_and_the_intake_desk(batch_xes, batch_dir):
    _, back = batch_xes
    raw = raw_events(batch_dir)
    assessments = back[back[ACTIVITY] == "Preliminary assessment"]
    desk = assessments["case:scenario"] == "danish_baseline"  # the scenario with an intake desk
    assert desk.any() and (~desk).any()
    assert (assessments.loc[desk, RESOURCE] == INTAKE_DESK).all()
    assert assessments.loc[~desk, RESOURCE].str.startswith("caseworker ").all()
    assert back.loc[back[ACTIVITY] == "Notification received", RESOURCE].isna().all()
    worker = int(raw.loc[raw["caseworker"] >= 0, "caseworker"].mode()[0])
    assert (back[RESOURCE] == f"caseworker {worker}").sum() == (raw["caseworker"] == worker).sum()


# ----------------------------------------------------------------------------- pm4py


@pytest.mark.slow
def test_xes_reads_back_into_pm4py_with_every_case_and_event(batch_xes, batch_dir):
    log, back = batch_xes
    raw = raw_events(batch_dir)
    assert len(back) == len(raw)
    assert back[CASE].nunique() == n_cases(raw)
    assert Counter(back[ACTIVITY]) == Counter(log[ACTIVITY])
    assert set(back["case:scenario"]) == {"danish_baseline", "swedish_model"}
    assert set(back["case:replication"]) == {0, 1}
    per_case = back.groupby(CASE)[["case:scenario", "case:replication", "case:child"]].nunique()
    assert (per_case == 1).all().all()


@pytest.mark.slow
def test_xes_timestamps_are_the_event_times_and_increase_within_each_trace(batch_xes, batch_dir):
    _, back = batch_xes
    assert back.groupby(CASE, sort=False)[TIMESTAMP].apply(lambda s: s.is_monotonic_increasing).all()
    expected = (START + pd.to_timedelta(raw_events(batch_dir)["time_days"], unit="D")).sort_values()
    got = pd.to_datetime(back[TIMESTAMP], utc=True).sort_values()
    gap = (got.to_numpy() - expected.to_numpy()).astype("timedelta64[us]")
    assert abs(gap).max() <= pd.Timedelta("0.5ms").to_timedelta64()


@pytest.mark.slow
def test_csv_reads_back_into_pm4py(run_dir, tmp_path):
    log = event_log(load_run(run_dir))
    path = tmp_path / "log.csv"
    write_csv(log, path)
    frame = pm4py.format_dataframe(pd.read_csv(path), case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIMESTAMP)
    raw = raw_events(run_dir)
    assert len(frame) == len(raw)
    assert frame[CASE].nunique() == n_cases(raw)
    assert frame.groupby(CASE, sort=False)[TIMESTAMP].apply(lambda s: s.is_monotonic_increasing).all()
    assert (frame[TIMESTAMP].sort_values().to_numpy() == log[TIMESTAMP].sort_values().to_numpy()).all()
    dfg, starts, ends = pm4py.discover_dfg(frame)
    assert dfg and starts and ends


@pytest.mark.slow
def test_pm4py_discovers_a_process_from_the_xes(batch_xes):
    log, back = batch_xes
    dfg, starts, ends = pm4py.discover_dfg(back)
    assert dfg
    assert {a for edge in dfg for a in edge} <= set(log[ACTIVITY])
    assert sum(starts.values()) == back[CASE].nunique() == sum(ends.values())
    assert dfg[("Notification received", "Preliminary assessment")] > 0
    assert dfg[("Follow-up", "Case closed")] > 0


@pytest.mark.slow
def test_special_characters_are_escaped(run_dir, tmp_path):
    folder = copy_of(run_dir, tmp_path)
    name = "a&b <c> \"d\" 'e' ü\ttab\nline\x01"
    facts = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    facts["scenario"] = name
    (folder / "run.json").write_text(json.dumps(facts), encoding="utf-8")
    log = event_log(load_run(folder))
    assert log[CASE].str.startswith(name + "/").all()
    path = tmp_path / "odd.xes"
    write_xes(log, path)
    ET.parse(path)  # well-formed XML
    back = pm4py.read_xes(str(path))
    shown = name.replace("\x01", "\ufffd")  # XML 1.0 cannot hold U+0001
    assert set(back["case:scenario"]) == {shown}
    assert back[CASE].str.startswith(shown + "/").all()
    assert len(back) == len(log) and back[CASE].nunique() == log[CASE].nunique()
    write_csv(log, tmp_path / "odd.csv")
    assert set(pd.read_csv(tmp_path / "odd.csv")["scenario"]) == {name}


@pytest.mark.slow
def test_the_export_does_not_need_pm4py(run_dir, tmp_path):
    code = (
        "import sys\n"
        "from sim.storage.rundata import load_run\n"
        "from sim.storage.export import event_log, write_xes, write_csv\n"
        f"log = event_log(load_run({str(run_dir)!r}))\n"
        f"write_xes(log, {str(tmp_path / 'a.xes')!r}); write_csv(log, {str(tmp_path / 'a.csv')!r})\n"
        "assert 'pm4py' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.xes").stat().st_size > 0 and (tmp_path / "a.csv").stat().st_size > 0


@pytest.mark.slow
def test_xes_is_the_same_however_it_is_chunked(run_dir, tmp_path, monkeypatch):
    log = event_log(load_run(run_dir))
    write_xes(log, tmp_path / "whole.xes")
    monkeypatch.setattr(sim.storage.export, "_TRACES_PER_CHUNK", 3)
    write_xes(log, tmp_path / "pieces.xes")
    assert (tmp_path / "whole.xes").read_bytes() == (tmp_path / "pieces.xes").read_bytes()
    write_xes(log.iloc[:0], tmp_path / "empty.xes")
    assert ET.parse(tmp_path / "empty.xes").getroot().find("{http://www.xes-standard.org/}trace") is None


def test_writing_is_atomic(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text("the old file", encoding="utf-8")

    def broken(handle):
        handle.write("<log>half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write_with(path, broken)
    assert path.read_text(encoding="utf-8") == "the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["log.xes"]
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_with(tmp_path / "file" / "log.xes", lambda handle: None)


# ----------------------------------------------------------------------------- the command


def export(capsys, *argv) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="welfare-sim")
    export_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["export", *map(str, argv)])
    code = args.func(args)
    return code, capsys.readouterr().out


def printed_counts(out: str) -> tuple[int, int, Path]:
    words = out.split()
    assert out.count("\n") == 1, out
    return (
        int(words[0].replace(",", "")),
        int(words[2].replace(",", "")),
        Path(out.rsplit(" written to ", 1)[1].strip()),
    )


@pytest.mark.slow
def test_export_command_writes_the_whole_batch_by_default(batch_dir, tmp_path, capsys):
    folder = copy_of(batch_dir, tmp_path)
    code, out = export(capsys, folder, "--format", "xes")
    assert code == 0
    cases, events, path = printed_counts(out)
    assert path == folder / "eventlog.xes"
    back = pm4py.read_xes(str(path))
    raw = raw_events(folder)
    assert (cases, events) == (n_cases(raw), len(raw)) == (back[CASE].nunique(), len(back))


@pytest.mark.slow
def test_export_command_selects_scenario_replication_and_need(batch_dir, tmp_path, capsys):
    folder = copy_of(batch_dir, tmp_path)
    code, out = export(capsys, folder, "--format", "csv", "--scenario", "swedish_model", "--replication", "1")
    assert code == 0
    cases, events, path = printed_counts(out)
    assert path == folder / "eventlog-swedish_model-r1.csv"
    raw = raw_events(folder, "swedish_model", 1)
    written = pd.read_csv(path)
    assert (cases, events) == (n_cases(raw), len(raw)) == (written[CASE].nunique(), len(written))
    (tmp_path / "x").mkdir()  # an export makes no folder (issue 11)
    code, out = export(capsys, folder, "--include-need", "--replication", "0", "--out", tmp_path / "x" / "n.csv")
    cases, events, path = printed_counts(out)
    assert path == tmp_path / "x" / "n.csv"  # the format follows the suffix
    raw = raw_events(folder, replication=0, need=True)
    written = pd.read_csv(path)
    assert (cases, events) == (n_cases(raw), len(raw)) == (written[CASE].nunique(), len(written))


@pytest.mark.slow
def test_export_command_on_a_single_run(run_dir, tmp_path, capsys):
    folder = copy_of(run_dir, tmp_path)
    code, out = export(capsys, folder)
    cases, events, path = printed_counts(out)
    assert code == 0 and path == folder / "eventlog.xes"  # xes by default
    raw = raw_events(folder)
    assert (cases, events) == (n_cases(raw), len(raw))
    root = ET.parse(path).getroot()
    ns = {"x": "http://www.xes-standard.org/"}
    assert len(root.findall("x:trace", ns)) == cases
    assert len(root.findall("x:trace/x:event", ns)) == events


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "norwegian_model"], "--scenario"),
        (["--replication", "3"], "--replication"),
        (["--start", "soon"], "start"),
    ],
)
def test_export_command_rejects_bad_selections(batch_dir, tmp_path, capsys, argv, message):
    folder = copy_of(batch_dir, tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(UsageError, match=message) as caught:
        export(capsys, folder, *argv)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


@pytest.mark.slow
def test_export_command_rejects_a_folder_without_results(run_dir, tmp_path, capsys):
    with pytest.raises(UsageError, match="not a results folder") as caught:
        export(capsys, tmp_path)
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    folder = copy_of(run_dir, tmp_path)
    (folder / "events.parquet").unlink()
    with pytest.raises(UsageError, match="no events table"):
        export(capsys, folder)


@pytest.mark.slow
def test_export_command_rejects_a_bad_format_and_output(run_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        export(capsys, run_dir, "--format", "pdf")
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        export(capsys, run_dir, "--out", tmp_path / "taken")
