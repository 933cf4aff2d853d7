"""Histograms over shared bins: real against synthetic, suppressed bins shown as such."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from synthpipe.report.fmt import fmt_num, fmt_pct, is_num, truncate
from synthpipe.report.svg._draw import (
    AXIS,
    GRID,
    MUTED,
    REAL,
    SERIES_COLORS,
    SUPPRESSED,
    _clean,
    _hist_frame,
    _legend,
    _line,
    _polyline,
    _rect,
    _svg,
    _text,
)


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
        denom = denom if is_num(denom) and denom else sum(c for c in counts if c is not None)
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
