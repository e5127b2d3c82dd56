"""Numbers and tables as text: an estimate with its interval, and the aligned text table
every printed table is laid out with. The unit of an indicator and its value in that unit
are the library's (:func:`sim.results.indicators.unit_of`, :func:`sim.results.indicators.format_value`): the
figures and the HTML report use them too."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim.results.indicators import format_value


def format_estimate(indicator: str, mean: float, low: float, high: float) -> str:
    """A mean with its interval, ``mean [low, high]``, in the indicator's display unit; ``-``
    for no value, and the mean alone when there is no interval (one replication)."""
    if isinstance(mean, float) and math.isnan(mean):
        return "-"
    text = format_value(indicator, mean)
    if not (isinstance(low, float) and math.isnan(low)):
        text += f" [{format_value(indicator, low)}, {format_value(indicator, high)}]"
    return text


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Columns aligned two spaces apart under a rule of dashes: the first ``left`` columns
    flush left, the others flush right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
