"""Fidelity: how closely the synthetic table follows the real one.

Three scores, each reported twice: for the synthetic table against the training split, and for
the real holdout against the training split. The second number is the ceiling a same-size real
sample reaches, so "0.91" reads as "0.91 where real data gets 0.97", not as an absolute grade.

- ``column_shapes``: one score per column, averaged. Numerical and datetime columns use the
  complement of the Kolmogorov-Smirnov statistic (sdmetrics ``KSComplement``, on non-missing
  values; the missing shares are reported beside it), categorical and boolean columns the
  complement of the total variation distance (sdmetrics ``TVComplement``, with "missing" counted
  as a category of its own so that a model that never emits a missing value is penalised).
- ``pair_trends``: one score per pair of columns, averaged. Two numerical/datetime columns are
  scored like sdmetrics ``CorrelationSimilarity`` (1 - |r_real - r_synth| / 2, Pearson on
  pairwise-complete rows), any other pair like ``ContingencySimilarity`` (1 - total variation
  distance of the joint frequencies) with numbers cut into 10 equal-width bins over the
  training range and missing values as a bin/category of their own. The formulas are those of
  sdmetrics, evaluated for all pairs at once (one correlation matrix per table, one
  ``bincount`` per pair), which is several times faster than sdmetrics' own quality report
  while scoring the holdout reference too (docs/choosing-a-model.md, "Quality metrics"); the
  unit tests check that both give the same numbers per pair. Single columns use sdmetrics'
  ``KSComplement`` and ``TVComplement`` themselves. Beyond ``max_pairs`` pairs a seeded
  random subset is scored.
- ``detection``: a gradient-boosting classifier tries to tell training rows from synthetic rows;
  5-fold cross-validated ROC-AUC, 0.5 meaning indistinguishable. Both sides use the same number
  of rows per class (the smallest of train, holdout, synthetic and ``max_rows``), so the
  synthetic score and the holdout reference are measured with equal power.

This module also holds the small helpers the other evaluation modules share (column
normalisation, the encoding for tree models, JSON conversion), so that "a category" or "a
missing value" means the same thing in every metric.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sdmetrics.single_column import KSComplement, TVComplement
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from synthpipe.errors import InputError
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import ColumnKind, TableMetadata

logger = logging.getLogger(__name__)

NUMERIC_KINDS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)
LABEL_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
# Stands in for a missing label wherever "missing" must count as a value of its own.
MISSING = "\x00<missing>"
# 45 columns give 990 pairs; beyond that a seeded random subset bounds the cost.
MAX_PAIRS = 1_000
# The correlation matrices published in metrics.json (and drawn as the report's heat map) keep
# at most this many numeric columns: a matrix grows with the square of the columns (a
# thousand numeric columns wrote metrics and a report of hundreds of MB), and a heat map of
# more is unreadable. Beyond it the columns whose real and synthetic correlations differ most
# are kept.
MAX_MATRIX_COLUMNS = 40
NUM_BINS = 10
DETECTION_FOLDS = 5
# Fewer rows per class than this: no detection score (the trees could not split).
DETECTION_MIN_ROWS = 25
# tree_classifier stops early only when each class has this many training rows.
EARLY_STOP_MIN_CLASS_ROWS = 20
# HistGradientBoosting accepts at most 255 bins for a categorical feature (one is for missing).
_TREE_MAX_CATEGORIES = 250


# --------------------------------------------------------------------------- shared helpers


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


def _metric(name: str, goal: str, synthetic: Any, holdout: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "goal": goal,
        "bounds": [0.0, 1.0],
        "synthetic": synthetic,
        "holdout": holdout,
        **extra,
    }


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(finite)) if finite else None


# --------------------------------------------------------------------------- column shapes


def _shape_score(kind: ColumnKind, real: pd.Series, other: pd.Series) -> float | None:
    """KS or TV complement of one column; None when it cannot be computed (all missing)."""
    if kind in NUMERIC_KINDS:
        r, o = numeric_values(real), numeric_values(other)
        r, o = r[~np.isnan(r)], o[~np.isnan(o)]
        if len(r) == 0 or len(o) == 0:
            return None
        return float(KSComplement.compute(r, o))
    return float(TVComplement.compute(labels_with_missing(real), labels_with_missing(other)))


def _column_shapes(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
) -> dict[str, Any]:
    per_column: dict[str, Any] = {}
    for c in columns:
        kind = metadata.kind(c)
        per_column[c] = {
            "kind": kind.value,
            "metric": "KSComplement" if kind in NUMERIC_KINDS else "TVComplement",
            "synthetic": _shape_score(kind, train[c], synthetic[c]),
            "holdout": _shape_score(kind, train[c], holdout[c]),
            "missing_share": {
                "train": float(train[c].isna().mean()),
                "synthetic": float(synthetic[c].isna().mean()),
                "holdout": float(holdout[c].isna().mean()),
            },
        }
    return _metric(
        "column_shapes",
        "maximize",
        _mean([v["synthetic"] for v in per_column.values()]),
        _mean([v["holdout"] for v in per_column.values()]),
        per_column=per_column,
    )


# --------------------------------------------------------------------------- pair trends


def _bin_edges(v: np.ndarray) -> np.ndarray | None:
    """Inner edges of 10 equal-width bins over the finite values (None: constant column)."""
    v = v[~np.isnan(v)]
    if len(v) == 0 or v.min() == v.max():
        return None
    # Open outer bins: synthetic values beyond the training range still land in a bin.
    return np.histogram_bin_edges(v, bins=NUM_BINS)[1:-1]


def _pair_codes(
    frames: list[pd.DataFrame], columns: list[str], metadata: TableMetadata
) -> tuple[dict[str, list[np.ndarray]], dict[str, int]]:
    """Integer codes of every column, shared across ``frames`` (the first one sets the bins).

    Labels are factorised over all frames together, numbers cut into bins; missing is a code
    of its own in both cases. Returns the codes per column and frame, and the code count.
    """
    codes: dict[str, list[np.ndarray]] = {}
    sizes: dict[str, int] = {}
    for c in columns:
        if metadata.kind(c) in LABEL_KINDS:
            pooled = pd.concat([labels_with_missing(f[c]) for f in frames], ignore_index=True)
            all_codes, uniques = pd.factorize(pooled)
            bounds = np.cumsum([0] + [len(f) for f in frames])
            codes[c] = [all_codes[a:b] for a, b in itertools.pairwise(bounds)]
            sizes[c] = len(uniques)
        else:
            edges = _bin_edges(numeric_values(frames[0][c]))
            per_frame = []
            for f in frames:
                v = numeric_values(f[c])
                binned = np.zeros(len(v), dtype="int64") if edges is None else np.digitize(v, edges)
                binned[np.isnan(v)] = NUM_BINS
                per_frame.append(binned)
            codes[c] = per_frame
            sizes[c] = NUM_BINS + 1
    return codes, sizes


def _contingency_similarity(
    a_real: np.ndarray, b_real: np.ndarray, a_other: np.ndarray, b_other: np.ndarray, kb: int,
    size: int,
) -> float:
    """1 - total variation distance between two joint frequency tables (sdmetrics' formula)."""
    real = np.bincount(a_real * kb + b_real, minlength=size) / len(a_real)
    other = np.bincount(a_other * kb + b_other, minlength=size) / len(a_other)
    return float(1.0 - 0.5 * np.abs(real - other).sum())


def _correlations(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Pearson correlations on pairwise-complete rows (NaN for constant columns)."""
    frame = pd.DataFrame({c: numeric_values(df[c]) for c in columns})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return frame.corr(method="pearson").to_numpy()


def _pair_trends(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
    *,
    seed: int,
    max_pairs: int,
) -> dict[str, Any]:
    all_pairs = list(itertools.combinations(columns, 2))
    pairs = all_pairs
    if len(all_pairs) > max_pairs:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(all_pairs), size=max_pairs, replace=False))
        pairs = [all_pairs[i] for i in keep]
        logger.info("pair trends: %d of %d column pairs (max_pairs)", max_pairs, len(all_pairs))
    numeric_cols = [c for c in columns if metadata.kind(c) in NUMERIC_KINDS]
    position = {c: i for i, c in enumerate(numeric_cols)}
    corr = {
        name: _correlations(df, numeric_cols)
        for name, df in (("train", train), ("holdout", holdout), ("synthetic", synthetic))
    }
    codes, sizes = _pair_codes([train, holdout, synthetic], columns, metadata)

    def correlation_score(a: str, b: str, other: str) -> float | None:
        r, o = corr["train"][position[a], position[b]], corr[other][position[a], position[b]]
        return None if np.isnan(r) or np.isnan(o) else float(1.0 - abs(r - o) / 2.0)

    per_pair = []
    for a, b in pairs:
        if a in position and b in position:
            metric = "CorrelationSimilarity"
            scores = [correlation_score(a, b, "synthetic"), correlation_score(a, b, "holdout")]
        else:
            metric = "ContingencySimilarity"
            ca, cb, kb = codes[a], codes[b], sizes[b]
            size = sizes[a] * kb
            scores = [
                _contingency_similarity(ca[0], cb[0], ca[i], cb[i], kb, size) for i in (2, 1)
            ]
        per_pair.append(
            {"columns": [a, b], "metric": metric, "synthetic": scores[0], "holdout": scores[1]}
        )
    return _metric(
        "pair_trends",
        "maximize",
        _mean([p["synthetic"] for p in per_pair]),
        _mean([p["holdout"] for p in per_pair]),
        per_pair=per_pair,
        pairs_evaluated=len(pairs),
        pairs_total=len(all_pairs),
        correlation=_published_correlations(numeric_cols, corr),
    )


def _published_correlations(columns: list[str], corr: dict[str, np.ndarray]) -> dict[str, Any]:
    """The correlation matrices as published: all columns, or the :data:`MAX_MATRIX_COLUMNS`
    whose real and synthetic correlations differ most on average (kept in table order)."""
    keep = np.arange(len(columns))
    if len(columns) > MAX_MATRIX_COLUMNS:
        gap = np.nan_to_num(np.abs(corr["train"] - corr["synthetic"]), nan=0.0)
        worst = np.argsort(-gap.mean(axis=1), kind="stable")[:MAX_MATRIX_COLUMNS]
        keep = np.sort(worst)
    out: dict[str, Any] = {"columns": [columns[i] for i in keep]}
    for name, key in (("real", "train"), ("synthetic", "synthetic"), ("holdout", "holdout")):
        out[name] = corr[key][np.ix_(keep, keep)]
    if len(keep) < len(columns):
        out["columns_total"] = len(columns)
        out["selection"] = "the columns whose real and synthetic correlations differ most"
    return out


# --------------------------------------------------------------------------- detection


def detection_auc(
    real: pd.DataFrame,
    other: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
    *,
    seed: int = 0,
    folds: int = DETECTION_FOLDS,
) -> float | None:
    """Cross-validated ROC-AUC of a classifier telling ``real`` rows from ``other`` rows.

    Args:
        real: Real rows (class 0).
        other: Rows to tell apart from them (class 1), usually of the same size.
        columns: Columns the classifier sees.
        metadata: Their kinds.
        seed: Seed of the folds and the classifier.
        folds: Number of stratified folds.

    Returns:
        Mean ROC-AUC over the folds (0.5: indistinguishable, 1.0: perfectly told apart), or
        None when a class has fewer than ``DETECTION_MIN_ROWS`` rows: the classifier's leaves
        need 20 rows, so on fewer it predicts a constant and would report a perfect 0.5.
    """
    if min(len(real), len(other)) < max(folds, DETECTION_MIN_ROWS):
        return None
    both = pd.concat([real[columns], other[columns]], ignore_index=True)
    y = np.r_[np.zeros(len(real), dtype=int), np.ones(len(other), dtype=int)]
    encoder = TreeEncoder(columns, metadata).fit(both)
    x = encoder.transform(both)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    aucs = []
    with eval_threads():
        for fit_idx, test_idx in splitter.split(x, y):
            clf = tree_classifier(seed, categorical=encoder.categorical_mask, y=y[fit_idx])
            clf.fit(x[fit_idx], y[fit_idx])
            aucs.append(roc_auc_score(y[test_idx], clf.predict_proba(x[test_idx])[:, 1]))
    return float(np.mean(aucs))


def _detection(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
    *,
    seed: int,
    max_rows: int,
) -> dict[str, Any]:
    n = min(len(train), len(holdout), len(synthetic), max_rows)
    real_a = subsample(train, n, seed + 11)
    real_b = subsample(train, n, seed + 12)
    syn = subsample(synthetic, n, seed + 13)
    hold = subsample(holdout, n, seed + 14)
    return _metric(
        "detection_auc",
        "minimize",
        detection_auc(real_a, syn, columns, metadata, seed=seed),
        detection_auc(real_b, hold, columns, metadata, seed=seed),
        ideal=0.5,
        rows_per_class=n,
        folds=DETECTION_FOLDS,
        classifier="HistGradientBoostingClassifier",
    )


# --------------------------------------------------------------------------- report


def fidelity_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: TableMetadata,
    *,
    seed: int = 0,
    max_rows: int = 20_000,
    max_pairs: int = MAX_PAIRS,
) -> dict[str, Any]:
    """Column shapes, pair trends and detection AUC, each with the holdout reference.

    Args:
        train: Real rows the model was trained on.
        holdout: Real rows the model never saw (the reference).
        synthetic: Synthetic rows.
        metadata: Column kinds; only ``metadata.modelled`` columns are scored.
        seed: Seed of the subsamples, pair selection, folds and classifiers.
        max_rows: Rows drawn from each table at most (speed).
        max_pairs: Column pairs scored at most (a seeded random subset beyond it).

    Returns:
        A JSON-able dict with ``column_shapes``, ``pair_trends`` and ``detection`` (each with
        ``name``, ``goal``, ``bounds``, ``synthetic`` and ``holdout``), ``columns`` and ``rows``.

    Raises:
        InputError: A table is empty or lacks a modelled column.
    """
    if max_rows < 1 or max_pairs < 1:
        raise InputError(
            f"max_rows ({max_rows}) and max_pairs ({max_pairs}) must be positive",
            hint="pass positive limits",
        )
    frames = {"train": train, "holdout": holdout, "synthetic": synthetic}
    columns = evaluated_columns(metadata, frames)
    tr = subsample(train, max_rows, seed)
    ho = subsample(holdout, max_rows, seed + 1)
    sy = subsample(synthetic, max_rows, seed + 2)
    detection = _detection(
        train, holdout, synthetic, columns, metadata, seed=seed, max_rows=max_rows
    )
    report = {
        "column_shapes": _column_shapes(tr, ho, sy, columns, metadata),
        "pair_trends": _pair_trends(
            tr, ho, sy, columns, metadata, seed=seed, max_pairs=max_pairs
        ),
        "detection": detection,
        "columns": columns,
        "rows": {"train": len(tr), "holdout": len(ho), "synthetic": len(sy)},
    }
    return jsonable(report)
