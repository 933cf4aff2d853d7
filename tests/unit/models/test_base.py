"""The Synthesizer template: input checks, target handling, sampling, save/load mechanics.

A tiny in-test model (``_Memorizer``: it learns per-class means of the encoded table) isolates
the template from any real network; save/load goes through TVAE because loading dispatches via
the registry.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from synthpipe.errors import ModelError
from synthpipe.metadata import detect_metadata
from synthpipe.models import Synthesizer
from synthpipe.models.tvae import TVAE


class _Memorizer(Synthesizer):
    """Per-class mean of the encoded rows plus unit noise; enough to exercise the template."""

    name: ClassVar[str] = "memorizer"
    description: ClassVar[str] = "test double"

    def __init__(self, *, noise: float = 1.0, epochs: int | None = None,
                 batch_size: int | None = None, device: str = "auto", seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, device=device, seed=seed)
        self.noise = noise

    def _build(self, n_features: int) -> None:
        self.table_ = nn.Embedding(max(self.n_classes_, 1), n_features).to(self.device_)
        self.built_calls_ = getattr(self, "built_calls_", 0) + 1

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:
        c = cond if cond is not None else torch.zeros(len(x), dtype=torch.long)
        with torch.no_grad():
            for k in range(self.table_.num_embeddings):
                self.table_.weight[k] = x[c == k].mean(0)
        self.seen_ = (x.shape, None if cond is None else cond.clone())

    def _sample(self, n, cond, generator):
        c = cond if cond is not None else torch.zeros(n, dtype=torch.long, device=self.device_)
        mean = self.table_(c)
        return mean + self.noise * torch.randn(mean.shape, generator=generator,
                                               device=self.device_)

    def _modules(self):
        return {"table": self.table_}


@pytest.fixture(scope="module")
def small(known_frame) -> pd.DataFrame:
    return known_frame.head(300).copy()


@pytest.fixture(scope="module")
def small_md(small):
    return detect_metadata(small)


def test_get_params_lists_model_and_base_parameters():
    m = _Memorizer(noise=0.5, epochs=3, seed=9)
    assert m.get_params() == {"noise": 0.5, "epochs": 3, "batch_size": None,
                              "device": "auto", "seed": 9}
    assert _Memorizer.param_names() == ["noise", "epochs", "batch_size", "device", "seed"]
    # __init__ only stores: nothing learnt yet.
    assert not hasattr(m, "transformer_")
    generic = Synthesizer(epochs=2, hidden=(8, 8))
    assert generic.get_params()["hidden"] == (8, 8) and generic.hidden == (8, 8)


def test_fit_splits_off_the_target_and_keeps_modelled_columns(small, small_md):
    data = small.assign(row_id=np.arange(len(small)))
    md = detect_metadata(data)
    m = _Memorizer(seed=1).fit(data, md, target="y")
    assert "row_id" not in m.columns_  # ids are never modelled
    assert m.columns_ == list(small.columns)
    assert m.target_ == "y" and m.classes_ == [0, 1] and m.n_classes_ == 2
    assert m.class_prior_ == pytest.approx([1 - small["y"].mean(), small["y"].mean()])
    shape, cond = m.seen_
    assert shape[0] == len(small) and cond.tolist() == small["y"].tolist()
    assert "y" not in m.transformer_.columns_
    assert m.built_calls_ == 1 and m.epochs_ >= 1 and m.batch_size_ >= 1
    assert m.device_.type in ("cpu", "cuda")


def test_fit_without_target(small, small_md):
    m = _Memorizer().fit(small, small_md)
    assert m.target_ is None and m.n_classes_ == 0 and m.seen_[1] is None
    s = m.sample(50)
    assert list(s.columns) == list(small.columns) and len(s) == 50
    with pytest.raises(ModelError, match="fitted with a target"):
        m.sample(5, conditions={"y": 1})


@pytest.mark.parametrize(
    ("mutate", "target", "message"),
    [
        (lambda d: d.iloc[:0], None, "empty"),
        (lambda d: d, "nope", "not in the table"),
        (lambda d: d.assign(y=1), "y", "class"),
        (lambda d: d[["y"]], "y", "no column to learn"),
    ],
    ids=["empty", "unknown-target", "one-class", "only-target"],
)
def test_fit_rejects_bad_input(small, small_md, mutate, target, message):
    with pytest.raises(ModelError, match=message):
        _Memorizer().fit(mutate(small), small_md, target=target)


def test_fit_rejects_non_frames(small_md):
    with pytest.raises(ModelError, match="DataFrame"):
        _Memorizer().fit(np.zeros((3, 3)), small_md)


def test_rows_with_missing_target_are_dropped(small, small_md):
    data = small.astype({"y": "float64"})
    data.loc[:9, "y"] = np.nan
    m = _Memorizer().fit(data, detect_metadata(data), target="y")
    assert len(m.seen_[1]) == len(small) - 10


def test_sample_restores_order_dtypes_and_exact_labels(small, small_md):
    m = _Memorizer(seed=2).fit(small, small_md, target="y")
    s = m.sample(400)
    assert list(s.columns) == list(small.columns)
    assert s.dtypes.to_dict() == small.dtypes.to_dict()
    assert set(s["y"]) <= {0, 1}
    rare = m.sample(40, conditions={"y": 1})
    assert (rare["y"] == 1).all() and len(rare) == 40
    # CLI values arrive as strings; numpy scalars work too.
    assert (m.sample(5, conditions={"y": "1"})["y"] == 1).all()
    assert (m.sample(5, conditions={"y": np.int64(0)})["y"] == 0).all()


def test_sample_draws_labels_from_the_prior(known_frame, known_metadata):
    m = _Memorizer().fit(known_frame, known_metadata, target="cluster")
    share = (m.sample(4000, seed=3)["cluster"] == "A").mean()
    assert abs(share - (known_frame["cluster"] == "A").mean()) < 0.03


def test_sample_rejects_bad_requests(small, small_md):
    m = _Memorizer().fit(small, small_md, target="y")
    for bad in (-1, 2.5, True, "10"):
        with pytest.raises(ModelError, match="non-negative integer"):
            m.sample(bad)
    with pytest.raises(ModelError, match="not a class"):
        m.sample(3, conditions={"y": 7})
    with pytest.raises(ModelError, match="only condition on the target"):
        m.sample(3, conditions={"cat": "u"})
    with pytest.raises(ModelError, match="dict"):
        m.sample(3, conditions=[("y", 1)])
    with pytest.raises(ModelError, match="not fitted"):
        _Memorizer().sample(3)


def test_zero_rows_gives_an_empty_typed_frame(small, small_md):
    m = _Memorizer().fit(small, small_md, target="y")
    s = m.sample(0)
    assert len(s) == 0 and list(s.columns) == list(small.columns)
    assert s.dtypes.to_dict() == small.dtypes.to_dict()


def test_sampling_is_seeded_and_batched(small, small_md, monkeypatch):
    m = _Memorizer(seed=4).fit(small, small_md, target="y")
    calls = []
    monkeypatch.setattr(type(m), "sample_batch_size", lambda self: 64)
    a = m.sample(150, seed=1, progress=lambda *p: calls.append(p))
    assert [c[:3] for c in calls] == [("sample", 1, 3), ("sample", 2, 3), ("sample", 3, 3)]
    assert [c[3]["rows"] for c in calls] == [64, 64, 22]
    pd.testing.assert_frame_equal(a, m.sample(150, seed=1))
    assert not a.equals(m.sample(150, seed=2))
    # Without a seed argument the model's own seed is used: repeatable too.
    pd.testing.assert_frame_equal(m.sample(30), m.sample(30))


def test_default_budgets_scale_with_rows():
    sizes = [1_000, 16_000, 1_000_000]
    batches = [Synthesizer.default_batch_size(n) for n in sizes]
    epochs = [Synthesizer.default_epochs(n) for n in sizes]
    assert batches == sorted(batches) and 64 <= batches[0] and batches[-1] == 4096
    assert epochs == sorted(epochs, reverse=True) and epochs[-1] >= 5
    for cls in (TVAE,):
        assert cls.default_epochs(1_000_000) * (1_000_000 / cls.default_batch_size(1_000_000)) \
            < 20_000  # 1M rows: thousands of steps, not hours


def test_progress_callback_sees_every_epoch(small, small_md):
    seen = []
    m = TVAE(epochs=3, encoder_dims=(16,), decoder_dims=(16,), latent_dim=4)
    m.fit(small, small_md, target="y", progress=lambda *a: seen.append(a))
    assert [s[:3] for s in seen] == [("fit", 1, 3), ("fit", 2, 3), ("fit", 3, 3)]
    assert [h["epoch"] for h in m.loss_history_] == [1, 2, 3]
    assert set(m.loss_history_[0]) == {"epoch", "train_loss", "val_loss"}


def test_save_is_json_plus_weights_only_and_atomic(small, small_md, tmp_path):
    m = TVAE(epochs=2, encoder_dims=(16,), decoder_dims=(16,), latent_dim=4, seed=3)
    m.fit(small, small_md, target="y")
    path = tmp_path / "model"
    m.save(path)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.pt"]
    config = json.loads((path / "config.json").read_text())
    assert config["model"] == "tvae" and config["target"] == "y"
    assert config["params"]["encoder_dims"] == [16] and config["classes"] == [0, 1]
    weights = torch.load(path / "weights.pt", weights_only=True)
    assert set(weights) == {"net"} and all(
        isinstance(t, torch.Tensor) for t in weights["net"].values())
    # Saving again over the same path replaces it and leaves no temporary directories.
    m.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    loaded = Synthesizer.load(path)
    assert type(loaded) is TVAE and loaded.get_params() == {
        **m.get_params(), "encoder_dims": [16], "decoder_dims": [16]}
    pd.testing.assert_frame_equal(loaded.sample(60, seed=5), m.sample(60, seed=5))
    assert TVAE.load(path, device="cpu").device == "cpu"


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_load_rejects_foreign_or_broken_directories(small, small_md, tmp_path):
    with pytest.raises(ModelError, match="not a saved synthpipe model"):
        Synthesizer.load(tmp_path)
    m = TVAE(epochs=1, encoder_dims=(8,), decoder_dims=(8,), latent_dim=2)
    m.fit(small, small_md)
    m.save(tmp_path / "m")
    from synthpipe.models.ctgan import CTGANSynthesizer

    with pytest.raises(ModelError, match="holds a 'tvae' model"):
        CTGANSynthesizer.load(tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    cfg.write_text(cfg.read_text().replace('"tvae"', '"nonexistent"', 1))
    with pytest.raises(ModelError, match="unknown model"):
        Synthesizer.load(tmp_path / "m")
    cfg.write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        Synthesizer.load(tmp_path / "m")
    m.save(tmp_path / "m2")
    # A pickle smuggled in as weights is refused by weights_only loading.
    import pickle

    (tmp_path / "m2" / "weights.pt").write_bytes(pickle.dumps({"net": object()}))
    with pytest.raises(ModelError, match="could not read weights"):
        Synthesizer.load(tmp_path / "m2")
