"""The training-time fidelity probe ranks samples the way a reviewer would."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthpipe.evaluation.probe import FidelityProbe
from tests.unit.evaluation.test_diagnosis import META, _months


def _with_label(df: pd.DataFrame, rng: np.random.Generator, fraud_amounts: bool) -> pd.DataFrame:
    """A 10% fraud label; real fraud rows have large amounts (``fraud_amounts``)."""
    out = df.copy()
    out["fraud"] = np.where(rng.random(len(df)) < 0.1, "Y", "N")
    if fraud_amounts:
        out.loc[out["fraud"] == "Y", "amount"] *= 20
    return out


def test_a_sample_that_breaks_a_relation_scores_worse() -> None:
    rng = np.random.default_rng(0)
    probe = FidelityProbe(_months(2000, rng, True), META)
    good = probe(_months(2000, rng, True))
    broken = probe(_months(2000, rng, False))
    assert good.score < broken.score
    assert broken.worst_pairs > 2 * good.worst_pairs
    assert broken.detection_auc > good.detection_auc
    assert 0.0 <= good.score <= broken.score <= 1.0


def test_the_rarest_class_counts_when_a_target_is_given() -> None:
    from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata

    rng = np.random.default_rng(1)
    meta = TableMetadata({**META.columns,
                          "fraud": ColumnMeta("fraud", ColumnKind.CATEGORICAL, "object")})
    real = _with_label(_months(3000, rng, True), rng, fraud_amounts=True)
    probe = FidelityProbe(real, meta, target="fraud")
    assert probe.minority == "Y"
    faithful = probe(_with_label(_months(3000, rng, True), rng, fraud_amounts=True))
    lost = probe(_with_label(_months(3000, rng, True), rng, fraud_amounts=False))
    assert faithful.minority_score is not None and lost.minority_score is not None
    assert faithful.minority_score < lost.minority_score
    assert faithful.score < lost.score
