"""Aggregated, privacy-floored column distributions for the report's real-vs-synthetic plots.

The real rows never reach the run folder, so the pipeline stores these profiles in
``metrics["profiles"]`` and the report plots them (see :func:`column_profiles`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import InputError
from synthpipe.metadata import ColumnKind, TableMetadata

#: Privacy floor of the profiles: a histogram bin or category with fewer rows than this is not
#: published (see :func:`column_profiles`).
MIN_COUNT = 5

_NUMERIC_KINDS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)
#: Seconds in a day (datetime bins and their labels).
DAY = 86_400.0
# Histogram range: the central 99% of values when the full range is more than _TRIM_SPAN
# times wider (long tails), for tables of at least _TRIM_MIN_ROWS rows.
_TRIM_Q = 0.005
_TRIM_SPAN = 3.0
_TRIM_MIN_ROWS = 200
# Candidate bin widths for datetime histograms, in seconds: calendar-like steps read better
# than 1-2-5 multiples of a second.
_DATE_STEPS = (
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0,
    12 * 3600.0, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY, 91 * DAY,
    182 * DAY, 365 * DAY, 2 * 365 * DAY, 5 * 365 * DAY, 10 * 365 * DAY, 25 * 365 * DAY,
    50 * 365 * DAY, 100 * 365 * DAY,
)


def column_profiles(
    df: pd.DataFrame,
    metadata: TableMetadata,
    bins: int = 20,
    min_count: int = MIN_COUNT,
    edges: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Aggregated distribution of every modelled column, safe to store beside the run.

    Numerical and datetime columns get a histogram; categorical and boolean columns the
    frequencies of their most common categories. Only counts leave this function, never a row.
    Identifier and free-text columns are not profiled (they are regenerated, not modelled).

    Privacy rule: a cell (histogram bin, category, the "other" bucket or the missing count) with
    fewer than ``min_count`` rows is published as ``None``, and a category that rare is not even
    named (its rows go to "other"). When exactly one labelled cell of a column is suppressed,
    another is suppressed too (the "other" bucket if it has rows, else the next smallest), so
    the hidden count cannot be recovered by subtracting the others from the row total.
    Histogram ranges are widened to round numbers so the exact minimum and maximum (often one
    person's value) are not published either; for long-tailed columns the range is the central
    99% of values and the tails are counted as ``below``/``above``. Infinite values count as
    missing.

    Args:
        df: The table (train or synthetic rows).
        metadata: Column kinds; only ``metadata.modelled`` columns present in ``df`` are profiled.
        bins: Histogram bins (about: ranges are rounded), and the number of most frequent
            categories kept; the rest go to ``"other"``.
        min_count: Smallest count published (0 or 1 publishes everything).
        edges: Reuse another profile's bins so bars align: ``{column: profile}`` (e.g. the real
            profile when profiling synthetic rows) or ``{column: bin edges | category list}``.

    Returns:
        ``{column: profile}``. A histogram profile is ``{"kind", "type": "histogram",
        "datetime", "edges", "counts", "missing", "below", "above", "n", "min_count"}``
        (``below``/``above``: rows outside the edges); a category profile is ``{"kind",
        "type": "categories", "categories", "counts", "other", "missing", "n", "min_count"}``.

    Raises:
        InputError: ``bins`` below 1 or ``min_count`` negative.
    """
    if bins < 1:
        raise InputError(f"bins must be at least 1, got {bins}", hint="use e.g. bins=20")
    if min_count < 0:
        raise InputError(f"min_count must be 0 or more, got {min_count}", hint="use e.g. 5")
    out: dict[str, dict[str, Any]] = {}
    for col in metadata.modelled:
        if col not in df.columns:
            continue
        kind = metadata.kind(col)
        given = _given_edges(edges, col)
        if kind in _NUMERIC_KINDS:
            out[col] = _histogram_profile(df[col], kind, bins, min_count, given)
        else:
            out[col] = _category_profile(df[col], kind, bins, min_count, given)
    return out


def _given_edges(edges: Mapping[str, Any] | None, col: str) -> list | None:
    if not edges or col not in edges:
        return None
    value = edges[col]
    if isinstance(value, Mapping):
        value = value.get("edges", value.get("categories"))
    return list(value) if value is not None else None


def _suppress(
    cells: np.ndarray, min_count: int, anonymous: np.ndarray | None = None
) -> np.ndarray:
    """Mask of cells to withhold: those below ``min_count``, plus one complementary cell when a
    single labelled cell is withheld (else its count would follow from the row total).

    ``anonymous`` marks cells that name nobody's value (the "other" bucket of merged rare
    categories): recovering their count by subtraction discloses nothing, so they need no
    complement, and they are the preferred complement for a labelled cell.
    """
    anonymous = np.zeros(len(cells), dtype=bool) if anonymous is None else anonymous
    mask = (cells > 0) & (cells < min_count)
    if mask.sum() == 1 and not anonymous[mask].any():
        others = np.flatnonzero(~mask & (cells > 0))
        if len(others):
            preferred = others[anonymous[others]]
            pool = preferred if len(preferred) else others
            mask[pool[np.argmin(cells[pool])]] = True
    return mask


def _published(values: np.ndarray, mask: np.ndarray) -> list[int | None]:
    return [None if m else int(v) for v, m in zip(values.tolist(), mask.tolist(), strict=True)]


def _as_seconds(s: pd.Series) -> np.ndarray:
    """Datetimes as float seconds since the epoch (UTC), NaN for missing."""
    dt = pd.to_datetime(s, errors="coerce", utc=True)
    ns = dt.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    ns[dt.isna().to_numpy()] = np.nan
    return ns / 1e9


def _as_float(s: pd.Series, kind: ColumnKind) -> np.ndarray:
    if kind == ColumnKind.DATETIME or pd.api.types.is_datetime64_any_dtype(s):
        return _as_seconds(s)
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _nice_edges(lo: float, hi: float, bins: int, is_datetime: bool) -> np.ndarray:
    """Bin edges on round numbers covering ``[lo, hi]`` with about ``bins`` bins."""
    raw = (hi - lo) / bins
    if is_datetime:
        step = next((s for s in _DATE_STEPS if s >= raw), _DATE_STEPS[-1])
        if raw > step:
            step = math.ceil(raw / step) * step
    else:
        if raw <= 0:
            raw = abs(lo) * 0.1 or 1.0
        power = 10.0 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    start = math.floor(lo / step) * step
    n = max(int(math.ceil((hi - start) / step - 1e-9)), 1)
    if start + n * step < hi:
        n += 1
    # Rounded to 12 significant digits so JSON shows 0.3, not 0.30000000000000004.
    return np.array([float(f"{start + i * step:.12g}") for i in range(n + 1)])


def _histogram_profile(
    s: pd.Series, kind: ColumnKind, bins: int, min_count: int, given: list | None
) -> dict[str, Any]:
    is_dt = kind == ColumnKind.DATETIME
    values = _as_float(s, kind)
    finite = values[np.isfinite(values)]
    missing = len(values) - len(finite)
    below = above = 0
    if given is not None and len(given) >= 2:
        edges = np.asarray(given, dtype="float64")
        below = int((finite < edges[0]).sum())
        above = int((finite > edges[-1]).sum())
    elif len(finite):
        lo, hi = float(finite.min()), float(finite.max())
        if len(finite) >= _TRIM_MIN_ROWS:
            q_lo, q_hi = (float(q) for q in np.quantile(finite, [_TRIM_Q, 1 - _TRIM_Q]))
            # A long tail (a few huge claims) would squeeze everything else into one bin:
            # plot the central range and count the tails as below/above.
            if q_hi > q_lo and (hi - lo) > _TRIM_SPAN * (q_hi - q_lo):
                lo, hi = q_lo, q_hi
        edges = _nice_edges(lo, hi, bins, is_dt)
        below = int((finite < edges[0]).sum())
        above = int((finite > edges[-1]).sum())
    else:
        edges = np.array([], dtype="float64")
    counts = np.histogram(finite, bins=edges)[0] if len(edges) >= 2 else np.array([], dtype=int)
    cells = np.concatenate([counts, [missing, below, above]]).astype("int64")
    mask = _suppress(cells, min_count)
    pub = _published(cells, mask)
    return {
        "kind": kind.value,
        "type": "histogram",
        "datetime": is_dt,
        "edges": [float(e) for e in edges],
        "counts": pub[: len(counts)],
        "missing": pub[len(counts)],
        "below": pub[len(counts) + 1],
        "above": pub[len(counts) + 2],
        "n": int(len(values)),
        "min_count": int(min_count),
    }


def _labels(s: pd.Series) -> pd.Series:
    """Category labels as strings that agree across dtypes (1, 1.0 and "1" are one label)."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "True", False: "False"}).astype(object)
    if pd.api.types.is_numeric_dtype(s):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(v)
        whole = finite & (np.mod(np.where(finite, v, 0), 1) == 0)
        text = np.where(whole, np.where(finite, v, 0).astype("int64").astype(str), v.astype(str))
        return pd.Series(np.where(np.isnan(v), None, text), index=s.index, dtype=object)
    out = s.astype(object).where(s.notna(), None)
    return out.map(lambda v: v if v is None else str(v))


def _category_profile(
    s: pd.Series, kind: ColumnKind, bins: int, min_count: int, given: list | None
) -> dict[str, Any]:
    labels = _labels(s)
    present = labels.dropna()
    missing = int(len(labels) - len(present))
    # Sorted by count, then label, so equal counts always come out in the same order.
    vc = present.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    if given is not None:
        cats = [str(c) for c in given]
        counts = vc.reindex(cats, fill_value=0).to_numpy(dtype="int64")
    else:
        keep = vc[vc >= max(min_count, 1)].head(bins)
        cats = [str(c) for c in keep.index]
        counts = keep.to_numpy(dtype="int64")
    other = int(len(present) - counts.sum())
    cells = np.concatenate([counts, [other, missing]]).astype("int64")
    anonymous = np.zeros(len(cells), dtype=bool)
    anonymous[len(cats)] = True
    mask = _suppress(cells, min_count, anonymous)
    pub = _published(cells, mask)
    return {
        "kind": kind.value,
        "type": "categories",
        "categories": cats,
        "counts": pub[: len(cats)],
        "other": pub[len(cats)],
        "missing": pub[len(cats) + 1],
        "n": int(len(labels)),
        "min_count": int(min_count),
    }


__all__ = ["DAY", "MIN_COUNT", "column_profiles"]
