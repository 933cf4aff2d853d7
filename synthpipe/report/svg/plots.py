"""Heatmaps, line charts and the grid of small multiples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from synthpipe.report.fmt import esc, fmt_num, is_num, truncate
from synthpipe.report.svg._draw import (
    AXIS,
    CHAR_W,
    GRID,
    MUTED,
    SERIES_COLORS,
    TEXT,
    _clean,
    _legend,
    _line,
    _polyline,
    _rect,
    _svg,
    _text,
    nice_ticks,
)


def diverging_color(value: object, vmin: float = -1.0, vmax: float = 1.0) -> str:
    """Colour of ``value`` on a blue-white-red scale centred on the midpoint of the range.

    Missing values are grey. Blue is negative, red positive (as in most correlation plots).
    """
    if not is_num(value):
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
    label_w = min(max(len(str(s)) for s in labels), label_chars) * 10 * CHAR_W + 6
    # Column labels are rotated 45 degrees: they need room above and to the right.
    top_w = min(max(len(str(s)) for s in cols), label_chars) * 10 * CHAR_W * 0.72 + 8
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
            shown = fmt_num(v, 2) if is_num(v) else "n/a"
            body.append(_rect(x0 + j * cell, y0 + i * cell, cell - 0.5, cell - 0.5,
                              diverging_color(v, vmin, vmax), tip=f"{lab} \u00d7 {cname}: {shown}"))
            if show_values and is_num(v):
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


def curve_chart(
    curves: Mapping[str, tuple[Sequence[object], Sequence[object]]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    baseline: float | None = None,
    baseline_label: str = "",
    width: int = 460,
    height: int = 300,
    colors: Sequence[str] = SERIES_COLORS,
) -> str:
    """Curves on a unit square, each with its own x values (precision-recall, ROC).

    Args:
        curves: ``{name: (x values, y values)}``, values in [0, 1]; a ``None`` breaks a curve.
        title: Chart title.
        x_label: X axis caption.
        y_label: Y axis caption.
        baseline: Optional horizontal dashed line (e.g. the precision of guessing).
        baseline_label: Text written above the baseline.
        width: Drawing width in px.
        height: Drawing height in px.
        colors: Curve colours, in the order of ``curves``.

    Returns:
        An ``<svg>`` string.
    """
    head = 22 if title else 6
    body = [_text(0, 14, title, weight="600", size=12)] if title else []
    left, right, top, bottom = 46, width - 12, head + 22, height - 36

    def sx(v: float) -> float:
        return left + min(max(v, 0.0), 1.0) * (right - left)

    def sy(v: float) -> float:
        return bottom - min(max(v, 0.0), 1.0) * (bottom - top)

    for t in nice_ticks(0.0, 1.0, 5):
        body.append(_line(left, sy(t), right, sy(t), GRID))
        body.append(_line(sx(t), top, sx(t), bottom, GRID))
        body.append(_text(left - 5, sy(t) + 3, fmt_num(t), anchor="end", size=10, color=MUTED))
        body.append(_text(sx(t), bottom + 14, fmt_num(t), anchor="middle", size=10, color=MUTED))
    body.append(_line(left, bottom, right, bottom, AXIS))
    body.append(_line(left, top, left, bottom, AXIS))
    if x_label:
        body.append(_text((left + right) / 2, height - 6, x_label, anchor="middle", color=MUTED))
    if y_label:
        body.append(_text(12, (top + bottom) / 2, y_label, anchor="middle", color=MUTED,
                          rotate=-90))
    if baseline is not None and is_num(baseline):
        y = sy(float(baseline))
        body.append(_line(left, y, right, y, AXIS, 1, "4 3"))
        if baseline_label:
            body.append(_text(right - 4, y - 4, baseline_label, anchor="end", size=10,
                              color=MUTED))
    names = list(curves)
    for k, name in enumerate(names):
        xs, ys = (_clean(v) for v in curves[name])
        segment: list[str] = []
        for xv, yv in zip(xs, ys, strict=False):
            if xv is None or yv is None:
                if len(segment) > 1:
                    body.append(_polyline(segment, colors[k % len(colors)]))
                segment = []
                continue
            segment.append(f"{sx(xv):.1f},{sy(yv):.1f}")
        if len(segment) > 1:
            body.append(_polyline(segment, colors[k % len(colors)]))
    if not names:
        body.append(_text(width / 2, height / 2, "no data", anchor="middle", color=MUTED))
    body.append(_legend([(n, colors[k % len(colors)]) for k, n in enumerate(names)], left,
                        head + 10, line=True))
    return _svg(width, height, body, title or "curves")


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
