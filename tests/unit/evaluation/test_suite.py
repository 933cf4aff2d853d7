"""Honesty checks on a real table: the evaluation must tell a leak from a good synthesizer.

adult.csv (UCI Census Income) is read with ``?`` as missing, 4,000 rows are drawn and split
into equal train and holdout halves; the metadata comes from synthpipe's own detection. Three
stand-ins for a synthesizer's output:

- the training table itself (a model that memorised): privacy gates must fail;
- the real holdout (an ideal model): privacy gates pass, fidelity at its ceiling;
- independent column-wise shuffles of the training table (a model that learned each column
  but no relation): pair trends and detection must show it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthpipe.config import GateConfig
from synthpipe.errors import InputError
from synthpipe.evaluation import evaluate, gates
from synthpipe.metadata import TableMetadata, detect_metadata

ADULT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "adult.csv"
ROWS = 4_000


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame, TableMetadata]:
    if not ADULT.is_file():
        pytest.skip(f"real test table {ADULT} is not available")
    df = pd.read_csv(ADULT, na_values=["?"]).sample(ROWS, random_state=7).reset_index(drop=True)
    metadata = detect_metadata(df)
    return df.iloc[: ROWS // 2].reset_index(drop=True), df.iloc[ROWS // 2 :], metadata


@pytest.fixture(scope="module")
def copied(adult: tuple[pd.DataFrame, pd.DataFrame, TableMetadata]) -> dict[str, Any]:
    train, holdout, metadata = adult
    return evaluate(train, holdout, train.copy(), metadata, seed=0, pii_values={})


@pytest.fixture(scope="module")
def real_holdout(adult: tuple[pd.DataFrame, pd.DataFrame, TableMetadata]) -> dict[str, Any]:
    train, holdout, metadata = adult
    return evaluate(train, holdout, holdout.copy(), metadata, seed=0, pii_values={})


@pytest.fixture(scope="module")
def shuffled(adult: tuple[pd.DataFrame, pd.DataFrame, TableMetadata]) -> dict[str, Any]:
    train, holdout, metadata = adult
    rng = np.random.default_rng(0)
    synth = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    return evaluate(train, holdout, synth, metadata, target="income", seed=0, pii_values={})


def test_training_table_as_synthetic_fails_privacy(copied: dict[str, Any]) -> None:
    privacy = copied["privacy"]
    assert privacy["identical_match_share"]["synthetic"] > 0.99
    assert privacy["identical_match_share"]["holdout"] < 0.05
    assert privacy["dcr"]["dcr_share"] > 0.95
    assert privacy["membership_inference"]["synthetic"] > 0.9
    verdict = gates(copied, GateConfig())
    assert verdict["publishable"] is False
    assert {"mia_auc", "dcr_share", "identical_match_share"} <= set(verdict["failed"])
    assert "pii_leaks" not in verdict["failed"]


def test_real_holdout_as_synthetic_passes_privacy_at_fidelity_ceiling(
    real_holdout: dict[str, Any],
) -> None:
    verdict = gates(real_holdout, GateConfig())
    privacy = [c for c in verdict["checks"] if c["category"] == "privacy"]
    assert all(c["passed"] is True for c in privacy), [c["message"] for c in privacy]
    assert verdict["publishable"] is True
    fidelity = real_holdout["fidelity"]
    assert fidelity["column_shapes"]["synthetic"] > 0.95
    assert fidelity["column_shapes"]["synthetic"] == pytest.approx(
        fidelity["column_shapes"]["holdout"], abs=0.01
    )
    assert fidelity["pair_trends"]["synthetic"] > 0.9
    assert fidelity["detection"]["synthetic"] == pytest.approx(0.5, abs=0.06)


def test_column_shuffles_lose_pair_trends_and_are_detected(shuffled: dict[str, Any]) -> None:
    fidelity = shuffled["fidelity"]
    # Each column keeps its exact values, so its shape is perfect...
    assert fidelity["column_shapes"]["synthetic"] == pytest.approx(1.0)
    # ...but every relation between columns is gone.
    assert fidelity["pair_trends"]["synthetic"] < fidelity["pair_trends"]["holdout"] - 0.03
    assert fidelity["detection"]["synthetic"] > fidelity["detection"]["holdout"] + 0.25
    # The label no longer depends on the features: a model trained on it is useless.
    utility = shuffled["utility"]
    assert utility["metrics"]["roc_auc"]["real"] > 0.8
    assert utility["metrics"]["roc_auc"]["synthetic"] < 0.65
    assert utility["metrics"]["roc_auc"]["ratio"] < 0.8
    verdict = gates(shuffled, GateConfig())
    assert "pair_trends" in verdict["warnings"] or "detection_auc" in verdict["warnings"]


def test_result_shape_is_json_with_rows_and_timings(shuffled: dict[str, Any]) -> None:
    json.dumps(shuffled, allow_nan=False)
    assert set(shuffled) >= {"fidelity", "utility", "privacy", "rows", "seconds"}
    assert shuffled["rows"]["train"] == ROWS // 2 and shuffled["rows"]["published"] is None
    assert set(shuffled["seconds"]) == {"fidelity", "utility", "privacy", "total"}


def test_published_frame_is_scanned_for_pii_and_progress_is_reported(
    adult: tuple[pd.DataFrame, pd.DataFrame, TableMetadata],
) -> None:
    train, holdout, metadata = adult
    small_train, small_hold = train.iloc[:300], holdout.iloc[:300]
    synth = small_hold.copy()
    published = synth.assign(contact=["someone@example.org"] * len(synth))
    published.loc[published.index[0], "contact"] = "Real.Person@mail.com"
    calls: list[tuple[str, int, int]] = []
    out = evaluate(
        small_train, small_hold, synth, metadata,
        pii_values={"contact": pd.Series(["real.person@mail.com"])},
        published=published,
        progress=lambda part, done, total: calls.append((part, done, total)),
    )
    assert out["privacy"]["pii_leakage"]["total"] == 1
    assert out["utility"] is None
    assert calls == [("fidelity", 0, 2), ("privacy", 1, 2), ("done", 2, 2)]
    assert gates(out, GateConfig())["failed"] == ["pii_leaks"]


def test_missing_target_is_an_input_error(
    adult: tuple[pd.DataFrame, pd.DataFrame, TableMetadata],
) -> None:
    train, holdout, metadata = adult
    with pytest.raises(InputError, match="target column"):
        evaluate(train.iloc[:50], holdout.iloc[:50], train.iloc[:50], metadata, target="nope")
