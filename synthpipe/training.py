"""The one training loop every torch model uses.

The whole encoded table is moved to the device once; each epoch draws a random permutation on
the device and slices index batches from it, so no DataLoader copies rows per batch. AdamW,
a learning-rate schedule, an exponential moving average (EMA) of the weights, early stopping on
a validation split, bf16 autocast on CUDA, a progress callback per epoch and an optional
checkpoint are all here, once.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synthpipe.errors import ModelError

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int, dict], None]
LossFn = Callable[[nn.Module, torch.Tensor, "torch.Tensor | None"], torch.Tensor]

_SCHEDULES = ("cosine", "constant", "linear")
_VAL_SEED = 20_231_122


@dataclass
class TrainConfig:
    """Budget and optimizer settings of one training run.

    Attributes:
        epochs: Maximum passes over the training split.
        batch_size: Rows per optimizer step.
        lr: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay.
        ema_decay: Decay of the weight EMA (None: no EMA). Warmed up as
            ``min(decay, (1 + step) / (10 + step))`` so short runs are not stuck at the init.
        val_fraction: Share of rows held out for early stopping (0: none).
        patience: Epochs without validation improvement before stopping (None: never stop).
        grad_clip: Max gradient norm (None: no clipping).
        amp: bf16 autocast, applied on CUDA only.
        lr_schedule: ``"cosine"`` (to 5% of ``lr``), ``"linear"`` (to 0) or ``"constant"``.
        warmup_steps: Linear learning-rate warmup at the start.
        checkpoint_path: When set, a checkpoint is written after every epoch (atomically).
        resume: Continue from ``checkpoint_path`` when it exists.
        min_delta: Smallest validation improvement that resets the patience counter.
        class_balance: Exponent ``a`` of class-balanced batches (needs class labels): training
            rows are drawn with replacement with weight ``count(class) ** -a``, so ``0`` is
            plain shuffling, ``0.5`` the square-root balance and ``1`` equal classes per batch.
            Rare classes get more gradient steps; each class's conditional distribution is
            still learned from its own rows only (the class frequencies used for sampling are
            counted from the data, not from the batches).
        monitor_every: With a ``monitor`` passed to :func:`train`: epochs between two fidelity
            checks (0: no checks). The checks then choose the weights kept and when to stop,
            in place of the validation loss.
        monitor_patience: Checks without an improvement of at least ``monitor_min_delta``
            before stopping.
        monitor_min_delta: Smallest decrease of the monitor's score that counts.
        time_budget: Wall-time cap of the loop in seconds (None: none); the loop stops after
            the epoch that crosses it, keeping the best weights so far.
    """

    epochs: int
    batch_size: int
    lr: float = 1e-3
    weight_decay: float = 1e-5
    ema_decay: float | None = 0.999
    val_fraction: float = 0.1
    patience: int | None = 20
    grad_clip: float | None = 1.0
    amp: bool = True
    lr_schedule: str = "cosine"
    warmup_steps: int = 0
    checkpoint_path: Path | None = None
    resume: bool = False
    min_delta: float = 0.0
    class_balance: float = 0.0
    monitor_every: int = 0
    monitor_patience: int = 8
    monitor_min_delta: float = 0.005
    time_budget: float | None = None

    def validate(self) -> None:
        """Raise ModelError naming the first invalid setting."""
        if self.epochs < 1:
            raise ModelError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ModelError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ModelError(f"lr must be > 0, got {self.lr}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ModelError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ModelError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.monitor_every < 0 or self.monitor_patience < 1:
            raise ModelError(
                f"monitor_every must be >= 0 and monitor_patience >= 1, got "
                f"{self.monitor_every} and {self.monitor_patience}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ModelError(f"time_budget must be > 0 seconds or None, got {self.time_budget}")
        if not 0.0 <= self.class_balance <= 1.0:
            raise ModelError(f"class_balance must be in [0, 1], got {self.class_balance}",
                             hint="0: plain shuffling, 0.5: square-root balance, 1: equal")
        if self.lr_schedule not in _SCHEDULES:
            raise ModelError(
                f"unknown lr_schedule {self.lr_schedule!r}", hint=f"use one of {_SCHEDULES}"
            )


@dataclass
class TrainResult:
    """What a training run did.

    Attributes:
        history: Per epoch ``{"epoch", "train_loss", "val_loss", "lr"}`` (val_loss None without
            a validation split).
        best_epoch: Epoch whose weights the model holds at the end (1-based).
        epochs_run: Epochs actually run (fewer than configured after early stopping).
        seconds: Wall time of the loop.
        stopped_early: Whether patience (validation loss or fidelity checks) ran out.
        stop_reason: ``"epochs"`` (the budget ran out), ``"validation loss"`` (its patience),
            ``"fidelity"`` (the monitor's patience) or ``"time budget"``.
        checks: Per fidelity check ``{"epoch", "step", "seconds", "score", ...}``: the learning
            curve of the monitor (empty without one).
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    stop_reason: str = "epochs"
    checks: list[dict[str, Any]] = field(default_factory=list)


def resolve_device(device: str | torch.device | Any = "auto") -> torch.device:
    """Turn a device setting into a torch device.

    Args:
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, a torch.device, or a string enum of those.

    Raises:
        ModelError: CUDA requested but not available, or an unknown device string.
    """
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = str(getattr(device, "value", device)).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(
            f"unknown device {name!r}", hint="use 'auto', 'cpu' or 'cuda'"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            "device 'cuda' was requested but CUDA is not available on this machine",
            hint="use device 'auto' or 'cpu'",
        )
    return dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator seeded with ``seed``.

    The global seeds make losses that draw noise without an explicit generator (dropout,
    reparameterisation) reproducible; the returned generator is for explicit use.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _device_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """A generator on ``device`` derived deterministically from ``generator``."""
    if generator is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    else:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return torch.Generator(device=device).manual_seed(seed)


def _lr_factor(cfg: TrainConfig, step: int, total: int) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = min(1.0, step / max(1, total))
    if cfg.lr_schedule == "cosine":
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.lr_schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 1.0


class _EMA:
    """Exponential moving average of a module's floating-point parameters and buffers."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        live = model.state_dict()
        self.shadow = {k: v.detach().clone() for k, v in live.items()}
        self.steps = 0
        self._bind(live)

    def _bind(self, live: dict[str, torch.Tensor]) -> None:
        # state_dict tensors share storage with the parameters (updated in place by the
        # optimizer and by load_state_dict), so the pairs stay valid for the whole run.
        pairs = [(self.shadow[k], v) for k, v in live.items()]
        self._float = [(s, v) for s, v in pairs if s.is_floating_point()]
        self._other = [(s, v) for s, v in pairs if not s.is_floating_point()]

    def load(self, shadow: dict[str, torch.Tensor], steps: int, model: nn.Module) -> None:
        self.shadow, self.steps = shadow, steps
        self._bind(model.state_dict())

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        d = min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        if self._float:
            torch._foreach_lerp_([s for s, _ in self._float], [v for _, v in self._float], 1 - d)
        for s, v in self._other:
            s.copy_(v)


def _evaluate(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, cond: torch.Tensor | None,
              batch_size: int, autocast: Any) -> float:
    model.eval()
    total = torch.zeros((), device=x.device)
    devices = [x.device] if x.device.type == "cuda" else []
    # Stochastic losses (VAE, diffusion, flow) draw noise: the same draws every epoch make
    # epochs comparable, so early stopping reacts to the model, not to the noise.
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(_VAL_SEED)
        for start in range(0, x.shape[0], batch_size):
            xb = x[start: start + batch_size]
            cb = cond[start: start + batch_size] if cond is not None else None
            with autocast():
                total += loss_fn(model, xb, cb).float().reshape(()) * xb.shape[0]
    model.train()
    return float(total.item()) / x.shape[0]


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ModelError("the model has no trainable parameters")
    try:
        # The fused kernel does the whole update in one pass: the per-parameter Python loop of
        # the default implementation is a visible share of a small model's step on CPU.
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _over_budget(cfg: TrainConfig, started: float) -> bool:
    return cfg.time_budget is not None and time.perf_counter() - started >= cfg.time_budget


def _check(model: nn.Module, monitor: MonitorFn, ema: _EMA | None) -> dict[str, Any]:
    """One fidelity check of the weights that would be kept; the live weights come back."""
    live = _copy_state(model) if ema is not None else None
    if ema is not None:
        model.load_state_dict(ema.shadow)
    try:
        with torch.no_grad():
            out = dict(monitor(model))
        out["state"] = _copy_state(model)
    finally:
        if live is not None:
            model.load_state_dict(live)
    return out


def _stop_reason(cfg: TrainConfig, checking: bool, n_val: int, bad_epochs: int,
                 bad_checks: int, started: float) -> str | None:
    """Why the loop stops after this epoch, or None to go on."""
    if checking and bad_checks >= cfg.monitor_patience:
        return "fidelity"
    if not checking and n_val and cfg.patience is not None and bad_epochs >= cfg.patience:
        return "validation loss"
    if _over_budget(cfg, started):
        return "time budget"
    return None


def validation_split(n: int, val_fraction: float,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices ``(validation, training)`` as :func:`train` draws them from ``generator``.

    A caller that needs the same validation rows (a fidelity monitor compares samples with
    them) calls this on a copy of the generator it passes to :func:`train`.
    """
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if n_val < 1 or n - n_val < 1:
        n_val = 0
    perm = torch.randperm(n, generator=generator)
    return perm[:n_val], perm[n_val:]


#: ``monitor(model) -> dict`` with a ``"score"`` (lower is better), called with the weights
#: that would be kept (the EMA weights when EMA is on).
MonitorFn = Callable[[nn.Module], dict[str, Any]]


def train(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, cond: torch.Tensor | None,
          cfg: TrainConfig, device: torch.device, progress: ProgressFn | None = None,
          generator: torch.Generator | None = None,
          monitor: MonitorFn | None = None) -> TrainResult:
    """Train ``model`` by minimising ``loss_fn`` over random index batches of ``x``.

    Args:
        model: The network (moved to ``device`` here). At the end it holds the best
            validation weights (EMA weights when EMA is on), or the final EMA weights without a
            validation split.
        loss_fn: ``loss_fn(model, x_batch, cond_batch) -> scalar`` (a batch mean).
        x: Encoded table ``(n, d)``, float.
        cond: Class indices ``(n,)`` (long) or None.
        cfg: Budget and optimizer settings.
        device: Where to train.
        progress: Called after every epoch as
            ``progress("fit", epoch, cfg.epochs, {"loss", "val_loss", "lr"})``.
        generator: Seeds the split and the batch order (CPU generator).
        monitor: Fidelity check called every ``cfg.monitor_every`` epochs (see
            :class:`TrainConfig`); its scores, not the validation loss, then pick the weights
            kept and decide when to stop. It must not use ``generator``.

    Returns:
        The run's :class:`TrainResult`.

    Raises:
        ModelError: Invalid settings, mismatched inputs, or a non-finite loss.
    """
    cfg.validate()
    n = int(x.shape[0])
    if n < 1:
        raise ModelError("cannot train on an empty table")
    if cond is not None and cond.shape[0] != n:
        raise ModelError(f"cond has {cond.shape[0]} rows, x has {n}")
    loop = _Loop(model, loss_fn, x, cond, cfg, device,
                 generator if generator is not None else torch.Generator().manual_seed(0),
                 monitor)
    for epoch in range(loop.resume(), cfg.epochs):
        train_loss = loop.run_epoch(epoch)
        val_loss = loop.validate(epoch)
        loop.check_fidelity(epoch)
        lr_now = loop.opt.param_groups[0]["lr"]
        loop.result.history.append(
            {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, "lr": lr_now}
        )
        loop.result.epochs_run = epoch + 1
        if progress is not None:
            progress("fit", epoch + 1, cfg.epochs,
                     {"loss": train_loss, "val_loss": val_loss, "lr": lr_now})
        loop.save_checkpoint(epoch)
        if loop.stop(epoch):
            break
    return loop.finish()


class _Loop:
    """The state of one :func:`train` run and its steps, in the order train calls them.

    Set-up draws the validation split from the generator, moves the data to the device and
    builds the optimizer and the weight EMA; the batch order is drawn from a device generator
    seeded from it, so a run is reproducible from its seed.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, x: torch.Tensor,
                 cond: torch.Tensor | None, cfg: TrainConfig, device: torch.device,
                 gen: torch.Generator, monitor: MonitorFn | None) -> None:
        self.model, self.loss_fn, self.cfg, self.device = model, loss_fn, cfg, device
        self.started = time.perf_counter()
        # Validation split drawn on the CPU once (cheap), then everything lives on the device.
        val_idx, train_idx = validation_split(int(x.shape[0]), cfg.val_fraction, gen)
        self.n_val = int(val_idx.shape[0])
        x = x.to(device=device, dtype=torch.float32)
        cond = cond.to(device=device, dtype=torch.long) if cond is not None else None
        val_idx, train_idx = val_idx.to(device), train_idx.to(device)
        self.x_train, self.x_val = x[train_idx], x[val_idx]
        self.c_train = cond[train_idx] if cond is not None else None
        self.c_val = cond[val_idx] if cond is not None else None
        self.n_train = int(self.x_train.shape[0])
        self.batch_size = min(cfg.batch_size, self.n_train)
        self.steps_per_epoch = max(1, math.ceil(self.n_train / self.batch_size))
        self.total_steps = self.steps_per_epoch * cfg.epochs
        model.to(device)
        model.train()
        self.opt = _make_optimizer(model, cfg)
        self.ema = _EMA(model, cfg.ema_decay) if cfg.ema_decay is not None else None
        self.use_amp = cfg.amp and device.type == "cuda"
        self.dgen = _device_generator(gen, device)
        # Class-balanced batches: cumulative row weights for inverse-CDF draws (any table size).
        self.cum_weights = None
        if cfg.class_balance > 0 and self.c_train is not None:
            counts = torch.bincount(self.c_train).float().clamp(min=1.0)
            self.cum_weights = torch.cumsum(
                (counts ** -cfg.class_balance)[self.c_train].double(), dim=0)
        self.monitor = monitor
        self.checking = monitor is not None and cfg.monitor_every > 0
        self.result = TrainResult()
        self.best_val, self.bad_epochs = math.inf, 0
        self.best_check, self.bad_checks = math.inf, 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.step = 0
        self.ckpt = Path(cfg.checkpoint_path) if cfg.checkpoint_path is not None else None

    def autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16,
                              enabled=self.use_amp)

    def resume(self) -> int:
        """The first epoch to run: after the checkpoint's, when resuming from one."""
        cfg, ckpt = self.cfg, self.ckpt
        if ckpt is None or not cfg.resume or not ckpt.is_file():
            return 0
        state = torch.load(ckpt, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load(state["ema"], int(state["ema_steps"]), self.model)
        self.step = int(state["step"])
        self.best_val = float(state["best_val"])
        self.best_state = state.get("best_state")
        self.result.best_epoch = int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])
        self.dgen.set_state(state["generator"].cpu())
        logger.info("resumed training from %s at epoch %d", ckpt, int(state["epoch"]))
        return int(state["epoch"])

    def _order(self) -> torch.Tensor:
        """This epoch's row order: a permutation, or class-balanced draws with replacement."""
        n, device, dgen = self.n_train, self.device, self.dgen
        if self.cum_weights is None:
            return torch.randperm(n, device=device, generator=dgen)
        u = torch.rand(n, device=device, generator=dgen, dtype=torch.float64)
        return torch.searchsorted(self.cum_weights, u * self.cum_weights[-1],
                                  right=True).clamp_(max=n - 1)

    def run_epoch(self, epoch: int) -> float:
        """One pass of optimizer steps; returns the mean training loss."""
        cfg, model, opt = self.cfg, self.model, self.opt
        order = self._order()
        epoch_loss = torch.zeros((), device=self.device)
        for b in range(self.steps_per_epoch):
            idx = order[b * self.batch_size: (b + 1) * self.batch_size]
            # index_select, not x_train[idx]: the same rows without advanced indexing's
            # general gather path (docs/cpu-efficiency.md).
            xb = self.x_train.index_select(0, idx)
            cb = self.c_train.index_select(0, idx) if self.c_train is not None else None
            for group in opt.param_groups:
                group["lr"] = cfg.lr * _lr_factor(cfg, self.step, self.total_steps)
            with self.autocast():
                loss = self.loss_fn(model, xb, cb)
            if loss.numel() != 1:
                raise ModelError(
                    f"loss_fn returned a tensor of shape {tuple(loss.shape)}, not a scalar",
                    hint="reduce the per-row losses with .mean() inside loss_fn",
                )
            loss = loss.reshape(())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if self.ema is not None:
                self.ema.update()
            epoch_loss += loss.detach().float()
            self.step += 1
        # One host sync per epoch, not per batch.
        train_loss = float(epoch_loss.item()) / self.steps_per_epoch
        if not math.isfinite(train_loss):
            raise ModelError(
                f"training diverged (loss {train_loss}) in epoch {epoch + 1}",
                hint="lower the learning rate ('lr') or the batch size",
            )
        return train_loss

    def validate(self, epoch: int) -> float | None:
        """The validation loss of the weights that would be kept (None without a split); keeps
        the best weights when the validation loss picks them."""
        if not self.n_val:
            if not self.checking:
                self.result.best_epoch = epoch + 1
            return None
        model, ema = self.model, self.ema
        live = None
        if ema is not None:
            live = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.load_state_dict(ema.shadow)
        val_loss = _evaluate(model, self.loss_fn, self.x_val, self.c_val,
                             max(self.batch_size, 1024), self.autocast)
        if val_loss < self.best_val - self.cfg.min_delta:
            self.best_val, self.bad_epochs = val_loss, 0
            if not self.checking:
                self.best_state = _copy_state(model)
                self.result.best_epoch = epoch + 1
        else:
            self.bad_epochs += 1
        if live is not None:
            model.load_state_dict(live)
        return val_loss

    def check_fidelity(self, epoch: int) -> None:
        """Every ``monitor_every`` epochs (and at the last): score the weights that would be
        kept; the best-scoring ones are kept."""
        cfg = self.cfg
        last = epoch + 1 == cfg.epochs or _over_budget(cfg, self.started)
        if not (self.checking and ((epoch + 1) % cfg.monitor_every == 0 or last)):
            return
        assert self.monitor is not None
        check = _check(self.model, self.monitor, self.ema)
        check.update(epoch=epoch + 1, step=self.step,
                     seconds=round(time.perf_counter() - self.started, 2))
        self.result.checks.append(check)
        if check["score"] < self.best_check - cfg.monitor_min_delta:
            self.best_check, self.bad_checks = check["score"], 0
            self.best_state, self.result.best_epoch = check.pop("state"), epoch + 1
        else:
            check.pop("state")
            self.bad_checks += 1
        self.model.train()

    def save_checkpoint(self, epoch: int) -> None:
        if self.ckpt is None:
            return
        ema = self.ema
        _save_checkpoint(self.ckpt, {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "ema": ema.shadow if ema is not None else None,
            "ema_steps": ema.steps if ema is not None else 0,
            "epoch": epoch + 1,
            "step": self.step,
            "best_val": self.best_val,
            "best_state": self.best_state,
            "best_epoch": self.result.best_epoch,
            "bad_epochs": self.bad_epochs,
            "generator": self.dgen.get_state(),
        })

    def stop(self, epoch: int) -> bool:
        """Whether to stop after this epoch (recording why)."""
        reason = _stop_reason(self.cfg, self.checking, self.n_val, self.bad_epochs,
                              self.bad_checks, self.started)
        if reason is None:
            return False
        self.result.stopped_early = reason != "time budget"
        self.result.stop_reason = reason
        logger.info("stopped after epoch %d (%s; best %d)", epoch + 1, reason,
                    self.result.best_epoch)
        return True

    def finish(self) -> TrainResult:
        """Load the weights kept (the best, else the EMA's) and return the result."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif self.ema is not None:
            self.model.load_state_dict(self.ema.shadow)
        self.model.eval()
        self.result.seconds = time.perf_counter() - self.started
        return self.result
