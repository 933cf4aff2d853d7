"""The parameter-constraint tables: complete for every model, checked before any work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthpipe.errors import ModelError
from synthpipe.models import base
from synthpipe.models.params import Interval, Options, Widths, check_params, constraints_of
from synthpipe.models.registry import get_model

MODELS = ["tvae", "ctgan", "tabddpm", "flow", "argn"]


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_of_every_model_has_a_constraint(name):
    cls = get_model(name)
    params = cls().get_params()
    assert set(params) <= set(constraints_of(cls)), set(params) - set(constraints_of(cls))
    check_params(name, params, constraints_of(cls))  # the defaults are valid


@pytest.mark.parametrize(("name", "bad", "accepts"), [
    ("tvae", {"latent_dim": 0}, "an integer >= 1"),
    ("tvae", {"encoder_dims": [256, -1]}, "positive layer widths"),
    ("tvae", {"ema_decay": 1.0}, "a number in (0, 1) or None"),
    ("ctgan", {"pac": 2.5}, "an integer >= 1"),
    ("tabddpm", {"sampler": "euler"}, "one of 'ddpm', 'ddim'"),
    ("tabddpm", {"hidden": []}, "positive layer widths"),
    ("flow", {"ode_steps": True}, "an integer >= 1"),  # a bool is not a count
    ("flow", {"logit_scale": 0}, "a number > 0"),
    ("argn", {"temperature": float("nan")}, "a number > 0"),
    ("argn", {"class_balance": 1.5}, "a number in [0, 1]"),
    ("tvae", {"epochs": 0}, "an integer >= 1 or None"),
    ("tvae", {"lr_schedule": "step"}, None),  # not a tvae parameter: ignored
])
def test_a_bad_parameter_fails_before_any_work_naming_what_it_accepts(name, bad, accepts):
    cls = get_model(name)
    model = cls(**bad) if set(bad) <= set(cls.param_names()) else cls()
    empty = pd.DataFrame()  # fit would fail on it later; the parameter check comes first
    if accepts is None:
        with pytest.raises(ModelError, match="empty|no column|rows"):
            model.fit(empty, None)
        return
    with pytest.raises(ModelError) as err:
        model.fit(empty, None)
    [(key, value)] = bad.items()
    assert f"{name} parameter {key}={value!r} is invalid" in str(err.value)
    assert accepts in err.value.hint


def test_constraint_kinds():
    assert Interval(int, 1, None).accepts(3) and not Interval(int, 1, None).accepts(3.5)
    assert Interval(float, 0, 1, closed="left").accepts(0) and not Interval(
        float, 0, 1, closed="left").accepts(1)
    assert not Interval(float, None, None).accepts(float("inf"))
    assert Options(("a", "b")).accepts("a") and not Options((1,)).accepts(True)
    assert Widths().accepts((8, 8)) and not Widths().accepts("88") and not Widths().accepts([])


def test_a_subclass_adds_to_its_bases_table():
    class Custom(base.Synthesizer):
        _parameter_constraints = {"width": [Interval(int, 4, None)]}

    table = constraints_of(Custom)
    assert table["width"] == [Interval(int, 4, None)] and "epochs" in table and "lr" in table


def test_training_settings_come_from_the_models_own_parameters(tmp_path):
    model = get_model("flow")(lr=0.05, patience=None, warmup_steps=7,
                                    checkpoint_path=str(tmp_path / "c.pt"))
    model.epochs_, model.batch_size_ = 3, 64
    cfg = model._train_config(grad_clip=0.5)
    assert (cfg.lr, cfg.patience, cfg.warmup_steps, cfg.grad_clip) == (0.05, None, 7, 0.5)
    assert cfg.checkpoint_path == Path(tmp_path / "c.pt")
    assert (cfg.epochs, cfg.batch_size) == (3, 64)
    tvae = get_model("tvae")(lr=0.003)
    tvae.epochs_, tvae.batch_size_ = 2, 32
    # a TrainConfig field the model does not have as a parameter keeps the loop's default
    assert tvae._train_config().lr == 0.003 and tvae._train_config().warmup_steps == 0


def test_a_converging_fit_keeps_a_models_own_schedule():
    flow = get_model("flow")(lr_schedule="linear")
    tvae = get_model("tvae")()
    for m in (flow, tvae):
        m.epochs_, m.batch_size_, m.converge_ = 5, 64, True
    assert flow._train_config().lr_schedule == "linear"
    assert tvae._train_config().lr_schedule == "constant"
