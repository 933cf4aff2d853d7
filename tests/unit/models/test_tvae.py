"""Conditional TVAE: native class conditioning, loss terms, options and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthpipe.errors import ModelError
from synthpipe.metadata import detect_metadata
from synthpipe.models._nn import MLP, DiscreteSpans
from synthpipe.models.tvae import TVAE, _TVAENet

TINY = dict(encoder_dims=(32,), decoder_dims=(32,), latent_dim=8)


@pytest.fixture(scope="module")
def label_driven() -> pd.DataFrame:
    """x depends strongly on the (10%) label: conditioning must carry it, not just the label."""
    rng = np.random.default_rng(3)
    n = 800
    y = (rng.random(n) < 0.1).astype(np.int64)
    return pd.DataFrame({
        "x": rng.normal(size=n) + 5.0 * y,
        "kind": np.where(y == 1, rng.choice(["p", "q"], n, p=[0.9, 0.1]),
                         rng.choice(["p", "q"], n, p=[0.1, 0.9])),
        "y": y,
    })


def test_discrete_spans_match_a_per_span_reference():
    sizes = [2, 3, 2, 1, 3]
    spans = DiscreteSpans(sizes)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, sum(sizes), generator=g)
    codes = torch.stack([torch.randint(0, s, (7,), generator=g) for s in sizes], dim=1)
    onehot = torch.cat([torch.eye(s)[codes[:, i]] for i, s in enumerate(sizes)], dim=1)
    blocks = torch.split(logits, sizes, dim=1)
    ref_logp = torch.cat([torch.log_softmax(b, dim=1) for b in blocks], dim=1)
    torch.testing.assert_close(spans.log_softmax(logits), ref_logp)
    ref_ce = sum(torch.nn.functional.cross_entropy(b, codes[:, i], reduction="none")
                 for i, b in enumerate(blocks))
    torch.testing.assert_close(spans.cross_entropy(logits, onehot), ref_ce)
    # The closed-form gradient (per-span softmax - one-hot) against autograd's, per-row weights.
    w = torch.rand(7, generator=g)
    leaf = logits.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((spans.cross_entropy(leaf, onehot) * w).sum(), leaf)
    ref_leaf = logits.clone().requires_grad_(True)
    ref_sum = sum(torch.nn.functional.cross_entropy(b, codes[:, i], reduction="none")
                  for i, b in enumerate(torch.split(ref_leaf, sizes, dim=1)))
    (ref_grad,) = torch.autograd.grad((ref_sum * w).sum(), ref_leaf)
    torch.testing.assert_close(grad, ref_grad)
    assert torch.equal(spans.codes(onehot), codes)
    expected = [torch.eye(s)[b.argmax(1)] for s, b in zip(sizes, blocks, strict=True)]
    assert torch.equal(spans.argmax_onehot(logits), torch.cat(expected, 1))
    # Draws follow the softmax.
    many = torch.zeros(20000, 3)
    many[:, :] = torch.tensor([0.0, 1.0, 2.0])
    draws = DiscreteSpans([3]).sample(many, torch.Generator().manual_seed(1)).mean(0)
    torch.testing.assert_close(draws, torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0),
                               atol=0.015, rtol=0)


def test_discrete_spans_sample_draws_one_category_per_span_from_its_softmax():
    sizes = [2, 4, 1, 3]
    spans = DiscreteSpans(sizes)
    # Logits on very different scales: span 2 of 4 holds a category 30 nats below its best
    # (never drawn); the last span sits far from zero (its max is subtracted).
    row = torch.tensor([0.0, 1.0, 2.0, 0.5, -30.0, 2.0, 7.0, 500.0, 501.0, 499.0])
    n = 40_000
    draws = spans.sample(row.expand(n, -1), torch.Generator().manual_seed(3))
    assert torch.equal(draws.sum(1), torch.full((n,), 4.0))
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    assert float(draws[:, 4].sum()) == 0.0
    freqs = draws.mean(0)
    start = 0
    for k in sizes:
        torch.testing.assert_close(freqs[start: start + k],
                                   torch.softmax(row[start: start + k], 0), atol=0.01, rtol=0)
        start += k
    # Temperature 0.5 sharpens every span to softmax(2 * logits); the same seed repeats.
    cold = spans.sample(row.expand(n, -1), torch.Generator().manual_seed(4), temperature=0.5)
    torch.testing.assert_close(cold.mean(0)[:2], torch.softmax(2 * row[:2], 0), atol=0.01,
                               rtol=0)
    again = spans.sample(row.expand(n, -1), torch.Generator().manual_seed(4), temperature=0.5)
    assert torch.equal(cold, again)


def test_mlp_shapes_and_unknown_activation():
    net = MLP(5, [8, 4], 3, activation="silu", dropout=0.1)
    assert net(torch.randn(2, 5)).shape == (2, 3)
    assert [m.out_features for m in net.net if isinstance(m, torch.nn.Linear)] == [8, 4, 3]
    with pytest.raises(ModelError, match="activation"):
        MLP(5, [8], 3, activation="tanhh")


def test_class_label_feeds_encoder_and_decoder():
    net = _TVAENet(n_continuous=2, category_sizes=[3, 2], n_classes=4, latent_dim=5,
                   encoder_dims=[16], decoder_dims=[16], min_sigma=0.01, max_sigma=1.0)
    assert net.encoder.net[0].in_features == 2 + 5 + 4
    assert net.decoder.net[0].in_features == 5 + 4
    x = torch.cat([torch.randn(6, 2), torch.eye(3)[[0, 1, 2, 0, 1, 2]],
                   torch.eye(2)[[0, 1, 0, 1, 0, 1]]], dim=1)
    z = torch.randn(6, 5)
    # Different labels, same z: different decoder output.
    a = net.decode(z, torch.zeros(6, dtype=torch.long))
    b = net.decode(z, torch.full((6,), 3, dtype=torch.long))
    assert not torch.allclose(a, b)
    rec, kl = net.loss_terms(x, torch.arange(6) % 4)
    assert rec.shape == kl.shape == (6,) and (kl >= 0).all()


def test_conditioning_carries_the_label_dependency(label_driven):
    md = detect_metadata(label_driven)
    m = TVAE(epochs=200, batch_size=128, lr=2e-3, encoder_dims=(64, 64), decoder_dims=(64, 64),
             latent_dim=8, seed=0).fit(label_driven, md, target="y")
    pos = m.sample(400, conditions={"y": 1}, seed=1)
    neg = m.sample(400, conditions={"y": 0}, seed=1)
    assert (pos["y"] == 1).all() and (neg["y"] == 0).all()
    # Real: E[x | y=1] = 5, E[x | y=0] = 0; P(kind=p | y=1) = 0.9, P(kind=p | y=0) = 0.1.
    assert pos["x"].mean() - neg["x"].mean() > 3.0
    assert (pos["kind"] == "p").mean() - (neg["kind"] == "p").mean() > 0.5
    # Training reduced the loss.
    hist = m.loss_history_
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_argmax_decoding_and_no_noise_are_deterministic_given_z(known_frame, known_metadata):
    m = TVAE(epochs=2, discrete_sampling="argmax", sample_noise=False, seed=1, **TINY)
    m.fit(known_frame.head(300), known_metadata, target="y")
    out = m._sample(50, torch.zeros(50, dtype=torch.long), torch.Generator().manual_seed(0))
    nc = m.transformer_.n_continuous_
    disc = out[:, nc:]
    assert set(disc.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(disc.sum(1) == len(m.transformer_.category_sizes_))


def test_mode_specific_normalization_works_end_to_end(known_frame, known_metadata):
    m = TVAE(epochs=2, numerical="mode", seed=0, **TINY)
    m.fit(known_frame.head(300), known_metadata)
    assert any(s.role == "mode" for s in m.transformer_.layout_)
    s = m.sample(100)
    assert s.dtypes.to_dict() == known_frame.dtypes.to_dict()


def test_bad_parameters_raise_model_error(known_frame, known_metadata):
    with pytest.raises(ModelError, match="discrete_sampling"):
        TVAE(epochs=1, discrete_sampling="mean", **TINY).fit(known_frame.head(100),
                                                              known_metadata)
    with pytest.raises(ModelError, match="numerical=.log. is invalid"):
        TVAE(epochs=1, numerical="log", **TINY).fit(known_frame.head(100), known_metadata)


def test_default_budget_targets_a_fixed_number_of_steps():
    for n in (1_000, 16_000, 1_000_000):
        steps = TVAE.default_epochs(n) * np.ceil(n / TVAE.default_batch_size(n))
        assert 2_000 <= steps <= 4_000, n


def test_discrete_spans_stay_finite_and_exact_when_spans_differ_in_scale():
    # One span's logits near +500, the next near -500: a shared (row-wide) shift would
    # underflow the second span's normalizer to zero; the per-span maximum must not.
    sizes = [2, 3]
    spans = DiscreteSpans(sizes)
    logits = torch.tensor([[500.0, 499.0, -500.0, -501.0, -503.0]], requires_grad=True)
    onehot = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0]])
    ce = spans.cross_entropy(logits, onehot)
    ref = (torch.nn.functional.cross_entropy(logits[:, :2], torch.tensor([0]))
           + torch.nn.functional.cross_entropy(logits[:, 2:], torch.tensor([1])))
    torch.testing.assert_close(ce, ref.reshape(1))
    ce.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Gradient of a cross-entropy is softmax - onehot, span by span.
    torch.testing.assert_close(logits.grad, spans.softmax(logits.detach()) - onehot)
