"""``welfare-sim report FOLDER``: report.html (comparison, figures, parameters side by side,
manifest) for a folder written by run, compare or batch."""

from __future__ import annotations

from sim.cli.common import UsageError


def register(sub) -> None:
    p = sub.add_parser("report", help="write report.html (tables, figures, parameters) for a results folder")
    p.add_argument("folder", help="a folder written by run, compare or batch")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from sim.present.report import report_summary, write_report
    from sim.storage.rundata import RunDataError

    try:
        path = write_report(args.folder)
    except RunDataError as exc:
        raise UsageError(str(exc)) from None
    print(report_summary(path))
    return 0
