"""``welfare-sim validate FILE ...`` (check scenario files without running them) and
``welfare-sim scenarios`` (list the shipped scenarios)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", help="scenario files or names")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)


def cmd_validate(args) -> int:
    from sim.params import load_scenario

    for path in args.scenarios:
        scenario = load_scenario(path)
        print(f"{path}: ok ({scenario.name}: {scenario.title})")
    return 0


def cmd_scenarios(args) -> int:
    from sim.params import load_scenario, shipped_scenarios_dir

    folder = shipped_scenarios_dir()
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(path)
        print(f"{path.stem:<22} {scenario.title}")
    print(f"\n(in {folder})")
    return 0
