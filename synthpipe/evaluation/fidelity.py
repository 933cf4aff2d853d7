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

The helpers every evaluation module shares (which columns are scored, values as numbers or
labels, the encoding for tree models) are in :mod:`synthpipe.evaluation.columns`.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sdmetrics.single_column import KSComplement, TVComplement
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from synthpipe.errors import InputError
from synthpipe.evaluation.columns import (
    LABEL_KINDS,
    NUMERIC_KINDS,
    TreeEncoder,
    eval_threads,
    evaluated_columns,
    labels_with_missing,
    numeric_values,
    subsample,
    tree_classifier,
)
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import ColumnKind, TableMetadata

logger = logging.getLogger(__name__)

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
