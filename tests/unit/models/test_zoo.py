"""Every registered model through the same three-way fixture (registry, direct construction,
save/load), plus conditional sampling, seeding and the known-distribution quality check.

Budgets are tiny for the interface tests; the quality test uses per-model small budgets and the
tolerances stated in ``conftest.check_known_distribution``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
import torch

from synthpipe.models import Synthesizer, available_models, create_model, get_model
from synthpipe.models.argn import AutoregressiveSynthesizer
from synthpipe.models.ctgan import CTGANSynthesizer
from synthpipe.models.flow import FlowMatching
from synthpipe.models.tabddpm import TabDDPM
from synthpipe.models.tvae import TVAE

DIRECT = {"tvae": TVAE, "ctgan": CTGANSynthesizer, "tabddpm": TabDDPM, "flow": FlowMatching,
          "argn": AutoregressiveSynthesizer}

# Interface tests: the smallest budgets that still run every code path.
TINY: dict[str, dict[str, Any]] = {
    "tvae": dict(epochs=2, encoder_dims=(32,), decoder_dims=(32,), latent_dim=8),
    "ctgan": dict(epochs=2, generator_dim=(32,), discriminator_dim=(32,), embedding_dim=16,
                  batch_size=100),
    "tabddpm": dict(epochs=2, hidden=(32, 32), num_timesteps=40, sample_steps=8),
    "flow": dict(epochs=2, hidden=(32, 32), ode_steps=4, log_prob_steps=4),
    "argn": dict(epochs=2, hidden_dims=(32,), embedding_dim=4),
}

# Quality test: small budgets (seconds on 2 CPU cores) that recover the known distribution.
SMALL: dict[str, dict[str, Any]] = {
    "tvae": dict(epochs=150, encoder_dims=(128, 128), decoder_dims=(128, 128), latent_dim=32,
                 batch_size=128, lr=2e-3),
    "tabddpm": dict(epochs=150, batch_size=256, hidden=(128, 128), num_timesteps=100,
                    sample_steps=None),
    "flow": dict(epochs=150, batch_size=256, hidden=(128, 128), ode_steps=16),
    "argn": dict(epochs=60, batch_size=128, hidden_dims=(128, 128)),
}

NAMES = sorted(available_models())
N_TRAIN = 400


def test_every_model_is_covered_here():
    assert set(NAMES) == set(DIRECT) == set(TINY)


@pytest.fixture(scope="module")
def data(known_frame) -> pd.DataFrame:
    return known_frame.head(N_TRAIN).copy()


@pytest.fixture(scope="module", params=NAMES)
def pair(request, data, known_metadata) -> tuple[str, Synthesizer, Synthesizer]:
    """The same model fitted twice with the same seed: via the registry and directly."""
    name = request.param
    via_registry = create_model(name, seed=11, **TINY[name])
    direct = DIRECT[name](seed=11, **TINY[name])
    via_registry.fit(data, known_metadata, target="y")
    direct.fit(data, known_metadata, target="y")
    return name, via_registry, direct


def test_registry_and_direct_construction_agree(pair):
    name, reg, direct = pair
    assert type(reg) is type(direct) is get_model(name)
    assert reg.get_params() == direct.get_params()
    # Same seed, same data on CPU: identical training, hence identical samples.
    if reg.device_.type == "cpu":
        pd.testing.assert_frame_equal(reg.sample(200, seed=3), direct.sample(200, seed=3))


def test_output_has_the_input_columns_and_dtypes(pair, data):
    _, model, _ = pair
    s = model.sample(120, seed=1)
    assert list(s.columns) == list(data.columns) and len(s) == 120
    assert s.dtypes.to_dict() == data.dtypes.to_dict()
    assert set(s["cluster"]) <= set(data["cluster"]) and set(s["y"]) <= {0, 1}
    assert len(model.loss_history_) >= 1
    assert {"epoch", "train_loss", "val_loss"} <= set(model.loss_history_[0])


def test_save_load_round_trip_samples_identically(pair, tmp_path):
    name, model, _ = pair
    model.save(tmp_path / name)
    config = json.loads((tmp_path / name / "config.json").read_text())
    assert config["model"] == name
    torch.load(tmp_path / name / "weights.pt", weights_only=True)  # tensors only
    loaded = Synthesizer.load(tmp_path / name)
    assert type(loaded) is type(model)
    assert loaded.get_params() == json.loads(json.dumps(model.get_params()))
    pd.testing.assert_frame_equal(loaded.sample(150, seed=8), model.sample(150, seed=8))
    rare = {"conditions": {"y": 1}, "seed": 2}
    pd.testing.assert_frame_equal(loaded.sample(40, **rare), model.sample(40, **rare))


def test_conditional_sampling_returns_only_the_requested_class(pair):
    _, model, _ = pair
    for label in (0, 1):
        s = model.sample(150, conditions={"y": label}, seed=4)
        assert len(s) == 150 and (s["y"] == label).all()


def test_same_seed_same_sample_other_seed_differs(pair):
    _, model, _ = pair
    a = model.sample(100, seed=21)
    pd.testing.assert_frame_equal(a, model.sample(100, seed=21))
    assert not a.equals(model.sample(100, seed=22))


def test_unfitted_params_rebuild_an_equal_model(pair):
    name, model, _ = pair
    clone = DIRECT[name](**model.get_params())
    assert clone.get_params() == model.get_params()
    assert not hasattr(clone, "transformer_")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_budget_recovers_the_known_distribution(name, known_frame, known_metadata,
                                                      known_checks):
    model = create_model(name, seed=0, **SMALL[name]).fit(known_frame, known_metadata,
                                                           target="y")
    synth = model.sample(3000, seed=1)
    known_checks(known_frame, synth)
    # The conditional rows are the rare class and keep the feature distribution plausible.
    rare = model.sample(500, conditions={"y": 1}, seed=2)
    assert (rare["y"] == 1).all()
    assert 0.1 < (rare["cluster"] == "A").mean() < 0.95


# ---------------------------------------------------------------------------- class balance

LOOP_TRAINED = sorted(SMALL)  # the models trained by synthpipe.training (ctgan is not)


@pytest.mark.parametrize("name", LOOP_TRAINED)
def test_class_balance_reaches_the_training_loop(name, data, known_metadata, monkeypatch):
    import synthpipe.models.base as base

    seen = []
    real_train = base.train

    def spy(model, loss_fn, x, cond, cfg, *args, **kwargs):
        seen.append(cfg.class_balance)
        return real_train(model, loss_fn, x, cond, cfg, *args, **kwargs)

    monkeypatch.setattr(base, "train", spy)
    params = {**TINY[name], "epochs": 1}
    create_model(name, seed=0, class_balance=0.5, **params).fit(data, known_metadata, target="y")
    create_model(name, seed=0, **params).fit(data, known_metadata, target="y")
    assert seen == [0.5, 0.0]


@pytest.mark.parametrize("name", LOOP_TRAINED)
@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_class_balance_out_of_range_is_refused_before_training(name, bad, data, known_metadata):
    from synthpipe.errors import ModelError

    model = create_model(name, seed=0, class_balance=bad, **TINY[name])
    with pytest.raises(ModelError, match="class_balance") as err:
        model.fit(data, known_metadata, target="y")
    assert "[0, 1]" in err.value.hint or ">= 0.0 and <= 1.0" in err.value.hint
    assert not hasattr(model, "train_result_")  # refused before the training loop ran


def test_ctgan_has_no_class_balance_parameter():
    # Its own training samples the conditional vector by log-frequency; a class_balance that it
    # silently ignored would mislead.
    assert "class_balance" not in get_model("ctgan").param_names()
    with pytest.raises(Exception, match="class_balance"):
        create_model("ctgan", class_balance=0.5)


def test_flow_samples_in_cache_sized_batches_on_cpu(data, known_metadata):
    model = create_model("flow", seed=0, device="cpu", **TINY["flow"])
    model.fit(data, known_metadata, target="y")
    assert model.sample_batch_size() == 2048
    calls = []
    real = model._sample
    model._sample = lambda n, cond, gen: calls.append(n) or real(n, cond, gen)
    out = model.sample(5000, seed=1)
    assert len(out) == 5000 and calls == [2048, 2048, 904]
    model.sampling_batch_size = 1000
    assert model.sample_batch_size() == 1000


def test_rare_class_at_the_requested_share_without_rejection_sampling(pair, data):
    """The 3% class at 50% of the output: exact counts, and the network generates exactly the
    rows asked for (rejection sampling would generate many more and discard them)."""
    from synthpipe.rebalance import plan_counts, sample_counts

    _, model, _ = pair
    assert (data["y"] == 1).mean() < 0.05
    generated = []
    real = model._sample
    model._sample = lambda n, cond, gen: generated.append(n) or real(n, cond, gen)
    try:
        counts = plan_counts("0.5", data["y"].value_counts().to_dict(), 600)
        out = sample_counts(model, "y", counts, seed=3)
    finally:
        del model._sample
    assert counts == {1: 300, 0: 300}
    assert out["y"].value_counts().to_dict() == {1: 300, 0: 300}
    assert sum(generated) == 600
