"""The downstream check's bootstrap intervals, paired differences and precision-recall curves."""

from __future__ import annotations

import numpy as np
import pytest

from synthpipe.evaluation.downstream import (
    INTERVAL_METRICS,
    _ranked,
    _verdict,
    _weighted_metrics,
    bootstrap_intervals,
    pr_curve,
    score_classifier,
)


def _scored(n=600, rate=0.1, signal=1.5, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + signal * y - 2)))
    if ties:
        s = np.round(s, 1)  # many equal scores, as a shallow tree gives
    return y, s


@pytest.mark.parametrize("ties", [False, True])
def test_unit_weights_reproduce_the_point_scores(ties):
    y, s = _scored(ties=ties)
    point = score_classifier(y, s, threshold=0.3)
    got = _weighted_metrics(np.ones((1, len(y))), y.astype(float), s, 0.3, *_ranked(s))[0]
    assert got == pytest.approx([point[m] for m in INTERVAL_METRICS], abs=1e-12)


def test_weights_count_rows_like_repeating_them():
    y, s = _scored(n=200, seed=3, ties=True)
    w = np.random.default_rng(1).integers(0, 3, size=len(y))
    rep_y, rep_s = np.repeat(y, w), np.repeat(s, w)
    expected = score_classifier(rep_y, rep_s, threshold=0.2)
    got = _weighted_metrics(w[None].astype(float), y.astype(float), s, 0.2, *_ranked(s))[0]
    assert got == pytest.approx([expected[m] for m in INTERVAL_METRICS], abs=1e-12)


def test_intervals_hold_the_point_and_are_seeded():
    y, good = _scored(signal=2.5, seed=4)
    _, same = _scored(signal=2.5, seed=4)
    scored = {"real": (good, 0.3), "synthetic": (same + 1e-9, 0.3)}
    ci, vs = bootstrap_intervals(y, scored, resamples=100, seed=7)
    point = score_classifier(y, good, 0.3)
    for m in INTERVAL_METRICS:
        lo, hi = ci["real"][m]
        assert lo <= point[m] <= hi
    # A model scoring every row like the real one differs by nothing, on every resample.
    assert vs["synthetic"]["pr_auc"]["ci95"] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert vs["synthetic"]["pr_auc"]["within_noise"] is True
    assert bootstrap_intervals(y, scored, resamples=100, seed=7) == (ci, vs)
    assert bootstrap_intervals(y, scored, resamples=100, seed=8) != (ci, vs)


def test_a_real_gap_is_not_noise_and_a_small_one_is():
    y, strong = _scored(n=2000, signal=3.0, seed=5)
    rng = np.random.default_rng(9)
    weak = rng.random(len(y))  # no signal at all
    close = strong + rng.normal(scale=0.01, size=len(y))
    ci, vs = bootstrap_intervals(y, {"real": (strong, 0.3), "synthetic": (weak, 0.5),
                                     "augmented": (close, 0.3)}, resamples=200)
    assert vs["synthetic"]["pr_auc"]["within_noise"] is False
    assert vs["synthetic"]["pr_auc"]["difference"] < 0
    assert vs["augmented"]["pr_auc"]["within_noise"] is True
    results = {name: {"pr_auc": score_classifier(y, s, 0.3)["pr_auc"]}
               for name, s in (("real", strong), ("synthetic", weak), ("augmented", close))}
    verdict = _verdict(results, vs)
    assert verdict.startswith("training on synthetic data instead of real data gives a worse")
    assert "augmented data" in verdict and "no difference beyond noise" in verdict
    assert verdict.count(".") >= 1 and verdict.endswith(").")


def test_single_class_resamples_give_no_interval():
    y = np.array([0] * 50 + [1])
    s = np.linspace(0, 1, 51)
    ci, _ = bootstrap_intervals(y, {"real": (s, 0.5)}, resamples=20, seed=0)
    lo, hi = ci["real"]["pr_auc"]  # most resamples miss the one positive; some hold it
    assert 0 <= lo <= hi <= 1


def test_pr_curve_is_thinned_and_ordered():
    y, s = _scored(n=5000, seed=6)
    curve = pr_curve(y, s, points=40)
    assert len(curve["recall"]) <= 42
    assert curve["recall"] == sorted(curve["recall"]) and curve["recall"][-1] == 1.0
    assert all(0 <= p <= 1 for p in curve["precision"])
    assert curve["precision"][-1] == pytest.approx(y.mean(), abs=1e-4)
