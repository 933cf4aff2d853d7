"""Encoders of numbers and dates: a column <-> one continuous part (and a missing flag).

Precision: the encoded table is float32. Integers and timestamps decode exactly (they are
rounded to their unit) as long as their range, counted in their own unit, stays below about
10^6-10^7 (e.g. dates over millennia, seconds over a few months, integers up to millions);
wider ranges decode to within about 1e-7 of the range. Floats decode to within that precision.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from threadpoolctl import threadpool_limits

from synthpipe.errors import InputError, ModelError
from synthpipe.transform.encoders import ColumnEncoder, Span

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
        return restore_numeric(x, missing, self.dtype, self.column)

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


def restore_numeric(x: np.ndarray, missing: np.ndarray, dtype: str, column: str) -> pd.Series:
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


__all__ = ["DatetimeEncoder", "ModeNormal", "NumericalEncoder", "QuantileNormal", "restore_numeric"]
