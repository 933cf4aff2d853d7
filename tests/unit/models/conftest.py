"""Shared fixtures of the model tests: a small table with a known distribution.

The table (1,000 rows, seeded):

- ``cluster`` in {A, B}, P(A) = 0.4;
- ``x1``, ``x2``: Gaussian, cluster means A = (2, 1), B = (-1, -1), unit variances and a
  within-cluster correlation of 0.7 (overall correlation ~0.9);
- ``cat`` in {u, v, w}, tied to the cluster: P(u | A) = 0.85, P(v | B) = 0.85;
- ``n_items``: integer, Poisson(2 + 3 * [cluster A]);
- ``opened``: a date (midnight) over two years;
- ``amount``: float, log-normal, 5% missing;
- ``y``: 0/1 label with exactly 3% positives (30 rows), twice as frequent in cluster A.

:func:`known_checks` states the tolerances a model must meet on it with a small budget. They are
real checks: a model that samples each column independently, or ignores the cluster, fails the
dependency checks; a model that collapses a marginal fails the moment checks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from synthpipe.metadata import TableMetadata, detect_metadata

N_ROWS = 1000


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    # Test networks are tiny: a second OpenMP thread buys nothing, and on a machine shared with
    # other jobs spin-waiting threads make every step many times slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_known_frame(n: int = N_ROWS, seed: int = 7) -> pd.DataFrame:
    """The known-distribution table described in the module docstring."""
    rng = np.random.default_rng(seed)
    is_a = rng.random(n) < 0.4
    mu1 = np.where(is_a, 2.0, -1.0)
    mu2 = np.where(is_a, 1.0, -1.0)
    e1, e2 = rng.normal(size=n), rng.normal(size=n)
    x1 = mu1 + e1
    x2 = mu2 + 0.7 * e1 + np.sqrt(1 - 0.7**2) * e2
    p_cat = np.where(is_a[:, None], [[0.85, 0.05, 0.10]], [[0.05, 0.85, 0.10]])
    cat = np.array(["u", "v", "w"])[(rng.random(n)[:, None] > np.cumsum(p_cat, 1)).sum(1)]
    n_items = rng.poisson(np.where(is_a, 5.0, 2.0)).astype(np.int64)
    opened = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    amount = np.round(rng.lognormal(4.0, 0.5, n), 2)
    amount[rng.random(n) < 0.05] = np.nan
    weight = np.where(is_a, 2.0, 1.0)
    positives = rng.choice(n, int(round(0.03 * n)), replace=False, p=weight / weight.sum())
    y = np.zeros(n, dtype=np.int64)
    y[positives] = 1
    return pd.DataFrame({
        "cluster": np.where(is_a, "A", "B"),
        "x1": x1,
        "x2": x2,
        "cat": cat,
        "n_items": n_items,
        "opened": opened,
        "amount": amount,
        "y": y,
    })


@pytest.fixture(scope="session")
def known_frame() -> pd.DataFrame:
    """The known-distribution table (do not mutate; copy first)."""
    return make_known_frame()


@pytest.fixture(scope="session")
def known_metadata(known_frame: pd.DataFrame) -> TableMetadata:
    """Detected metadata of :func:`known_frame` (y is a boolean flag, opened a datetime)."""
    return detect_metadata(known_frame)


def check_known_distribution(real: pd.DataFrame, synth: pd.DataFrame,
                             check_label: bool = True) -> dict[str, float]:
    """Assert the stated tolerances; return the measured numbers (for messages and reports).

    Tolerances:
        - same columns and dtypes; ``n_items`` whole and inside the real range; ``opened`` at
          midnight inside the real range; ``cluster``/``cat`` only real labels;
        - mean of x1, x2 within 0.3 real standard deviations; std within 30%;
        - share of cluster A within 0.1;
        - corr(x1, x2) within 0.3 of the real one (same sign);
        - dependency kept: P(cat=u | A) - P(cat=u | B) > 0.4 (real ~0.8) and
          mean(x1 | A) - mean(x1 | B) > 1.5 (real ~3) and mean(n_items | A) > mean(n_items | B);
        - ``amount`` missing share within 0.05 of the real one;
        - label share (unconditional sampling) within 0.03 of the real 3%.
    """
    assert list(synth.columns) == list(real.columns)
    assert synth.dtypes.to_dict() == real.dtypes.to_dict()
    out: dict[str, float] = {}
    for c in ("x1", "x2"):
        sd = real[c].std()
        out[f"{c}_mean_gap_sd"] = abs(synth[c].mean() - real[c].mean()) / sd
        out[f"{c}_std_ratio"] = synth[c].std() / sd
    out["share_A_gap"] = abs((synth["cluster"] == "A").mean() - (real["cluster"] == "A").mean())
    r_real = real[["x1", "x2"]].corr().iloc[0, 1]
    r_syn = synth[["x1", "x2"]].corr().iloc[0, 1]
    out["corr_gap"] = abs(r_syn - r_real)
    a = synth["cluster"] == "A"
    is_u = synth["cat"] == "u"
    out["cat_dependency"] = is_u[a].mean() - is_u[~a].mean()
    out["x1_cluster_gap"] = synth.loc[a, "x1"].mean() - synth.loc[~a, "x1"].mean()
    out["items_cluster_gap"] = synth.loc[a, "n_items"].mean() - synth.loc[~a, "n_items"].mean()
    out["amount_missing_gap"] = abs(synth["amount"].isna().mean() - real["amount"].isna().mean())
    out["label_gap"] = abs(synth["y"].mean() - real["y"].mean())
    msg = f"measured: {out}"

    assert set(synth["cluster"]) <= set(real["cluster"]), msg
    assert set(synth["cat"]) <= set(real["cat"]), msg
    items = synth["n_items"]
    assert (items % 1 == 0).all() and items.min() >= real["n_items"].min(), msg
    assert items.max() <= real["n_items"].max(), msg
    opened = synth["opened"]
    assert (opened == opened.dt.normalize()).all(), msg
    assert opened.min() >= real["opened"].min() and opened.max() <= real["opened"].max(), msg
    for c in ("x1", "x2"):
        assert out[f"{c}_mean_gap_sd"] < 0.3, msg
        assert abs(out[f"{c}_std_ratio"] - 1) < 0.3, msg
    assert out["share_A_gap"] < 0.1, msg
    assert np.sign(r_syn) == np.sign(r_real) and out["corr_gap"] < 0.3, msg
    assert out["cat_dependency"] > 0.4, msg
    assert out["x1_cluster_gap"] > 1.5, msg
    assert out["items_cluster_gap"] > 0, msg
    assert out["amount_missing_gap"] < 0.05, msg
    if check_label:
        assert out["label_gap"] < 0.03, msg
    return out


@pytest.fixture(scope="session")
def known_checks() -> Callable[..., dict[str, float]]:
    """The checker :func:`check_known_distribution` (``checker(real, synth)``)."""
    return check_known_distribution
