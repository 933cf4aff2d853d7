"""The autoregressive model: tokens, native class sampling and a sharp dependency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synthpipe.metadata import detect_metadata
from synthpipe.models import create_model
from tests.hard_tables import claims_months


def test_tokens_and_values_round_trip_to_the_encoded_bins(known_frame, known_metadata):
    model = create_model("argn", epochs=1, hidden_dims=(16,), seed=0)
    model.fit(known_frame.head(300), known_metadata, target="y")
    x = model.encode(known_frame.head(300))
    tokens = model._tokens(x)
    assert tokens.shape == (300, len(model.token_spans_))
    for j, span in enumerate(model.token_spans_):
        assert int(tokens[:, j].max()) < span["size"]
        if span["kind"] == "continuous":
            edges = np.asarray(span["edges"])
            z = x[:, span["start"]].numpy()
            inside = (z >= edges[0]) & (z <= edges[-1])
            lo, hi = edges[tokens[:, j].numpy()], edges[tokens[:, j].numpy() + 1]
            # Each value lies in its bin (values beyond the outer quantiles sit in the end bins).
            assert np.all((z[inside] >= lo[inside] - 1e-6) & (z[inside] <= hi[inside] + 1e-6))


def test_an_accident_and_claim_month_are_kept_together():
    """The same month in 74% of real rows: an independent model gives about 1/12."""
    df = claims_months(n=3000, seed=1, extra=4)
    meta = detect_metadata(df)
    torch.manual_seed(0)
    model = create_model("argn", epochs=25, seed=0, batch_size=128).fit(df, meta, target="fraud")
    s = model.sample(3000, seed=2)
    real = (df.accident_month == df.claim_month).mean()
    synth = (s.accident_month == s.claim_month).mean()
    assert abs(real - synth) < 0.08, (real, synth)


def test_a_rare_class_is_sampled_natively_with_its_own_features():
    df = claims_months(n=3000, seed=2, extra=0)
    meta = detect_metadata(df)
    model = create_model("argn", epochs=20, seed=0, batch_size=128).fit(df, meta, target="fraud")
    fraud = model.sample(500, conditions={"fraud": "Yes"}, seed=3)
    assert len(fraud) == 500 and (fraud["fraud"] == "Yes").all()
    # Fraud is likelier for young drivers: the class's own mix, not the table's.
    young = lambda f: (f["driver_age"] == "16-25").mean()  # noqa: E731
    real_fraud = df[df["fraud"] == "Yes"]
    assert young(fraud) > young(df) + 0.05
    assert abs(young(fraud) - young(real_fraud)) < 0.1
    assert isinstance(fraud, pd.DataFrame)
