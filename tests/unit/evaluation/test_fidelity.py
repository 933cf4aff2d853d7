"""Fidelity metrics on hand-made tables with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity

from synthpipe.errors import InputError
from synthpipe.evaluation import fidelity_report
from synthpipe.evaluation.columns import TreeEncoder, label_strings, tree_classifier
from synthpipe.evaluation.fidelity import _pair_trends, detection_auc
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata


def _meta(**kinds: ColumnKind) -> TableMetadata:
    return TableMetadata({c: ColumnMeta(c, k, "object") for c, k in kinds.items()})


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(size=n) * 0.5,
            "c": np.where(x > 0, "hi", "lo"),
            "d": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
            "b": rng.random(n) < 0.3,
        }
    )


META = _meta(
    x=ColumnKind.NUMERICAL,
    y=ColumnKind.NUMERICAL,
    c=ColumnKind.CATEGORICAL,
    d=ColumnKind.DATETIME,
    b=ColumnKind.BOOLEAN,
)


def test_identical_tables_score_perfectly() -> None:
    df = _table(200, 0)
    report = fidelity_report(df, df, df.copy(), META, max_rows=200)
    shapes = report["column_shapes"]
    assert shapes["synthetic"] == pytest.approx(1.0)
    assert all(v["synthetic"] == pytest.approx(1.0) for v in shapes["per_column"].values())
    assert shapes["per_column"]["x"]["metric"] == "KSComplement"
    assert shapes["per_column"]["c"]["metric"] == "TVComplement"
    assert report["pair_trends"]["synthetic"] == pytest.approx(1.0)
    assert report["pair_trends"]["pairs_evaluated"] == 10


def test_disjoint_categories_give_tv_complement_zero() -> None:
    meta = _meta(c=ColumnKind.CATEGORICAL, x=ColumnKind.NUMERICAL)
    real = pd.DataFrame({"c": ["a", "b"] * 50, "x": np.arange(100.0)})
    synth = pd.DataFrame({"c": ["p", "q"] * 50, "x": np.arange(100.0) + 1000})
    report = fidelity_report(real, real, synth, meta)
    per = report["column_shapes"]["per_column"]
    assert per["c"]["synthetic"] == pytest.approx(0.0, abs=1e-6)  # sdmetrics adds 1e-6 smoothing
    # Disjoint value ranges: the KS statistic is 1, its complement 0.
    assert per["x"]["synthetic"] == pytest.approx(0.0)
    assert per["c"]["holdout"] == pytest.approx(1.0)


def test_missing_labels_count_as_a_category() -> None:
    meta = _meta(c=ColumnKind.CATEGORICAL, x=ColumnKind.NUMERICAL)
    real = pd.DataFrame({"c": ["a", None] * 50, "x": np.arange(100.0)})
    synth = pd.DataFrame({"c": ["a"] * 100, "x": np.r_[np.arange(50.0), [np.nan] * 50]})
    per = fidelity_report(real, real, synth, meta)["column_shapes"]["per_column"]
    # Half the real cells are missing, none of the synthetic ones: TV distance 0.5.
    assert per["c"]["synthetic"] == pytest.approx(0.5)
    assert per["x"]["missing_share"]["synthetic"] == pytest.approx(0.5)


def test_pair_trends_match_sdmetrics() -> None:
    rng = np.random.default_rng(3)
    real, synth = _table(300, 1), _table(300, 2)
    synth["y"] = rng.normal(size=300)  # breaks the x-y correlation
    real.loc[::7, "x"] = np.nan
    synth.loc[::5, "c"] = None
    cols = ["x", "y", "c"]
    out = _pair_trends(real, real, synth, cols, META, seed=0, max_pairs=10)
    by_pair = {tuple(p["columns"]): p["synthetic"] for p in out["per_pair"]}
    expected_xy = CorrelationSimilarity.compute(real[["x", "y"]], synth[["x", "y"]])
    assert by_pair[("x", "y")] == pytest.approx(expected_xy, abs=1e-9)
    assert by_pair[("x", "y")] < 0.8
    # sdmetrics bins numbers itself; give it the same bins (10 equal-width over real) and the
    # same missing label, and the scores must agree.
    edges = np.histogram_bin_edges(real["x"].dropna(), bins=10)[1:-1]

    def binned(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": np.where(df["x"].isna(), -1, np.digitize(df["x"].fillna(0), edges)),
                "c": df["c"].fillna("missing"),
            }
        )

    expected_xc = ContingencySimilarity.compute(binned(real), binned(synth))
    assert by_pair[("x", "c")] == pytest.approx(expected_xc, abs=1e-9)


def test_max_pairs_caps_the_pairs_scored() -> None:
    df = _table(100, 0)
    report = fidelity_report(df, df, df, META, max_pairs=3)
    assert report["pair_trends"]["pairs_evaluated"] == 3
    assert report["pair_trends"]["pairs_total"] == 10
    assert len(report["pair_trends"]["per_pair"]) == 3


def test_correlation_matrices_are_reported_with_names() -> None:
    df = _table(200, 0)
    corr = fidelity_report(df, df, df, META)["pair_trends"]["correlation"]
    assert corr["columns"] == ["x", "y", "d"]
    assert corr["real"][0][1] == pytest.approx(df["x"].corr(df["y"]))
    assert np.allclose(corr["synthetic"], corr["real"])


def test_detection_separates_different_tables_only() -> None:
    meta = _meta(x=ColumnKind.NUMERICAL, c=ColumnKind.CATEGORICAL)
    rng = np.random.default_rng(0)
    same_a = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    same_b = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    far = pd.DataFrame({"x": rng.normal(5, 1, size=300), "c": rng.choice(["a", "b"], 300)})
    assert detection_auc(same_a, same_b, ["x", "c"], meta) == pytest.approx(0.5, abs=0.1)
    assert detection_auc(same_a, far, ["x", "c"], meta) > 0.98


def test_detection_needs_rows_and_a_small_table_trains_without_early_stopping() -> None:
    # 8 rows per class and fold: sklearn's stratified early-stopping split of them had no
    # row of one class, which raised inside the fidelity report of a 25-row table; and trees
    # with 20-row leaves cannot split 16 rows, so any score there would be a constant 0.5.
    meta = _meta(x=ColumnKind.NUMERICAL, c=ColumnKind.CATEGORICAL)
    rng = np.random.default_rng(0)

    def frames(n):
        return (pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n)}),
                pd.DataFrame({"x": rng.normal(4, 1, size=n), "c": rng.choice(["a", "b"], n)}))

    assert detection_auc(*frames(10), ["x", "c"], meta) is None
    assert detection_auc(*frames(40), ["x", "c"], meta) > 0.9  # 32 rows a fold, no stopping
    no_cat = np.zeros(1, dtype=bool)
    assert not tree_classifier(0, categorical=no_cat, y=np.r_[np.zeros(19), np.ones(200)]
                               ).early_stopping
    assert tree_classifier(0, categorical=no_cat, y=np.r_[np.zeros(20), np.ones(200)]
                           ).early_stopping


def test_report_is_plain_json() -> None:
    df = _table(120, 0)
    df.loc[::9, "x"] = np.nan
    df["b"] = df["b"].astype("boolean")
    df.loc[::11, "b"] = pd.NA
    report = fidelity_report(df, _table(120, 1), _table(120, 2), META)
    json.dumps(report, allow_nan=False)
    assert report["detection"]["rows_per_class"] == 120
    assert 0.0 <= report["detection"]["synthetic"] <= 1.0


def test_label_strings_normalise_dtypes() -> None:
    as_int = label_strings(pd.Series([1, 2, None], dtype="Int64"))
    as_float = label_strings(pd.Series([1.0, 2.0, np.nan]))
    as_text = label_strings(pd.Series([" 1", "2 ", None]))
    assert as_int.tolist()[:2] == as_float.tolist()[:2] == as_text.tolist()[:2] == ["1", "2"]
    assert as_int.isna().tolist() == [False, False, True]
    flags = label_strings(pd.Series([True, None], dtype="boolean"))
    assert flags.iloc[0] == label_strings(pd.Series(["True"])).iloc[0]


def test_tree_encoder_maps_unseen_labels_to_missing() -> None:
    meta = _meta(c=ColumnKind.CATEGORICAL, x=ColumnKind.NUMERICAL)
    enc = TreeEncoder(["c", "x"], meta).fit(pd.DataFrame({"c": ["a", "b"], "x": [1, 2]}))
    out = enc.transform(pd.DataFrame({"c": ["b", "zzz"], "x": [3, None]}))
    assert out[0, 0] == 1 or out[0, 0] == 0
    assert np.isnan(out[1, 0]) and np.isnan(out[1, 1])
    assert enc.categorical_mask.tolist() == [True, False]


def test_missing_column_is_an_input_error() -> None:
    df = _table(50, 0)
    with pytest.raises(InputError, match="lacks modelled columns"):
        fidelity_report(df, df, df.drop(columns=["x"]), META)


def test_jsonable_turns_nan_and_numpy_into_plain_values() -> None:
    out = jsonable({"a": np.float32(0.5), "b": np.nan, "c": np.arange(2), "d": (np.int64(3),)})
    assert out == {"a": 0.5, "b": None, "c": [0, 1], "d": [3]}


def test_wide_tables_publish_the_most_broken_correlations_only() -> None:
    """A correlation matrix grows with the square of the columns: beyond MAX_MATRIX_COLUMNS
    numeric columns the published one keeps the columns whose correlations were broken."""
    from synthpipe.evaluation.fidelity import MAX_MATRIX_COLUMNS

    rng = np.random.default_rng(0)
    n, k = 120, MAX_MATRIX_COLUMNS + 20
    base = rng.normal(size=n)
    real = pd.DataFrame({f"v{j}": base + rng.normal(size=n) * 0.3 for j in range(k)})
    synthetic = real.copy()
    broken = [f"v{j}" for j in (3, 45, 59)]
    for c in broken:  # independent of every other column in the synthetic rows only
        synthetic[c] = rng.normal(size=n)
    meta = _meta(**{c: ColumnKind.NUMERICAL for c in real.columns})
    corr = fidelity_report(real, real, synthetic, meta, max_rows=n)["pair_trends"]["correlation"]
    assert len(corr["columns"]) == MAX_MATRIX_COLUMNS
    assert corr["columns_total"] == k
    assert set(broken) <= set(corr["columns"])
    assert corr["columns"] == sorted(corr["columns"], key=lambda c: int(c[1:]))
    assert np.asarray(corr["real"]).shape == (MAX_MATRIX_COLUMNS, MAX_MATRIX_COLUMNS)
