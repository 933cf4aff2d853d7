"""TableTransformer: layout contract, exact round trips, JSON state, decoding logits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from synthpipe.errors import InputError, ModelError
from synthpipe.metadata import ColumnKind, detect_metadata
from synthpipe.transform import RARE_PLACEHOLDER, Span, TableTransformer


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """Every supported kind, with missing values where the dtype allows them."""
    rng = np.random.default_rng(0)
    n = 400
    amount = rng.lognormal(3, 1, n).round(2)
    amount[rng.random(n) < 0.1] = np.nan
    opened = pd.Timestamp("2019-06-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    opened = pd.Series(opened).astype("datetime64[ms]")
    opened[rng.random(n) < 0.05] = pd.NaT
    stamp = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 86400, n), unit="s")
    return pd.DataFrame({
        "record_id": np.arange(n),  # an id: never modelled
        "amount": amount,
        "age": rng.integers(18, 90, n),
        "visits": pd.array(np.where(rng.random(n) < 0.1, None, rng.poisson(3, n)), dtype="Int64"),
        "opened": opened,
        "stamp": pd.Series(stamp).dt.tz_convert("Europe/Paris"),
        "region": rng.choice(["north", "south", "east", None], n, p=[0.4, 0.3, 0.25, 0.05]),
        "flag": rng.random(n) < 0.2,
        "maybe": pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.5),
                          dtype="boolean"),
        "is_vip": (rng.random(n) < 0.1).astype(np.int64),
    })


@pytest.mark.parametrize("numerical", ["quantile", "mode"])
def test_round_trip_is_exact_for_every_kind(mixed, numerical):
    md = detect_metadata(mixed)
    assert md.kind("record_id") == ColumnKind.ID
    assert md.kind("visits") == ColumnKind.CATEGORICAL  # few distinct counts: a category
    # rare_min_count=1: exactness is the point here; rare merging is tested on its own.
    tt = TableTransformer(numerical=numerical, rare_min_count=1).fit(mixed, md)
    x = tt.transform(mixed)
    assert x.dtype == torch.float32 and x.shape == (len(mixed), tt.output_dim_)
    back = tt.inverse_transform(x)
    expected = mixed.drop(columns=["record_id"])
    assert list(back.columns) == list(expected.columns)
    assert back.dtypes.to_dict() == expected.dtypes.to_dict()
    floats = ["amount"]
    pd.testing.assert_frame_equal(back.drop(columns=floats), expected.drop(columns=floats))
    assert back["amount"].isna().equals(expected["amount"].isna())
    np.testing.assert_allclose(back["amount"].dropna(), expected["amount"].dropna(), rtol=1e-5)


def test_layout_puts_continuous_spans_first(mixed):
    tt = TableTransformer().fit(mixed, detect_metadata(mixed))
    kinds = [s.kind for s in tt.layout_]
    assert kinds == sorted(kinds, key=lambda k: k != "continuous")
    assert tt.n_continuous_ == kinds.count("continuous") == 4
    assert tt.category_sizes_ == [s.dim for s in tt.layout_ if s.kind == "discrete"]
    assert tt.output_dim_ == sum(s.dim for s in tt.layout_)
    # Missing indicators are 2-dim discrete spans of their column.
    missing = [s for s in tt.layout_ if s.role == "missing"]
    assert {s.column for s in missing} == {"amount", "opened"}
    assert all(s.dim == 2 and s.kind == "discrete" for s in missing)
    # Each row's discrete block is one-hot per span.
    x = tt.transform(mixed)
    assert torch.all(x[:, tt.n_continuous_:].sum(1) == len(tt.category_sizes_))
    # Quantile-normal continuous dims are roughly N(0, 1).
    cont = x[:, : tt.n_continuous_]
    assert cont.mean(0).abs().max() < 0.2 and (cont.std(0) - 1).abs().max() < 0.3


def test_mode_normalization_adds_mode_spans(mixed):
    md = detect_metadata(mixed)
    tt = TableTransformer(numerical="mode").fit(mixed, md)
    modes = [s for s in tt.layout_ if s.role == "mode"]
    assert {s.column for s in modes} == {"amount", "age"}
    assert all(s.kind == "discrete" and s.dim >= 1 for s in modes)


def test_state_is_plain_json_and_restores_identically(mixed):
    md = detect_metadata(mixed)
    tt = TableTransformer(numerical="mode", rare_min_count=3).fit(mixed, md)
    text = json.dumps(tt.to_state())  # raises if anything is not JSON
    clone = TableTransformer.from_state(json.loads(text))
    assert clone.layout_ == tt.layout_
    x = tt.transform(mixed)
    assert torch.equal(clone.transform(mixed), x)
    pd.testing.assert_frame_equal(clone.inverse_transform(x), tt.inverse_transform(x))


def test_inverse_takes_argmax_of_logits_and_clips_continuous():
    df = pd.DataFrame({"v": np.arange(100, dtype=float), "c": ["a", "b"] * 50})
    tt = TableTransformer().fit(df, detect_metadata(df))
    assert tt.layout_ == [Span("v", "continuous", 1), Span("c", "discrete", 2)]
    logits = np.array([[99.0, -3.0, 2.0], [-99.0, 0.5, 0.1], [np.nan, 0.0, 1.0]])
    out = tt.inverse_transform(logits)
    # Out of range -> clipped to the fitted range; a NaN score decodes as the median (49.5,
    # rounded: every fitted value was whole).
    assert out["v"].tolist() == [99.0, 0.0, 50.0]
    assert out["c"].tolist() == ["b", "a", "b"]


def test_rare_values_do_not_leave_the_transformer():
    df = pd.DataFrame({"c": ["common"] * 60 + ["only-once", "twice", "twice"]})
    tt = TableTransformer(rare_min_count=5).fit(df, detect_metadata(df))
    out = tt.inverse_transform(tt.transform(df))
    assert set(out["c"]) == {"common"}
    assert RARE_PLACEHOLDER not in set(out["c"])
    assert tt.rare_summary() == {"c": {"labels_merged": 2, "share_of_cells": round(3 / 63, 6),
                                       "decoded_as": "a kept label"}}


def test_a_bucket_row_given_as_scores_takes_the_nearest_kept_label():
    """Relaxed one-hots (the flow's output): the bucket is removed and argmax decides, the rule
    every other row is decoded by."""
    df = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["r1", "r2"]})
    tt = TableTransformer(rare_min_count=5).fit(df, detect_metadata(df))
    assert tt.layout_ == [Span("c", "discrete", 3)]  # a, b, bucket
    scores = np.array([[0.1, 0.3, 0.9], [0.4, -0.2, 0.8], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    out = tt.inverse_transform(scores)
    assert out["c"].tolist()[:2] == ["b", "a"]  # the nearest kept label
    assert out["c"].iloc[2] in {"a", "b"}  # an exact one-hot: redrawn by frequency
    assert out["c"].iloc[3] == "b"


def test_high_cardinality_is_capped():
    df = pd.DataFrame({"c": [f"k{i % 300}" for i in range(3000)]})
    md = detect_metadata(df)
    tt = TableTransformer(max_categories=50).fit(df, md)
    assert tt.output_dim_ == 51


def test_errors_name_the_problem(mixed):
    md = detect_metadata(mixed)
    with pytest.raises(ModelError, match="numerical encoding"):
        TableTransformer(numerical="log").fit(mixed, md)
    with pytest.raises(ModelError, match="not fitted"):
        TableTransformer().transform(mixed)
    tt = TableTransformer().fit(mixed, md)
    with pytest.raises(InputError, match="not in the table"):
        tt.transform(mixed.drop(columns=["age"]))
    with pytest.raises(ModelError, match="shape"):
        tt.inverse_transform(np.zeros((3, tt.output_dim_ + 1)))
    with pytest.raises(ModelError, match="no modelled column"):
        TableTransformer().fit(mixed[["record_id"]], md.subset(["record_id"]))
    with pytest.raises(ModelError, match="version"):
        TableTransformer.from_state({"version": 99})


def test_transform_is_vectorised_on_a_larger_table():
    # 200k rows must encode in well under the time a per-row loop would take (no timing
    # assertion: the check is that it completes and is exact on a sample).
    rng = np.random.default_rng(1)
    n = 200_000
    df = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(list("abcdefgh"), n)})
    tt = TableTransformer().fit(df, detect_metadata(df))
    x = tt.transform(df)
    assert x.shape == (n, 9)
    back = tt.inverse_transform(x[:1000])
    assert back["c"].tolist() == df["c"].iloc[:1000].tolist()
