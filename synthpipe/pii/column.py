"""What the detection rules see of one column: a weighted sample of its distinct values.

Patterns run once per distinct sampled value, weighted by how often it was sampled, so a
categorical column costs a handful of matches instead of thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind
from synthpipe.pii.names import normalize_name
from synthpipe.pii.text import canonical_text


@dataclass
class Column:
    """What the rules need to know about one column (computed once)."""

    name: str
    norm: str
    kind: ColumnKind | None
    n: int  # non-missing values
    nunique: int
    is_numeric: bool
    is_bool: bool
    is_datetime: bool
    is_string: bool
    values: pd.Series  # distinct sampled values as canonical text (synthpipe.pii.text)
    weights: np.ndarray  # share of the sample each distinct value stands for (sums to 1)
    n_sampled: int

    @property
    def unique_share(self) -> float:
        return self.nunique / self.n if self.n else 0.0

    def frac(self, mask: pd.Series | np.ndarray) -> float:
        """Share of the sample for which ``mask`` (one entry per distinct value) holds."""
        if not len(self.values):
            return 0.0
        return float(np.dot(np.asarray(mask, dtype=bool).astype(float), self.weights))

    def share(self, pattern: str, flags: int = 0) -> float:
        """Share of sampled values that fully match ``pattern``."""
        return self.frac(self.values.str.fullmatch(pattern, flags=flags))


def column_sample(
    name: object, s: pd.Series, kind: ColumnKind | None, sample_size: int, seed: int
) -> Column:
    """Sample up to ``sample_size`` non-missing values of ``s`` (seeded) and describe them."""
    non_null = s.dropna()
    n = len(non_null)
    raw = non_null.sample(n=sample_size, random_state=seed) if n > sample_size else non_null
    is_bool = pd.api.types.is_bool_dtype(s)
    is_dt = pd.api.types.is_datetime64_any_dtype(s)
    is_num = pd.api.types.is_numeric_dtype(s) and not is_bool
    counts = canonical_text(raw).value_counts()
    return Column(
        name=str(name),
        norm=normalize_name(name),
        kind=kind,
        n=n,
        nunique=int(non_null.nunique()) if n else 0,
        is_numeric=is_num,
        is_bool=is_bool,
        is_datetime=is_dt,
        is_string=not (is_bool or is_dt or is_num),
        values=pd.Series(counts.index, dtype=object),
        weights=(counts / max(len(raw), 1)).to_numpy(dtype=float),
        n_sampled=len(raw),
    )


def pct(x: float) -> str:
    """A share as a percentage with one decimal (for evidence lines)."""
    return f"{100 * x:.1f}%"
