"""Numbers and text as the report prints them (tables, chart labels and tooltips alike).

One formatter for the whole report, so a value reads the same in a table cell and on the bar
that draws it. :func:`esc` is the one escaping step for anything placed in HTML or SVG.
"""

from __future__ import annotations

import html
import math
import re

# XML 1.0 forbids most C0 control characters even when escaped; column names from a CSV can
# hold them, and one would make the whole report unparsable.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def is_num(x: object) -> bool:
    """True for a finite int or float (booleans are not numbers here)."""
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
    if not is_num(x):
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
    if not is_num(x):
        return "n/a"
    return f"{fmt_num(float(x) * 100, digits)}%"


def esc(text: object) -> str:
    """Escape any value for SVG/HTML text or attribute content (control characters removed)."""
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def truncate(text: object, max_chars: int) -> str:
    """Shorten ``text`` to ``max_chars`` characters with an ellipsis (unescaped result)."""
    s = str(text)
    return s if len(s) <= max_chars else s[: max(max_chars - 1, 1)] + "\u2026"


__all__ = ["esc", "fmt_num", "fmt_pct", "is_num", "truncate"]
