"""Tiny inline-SVG charts for the HTML report: pure Python, no JavaScript, no external assets.

Every chart is returned as one ``<svg>`` string meant to be inlined in HTML5, so it carries no
``xmlns`` (the HTML parser puts inline ``<svg>`` in the SVG namespace itself, and the report must
not hold a single URL). Charts use a ``viewBox`` with ``max-width:100%`` so they shrink with the
page instead of forcing sideways scrolling, and they define no element ids, so any number of
them can share one page.

All text (column names, category labels, titles) is escaped here: a column called
``<script>`` is drawn as the seven characters it is. Missing values (``None`` / NaN) are drawn
as gaps, never as zeros.

The charts live in :mod:`~synthpipe.report.svg.bars`, :mod:`~synthpipe.report.svg.hist` and
:mod:`~synthpipe.report.svg.plots`, on the shared elements of ``_draw``; number formatting is
:mod:`synthpipe.report.fmt`, re-exported here because chart callers format their own labels.
"""

from synthpipe.report.fmt import esc, fmt_num, fmt_pct, truncate
from synthpipe.report.svg._draw import (
    AXIS,
    FONT,
    GRID,
    HOLDOUT,
    MUTED,
    REAL,
    SERIES_COLORS,
    SUPPRESSED,
    SYNTHETIC,
    TEXT,
    nice_ticks,
)
from synthpipe.report.svg.bars import bar_chart, category_bars
from synthpipe.report.svg.hist import histogram, overlaid_histograms
from synthpipe.report.svg.plots import (
    curve_chart,
    diverging_color,
    heatmap,
    line_chart,
    small_multiples,
)

__all__ = [
    "AXIS",
    "FONT",
    "GRID",
    "HOLDOUT",
    "MUTED",
    "REAL",
    "SERIES_COLORS",
    "SUPPRESSED",
    "SYNTHETIC",
    "TEXT",
    "bar_chart",
    "category_bars",
    "curve_chart",
    "diverging_color",
    "esc",
    "fmt_num",
    "fmt_pct",
    "heatmap",
    "histogram",
    "line_chart",
    "nice_ticks",
    "overlaid_histograms",
    "small_multiples",
    "truncate",
]
