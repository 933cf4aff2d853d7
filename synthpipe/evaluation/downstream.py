"""Downstream fraud check: does the (rebalanced) synthetic data help a fraud model?

The same scikit-learn gradient-boosting classifier is trained on (a) the real training rows as
they are, (b) the synthetic rows, and (c) in augment mode the real rows plus synthetic minority
rows, and each is scored on the real holdout that no model saw. Reported per training set:
PR-AUC (average precision), ROC-AUC, recall at 1% and 5% false-positive rate, and precision and
recall at the decision threshold each classifier chose on its own training data (the threshold
that maximizes F1 on a validation split of that training set, never on the holdout).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def _encode(frames: list[pd.DataFrame], target: str) -> list[pd.DataFrame]:
    """Make frames model-ready with one shared encoding (categories from their union)."""
    cols = [c for c in frames[0].columns if c != target]
    out = [f[cols].copy() for f in frames]
    for c in cols:
        s = frames[0][c]
        if pd.api.types.is_datetime64_any_dtype(s):
            for f in out:
                f[c] = pd.to_datetime(f[c]).astype("int64").where(f[c].notna(), np.nan) / 8.64e13
        elif pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            for f in out:
                f[c] = f[c].astype("float64")
        elif not pd.api.types.is_numeric_dtype(s):
            cats = pd.Index(sorted({str(v) for f in frames for v in f[c].dropna().unique()}))
            for f in out:
                f[c] = pd.Categorical(f[c].astype("string"), categories=cats)
        else:
            for f in out:
                f[c] = f[c].astype("float64")
    return out


def _fit_scores(
    train_x: pd.DataFrame, train_y: np.ndarray, test_x: pd.DataFrame, seed: int
) -> tuple[np.ndarray, float]:
    """Fit the classifier, choose its F1 threshold on a validation split, score the test rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import precision_recall_curve
    from sklearn.model_selection import train_test_split

    def model() -> Any:
        return HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, categorical_features="from_dtype", random_state=seed
        )

    strat = train_y if np.bincount(train_y).min() >= 2 else None
    fit_x, val_x, fit_y, val_y = train_test_split(
        train_x, train_y, test_size=0.25, random_state=seed, stratify=strat
    )
    threshold = 0.5
    if len(np.unique(fit_y)) == 2 and len(np.unique(val_y)) == 2:
        val_scores = model().fit(fit_x, fit_y).predict_proba(val_x)[:, 1]
        prec, rec, thr = precision_recall_curve(val_y, val_scores)
        f1 = 2 * prec[:-1] * rec[:-1] / np.clip(prec[:-1] + rec[:-1], 1e-12, None)
        if len(thr):
            threshold = float(thr[int(np.argmax(f1))])
    final = model().fit(train_x, train_y)
    return final.predict_proba(test_x)[:, 1], threshold


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
        augmented: Real training rows plus synthetic minority rows (augment mode), or None.
        seed: Seeds the classifiers and the validation splits.

    Returns:
        ``{"positive", "holdout_rows", "holdout_positive_rate", "results": {set: metrics},
        "verdict": one line}``; a training set with a single class is reported, not scored.
    """
    sets = {"real": real_train, "synthetic": synthetic}
    if augmented is not None:
        sets["augmented"] = augmented
    y_test = (holdout[target] == positive).to_numpy().astype(int)
    if y_test.sum() == 0 or y_test.sum() == len(y_test):
        return {"skipped": f"the holdout has no rows of both classes for {positive!r}"}
    names = list(sets)
    encoded = _encode([*sets.values(), holdout], target)
    results: dict[str, Any] = {}
    for name, frame, x in zip(names, sets.values(), encoded[:-1], strict=True):
        y = (frame[target] == positive).to_numpy().astype(int)
        rows = {"rows": int(len(frame)), "positive_rate": float(y.mean()) if len(y) else 0.0}
        if y.min() == y.max():
            results[name] = {**rows, "skipped": "training set has a single class"}
            continue
        scores, threshold = _fit_scores(x, y, encoded[-1], seed)
        results[name] = {**rows, **score_classifier(y_test, scores, threshold)}
    return {
        "positive": str(positive),
        "holdout_rows": int(len(holdout)),
        "holdout_positive_rate": float(y_test.mean()),
        "results": results,
        "verdict": _verdict(results),
    }


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
