"""Utility: is a model trained on the synthetic table as good as one trained on the real table?

Train-on-synthetic-test-on-real (TSTR) against train-on-real-test-on-real (TRTR): the same
gradient-boosting classifier (scikit-learn ``HistGradientBoostingClassifier``, fixed settings)
is fitted once on the synthetic rows and once on the real training rows, and both are scored on
the same real test rows (an external test set when given, else the holdout). Each score is
reported for both models and as the ratio synthetic / real (1.0: no loss of utility).

Scores:

- binary target: ROC-AUC, PR-AUC (average precision) of the positive class, F1 at a 0.5
  probability cut, and F1 at the cut that maximises F1 on a validation quarter of the model's
  own training data (a second model fitted on the other three quarters scores it, so neither
  test information nor in-sample overconfidence shapes the cut);
- multi-class target: macro ROC-AUC one-vs-rest, macro PR-AUC and macro F1 of the most probable
  class (a single cut does not apply).

The positive class of a binary target is the rarer class of the real training rows, unless the
labels are a true/false pair (``True``, ``1``, ``yes``, ``y``), in which case it is the true one.

Categoricals are coded from each model's own training rows; a label the model never saw reaches
it as a missing value (the trees route missing values on their own). When the synthetic rows
hold a single class, no classifier can be trained on them: the report says so in ``status`` and
``message`` and leaves the synthetic scores empty instead of failing the run.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

from synthpipe.errors import InputError
from synthpipe.evaluation.columns import (
    TreeEncoder,
    eval_threads,
    evaluated_columns,
    label_strings,
    tree_classifier,
)
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import ColumnKind, TableMetadata

logger = logging.getLogger(__name__)

_TRUE_LABELS = ("true", "1", "yes", "y", "t")
_FALSE_LABELS = ("false", "0", "no", "n", "f")
# A numerical target with more distinct values than this is a regression target.
_MAX_CLASSES = 50
_BINARY_METRICS = ("roc_auc", "pr_auc", "f1", "f1_best_threshold")
_MULTICLASS_METRICS = ("roc_auc", "pr_auc", "f1")


def _positive_class(classes: list[str], y_real: pd.Series) -> str:
    lowered = [c.lower() for c in classes]
    for true, false in zip(_TRUE_LABELS, _FALSE_LABELS, strict=True):
        if sorted(lowered) == sorted([true, false]):
            return classes[lowered.index(true)]
    counts = y_real.value_counts()
    # The rarer class is the one people want found (fraud, default, churn, ">50K").
    return str(counts.reindex(classes).fillna(0).sort_values(kind="stable").index[0])


class TreeModel:
    """One classifier with its own encoder; probabilities aligned to the real class list."""

    def __init__(self, features: list[str], metadata: TableMetadata, seed: int) -> None:
        self.features = features
        self.metadata = metadata
        self.seed = seed

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> TreeModel:
        self.encoder_ = TreeEncoder(self.features, self.metadata).fit(x)
        self.clf_ = tree_classifier(self.seed, categorical=self.encoder_.categorical_mask, y=y)
        self.clf_.fit(self.encoder_.transform(x), y)
        return self

    def proba(self, x: pd.DataFrame, classes: list[str]) -> np.ndarray:
        """Probabilities for ``classes``; a class the model never saw gets probability 0."""
        raw = self.clf_.predict_proba(self.encoder_.transform(x))
        out = np.zeros((len(x), len(classes)))
        position = {c: i for i, c in enumerate(classes)}
        for j, c in enumerate(self.clf_.classes_):
            if c in position:
                out[:, position[c]] = raw[:, j]
        return out


def best_threshold(y_true: np.ndarray, score: np.ndarray) -> float:
    """The probability cut that maximises F1 on (validation) data; 0.5 when undefined.

    The cut sits half-way between the lowest score it admits and the next lower score: the
    model scored on the test rows is not the one tuned here, and a cut right at the edge of a
    validation score would not transfer.
    """
    if y_true.sum() == 0 or y_true.sum() == len(y_true):
        return 0.5
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y_true[order]
    tp = np.cumsum(t)
    fp = np.cumsum(1 - t)
    # Only the last index of each run of equal scores is a real cut.
    last = np.r_[s[1:] != s[:-1], True]
    tp, fp, cuts = tp[last], fp[last], s[last]
    f1 = 2 * tp / (2 * tp + fp + (t.sum() - tp))
    best = int(np.argmax(f1))
    if best + 1 < len(cuts):
        return float((cuts[best] + cuts[best + 1]) / 2)
    return float(cuts[best])


def _binary_scores(
    model: TreeModel,
    x_fit: pd.DataFrame,
    y_fit: np.ndarray,
    x_test: pd.DataFrame,
    y_test: np.ndarray,
    classes: list[str],
    positive: str,
    seed: int,
) -> dict[str, float | None]:
    pos = classes.index(positive)
    threshold = 0.5
    is_pos = y_fit == positive
    if min(is_pos.sum(), (~is_pos).sum()) >= 4:
        # The cut is tuned on a quarter of the training rows the tuning model did not fit on.
        idx_fit, idx_val = train_test_split(
            np.arange(len(y_fit)), test_size=0.25, random_state=seed, stratify=is_pos
        )
        tuner = TreeModel(model.features, model.metadata, seed).fit(
            x_fit.iloc[idx_fit], y_fit[idx_fit]
        )
        p_val = tuner.proba(x_fit.iloc[idx_val], classes)[:, pos]
        threshold = best_threshold(is_pos[idx_val].astype(int), p_val)
    p = model.proba(x_test, classes)[:, pos]
    truth = (y_test == positive).astype(int)
    both = 0 < truth.sum() < len(truth)
    return {
        "roc_auc": float(roc_auc_score(truth, p)) if both else None,
        "pr_auc": float(average_precision_score(truth, p)) if both else None,
        "f1": float(f1_score(truth, (p >= 0.5).astype(int), zero_division=0)),
        "f1_best_threshold": float(f1_score(truth, (p >= threshold).astype(int), zero_division=0)),
        "threshold": threshold,
    }


def _multiclass_scores(
    model: TreeModel, x_test: pd.DataFrame, y_test: np.ndarray, classes: list[str]
) -> dict[str, float | None]:
    p = model.proba(x_test, classes)
    aucs, aps = [], []
    for j, c in enumerate(classes):
        truth = (y_test == c).astype(int)
        if 0 < truth.sum() < len(truth):
            aucs.append(roc_auc_score(truth, p[:, j]))
            aps.append(average_precision_score(truth, p[:, j]))
    predicted = np.asarray(classes, dtype=object)[p.argmax(axis=1)]
    present = sorted(set(y_test))
    return {
        "roc_auc": float(np.mean(aucs)) if aucs else None,
        "pr_auc": float(np.mean(aps)) if aps else None,
        "f1": float(f1_score(y_test, predicted, labels=present, average="macro", zero_division=0)),
    }


def _ratio(synthetic: float | None, real: float | None) -> float | None:
    if synthetic is None or real is None or real == 0:
        return None
    return synthetic / real


def utility_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    metadata: TableMetadata,
    *,
    seed: int = 0,
    test: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Train-on-synthetic versus train-on-real, both tested on real rows.

    Args:
        train: Real training rows (the TRTR model's training data).
        holdout: Real rows never trained on (the test rows unless ``test`` is given).
        synthetic: Synthetic rows (the TSTR model's training data).
        target: Label column (categorical, boolean or a number with few values).
        metadata: Column kinds; the features are the modelled columns other than ``target``.
        seed: Seed of the classifiers and of the threshold split.
        test: An external real test set (same columns), used instead of the holdout.

    Returns:
        A JSON-able dict: ``status`` (``ok``, ``single_class`` or ``skipped``), ``message``,
        ``task`` (``binary``/``multiclass``), ``positive_class``, ``classes``, ``test_set``,
        ``rows`` and ``metrics``: ``{name: {"goal", "bounds", "synthetic", "real", "ratio"}}``.

    Raises:
        InputError: The target is missing from a table or has fewer than two classes in the
            real training rows.
    """
    test_df = holdout if test is None else test
    frames = {"train": train, "holdout": holdout, "synthetic": synthetic, "test": test_df}
    _require_target(frames, target)
    columns = evaluated_columns(metadata, frames)
    features = [c for c in columns if c != target]
    base: dict[str, Any] = {
        "name": "utility",
        "target": target,
        "test_set": "holdout" if test is None else "external",
        "model": "HistGradientBoostingClassifier",
        "features": features,
    }
    if not features:
        raise InputError(
            f"no feature column besides the target {target!r}",
            hint="utility needs at least one modelled column other than the target",
        )
    data = _labelled_rows(frames, features, target)
    classes = sorted(set(data["y_train"]))
    kind = metadata.kind(target) if target in metadata.columns else ColumnKind.CATEGORICAL
    if kind == ColumnKind.NUMERICAL and len(classes) > _MAX_CLASSES:
        message = (f"target {target!r} is a continuous number ({len(classes)} values); utility "
                   "is scored for classification targets only")
        return jsonable({**base, "status": "skipped", "message": message, "metrics": {}})
    if len(classes) < 2:
        raise InputError(
            f"target {target!r} has {len(classes)} class in the real training rows",
            hint="utility needs at least two classes in the training data",
        )
    task = "binary" if len(classes) == 2 else "multiclass"
    positive = _positive_class(classes, pd.Series(data["y_train"])) if task == "binary" else None
    syn_classes = sorted(set(data["y_syn"]))
    base.update(
        task=task,
        positive_class=positive,
        classes=classes,
        synthetic_classes=syn_classes,
        rows={"train": len(data["x_train"]), "synthetic": len(data["x_syn"]),
              "test": len(data["x_test"])},
    )
    if len(data["x_test"]) == 0:
        raise InputError("the test rows have no target value", hint="check the target column")
    names = _BINARY_METRICS if task == "binary" else _MULTICLASS_METRICS
    with eval_threads():
        real = _scores(data["x_train"], data["y_train"], data, classes, positive, metadata, seed)
        status, message = "ok", ""
        synthetic_scores: dict[str, float | None] = dict.fromkeys(names)
        if len(syn_classes) < 2:
            status = "single_class"
            message = (
                f"the synthetic rows hold {len(syn_classes)} class of {target!r} "
                f"({syn_classes}); no classifier can be trained on them, so train-on-synthetic "
                "scores are missing. The synthesizer lost the other classes."
            )
            logger.warning(message)
        else:
            synthetic_scores = _scores(
                data["x_syn"], data["y_syn"], data, classes, positive, metadata, seed
            )
            lost = sorted(set(classes) - set(syn_classes))
            if lost:
                message = f"the synthetic rows lack classes {lost} of {target!r}"
                logger.warning(message)
    metrics = _metric_table(names, synthetic_scores, real, binary=task == "binary")
    return jsonable({**base, "status": status, "message": message, "metrics": metrics})


def _require_target(frames: dict[str, pd.DataFrame], target: str) -> None:
    for name, df in frames.items():
        if not isinstance(df, pd.DataFrame) or target not in df.columns:
            raise InputError(
                f"target column {target!r} is not in the {name} table",
                hint="pass the label column name with --target",
            )


def _labelled_rows(
    frames: dict[str, pd.DataFrame], features: list[str], target: str
) -> dict[str, Any]:
    """Features and labels of the train, synthetic and test rows that have a label."""
    out: dict[str, Any] = {}
    for name, short in (("train", "train"), ("synthetic", "syn"), ("test", "test")):
        y = label_strings(frames[name][target])
        keep = y.notna().to_numpy()
        out[f"x_{short}"] = frames[name].loc[keep, features].reset_index(drop=True)
        out[f"y_{short}"] = y[keep].to_numpy(dtype=object)
    return out


def _scores(
    x_fit: pd.DataFrame,
    y_fit: np.ndarray,
    data: dict[str, Any],
    classes: list[str],
    positive: str | None,
    metadata: TableMetadata,
    seed: int,
) -> dict[str, float | None]:
    """Fit the classifier on (``x_fit``, ``y_fit``) and score it on the test rows."""
    model = TreeModel(list(x_fit.columns), metadata, seed).fit(x_fit, y_fit)
    if positive is not None:
        return _binary_scores(
            model, x_fit, y_fit, data["x_test"], data["y_test"], classes, positive, seed
        )
    return _multiclass_scores(model, data["x_test"], data["y_test"], classes)


def _metric_table(
    names: tuple[str, ...],
    synthetic: dict[str, float | None],
    real: dict[str, float | None],
    *,
    binary: bool,
) -> dict[str, dict[str, Any]]:
    """``{metric: {goal, bounds, synthetic, real, ratio}}`` (plus the F1 cuts when binary)."""
    metrics = {
        m: {
            "goal": "maximize",
            "bounds": [0.0, 1.0],
            "synthetic": synthetic.get(m),
            "real": real.get(m),
            "ratio": _ratio(synthetic.get(m), real.get(m)),
        }
        for m in names
    }
    if binary:
        metrics["f1_best_threshold"]["threshold"] = {
            "synthetic": synthetic.get("threshold"),
            "real": real.get("threshold"),
        }
    return metrics
