"""synthpipe.evaluation.downstream: the fraud-model check on the real holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.evaluation.downstream import downstream_report, score_classifier
from synthpipe.metadata import detect_metadata


def _table(n, fraud_rate, seed):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < fraud_rate
    x = rng.normal(size=n) + 1.5 * y
    kind = np.where(rng.random(n) < 0.2 + 0.5 * y, "theft", "collision")
    return pd.DataFrame({"amount": x, "kind": kind, "fraud": np.where(y, "Y", "N")})


def test_score_classifier_by_hand():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.7, 0.6, 0.9])
    m = score_classifier(y, s, threshold=0.65)
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["precision_at_threshold"] == pytest.approx(0.5)
    assert m["recall_at_threshold"] == pytest.approx(0.5)
    assert m["recall_at_1pct_fpr"] == pytest.approx(0.5)  # 0.9 ranks above every negative


def test_report_scores_every_training_set_on_the_holdout():
    real = _table(3000, 0.03, 0)
    holdout = _table(3000, 0.03, 1)
    balanced = _table(3000, 0.5, 2)
    augmented = pd.concat([real, balanced[balanced.fraud == "Y"]], ignore_index=True)
    meta = detect_metadata(real)
    out = downstream_report(real, holdout, balanced, "fraud", "Y", meta, augmented=augmented)
    assert set(out["results"]) == {"real", "synthetic", "augmented"}
    for r in out["results"].values():
        assert 0.5 < r["roc_auc"] <= 1.0
        assert 0.0 <= r["recall_at_1pct_fpr"] <= r["recall_at_5pct_fpr"] <= 1.0
    assert out["results"]["synthetic"]["positive_rate"] == pytest.approx(0.5, abs=0.05)
    assert out["holdout_positive_rate"] == pytest.approx(0.03, abs=0.01)
    assert out["verdict"].startswith("training on synthetic data")
    assert "augmented" in out["verdict"]


def test_single_class_training_set_is_reported_not_scored():
    real = _table(1000, 0.1, 0)
    holdout = _table(1000, 0.1, 1)
    only_n = real[real.fraud == "N"]
    out = downstream_report(real, holdout, only_n, "fraud", "Y", detect_metadata(real))
    assert out["results"]["synthetic"]["skipped"] == "training set has a single class"
    assert "pr_auc" in out["results"]["real"]


def test_a_nullable_boolean_label_with_gaps():
    # A pandas "boolean" target with missing labels: unlabelled rows are left out of every
    # training set and of the holdout (comparing pd.NA raised inside the check).
    def flagged(seed):
        t = _table(1000, 0.1, seed)
        label = pd.array(t.pop("fraud") == "Y", dtype="boolean")
        label[::25] = pd.NA
        return t.assign(fraud=label)

    real, holdout = flagged(0), flagged(1)
    out = downstream_report(real, holdout, flagged(2), "fraud", True, detect_metadata(real))
    assert out["holdout_rows"] == 960
    assert out["results"]["real"]["rows"] == 960 and out["results"]["real"]["pr_auc"] > 0.3


def test_date_gaps_become_features():
    from synthpipe.evaluation.downstream import with_date_gaps

    df = pd.DataFrame(
        {
            "incident": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "report": pd.to_datetime(["2024-01-11", "2024-02-01"]),
            "x": [1.0, 2.0],
        }
    )
    (out,), meta = with_date_gaps([df], detect_metadata(df))
    assert out["report - incident (days)"].tolist() == [10.0, 0.0]
    assert meta.kind("report - incident (days)").value == "numerical"
    assert "report - incident (days)" not in df.columns  # inputs are not mutated
    # A tz-aware column and a naive one (read as UTC) still give a gap.
    df["incident"] = df["incident"].dt.tz_localize("Europe/Paris")
    (out,), _ = with_date_gaps([df], detect_metadata(df))
    assert out["report - incident (days)"].tolist() == [10.0 + 1 / 24, 1 / 24]


def test_the_same_rows_in_another_order_score_the_same():
    # An augmented table that adds no row is the real rows shuffled: its fraud model must be
    # the real rows' model, so a difference between the two sets is never row order.
    real = _table(3000, 0.05, 0)
    holdout = _table(2000, 0.05, 1)
    shuffled = real.sample(frac=1.0, random_state=3).reset_index(drop=True)
    meta = detect_metadata(real)
    out = downstream_report(real, holdout, shuffled, "fraud", "Y", meta, augmented=shuffled)
    scores = {k: (v["pr_auc"], v["roc_auc"], v["recall_at_1pct_fpr"])
              for k, v in out["results"].items()}
    assert scores["real"] == scores["synthetic"] == scores["augmented"]
