"""Rare labels through a real model: merged for training, never published, not even as a
placeholder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.metadata import RARE_PLACEHOLDER, detect_metadata
from synthpipe.models import create_model


def _table(n: int = 1_200, seed: int = 0) -> tuple[pd.DataFrame, set[str]]:
    rng = np.random.default_rng(seed)
    jobs = rng.choice(["clerk", "nurse", "driver", "teacher"], n, p=[0.4, 0.3, 0.2, 0.1])
    jobs = jobs.astype(object)
    rare = {f"astronaut-{i}" for i in range(30)}
    jobs[rng.choice(n, 60, replace=False)] = sorted(rare) * 2  # two rows each
    df = pd.DataFrame({
        "job": jobs,
        "grade": pd.Categorical(rng.choice(["A", "B", "C"], n)),
        "amount": rng.gamma(2.0, 100.0, n).round(2),
        "fraud": rng.choice(["Y", "N"], n, p=[0.1, 0.9]),
    })
    return df, rare


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tvae", "tabddpm", "flow"])
def test_no_placeholder_and_no_rare_label_in_a_real_models_sample(name):
    df, rare = _table()
    model = create_model(name, epochs=2, seed=0).fit(df, detect_metadata(df), target="fraud")
    enc = next(e for e in model.transformer_.encoders_ if e.column == "job")
    assert enc.has_rare and not set(enc.categories) & rare
    out = model.sample(5_000, seed=1)
    assert RARE_PLACEHOLDER not in set(out["job"].dropna())
    assert not set(out["job"].dropna()) & rare
    assert set(out["job"].dropna()) <= {"clerk", "nurse", "driver", "teacher"}
    summary = model.transformer_.rare_summary()
    assert summary["job"]["labels_merged"] == len(set(df["job"]) & rare)
    assert summary["job"]["share_of_cells"] == pytest.approx(60 / len(df))
