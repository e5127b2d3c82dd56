"""Write the notebooks in notebooks/ from the cells below (stored without outputs).

Run:  python scripts/make_notebooks.py
Edit the cells here, not the .ipynb files, so the notebooks stay reviewable in diffs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

N01 = [
    new_markdown_cell(
        "# The Danish baseline against the Swedish model\n\n"
        "Runs both shipped scenarios with common random numbers, reads the comparison table "
        "(means with 95 % confidence intervals and paired differences) and plots costs and "
        "follow-up. The counts below are small so the notebook runs in a minute; raise "
        "`REPLICATIONS` and `YEARS` for numbers worth quoting (the command line's default is "
        "10 replications of 10 years)."
    ),
    new_code_cell(
        "REPLICATIONS = 3   # per scenario\n"
        "YEARS = 2.0        # measured years after the scenario's warm-up\n"
        "WORKERS = 2        # processes\n"
        "SEED = 1"
    ),
    new_code_cell(
        "import datetime as dt\n"
        "from pathlib import Path\n\n"
        "from sim.experiments.batch import BatchSpec, run_batch, scenario_entry\n"
        "from sim.present import plots\n"
        "from sim.storage.rundata import load_run\n\n"
        "spec = BatchSpec(\n"
        "    scenarios=[scenario_entry('danish_baseline'), scenario_entry('swedish_model')],\n"
        "    replications=REPLICATIONS, years=YEARS, seed=SEED, workers=WORKERS,\n"
        ")\n"
        "out = Path('outputs') / f\"nb01-{dt.datetime.now():%Y%m%d-%H%M%S}\"\n"
        "result = run_batch(spec, out)\n"
        "print(f'{result.replications_used} replications per scenario written to {out}')"
    ),
    new_markdown_cell(
        "## The comparison table\n"
        "One row per indicator and scenario; `diff_*` is the paired difference to the Danish baseline."
    ),
    new_code_cell(
        "key = ['mean_caseload_cases', 'followup_on_time_share', 'mean_followup_interval_days',\n"
        "       'children_in_care_mean', 'placement_share_kinship', 'median_placement_days_institution',\n"
        "       'replacement_share', 'cost_total_per_year', 'cost_staff_per_year']\n"
        "table = result.comparison[result.comparison['indicator'].isin(key)]\n"
        "table.pivot(index='indicator', columns='scenario', values=['mean', 'ci_low', 'ci_high', 'diff_mean']).round(3)"
    ),
    new_code_cell(
        "saving = result.comparison.query(\"indicator == 'cost_total_per_year' and scenario == 'swedish_model'\")\n"
        "row = saving.iloc[0]\n"
        'print(f"Swedish minus Danish total cost: {row.diff_mean / 1e6:.1f} M DKK a year "\n'
        '      f"(95 % CI {row.diff_ci_low / 1e6:.1f} to {row.diff_ci_high / 1e6:.1f})")'
    ),
    new_markdown_cell(
        "## Figures\nEvery figure is drawn from the saved folder, so it can be made again without running."
    ),
    new_code_cell("data = load_run(out)\nplots.plot_costs(data)"),
    new_code_cell("plots.plot_followup_delay(data)"),
    new_code_cell("plots.plot_caseload(data)"),
]

N02 = [
    new_markdown_cell(
        "# Placement durations\n\n"
        "Survival analysis of placement spells from a saved run: Kaplan–Meier curves with "
        "censoring and confidence bands, medians with confidence intervals, and a log-rank test "
        "between scenarios. Set `FOLDER` to a folder written by `welfare-sim compare`; left as "
        "`None`, the notebook makes a small one first."
    ),
    new_code_cell(
        "FOLDER = None       # e.g. 'outputs/compare-20261123-120000'\n"
        "REPLICATIONS = 3    # only used when FOLDER is None\n"
        "YEARS = 3.0\n"
        "WORKERS = 2"
    ),
    new_code_cell(
        "import datetime as dt\n"
        "from pathlib import Path\n\n"
        "import pandas as pd\n\n"
        "from sim.experiments.batch import BatchSpec, run_batch, scenario_entry\n"
        "from sim.present import plots\n"
        "from sim.results.survival import kaplan_meier_ci, logrank_test, median_ci\n"
        "from sim.storage.rundata import load_run\n\n"
        "if FOLDER is None:\n"
        "    FOLDER = Path('outputs') / f\"nb02-{dt.datetime.now():%Y%m%d-%H%M%S}\"\n"
        "    spec = BatchSpec(scenarios=[scenario_entry('danish_baseline'), scenario_entry('swedish_model')],\n"
        "                     replications=REPLICATIONS, years=YEARS, workers=WORKERS)\n"
        "    run_batch(spec, FOLDER)\n"
        "data = load_run(FOLDER)\n"
        "data.scenarios"
    ),
    new_markdown_cell(
        "Spells that began before measurement started are left-truncated and left out; spells "
        "still running at the end are censored at their duration so far."
    ),
    new_code_cell(
        "placements = {name: frame[frame['start_day'] >= 0] for name, frame in data.table('placements').items()}\n"
        "rows = []\n"
        "for name, frame in placements.items():\n"
        "    for kind, spells in frame.groupby('placement_type'):\n"
        "        median, low, high = median_ci(spells['duration_days'], ~spells['censored'])\n"
        "        rows.append({'scenario': name, 'placement': kind, 'spells': len(spells),\n"
        "                     'censored': int(spells['censored'].sum()),\n"
        "                     'median_days': median, 'ci_low': low, 'ci_high': high})\n"
        "pd.DataFrame(rows).round(1)"
    ),
    new_code_cell(
        "first, second = data.scenarios[:2]\n"
        "tests = []\n"
        "for kind in ('kinship', 'foster', 'institution'):\n"
        "    a = placements[first][placements[first]['placement_type'] == kind]\n"
        "    b = placements[second][placements[second]['placement_type'] == kind]\n"
        "    chi2, p = logrank_test(a['duration_days'], ~a['censored'], b['duration_days'], ~b['censored'])\n"
        "    tests.append({'placement': kind, 'chi2': chi2, 'p_value': p})\n"
        "pd.DataFrame(tests).round(4)"
    ),
    new_code_cell(
        "curve = kaplan_meier_ci(placements[second].query(\"placement_type == 'institution'\")['duration_days'],\n"
        "                        ~placements[second].query(\"placement_type == 'institution'\")['censored'])\n"
        "curve.head(10)"
    ),
    new_code_cell("plots.plot_survival(data)"),
]

N03 = [
    new_markdown_cell(
        "# Staffing\n\n"
        "How caseload, follow-up punctuality and cost move with the number of caseworkers in "
        "the Danish baseline. Every staffing level is a scenario of one batch, so they share "
        "common random numbers and the curves are smooth. Small counts so it runs quickly."
    ),
    new_code_cell("CASEWORKERS = [14, 17, 20, 24, 30]\nREPLICATIONS = 2\nYEARS = 2.0\nWORKERS = 2"),
    new_code_cell(
        "import dataclasses\n"
        "import datetime as dt\n"
        "from pathlib import Path\n\n"
        "from sim.experiments.batch import BatchSpec, run_batch, scenario_entry\n"
        "from sim.present.plots import ResultFigure  # a matplotlib Figure that shows itself in Jupyter\n\n"
        "base = scenario_entry('danish_baseline')\n"
        "entries = []\n"
        "for n in CASEWORKERS:\n"
        "    scenario = base.scenario.with_overrides(**{'staffing.caseworkers': n})\n"
        "    scenario = scenario.model_copy(update={'name': f'baseline_{n}'})\n"
        "    entries.append(dataclasses.replace(base, name=scenario.name, scenario=scenario))\n"
        "spec = BatchSpec(scenarios=entries, replications=REPLICATIONS, years=YEARS, workers=WORKERS,\n"
        "                 write_tables=False)\n"
        "out = Path('outputs') / f\"nb03-{dt.datetime.now():%Y%m%d-%H%M%S}\"\n"
        "result = run_batch(spec, out)\n"
        "result.comparison.query(\"indicator == 'mean_caseload_cases'\")[['scenario', 'mean', 'ci_low', 'ci_high']]"
    ),
    new_code_cell(
        "indicators = [('mean_caseload_cases', 'cases per caseworker'),\n"
        "              ('followup_on_time_share', 'share of follow-ups on time'),\n"
        "              ('cost_total_per_year', 'total cost, DKK per year')]\n"
        "fig = ResultFigure(figsize=(12, 3.6))\n"
        "for i, (indicator, label) in enumerate(indicators):\n"
        "    ax = fig.add_subplot(1, 3, i + 1)\n"
        "    part = result.comparison[result.comparison['indicator'] == indicator]\n"
        "    errors = [part['mean'] - part['ci_low'], part['ci_high'] - part['mean']]\n"
        "    ax.errorbar(CASEWORKERS, part['mean'], yerr=errors, marker='o', capsize=3)\n"
        "    ax.set_xlabel('caseworkers')\n"
        "    ax.set_ylabel(label)\n"
        "    ax.set_title(label)\n"
        "fig.suptitle('The Danish baseline at different staffing (means with 95 % intervals)')\n"
        "fig.tight_layout()\n"
        "fig"
    ),
]


def write(name: str, cells: list) -> None:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, NOTEBOOKS / name)


def main() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    write("01_danish_vs_swedish.ipynb", N01)
    write("02_placement_durations.ipynb", N02)
    write("03_staffing.ipynb", N03)
    print(f"wrote 3 notebooks to {NOTEBOOKS}")


if __name__ == "__main__":
    main()
