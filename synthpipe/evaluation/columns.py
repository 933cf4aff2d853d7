"""What every evaluation check agrees on: which columns are scored, a value as a number or a
label, "missing" as a value of its own, and the encoding and classifier for tree models.

Fidelity, privacy, utility, the diagnosis and the in-training probe all import these, so that
"a category" or "a missing value" means the same thing in every metric.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from synthpipe.errors import InputError
from synthpipe.metadata import ColumnKind, TableMetadata

logger = logging.getLogger(__name__)

NUMERIC_KINDS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)
LABEL_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
# Stands in for a missing label wherever "missing" must count as a value of its own.
MISSING = "\x00<missing>"
# tree_classifier stops early only when each class has this many training rows.
EARLY_STOP_MIN_CLASS_ROWS = 20
# HistGradientBoosting accepts at most 255 bins for a categorical feature (one is for missing).
_TREE_MAX_CATEGORIES = 250


def evaluated_columns(
    metadata: TableMetadata, frames: dict[str, pd.DataFrame], *, min_rows: int = 1
) -> list[str]:
    """The modelled columns present in the tables, checked for presence in every table.

    Args:
        metadata: Column kinds; ids and free text are left out.
        frames: Named tables (``{"train": df, ...}``) that must all hold the columns.
        min_rows: Fewest rows each table needs.

    Returns:
        The columns to evaluate, in table order.

    Raises:
        InputError: A table is empty or lacks a modelled column, or nothing is left to evaluate.
    """
    for name, df in frames.items():
        if not isinstance(df, pd.DataFrame):
            raise InputError(
                f"the {name} table is a {type(df).__name__}, not a pandas DataFrame",
                hint="pass DataFrames (read files with synthpipe.io.read_table)",
            )
        if len(df) < min_rows:
            raise InputError(
                f"the {name} table has {len(df)} rows; evaluation needs at least {min_rows}",
                hint="evaluate a larger sample",
            )
    first_name, first = next(iter(frames.items()))
    columns = [c for c in metadata.modelled if c in first.columns]
    absent = [c for c in metadata.modelled if c not in first.columns]
    if absent:
        logger.warning("modelled columns %s are not in the %s table: not evaluated", absent,
                       first_name)
    if not columns:
        raise InputError(
            "no modelled column (numerical, categorical, boolean, datetime) to evaluate",
            hint="check that the metadata describes these tables",
        )
    for name, df in frames.items():
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise InputError(
                f"the {name} table lacks modelled columns {missing}",
                hint="all tables must share the columns of the metadata (ids and text excepted)",
            )
    return columns


def subsample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` rows of ``df``, drawn without replacement (all rows, shuffled, if fewer)."""
    n = min(int(n), len(df))
    return df.sample(n=n, random_state=seed).reset_index(drop=True)


def numeric_values(s: pd.Series) -> np.ndarray:
    """A numerical, datetime or boolean column as float64 (datetimes in seconds; missing NaN)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        ns[s.isna().to_numpy()] = np.nan
        return ns / 1e9
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    numbers = pd.to_numeric(s, errors="coerce")
    present = s.notna().sum()
    if numbers.notna().sum() < 0.9 * present and present:
        # Not numbers: a model may hand dates back as strings; compare them as dates.
        parsed = pd.to_datetime(s, errors="coerce", format="mixed")
        if parsed.notna().sum() >= 0.9 * present:
            return numeric_values(parsed)
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def label_strings(s: pd.Series) -> pd.Series:
    """A column as normalised label strings, missing values kept as NaN.

    The same value must give the same label whatever dtype a model returns it in: 1, 1.0 and
    "1" all become "1"; True, "True" and boolean True become "True"; surrounding blanks go.
    """
    # Normalise the distinct values only: string methods run in Python per element, and a
    # column has far fewer distinct values than rows.
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = np.asarray(_label_values(pd.Series(uniques)), dtype=object)
    out = np.empty(len(s), dtype=object)
    out[:] = np.nan
    known = codes >= 0
    out[known] = labels[codes[known]]
    return pd.Series(out, index=s.index)


def _label_values(u: pd.Series) -> pd.Series:
    """Label strings of distinct non-missing values."""
    if pd.api.types.is_bool_dtype(u):
        return u.astype("boolean").astype(str)
    if pd.api.types.is_numeric_dtype(u):
        return _number_strings(u.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(u):
        return u.astype(str)
    inferred = pd.api.types.infer_dtype(u, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _number_strings(pd.to_numeric(u, errors="coerce").to_numpy(dtype="float64"))
    if inferred == "boolean":
        return u.astype(str)
    return u.astype(str).str.strip()


def _number_strings(values: np.ndarray) -> pd.Series:
    """Whole floats without a trailing ".0", others in repr form."""
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2.0**53)
    as_int = np.where(whole, values, 0).astype("int64").astype(str)
    return pd.Series(np.where(whole, as_int, values.astype(str)), dtype=object)


def labels_with_missing(s: pd.Series) -> pd.Series:
    """:func:`label_strings` with missing values turned into the :data:`MISSING` label."""
    return label_strings(s).fillna(MISSING)


class TreeEncoder:
    """Numbers for HistGradientBoosting: numeric columns as floats, labels as category codes.

    Codes are learned from one frame (the training data of the classifier); a label never seen
    there becomes missing, which the trees route like any missing value. Only the most frequent
    labels get a code (the estimator caps categorical features at 255 bins); rarer labels share
    one "other" code.

    Args:
        columns: Columns to encode, in order.
        metadata: Their kinds.
    """

    def __init__(self, columns: list[str], metadata: TableMetadata) -> None:
        self.columns = list(columns)
        self.metadata = metadata

    def fit(self, df: pd.DataFrame) -> TreeEncoder:
        """Learn the label codes of the label columns of ``df``."""
        self.codes_: dict[str, pd.Index] = {}
        self.seen_: dict[str, pd.Index] = {}
        for c in self.columns:
            if self.metadata.kind(c) in LABEL_KINDS:
                counts = label_strings(df[c]).value_counts()
                self.codes_[c] = pd.Index(counts.index[:_TREE_MAX_CATEGORIES])
                self.seen_[c] = pd.Index(counts.index)
        return self

    @property
    def categorical_mask(self) -> np.ndarray:
        """Which encoded columns are categorical (for ``categorical_features``)."""
        return np.array([c in self.codes_ for c in self.columns], dtype=bool)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode ``df`` into a float64 matrix (NaN for missing and unseen labels)."""
        out = np.empty((len(df), len(self.columns)), dtype="float64")
        for j, c in enumerate(self.columns):
            if c in self.codes_:
                labels = label_strings(df[c])
                codes = self.codes_[c].get_indexer(labels).astype("float64")
                rare = (codes < 0) & (self.seen_[c].get_indexer(labels) >= 0)
                # Seen-at-fit labels beyond the cap share the "other" code; unseen ones are NaN.
                codes[codes < 0] = np.nan
                codes[rare] = _TREE_MAX_CATEGORIES
                out[:, j] = codes
            else:
                out[:, j] = numeric_values(df[c])
        return out


def tree_classifier(seed: int, *, categorical: np.ndarray,
                    y: np.ndarray) -> HistGradientBoostingClassifier:
    """The gradient-boosting classifier every evaluation model uses (same settings everywhere).

    It stops early on a stratified 10% validation split of its training rows ``y`` when every
    class has at least ``EARLY_STOP_MIN_CLASS_ROWS`` of them (so the split holds a few of each);
    on fewer it runs its 100 iterations (a split of a 20-row table has no rows to stop on).
    """
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        early_stopping=bool(counts.min() >= EARLY_STOP_MIN_CLASS_ROWS),
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical_features=categorical if categorical.any() else None,
        random_state=seed,
    )


@contextlib.contextmanager
def eval_threads() -> Iterator[int]:
    """Cap the OpenMP/BLAS threads of the evaluation models (``SYNTHPIPE_EVAL_THREADS``, 1).

    The gradient-boosting fits are small; on a machine whose cores are shared, OpenMP's
    busy-waiting threads made a detection run many times slower with 2 threads than with 1
    (docs/cpu-efficiency.md). Set the variable higher on a dedicated many-core machine.

    Yields:
        The thread limit in force.
    """
    raw = os.environ.get("SYNTHPIPE_EVAL_THREADS", "1")
    try:
        n = max(1, int(raw))
    except ValueError:
        logger.warning("SYNTHPIPE_EVAL_THREADS=%r is not an integer; using 1 thread", raw)
        n = 1
    with threadpool_limits(limits=n):
        yield n


