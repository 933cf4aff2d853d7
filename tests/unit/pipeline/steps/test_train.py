"""The train stage's helpers that need no data (training itself runs in tests/integration)."""

from __future__ import annotations

import json

import pytest

from synthpipe.config import SAMPLE_TABLE, load_config
from synthpipe.pipeline.steps.train import (
    REBALANCE_CLASS_BALANCE,
    REBALANCE_GUIDANCE,
    model_params,
    training_key,
)


def _cfg(tmp_path, model: dict | None = None, **overrides):
    path = None
    if model is not None:
        path = tmp_path / "cfg.json"
        path.write_text(json.dumps({"model": model}))
    return load_config(path, table=SAMPLE_TABLE, **overrides)


@pytest.mark.parametrize("name", ["tvae", "tabddpm", "flow"])
def test_rebalancing_trains_loop_models_with_class_balanced_batches(tmp_path, name):
    cfg = _cfg(tmp_path, model_name=name, target="is_fraud", rebalance="0.5")
    guided = {} if name == "tvae" else {"guidance_scale": REBALANCE_GUIDANCE}
    assert model_params(cfg, name) == {"class_balance": REBALANCE_CLASS_BALANCE, **guided}


def test_guidance_only_for_a_given_share_and_a_model_trained_with_label_dropout(tmp_path):
    auto = _cfg(tmp_path, model_name="tabddpm", target="is_fraud", rebalance="auto")
    assert "guidance_scale" not in model_params(auto, "tabddpm")  # auto judges it itself
    cfg = _cfg(tmp_path, {"name": "tabddpm", "params": {"p_uncond": 0.0}}, target="is_fraud",
               rebalance="0.5")
    assert "guidance_scale" not in model_params(cfg, "tabddpm")
    cfg = _cfg(tmp_path, {"name": "flow", "params": {"guidance_scale": 1.0}},
               target="is_fraud", rebalance="0.3")
    assert model_params(cfg, "flow")["guidance_scale"] == 1.0  # the config's wins


def test_ctgan_gets_no_class_balance(tmp_path):
    cfg = _cfg(tmp_path, model_name="ctgan", target="is_fraud", rebalance="0.5")
    assert model_params(cfg, "ctgan") == {}


def test_without_rebalancing_the_model_defaults_stand(tmp_path):
    cfg = _cfg(tmp_path, model_name="tvae", target="is_fraud")
    assert model_params(cfg, "tvae") == {}


def test_a_configured_class_balance_wins(tmp_path):
    cfg = _cfg(tmp_path, {"name": "flow", "params": {"class_balance": 0.0, "ode_steps": 8}},
               target="is_fraud", rebalance="Y=0.3,N=0.7")
    assert model_params(cfg, "flow") == {"class_balance": 0.0, "ode_steps": 8,
                                         "guidance_scale": REBALANCE_GUIDANCE}
    # Parameters belong to the configured model only; other candidates keep their defaults.
    assert model_params(cfg, "tvae") == {"class_balance": REBALANCE_CLASS_BALANCE}


def test_the_cache_key_changes_with_the_training_parameters(tmp_path):
    plain = _cfg(tmp_path, model_name="tvae", target="is_fraud")
    balanced = _cfg(tmp_path, model_name="tvae", target="is_fraud", rebalance="0.5")
    assert training_key("abc", plain, "tvae") != training_key("abc", balanced, "tvae")


def test_the_code_fingerprint_covers_the_whole_package_not_only_the_pipeline(
    tmp_path, monkeypatch
):
    import synthpipe
    from synthpipe.pipeline.steps import train

    (tmp_path / "pipeline").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "pipeline" / "run.py").write_text("A = 1\n")
    monkeypatch.setattr(synthpipe, "__file__", str(tmp_path / "__init__.py"))
    monkeypatch.setattr(train, "_CODE_FINGERPRINT", None)
    before = train.code_fingerprint()
    # A module beside the pipeline package (a model, say) changes what a cached model means.
    (tmp_path / "models.py").write_text("B = 2\n")
    monkeypatch.setattr(train, "_CODE_FINGERPRINT", None)
    assert train.code_fingerprint() != before
