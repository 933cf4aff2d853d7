"""Per-kind column encoders: exact round trips, rare-label protection, JSON state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import InputError, ModelError
from synthpipe.metadata import RARE_PLACEHOLDER
from synthpipe.transform.categorical import BooleanEncoder, CategoricalEncoder
from synthpipe.transform.encoders import ColumnEncoder, Span
from synthpipe.transform.numeric import (
    DatetimeEncoder,
    ModeNormal,
    NumericalEncoder,
    QuantileNormal,
)


def _roundtrip(enc: ColumnEncoder, s: pd.Series) -> pd.Series:
    enc.fit(s)
    parts = enc.encode(s)
    # Through JSON, as a saved model would be.
    clone = ColumnEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    return clone.decode(parts)


def test_quantile_normal_maps_to_standard_normal_and_back():
    rng = np.random.default_rng(0)
    x = rng.exponential(size=5000)
    qn = QuantileNormal.fit(x)
    z = qn.forward(x)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    np.testing.assert_allclose(qn.inverse(z), x, rtol=1e-6, atol=1e-9)
    # Outside the fitted range, decoding clips to it.
    assert qn.inverse(np.array([-50.0, 50.0])).tolist() == [x.min(), x.max()]


def test_quantile_normal_maps_ties_to_one_point():
    x = np.r_[np.zeros(500), np.arange(1.0, 501.0)]
    qn = QuantileNormal.fit(x)
    z = qn.forward(x)
    assert np.unique(z[:500]).size == 1
    assert (qn.inverse(z[:500]) == 0).all()


def test_mode_normal_recovers_two_modes_and_inverts():
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(-5, 0.5, 800), rng.normal(5, 0.5, 800)]
    mn = ModeNormal.fit(x, seed=0)
    assert mn.n_modes >= 2
    scalar, mode = mn.forward(x, np.random.default_rng(0))
    np.testing.assert_allclose(mn.inverse(scalar, mode), x, rtol=1e-9, atol=1e-9)
    # Each value's mode is a component near it, so the scalar stays small.
    assert np.abs(scalar).max() < 6


@pytest.mark.parametrize("method", ["quantile", "mode"])
def test_integers_round_trip_exactly(method):
    rng = np.random.default_rng(2)
    s = pd.Series(rng.integers(-50, 5000, 400), name="i")
    out = _roundtrip(NumericalEncoder("i", method=method), s)
    assert out.dtype == s.dtype
    pd.testing.assert_series_equal(out, s)


def test_nullable_int64_keeps_missing_and_dtype():
    s = pd.Series(pd.array([1, None, 3, 7, None, 3] * 20, dtype="Int64"), name="n")
    enc = NumericalEncoder("n")
    out = _roundtrip(enc, s)
    assert [sp.role for sp in enc.spans()] == ["value", "missing"]
    assert str(out.dtype) == "Int64"
    pd.testing.assert_series_equal(out, s)


def test_float_with_nan_round_trips_up_to_quantile_precision():
    rng = np.random.default_rng(3)
    v = rng.normal(100, 15, 300)
    v[::7] = np.nan
    s = pd.Series(v, name="f")
    out = _roundtrip(NumericalEncoder("f"), s)
    assert out.dtype == np.float64
    assert out.isna().equals(s.isna())
    np.testing.assert_allclose(out.dropna(), s.dropna(), rtol=1e-6)


def test_numpy_int_column_decoded_with_missing_becomes_nullable():
    s = pd.Series(np.arange(100, dtype=np.int32), name="k")
    enc = NumericalEncoder("k").fit(s.astype("float64").where(s % 10 != 0))
    enc.dtype = "int32"  # a column that was int at fit time but is decoded with gaps
    parts = enc.encode(s.astype("float64").where(s % 10 != 0))
    out = enc.decode(parts)
    assert str(out.dtype) == "Int64" and out.isna().sum() == 10


def test_numerical_rejects_strings_and_unknown_method():
    with pytest.raises(InputError, match="numerical"):
        NumericalEncoder("s").fit(pd.Series(["a", "b"]))
    with pytest.raises(ModelError, match="numerical encoding"):
        NumericalEncoder("s", method="log")


def test_numerical_decode_clips_and_rounds():
    s = pd.Series([1, 2, 3, 4, 5] * 10, name="i")
    enc = NumericalEncoder("i").fit(s)
    out = enc.decode([np.array([-9.0, 0.0, 9.0])])
    assert out.tolist() == [1, 3, 5]


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "datetime64[ms]", "datetime64[s]"])
def test_dates_round_trip_exactly_and_stay_midnight(dtype):
    rng = np.random.default_rng(4)
    days = pd.to_timedelta(rng.integers(0, 3000, 300), unit="D")
    s = pd.Series(pd.Timestamp("2015-03-01") + days, name="d").astype(dtype)
    s.iloc[::11] = pd.NaT
    enc = DatetimeEncoder("d")
    out = _roundtrip(enc, s)
    assert enc.unit == "D"
    assert str(out.dtype) == dtype
    pd.testing.assert_series_equal(out, s)
    # Anything the decoder produces is a midnight inside the range.
    z = np.linspace(-6, 6, 101)
    dec = enc.decode([z, np.zeros(101, dtype=int)])
    assert (dec == dec.dt.normalize()).all()
    assert dec.min() == s.min() and dec.max() == s.max()


def test_timestamps_with_seconds_and_time_zone_round_trip_exactly():
    rng = np.random.default_rng(5)
    secs = pd.to_timedelta(rng.integers(0, 90 * 86400, 400), unit="s")
    s = pd.Series(pd.Timestamp("2023-01-01", tz="UTC") + secs, name="t")
    s = s.dt.tz_convert("America/New_York").astype("datetime64[ms, America/New_York]")
    enc = DatetimeEncoder("t")
    out = _roundtrip(enc, s)
    assert enc.unit == "s"
    assert str(out.dtype) == "datetime64[ms, America/New_York]"
    pd.testing.assert_series_equal(out, s)


def test_datetime_rejects_strings():
    with pytest.raises(InputError, match="parse"):
        DatetimeEncoder("d").fit(pd.Series(["2020-01-01"]))


def test_categories_round_trip_with_missing_as_own_category():
    s = pd.Series(["a", "b", None, "c", "a"] * 30, name="c")
    enc = CategoricalEncoder("c")
    out = _roundtrip(enc, s)
    assert enc.spans() == [Span("c", "discrete", 4, "value")]
    pd.testing.assert_series_equal(out, s)
    assert out[out.isna()].map(lambda v: v is None).all()  # None stays None, not NaN


def test_nan_missing_in_object_column_stays_nan():
    s = pd.Series(["a", np.nan, "b"] * 20, name="c", dtype=object)
    out = _roundtrip(CategoricalEncoder("c"), s)
    assert out.isna().sum() == 20 and isinstance(out[1], float)


def test_rare_labels_are_merged_and_never_copied_out():
    common = ["x"] * 50 + ["y"] * 30
    rare = ["secret-1", "secret-2", "secret-2", "secret-3"]
    s = pd.Series(common + rare, name="c")
    enc = CategoricalEncoder("c", rare_min_count=5)
    out = _roundtrip(enc, s)
    assert enc.categories == ["x", "y"] and enc.n_rare == 3
    assert enc.rare_share == pytest.approx(4 / 84)
    # The bucket's rows are redrawn among the kept labels: no placeholder, no rare value.
    assert set(out) == {"x", "y"}
    assert out.iloc[: len(common)].tolist() == common
    assert not set(rare) & set(json.dumps(enc.to_state()).split('"'))


def test_bucket_rows_are_redrawn_in_proportion_to_the_kept_labels_frequencies():
    s = pd.Series(["a"] * 600 + ["b"] * 300 + ["c"] * 100 + [f"r{i}" for i in range(50)],
                  name="c")
    enc = CategoricalEncoder("c", rare_min_count=5).fit(s)
    codes = np.full(20_000, enc.rare_code)
    out = enc.decode([codes])
    shares = out.value_counts(normalize=True)
    assert set(shares.index) == {"a", "b", "c"}
    assert shares["a"] == pytest.approx(0.6, abs=0.02)
    assert shares["b"] == pytest.approx(0.3, abs=0.02)
    assert shares["c"] == pytest.approx(0.1, abs=0.02)
    # Seeded by the codes themselves: the same codes decode the same way.
    assert enc.decode([codes]).tolist() == out.tolist()


@pytest.mark.parametrize("kind", ["object", "category", "string"])
def test_no_dtype_decodes_the_placeholder(kind):
    s = pd.Series(["a"] * 40 + ["b"] * 20 + ["rare1", "rare2", None], name="c").astype(kind)
    enc = CategoricalEncoder("c", rare_min_count=5).fit(s)
    out = enc.decode([np.array([enc.rare_code] * 50 + [enc.missing_code] * 5)])
    assert RARE_PLACEHOLDER not in set(out.dropna().astype(str))
    assert set(out.dropna()) <= {"a", "b"} and out.isna().sum() == 5
    if kind == "category":
        assert list(out.dtype.categories) == ["a", "b", "rare1", "rare2"]  # the input's own


def test_a_column_of_rare_labels_only_decodes_to_missing():
    s = pd.Series([f"id{i}" for i in range(30)], name="c")
    enc = CategoricalEncoder("c", rare_min_count=5).fit(s)
    out = enc.decode(enc.encode(s))
    assert out.isna().all() and enc.rare_share == 1.0


def test_a_model_saved_before_label_counts_redraws_uniformly():
    s = pd.Series(["a"] * 90 + ["b"] * 10 + ["z"], name="c")
    enc = CategoricalEncoder("c", rare_min_count=5).fit(s)
    state = enc.to_state()
    del state["counts"], state["rare_share"]
    old = ColumnEncoder.from_state(state)
    out = old.decode([np.full(4000, old.rare_code)])
    assert out.value_counts(normalize=True)["b"] == pytest.approx(0.5, abs=0.05)


def test_max_categories_merges_the_long_tail():
    s = pd.Series([f"v{i % 40}" for i in range(4000)], name="c")
    enc = CategoricalEncoder("c", rare_min_count=1, max_categories=10).fit(s)
    assert enc.n_codes == 11 and enc.n_rare == 30


def test_numeric_codes_rare_values_merge_into_nearest_frequent_value():
    """Top-coding: a rare count is merged into the nearest frequent one; the dtype stays int."""
    s = pd.Series([1] * 30 + [2] * 30 + [5] * 10 + [9, 9, 3], name="k")
    enc = CategoricalEncoder("k", rare_min_count=5)
    out = _roundtrip(enc, s)
    assert str(out.dtype) == "int64"
    assert out.isna().sum() == 0
    assert set(out) == {1, 2, 5}  # 9 and 3 are never copied out
    assert out.iloc[-3:].tolist() == [5, 5, 2]  # 9 -> 5, 3 -> 2 (nearest kept values)
    again = ColumnEncoder.from_state(json.loads(json.dumps(enc.to_state())))
    assert again.encode(pd.Series([9]))[0].tolist() == enc.encode(pd.Series([9]))[0].tolist()


def test_unseen_labels_go_to_rare_bucket_or_most_frequent():
    enc = CategoricalEncoder("c").fit(pd.Series(["a"] * 10 + ["b"] * 6 + ["z"]))
    assert enc.encode(pd.Series(["b", "new"]))[0].tolist() == [1, enc.rare_code]
    enc2 = CategoricalEncoder("c").fit(pd.Series(["a"] * 10 + ["b"] * 6))
    assert enc2.encode(pd.Series(["new"]))[0].tolist() == [0]


def test_pandas_category_and_string_dtypes_restored():
    cat = pd.Series(pd.Categorical(["lo", "hi", "lo"] * 10, categories=["lo", "hi", "mid"]),
                    name="c")
    out = _roundtrip(CategoricalEncoder("c"), cat)
    assert out.dtype == cat.dtype
    pd.testing.assert_series_equal(out, cat)
    st = pd.Series(pd.array(["p", None, "q"] * 10, dtype="string"), name="s")
    out = _roundtrip(CategoricalEncoder("s"), st)
    pd.testing.assert_series_equal(out, st)


@pytest.mark.parametrize(
    "values",
    [
        np.array([True, False, False] * 10),
        pd.array([True, None, False] * 10, dtype="boolean"),
        np.array([0, 1, 0, 0] * 10, dtype=np.int64),
    ],
    ids=["bool", "nullable-boolean", "int-flag"],
)
def test_booleans_round_trip_exactly(values):
    s = pd.Series(values, name="b")
    out = _roundtrip(BooleanEncoder("b"), s)
    pd.testing.assert_series_equal(out, s)


def test_boolean_never_merges_a_rare_side():
    s = pd.Series([False] * 100 + [True], name="b")
    enc = BooleanEncoder("b").fit(s)
    assert sorted(enc.categories) == [False, True] and not enc.has_rare


def test_from_state_rejects_unknown_type():
    with pytest.raises(ModelError, match="encoder type"):
        ColumnEncoder.from_state({"type": "pickle", "column": "x"})
