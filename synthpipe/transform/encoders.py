"""Per-kind column encoders: one pandas column <-> a few numeric parts.

Each encoder turns one column into *parts*, one per output span (see
:class:`synthpipe.transform.Span`): a continuous part is a float array of shape ``(n,)``, a
discrete part is an int array of category codes of shape ``(n,)``. The table transformer lays the
parts out (continuous first, then one-hot blocks) and inverts them. Every encoder is vectorized
and stores its fitted state as plain JSON (lists, floats, strings) so a saved model never needs
pickle.

Privacy decision for categories: values seen fewer than ``rare_min_count`` times (and those beyond
``max_categories`` by frequency) are merged into one bucket for training. That bucket never
decodes to a real rare value, nor to a placeholder: a row the model puts in the bucket is given
one of the *kept* labels (see :class:`CategoricalEncoder` for how it is chosen). A numeric code
column (counts such as ``prior_claims``) has no bucket: a rare number is merged into the nearest
frequent one (top- and bottom-coding, the usual disclosure-control practice), so the column
keeps its dtype and no rare number is copied out. Decoding a bucket to "the most frequent rare
value" would copy out exactly the values the protection is for; decoding it to a placeholder
(``"__rare__"``, :data:`synthpipe.metadata.RARE_PLACEHOLDER`) published a value no real row
has, which every consumer of the table would have to know to filter.

Precision: the encoded table is float32. Integers and timestamps decode exactly (they are
rounded to their unit) as long as their range, counted in their own unit, stays below about
10^6-10^7 (e.g. dates over millennia, seconds over a few months, integers up to millions);
wider ranges decode to within about 1e-7 of the range. Floats decode to within that precision.
"""

from __future__ import annotations

import logging
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from threadpoolctl import threadpool_limits

from synthpipe.errors import InputError, ModelError

logger = logging.getLogger(__name__)

# Keeps the normal quantile function finite at the ends of the fitted range.
_EPS = 1e-7
_MODE_FIT_MAX_ROWS = 20_000
_NS_PER_UNIT = {
    "D": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "min": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}


@dataclass(frozen=True)
class Span:
    """One block of the encoded table.

    Attributes:
        column: Source column.
        kind: ``"continuous"`` (one dimension, roughly N(0, 1)) or ``"discrete"`` (a one-hot
            block of ``dim`` categories).
        dim: Width of the block.
        role: ``"value"``, ``"missing"`` (missing indicator of ``column``) or ``"mode"``
            (component of a mode-specific normalization).
    """

    column: str
    kind: str
    dim: int
    role: str = "value"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"column": self.column, "kind": self.kind, "dim": self.dim, "role": self.role}


def _native(v: Any) -> Any:
    """A numpy scalar as the equivalent Python value (JSON needs natives)."""
    return v.item() if isinstance(v, np.generic) else v


class ColumnEncoder:
    """Base of the per-kind encoders.

    Subclasses implement :meth:`fit`, :meth:`spans`, :meth:`encode`, :meth:`decode`,
    :meth:`to_state` and :meth:`_set_state`.
    """

    kind: ClassVar[str] = ""

    def __init__(self, column: str) -> None:
        self.column = column

    def fit(self, s: pd.Series) -> ColumnEncoder:  # pragma: no cover - interface
        raise NotImplementedError

    def spans(self) -> list[Span]:  # pragma: no cover - interface
        raise NotImplementedError

    def encode(self, s: pd.Series) -> list[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, parts: list[np.ndarray]) -> pd.Series:  # pragma: no cover - interface
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def from_state(state: dict[str, Any]) -> ColumnEncoder:
        """Rebuild a fitted encoder from :meth:`to_state` output."""
        cls = _ENCODERS.get(state.get("type", ""))
        if cls is None:
            raise ModelError(
                f"unknown column encoder type {state.get('type')!r} in saved state",
                hint="the model was saved by an incompatible synthpipe version; refit it",
            )
        enc = cls.__new__(cls)
        enc.column = state["column"]
        enc._set_state(state)
        return enc


# --------------------------------------------------------------------------- numbers


class QuantileNormal:
    """Monotone map of a 1-D sample to a standard normal, and back.

    Ties are mapped to the middle of their quantile range (the mean of the forward and the
    mirrored interpolation), so a value repeated many times (e.g. zero) maps to one point and
    decodes back exactly.
    """

    def __init__(self, quantiles: np.ndarray, references: np.ndarray) -> None:
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.references = np.asarray(references, dtype=np.float64)

    @classmethod
    def fit(cls, values: np.ndarray, max_quantiles: int = 1000) -> QuantileNormal:
        """Fit on finite float values (at least one)."""
        n_q = int(max(2, min(max_quantiles, values.size)))
        refs = np.linspace(0.0, 1.0, n_q)
        quantiles = np.quantile(values, refs)
        # np.quantile can be non-monotone by one ulp; interpolation needs sorted points.
        quantiles = np.maximum.accumulate(quantiles)
        return cls(quantiles, refs)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Values -> N(0, 1) scores."""
        q, r = self.quantiles, self.references
        u = 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))
        # Squeezed (not clipped) into [eps, 1 - eps]: the ends stay finite and invertible.
        return ndtri(_EPS + (1.0 - 2.0 * _EPS) * u)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """N(0, 1) scores -> values, inside the fitted range."""
        u = (ndtr(np.asarray(z, dtype=np.float64)) - _EPS) / (1.0 - 2.0 * _EPS)
        return np.interp(np.clip(u, 0.0, 1.0), self.references, self.quantiles)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"quantiles": self.quantiles.tolist(), "references": self.references.tolist()}


class ModeNormal:
    """Mode-specific normalization (CTGAN-style) with the mixture stored as plain numbers.

    A variational Gaussian mixture is fitted per column; a value becomes a mode index (sampled
    in proportion to the component responsibilities, seeded) and a scalar ``(x - mean) / std``
    of that mode.
    """

    def __init__(self, means: np.ndarray, stds: np.ndarray, weights: np.ndarray) -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.stds = np.asarray(stds, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)

    @classmethod
    def fit(cls, values: np.ndarray, max_modes: int = 10, seed: int = 0,
            weight_threshold: float = 0.005) -> ModeNormal:
        """Fit a Dirichlet-process mixture and keep the components with real weight."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        if values.size > _MODE_FIT_MAX_ROWS:
            # The mixture only needs the shape of the distribution; a seeded subsample keeps a
            # million-row column from costing minutes.
            values = np.random.default_rng(seed).choice(values, _MODE_FIT_MAX_ROWS, replace=False)
        distinct = np.unique(values)
        n_comp = int(max(1, min(max_modes, distinct.size)))
        if distinct.size == 1:
            return cls(distinct[:1], np.array([1.0]), np.array([1.0]))
        gm = BayesianGaussianMixture(
            n_components=n_comp,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=100,
            n_init=1,
            random_state=seed,
        )
        with warnings.catch_warnings(), threadpool_limits(1):
            # 100 iterations are the CTGAN budget; an unconverged fit is still a usable mixture.
            # One BLAS thread: on a 1-D problem more threads only add synchronisation.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(values.reshape(-1, 1))
        keep = gm.weights_ > weight_threshold
        if not keep.any():
            keep[np.argmax(gm.weights_)] = True
        means = gm.means_.reshape(-1)[keep]
        stds = np.sqrt(gm.covariances_.reshape(-1)[keep])
        # A component collapsed onto one value would divide by ~0; floor at a scale-aware size.
        floor = max(1e-6, 1e-3 * float(np.std(values)))
        stds = np.maximum(stds, floor)
        weights = gm.weights_[keep] / gm.weights_[keep].sum()
        order = np.argsort(means)
        return cls(means[order], stds[order], weights[order])

    @property
    def n_modes(self) -> int:
        """Number of kept components."""
        return int(self.means.size)

    def forward(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Values -> (scalar within mode, mode index)."""
        logp = (
            -0.5 * ((x[:, None] - self.means[None, :]) / self.stds[None, :]) ** 2
            - np.log(self.stds)[None, :]
            + np.log(self.weights)[None, :]
        )
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        p /= p.sum(axis=1, keepdims=True)
        # Inverse-CDF sampling of one mode per row, vectorized.
        u = rng.random(x.size)[:, None]
        mode = (np.cumsum(p, axis=1) < u).sum(axis=1)
        mode = np.minimum(mode, self.n_modes - 1)
        scalar = (x - self.means[mode]) / self.stds[mode]
        return scalar, mode

    def inverse(self, scalar: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """(scalar, mode index) -> values."""
        return scalar * self.stds[mode] + self.means[mode]

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "weights": self.weights.tolist(),
        }


class NumericalEncoder(ColumnEncoder):
    """Floats and ints (numpy or pandas nullable): quantile-normal or mode-specific.

    Missing values become an imputed value (the median, i.e. 0 in normal space) plus a 2-dim
    missing-indicator span. Integers are rounded and the input's dtype is restored; decoded
    values are clipped to the fitted range.

    Args:
        column: Column name.
        method: ``"quantile"`` or ``"mode"``.
        max_quantiles: Quantile grid size (capped at the number of values).
        max_modes: Mixture components for ``"mode"``.
        seed: Seeds the mixture fit and the mode assignment.
    """

    kind = "numerical"

    def __init__(self, column: str, method: str = "quantile", max_quantiles: int = 1000,
                 max_modes: int = 10, seed: int = 0) -> None:
        super().__init__(column)
        if method not in ("quantile", "mode"):
            raise ModelError(
                f"unknown numerical encoding {method!r}", hint="use 'quantile' or 'mode'"
            )
        self.method = method
        self.max_quantiles = max_quantiles
        self.max_modes = max_modes
        self.seed = seed

    def _values(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Float values (NaN where missing) and the missing mask."""
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise InputError(
                f"column {self.column!r} is declared numerical but holds {s.dtype} values",
                hint="fix its kind in the metadata file or convert it to numbers",
            )
        v = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        missing = ~np.isfinite(v)
        return v, missing

    def fit(self, s: pd.Series) -> NumericalEncoder:
        """Learn the value distribution of ``s``."""
        v, missing = self._values(s)
        obs = v[~missing]
        if obs.size == 0:
            # Nothing to learn; decode will give all-missing.
            obs = np.array([0.0])
        self.dtype = str(s.dtype)
        self.is_integer = bool(np.all(np.mod(obs, 1) == 0))
        self.nullable = bool(missing.any())
        self.all_missing = bool(missing.all())
        self.min = float(obs.min())
        self.max = float(obs.max())
        if self.method == "quantile":
            self.qn = QuantileNormal.fit(obs, self.max_quantiles)
            self.mn = None
        else:
            self.mn = ModeNormal.fit(obs, self.max_modes, self.seed)
            self.qn = None
        self.impute = float(np.median(obs))
        return self

    def spans(self) -> list[Span]:
        """Value span, mode span (mode method), missing span (nullable columns)."""
        out = [Span(self.column, "continuous", 1, "value")]
        if self.mn is not None:
            out.append(Span(self.column, "discrete", self.mn.n_modes, "mode"))
        if self.nullable:
            out.append(Span(self.column, "discrete", 2, "missing"))
        return out

    def encode(self, s: pd.Series) -> list[np.ndarray]:
        """Column -> parts in :meth:`spans` order."""
        v, missing = self._values(s)
        v = np.where(missing, self.impute, v)
        if self.mn is not None:
            scalar, mode = self.mn.forward(v, np.random.default_rng(self.seed))
            parts = [scalar, mode]
        else:
            parts = [self.qn.forward(v)]
        if self.nullable:
            parts.append(missing.astype(np.int64))
        elif missing.any():
            logger.warning(
                "column %r had no missing values at fit time; %d missing imputed",
                self.column, int(missing.sum()),
            )
        return parts

    def decode(self, parts: list[np.ndarray]) -> pd.Series:
        """Parts -> column with the input's dtype and missing representation."""
        if self.mn is not None:
            x = self.mn.inverse(np.asarray(parts[0], dtype=np.float64), parts[1])
        else:
            x = self.qn.inverse(parts[0])
        x = np.clip(x, self.min, self.max)
        if self.is_integer:
            x = np.round(x)
        missing = parts[-1].astype(bool) if self.nullable else np.zeros(x.size, dtype=bool)
        if self.all_missing:
            missing[:] = True
        return _restore_numeric(x, missing, self.dtype, self.column)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {
            "type": "numerical",
            "column": self.column,
            "method": self.method,
            "max_quantiles": self.max_quantiles,
            "max_modes": self.max_modes,
            "seed": self.seed,
            "dtype": self.dtype,
            "is_integer": self.is_integer,
            "nullable": self.nullable,
            "all_missing": self.all_missing,
            "min": self.min,
            "max": self.max,
            "impute": self.impute,
            "quantile": self.qn.to_state() if self.qn is not None else None,
            "modes": self.mn.to_state() if self.mn is not None else None,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        for key in ("method", "max_quantiles", "max_modes", "seed", "dtype", "is_integer",
                    "nullable", "all_missing", "min", "max", "impute"):
            setattr(self, key, state[key])
        q, m = state["quantile"], state["modes"]
        self.qn = QuantileNormal(q["quantiles"], q["references"]) if q else None
        self.mn = ModeNormal(m["means"], m["stds"], m["weights"]) if m else None


def _restore_numeric(x: np.ndarray, missing: np.ndarray, dtype: str, column: str) -> pd.Series:
    """Float values + missing mask -> a Series of ``dtype`` (nullable where needed)."""
    target = pd.api.types.pandas_dtype(dtype)
    if isinstance(target, pd.api.extensions.ExtensionDtype):
        # Int64 / Float64 / UInt8...: pd.NA is their missing value.
        arr = pd.array(np.where(missing, 0, x), dtype=target)
        arr[missing] = pd.NA
        return pd.Series(arr, name=column)
    if np.issubdtype(target, np.integer):
        if missing.any():
            # A numpy int column cannot hold a gap; the nullable twin can.
            arr = pd.array(np.where(missing, 0, x).astype(np.int64), dtype="Int64")
            arr[missing] = pd.NA
            return pd.Series(arr, name=column)
        return pd.Series(x.astype(target), name=column)
    return pd.Series(np.where(missing, np.nan, x).astype(target), name=column)


# --------------------------------------------------------------------------- datetimes


class DatetimeEncoder(ColumnEncoder):
    """Timestamps -> numbers (in the column's own time granularity) -> quantile normal.

    The granularity is the coarsest unit (day, hour, minute, second, ms, us, ns) that every
    value is a multiple of, in wall-clock time; decoded values are rounded to it, so date-only
    columns stay at midnight and round trips are exact. The input's dtype (resolution and time
    zone) is restored. Time-zone aware columns are modelled in local wall-clock time; on decode a
    local time that does not exist (DST gap) is shifted forward, an ambiguous one takes standard
    time.
    """

    kind = "datetime"

    def __init__(self, column: str, max_quantiles: int = 1000) -> None:
        super().__init__(column)
        self.max_quantiles = max_quantiles

    def _wall_ns(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        if not pd.api.types.is_datetime64_any_dtype(s):
            raise InputError(
                f"column {self.column!r} is declared datetime but holds {s.dtype} values",
                hint="parse it first (synthpipe.metadata.parse_date_columns) or fix its kind",
            )
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
        s = s.astype("datetime64[ns]")
        missing = s.isna().to_numpy()
        ns = s.to_numpy().view(np.int64)
        return ns, missing

    def fit(self, s: pd.Series) -> DatetimeEncoder:
        """Learn granularity and distribution."""
        ns, missing = self._wall_ns(s)
        obs = ns[~missing]
        self.dtype = str(s.dtype)
        self.nullable = bool(missing.any())
        self.all_missing = bool(missing.all())
        self.unit = "ns"
        if obs.size:
            for unit, size in _NS_PER_UNIT.items():
                if np.all(obs % size == 0):
                    self.unit = unit
                    break
        else:
            obs = np.array([0], dtype=np.int64)
        self.offset = int(obs.min())
        units = self._to_units(obs)
        self.max_units = float(units.max())
        self.qn = QuantileNormal.fit(units, self.max_quantiles)
        self.impute = float(np.median(units))
        return self

    def _to_units(self, ns: np.ndarray) -> np.ndarray:
        # Offsetting by the minimum keeps the numbers small enough for exact float64.
        return ((ns - self.offset) // _NS_PER_UNIT[self.unit]).astype(np.float64)

    def spans(self) -> list[Span]:
        """Value span plus a missing span for nullable columns."""
        out = [Span(self.column, "continuous", 1, "value")]
        if self.nullable:
            out.append(Span(self.column, "discrete", 2, "missing"))
        return out

    def encode(self, s: pd.Series) -> list[np.ndarray]:
        """Column -> parts."""
        ns, missing = self._wall_ns(s)
        units = np.where(missing, self.impute, self._to_units(np.where(missing, self.offset, ns)))
        parts = [self.qn.forward(units)]
        if self.nullable:
            parts.append(missing.astype(np.int64))
        return parts

    def decode(self, parts: list[np.ndarray]) -> pd.Series:
        """Parts -> timestamps of the input's dtype."""
        units = np.clip(np.round(self.qn.inverse(parts[0])), 0.0, self.max_units)
        ns = units.astype(np.int64) * _NS_PER_UNIT[self.unit] + self.offset
        missing = parts[-1].astype(bool) if self.nullable else np.zeros(ns.size, dtype=bool)
        if self.all_missing:
            missing[:] = True
        values = ns.view("datetime64[ns]").copy()
        values[missing] = np.datetime64("NaT")
        out = pd.Series(values, name=self.column)
        target = pd.api.types.pandas_dtype(self.dtype)
        if isinstance(target, pd.DatetimeTZDtype):
            out = out.dt.tz_localize(
                target.tz, ambiguous=np.zeros(ns.size, dtype=bool), nonexistent="shift_forward"
            )
        return out.astype(target)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {
            "type": "datetime",
            "column": self.column,
            "max_quantiles": self.max_quantiles,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "all_missing": self.all_missing,
            "unit": self.unit,
            "offset": self.offset,
            "max_units": self.max_units,
            "impute": self.impute,
            "quantile": self.qn.to_state(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        for key in ("max_quantiles", "dtype", "nullable", "all_missing", "unit", "offset",
                    "max_units", "impute"):
            setattr(self, key, state[key])
        self.qn = QuantileNormal(state["quantile"]["quantiles"], state["quantile"]["references"])


# --------------------------------------------------------------------------- categories


class CategoricalEncoder(ColumnEncoder):
    """Labels -> one category code; missing is its own category; rare labels merged.

    Categories are ordered by frequency. Labels seen fewer than ``rare_min_count`` times, and
    labels beyond the ``max_categories`` most frequent, share one bucket for training. Labels
    unseen at fit time are encoded as that bucket, or as the most frequent label when there is
    no bucket.

    Decoding the bucket. The bucket stands for "one of the rare labels"; none of those may be
    published (each is held by a few people), so a row decoded to the bucket is given a *kept*
    label instead, chosen as the model would have chosen had the bucket not existed:

    - When the model's output for the column is a set of scores (the flow model's relaxed
      one-hots, or logits), the bucket is taken out and the same rule that decodes every
      other row applies: the kept label with the highest score (for relaxed one-hots, the
      nearest kept vertex). The choice then follows the row's other columns, as the model
      learned them.
    - When the output is an exact one-hot (TVAE, TabDDPM and CTGAN draw the category
      themselves, so no probabilities are left at decoding time), the row is redrawn among
      the kept labels in proportion to their training frequencies: the column's distribution
      given "not a rare label", the best estimate without the rare labels. The draw is seeded
      by the rows being decoded, so the same encoded rows decode the same way.

    The missing category is never drawn for a bucket row (a rare label was a value, not a
    gap). A column whose labels are all rare has nothing to publish: its bucket rows decode
    to a missing value. The published column therefore holds only labels seen at least
    ``rare_min_count`` times, and the kept labels' shares rise by the rare share
    (:attr:`rare_share`, reported per column by
    :meth:`synthpipe.transform.TableTransformer.rare_summary`).

    Args:
        column: Column name.
        rare_min_count: Labels with fewer occurrences are merged (0 or 1 disables merging).
        max_categories: At most this many labels keep their own category.
    """

    kind = "categorical"

    def __init__(self, column: str, rare_min_count: int = 5, max_categories: int = 1000) -> None:
        super().__init__(column)
        if max_categories < 1:
            raise ModelError(f"max_categories must be >= 1, got {max_categories}")
        self.rare_min_count = rare_min_count
        self.max_categories = max_categories

    def fit(self, s: pd.Series) -> CategoricalEncoder:
        """Learn the label set."""
        self.dtype = str(s.dtype)
        # A pandas Categorical's own category list (and order) is part of its dtype.
        self.dtype_categories: list[Any] | None = None
        self.ordered = False
        if isinstance(s.dtype, pd.CategoricalDtype):
            self.dtype_categories = [_native(v) for v in s.dtype.categories]
            self.ordered = bool(s.dtype.ordered)
        counts = s.value_counts(dropna=True)
        counts = counts[counts > 0]  # unused categories of a Categorical are not labels
        keep = counts[counts >= max(self.rare_min_count, 1)].iloc[: self.max_categories]
        self.categories = [_native(v) for v in keep.index]
        self.counts = [int(v) for v in keep.to_numpy()]
        self.n_rare = int(len(counts) - len(keep))
        self.rare_share = float((counts.sum() - keep.sum()) / len(s)) if len(s) else 0.0
        self.text_like = _is_text_like(s)
        # Numbers merge into their nearest frequent neighbour instead of a bucket (see above).
        self.nearest = bool(
            self.n_rare and not self.text_like and len(self.categories)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in self.categories)
        )
        self.has_rare = self.n_rare > 0 and not self.nearest
        self.has_missing = bool(s.isna().any())
        self.missing_value = _missing_token(s)
        if not self.categories and not self.has_rare and not self.has_missing:
            raise InputError(f"column {self.column!r} is empty", hint="drop it before modelling")
        if self.n_rare:
            logger.info(
                "column %r: %d rare labels (< %d rows or beyond %d, %.2f%% of the cells) "
                "merged into one bucket", self.column, self.n_rare, self.rare_min_count,
                self.max_categories, 100 * self.rare_share,
            )
        return self

    @property
    def n_codes(self) -> int:
        """Categories + rare bucket + missing."""
        return len(self.categories) + int(self.has_rare) + int(self.has_missing)

    @property
    def rare_code(self) -> int:
        """Code of the merged bucket (valid when ``has_rare``)."""
        return len(self.categories)

    @property
    def missing_code(self) -> int:
        """Code of the missing category (valid when ``has_missing``)."""
        return len(self.categories) + int(self.has_rare)

    def spans(self) -> list[Span]:
        """A single discrete span."""
        return [Span(self.column, "discrete", self.n_codes, "value")]

    def encode(self, s: pd.Series) -> list[np.ndarray]:
        """Column -> codes."""
        missing = s.isna().to_numpy()
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        codes = pd.Index(self.categories, dtype=object).get_indexer(s.astype(object))
        unknown = (codes < 0) & ~missing
        if unknown.any() and getattr(self, "nearest", False):
            codes[unknown] = self._nearest_codes(s[unknown].to_numpy(dtype="float64"))
        elif unknown.any():
            codes[unknown] = self.rare_code if self.has_rare else 0
        if missing.any():
            if self.has_missing:
                codes[missing] = self.missing_code
            else:
                logger.warning("column %r: missing values unseen at fit time", self.column)
                codes[missing] = 0
        return [codes.astype(np.int64)]

    def _nearest_codes(self, values: np.ndarray) -> np.ndarray:
        """Codes of the kept numbers nearest to ``values``."""
        kept = np.asarray(self.categories, dtype="float64")
        return np.abs(values[:, None] - kept[None, :]).argmin(axis=1)

    def resolve_rare(self, codes: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """``codes`` with every bucket code replaced by a kept label's code (see the class
        docstring).

        Args:
            codes: Category codes, one per row.
            scores: The model's output for this column, ``(rows, n_codes)``, when there is
                one: rows that are not an exact one-hot take the kept label of highest score.

        Returns:
            The codes, with no bucket code left (a column without kept labels keeps them: they
            decode to a missing value).
        """
        codes = np.asarray(codes, dtype=np.int64)
        if not self.has_rare or not self.categories:
            return codes
        rows = np.flatnonzero(codes == self.rare_code)
        if not rows.size:
            return codes
        codes = codes.copy()
        kept = len(self.categories)
        if scores is not None:
            block = np.asarray(scores)[rows]
            one_hot = ((block == 0) | (block == 1)).all(axis=1) & (block.sum(axis=1) == 1)
            scored = rows[~one_hot]
            codes[scored] = np.argmax(block[~one_hot, :kept], axis=1)
            rows = rows[one_hot]
            if not rows.size:
                return codes
        weights = np.asarray(getattr(self, "counts", None) or [1] * kept, dtype=np.float64)
        # Seeded by which rows are in the bucket: the same encoded rows decode the same way,
        # and another sample (other rows in the bucket) draws anew.
        seed = [zlib.crc32(str(self.column).encode()), codes.size,
                zlib.crc32(rows.astype(np.int64).tobytes())]
        draw = np.random.default_rng(seed).choice(kept, size=rows.size, p=weights / weights.sum())
        codes[rows] = draw
        return codes

    def decode(self, parts: list[np.ndarray]) -> pd.Series:
        """Codes -> labels in the input's dtype (bucket codes resolved by
        :meth:`resolve_rare`)."""
        codes = self.resolve_rare(parts[0])
        target = pd.api.types.pandas_dtype(self.dtype)
        lookup = np.empty(self.n_codes, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.has_rare:
            # Reached only when no label was kept: nothing of the column can be published.
            lookup[self.rare_code] = self.missing_value
        if self.has_missing:
            lookup[self.missing_code] = self.missing_value
        values = lookup[codes]
        if isinstance(target, pd.CategoricalDtype):
            cats = list(self.dtype_categories or self.categories)
            return pd.Series(pd.Categorical(values, categories=cats, ordered=self.ordered),
                             name=self.column)
        null = pd.isna(values)
        if pd.api.types.is_object_dtype(target):
            return pd.Series(values, name=self.column, dtype=object)
        if null.any() and not _holds_missing(target):
            # e.g. int64 codes with a rare bucket: use the nullable twin.
            nullable = {"b": "boolean", "i": "Int64", "u": "Int64"}.get(target.kind, "object")
            return pd.Series(values, name=self.column, dtype=object).astype(nullable)
        return pd.Series(values, name=self.column, dtype=object).astype(target)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {
            "type": "categorical",
            "column": self.column,
            "rare_min_count": self.rare_min_count,
            "max_categories": self.max_categories,
            "dtype": self.dtype,
            "categories": list(self.categories),
            "counts": list(self.counts),
            "n_rare": self.n_rare,
            "rare_share": self.rare_share,
            "has_rare": self.has_rare,
            "has_missing": self.has_missing,
            "missing_value": self.missing_value,
            "text_like": self.text_like,
            "nearest": self.nearest,
            "dtype_categories": self.dtype_categories,
            "ordered": self.ordered,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        for key in ("rare_min_count", "max_categories", "dtype", "categories", "n_rare",
                    "has_rare", "has_missing", "missing_value", "text_like",
                    "dtype_categories", "ordered"):
            setattr(self, key, state[key])
        self.nearest = bool(state.get("nearest", False))
        # Models saved before label counts were kept redraw bucket rows uniformly.
        self.counts = state.get("counts")
        self.rare_share = state.get("rare_share")


class BooleanEncoder(CategoricalEncoder):
    """Booleans (bool, pandas ``boolean``, 0/1 flags): a categorical without rare merging.

    Two values cannot single anyone out, and merging the rare side of a flag (often the label of
    interest) would erase it.
    """

    kind = "boolean"

    def __init__(self, column: str) -> None:
        super().__init__(column, rare_min_count=0, max_categories=1000)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {**super().to_state(), "type": "boolean"}


def _missing_token(s: pd.Series) -> Any:
    """The column's own missing value: None / NaN for object, pd.NA for nullable dtypes."""
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
        s.dtype, pd.CategoricalDtype
    ):
        return None  # astype back to the extension dtype turns None into pd.NA
    if s.dtype == object:
        nulls = s[s.isna()]
        if len(nulls) and nulls.iloc[0] is None:
            return None
    return float("nan")


def _is_text_like(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return bool(pd.api.types.is_object_dtype(s.dtype.categories.dtype)
                    or pd.api.types.is_string_dtype(s.dtype.categories.dtype))
    if pd.api.types.is_string_dtype(s) or s.dtype == object:
        non_null = s.dropna()
        return bool(len(non_null) == 0 or isinstance(non_null.iloc[0], str))
    return False


def _holds_missing(dtype: Any) -> bool:
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return True
    return dtype.kind in ("f", "c", "O", "M", "m")


_ENCODERS: dict[str, type[ColumnEncoder]] = {
    "numerical": NumericalEncoder,
    "datetime": DatetimeEncoder,
    "categorical": CategoricalEncoder,
    "boolean": BooleanEncoder,
}
