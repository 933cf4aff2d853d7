"""Downstream fraud check: does the (rebalanced) synthetic data help a fraud model?

The same scikit-learn gradient-boosting classifier is trained on (a) the real training rows as
they are, (b) the synthetic rows, and (c) in augment mode the real rows plus synthetic minority
rows, and each is scored on the real holdout that no model saw. Reported per training set:
PR-AUC (average precision), ROC-AUC, recall at 1% and 5% false-positive rate, and precision and
recall at the decision threshold each classifier chose on its own training data (the threshold
that maximizes F1 on a validation split of that training set, never on the holdout). The
classifier and its encoding are the ones :mod:`synthpipe.evaluation.utility` uses.

A holdout of a few hundred rows holds a few dozen frauds, so a PR-AUC differs by several
hundredths from one holdout draw to the next. Each score therefore comes with a 95% bootstrap
interval over the holdout rows (seeded, :data:`BOOTSTRAP_RESAMPLES` resamples), and each
training set's difference from the real-trained model with the interval of that difference on
the same resamples (paired): a difference whose interval includes 0 is within noise, and the
verdict says so. The models are not refitted per resample: the intervals cover the holdout's
sampling noise, not the training's.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.evaluation.columns import eval_threads, numeric_values
from synthpipe.evaluation.utility import TreeModel, best_threshold
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata

log = logging.getLogger(__name__)

#: Scores that get a bootstrap interval, in the order the report shows them.
INTERVAL_METRICS = (
    "pr_auc", "roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "precision_at_threshold",
)
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_LEVEL = 0.95
# Points kept of each precision-recall curve (evenly spread over recall): enough to draw it.
CURVE_POINTS = 60
# Resampled holdouts scored at once are (block x rows) arrays; ~2M cells bounds the memory.
_BLOCK_CELLS = 2_000_000


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
    """Fit the evaluation classifier; pick its F1 threshold on a validation split of ``train``.

    The rows are first put in a canonical order (by a hash of each row and its label): the
    classifier's early-stopping and threshold splits depend on row order, so the same rows in
    another order scored differently (an augmented table that held exactly the real rows,
    shuffled, scored PR-AUC 0.135 against the real rows' 0.118 on the months table). The same
    rows now make the same model, whatever their order.
    """
    from sklearn.model_selection import train_test_split

    keyed = train[features].assign(_label=y)
    order = np.argsort(pd.util.hash_pandas_object(keyed, index=False).to_numpy(), kind="stable")
    train, y = train.iloc[order], np.asarray(y)[order]
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

    # Every cut, not only the curve's corners: a dropped collinear point can be the best one
    # under the FPR limit (and the bootstrap below counts every cut too).
    fpr, tpr, _ = roc_curve(y, scores, drop_intermediate=False)
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
        ``{"positive", "holdout_rows", "holdout_positive_rate", "bootstrap", "results": {set:
        metrics, "ci95": {metric: [low, high]}, "pr_curve": {"recall", "precision"}},
        "vs_real": {set: {metric: {"difference", "ci95", "within_noise"}}}, "verdict": one
        sentence}``; a training set with a single class is reported, not scored.
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
    scored: dict[str, tuple[np.ndarray, float]] = {}
    with eval_threads():
        for name, frame in sets.items():
            y = _is_positive(frame[target], positive)
            rows = {"rows": int(len(frame)), "positive_rate": float(y.mean()) if len(y) else 0.0}
            if y.min() == y.max():
                results[name] = {**rows, "skipped": "training set has a single class"}
                continue
            scores, threshold = _fit_scores(frame, y, holdout, features, metadata, seed)
            scored[name] = (scores, threshold)
            results[name] = {**rows, **score_classifier(y_test, scores, threshold),
                             "pr_curve": pr_curve(y_test, scores)}
    intervals, vs_real = bootstrap_intervals(y_test, scored, seed=seed)
    for name, ci in intervals.items():
        results[name]["ci95"] = ci
    return {
        "positive": str(positive),
        "holdout_rows": int(len(holdout)),
        "holdout_positive_rate": float(y_test.mean()),
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "level": BOOTSTRAP_LEVEL, "seed": seed,
                      "over": "holdout rows"},
        "results": results,
        "vs_real": vs_real,
        "verdict": _verdict(results, vs_real),
    }


def _is_positive(labels: pd.Series, positive: Any) -> np.ndarray:
    """1 where the label is the positive class, else 0 (nullable dtypes included)."""
    return (labels == positive).to_numpy(dtype=bool, na_value=False).astype(int)


def _verdict(results: dict[str, Any], vs_real: dict[str, Any]) -> str:
    """One sentence: did training on the other sets beat training on the real data, beyond
    the holdout's noise?"""
    base = results.get("real", {})
    if "pr_auc" not in base:
        return "no verdict: the real training set could not be scored"
    parts = []
    for name, what in (("synthetic", "training on synthetic data instead of real data"),
                       ("augmented", "training on augmented data (real rows plus synthetic "
                                     "minority rows)")):
        r = results.get(name)
        if not r or "pr_auc" not in r:
            continue
        diff = vs_real.get(name, {}).get("pr_auc", {})
        delta = r["pr_auc"] - base["pr_auc"]
        if diff.get("within_noise") is None:
            effect = "changes PR-AUC"
            ci = "no interval"
        else:
            lo, hi = diff["ci95"]
            ci = f"95% CI {lo:+.3f} to {hi:+.3f}"
            effect = ("makes no difference beyond noise" if diff["within_noise"]
                      else "gives a better fraud model" if delta > 0
                      else "gives a worse fraud model")
        parts.append(f"{what} {effect} (PR-AUC {r['pr_auc']:.3f} vs {base['pr_auc']:.3f} on "
                     f"real, {delta:+.3f}, {ci})")
    if not parts:
        return "no verdict: no other training set was scored"
    return ", and ".join(parts) + "."


# ----------------------------------------------------------------------------- uncertainty


def pr_curve(y: np.ndarray, scores: np.ndarray, points: int = CURVE_POINTS) -> dict[str, list]:
    """The precision-recall curve on the holdout, thinned to about ``points`` points.

    Args:
        y: Holdout labels (1 = positive).
        scores: The classifier's scores.
        points: Points kept, spread evenly over recall (the first and last cut always).

    Returns:
        ``{"recall": [...], "precision": [...]}`` in order of decreasing threshold, rounded
        to 4 decimals.
    """
    order, last = _ranked(scores)
    tp, fp = _cumulative(np.ones((1, len(y))), y, order, last)
    recall, precision = tp[0] / tp[0, -1], tp[0] / (tp[0] + fp[0])
    keep = np.unique(np.r_[np.searchsorted(recall, np.linspace(0, 1, points)).clip(
        max=len(recall) - 1), 0, len(recall) - 1])
    return {"recall": [round(float(v), 4) for v in recall[keep]],
            "precision": [round(float(v), 4) for v in precision[keep]]}


def bootstrap_intervals(
    y: np.ndarray,
    scored: dict[str, tuple[np.ndarray, float]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[dict[str, dict[str, list]], dict[str, dict[str, dict[str, Any]]]]:
    """Percentile bootstrap intervals over the holdout rows, paired across training sets.

    Every training set is scored on the same resampled holdouts, so the difference from the
    real-trained model has an interval of its own, narrower than the two scores' intervals
    suggest when the models err on the same rows.

    Args:
        y: Holdout labels (1 = positive).
        scored: ``{set: (holdout scores, chosen threshold)}``.
        resamples: Resampled holdouts (rows drawn with replacement, as many as the holdout).
        level: Interval coverage.
        seed: Seeds the resampling.

    Returns:
        ``({set: {metric: [low, high]}}, {set: {metric: {"difference", "ci95",
        "within_noise"}}})`` for the metrics in :data:`INTERVAL_METRICS`; the second part only
        when ``"real"`` was scored. An interval is None where no resample could score it.
    """
    n = len(y)
    y = np.asarray(y, dtype="float64")
    draws = {name: np.empty((resamples, len(INTERVAL_METRICS))) for name in scored}
    ranked = {name: _ranked(s) for name, (s, _) in scored.items()}
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, _BLOCK_CELLS // max(n, 1)))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        weights = np.stack([np.bincount(row, minlength=n) for row in idx]).astype("float64")
        for name, (scores, threshold) in scored.items():
            draws[name][start:start + size] = _weighted_metrics(
                weights, y, scores, threshold, *ranked[name])
    tail = (1 - level) / 2 * 100
    intervals = {name: {m: _percentiles(d[:, j], tail) for j, m in enumerate(INTERVAL_METRICS)}
                 for name, d in draws.items()}
    vs_real: dict[str, dict[str, dict[str, Any]]] = {}
    if "real" in draws:
        point = {name: _weighted_metrics(np.ones((1, n)), y, s, t, *ranked[name])[0]
                 for name, (s, t) in scored.items()}
        for name in draws:
            if name == "real":
                continue
            deltas = draws[name] - draws["real"]
            vs_real[name] = {}
            for j, m in enumerate(INTERVAL_METRICS):
                ci = _percentiles(deltas[:, j], tail)
                vs_real[name][m] = {
                    "difference": float(point[name][j] - point["real"][j]),
                    "ci95": ci,
                    "within_noise": None if ci is None else bool(ci[0] <= 0 <= ci[1]),
                }
    return intervals, vs_real


def _percentiles(values: np.ndarray, tail: float) -> list[float] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]


def _ranked(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows by decreasing score, and the last position of each run of equal scores (a cut)."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    return order, np.flatnonzero(np.r_[s[1:] != s[:-1], True])


def _cumulative(
    weights: np.ndarray, y: np.ndarray, order: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted true and false positives above each cut, one row per resample."""
    w = weights[:, order]
    pos = y[order]
    return np.cumsum(w * pos, axis=1)[:, last], np.cumsum(w * (1 - pos), axis=1)[:, last]


def _weighted_metrics(
    weights: np.ndarray,
    y: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    order: np.ndarray,
    last: np.ndarray,
) -> np.ndarray:
    """:data:`INTERVAL_METRICS` of one classifier on each weighted (resampled) holdout.

    The same definitions as :func:`score_classifier` (trapezoidal ROC-AUC, average precision
    as the recall-weighted sum of precisions), with each holdout row counted as often as the
    resample drew it; NaN where a resample holds a single class.
    """
    tp, fp = _cumulative(weights, y, order, last)
    pos, neg = tp[:, -1:], fp[:, -1:]
    zero = np.zeros((len(weights), 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.where(pos > 0, tp / pos, np.nan)
        fpr = np.where(neg > 0, fp / neg, np.nan)
        tpr0, fpr0 = np.hstack([zero, tpr]), np.hstack([zero, fpr])
        roc = np.sum(np.diff(fpr0, axis=1) * (tpr0[:, 1:] + tpr0[:, :-1]) / 2, axis=1)
        called = tp + fp
        precision = np.where(called > 0, tp / np.where(called > 0, called, 1), 0.0)
        ap = np.sum(np.diff(tpr0, axis=1) * precision, axis=1)
        recall_1 = np.max(np.where(fpr <= 0.01, tpr, 0.0), axis=1)
        recall_5 = np.max(np.where(fpr <= 0.05, tpr, 0.0), axis=1)
        flagged = weights[:, scores >= threshold]
        n_flagged = flagged.sum(axis=1)
        hits = flagged @ y[scores >= threshold]
        precision_t = np.where(n_flagged > 0, hits / np.where(n_flagged > 0, n_flagged, 1), 0.0)
    single = (pos[:, 0] == 0) | (neg[:, 0] == 0)
    out = np.column_stack([ap, roc, recall_1, recall_5, precision_t])
    out[single, :4] = np.nan
    return out
