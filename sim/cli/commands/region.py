"""``welfare-sim region FILE.csv``: many municipalities, each in its own scenario, and their
sum with 95 % intervals (:mod:`sim.experiments.region`)."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import (
    UsageError,
    add_backend_options,
    add_force_option,
    add_run_options,
    check_backend_options,
    check_count,
    check_seed,
    check_years,
    library_errors,
    timestamp,
)


def register(sub) -> None:
    p = sub.add_parser(
        "region",
        help="run a list of municipalities (CSV) and add them up: a region or the country",
        description="Run every municipality of FILE.csv (columns name, children, caseworkers and optionally "
        "practice = danish|swedish, desk_staff) as the shipped scenario of its practice with its own counts, "
        "replications times, and print each municipality and the sum with 95 % intervals (the municipalities "
        "of one replication are added, then the replications compared). Optional columns named as calibrate's "
        "observed figures (e.g. children_in_care_per_1000_children; empty: not known) are shown beside the "
        "model's values, never fitted. Writes a batch folder with region.csv (and observed.csv).",
    )
    p.add_argument("file", metavar="FILE.csv", help="the municipalities, one row each")
    add_run_options(p)
    p.add_argument(
        "--replications", type=int, default=10, metavar="N", help="replications of every municipality (default 10)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="worker processes (default: one per core; 1 = in-process)",
    )
    add_backend_options(p)
    p.add_argument("--tables", action="store_true", help="also write every replication's tables (and report.html)")
    p.add_argument("--out", metavar="DIR", help="batch folder (default: outputs/region-<file>-<timestamp>/)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted run in --out: run only what is missing")
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    add_force_option(p)
    p.set_defaults(func=cmd_region)


def cmd_region(args) -> int:
    from sim.cli.commands.compare import BATCH_OPTIONS
    from sim.engine.workload import MAX_REPLICATIONS
    from sim.experiments.batch import _read_manifest
    from sim.experiments.region import region_spec, run_region
    from sim.params.municipality import read_municipalities
    from sim.present.region import observed_text, per_1000_text, region_text
    from sim.storage.output import check_destination, check_unlocked

    check_seed(args.seed)
    check_years(args.years)
    check_count(args.replications, "--replications", 1, MAX_REPLICATIONS)
    check_backend_options(args)
    if args.resume and not args.out:
        raise UsageError("--resume: name the folder to finish with --out DIR")
    towns = read_municipalities(args.file)
    spec = region_spec(
        towns,
        Path(args.file),
        args.replications,
        args.seed,
        args.years,
        args.workers,
        args.backend,
        args.scheduler,
        write_tables=args.tables,
        force=args.force,
    )
    with library_errors(**BATCH_OPTIONS):
        spec.check()
    out = Path(args.out) if args.out else Path("outputs") / f"region-{Path(args.file).stem}-{timestamp()}"
    if args.resume:
        _read_manifest(out, spec)
        check_unlocked(out)
    else:
        check_destination(out)
    if not args.quiet:
        children = sum(t.children for t in towns)
        where = f"Dask scheduler {spec.scheduler}" if spec.scheduler else f"{spec.workers} worker(s) ({spec.backend})"
        print(
            f"{len(towns)} municipalities, {children:,} children, {spec.replications} replications, "
            f"seed {spec.seed}, {where} -> {out}",
            file=sys.stderr,
        )
    with library_errors(**BATCH_OPTIONS):
        result = run_region(
            spec, towns, out, resume=args.resume, progress=sys.stderr.isatty() and not args.quiet, command=sys.argv
        )
    print(f"{result.batch.replications_used} replications, seed {spec.seed}; means with 95 % intervals")
    print()
    print(region_text(result.table))
    print()
    print(per_1000_text(result.table))
    if result.observed is not None:
        outside = int((~result.observed["inside"]).sum())
        print()
        print(
            f"observed figures against the model ({outside} of {len(result.observed)} outside the range of one "
            "run, the 2.5 % to 97.5 % points of the replications):"
        )
        print(observed_text(result.observed))
        if outside:
            print(
                "a figure outside: the shipped parameters may not describe that municipality; fit them with "
                "welfare-sim init NAME ... and welfare-sim calibrate NAME.toml --observed OBSERVED.toml"
            )
    from sim.present.text import desk_warning

    for entry in spec.scenarios:
        if warning := desk_warning(entry.scenario):
            print(f"{entry.name}: {warning}")
    print()
    written = "region.csv, observed.csv" if result.observed is not None else "region.csv"
    print(f"results written to {out} ({written}, replications.parquet, manifest.json)")
    if args.tables:
        from sim.present.report import report_summary, write_report

        print(report_summary(write_report(out)))
    return 0
