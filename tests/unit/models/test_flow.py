"""Tests of the conditional flow-matching model: the mathematics first, then the Synthesizer."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from synthpipe.errors import ModelError
from synthpipe.models._flow_ode import (
    divergence_exact,
    divergence_hutchinson,
    flow_log_prob,
    guided_velocity,
    integrate,
    rademacher,
    standard_normal_log_prob,
)
from synthpipe.models.base import Synthesizer
from synthpipe.models.flow import (
    FlowMatching,
    VelocityMLP,
    flow_matching_loss,
    interpolate,
    sample_times,
    target_velocity,
)
from synthpipe.training import TrainConfig, seed_everything, train

# ------------------------------------------------------------------------------ maths


def test_interpolation_endpoints_and_target_velocity():
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    torch.testing.assert_close(interpolate(x0, x1, torch.zeros(6)), x0)
    torch.testing.assert_close(interpolate(x0, x1, torch.ones(6)), x1)
    t = torch.linspace(0.1, 0.9, 6)
    torch.testing.assert_close(interpolate(x0, x1, t), x0 + t[:, None] * (x1 - x0))
    # The path's time derivative (finite difference) is the regression target.
    h = 1e-3
    fd = (interpolate(x0, x1, t + h) - interpolate(x0, x1, t - h)) / (2 * h)
    torch.testing.assert_close(fd, target_velocity(x0, x1), atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(target_velocity(x0, x1), x1 - x0)


def test_sample_times_ranges_and_unknown_method():
    g = torch.Generator().manual_seed(0)
    u = sample_times(20_000, generator=g)
    ln = sample_times(20_000, method="logit_normal", generator=g)
    for t in (u, ln):
        assert t.shape == (20_000,) and float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    assert abs(float(u.mean()) - 0.5) < 0.01 and abs(float(u.std()) - 1 / math.sqrt(12)) < 0.01
    # Logit-normal(0, 1) is symmetric around 1/2 and concentrated in the middle.
    assert abs(float(ln.mean()) - 0.5) < 0.01 and float(ln.std()) < 0.25
    with pytest.raises(ModelError, match="time_sampling"):
        sample_times(3, method="beta")


def _rotation_field(a: torch.Tensor):
    return lambda x, t: x @ a.T


def test_euler_with_many_steps_matches_linear_closed_form():
    a = torch.tensor([[0.3, -1.0], [1.0, 0.3]], dtype=torch.float64)
    x0 = torch.tensor([[1.0, 0.0], [0.5, -2.0]], dtype=torch.float64)
    exact = x0 @ torch.linalg.matrix_exp(a).T
    x1 = integrate(_rotation_field(a), x0, steps=4000, method="euler")
    assert float((x1 - exact).abs().max()) < 2e-3
    # And backwards in time returns to the start.
    back = integrate(_rotation_field(a), exact, t_start=1.0, t_end=0.0, steps=4000,
                     method="euler")
    assert float((back - x0).abs().max()) < 2e-3


def test_second_order_solvers_beat_euler_and_converge_quadratically():
    a = torch.tensor([[0.3, -1.0], [1.0, 0.3]], dtype=torch.float64)
    x0 = torch.tensor([[1.0, 0.0], [0.5, -2.0]], dtype=torch.float64)
    exact = x0 @ torch.linalg.matrix_exp(a).T

    def err(method: str, steps: int) -> float:
        return float((integrate(_rotation_field(a), x0, steps=steps, method=method)
                      - exact).abs().max())

    assert err("heun", 10) < err("euler", 10) / 10
    assert err("midpoint", 10) < err("euler", 10) / 10
    # Halving the step divides a 2nd-order error by about 4 and a 1st-order one by about 2.
    assert 3.2 < err("heun", 10) / err("heun", 20) < 4.8
    assert 1.6 < err("euler", 10) / err("euler", 20) < 2.4
    with pytest.raises(ModelError, match="solver"):
        integrate(_rotation_field(a), x0, method="rk4")
    with pytest.raises(ModelError, match="step"):
        integrate(_rotation_field(a), x0, steps=0)


@pytest.mark.parametrize("method", ["euler", "midpoint", "heun"])
@pytest.mark.parametrize("divergence", ["exact", "hutchinson"])
def test_log_prob_of_zero_velocity_is_standard_normal(method, divergence):
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(1))
    zero = lambda x, t: torch.zeros_like(x) * x  # noqa: E731 - keeps x in the graph
    lp = flow_log_prob(zero, x, steps=5, method=method, divergence=divergence)
    torch.testing.assert_close(lp, torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(1))
    torch.testing.assert_close(lp, standard_normal_log_prob(x))


def test_log_prob_of_linear_field_matches_gaussian_density():
    # v = a x carries N(0, I) at t=0 to N(0, exp(2a) I) at t=1.
    a = 0.7
    x = torch.randn(9, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    truth = torch.distributions.Normal(0.0, math.exp(a)).log_prob(x).sum(1)
    for method in ("heun", "midpoint"):
        lp = flow_log_prob(lambda x, t: a * x, x, steps=40, method=method)
        torch.testing.assert_close(lp, truth, atol=1e-4, rtol=0)
    lp_euler = flow_log_prob(lambda x, t: a * x, x, steps=40, method="euler")
    assert float((lp_euler - truth).abs().max()) > 1e-4  # first order: visibly worse


def test_exact_divergence_of_linear_field_is_trace():
    a = torch.tensor([[0.5, 2.0, 0.0], [1.0, -1.5, 3.0], [0.0, 0.2, 0.25]])
    x = torch.randn(4, 3)
    v, div = divergence_exact(lambda x, t: x @ a.T, x, 0.3)
    torch.testing.assert_close(div, torch.full((4,), float(torch.trace(a))))
    torch.testing.assert_close(v, x @ a.T)


def test_hutchinson_estimate_is_close_to_exact_divergence_on_a_small_net():
    torch.manual_seed(0)
    net = VelocityMLP(4, 2, hidden=(32, 32), time_dim=8).eval()
    y = torch.tensor([0, 1, 2])
    x = torch.randn(3, 4)
    k = 4000
    _, exact = divergence_exact(guided_velocity(net, y, null_class=2), x, 0.4)
    # Rows do not interact in the MLP, so k probes per row are one pass over k copies.
    xr, yr = x.repeat(k, 1), y.repeat(k)
    probes = rademacher((1, 3 * k, 4), generator=torch.Generator().manual_seed(3))
    _, est = divergence_hutchinson(guided_velocity(net, yr, null_class=2), xr, 0.4, probes)
    est = est.reshape(k, 3)
    se = est.std(dim=0) / math.sqrt(k)
    assert torch.all((est.mean(dim=0) - exact).abs() < 5 * se + 1e-5)
    assert float(exact.abs().min()) > 1e-3  # a non-trivial divergence was compared


def test_guidance_scale_one_equals_plain_conditional_and_mixes_otherwise():
    torch.manual_seed(0)
    net = VelocityMLP(3, 2, hidden=(16, 16), time_dim=8).eval()
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    t = torch.tensor(0.3)
    with torch.no_grad():
        v_cond = net(x, t, y)
        v_unc = net(x, t, torch.full_like(y, 2))
        assert torch.equal(guided_velocity(net, y, null_class=2, guidance_scale=1.0)(x, 0.3),
                           v_cond)
        torch.testing.assert_close(
            guided_velocity(net, y, null_class=2, guidance_scale=2.5)(x, 0.3),
            v_unc + 2.5 * (v_cond - v_unc))
        torch.testing.assert_close(
            guided_velocity(net, y, null_class=2, guidance_scale=0.0)(x, 0.3), v_unc)
        torch.testing.assert_close(guided_velocity(net, None, null_class=2)(x, 0.3), v_unc)
    # Same noise, w = 1: sampling through the guidance path equals the conditional ODE.
    x0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(4))
    plain = integrate(lambda x, s: net(x, torch.tensor(s), y), x0, steps=8)
    guided = integrate(guided_velocity(net, y, null_class=2, guidance_scale=1.0), x0, steps=8)
    assert torch.equal(plain, guided)


class _Oracle(torch.nn.Module):
    """The exact velocity field for data that is a single point ``c``: (c - x) / (1 - t)."""

    def __init__(self, c: torch.Tensor) -> None:
        super().__init__()
        self.c = c
        self.seen: list[torch.Tensor] = []

    def forward(self, x, t, y):
        self.seen.append(y.clone())
        return (self.c - x) / (1 - t)[:, None]


def test_loss_is_zero_for_the_exact_field_and_label_dropout_uses_null_class():
    # float64: the oracle divides by (1 - t), which amplifies rounding near t = 1.
    c = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
    x1 = c.repeat(64, 1)
    y = torch.zeros(64, dtype=torch.long)
    oracle = _Oracle(c)
    g = torch.Generator().manual_seed(0)
    loss = flow_matching_loss(oracle, x1, y, null_class=3, generator=g)
    assert float(loss) < 1e-8
    assert torch.equal(oracle.seen[-1], y)
    flow_matching_loss(oracle, x1, y, null_class=3, p_uncond=1.0, generator=g)
    assert torch.all(oracle.seen[-1] == 3)
    flow_matching_loss(oracle, x1, None, null_class=3, generator=g)
    assert torch.all(oracle.seen[-1] == 3)
    # A wrong field is penalised; dequantization noise moves the target off the point.
    assert float(flow_matching_loss(lambda x, t, y: torch.zeros_like(x), x1, y, null_class=3,
                                    generator=g)) > 0.5
    noisy = flow_matching_loss(oracle, x1, y, null_class=3, generator=g,
                               dequant_std=torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64))
    assert float(noisy) > 1e-3


def test_training_on_a_toy_gaussian_recovers_mean_covariance_and_density():
    mean = torch.tensor([2.0, -1.0])
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]])
    gen = seed_everything(0)
    truth = torch.distributions.MultivariateNormal(mean, cov)
    data = truth.sample((2000,))
    net = VelocityMLP(2, 0, hidden=(64, 64), time_dim=16)
    cfg = TrainConfig(epochs=100, batch_size=256, lr=3e-3, val_fraction=0.0, ema_decay=0.99)
    train(net, lambda m, xb, cb: flow_matching_loss(m, xb, None, null_class=0), data, None, cfg,
          torch.device("cpu"), generator=gen)
    field = guided_velocity(net, None, null_class=0)
    s = integrate(field, torch.randn(5000, 2, generator=gen), steps=20)
    assert torch.allclose(s.mean(0), mean, atol=0.15)
    assert torch.allclose(torch.cov(s.T), cov, atol=0.15)
    pts = torch.tensor([[2.0, -1.0], [3.0, 0.0], [8.0, 8.0], [-5.0, 5.0]])
    lp = flow_log_prob(field, pts, steps=20)
    # Near the true density where the data is; far outliers far below every inlier.
    assert torch.allclose(lp[:2], truth.log_prob(pts[:2]), atol=0.4)
    assert float(lp[2:].max()) < float(lp[:2].min()) - 20


# ------------------------------------------------------------------------------ synthesizer


@pytest.fixture(scope="module")
def table(known_frame) -> pd.DataFrame:
    return known_frame


@pytest.fixture(scope="module")
def fitted(known_frame, known_metadata) -> FlowMatching:
    model = FlowMatching(epochs=150, batch_size=256, hidden=(128, 128), ode_steps=16,
                         log_prob_steps=16, seed=0)
    return model.fit(known_frame, known_metadata, target="y")


def test_fit_sample_recovers_the_known_distribution(fitted, table, known_checks):
    s = fitted.sample(3000, seed=1)
    measured = known_checks(table, s)
    # Tighter than the shared tolerances where the flow is good: marginals and the cluster link.
    assert measured["x1_mean_gap_sd"] < 0.15 and abs(measured["x1_std_ratio"] - 1) < 0.15
    assert measured["cat_dependency"] > 0.6
    assert len(fitted.loss_history_) >= 1
    assert fitted.loss_history_[-1]["train_loss"] < fitted.loss_history_[0]["train_loss"]


def test_conditional_sampling_returns_only_the_requested_class(fitted):
    rare = fitted.sample(300, conditions={"y": 1})
    assert len(rare) == 300 and (rare["y"] == 1).all()
    common = fitted.sample(300, conditions={"y": 0}, seed=5)
    assert (common["y"] == 0).all()
    # The label is native: positives are twice as frequent in cluster A in the data (~57% A),
    # and the conditional rows lean the same way compared with the negatives (~39% A).
    share_a = (rare["cluster"] == "A").mean()
    assert share_a > (common["cluster"] == "A").mean() + 0.05
    with pytest.raises(ModelError):
        fitted.sample(5, conditions={"y": 7})


def test_same_seed_same_sample_and_other_seed_differs(fitted):
    a = fitted.sample(200, seed=11)
    pd.testing.assert_frame_equal(a, fitted.sample(200, seed=11))
    assert not a.equals(fitted.sample(200, seed=12))


def test_training_is_deterministic_on_cpu(table, known_metadata):
    kw = dict(epochs=3, batch_size=128, hidden=(32, 32), ode_steps=4, seed=5)
    a = FlowMatching(**kw).fit(table, known_metadata, target="y").sample(100)
    b = FlowMatching(**kw).fit(table, known_metadata, target="y").sample(100)
    pd.testing.assert_frame_equal(a, b)


def test_save_load_round_trip_samples_identically(fitted, table, tmp_path):
    path = tmp_path / "flow_model"
    fitted.save(path)
    config = json.loads((path / "config.json").read_text())
    assert config["model"] == "flow" and config["params"]["hidden"] == [128, 128]
    # Weights are plain tensors: the safe loader reads them.
    weights = torch.load(path / "weights.pt", weights_only=True)
    assert set(weights) == {"velocity"}
    for loaded in (Synthesizer.load(path), FlowMatching.load(path)):
        assert isinstance(loaded, FlowMatching)
        pd.testing.assert_frame_equal(loaded.sample(150, seed=3), fitted.sample(150, seed=3))
        pd.testing.assert_frame_equal(loaded.sample(50, conditions={"y": 1}, seed=4),
                                      fitted.sample(50, conditions={"y": 1}, seed=4))
        np.testing.assert_array_equal(loaded.log_prob(table.head(20)),
                                      fitted.log_prob(table.head(20)))


def test_registry_and_params_round_trip():
    from synthpipe.models.registry import available_models, create_model, get_model

    assert get_model("flow") is FlowMatching
    assert "flow" in available_models() and available_models()["flow"]
    m = create_model("flow", epochs=2, ode_steps=7, guidance_scale=1.5)
    assert isinstance(m, FlowMatching) and m.ode_steps == 7 and m.guidance_scale == 1.5
    params = m.get_params()
    assert FlowMatching(**params).get_params() == params
    assert {"hidden", "ode_method", "p_uncond", "dequant_noise", "epochs", "seed"} <= set(params)
    with pytest.raises(ModelError, match="no parameter"):
        create_model("flow", ode_stepz=3)


def test_log_prob_ranks_rows_and_handles_labels(fitted, table):
    rows = table.head(40)
    lp = fitted.log_prob(rows)
    assert lp.shape == (40,) and lp.dtype == np.float64 and np.isfinite(lp).all()
    np.testing.assert_array_equal(lp, fitted.log_prob(rows))  # seeded probes
    # Rows that break the learnt dependencies: cluster A values with cluster B's coordinates.
    odd = rows.copy()
    odd["cluster"] = np.where(rows["cluster"] == "A", "B", "A")
    odd["x1"] = np.where(rows["cluster"] == "A", -3.0, 4.5)
    odd["x2"] = np.where(rows["cluster"] == "A", 3.0, -3.0)
    assert np.median(fitted.log_prob(odd)) < np.median(lp) - 3
    # Without the label: the label-free density (the model was trained with label dropout);
    # with it, log p(x | y) + log P(y): rare-label rows pay the prior.
    free = fitted.log_prob(rows.drop(columns=["y"]))
    assert free.shape == (40,) and np.isfinite(free).all() and not np.allclose(free, lp)
    flipped = rows.assign(y=1 - rows["y"])
    gain = fitted.log_prob(flipped) - lp
    assert np.median(gain[rows["y"].to_numpy() == 0]) < -2  # 0 -> 1 costs about log(97/3)
    bad = rows.assign(y=9)
    with pytest.raises(ModelError, match="not a class"):
        fitted.log_prob(bad)
    with pytest.raises(ModelError, match="missing"):
        fitted.log_prob(rows.drop(columns=["cat"]))


def test_guidance_changes_samples_and_needs_label_dropout(fitted, table, known_metadata):
    plain = fitted.sample(200, seed=1)
    params = fitted.get_params()
    fitted.guidance_scale = 3.0
    try:
        guided = fitted.sample(200, seed=1)
    finally:
        fitted.guidance_scale = params["guidance_scale"]
    assert not guided.equals(plain)
    pd.testing.assert_frame_equal(fitted.sample(200, seed=1), plain)
    m = FlowMatching(epochs=2, batch_size=128, hidden=(16, 16), ode_steps=2, p_uncond=0.0,
                     guidance_scale=2.0)
    m.fit(table, known_metadata, target="y")
    with pytest.raises(ModelError, match="p_uncond"):
        m.sample(5)
    with pytest.raises(ModelError, match="p_uncond"):
        m.log_prob(table.head(3).drop(columns=["y"]))


def test_without_target_and_with_mode_specific_encoding(table, known_metadata):
    data = table.drop(columns=["y"])
    m = FlowMatching(epochs=5, batch_size=128, hidden=(32, 32), ode_steps=4, log_prob_steps=2,
                     numerical="mode", divergence="exact", exact_divergence_max_dim=10_000)
    m.fit(data, known_metadata)
    s = m.sample(64)
    assert list(s.columns) == list(data.columns) and len(s) == 64
    assert s.dtypes.to_dict() == data.dtypes.to_dict()
    assert m.n_classes_ == 0 and m.transformer_.numerical == "mode"
    lp = m.log_prob(data.head(10))
    assert lp.shape == (10,) and np.isfinite(lp).all()
    with pytest.raises(ModelError, match="target"):
        m.sample(5, conditions={"y": 1})


def test_invalid_hyperparameters_fail_at_fit_with_a_hint(table, known_metadata):
    for bad in ({"ode_method": "rk4"}, {"time_sampling": "beta"}, {"p_uncond": 1.5},
                {"ode_steps": 0}, {"ode_steps": "many"}, {"divergence": "magic"},
                {"hidden": 256}, {"hidden": (64, 0)}, {"time_dim": 7}):
        with pytest.raises(ModelError) as err:
            FlowMatching(epochs=1, **bad).fit(table, known_metadata, target="y")
        assert err.value.hint and next(iter(bad)) in err.value.message, err.value.message


def test_default_budget_scales_with_the_data():
    sizes = [1_000, 16_384, 100_000, 1_000_000]
    batches = [FlowMatching.default_batch_size(n) for n in sizes]
    assert batches == sorted(batches) and batches[0] >= 256 and batches[-1] <= 4096
    assert FlowMatching.default_batch_size(16_384) == 512
    epochs = [FlowMatching.default_epochs(n) for n in sizes]
    assert min(epochs) >= 10
    steps = [math.ceil(n / b) * e for n, b, e in zip(sizes, batches, epochs, strict=True)]
    # About 1,000 optimizer steps up to 16k rows, growing with the cube root of the size.
    assert all(1000 <= s <= 1100 for s in steps[:2])
    assert steps == sorted(steps) and 3500 <= steps[-1] <= 4500
    # Work (rows seen) grows with the data, but less than linearly.
    rows_seen = [n * e for n, e in zip(sizes, epochs, strict=True)]
    assert rows_seen == sorted(rows_seen)
    assert rows_seen[-1] / rows_seen[1] < 0.6 * sizes[-1] / sizes[1]


def test_training_options_reach_the_loop(table, known_metadata, tmp_path):
    ckpt = tmp_path / "ckpt" / "flow.pt"
    m = FlowMatching(epochs=3, batch_size=128, hidden=(32, 32), ode_steps=3, dequant_noise=0.0,
                     time_sampling="logit_normal", ode_method="midpoint", patience=None,
                     ema_decay=None, lr_schedule="constant", warmup_steps=0, lr=3e-3,
                     checkpoint_path=str(ckpt))
    m.fit(table, known_metadata, target="y")
    assert [h["epoch"] for h in m.loss_history_] == [1, 2, 3]
    assert all(h["lr"] == pytest.approx(3e-3) for h in m.train_result_.history)
    state = torch.load(ckpt, weights_only=True)
    assert state["epoch"] == 3 and state["ema"] is None
    assert set(state["model"]) == set(m.net_.state_dict())
    assert len(m.sample(20, conditions={"y": 1})) == 20
