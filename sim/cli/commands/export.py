"""``welfare-sim export RUN_DIR``: a results folder's event log for process mining (XES or CSV)."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import UsageError, library_errors
from sim.storage.export import CASE, DEFAULT_START, FORMATS, default_path, event_log, write_log


def register(sub):
    p = sub.add_parser(
        "export",
        help="write a results folder's event log for process mining (XES or CSV)",
        description="Write the event log of a run or batch folder for process-mining tools (pm4py, ProM, Disco, "
        "Celonis): one event per row with case id, activity, timestamp and resource. A case is one child's case "
        "in one scenario and replication. Changes of the child's latent need are left out unless --include-need.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by run, compare or batch")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="xes or csv (default: from the --out file's suffix, else xes)",
    )
    p.add_argument("--scenario", metavar="NAME", help="only this scenario (default: all)")
    p.add_argument("--replication", type=int, metavar="R", help="only this replication (default: all)")
    p.add_argument(
        "--include-need",
        action="store_true",
        help="include need_up/need_down and crisis/crisis_over (changes of the latent need)",
    )
    p.add_argument(
        "--start",
        default=DEFAULT_START,
        metavar="DATE",
        help=f"the date measurement began, for the timestamps (UTC; default {DEFAULT_START})",
    )
    p.add_argument("--out", metavar="FILE", help="output file (default: RUN_DIR/eventlog[-NAME][-rR].xes or .csv)")
    p.set_defaults(func=cmd_export)
    return p


def cmd_export(args) -> int:
    """Write the event log of ``args.run_dir``; bad input raises :class:`UsageError`."""
    from sim.storage.rundata import RunDataError, load_run

    fmt = args.format
    if fmt is None:
        suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
        fmt = suffix if suffix in FORMATS else "xes"
    with library_errors(scenario="--scenario", replication="--replication", format="--format"):
        try:
            data = load_run(args.run_dir)
            log = event_log(data, args.scenario, args.replication, args.start, args.include_need)
        except RunDataError as exc:
            raise UsageError(str(exc)) from None
        path = Path(args.out) if args.out else default_path(data.folder, fmt, args.scenario, args.replication)
        write_log(log, path, fmt)
    cases = log[CASE].nunique()
    scenarios = log["scenario"].nunique()
    runs = log[["scenario", "replication"]].drop_duplicates().shape[0]
    print(
        f"{cases:,} cases, {len(log):,} events ({runs} replication(s) of {scenarios} scenario(s)"
        f"{', with need changes' if args.include_need else ''}) written to {path}"
    )
    return 0
