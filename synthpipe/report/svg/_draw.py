"""Shared pieces of every chart: colours, sizes, axis ticks and the SVG elements themselves.

Each helper escapes the text it draws (:func:`synthpipe.report.fmt.esc`), so chart modules
never build markup from raw labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from synthpipe.report.fmt import esc, is_num, truncate

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
CHAR_W = 0.6


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
        cx += 24 + len(name) * FONT * CHAR_W
    return "".join(parts)


def _clean(values: Sequence[object]) -> list[float | None]:
    return [float(v) if is_num(v) else None for v in values]


def _hist_frame(
    title: str, width: int, height: int
) -> tuple[list[str], float, float, float, float]:
    body = []
    top = 20 if title else 6
    if title:
        body.append(_text(0, 13, truncate(title, int(width / (FONT * CHAR_W))), weight="600",
                          full=title))
    left, right, bottom = 38, width - 6, height - 34
    return body, left, right, top + 4, bottom


def _polyline(points: list[str], color: str) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
        f'stroke-width="2" stroke-linejoin="round"/>'
    )
