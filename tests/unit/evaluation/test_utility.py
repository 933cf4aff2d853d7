"""Utility (train-on-synthetic-test-on-real) on tables with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.evaluation import utility_report
from synthpipe.evaluation.utility import _positive_class, best_threshold
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata

META = TableMetadata(
    {
        "x": ColumnMeta("x", ColumnKind.NUMERICAL, "float64"),
        "c": ColumnMeta("c", ColumnKind.CATEGORICAL, "object"),
        "y": ColumnMeta("y", ColumnKind.CATEGORICAL, "object"),
    }
)


def _binary(n: int, seed: int, flip: bool = False) -> pd.DataFrame:
    """y is 'yes' exactly when x > 0, with a gap around 0: a perfect classifier exists."""
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2.0, n)
    positive = (x > 0) != flip
    return pd.DataFrame(
        {"x": x, "c": rng.choice(["a", "b", "c"], n), "y": np.where(positive, "yes", "no")}
    )


def test_perfect_classifier_scores_one_and_ratio_one() -> None:
    train, holdout, synth = _binary(400, 0), _binary(200, 1), _binary(400, 2)
    out = utility_report(train, holdout, synth, "y", META)
    json.dumps(out, allow_nan=False)
    assert out["status"] == "ok" and out["task"] == "binary"
    assert out["positive_class"] == "yes"
    m = out["metrics"]
    assert m["roc_auc"]["real"] == pytest.approx(1.0)
    assert m["roc_auc"]["synthetic"] == pytest.approx(1.0)
    assert m["roc_auc"]["ratio"] == pytest.approx(1.0)
    assert m["pr_auc"]["synthetic"] > 0.98
    assert m["f1"]["synthetic"] > 0.95 and m["f1_best_threshold"]["synthetic"] > 0.95
    assert out["test_set"] == "holdout" and out["rows"]["test"] == 200


def test_synthetic_with_inverted_labels_loses_its_utility() -> None:
    train, holdout = _binary(400, 0), _binary(200, 1)
    out = utility_report(train, holdout, _binary(400, 2, flip=True), "y", META)
    assert out["metrics"]["roc_auc"]["synthetic"] < 0.05
    assert out["metrics"]["roc_auc"]["ratio"] < 0.05


def test_single_class_synthetic_is_reported_not_raised() -> None:
    synth = _binary(300, 2)
    synth["y"] = "no"
    out = utility_report(_binary(300, 0), _binary(100, 1), synth, "y", META)
    assert out["status"] == "single_class"
    assert "1 class" in out["message"]
    assert out["metrics"]["roc_auc"]["synthetic"] is None
    assert out["metrics"]["roc_auc"]["ratio"] is None
    assert out["metrics"]["roc_auc"]["real"] > 0.95


def test_multiclass_macro_scores() -> None:
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        x = rng.uniform(0, 3, n)
        return pd.DataFrame(
            {"x": x, "c": rng.choice(["a", "b"], n), "y": np.array(["p", "q", "r"])[x.astype(int)]}
        )

    out = utility_report(table(450), table(150), table(450), "y", META)
    assert out["task"] == "multiclass" and out["positive_class"] is None
    assert out["metrics"]["roc_auc"]["synthetic"] > 0.98
    assert out["metrics"]["f1"]["real"] > 0.9
    assert "f1_best_threshold" not in out["metrics"]


def test_unseen_categories_and_external_test_set() -> None:
    train, synth = _binary(300, 0), _binary(300, 2)
    test = _binary(150, 5)
    test["c"] = "never-seen"
    test.loc[:4, "x"] = np.nan
    out = utility_report(train, _binary(100, 1), synth, "y", META, test=test)
    assert out["test_set"] == "external" and out["rows"]["test"] == 150
    assert out["metrics"]["roc_auc"]["synthetic"] > 0.9


def test_labels_from_a_model_in_another_dtype_still_match() -> None:
    meta = TableMetadata(
        {
            "x": ColumnMeta("x", ColumnKind.NUMERICAL, "float64"),
            "y": ColumnMeta("y", ColumnKind.CATEGORICAL, "int64"),
        }
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    real = pd.DataFrame({"x": x, "y": (x > 0).astype(int)})
    synth = pd.DataFrame({"x": x, "y": (x > 0).astype(float)})  # 0.0 / 1.0
    out = utility_report(real, real, synth, "y", meta)
    assert out["classes"] == ["0", "1"] and out["positive_class"] == "1"
    assert out["metrics"]["roc_auc"]["synthetic"] > 0.98


def test_positive_class_rules() -> None:
    assert _positive_class(["No", "Yes"], pd.Series(["Yes"] * 9 + ["No"])) == "Yes"
    assert _positive_class([">50K", "<=50K"], pd.Series(["<=50K"] * 3 + [">50K"])) == ">50K"


def test_best_threshold_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    # Admitting scores >= 0.3 -> tp 3, fp 1, fn 0: F1 6/7, the best; the cut goes half-way
    # to the next lower score, 0.2.
    assert best_threshold(y, p) == pytest.approx(0.25)


def test_missing_target_is_an_input_error() -> None:
    df = _binary(50, 0)
    with pytest.raises(InputError, match="target column 'nope'"):
        utility_report(df, df, df, "nope", META)
