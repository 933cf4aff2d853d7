"""Tests of TabDDPM: the diffusion mathematics on tensors first, then the Synthesizer."""

from __future__ import annotations

import json
import math
from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from synthpipe.errors import ModelError
from synthpipe.metadata import detect_metadata
from synthpipe.models._diffusion import (
    GaussianMultinomialDiffusion,
    MLPDenoiser,
    cosine_betas,
    linear_betas,
    log1mexp,
)
from synthpipe.models.base import Synthesizer
from synthpipe.models.tabddpm import TabDDPM


def _onehot(idx: torch.Tensor, k: int) -> torch.Tensor:
    return F.one_hot(idx, k).float()


def _block_freqs(x_cat: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    out, start = [], 0
    for k in sizes:
        out.append(x_cat[:, start: start + k].mean(0))
        start += k
    return out


def _train(d: GaussianMultinomialDiffusion, model: nn.Module, x: torch.Tensor,
           y: torch.Tensor | None = None, steps: int = 400, batch: int = 256,
           lr: float = 2e-3) -> None:
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    # Linear decay to zero: the last weights are then an average over a settling trajectory,
    # not one noisy iterate (the Synthesizer gets the same from its EMA).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        loss = d.loss(model, x[idx], y[idx] if y is not None else None)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()


# ------------------------------------------------------------------------------ schedule


def test_cosine_and_linear_schedules_decay_from_one_to_zero():
    for betas in (cosine_betas(1000), linear_betas(1000), linear_betas(50)):
        assert float(betas.min()) > 0 and float(betas.max()) <= 0.999
        abar = torch.cumprod(1 - betas, 0)
        assert bool((abar[1:] < abar[:-1]).all())
        assert float(abar[0]) > 0.99 and float(abar[-1]) < 1e-3
    d = GaussianMultinomialDiffusion(1, [3], 1000)
    torch.testing.assert_close(d.abar, torch.exp(d.log_abar))


def test_log1mexp_is_accurate_at_both_ends():
    values = [-1e-8, -1e-3, -0.5, -0.7, -5.0, -50.0]
    # Reference in 50-digit decimal arithmetic: naive float formulas lose all digits at one
    # end or the other.
    getcontext().prec = 50
    expected = torch.tensor([float((1 - Decimal(v).exp()).ln()) for v in values],
                            dtype=torch.float64)
    got = log1mexp(torch.tensor(values, dtype=torch.float64))
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=0)


def test_invalid_setups_raise_model_error():
    with pytest.raises(ModelError, match="num_timesteps"):
        GaussianMultinomialDiffusion(1, [2], num_timesteps=1)
    with pytest.raises(ModelError, match="schedule"):
        GaussianMultinomialDiffusion(1, [2], schedule="sigmoid")
    with pytest.raises(ModelError, match="Nothing to diffuse"):
        GaussianMultinomialDiffusion(0, [])
    with pytest.raises(ModelError, match="Nothing to diffuse"):
        GaussianMultinomialDiffusion(1, [0])
    d = GaussianMultinomialDiffusion(1, [2], 100)
    with pytest.raises(ModelError, match="sample_steps"):
        d.timesteps(0)
    with pytest.raises(ModelError, match="spacing"):
        d.timesteps(10, spacing="cubic")
    m = MLPDenoiser(3, (8,), 8, n_classes=2)
    with pytest.raises(ModelError, match="sampler"):
        d.sample(m, 4, sampler="euler")
    with pytest.raises(ModelError, match="no label"):
        d.sample(m, 4, torch.zeros(4, dtype=torch.long), guidance_scale=2.0)
    with pytest.raises(ModelError, match="denoiser"):
        MLPDenoiser(3, (), 8)
    with pytest.raises(ModelError, match="activation"):
        MLPDenoiser(3, (8,), 8, activation="tanhh")


def test_strided_timesteps_run_from_t_minus_one_to_zero():
    d = GaussianMultinomialDiffusion(1, [], 1000)
    assert d.timesteps(None) == list(range(999, -1, -1))
    assert d.timesteps(5000) == list(range(999, -1, -1))
    for spacing in ("linear", "quadratic"):
        seq = d.timesteps(50, spacing)
        assert seq[0] == 999 and seq[-1] == 0
        assert all(a > b for a, b in zip(seq, seq[1:], strict=False))
        assert 45 <= len(seq) <= 50
    lin, quad = d.timesteps(50, "linear"), d.timesteps(50, "quadratic")
    # Quadratic spacing spends more of its steps near the data (small t).
    assert sum(t < 100 for t in quad) > 2 * sum(t < 100 for t in lin)


# ------------------------------------------------------------------------------ forward process


def test_gaussian_q_sample_is_data_at_zero_and_noise_at_t():
    d = GaussianMultinomialDiffusion(2, [], 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(20_000, 2, generator=g) * 0.5 + 3.0
    noise = torch.randn(20_000, 2, generator=g)
    first = d.q_sample_gauss(x0, torch.zeros(20_000, dtype=torch.long), noise)
    assert float((first - x0).abs().max()) < 0.05
    last = d.q_sample_gauss(x0, torch.full((20_000,), 999, dtype=torch.long), noise)
    assert abs(float(last.mean())) < 0.03 and abs(float(last.std()) - 1.0) < 0.03
    corr = torch.corrcoef(torch.stack([last[:, 0], x0[:, 0]]))[0, 1]
    assert abs(float(corr)) < 0.03


def test_categorical_q_sample_keeps_data_at_zero_and_is_uniform_at_t():
    sizes = [3, 5]
    d = GaussianMultinomialDiffusion(0, sizes, 1000)
    g = torch.Generator().manual_seed(0)
    n = 30_000
    # Heavily skewed data: category 0 almost always.
    a = torch.multinomial(torch.tensor([0.9, 0.08, 0.02]), n, True, generator=g)
    b = torch.multinomial(torch.tensor([0.6, 0.1, 0.1, 0.1, 0.1]), n, True, generator=g)
    x0 = torch.cat([_onehot(a, 3), _onehot(b, 5)], 1)
    first = d.q_sample_cat(x0, torch.zeros(n, dtype=torch.long), g)
    assert float((first == x0).all(1).float().mean()) > 0.999
    last = d.q_sample_cat(x0, torch.full((n,), 999, dtype=torch.long), g)
    for freq, k in zip(_block_freqs(last, sizes), sizes, strict=True):
        torch.testing.assert_close(freq, torch.full((k,), 1 / k), atol=0.015, rtol=0)
    # Every row is a valid one-hot per block.
    assert torch.equal(last[:, :3].sum(1), torch.ones(n))
    assert torch.equal(last[:, 3:].sum(1), torch.ones(n))


def test_categorical_q_sample_matches_q_probs_at_a_middle_step():
    d = GaussianMultinomialDiffusion(0, [4], 1000)
    g = torch.Generator().manual_seed(1)
    n = 40_000
    x0 = _onehot(torch.full((n,), 2), 4)
    t = torch.full((n,), 600, dtype=torch.long)
    probs = torch.exp(d.q_probs_cat(d.to_log_onehot(x0[:1]), t[:1]))[0]
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    freq = d.q_sample_cat(x0, t, g).mean(0)
    torch.testing.assert_close(freq, probs, atol=0.01, rtol=0)


# ------------------------------------------------------------------------------ posterior


def _transition(a: float, k: int) -> torch.Tensor:
    """Matrix M[i, j] = q(next = j | prev = i) for keep-probability ``a``."""
    return a * torch.eye(k, dtype=torch.float64) + (1 - a) / k


@pytest.mark.parametrize("t,s", [(1, 0), (500, 499), (999, 998), (0, -1), (700, 350), (40, -1)])
def test_multinomial_posterior_is_bayes_rule_and_a_distribution(t, s):
    sizes = [3, 4]
    d = GaussianMultinomialDiffusion(0, sizes, 1000)
    g = torch.Generator().manual_seed(t)
    n = 64
    x0 = torch.cat([_onehot(torch.randint(0, k, (n,), generator=g), k) for k in sizes], 1)
    xt = torch.cat([_onehot(torch.randint(0, k, (n,), generator=g), k) for k in sizes], 1)
    tt, ss = torch.full((n,), t), torch.full((n,), s)
    post = torch.exp(d.q_posterior_cat(d.to_log_onehot(x0), d.to_log_onehot(xt), tt, ss))
    assert bool((post >= 0).all())
    # The log-free form used for the training target agrees.
    torch.testing.assert_close(d.q_posterior_cat_onehot(x0, xt, tt, ss), post, atol=1e-5,
                               rtol=1e-4)
    start = 0
    abar = torch.exp(d._log_abar64)
    a_s = float(abar[s]) if s >= 0 else 1.0
    a_ts = float(abar[t]) / a_s
    for k in sizes:
        blk = post[:, start: start + k]
        torch.testing.assert_close(blk.sum(1), torch.ones(n), atol=1e-5, rtol=0)
        # Brute force: q(x_s | x_t, x_0) ∝ q(x_t | x_s) q(x_s | x_0).
        prior = x0[:, start: start + k].double() @ _transition(a_s, k)
        like = xt[:, start: start + k].double() @ _transition(a_ts, k).T
        ref = prior * like
        ref = ref / ref.sum(1, keepdim=True)
        torch.testing.assert_close(blk.double(), ref, atol=1e-5, rtol=1e-4)
        start += k


@pytest.mark.parametrize("t,s", [(999, 960), (300, 250), (12, 0), (3, -1)])
def test_sampler_step_in_probability_space_equals_log_space_posterior(t, s):
    sizes = [2, 6, 3]
    d = GaussianMultinomialDiffusion(0, sizes, 1000)
    g = torch.Generator().manual_seed(0)
    n = 32
    logits = torch.randn(n, sum(sizes), generator=g) * 3
    xt = torch.cat([_onehot(torch.randint(0, k, (n,), generator=g), k) for k in sizes], 1)
    w = d.reverse_weights_cat(logits, xt, t, s)
    probs = w / d._expand(d.spans.segment_sum(w))
    log_post = d.q_posterior_cat(d.block_log_softmax(logits), d.to_log_onehot(xt),
                                 torch.full((n,), t), torch.full((n,), s))
    torch.testing.assert_close(probs, torch.exp(log_post), atol=1e-5, rtol=1e-4)


def test_training_kl_equals_the_log_space_kl_with_gradients():
    # The loss's categorical KL (probability space, constant terms folded) against the KL of
    # the log-space posteriors: same values and gradients, per-row t and s including s = -1,
    # with logits extreme enough to hit the 1e-30 floor of the predicted probabilities.
    from synthpipe.models._diffusion import _LOG_FLOOR

    sizes = [2, 6, 3, 1]
    d = GaussianMultinomialDiffusion(0, sizes, 1000)
    g = torch.Generator().manual_seed(1)
    n = 48
    t = torch.randint(0, 1000, (n,), generator=g)
    t[:6] = torch.tensor([0, 1, 2, 999, 500, 0])
    s = t - 1
    logits = (torch.randn(n, sum(sizes), generator=g) * 4).requires_grad_(True)
    with torch.no_grad():
        logits[:4, :2] = torch.tensor([80.0, -80.0])  # the second category at p ~ 1e-70
    x0 = torch.cat([_onehot(torch.randint(0, k, (n,), generator=g), k) for k in sizes], 1)
    xt = d.q_sample_cat(x0, t, g)

    kl = d.categorical_kl(logits, x0, xt, t, s)
    (grad,) = torch.autograd.grad(kl.sum(), logits)
    log_q = d.q_posterior_cat(d.to_log_onehot(x0), d.to_log_onehot(xt), t, s)
    log_p = d.q_posterior_cat(d.block_log_softmax(logits).clamp(min=_LOG_FLOOR),
                              d.to_log_onehot(xt), t, s)
    ref = (log_q.exp() * (log_q - log_p)).sum(1)
    (grad_ref,) = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(kl, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(grad, grad_ref, atol=1e-4, rtol=1e-4)
    assert bool((kl > -1e-4).all())  # a KL divergence


def test_block_softmax_and_draws_work_per_block():
    sizes = [2, 5, 1, 3]
    d = GaussianMultinomialDiffusion(0, sizes, 10)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, sum(sizes), generator=g) * 5
    lsm = d.block_log_softmax(logits)
    start = 0
    for k in sizes:
        torch.testing.assert_close(lsm[:, start: start + k],
                                   torch.log_softmax(logits[:, start: start + k], 1))
        start += k
    torch.testing.assert_close(d.block_softmax(logits), torch.exp(lsm))
    # Draws follow the weights.
    w = torch.tensor([[1.0, 3.0, 0.1, 0.2, 0.3, 0.4, 0.0, 5.0, 1.0, 1.0, 3.0]]).expand(40_000, -1)
    draws = d.spans.sample_weights(w, g)
    # Exactly one category per block, never one of weight zero.
    assert torch.equal(draws.sum(1), torch.full((40_000,), 4.0))
    assert float(draws[:, 6].sum()) == 0.0
    freqs = _block_freqs(draws, sizes)
    torch.testing.assert_close(freqs[0], torch.tensor([0.25, 0.75]), atol=0.01, rtol=0)
    torch.testing.assert_close(freqs[1], torch.tensor([0.1, 0.2, 0.3, 0.4, 0.0]), atol=0.01,
                               rtol=0)
    torch.testing.assert_close(freqs[3], torch.tensor([0.2, 0.2, 0.6]), atol=0.01, rtol=0)
    uni = d.uniform_onehot(40_000, g)
    assert torch.equal(uni.sum(1), torch.full((40_000,), 4.0))
    torch.testing.assert_close(_block_freqs(uni, sizes)[1], torch.full((5,), 0.2), atol=0.01,
                               rtol=0)


def test_a_span_of_tiny_weights_after_large_ones_is_still_drawn_within_itself():
    # A reverse step under guidance gave one row a last span whose weights summed to about
    # 1e-6 after 316 columns of ordinary weights: in a float32 running sum that span had no
    # room, and the draw landed one column past the end (an IndexError in a real run).
    from synthpipe.models._nn import DiscreteSpans

    spans = DiscreteSpans([3] * 105 + [2])
    w = torch.ones((20_000, 317))
    w[:, -2:] = torch.tensor([1e-9, 3e-9])
    draws = spans.sample_weights(w, torch.Generator().manual_seed(0))
    assert torch.equal(draws.sum(1), torch.full((20_000,), 106.0))
    last = draws[:, -2:].mean(0)
    torch.testing.assert_close(last, torch.tensor([0.25, 0.75]), atol=0.015, rtol=0)


# ------------------------------------------------------------------------------ exact samplers


class _Oracle(nn.Module):
    """Exact denoiser of a known distribution: Gaussian N(mu, sig^2) x Cat(p), independent.

    For Gaussian data the optimal noise prediction is closed-form; for the categorical part,
    constant logits ``log p`` plugged into the posterior give the exact reverse chain
    ``q(x_s | x_t)`` of the data's marginal (the sum over ``x_0`` of ``p(x_0) q(x_s | x_0)``).
    """

    def __init__(self, d: GaussianMultinomialDiffusion, mu: float, sig: float,
                 p: torch.Tensor) -> None:
        super().__init__()
        self.d, self.mu, self.sig, self.logp = d, mu, sig, p.log()

    def forward(self, x, t, y=None):
        a = self.d.abar[t][:, None]
        eps = (1 - a).sqrt() * (x[:, :1] - a.sqrt() * self.mu) / (a * self.sig**2 + 1 - a)
        return torch.cat([eps, self.logp.expand(x.shape[0], -1)], 1)


@pytest.mark.parametrize("steps", [None, 50, 10])
def test_oracle_denoiser_reproduces_the_data_with_strided_steps(steps):
    d = GaussianMultinomialDiffusion(1, [3], 200)
    p = torch.tensor([0.6, 0.3, 0.1])
    oracle = _Oracle(d, 1.0, 0.5, p)
    g = torch.Generator().manual_seed(0)
    out = d.sample(oracle, 20_000, sample_steps=steps, generator=g)
    # The categorical reverse chain is exact at any stride.
    torch.testing.assert_close(out[:, 1:].mean(0), p, atol=0.012, rtol=0)
    assert abs(float(out[:, 0].mean()) - 1.0) < 0.02
    # The default blend of variances keeps the spread within 10% even at 10 steps.
    assert abs(float(out[:, 0].std()) / 0.5 - 1.0) < 0.1


def test_oracle_point_mass_is_recovered_exactly_by_ddpm_and_ddim():
    d = GaussianMultinomialDiffusion(1, [2], 100)
    oracle = _Oracle(d, 1.5, 0.0, torch.tensor([0.5, 0.5]))
    for sampler in ("ddpm", "ddim"):
        out = d.sample(oracle, 100, sample_steps=7, sampler=sampler,
                       generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(out[:, 0], torch.full((100,), 1.5), atol=1e-3, rtol=0)


def test_ddim_with_zero_eta_is_deterministic_in_the_gaussian_part():
    d = GaussianMultinomialDiffusion(2, [], 100)
    model = MLPDenoiser(2, (16,), 8).eval()
    x_t = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    eps = model(x_t, torch.full((5,), 50)).detach()
    a = d._gauss_step(x_t, eps, 50, 20, sampler="ddim", eta=0.0, variance_interp=0.5,
                      x0_range=None, generator=torch.Generator().manual_seed(1))
    b = d._gauss_step(x_t, eps, 50, 20, sampler="ddim", eta=0.0, variance_interp=0.5,
                      x0_range=None, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    c = d._gauss_step(x_t, eps, 50, 20, sampler="ddpm", eta=0.0, variance_interp=0.5,
                      x0_range=None, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(a, c)


# ------------------------------------------------------------------------------ learning


def test_loss_is_finite_and_decreases_on_a_toy_problem():
    d = GaussianMultinomialDiffusion(2, [3], 100)
    g = torch.Generator().manual_seed(0)
    n = 1000
    c = torch.randint(0, 3, (n,), generator=g)
    x_num = torch.stack([c.float() - 1, -(c.float() - 1)], 1) + 0.1 * torch.randn(n, 2,
                                                                                 generator=g)
    x = torch.cat([x_num, _onehot(c, 3)], 1)
    torch.manual_seed(0)
    model = MLPDenoiser(5, (64, 64), 32)

    def fixed_loss() -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return d.loss(model, x, generator=torch.Generator().manual_seed(123))

    before = fixed_loss()
    assert all(math.isfinite(float(v)) for v in before.values())
    _train(d, model, x, steps=150)
    after = fixed_loss()
    assert all(math.isfinite(float(v)) for v in after.values())
    assert float(after["loss"]) < 0.7 * float(before["loss"])
    assert float(after["gauss"]) < float(before["gauss"])
    assert float(after["multi"]) < float(before["multi"])


@pytest.fixture(scope="module")
def toy_mixture():
    """A 1-D two-component Gaussian mixture and a skewed 4-way categorical, with a model."""
    g = torch.Generator().manual_seed(0)
    n = 3000
    comp = torch.rand(n, generator=g) < 0.3
    x1 = torch.where(comp, torch.randn(n, generator=g) * 0.3 - 1.5,
                     torch.randn(n, generator=g) * 0.5 + 1.0)
    cat = torch.multinomial(torch.tensor([0.7, 0.2, 0.07, 0.03]), n, True, generator=g)
    x = torch.cat([x1[:, None], _onehot(cat, 4)], 1)
    d = GaussianMultinomialDiffusion(1, [4], 100)
    torch.manual_seed(0)
    model = MLPDenoiser(5, (128, 128), 64)
    _train(d, model, x, steps=400, batch=1024, lr=3e-3)
    return d, model, x


@pytest.mark.parametrize("steps,spacing", [(20, "quadratic"), (20, "linear"), (None, "linear")])
def test_respaced_sampling_recovers_mixture_and_skewed_categorical(toy_mixture, steps, spacing):
    d, model, x = toy_mixture
    x1 = x[:, 0]
    out = d.sample(model, 6000, sample_steps=steps, spacing=spacing,
                   x0_range=(float(x1.min()), float(x1.max())),
                   generator=torch.Generator().manual_seed(1))
    v = out[:, 0]
    assert abs(float((v < 0).float().mean()) - float((x1 < 0).float().mean())) < 0.04
    assert abs(float(v.mean()) - float(x1.mean())) < 0.15
    assert abs(float(v.std()) - float(x1.std())) < 0.15
    # Both modes are there, with the right centres.
    assert abs(float(v[v < 0].mean()) - float(x1[x1 < 0].mean())) < 0.2
    assert abs(float(v[v > 0].mean()) - float(x1[x1 > 0].mean())) < 0.2
    freqs = out[:, 1:].mean(0)
    torch.testing.assert_close(freqs, x[:, 1:].mean(0), atol=0.04, rtol=0)
    assert float(freqs[3]) < 0.07  # the 3% category stays rare
    assert torch.equal(out[:, 1:].sum(1), torch.ones(6000))


def test_conditional_sampling_returns_the_label_distribution():
    g = torch.Generator().manual_seed(0)
    n = 2000
    y = (torch.rand(n, generator=g) < 0.3).long()
    x1 = torch.where(y == 1, 2.0, -2.0) + 0.4 * torch.randn(n, generator=g)
    # The categorical is tied to the label: label 1 -> mostly category 2.
    cat = torch.where(y == 1, torch.multinomial(torch.tensor([0.05, 0.05, 0.9]), n, True,
                                                generator=g),
                      torch.multinomial(torch.tensor([0.6, 0.35, 0.05]), n, True, generator=g))
    x = torch.cat([x1[:, None], _onehot(cat, 3)], 1)
    d = GaussianMultinomialDiffusion(1, [3], 100)
    torch.manual_seed(0)
    model = MLPDenoiser(4, (64, 64), 32, n_classes=2)
    # Label dropout to the "no label" slot (index 2) trains the guidance branch as well.
    drop = torch.rand(n, generator=g) < 0.1
    _train(d, model, x, torch.where(drop, torch.full_like(y, 2), y), steps=300, batch=1024,
           lr=3e-3)
    x0_range = (float(x1.min()), float(x1.max()))
    for label, mean, top in ((0, -2.0, 0), (1, 2.0, 2)):
        yy = torch.full((3000,), label)
        out = d.sample(model, 3000, yy, sample_steps=20, x0_range=x0_range,
                       generator=torch.Generator().manual_seed(3))
        assert abs(float(out[:, 0].mean()) - mean) < 0.3
        assert int(out[:, 1:].mean(0).argmax()) == top
        guided = d.sample(model, 3000, yy, sample_steps=20, guidance_scale=2.0, uncond_label=2,
                          x0_range=x0_range, generator=torch.Generator().manual_seed(3))
        assert abs(float(guided[:, 0].mean()) - mean) < 0.4
        assert int(guided[:, 1:].mean(0).argmax()) == top


def test_denoiser_shapes_and_label_embedding():
    model = MLPDenoiser(7, (16, 16), 8, n_classes=3)
    x = torch.randn(4, 7)
    t = torch.tensor([0, 5, 50, 99])
    out0 = model(x, t, torch.zeros(4, dtype=torch.long))
    out1 = model(x, t, torch.ones(4, dtype=torch.long))
    assert out0.shape == (4, 7)
    assert not torch.allclose(out0, out1)
    # No label means the extra "no label" slot.
    torch.testing.assert_close(model(x, t, None), model(x, t, torch.full((4,), 3)))
    plain = MLPDenoiser(7, (16,), 8)
    assert plain(x, t).shape == (4, 7)




def test_time_embedding_of_distinct_timesteps_equals_the_per_row_one():
    """The time MLP runs once per distinct timestep; each row still gets its own timestep's
    embedding, and the weights get the same gradient as with one MLP row per batch row."""
    from synthpipe.models._nn import timestep_embedding

    torch.manual_seed(0)
    model = MLPDenoiser(5, (16,), 8, n_classes=2)
    t = torch.tensor([7, 3, 7, 99, 0, 3, 3, 42])  # repeats, out of order
    per_row = model.time_mlp(timestep_embedding(t, 8))
    shared = model.time_embedding(t)
    torch.testing.assert_close(shared, per_row)
    w = torch.randn_like(per_row)
    g_row = torch.autograd.grad((per_row * w).sum(), list(model.time_mlp.parameters()))
    g_shared = torch.autograd.grad((shared * w).sum(), list(model.time_mlp.parameters()))
    for a, b in zip(g_shared, g_row, strict=True):
        torch.testing.assert_close(a, b)
    # One timestep for the whole batch (the sampler) keeps its single row.
    assert model.time_embedding(torch.tensor([5])).shape == (1, 8)
# ------------------------------------------------------------------------------ Synthesizer


_SMALL = dict(epochs=120, batch_size=256, num_timesteps=100, sample_steps=20, hidden=(128, 128),
              time_dim=64, device="cpu", seed=0)


@pytest.fixture(scope="module")
def fitted(known_frame, known_metadata):
    """TabDDPM fitted on the shared known-distribution table (tests/unit/models/conftest.py)."""
    model = TabDDPM(**_SMALL).fit(known_frame, known_metadata, target="y")
    return model, known_frame, known_metadata


def test_fit_and_strided_sampling_recover_the_known_distribution(fitted, known_checks):
    model, df, _ = fitted
    # Default sampler path: 20 quadratic-spaced steps of the 100 trained.
    s = model.sample(3000, seed=1)
    known_checks(df, s)
    # Tighter than the shared tolerances where TabDDPM is expected to do better.
    assert abs((s.cluster == "A").mean() - (df.cluster == "A").mean()) < 0.08
    assert s.loc[s.cluster == "A", "cat"].eq("u").mean() > 0.7
    assert s.loc[s.cluster == "B", "cat"].eq("v").mean() > 0.7
    assert len(model.loss_history_) == 120
    assert {"epoch", "train_loss", "val_loss"} <= set(model.loss_history_[0])
    assert model.loss_history_[-1]["train_loss"] < model.loss_history_[0]["train_loss"]


def test_conditional_sampling_returns_only_the_requested_class(fitted):
    model, df, _ = fitted
    for value in (1, 0):
        s = model.sample(400, conditions={"y": value}, seed=4)
        assert len(s) == 400 and (s.y == value).all()
        assert s.y.dtype == df.y.dtype
    with pytest.raises(ModelError, match="not a class"):
        model.sample(10, conditions={"y": 7})
    with pytest.raises(ModelError, match="condition"):
        model.sample(10, conditions={"cat": "u"})


def test_same_seed_same_sample_and_same_fit(fitted):
    model, df, md = fitted
    a, b = model.sample(300, seed=11), model.sample(300, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert not model.sample(300, seed=12).equals(a)
    params = {**_SMALL, "epochs": 3}
    one = TabDDPM(**params).fit(df, md, target="y").sample(200, seed=5)
    two = TabDDPM(**params).fit(df, md, target="y").sample(200, seed=5)
    pd.testing.assert_frame_equal(one, two)


def test_save_load_round_trip_samples_identically(fitted, tmp_path):
    model, _, _ = fitted
    path = tmp_path / "ddpm"
    model.save(path)
    config = json.loads((path / "config.json").read_text())
    assert config["model"] == "tabddpm"
    assert config["extra"]["hidden"] == [128, 128]
    weights = torch.load(path / "weights.pt", weights_only=True)
    assert set(weights) == {"denoiser"}
    for loaded in (Synthesizer.load(path), TabDDPM.load(path)):
        assert isinstance(loaded, TabDDPM)
        # Parameters went through JSON: tuples come back as lists.
        assert loaded.get_params() == json.loads(json.dumps(model.get_params()))
        pd.testing.assert_frame_equal(loaded.sample(300, seed=3), model.sample(300, seed=3))
        pd.testing.assert_frame_equal(loaded.sample(100, conditions={"y": 1}, seed=3),
                                      model.sample(100, conditions={"y": 1}, seed=3))


def test_registry_builds_tabddpm():
    from synthpipe.models.registry import available_models, create_model, get_model

    assert get_model("tabddpm") is TabDDPM
    assert "tabddpm" in available_models()
    model = create_model("tabddpm", epochs=2, sample_steps=10)
    assert isinstance(model, TabDDPM) and model.get_params()["sample_steps"] == 10
    with pytest.raises(ModelError, match="no parameter"):
        create_model("tabddpm", n_steps=3)


def test_tables_with_only_numericals_or_only_categoricals():
    rng = np.random.default_rng(0)
    params = {**_SMALL, "epochs": 5}
    nums = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(5, 2, size=200)})
    s = TabDDPM(**params).fit(nums, detect_metadata(nums)).sample(50)
    assert s.shape == (50, 2) and s.notna().all().all()
    cats = pd.DataFrame({"c": rng.choice(["x", "y", "z"], 200), "d": rng.choice(["u", "v"], 200)})
    s = TabDDPM(**params).fit(cats, detect_metadata(cats)).sample(50)
    assert s.shape == (50, 2) and s.c.isin(["x", "y", "z"]).all() and s.d.isin(["u", "v"]).all()


def test_guidance_needs_label_dropout_and_invalid_params_fail_at_fit(known_frame,
                                                                     known_metadata):
    df, md = known_frame.head(200), known_metadata
    model = TabDDPM(**{**_SMALL, "epochs": 2, "p_uncond": 0.0, "guidance_scale": 2.0})
    model.fit(df, md, target="y")
    with pytest.raises(ModelError, match="p_uncond"):
        model.sample(10, conditions={"y": 1})
    guided = TabDDPM(**{**_SMALL, "epochs": 2, "guidance_scale": 2.0}).fit(df, md, target="y")
    assert (guided.sample(20, conditions={"y": 1}).y == 1).all()
    for bad in ({"eta": 2.0}, {"sampler": "euler"}, {"spacing": "cubic"},
                {"num_timesteps": 1}, {"hidden": []}, {"p_uncond": 1.0}):
        with pytest.raises(ModelError, match=next(iter(bad))):
            TabDDPM(**{**_SMALL, "epochs": 1, **bad}).fit(df, md)


def test_default_budget_scales_with_the_data():
    assert TabDDPM.default_batch_size(1_000) == 256
    assert TabDDPM.default_batch_size(16_384) == 1024
    assert TabDDPM.default_batch_size(1_000_000) == 4096

    def steps(n: int) -> int:
        return TabDDPM.default_epochs(n) * math.ceil(n / TabDDPM.default_batch_size(n))

    assert 1400 <= steps(16_384) <= 1600
    assert steps(1_000) >= 1400
    assert 5000 <= steps(1_000_000) <= 7000
    assert TabDDPM.default_hidden(16_384) == (256, 256)
    assert TabDDPM.default_hidden(200_000) == (512, 512)
    assert TabDDPM.default_hidden(1_000_000) == (512, 512)
