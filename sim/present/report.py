"""The HTML report of a results folder: one self-contained page.

``welfare-sim report RUN_DIR`` writes ``RUN_DIR/report.html`` with the comparison table,
every figure of :mod:`sim.present.plots` (PNG, embedded as data URIs: the page needs no network),
the scenarios' parameters side by side with their differences highlighted, the business
case if the folder holds one (:mod:`sim.experiments.business`), and the manifest. Everything comes
from the saved folder; nothing is run again.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
from pathlib import Path, PurePath

from sim.storage.output import figure_png
from sim.storage.rundata import RunData, load_run

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; } table { border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: right; vertical-align: top; }
th { background: #f6f8fa; } td.name, th.name { text-align: left; font-family: ui-monospace, monospace; }
tr.differs td { background: #fff8c5; } figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
figcaption { color: #57606a; font-size: 0.9rem; } pre { background: #f6f8fa; padding: 1rem; overflow-x: auto;
font-size: 0.8rem; } .note { color: #9a6700; } nav a { margin-right: 1rem; }
"""


def comparison_html(data: RunData) -> str:
    """The comparison table: per scenario the mean and 95 % interval, and paired differences."""
    from sim.results.indicators import SUMMARY_NAMES, format_value, unit_of

    names = data.scenarios
    if data.comparison is None:
        summary = data.replications.iloc[0]
        rows = "".join(
            f'<tr><td class="name">{html.escape(i)}</td><td>{html.escape(unit_of(i))}</td>'
            f"<td>{html.escape(format_value(i, float(summary[i])))}</td></tr>"
            for i in SUMMARY_NAMES
        )
        return (
            f'<table><tr><th class="name">indicator</th><th>unit</th><th>{html.escape(names[0])}</th></tr>'
            f"{rows}</table><p class='meta'>One replication: no confidence intervals.</p>"
        )

    def cell(indicator, mean, low, high):
        if isinstance(mean, float) and math.isnan(mean):
            return "–"
        text = format_value(indicator, mean)
        if not (isinstance(low, float) and math.isnan(low)):
            text += f" [{format_value(indicator, low)}, {format_value(indicator, high)}]"
        return html.escape(text)

    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    head += "".join(f"<th>{html.escape(n)} − {html.escape(names[0])}</th>" for n in names[1:])
    rows = []
    for indicator in SUMMARY_NAMES:
        part = data.comparison[data.comparison["indicator"] == indicator].set_index("scenario")
        if part.empty:
            continue
        cells = [cell(indicator, *part.loc[n, ["mean", "ci_low", "ci_high"]]) for n in names]
        cells += [cell(indicator, *part.loc[n, ["diff_mean", "diff_ci_low", "diff_ci_high"]]) for n in names[1:]]
        rows.append(
            f'<tr><td class="name">{html.escape(indicator)}</td><td>{html.escape(unit_of(indicator))}</td>'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    n = int(data.comparison["n"].max())
    return (
        f'<table><tr><th class="name">indicator</th><th>unit</th>{head}</tr>{"".join(rows)}</table>'
        f"<p class='meta'>Means over {n} replications with 95 % confidence intervals; differences are paired "
        "replication by replication (common random numbers).</p>"
    )


def _flatten(params: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in params.items():
        if key == "source":
            continue
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def parameters_html(data: RunData) -> str:
    """Every parameter of every scenario side by side; rows that differ are highlighted."""
    flat = {name: _flatten(data.parameters.get(name, {})) for name in data.scenarios}
    keys = list(dict.fromkeys(k for name in data.scenarios for k in flat[name]))
    if not keys:
        return "<p class='note'>The folder does not record the scenarios' parameters.</p>"
    head = "".join(f"<th>{html.escape(n)}</th>" for n in data.scenarios)
    rows = []
    for key in keys:
        values = [flat[n].get(key, "") for n in data.scenarios]
        differs = len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1
        cells = "".join(f"<td>{html.escape(json.dumps(v, default=str))}</td>" for v in values)
        rows.append(f'<tr{" class=differs" if differs else ""}><td class="name">{html.escape(key)}</td>{cells}</tr>')
    n_diff = sum("differs" in r for r in rows)
    return (
        f"<p class='meta'>{n_diff} of {len(keys)} parameters differ between the scenarios (highlighted).</p>"
        f'<table><tr><th class="name">parameter</th>{head}</tr>{"".join(rows)}</table>'
    )


def business_case_html(folder: str | Path) -> str | None:
    """The report section of the business case in ``folder`` (heading, figure as an
    embedded PNG, yearly table with 95 % intervals, payback), or ``None`` if the folder
    holds no business case."""
    from sim.experiments.business import (
        COMPONENTS,
        LABELS,
        PARTS,
        PAYBACK_RULE,
        SHORT_LABELS,
        interval_text,
        load_business_case,
        payback_text,
        wide_table,
        year_label,
    )
    from sim.present.business import plot_business_case

    loaded = load_business_case(folder)
    if loaded is None:
        return None
    table, info = loaded
    fig = plot_business_case(table, info)
    encoded = base64.b64encode(figure_png(fig, dpi=110)).decode("ascii")
    title = f"Business case: {info['new']} against {info['baseline']}"
    mean, low, high = wide_table(table, "mean"), wide_table(table, "ci_low"), wide_table(table, "ci_high")
    head = "".join(f'<th title="{html.escape(LABELS[c])}">{html.escape(SHORT_LABELS[c])}</th>' for c in COMPONENTS)
    nowrap = ' style="white-space: nowrap"'
    rows = "".join(
        f'<tr><td class="name">{html.escape(year_label(int(y), info["years"]))}</td>'
        + "".join(
            f"<td{nowrap}>{html.escape(interval_text(mean.at[y, c], low.at[y, c], high.at[y, c]))}</td>"
            for c in COMPONENTS
        )
        + "</tr>"
        for y in mean.index
    )
    parts = "; ".join(f"{SHORT_LABELS[c]}: {LABELS[c]}" for c in PARTS)
    return (
        '<h2 id="business-case">Business case</h2>\n'
        f"<p class='meta'>{html.escape(info['new'])} against {html.escape(info['baseline'])} over "
        f"{info['years']:g} measured years, {info['replications']} replications with common random numbers. "
        "Million DKK per year, NEW − BASELINE, paired replication by replication: positive is an extra cost "
        "of NEW, negative a saving; means with 95 % confidence intervals. Columns: "
        f"{html.escape(parts)}; net: their sum; cumulative net: the running sum of the net.</p>\n"
        f'<figure id="fig-business-case"><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>\n"
        f'<table><tr><th class="name">year</th>{head}</tr>{rows}</table>\n'
        f"<p><strong>{html.escape(payback_text(info)[:1].upper() + payback_text(info)[1:])}</strong></p>\n"
        f"<p class='meta'>Payback rule: {html.escape(info.get('payback_rule', PAYBACK_RULE))}.</p>\n"
    )


def build_report(data: RunData) -> str:
    """The report page as one HTML string."""
    from sim.present.plots import ALL_FIGURES

    business = business_case_html(data.folder) or ""
    business_link = '<a href="#business-case">Business case</a>' if business else ""

    figures = []
    for name, function in ALL_FIGURES.items():
        try:
            fig = function(data)
        except Exception as exc:  # a figure that cannot be drawn from this folder is said so, not fatal
            figures.append(
                f'<figure id="fig-{name}"><p class="note">The figure “{html.escape(name)}” could not be drawn '
                f"from this folder: {html.escape(str(exc))}</p></figure>"
            )
            continue
        title = fig._suptitle.get_text() if fig._suptitle is not None else name.replace("_", " ")
        encoded = base64.b64encode(figure_png(fig, dpi=110)).decode("ascii")
        figures.append(
            f'<figure id="fig-{name}"><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )
    manifest = json.dumps(portable(data.manifest), indent=2, default=str)
    scenarios = ", ".join(html.escape(n) for n in data.scenarios)
    made = dt.datetime.now().isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>welfare-sim report: {scenarios}</title>
<style>{CSS}</style>
</head>
<body>
<h1>welfare-sim report</h1>
<p class="meta">Scenarios: {scenarios}. Folder: {html.escape(data.folder.resolve().name)}. Made {made}.</p>
<nav><a href="#comparison">Comparison</a>{business_link}<a href="#figures">Figures</a>
<a href="#parameters">Parameters</a><a href="#manifest">Manifest</a></nav>
<h2 id="comparison">Comparison</h2>
{comparison_html(data)}
{business}
<h2 id="figures">Figures</h2>
{"".join(figures)}
<h2 id="parameters">Parameters</h2>
{parameters_html(data)}
<h2 id="manifest">Manifest</h2>
<pre>{html.escape(manifest)}</pre>
</body>
</html>
"""


def portable(value):
    """``value`` (a manifest) with every absolute path of this machine cut to its last part
    (``/home/me/study/x.toml`` -> ``.../x.toml``): a report is made to be shared."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v) for v in value]
    if isinstance(value, str) and (value.startswith(("/", "~")) or (len(value) > 2 and value[1:3] == ":\\")):
        return f".../{PurePath(value).name}" if PurePath(value).name else "..."
    return value


def write_report(folder: str | Path) -> Path:
    """Write ``folder/report.html`` (atomically, readable by all) and return its path."""
    from sim.storage.output import atomic_write

    folder = Path(folder)
    page = build_report(load_run(folder))
    path = folder / "report.html"
    atomic_write(path, page.encode("utf-8"))
    return path


def report_summary(path: Path) -> str:
    size = path.stat().st_size / 1e6
    return f"report written to {path} ({size:.1f} MB)"


__all__ = ["build_report", "business_case_html", "comparison_html", "parameters_html", "write_report"]
