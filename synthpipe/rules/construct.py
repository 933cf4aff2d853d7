"""Keep rules by construction: model what the rules leave free, derive the rest.

Every model goes through :class:`TableRules` (see :class:`synthpipe.models.base.Synthesizer`),
so unconditional sampling, conditional sampling and rebalancing all get the same derived
columns:

- a column fixed by a :class:`~synthpipe.rules.kinds.Dependency`, :class:`~.Sum` or
  :class:`~.Product` is not modelled at all; it is computed from its sources after sampling;
- a numeric :class:`~.Order` ``a >= b`` whose gap is tighter than ``a`` itself is modelled as the
  gap ``a - b`` and rebuilt as ``b + max(gap, 0)``, held within ``a``'s real range (``gap``
  mode: ``b`` plus a gap can pass the largest real ``a``, and the range can only raise ``a``
  above ``b`` or lower it to a maximum that is at least every real ``b``); otherwise ``a`` is
  modelled as it is and raised to ``b`` where a sampled row breaks the rule (``clip`` mode).
  Declared orders between dates are kept the same way, after the date-order rules of
  :mod:`synthpipe.constraints`.

Rules are undone in one pass (orders, then derived columns): found rules never fix a column
another rule reads, and declared rules are checked for that when parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata
from synthpipe.rules.detect import detect_rules
from synthpipe.rules.kinds import Combination, Order, Rule, Sum, rule_from_state
from synthpipe.transform.numeric import restore_numeric

#: Suffix of the gap column that replaces an ordered numeric column while it is modelled.
GAP_SUFFIX = "__gap"
#: Suffix of the joint column that replaces a group of columns with fixed combinations.
JOINT_SUFFIX = "__joint"


class TableRules:
    """Declared and found rules of one table, applied before modelling and undone after.

    Args:
        declared: Rules from the run configuration (checked against the data by the caller).
        detect: Also look for rules in the training rows.
    """

    def __init__(self, declared: Iterable[Rule] = (), detect: bool = True) -> None:
        self.declared = list(declared)
        self.detect = detect
        self.rules_: list[Rule] = []
        self.gaps_: dict[str, str] = {}
        self.gap_ranges_: dict[str, tuple[float, float]] = {}

    # ------------------------------------------------------------------ fit / apply

    def fit(self, df: pd.DataFrame, metadata: TableMetadata) -> TableRules:
        """Keep the declared rules on ``df``'s columns and find the others."""
        rules = [r for r in self.declared if all(c in df.columns for c in r.columns)]
        if self.detect:
            rules += detect_rules(df, metadata, declared=rules)
        for r in rules:
            if isinstance(r, Sum):
                r.fit_range(df)
                r.solve = _solved_part(r, df, rules)
        self.rules_ = rules
        self.gaps_ = {}
        self.gap_ranges_ = {}
        for r in rules:
            if isinstance(r, Order) and _is_number(df[r.column]) and _is_number(df[r.sources[0]]) \
                    and r.column not in self.gaps_.values() and r.column not in self.derived \
                    and r.sources[0] not in self.derived:
                a = pd.to_numeric(df[r.column], errors="coerce")
                gap = a - pd.to_numeric(df[r.sources[0]], errors="coerce")
                if float(gap.std()) < float(a.std()) and r.sources[0] not in self.gaps_:
                    self.gaps_[r.column] = r.sources[0]
                    self.gap_ranges_[r.column] = (float(a.min()), float(a.max()))
        return self

    @property
    def derived(self) -> list[str]:
        """Columns computed from others, not modelled."""
        return [r.computed for r in self.rules_ if not isinstance(r, (Order, Combination))]

    @property
    def joint(self) -> list[Combination]:
        """Groups of columns modelled as one joint column."""
        return [r for r in self.rules_ if isinstance(r, Combination) and r.mode == "joint"]

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Drop derived columns; replace gap-modelled columns by their gap."""
        out = df.drop(columns=[c for c in self.derived if c in df.columns])
        for col, src in self.gaps_.items():
            if col not in out.columns or src not in df.columns:
                continue
            gap = pd.to_numeric(df[col], errors="coerce") - pd.to_numeric(df[src], errors="coerce")
            pos = out.columns.get_loc(col)
            out = out.drop(columns=[col])
            out.insert(pos, col + GAP_SUFFIX, gap.to_numpy(dtype="float64"))
        for r in self.joint:
            if not all(c in out.columns for c in r.columns):
                continue
            labels = [_joint_label(t) for t in r._tuples(out)]
            pos = out.columns.get_loc(r.column)
            out = out.drop(columns=list(r.columns))
            out.insert(pos, r.column + JOINT_SUFFIX, pd.Series(labels, index=out.index,
                                                               dtype=object))
        return out

    def inverse_transform(self, df: pd.DataFrame, dtypes: dict[str, Any],
                          columns: list[str]) -> pd.DataFrame:
        """Rebuild gap columns, derive the fixed ones, then enforce orders; ``columns`` in
        order."""
        out = df.copy()
        for r in self.joint:
            name = r.column + JOINT_SUFFIX
            if name not in out.columns:
                continue
            lookup = {_joint_label(t): t for t in r.allowed}
            # A label outside the real ones cannot come from the model's decoder; the most
            # common real combination stands in should one appear.
            rows = [lookup.get(v, r.allowed[0]) for v in out[name].tolist()]
            pos = out.columns.get_loc(name)
            out = out.drop(columns=[name])
            for i, col in enumerate(r.columns):
                values = pd.Series([row[i] for row in rows], index=out.index, dtype=object)
                out.insert(pos + i, col, _cast(values, dtypes.get(col, "object")))
        for r in self.rules_:
            if isinstance(r, Combination) and r.mode == "repair" \
                    and all(c in out.columns for c in r.columns):
                for col, values in r.repair(out).items():
                    out[col] = _cast(pd.Series(values, index=out.index, dtype=object),
                                     dtypes.get(col, "object"))
        for col, src in self.gaps_.items():
            name = col + GAP_SUFFIX
            if name not in out.columns:
                continue
            gap = np.clip(out[name].to_numpy(dtype="float64"), 0, None)
            base = pd.to_numeric(out[src], errors="coerce").to_numpy(dtype="float64")
            values = base + gap
            if col in self.gap_ranges_:
                values = np.maximum(np.clip(values, *self.gap_ranges_[col]), base)
            out[col] = _cast(pd.Series(values, index=out.index), dtypes.get(col, "float64"))
            out = out.drop(columns=[name])
        derived = set(self.derived)
        # Parts are scaled down for every total first, then every column is derived: a part
        # shared by two totals (paid_principal in loan_amount and paid_total) may be lowered by
        # the second, and the first total must be computed from its final value.
        for r in self.rules_:
            if isinstance(r, Sum):
                for part, values in r.rescale(out).items():
                    out[part] = _cast(pd.Series(values, index=out.index),
                                      dtypes.get(part, "float64"))
        for r in self.rules_:
            if r.computed in derived and not isinstance(r, Order):
                out[r.computed] = _cast(r.derive(out), dtypes.get(r.computed, "object"))
        for r in self.rules_:
            if not isinstance(r, Order) or not all(c in out.columns for c in r.columns):
                continue
            src = r.sources[0]
            if r.column in derived:
                # The derived side is fixed by its own rule: the free side gives way.
                low = out[src] > out[r.column]
                out[src] = _cast(out[src].where(~low, out[r.column]), dtypes.get(src, "float64"))
            else:
                out[r.column] = _cast(r.derive(out), dtypes.get(r.column, "float64"))
        return out[[c for c in columns if c in out.columns]]

    def transformed_metadata(self, metadata: TableMetadata) -> TableMetadata:
        """Metadata of the modelled columns: derived ones gone, gap columns numerical."""
        derived = set(self.derived)
        joint = {r.column: r for r in self.joint}
        grouped = {c for r in self.joint for c in r.sources}
        cols: dict[str, ColumnMeta] = {}
        for name, meta in metadata.columns.items():
            if name in derived or name in grouped:
                continue
            if name in joint:
                label = name + JOINT_SUFFIX
                cols[label] = ColumnMeta(name=label, kind=ColumnKind.CATEGORICAL, dtype="object",
                                         reason=f"joint labels of {', '.join(joint[name].columns)}")
                continue
            if name in self.gaps_:
                gap = name + GAP_SUFFIX
                cols[gap] = ColumnMeta(name=gap, kind=ColumnKind.NUMERICAL, dtype="float64",
                                       nullable=meta.nullable,
                                       reason=f"gap of {name} above {self.gaps_[name]}")
            else:
                cols[name] = meta
        return TableMetadata(cols)

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        return {"rules": [r.to_state() for r in self.rules_], "gaps": dict(self.gaps_),
                "gap_ranges": {c: list(v) for c, v in self.gap_ranges_.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> TableRules:
        obj = cls(detect=False)
        state = state or {}
        obj.rules_ = [rule_from_state(s) for s in state.get("rules", [])]
        obj.gaps_ = dict(state.get("gaps", {}))
        obj.gap_ranges_ = {c: (float(v[0]), float(v[1]))
                           for c, v in state.get("gap_ranges", {}).items()}
        return obj


#: A total is kept as modelled, and its most varied part computed instead, when that part has
#: this many times the total's distinct values (a round amount over exact balances).
SOLVE_PART_RATIO = 2.0


def _solved_part(rule: Sum, df: pd.DataFrame, rules: list[Rule]) -> str | None:
    """The part of ``rule`` to compute from the total and the other parts, or None (the
    total is computed). Only a part no other rule reads is chosen."""
    others = {c for r in rules if r is not rule for c in r.columns}
    free = [p for p in rule.sources if p not in others]
    if not free or rule.column in others:
        return None
    part = max(free, key=lambda p: df[p].nunique())
    if df[part].nunique() >= SOLVE_PART_RATIO * max(1, df[rule.column].nunique()):
        return part
    return None


def _joint_label(values: tuple) -> str:
    return " | ".join("<missing>" if v is None else str(v) for v in values)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    """Derived values in the column's training dtype."""
    target = pd.api.types.pandas_dtype(dtype)
    if pd.api.types.is_datetime64_any_dtype(target):
        return values.astype(target)
    if pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        missing = np.isnan(x)
        if not pd.api.types.is_float_dtype(target):
            x = np.round(x)
        s = restore_numeric(x, missing, dtype, str(values.name))
        s.index = values.index
        return s
    if pd.api.types.is_bool_dtype(target) and values.isna().any():
        return values.astype(object)
    if pd.api.types.is_object_dtype(target):
        return values.astype(object)
    return values.astype(target)
