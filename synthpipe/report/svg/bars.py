"""Bar charts: one bar per label (scores per column) and grouped bars per category."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from synthpipe.report.fmt import fmt_num, fmt_pct, is_num, truncate
from synthpipe.report.svg._draw import (
    AXIS,
    CHAR_W,
    FONT,
    GRID,
    MUTED,
    REAL,
    SERIES_COLORS,
    SUPPRESSED,
    TEXT,
    _clean,
    _hist_frame,
    _legend,
    _line,
    _rect,
    _svg,
    _text,
    nice_ticks,
)


def bar_chart(
    labels: Sequence[object],
    values: Sequence[object],
    *,
    title: str = "",
    reference: Sequence[object] | None = None,
    reference_name: str = "holdout reference",
    threshold: float | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    width: int = 640,
    bar_height: int = 16,
    color: str = REAL,
    value_format: Callable[[object], str] = fmt_num,
    value_name: str = "synthetic",
) -> str:
    """Horizontal bar chart, one bar per label (long label lists stay readable).

    Args:
        labels: Bar labels (e.g. column names).
        values: Bar lengths; ``None`` draws an "n/a" gap.
        title: Chart title (also the accessible label).
        reference: Optional second value per bar, drawn as a dark tick (e.g. the holdout score).
        reference_name: Legend name of the reference ticks.
        threshold: Optional vertical dashed line (e.g. a gate threshold).
        vmin: Axis start.
        vmax: Axis end; default the largest value (or 1 when none).
        width: Drawing width in px (the chart scales down with the page).
        bar_height: Height of a bar in px.
        color: Bar colour.
        value_format: Formats the value printed after each bar.
        value_name: Legend name of the bars.

    Returns:
        An ``<svg>`` string.
    """
    vals = _clean(values)
    refs = _clean(reference) if reference is not None else [None] * len(vals)
    finite = [v for v in vals + refs if v is not None]
    if threshold is not None:
        finite.append(threshold)
    top = vmax if vmax is not None else (max(finite) if finite else 1.0)
    if top <= vmin:
        top = vmin + 1.0
    max_label = max((len(str(s)) for s in labels), default=4)
    label_w = min(max(max_label, 4), 28) * FONT * CHAR_W + 8
    value_w = 52
    plot_w = max(width - label_w - value_w - 8, 80)
    head = 22 if title else 6
    legend_h = 18
    row = bar_height + 6
    height = head + legend_h + row * max(len(vals), 1) + 24

    def sx(v: float) -> float:
        return label_w + (min(max(v, vmin), top) - vmin) / (top - vmin) * plot_w

    body = []
    if title:
        body.append(_text(0, 14, title, weight="600", size=12))
    legend = [(value_name, color)]
    if reference is not None:
        legend.append((reference_name, TEXT))
    body.append(_legend(legend, label_w, head + 11))
    y0 = head + legend_h
    for t in nice_ticks(vmin, top, 5):
        x = sx(t)
        body.append(_line(x, y0, x, y0 + row * len(vals), GRID))
        body.append(_text(x, y0 + row * len(vals) + 13, value_format(t), anchor="middle",
                          color=MUTED, size=10))
    for i, (lab, v, r) in enumerate(zip(labels, vals, refs, strict=False)):
        y = y0 + i * row + 3
        body.append(_text(label_w - 6, y + bar_height - 4, truncate(lab, 28), anchor="end",
                          full=lab))
        if v is None:
            body.append(_text(label_w + 4, y + bar_height - 4, "n/a", color=MUTED))
        else:
            tip = f"{lab}: {value_format(v)}"
            if r is not None:
                tip += f" ({reference_name} {value_format(r)})"
            body.append(_rect(label_w, y, sx(v) - label_w, bar_height, color, tip=tip))
            body.append(_text(label_w + plot_w + 6, y + bar_height - 4, value_format(v)))
        if r is not None:
            x = sx(r)
            body.append(_line(x, y - 2, x, y + bar_height + 2, TEXT, 2))
    if threshold is not None:
        x = sx(threshold)
        body.append(_line(x, y0 - 2, x, y0 + row * len(vals), "#c23b3b", 1.5, "4 3"))
    return _svg(width, height, body, title or "bar chart")


def category_bars(
    categories: Sequence[object],
    series: Mapping[str, Sequence[object]],
    *,
    title: str = "",
    normalize: bool = True,
    totals: Mapping[str, float] | None = None,
    width: int = 260,
    height: int = 160,
    colors: Sequence[str] = SERIES_COLORS,
) -> str:
    """Grouped vertical bars: one group per category, one bar per series.

    Args:
        categories: Category labels (already limited to the top few by the caller).
        series: ``{name: counts}`` aligned with ``categories``; ``None`` is a suppressed count.
        title: Chart title.
        normalize: Plot shares of each series' total.
        totals: Denominator per series when normalizing (default the sum of its counts).
        width: Drawing width in px.
        height: Drawing height in px.
        colors: Series colours in order.

    Returns:
        An ``<svg>`` string.
    """
    body, left, right, top, bottom = _hist_frame(title, width, height)
    cats = list(categories)
    names = list(series)
    if not cats or not names:
        body.append(_text(width / 2, height / 2, "no data", anchor="middle", color=MUTED))
        return _svg(width, height, body, title or "bar chart", "chart small")
    shares: dict[str, list[float | None]] = {}
    for name in names:
        counts = _clean(series[name])[: len(cats)]
        counts += [None] * (len(cats) - len(counts))
        denom = (totals or {}).get(name) if totals else None
        denom = denom if is_num(denom) and denom else sum(c for c in counts if c is not None)
        shares[name] = [
            (c / denom if normalize and denom else c) if c is not None else None for c in counts
        ]
    ymax = max((v for s in shares.values() for v in s if v is not None), default=0.0) or 1.0
    fmt_y = fmt_pct if normalize else fmt_num
    group = (right - left) / len(cats)
    bar = max(min(group * 0.8 / len(names), 26), 1)
    body.append(_line(left, bottom, right, bottom, AXIS))
    body.append(_line(left, top, right, top, GRID))
    body.append(_text(left - 4, top + 4, fmt_y(ymax), anchor="end", size=10, color=MUTED))
    body.append(_text(left - 4, bottom, "0", anchor="end", size=10, color=MUTED))
    max_chars = max(int(group / (9 * CHAR_W)), 3)
    rotate = len(cats) > 4
    # Rotated labels need about 10 px per label sideways; with more categories than fit,
    # label every k-th (the tooltips still name every bar).
    every = max(1, math.ceil(len(cats) * 11 / (right - left)))
    for i, cat in enumerate(cats):
        gx = left + i * group + (group - bar * len(names)) / 2
        for k, name in enumerate(names):
            v = shares[name][i]
            x = gx + k * bar
            if v is None:
                body.append(_rect(x, bottom - 3, bar - 1, 3, SUPPRESSED,
                                  tip=f"{name}, {cat}: suppressed (fewer rows than the floor)"))
                continue
            h = v / ymax * (bottom - top)
            body.append(_rect(x, bottom - h, max(bar - 1, 0.5), h, colors[k % len(colors)],
                              tip=f"{name}, {cat}: {fmt_y(v)}"))
        cx = left + (i + 0.5) * group
        if i % every:
            continue
        if rotate:
            body.append(_text(cx + 3, bottom + 9, truncate(cat, 10), anchor="end", size=10,
                              color=MUTED, rotate=-35, full=cat))
        else:
            body.append(_text(cx, bottom + 13, truncate(cat, max_chars), anchor="middle", size=10,
                              color=MUTED, full=cat))
    # Rotated labels hang below the axis: the legend moves down to make room for them.
    extra = 30 if rotate else 0
    body.append(_legend([(n, colors[k % len(colors)]) for k, n in enumerate(names)], left,
                        height + extra - 3))
    return _svg(width, height + extra, body, title or "bar chart", "chart small")
