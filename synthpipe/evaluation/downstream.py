"""Downstream fraud check: does the (rebalanced) synthetic data help a fraud model?

The same scikit-learn gradient-boosting classifier is trained on (a) the real training rows as
they are, (b) the synthetic rows, and (c) in augment mode the real rows plus synthetic minority
rows, and each is scored on the real holdout that no model saw. Reported per training set:
PR-AUC (average precision), ROC-AUC, recall at 1% and 5% false-positive rate, and precision and
recall at the decision threshold each classifier chose on its own training data (the threshold
that maximizes F1 on a validation split of that training set, never on the holdout). The
classifier and its encoding are the ones :mod:`synthpipe.evaluation.utility` uses.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.evaluation.fidelity import eval_threads, numeric_values
from synthpipe.evaluation.utility import TreeModel, best_threshold
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata

log = logging.getLogger(__name__)


def with_date_gaps(
    frames: list[pd.DataFrame], metadata: TableMetadata, max_columns: int = 8
) -> tuple[list[pd.DataFrame], TableMetadata]:
    """Add the day gap between every pair of datetime columns as a feature.

    Fraud signals often live in date differences (reported late, policy bought just before the
    incident); trees cannot subtract two columns, so the check gives them the differences, the
    same for every training set.
    """
    dates = [c for c in metadata.names(ColumnKind.DATETIME) if c in frames[0].columns]
    dates = dates[:max_columns]
    if len(dates) < 2:
        return frames, metadata
    cols = dict(metadata.columns)
    out = [f.copy() for f in frames]
    for i, a in enumerate(dates):
        for b in dates[i + 1:]:
            name = f"{b} - {a} (days)"
            cols[name] = ColumnMeta(name=name, kind=ColumnKind.NUMERICAL, dtype="float64")
            for f in out:
                # Seconds since the epoch, tz-aware columns in UTC: any two can be subtracted.
                seconds = numeric_values(pd.to_datetime(f[b])) - numeric_values(
                    pd.to_datetime(f[a]))
                f[name] = seconds / 86400
    return out, TableMetadata(cols)


def _fit_scores(
    train: pd.DataFrame,
    y: np.ndarray,
    test: pd.DataFrame,
    features: list[str],
    metadata: TableMetadata,
    seed: int,
) -> tuple[np.ndarray, float]:
    """Fit the evaluation classifier; pick its F1 threshold on a validation split of ``train``."""
    from sklearn.model_selection import train_test_split

    threshold = 0.5
    if np.bincount(y, minlength=2).min() >= 4:
        idx_fit, idx_val = train_test_split(
            np.arange(len(y)), test_size=0.25, random_state=seed, stratify=y
        )
        tuner = TreeModel(features, metadata, seed).fit(train.iloc[idx_fit], y[idx_fit])
        threshold = best_threshold(y[idx_val], tuner.proba(train.iloc[idx_val], [0, 1])[:, 1])
    model = TreeModel(features, metadata, seed).fit(train, y)
    return model.proba(test, [0, 1])[:, 1], threshold


def _recall_at_fpr(y: np.ndarray, scores: np.ndarray, fpr_max: float) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, scores)
    ok = fpr <= fpr_max
    return float(tpr[ok].max()) if ok.any() else 0.0


def score_classifier(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Fraud-model metrics of ``scores`` against labels ``y`` (1 = positive)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    pred = scores >= threshold
    tp = int((pred & (y == 1)).sum())
    return {
        "pr_auc": float(average_precision_score(y, scores)),
        "roc_auc": float(roc_auc_score(y, scores)),
        "recall_at_1pct_fpr": _recall_at_fpr(y, scores, 0.01),
        "recall_at_5pct_fpr": _recall_at_fpr(y, scores, 0.05),
        "threshold": float(threshold),
        "precision_at_threshold": float(tp / pred.sum()) if pred.sum() else 0.0,
        "recall_at_threshold": float(tp / (y == 1).sum()) if (y == 1).any() else 0.0,
    }


def downstream_report(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    positive: Any,
    metadata: TableMetadata,
    augmented: pd.DataFrame | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train a fraud classifier on each training set and score it on the real holdout.

    Args:
        real_train: Real training rows (after PII policies), modelled columns + target.
        holdout: Real rows no model saw, same columns.
        synthetic: Synthetic rows (rebalanced or not), same columns.
        target: Label column.
        positive: The class treated as positive (the fraud / minority class).
        metadata: Column kinds (the classifier's encoding follows them).
        augmented: Real training rows plus synthetic minority rows (augment mode), or None.
        seed: Seeds the classifiers and the validation splits.

    Returns:
        ``{"positive", "holdout_rows", "holdout_positive_rate", "results": {set: metrics},
        "verdict": one line}``; a training set with a single class is reported, not scored.
    """
    sets = {"real": real_train, "synthetic": synthetic}
    if augmented is not None:
        sets["augmented"] = augmented
    # Rows without a label can be neither learned from nor scored.
    sets = {name: frame[frame[target].notna()] for name, frame in sets.items()}
    holdout = holdout[holdout[target].notna()]
    y_test = _is_positive(holdout[target], positive)
    if y_test.sum() == 0 or y_test.sum() == len(y_test):
        return {"skipped": f"the holdout has no rows of both classes for {positive!r}"}
    names = list(sets)
    frames, metadata = with_date_gaps([*sets.values(), holdout], metadata)
    sets, holdout = dict(zip(names, frames[:-1], strict=True)), frames[-1]
    features = [c for c in holdout.columns if c != target]
    results: dict[str, Any] = {}
    with eval_threads():
        for name, frame in sets.items():
            y = _is_positive(frame[target], positive)
            rows = {"rows": int(len(frame)), "positive_rate": float(y.mean()) if len(y) else 0.0}
            if y.min() == y.max():
                results[name] = {**rows, "skipped": "training set has a single class"}
                continue
            scores, threshold = _fit_scores(frame, y, holdout, features, metadata, seed)
            results[name] = {**rows, **score_classifier(y_test, scores, threshold)}
    return {
        "positive": str(positive),
        "holdout_rows": int(len(holdout)),
        "holdout_positive_rate": float(y_test.mean()),
        "results": results,
        "verdict": _verdict(results),
    }


def _is_positive(labels: pd.Series, positive: Any) -> np.ndarray:
    """1 where the label is the positive class, else 0 (nullable dtypes included)."""
    return (labels == positive).to_numpy(dtype=bool, na_value=False).astype(int)


def _verdict(results: dict[str, Any]) -> str:
    """One line: did training on the rebalanced data beat training on the real data?"""
    base = results.get("real", {})
    if "pr_auc" not in base:
        return "no verdict: the real training set could not be scored"
    parts = []
    for name in ("synthetic", "augmented"):
        r = results.get(name)
        if not r or "pr_auc" not in r:
            continue
        d_pr = r["pr_auc"] - base["pr_auc"]
        d_rec = r["recall_at_1pct_fpr"] - base["recall_at_1pct_fpr"]
        word = "helped" if d_pr > 0.005 else ("hurt" if d_pr < -0.005 else "made no difference")
        parts.append(
            f"training on {name} data {word}: PR-AUC {r['pr_auc']:.3f} vs {base['pr_auc']:.3f} "
            f"on real ({d_pr:+.3f}), recall at 1% FPR {r['recall_at_1pct_fpr']:.2f} vs "
            f"{base['recall_at_1pct_fpr']:.2f} ({d_rec:+.2f})"
        )
    return "; ".join(parts) if parts else "no verdict: no other training set was scored"
