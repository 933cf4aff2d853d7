"""The shared training loop: batches, EMA, early stopping, seeding, checkpoints, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synthpipe.config import Device
from synthpipe.errors import ModelError
from synthpipe.training import TrainConfig, resolve_device, seed_everything, train

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _regression(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.1 * torch.randn(n, 1, generator=g)
    return torch.cat([x, y], dim=1), torch.tensor([1.5, -2.0, 0.5])


def _mse(model: nn.Module, xb: torch.Tensor, cb: torch.Tensor | None) -> torch.Tensor:
    return ((model(xb[:, :3]) - xb[:, 3:]) ** 2).mean()


class _Tiny(nn.Module):
    """One weight: a model whose loss functions only watch the batches they are given."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(Device.AUTO).type == expected
    assert resolve_device("CPU") == CPU
    with pytest.raises(ModelError, match="unknown device"):
        resolve_device("abacus")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA is not available"):
            resolve_device("cuda")


def test_seed_everything_is_reproducible():
    g1 = seed_everything(5)
    a, ga = torch.rand(3), torch.rand(3, generator=g1)
    g2 = seed_everything(5)
    assert torch.equal(a, torch.rand(3)) and torch.equal(ga, torch.rand(3, generator=g2))


def test_train_fits_a_linear_model_and_reports_every_epoch():
    x, w = _regression()
    model = nn.Linear(3, 1)
    seen = []
    result = train(model, _mse, x, None,
                   TrainConfig(epochs=40, batch_size=32, lr=0.05, patience=None), CPU,
                   progress=lambda *a: seen.append(a), generator=torch.Generator().manual_seed(0))
    assert result.epochs_run == 40 and len(result.history) == 40
    assert [h["epoch"] for h in result.history] == list(range(1, 41))
    assert set(result.history[0]) >= {"epoch", "train_loss", "val_loss"}
    assert result.history[-1]["train_loss"] < 0.1 * result.history[0]["train_loss"]
    torch.testing.assert_close(model.weight.detach()[0], w, atol=0.1, rtol=0)
    assert [s[:3] for s in seen] == [("fit", e, 40) for e in range(1, 41)]
    assert all("loss" in s[3] and "val_loss" in s[3] for s in seen)
    assert not model.training  # handed back in eval mode


def test_every_epoch_visits_each_training_row_once_with_cond_aligned():
    n = 100
    x = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 2)
    cond = torch.arange(n)
    visits: list[torch.Tensor] = []
    mismatches = []

    def loss_fn(model, xb, cb):
        if model.training:
            visits.append(xb[:, 0].clone())
            mismatches.append(int((xb[:, 0].long() != cb).sum()))
        return (model.w - 1) ** 2 + 0 * xb.sum()

    train(_Tiny(), loss_fn, x, cond,
          TrainConfig(epochs=3, batch_size=16, val_fraction=0.2, patience=None), CPU,
          generator=torch.Generator().manual_seed(1))
    assert sum(mismatches) == 0
    per_epoch = 80 // 16
    for e in range(3):
        rows = torch.cat(visits[e * per_epoch:(e + 1) * per_epoch])
        assert rows.numel() == 80 and rows.unique().numel() == 80  # no repeats, none missed
    # The validation rows are never trained on.
    assert torch.cat(visits).unique().numel() == 80


@pytest.mark.parametrize(("balance", "expected_share"), [(0.0, 0.05), (0.5, 0.1865), (1.0, 0.5)])
def test_class_balance_sets_the_rare_class_share_of_batches(balance, expected_share):
    # 950 rows of class 0, 50 of class 1: weights count ** -a give the rare class a share of
    # 50 * 50**-a / (50 * 50**-a + 950 * 950**-a) of the draws.
    n = 1000
    cond = torch.cat([torch.zeros(950, dtype=torch.long), torch.ones(50, dtype=torch.long)])
    x = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 2)
    seen: list[torch.Tensor] = []
    rows: list[torch.Tensor] = []

    def loss_fn(model, xb, cb):
        if model.training:
            seen.append(cb.clone())
            rows.append(xb[:, 0].long())
        return (model.w - 1) ** 2 + 0 * xb.sum()

    train(_Tiny(), loss_fn, x, cond,
          TrainConfig(epochs=20, batch_size=100, val_fraction=0.0, patience=None,
                      class_balance=balance), CPU, generator=torch.Generator().manual_seed(0))
    labels, drawn = torch.cat(seen), torch.cat(rows)
    assert labels.numel() == 20 * n  # an epoch is still n draws
    assert torch.equal(labels, cond[drawn])  # labels stay aligned with their rows
    assert abs(labels.float().mean().item() - expected_share) < 0.02
    if balance > 0:
        # Every rare row is drawn (about 20 * 50 * share / 0.05 times each), none lost.
        assert drawn[labels == 1].unique().numel() == 50


def test_ema_weights_are_loaded_at_the_end():
    x, _ = _regression()
    raw: dict[int, list[torch.Tensor]] = {}
    for ema in (None, 0.9):
        model = nn.Linear(3, 1)
        last: list[list[torch.Tensor]] = []
        train(model, _mse, x, None,
              TrainConfig(epochs=5, batch_size=16, lr=0.05, ema_decay=ema, val_fraction=0.0,
                          lr_schedule="constant"),
              CPU, progress=lambda *a, m=model, s=last: s.append(_params(m)),
              generator=torch.Generator().manual_seed(0))
        raw[ema is not None] = [_params(model), last[-1]]
    final, live = raw[False]
    assert all(torch.equal(a, b) for a, b in zip(final, live, strict=True))
    final, live = raw[True]
    assert not all(torch.equal(a, b) for a, b in zip(final, live, strict=True))


def test_early_stopping_restores_the_best_epoch():
    x, _ = _regression()
    model = nn.Linear(3, 1)
    snaps: list[list[torch.Tensor]] = []

    def flat(model, xb, cb):  # validation never improves after the first epoch
        return (model.weight * 0).sum() + 1.0

    result = train(model, flat, x, None,
                   TrainConfig(epochs=50, batch_size=32, ema_decay=None, patience=3,
                               weight_decay=0.5, lr=0.1),
                   CPU, progress=lambda *a: snaps.append(_params(model)),
                   generator=torch.Generator().manual_seed(0))
    assert result.stopped_early and result.epochs_run == 4 and result.best_epoch == 1
    assert all(torch.equal(a, b) for a, b in zip(_params(model), snaps[0], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(_params(model), snaps[-1], strict=True))


def test_same_seed_same_training():
    x, _ = _regression()
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        r = train(model, _mse, x, None, TrainConfig(epochs=3, batch_size=32), CPU,
                  generator=torch.Generator().manual_seed(3))
        outs.append((_params(model), [h["train_loss"] for h in r.history]))
    assert all(torch.equal(a, b) for a, b in zip(outs[0][0], outs[1][0], strict=True))
    assert outs[0][1] == outs[1][1]


def test_lr_schedules():
    x, _ = _regression()
    lrs = {}
    for schedule in ("cosine", "constant", "linear"):
        seen = []
        train(nn.Linear(3, 1), _mse, x, None,
              TrainConfig(epochs=4, batch_size=64, lr=0.01, lr_schedule=schedule), CPU,
              progress=lambda *a, s=seen: s.append(a[3]["lr"]))
        lrs[schedule] = seen
    assert lrs["constant"] == [0.01] * 4
    assert lrs["cosine"] == sorted(lrs["cosine"], reverse=True) and lrs["cosine"][-1] < 0.01
    assert lrs["linear"] == sorted(lrs["linear"], reverse=True) and lrs["linear"][-1] < 0.001


def test_checkpoint_is_weights_only_and_resumable(tmp_path):
    x, _ = _regression()
    ckpt = tmp_path / "ckpt" / "train.pt"
    model = nn.Linear(3, 1)
    train(model, _mse, x, None, TrainConfig(epochs=2, batch_size=32, checkpoint_path=ckpt), CPU)
    state = torch.load(ckpt, weights_only=True)
    assert state["epoch"] == 2 and set(state["model"]) == {"weight", "bias"}
    resumed = train(model, _mse, x, None,
                    TrainConfig(epochs=4, batch_size=32, checkpoint_path=ckpt, resume=True), CPU)
    assert [h["epoch"] for h in resumed.history] == [3, 4] and resumed.epochs_run == 4


def test_class_balance_outside_0_1_is_refused():
    x, _ = _regression()
    with pytest.raises(ModelError, match="class_balance"):
        train(nn.Linear(3, 1), _mse, x, torch.zeros(len(x), dtype=torch.long),
              TrainConfig(epochs=1, batch_size=32, class_balance=1.5), CPU)


def test_divergence_and_bad_settings_raise_model_error():
    x, _ = _regression()

    def nan_loss(model, xb, cb):
        return model(xb[:, :3]).mean() * float("nan")

    with pytest.raises(ModelError, match="diverged"):
        train(nn.Linear(3, 1), nan_loss, x, None, TrainConfig(epochs=1, batch_size=32), CPU)
    for bad in (dict(epochs=0), dict(batch_size=0), dict(lr_schedule="step"),
                dict(ema_decay=1.5), dict(val_fraction=1.0), dict(lr=0.0)):
        cfg = TrainConfig(**{"epochs": 1, "batch_size": 8, **bad})
        with pytest.raises(ModelError):
            train(nn.Linear(3, 1), _mse, x, None, cfg, CPU)
    with pytest.raises(ModelError, match="cond has"):
        train(nn.Linear(3, 1), _mse, x, torch.zeros(3, dtype=torch.long),
              TrainConfig(epochs=1, batch_size=8), CPU)
