"""Row-level order rules that hold in the real data, kept exactly in the synthetic data.

A generative model learns ``incident_date`` and ``report_date`` as two distributions and will
happily emit a report before its incident. Where the real table shows that one datetime column
never precedes another (``report_date >= incident_date`` in every row), the rule is kept by
construction, in one of two ways:

- ``gap``: when the gap is tighter than the column itself (a report follows its incident by
  days, while incidents spread over years), the column is modelled as the non-negative gap from
  its anchor and rebuilt as ``anchor + max(gap, 0)``;
- ``clip``: when the gap is wider than the column (incidents in 2022-2025, policies started
  any time since 2007), modelling the gap would lose the column's own range, so the column is
  modelled as it is and raised to its anchor where a sampled row breaks the rule.

The anchors form a forest ordered by median date: each column's anchor is the earlier column,
always earlier, with the tightest gap, so chains such as
``policy_start_date <= incident_date <= report_date`` hold along their whole length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind, TableMetadata

log = logging.getLogger(__name__)

#: Suffix of the gap column that replaces a constrained column while it is modelled.
GAP_SUFFIX = "__gap_days"
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class OrderRule:
    """``column >= anchor`` in every real row, kept as a ``gap`` or by ``clip`` (see above)."""

    column: str
    anchor: str
    mode: str = "gap"
    #: The column's real range (ns since the epoch): an anchor plus a gap can pass the latest
    #: real date (a derived suite's range expectation then quarantines the run), so a rebuilt
    #: value is held within it, never before its anchor. None: a rule saved without it.
    low: float | None = None
    high: float | None = None

    @property
    def gap_column(self) -> str:
        return f"{self.column}{GAP_SUFFIX}"


class OrderConstraints:
    """Find, apply and undo datetime order rules on a table.

    Args:
        min_rows: Fewest rows with both values present for a rule to be trusted.
    """

    def __init__(self, min_rows: int = 20) -> None:
        self.min_rows = min_rows
        self.rules_: list[OrderRule] = []

    def fit(self, df: pd.DataFrame, metadata: TableMetadata) -> OrderConstraints:
        """Find the rules that hold in every row of ``df`` (datetime columns only)."""
        cols = [c for c in metadata.names(ColumnKind.DATETIME) if c in df.columns]
        ns = {c: _to_ns(df[c]) for c in cols}
        medians = {c: np.nanmedian(v) if np.isfinite(v).any() else np.nan for c, v in ns.items()}
        order = sorted((c for c in cols if np.isfinite(medians[c])), key=lambda c: medians[c])
        rules = []
        for i, col in enumerate(order):
            best, best_spread = None, np.inf
            b = ns[col]
            for anchor in order[:i]:
                a = ns[anchor]
                # The anchor must be present wherever the column is, or the rule loses values.
                if np.any(np.isfinite(b) & ~np.isfinite(a)):
                    continue
                both = np.isfinite(a) & np.isfinite(b)
                if both.sum() < self.min_rows or np.any(b[both] < a[both]):
                    continue
                spread = float(np.std(b[both] - a[both]))
                if spread < best_spread:
                    best, best_spread = anchor, spread
            if best is not None:
                mode = "gap" if best_spread < float(np.nanstd(b)) else "clip"
                rules.append(OrderRule(column=col, anchor=best, mode=mode,
                                       low=float(np.nanmin(b)), high=float(np.nanmax(b))))
        self.rules_ = rules
        for r in rules:
            log.info("order rule kept by construction (%s): %s >= %s", r.mode, r.column, r.anchor)
        return self

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Replace each constrained column by its gap (float days) from its anchor."""
        out = df.copy()
        for r in self.rules_:
            if r.mode != "gap" or r.column not in df.columns or r.anchor not in df.columns:
                continue
            # Gaps come from the original values: an anchor may itself be replaced by its gap.
            gap = (_to_ns(df[r.column]) - _to_ns(df[r.anchor])) / _NS_PER_DAY
            pos = out.columns.get_loc(r.column)
            out = out.drop(columns=[r.column])
            out.insert(pos, r.gap_column, gap)
        return out

    def inverse_transform(self, df: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
        """Rebuild gap columns as ``anchor + max(gap, 0)`` within the column's real range,
        and raise clipped ones to the anchor.

        Rules are undone in the order found, so an anchor that is itself constrained is final
        before the columns that hang on it. Columns keep their original dtype.
        """
        out = df.copy()
        for r in self.rules_:
            if r.mode == "clip" and r.column in out.columns and r.anchor in out.columns:
                late = out[r.column] < out[r.anchor]
                out.loc[late, r.column] = out.loc[late, r.anchor]
                continue
            if r.gap_column not in out.columns:
                continue
            gap_ns = np.clip(out[r.gap_column].to_numpy(dtype="float64"), 0, None) * _NS_PER_DAY
            anchor_ns = _to_ns(out[r.anchor])
            values = anchor_ns + np.round(gap_ns)
            if r.low is not None and r.high is not None:
                values = np.fmax(np.clip(values, r.low, r.high), anchor_ns)
            dtype = dtypes.get(r.column, "datetime64[ns]")
            rebuilt = pd.Series(
                pd.to_datetime(np.where(np.isfinite(values), values, np.nan), unit="ns"),
                index=out.index,
            )
            tz = getattr(pd.api.types.pandas_dtype(dtype), "tz", None)
            if tz is not None:
                rebuilt = rebuilt.dt.tz_localize("UTC").dt.tz_convert(tz)
            else:
                rebuilt = rebuilt.astype(dtype)
            pos = out.columns.get_loc(r.gap_column)
            out = out.drop(columns=[r.gap_column])
            out.insert(pos, r.column, rebuilt)
        return out

    def transformed_metadata(self, metadata: TableMetadata) -> TableMetadata:
        """Metadata of the transformed table: each gap column is numerical."""
        from synthpipe.metadata import ColumnMeta

        cols = {}
        replaced = {r.column: r for r in self.rules_ if r.mode == "gap"}
        for name, meta in metadata.columns.items():
            if name in replaced:
                r = replaced[name]
                cols[r.gap_column] = ColumnMeta(
                    name=r.gap_column,
                    kind=ColumnKind.NUMERICAL,
                    dtype="float64",
                    nullable=meta.nullable,
                    reason=f"gap in days of {r.column} after {r.anchor}",
                )
            else:
                cols[name] = meta
        return TableMetadata(cols)

    def to_state(self) -> dict:
        """JSON-able state."""
        return {"min_rows": self.min_rows,
                "rules": [{"column": r.column, "anchor": r.anchor, "mode": r.mode,
                           "low": r.low, "high": r.high} for r in self.rules_]}

    @classmethod
    def from_state(cls, state: dict) -> OrderConstraints:
        """Inverse of :meth:`to_state`."""
        obj = cls(min_rows=int(state.get("min_rows", 20)))
        obj.rules_ = [OrderRule(**r) for r in state.get("rules", [])]
        return obj


def _to_ns(s: pd.Series) -> np.ndarray:
    """Datetime series as float nanoseconds since the epoch (NaN where missing), tz-safe."""
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    values = s.astype("datetime64[ns]").to_numpy()
    out = values.astype("int64").astype("float64")
    out[pd.isna(values)] = np.nan
    return out
