"""Tiny inline-SVG charts for the HTML report: pure Python, no JavaScript, no external assets.

Every chart is returned as one ``<svg>`` string meant to be inlined in HTML5, so it carries no
``xmlns`` (the HTML parser puts inline ``<svg>`` in the SVG namespace itself, and the report must
not hold a single URL). Charts use a ``viewBox`` with ``max-width:100%`` so they shrink with the
page instead of forcing sideways scrolling, and they define no element ids, so any number of
them can share one page.

All text (column names, category labels, titles) is escaped here: a column called
``<script>`` is drawn as the seven characters it is. Missing values (``None`` / NaN) are drawn
as gaps, never as zeros.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence

#: Series colours (blue / orange are told apart with the common colour-vision deficiencies).
REAL = "#3a6ea5"
SYNTHETIC = "#e07b29"
HOLDOUT = "#6b7785"
SERIES_COLORS = (REAL, SYNTHETIC, "#2e9e6b", "#8b5cb8", HOLDOUT, "#c23b3b")
GRID = "#e3e6ea"
AXIS = "#8a939d"
TEXT = "#1f2933"
MUTED = "#5b6670"
SUPPRESSED = "#b9bfc6"

FONT = 11
# Average glyph width as a share of the font size for the system sans-serif fonts; used only to
# decide how much room labels need (SVG cannot measure text without a browser).
_CHAR_W = 0.6
# XML 1.0 forbids most C0 control characters even when escaped; column names from a CSV can
# hold them, and one would make the whole report unparsable.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ----------------------------------------------------------------------------- formatting


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt_num(x: object, digits: int = 3) -> str:
    """Format a number for people: whole numbers exact, other floats to ``digits`` significant
    digits, no
    scientific notation between 1e-4 and 1e15, thousands separators from 10,000 (so years and
    other four-digit numbers read as 2024, not 2,024).

    Args:
        x: The value; ``None``, NaN and non-numbers give ``"n/a"`` (booleans give yes/no).
        digits: Significant digits for floats.

    Returns:
        The formatted text.
    """
    if isinstance(x, bool):
        return "yes" if x else "no"
    if not _is_num(x):
        return "n/a"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)  # whole numbers print exactly: an axis edge at 2025 must not read 2020
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e15 or abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    # Round first: 99.96 becomes 100, whose magnitude decides the decimals shown.
    rounded = float(f"{x:.{digits}g}")
    mag = math.floor(math.log10(abs(rounded)))
    decimals = max(digits - 1 - mag, 0)
    if decimals == 0:
        return f"{int(rounded):,}" if abs(rounded) >= 10_000 else str(int(rounded))
    # Trailing zeros dropped: 0.01 reads better than 0.0100 in a threshold column.
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def fmt_pct(x: object, digits: int = 3) -> str:
    """Format a share (0.123) as a percentage ("12.3%") with ``digits`` significant digits."""
    if not _is_num(x):
        return "n/a"
    return f"{fmt_num(float(x) * 100, digits)}%"


def esc(text: object) -> str:
    """Escape any value for SVG/HTML text or attribute content (control characters removed)."""
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def truncate(text: object, max_chars: int) -> str:
    """Shorten ``text`` to ``max_chars`` characters with an ellipsis (unescaped result)."""
    s = str(text)
    return s if len(s) <= max_chars else s[: max(max_chars - 1, 1)] + "\u2026"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (1, 2, 2.5 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks


# ----------------------------------------------------------------------------- primitives


def _svg(width: float, height: float, body: list[str], label: str, cls: str = "chart") -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{esc(label)}" '
        f'font-size="{FONT}" style="max-width:100%;height:auto">'
        f"<title>{esc(label)}</title>" + "".join(body) + "</svg>"
    )


def _text(
    x: float,
    y: float,
    text: object,
    *,
    anchor: str = "start",
    size: float | None = None,
    color: str = TEXT,
    weight: str | None = None,
    rotate: float | None = None,
    full: object | None = None,
) -> str:
    attrs = f'x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}"'
    if size is not None:
        attrs += f' font-size="{size:g}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    if rotate is not None:
        attrs += f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"'
    tip = f"<title>{esc(full)}</title>" if full is not None and str(full) != str(text) else ""
    return f"<text {attrs}>{tip}{esc(text)}</text>"


def _rect(
    x: float, y: float, w: float, h: float, fill: str, *, tip: str | None = None, extra: str = ""
) -> str:
    inner = f"<title>{esc(tip)}</title>" if tip else ""
    return (
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(w, 0):.2f}" height="{max(h, 0):.2f}" '
        f'fill="{fill}"{extra}>{inner}</rect>'
    )


def _line(
    x1: float, y1: float, x2: float, y2: float, color: str, width: float = 1, dash: str = ""
) -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{color}" '
        f'stroke-width="{width:g}"{d}/>'
    )


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, *, line: bool = False) -> str:
    parts, cx = [], x
    for name, color in items:
        if line:
            parts.append(_line(cx, y - 4, cx + 14, y - 4, color, 2.5))
        else:
            parts.append(_rect(cx, y - 9, 10, 10, color))
        parts.append(_text(cx + 15, y, name, color=MUTED))
        cx += 24 + len(name) * FONT * _CHAR_W
    return "".join(parts)


def _clean(values: Sequence[object]) -> list[float | None]:
    return [float(v) if _is_num(v) else None for v in values]


# ----------------------------------------------------------------------------- charts


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
    label_w = min(max(max_label, 4), 28) * FONT * _CHAR_W + 8
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


def _hist_frame(
    title: str, width: int, height: int
) -> tuple[list[str], float, float, float, float]:
    body = []
    top = 20 if title else 6
    if title:
        body.append(_text(0, 13, truncate(title, int(width / (FONT * _CHAR_W))), weight="600",
                          full=title))
    left, right, bottom = 38, width - 6, height - 34
    return body, left, right, top + 4, bottom


def overlaid_histograms(
    edges: Sequence[object],
    series: Mapping[str, Sequence[object]],
    *,
    title: str = "",
    edge_labels: Sequence[str] | None = None,
    normalize: bool = True,
    totals: Mapping[str, float] | None = None,
    width: int = 260,
    height: int = 160,
    colors: Sequence[str] = SERIES_COLORS,
) -> str:
    """Histograms of several series over the same bins: the first filled, the others as steps.

    Args:
        edges: Bin edges (``len(counts) + 1`` numbers).
        series: ``{name: counts}``; a ``None`` count is a suppressed bin, drawn as a grey mark.
        title: Chart title.
        edge_labels: Text for each edge (e.g. dates); default the formatted numbers.
        normalize: Plot shares of each series' total so different-sized tables compare.
        totals: Denominator per series when normalizing (default the sum of its counts).
        width: Drawing width in px.
        height: Drawing height in px.
        colors: Series colours in order.

    Returns:
        An ``<svg>`` string.
    """
    e = _clean(edges)
    body, left, right, top, bottom = _hist_frame(title, width, height)
    names = list(series)
    n_bins = len(e) - 1
    if n_bins < 1 or any(v is None for v in e) or not names:
        body.append(_text(width / 2, height / 2, "no data", anchor="middle", color=MUTED))
        return _svg(width, height, body, title or "histogram", "chart small")
    shares: dict[str, list[float | None]] = {}
    for name in names:
        counts = _clean(series[name])[:n_bins]
        counts += [None] * (n_bins - len(counts))
        denom = (totals or {}).get(name) if totals else None
        denom = denom if _is_num(denom) and denom else sum(c for c in counts if c is not None)
        shares[name] = [
            (c / denom if normalize and denom else c) if c is not None else None for c in counts
        ]
    ymax = max((v for s in shares.values() for v in s if v is not None), default=0.0) or 1.0
    lo, hi = e[0], e[-1]
    span = (hi - lo) or 1.0

    def sx(v: float) -> float:
        return left + (v - lo) / span * (right - left)

    def sy(v: float) -> float:
        return bottom - v / ymax * (bottom - top)

    fmt_y = fmt_pct if normalize else fmt_num
    body.append(_line(left, bottom, right, bottom, AXIS))
    body.append(_line(left, top, right, top, GRID))
    body.append(_text(left - 4, top + 4, fmt_y(ymax), anchor="end", size=10, color=MUTED))
    body.append(_text(left - 4, bottom, "0", anchor="end", size=10, color=MUTED))
    labels = list(edge_labels) if edge_labels is not None else [fmt_num(v) for v in e]
    for idx in sorted({0, n_bins // 2, n_bins}):
        anchor = "start" if idx == 0 else ("end" if idx == n_bins else "middle")
        body.append(_line(sx(e[idx]), bottom, sx(e[idx]), bottom + 3, AXIS))
        body.append(_text(sx(e[idx]), bottom + 13, truncate(labels[idx], 14), anchor=anchor,
                          size=10, color=MUTED, full=labels[idx]))
    for k, name in enumerate(names):
        color = colors[k % len(colors)]
        pts: list[str] = []
        for i, v in enumerate(shares[name]):
            x0, x1 = sx(e[i]), sx(e[i + 1])
            if v is None:
                # A suppressed bin: drawn as a grey tick so it is not mistaken for zero.
                body.append(_rect(x0 + 1, bottom - 3 - 3 * k, max(x1 - x0 - 2, 1), 3, SUPPRESSED,
                                  tip=f"{name}: suppressed (fewer rows than the privacy floor)"))
                if pts:
                    body.append(_polyline(pts, color))
                    pts = []
                continue
            tip = f"{name}, {labels[i]} to {labels[i + 1]}: {fmt_y(v)}"
            if k == 0:
                body.append(_rect(x0 + 0.5, sy(v), max(x1 - x0 - 1, 0.5), bottom - sy(v), color,
                                  tip=tip, extra=' fill-opacity="0.45"'))
            else:
                pts += [f"{x0:.1f},{sy(v):.1f}", f"{x1:.1f},{sy(v):.1f}"]
        if pts:
            body.append(_polyline(pts, color))
    body.append(_legend([(n, colors[k % len(colors)]) for k, n in enumerate(names)], left,
                        height - 3, line=True))
    return _svg(width, height, body, title or "histogram", "chart small")


def _polyline(points: list[str], color: str) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
        f'stroke-width="2" stroke-linejoin="round"/>'
    )


def histogram(
    edges: Sequence[object],
    counts: Sequence[object],
    *,
    title: str = "",
    name: str = "count",
    normalize: bool = False,
    edge_labels: Sequence[str] | None = None,
    width: int = 260,
    height: int = 160,
    color: str = REAL,
) -> str:
    """A single histogram (see :func:`overlaid_histograms` for the arguments)."""
    return overlaid_histograms(
        edges, {name: counts}, title=title, edge_labels=edge_labels, normalize=normalize,
        width=width, height=height, colors=(color,),
    )


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
        denom = denom if _is_num(denom) and denom else sum(c for c in counts if c is not None)
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
    max_chars = max(int(group / (9 * _CHAR_W)), 3)
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


def diverging_color(value: object, vmin: float = -1.0, vmax: float = 1.0) -> str:
    """Colour of ``value`` on a blue-white-red scale centred on the midpoint of the range.

    Missing values are grey. Blue is negative, red positive (as in most correlation plots).
    """
    if not _is_num(value):
        return "#d5d9de"
    mid = (vmin + vmax) / 2
    half = (vmax - vmin) / 2 or 1.0
    t = max(min((float(value) - mid) / half, 1.0), -1.0)
    white = (247, 247, 247)
    end = (178, 24, 43) if t > 0 else (33, 102, 172)
    a = abs(t)
    rgb = [round(w + (c - w) * a) for w, c in zip(white, end, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    matrix: Sequence[Sequence[object]],
    labels: Sequence[object],
    *,
    title: str = "",
    vmin: float = -1.0,
    vmax: float = 1.0,
    size: int = 360,
    col_labels: Sequence[object] | None = None,
) -> str:
    """Square-cell heatmap with a diverging colour scale and a legend bar.

    Args:
        matrix: Rows of values (``None`` draws a grey cell).
        labels: Row labels (and column labels unless ``col_labels`` is given).
        title: Chart title.
        vmin: Value at the blue end.
        vmax: Value at the red end.
        size: Width of the cell area in px (cells shrink as columns grow, 6 px at least).
        col_labels: Column labels when they differ from the row labels.

    Returns:
        An ``<svg>`` string.
    """
    rows = [list(r) for r in matrix]
    cols = list(col_labels) if col_labels is not None else list(labels)
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=0)
    head = 20 if title else 4
    if not n_rows or not n_cols:
        body = [_text(0, 14, title, weight="600")] if title else []
        body.append(_text(10, head + 20, "no data", color=MUTED))
        return _svg(260, head + 40, body, title or "heatmap")
    cell = max(min(size / n_cols, 44), 6)
    label_chars = 16
    label_w = min(max(len(str(s)) for s in labels), label_chars) * 10 * _CHAR_W + 6
    # Column labels are rotated 45 degrees: they need room above and to the right.
    top_w = min(max(len(str(s)) for s in cols), label_chars) * 10 * _CHAR_W * 0.72 + 8
    x0, y0 = label_w, head + top_w
    width = x0 + cell * n_cols + top_w
    legend_y = y0 + cell * n_rows + 14
    height = legend_y + 30
    body = []
    if title:
        body.append(_text(0, 14, title, weight="600", size=12))
    font = min(10, max(cell * 0.8, 6))
    show_values = cell >= 30
    for j, c in enumerate(cols[:n_cols]):
        x = x0 + (j + 0.5) * cell + font / 3
        body.append(_text(x, y0 - 4, truncate(c, label_chars), size=font, color=MUTED,
                          rotate=-45, full=c))
    for i, r in enumerate(rows):
        lab = labels[i] if i < len(labels) else ""
        body.append(_text(x0 - 4, y0 + (i + 0.5) * cell + font / 3, truncate(lab, label_chars),
                          anchor="end", size=font, color=MUTED, full=lab))
        for j in range(n_cols):
            v = r[j] if j < len(r) else None
            cname = cols[j] if j < len(cols) else ""
            shown = fmt_num(v, 2) if _is_num(v) else "n/a"
            body.append(_rect(x0 + j * cell, y0 + i * cell, cell - 0.5, cell - 0.5,
                              diverging_color(v, vmin, vmax), tip=f"{lab} \u00d7 {cname}: {shown}"))
            if show_values and _is_num(v):
                strong = abs(float(v) - (vmin + vmax) / 2) > (vmax - vmin) * 0.3
                body.append(_text(x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell + 3.5, shown,
                                  anchor="middle", size=10, color="#fff" if strong else TEXT))
    # Legend: a strip of discrete swatches (a gradient would need an element id).
    steps = 21
    lw = min(cell * n_cols, 220)
    for k in range(steps):
        v = vmin + (vmax - vmin) * k / (steps - 1)
        body.append(_rect(x0 + k * lw / steps, legend_y, lw / steps + 0.3, 8,
                          diverging_color(v, vmin, vmax)))
    body.append(_text(x0, legend_y + 20, fmt_num(vmin), size=10, color=MUTED))
    body.append(_text(x0 + lw / 2, legend_y + 20, fmt_num((vmin + vmax) / 2), anchor="middle",
                      size=10, color=MUTED))
    body.append(_text(x0 + lw, legend_y + 20, fmt_num(vmax), anchor="end", size=10, color=MUTED))
    return _svg(max(width, lw + x0 + 10), height, body, title or "heatmap")


def line_chart(
    x: Sequence[object],
    series: Mapping[str, Sequence[object]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 560,
    height: int = 240,
    colors: Sequence[str] = SERIES_COLORS,
) -> str:
    """Line chart of several series over shared x values (e.g. train and validation loss).

    Args:
        x: X values (numbers).
        series: ``{name: y values}``; ``None`` breaks the line.
        title: Chart title.
        x_label: X axis caption.
        y_label: Y axis caption.
        width: Drawing width in px.
        height: Drawing height in px.
        colors: Series colours in order.

    Returns:
        An ``<svg>`` string.
    """
    xs = _clean(x)
    ys = {name: _clean(vals) for name, vals in series.items()}
    head = 22 if title else 6
    body = []
    if title:
        body.append(_text(0, 14, title, weight="600", size=12))
    finite_x = [v for v in xs if v is not None]
    finite_y = [v for s in ys.values() for v in s if v is not None]
    if not finite_x or not finite_y:
        body.append(_text(width / 2, height / 2, "no data", anchor="middle", color=MUTED))
        return _svg(width, height, body, title or "line chart")
    x_lo, x_hi = min(finite_x), max(finite_x)
    y_lo, y_hi = min(finite_y), max(finite_y)
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = (y_hi - y_lo) * 0.05
    y_lo, y_hi = y_lo - pad, y_hi + pad
    left, right, top, bottom = 58, width - 10, head + 22, height - 36
    x_span = (x_hi - x_lo) or 1.0

    def sx(v: float) -> float:
        return left + (v - x_lo) / x_span * (right - left)

    def sy(v: float) -> float:
        return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top)

    for t in nice_ticks(y_lo, y_hi, 5):
        body.append(_line(left, sy(t), right, sy(t), GRID))
        body.append(_text(left - 5, sy(t) + 3, fmt_num(t), anchor="end", size=10, color=MUTED))
    for t in nice_ticks(x_lo, x_hi, 6):
        body.append(_line(sx(t), bottom, sx(t), bottom + 3, AXIS))
        body.append(_text(sx(t), bottom + 14, fmt_num(t), anchor="middle", size=10, color=MUTED))
    body.append(_line(left, bottom, right, bottom, AXIS))
    body.append(_line(left, top, left, bottom, AXIS))
    if x_label:
        body.append(_text((left + right) / 2, height - 6, x_label, anchor="middle", color=MUTED))
    if y_label:
        body.append(_text(12, (top + bottom) / 2, y_label, anchor="middle", color=MUTED,
                          rotate=-90))
    names = list(ys)
    for k, name in enumerate(names):
        color = colors[k % len(colors)]
        segment: list[str] = []
        for xv, yv in zip(xs, ys[name], strict=False):
            if xv is None or yv is None:
                if len(segment) > 1:
                    body.append(_polyline(segment, color))
                segment = []
                continue
            segment.append(f"{sx(xv):.1f},{sy(yv):.1f}")
        if len(segment) > 1:
            body.append(_polyline(segment, color))
        elif len(segment) == 1:
            cx, cy = segment[0].split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
    body.append(_legend([(n, colors[k % len(colors)]) for k, n in enumerate(names)], left,
                        head + 10, line=True))
    return _svg(width, height, body, title or "line chart")


def small_multiples(panels: Sequence[tuple[object, str]], *, caption: str = "") -> str:
    """Lay out many small charts in a grid that wraps with the page width (an HTML fragment).

    The grid is CSS (``.multiples`` in the report template), not one big SVG, so a laptop
    shows three or four panels per row and a phone one, never a sideways scroll.

    Args:
        panels: ``(label, svg)`` pairs; ``svg`` is trusted markup from this module, the label is
            escaped.
        caption: Optional caption under the grid.

    Returns:
        A ``<div class="multiples">`` string.
    """
    figures = "".join(
        f'<figure class="panel" data-column="{esc(label)}">{svg}</figure>' for label, svg in panels
    )
    cap = f'<p class="caption">{esc(caption)}</p>' if caption else ""
    return f'<div class="multiples">{figures}</div>{cap}'


__all__ = [
    "bar_chart",
    "category_bars",
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
