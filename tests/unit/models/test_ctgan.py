"""CTGAN wrapper: our decoding equals ctgan's, the conditional vector is the target's, progress,
saving without pickle, and a (looser) known-distribution check with a moderate budget."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import synthpipe.models.ctgan as ctgan_module
from synthpipe.models import Synthesizer
from synthpipe.models.ctgan import _TARGET_COL, CTGANSynthesizer

TINY = dict(generator_dim=(32,), discriminator_dim=(32,), embedding_dim=16, batch_size=100)


@pytest.fixture(scope="module")
def spied(known_frame, known_metadata):
    """A tiny fitted wrapper plus the ctgan package object it trained (captured by a spy)."""
    captured = {}
    original = CTGANSynthesizer._extract_state

    def spy(self, model, columns):
        captured["model"] = model
        return original(self, model, columns)

    CTGANSynthesizer._extract_state = spy
    try:
        seen = []
        m = CTGANSynthesizer(epochs=3, seed=5, **TINY).fit(
            known_frame.head(400), known_metadata, target="y",
            progress=lambda *a: seen.append(a))
    finally:
        CTGANSynthesizer._extract_state = original
    return m, captured["model"], seen


def test_our_decoder_inverts_ctgans_transformer(spied, known_frame):
    """Feed ctgan's own encoding of the training rows through our decoder: we must get our
    encoding of the same rows back (continuous exactly, bar ctgan's +-0.99 clip; discrete
    exactly)."""
    m, package, _ = spied
    data = known_frame.head(400)
    x = m.transformer_.transform(data.drop(columns=["y"]))
    frame, _ = m._frame(x, torch.as_tensor(data["y"].to_numpy()))
    enc = torch.tensor(package._transformer.transform(frame), dtype=torch.float32)
    raw = enc.clone()
    offset = 0
    for dim, act in m._ctgan_state["spans"]:
        if act == "tanh":  # ctgan's stored scalar is post-tanh; our decoder applies tanh
            raw[:, offset] = torch.atanh(enc[:, offset].clamp(-0.999999, 0.999999))
        else:  # one-hot -> overwhelming logits, so the Gumbel draw is the one-hot
            raw[:, offset: offset + dim] = enc[:, offset: offset + dim] * 100.0
        offset += dim
    out = m.decoder_(raw, torch.Generator().manual_seed(0))
    nc = m.transformer_.n_continuous_
    assert torch.equal(out[:, nc:], x[:, nc:])
    clipped = enc[:, [o for o, a in _offsets(m) if a == "tanh"]].abs() >= 0.989
    close = (out[:, :nc] - x[:, :nc]).abs() < 1e-4
    assert bool((close | clipped).all()) and close.float().mean() > 0.95


def _offsets(m):
    starts, offset = [], 0
    for dim, act in m._ctgan_state["spans"]:
        starts.append((offset, act))
        offset += dim
    return starts


def test_conditional_vector_points_into_the_target_block(spied):
    m, package, _ = spied
    sampler = package._data_sampler
    names = [c["name"] for c in m._ctgan_state["columns"] if c["type"] == "discrete"]
    tid = names.index(_TARGET_COL)
    assert tid > 0  # the target is not the first discrete column: ctgan's own bug would bite
    start = int(sampler._discrete_column_cond_st[tid])
    width = int(sampler._discrete_column_n_category[tid])
    pos = m._ctgan_state["target_cond_pos"]
    assert sorted(pos) == list(range(start, start + width)) and len(pos) == m.n_classes_
    # ctgan 0.12.1's sample() would put the condition at _discrete_column_matrix_st (all 0).
    assert not np.any(sampler._discrete_column_matrix_st)
    assert sum(m._ctgan_state["cond_probs"]) == pytest.approx(1.0)


def test_progress_and_history_per_epoch(spied):
    m, _, seen = spied
    assert [s[:3] for s in seen] == [("fit", e, 3) for e in (1, 2, 3)]
    assert {"loss", "discriminator_loss"} <= set(seen[0][3])
    assert [h["epoch"] for h in m.loss_history_] == [1, 2, 3]
    assert all(h["val_loss"] is None for h in m.loss_history_)


def test_device_and_batch_size_reach_ctgan(spied):
    m, package, _ = spied
    assert package._device == m.device_
    assert package._batch_size == 100 and package.pac == 10
    odd = CTGANSynthesizer(batch_size=64)
    odd.batch_size_ = 64
    assert odd._ctgan_batch_size() == 80  # rounded up to a multiple of 2 * pac


def test_saved_model_is_json_and_tensors_only(spied, tmp_path):
    m, _, _ = spied
    m.save(tmp_path / "g")
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    state = config["extra"]["ctgan"]
    assert {"spans", "columns", "cond_probs", "target_cond_pos", "data_dim"} <= set(state)
    weights = torch.load(tmp_path / "g" / "weights.pt", weights_only=True)
    assert set(weights) == {"generator"}
    loaded = Synthesizer.load(tmp_path / "g")
    assert isinstance(loaded, CTGANSynthesizer)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=3), m.sample(300, seed=3))
    pd.testing.assert_frame_equal(loaded.sample(50, conditions={"y": 1}, seed=3),
                                  m.sample(50, conditions={"y": 1}, seed=3))


def test_without_target_uses_original_frequency_conditions(known_frame, known_metadata):
    m = CTGANSynthesizer(epochs=1, seed=0, **TINY).fit(known_frame.head(300), known_metadata)
    assert m._ctgan_state["target_cond_pos"] == []
    s = m.sample(200, seed=1)
    assert len(s) == 200 and s.dtypes.to_dict() == known_frame.dtypes.to_dict()


def test_missing_values_and_dates_survive_the_ctgan_path(spied, known_frame):
    m, _, _ = spied
    s = m.sample(2000, seed=9)
    assert s["amount"].isna().any() and s["amount"].notna().any()
    assert (s["opened"] == s["opened"].dt.normalize()).all()
    assert s["opened"].between(known_frame["opened"].min(), known_frame["opened"].max()).all()


def _known_frame_errors(real: pd.DataFrame, s: pd.DataFrame) -> dict[str, float]:
    """The statistics the moderate-budget test bounds, for one synthetic sample."""
    a = s["cluster"] == "A"
    out = {f"{c}_mean_sd": abs(s[c].mean() - real[c].mean()) / real[c].std() for c in ("x1", "x2")}
    out.update({f"{c}_std_ratio": abs(s[c].std() / real[c].std() - 1) for c in ("x1", "x2")})
    out["cluster_share"] = abs(a.mean() - (real["cluster"] == "A").mean())
    out["cat_gap"] = (s.loc[a, "cat"] == "u").mean() - (s.loc[~a, "cat"] == "u").mean()
    out["x1_gap"] = s.loc[a, "x1"].mean() - s.loc[~a, "x1"].mean()
    out["label_share"] = abs(s["y"].mean() - real["y"].mean())
    return out


@pytest.mark.slow
def test_moderate_budget_learns_marginals_and_dependencies(known_frame, known_metadata):
    """CTGAN needs far more steps than the other models on 1,000 rows (GAN training), and one
    GAN fit varies a lot with the seed and even with the thread count (float summation order):
    so each statistic is the median over three fits (seeds 0, 1, 2). With 150 epochs (~1,500
    steps) x2's mean was the weak point: on an AMD EPYC machine with one thread it was off by
    0.13-1.14 sd over seeds 0-8 (median 0.51), and the seed-0-2 median failed; with 300 epochs
    it was 0.15-0.59 sd over seeds 0-5 (median 0.20) and both disjoint triples passed.
    Tolerances, looser than ``check_known_distribution``'s: means within 0.5 sd, std within 50%,
    cluster share within 0.15, cat | cluster gap > 0.2, x1 | cluster gap > 0.75; the label
    share (drawn from the class prior, not learned) within 0.03 on every fit. A model that
    samples columns independently fails the two dependency checks."""
    runs = []
    for seed in (0, 1, 2):
        m = CTGANSynthesizer(epochs=300, batch_size=100, generator_dim=(128, 128),
                             discriminator_dim=(128, 128), embedding_dim=64,
                             generator_lr=5e-4, discriminator_lr=5e-4, seed=seed)
        m.fit(known_frame, known_metadata, target="y")
        runs.append(_known_frame_errors(known_frame, m.sample(3000, seed=1)))
    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    assert med["x1_mean_sd"] < 0.5 and med["x2_mean_sd"] < 0.5, med
    assert med["x1_std_ratio"] < 0.5 and med["x2_std_ratio"] < 0.5, med
    assert med["cluster_share"] < 0.15, med
    assert med["cat_gap"] > 0.2, med
    assert med["x1_gap"] > 0.75, med
    assert max(r["label_share"] for r in runs) < 0.03, runs
    rare = m.sample(300, conditions={"y": 1}, seed=2)
    assert (rare["y"] == 1).all()


def test_module_docstring_records_why_sampling_is_ours():
    doc = ctgan_module.__doc__
    assert "_discrete_column_matrix_st" in doc and "eval mode" in doc


def test_the_time_budget_ends_ctgans_loop_and_the_default_stays_fixed(known_frame,
                                                                      known_metadata):
    # ctgan's own loop has no stop hook: a spent time budget ends it after the epoch that
    # spent it, the model samples from that epoch's generator, and training_ says why.
    m = CTGANSynthesizer(epochs=50, seed=1, **TINY).fit(
        known_frame.head(400), known_metadata, target="y", time_budget=1e-3)
    assert m.training_["stop_reason"] == "time budget"
    assert m.training_["epochs_run"] == len(m.loss_history_) == 1
    assert len(m.sample(50, seed=0)) == 50
    full = CTGANSynthesizer(epochs=2, seed=1, **TINY).fit(
        known_frame.head(400), known_metadata, target="y", time_budget=3600)
    assert full.training_["stop_reason"] == "epochs" and full.training_["epochs_run"] == 2
    # Not trained by synthpipe's loop, so never given the 5x budget of a converging fit.
    big = pd.concat([known_frame] * (6_000 // len(known_frame) + 1), ignore_index=True)
    lazy = CTGANSynthesizer(seed=1, **TINY)

    class _Stop(Exception):
        pass

    def stop(x, cond):  # the budget is decided before training starts
        raise _Stop

    lazy._fit = stop
    with pytest.raises(_Stop):
        lazy.fit(big.head(6_000), known_metadata, target="y")
    assert not lazy.converge_ and lazy.epochs_ == CTGANSynthesizer.default_epochs(6_000)
