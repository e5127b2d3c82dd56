"""The tables ``welfare-sim calibrate`` prints: each observed figure beside the simulated one at
the start and at the fitted values, and the fitted parameters with their uncertainty."""

from __future__ import annotations

import math

from sim.experiments.calibration import CalibrationResult
from sim.present.format import text_table


def _num(value: float, digits: int = 3) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _param(value: float, digits: int) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def calibration_text(result: CalibrationResult) -> str:
    """The figures table, the parameters table and the notes under them."""
    r = result
    lines = [
        f"Calibration of {r.scenario.name}: {len(r.parameters)} parameter(s) fitted to {len(r.figures)} observed "
        f"figure(s); {r.replications} replications of {r.years:g} years after {r.warmup_years:g} years of warm-up "
        f"at every evaluation (common random numbers, seed {r.seed})",
        "",
    ]
    rows = []
    for f in r.figures:
        o = f.observed
        interval = f"[{_num(f.ci_low, 4)}, {_num(f.ci_high, 4)}]" if not math.isnan(f.ci_low) else ""
        rows.append(
            [
                o.key,
                f"{o.value:.4g} +- {o.sd:.2g}" + ("" if o.sd_given else "*"),
                _num(f.start_mean, 4),
                f"{_num(f.mean, 4)} {interval}".strip(),
                f"{f.residual:+.1f}",
            ]
        )
    lines.append(
        text_table(["observed figure", "observed +- sd", "at start", "fitted [95 % interval]", "(fit - obs)/sd"], rows)
    )
    if any(not f.observed.sd_given for f in r.figures):
        lines.append("* no sd given: 5 % of the value")
    sources = [f"  {f.observed.key}: {f.observed.source}" for f in r.figures if f.observed.source]
    if sources:
        lines += ["sources:", *sources]
    lines.append("")
    rows = []
    bounded = any(p.at_bound for p in r.parameters)
    for p in r.parameters:
        d = p.parameter.digits
        sd = "not identified" if math.isnan(p.sd) else f"{p.sd:.{d}f}"
        interval = "" if math.isnan(p.sd) else f"[{_param(p.low95, d)}, {_param(p.high95, d)}]"
        note = "at its bound" if p.at_bound else ""
        rows.append(
            [
                p.parameter.name,
                p.freed_by,
                _param(p.start, d),
                _param(p.value, d),
                sd,
                interval,
                f"{p.parameter.low:g} to {p.parameter.high:g}",
            ]
            + ([note] if bounded else [])
        )
    header = ["parameter", "freed by", "start", "fitted", "sd", "95 % interval", "bounds"] + ([""] if bounded else [])
    lines.append(text_table(header, rows, left=2))
    lines.append(
        "sd: from the Jacobian at the fitted values (central differences, the same replications), counting the "
        "observed figures' sd and the replications' noise; the interval is +-1.96 sd within the bounds (linear, "
        "so rough where a figure bends)"
    )
    for p in r.parameters:
        lines.append(f"  {p.parameter.name}: {p.parameter.what}")
    lines.append("")
    ended = "the search ended by itself" if r.converged else "the search used all its evaluations (--max-evaluations)"
    lines.append(
        f"{r.evaluations} evaluations in {r.seconds:.0f} s; {ended}; sum of squared residuals {2 * r.start_cost:.2f} "
        f"at the start, {2 * r.cost:.2f} fitted"
    )
    far = [f.observed.key for f in r.figures if abs(f.residual) > 2]
    if far:
        lines.append(
            f"not met within 2 sd: {', '.join(far)} (a parameter at its bound, figures that pull apart, or a "
            "figure the fitted parameters cannot reach: see docs/model.md)"
        )
    return "\n".join(lines)
