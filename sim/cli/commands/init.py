"""``welfare-sim init NAME --children N --caseworkers K``: scenario files for one's own
municipality (:mod:`sim.params.municipality`), loaded before they are written."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

from sim.cli.common import UsageError, check_count

SETTLE_YEARS = 20.0
"""Years of a --settle run: the known children take about 16 years to fill (docs/STRESS-DES.md §4.1)."""
SETTLE_CHILD_RUNS = 640_000
"""--settle's default runs: enough for ``SETTLE_CHILD_RUNS`` children over all runs. One run's
children in care vary by about 14 % at 5,000 children (7 % at 20,000), so this many leave the
settled stock's children in care within about 2.5 % (95 %) of the municipality's own steady
state: worth it where staff per child differs from the baseline's by more than that moves the
state. The shipped stocks average 256 runs of 20,000 children (within 1 %), so a municipality
staffed like the baseline starts closer to its steady state from the shipped stock, scaled,
than from a default settle (``settled ...`` prints the stock's own interval)."""

MAX_YEARS = 100.0


def register(sub) -> None:
    p = sub.add_parser(
        "init",
        help="write scenario files for your own municipality (its children and staff on a shipped scenario)",
        description="Write NAME.toml: the shipped Danish baseline (or Swedish model) with your municipality's "
        "children and staff; its rates are per 1,000 children, so the rest scales by itself. With --transition, "
        "also NAME_swedish.toml (the same municipality in the Swedish practice) and NAME_transition.toml (the "
        "switch to it), for welfare-sim business-case NAME NAME_transition.",
    )
    p.add_argument("name", metavar="NAME", help="the scenario's name and file name (letters, digits, _ and -)")
    p.add_argument("--children", type=int, required=True, help="children aged 0-17 in the municipality (count)")
    p.add_argument("--caseworkers", type=int, required=True, help="district caseworkers today (count)")
    p.add_argument(
        "--desk-staff",
        type=int,
        default=None,
        help="intake desk staff, Danish practice (count; default: the shipped baseline's 3 per 20,000 children, "
        "scaled)",
    )
    p.add_argument(
        "--practice",
        choices=["danish", "swedish"],
        default="danish",
        help="the practice today: the shipped scenario the file is based on (default danish)",
    )
    p.add_argument(
        "--transition",
        action="store_true",
        help="also write NAME_swedish.toml and NAME_transition.toml: the switch to the Swedish practice",
    )
    p.add_argument(
        "--swedish-caseworkers",
        type=int,
        default=None,
        help="with --transition: caseworkers in the Swedish practice (count; default: the shipped model's 44 "
        "per 20,000 children, scaled)",
    )
    p.add_argument(
        "--at-years",
        type=float,
        default=None,
        help="with --transition: years of today's practice before the switch (default: the shipped transition's 2)",
    )
    p.add_argument(
        "--hiring-ramp-years",
        type=float,
        default=None,
        help="with --transition: years over which the extra caseworkers are hired (default: the shipped 1)",
    )
    p.add_argument(
        "--settle",
        action="store_true",
        help="start the files from the municipality's own steady state: run it from the shipped stock and write "
        "the state it ends in as its [initial_stock] (for staff per child unlike the baseline's; minutes, not seconds)",
    )
    p.add_argument(
        "--settle-years",
        type=float,
        default=SETTLE_YEARS,
        metavar="Y",
        help=f"with --settle: years of each run (default {SETTLE_YEARS:g})",
    )
    p.add_argument(
        "--settle-replications",
        type=int,
        default=None,
        metavar="N",
        help=f"with --settle: runs whose end states are averaged (default: {SETTLE_CHILD_RUNS:,} children in all, "
        "at least 4 and at most 256 runs)",
    )
    p.add_argument(
        "--workers", type=int, default=None, metavar="K", help="with --settle: worker processes (default: one per core)"
    )
    p.add_argument("--dir", default=".", help="folder to write the files in (default: the current folder)")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same names")
    p.set_defaults(func=cmd_init)


def _check_years(value: float | None, option: str) -> None:
    if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_YEARS):
        raise UsageError(f"{option}: must be from 0 to {MAX_YEARS:g} years, got {value:g}")


def check_init_args(args) -> None:
    """The name, the options' ranges and their combinations, before anything is made."""
    from sim.params import ScenarioError
    from sim.params.municipality import LIMITS, check_name

    try:
        check_name(args.name)
    except ScenarioError as exc:
        raise UsageError(f"NAME: {exc.message}") from None
    check_count(args.children, "--children", *LIMITS["children"])
    check_count(args.caseworkers, "--caseworkers", *LIMITS["caseworkers"])
    check_count(args.desk_staff, "--desk-staff", *LIMITS["desk_staff"])
    check_count(args.swedish_caseworkers, "--swedish-caseworkers", *LIMITS["caseworkers"])
    _check_years(args.at_years, "--at-years")
    if not args.settle:
        for option, value, default in (
            ("--settle-years", args.settle_years, SETTLE_YEARS),
            ("--settle-replications", args.settle_replications, None),
            ("--workers", args.workers, None),
        ):
            if value != default:
                raise UsageError(f"{option}: only with --settle")
    _check_years(args.settle_years, "--settle-years")
    if args.settle_years < 1:
        raise UsageError(f"--settle-years: must be at least 1 year, got {args.settle_years:g}")
    check_count(args.settle_replications, "--settle-replications", 1, 1000)
    check_count(args.workers, "--workers", 1, 256)
    _check_years(args.hiring_ramp_years, "--hiring-ramp-years")
    if not args.transition:
        for option, value in (
            ("--swedish-caseworkers", args.swedish_caseworkers),
            ("--at-years", args.at_years),
            ("--hiring-ramp-years", args.hiring_ramp_years),
        ):
            if value is not None:
                raise UsageError(f"{option}: only with --transition")
    elif args.practice != "danish":
        raise UsageError("--transition: the switch is from the Danish practice to the Swedish (leave out --practice)")
    if args.practice == "swedish" and args.desk_staff:
        raise UsageError("--desk-staff: the Swedish practice has no intake desk")


def cmd_init(args) -> int:
    from sim.params.municipality import Municipality, TransitionPlan, municipality_files
    from sim.present.text import desk_warning

    check_init_args(args)
    town = Municipality(args.name, args.children, args.caseworkers, args.desk_staff, args.practice)
    plan = TransitionPlan(args.swedish_caseworkers, args.at_years, args.hiring_ramp_years) if args.transition else None
    files = municipality_files(town, plan)
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--dir: {folder} is a file, not a folder")
    for name in files:
        if (folder / name).exists() and not args.overwrite:
            raise UsageError(f"{folder / name}: exists; choose another NAME or --dir, or give --overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    # Written into a temporary folder beside the destination and loaded there (a file names
    # its base and its transition target beside itself); moved into place only if all load.
    tmp = Path(tempfile.mkdtemp(prefix=".welfare-sim-init-", dir=folder))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        loaded = _load_all(tmp, folder, files)
        if args.settle:
            for name, scenario in loaded.items():
                if scenario.transition is None:  # a transition starts from its municipality's file
                    (tmp / name).write_text(files[name] + _settled(scenario, args), encoding="utf-8")
            loaded = _load_all(tmp, folder, files)
        for name in files:
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, scenario in loaded.items():
        print(f"wrote {folder / name}: {scenario.title}")
        print(f"  {_caseload_line(scenario)}")
        if warning := desk_warning(scenario):
            print(f"  {warning}")
    first, *others = (folder / name for name in files)
    if args.transition:
        swedish, transition = others
        print(
            f"next: welfare-sim business-case {first} {transition} --years 8   "
            f"(and welfare-sim staff {swedish}: the fewest caseworkers the Swedish practice runs with)"
        )
    else:
        print(f"next: welfare-sim run {first}   (or welfare-sim warmup {first}: check the warm-up)")
    return 0


def _load_all(tmp: Path, folder: Path, files: dict[str, str]) -> dict:
    """Every file written into ``tmp``, loaded (a problem names the file in ``folder``)."""
    from sim.params import ScenarioError, load_scenario

    loaded = {}
    for name in files:
        try:
            loaded[name] = load_scenario(tmp / name)
        except ScenarioError as exc:
            where = folder / Path(exc.file).name if Path(exc.file).parent == tmp else exc.file
            raise ScenarioError(where, exc.field, exc.message) from None
    return loaded


def settle_replications(children: int, args) -> int:
    """--settle-replications, or enough runs for :data:`SETTLE_CHILD_RUNS` children in all."""
    if args.settle_replications is not None:
        return int(args.settle_replications)
    return min(max(math.ceil(SETTLE_CHILD_RUNS / children), 4), 256)


def _settled(scenario, args) -> str:
    """The ``[initial_stock]`` table of ``scenario``'s own steady state: the mean end state of
    runs of it from its (the shipped) stock, without warm-up."""
    import datetime as dt
    import sys
    import time

    from sim.constants import PLACEMENT_STEPS
    from sim.engine.workload import check_workload
    from sim.experiments.calibration import END_STATE, replicate, steady_stock
    from sim.experiments.jobs import local_backend
    from sim.params.municipality import stock_table_text
    from sim.results.stats import mean_ci

    runs = scenario.with_overrides(**{"run.warmup_years": 0.0})
    years, replications = args.settle_years, settle_replications(scenario.municipality.children, args)
    check_workload([runs], years, replications)
    print(f"settling {scenario.name}: {replications} runs of {years:g} years ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    backend = local_backend(args.workers, replications)
    try:
        _, results = replicate(backend, runs, replications, 1, years, END_STATE)
    finally:
        backend.close()
    stock = steady_stock([r.tables for r in results], scenario.municipality.children)
    per_1000 = 1000.0 / scenario.municipality.children
    in_care = [int(r.tables["stock"]["step"].isin(PLACEMENT_STEPS).sum()) * per_1000 for r in results]
    mean, low, high, _ = mean_ci(in_care)
    print(
        f"settled {scenario.name}: children in care {mean:.2f} per 1,000 children [95 % CI {low:.2f}, {high:.2f}] "
        "(the stock's own uncertainty; more --settle-replications narrow it)",
        file=sys.stderr,
        flush=True,
    )
    note = (
        f"calibrated: the state {scenario.name}'s own runs end in: the mean end state of {replications} runs of "
        f"{years:g} years from the shipped stock, per 1,000 children (welfare-sim init --settle, "
        f"{dt.date.today().isoformat()})"
    )
    print(f"settled {scenario.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return stock_table_text(stock, note)


def _caseload_line(scenario) -> str:
    stock = sum(map(sum, scenario.initial_stock.open_cases_per_1000_children)) * scenario.municipality.children / 1000
    staff = scenario.staffing.caseworkers
    return (
        f"{scenario.municipality.children:,} children; about {stock:,.0f} open cases at the start, "
        f"{stock / staff:.0f} per caseworker ({staff:,} caseworkers)"
    )
