"""TabDDPM: Gaussian + multinomial diffusion with an MLP denoiser (Kotelnikov et al., 2023).

The mathematics (forward processes, loss, respaced sampler) lives in
:mod:`synthpipe.models._diffusion`; this module binds it to the :class:`Synthesizer` template:
the quantile-normalized numericals of the TableTransformer are the Gaussian part, its one-hot
spans (categoricals, booleans, missing indicators) the multinomial part, and the target class
enters the denoiser through a class embedding, so a class is sampled directly.

Defaults scale with the table: batch size near ``n_rows / 16`` within [256, 4096], hidden
widths (256, 256) up to 50k rows and (512, 512) above, and an
optimizer-step budget of ``1,500 * max(1, (n_rows / 16384) ** (1/3))`` (see
:meth:`TabDDPM.default_epochs`). Sampling uses 50 strided steps out of the 1,000 trained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd
import torch
from torch import nn

from synthpipe.errors import ModelError
from synthpipe.metadata import TableMetadata
from synthpipe.models._diffusion import (
    SAMPLERS,
    SPACINGS,
    GaussianMultinomialDiffusion,
    MLPDenoiser,
)
from synthpipe.models._nn import ACTIVATIONS, drop_labels
from synthpipe.models.base import ProgressFn, Synthesizer
from synthpipe.models.params import COUNT, NON_NEGATIVE, UNIT, Interval, Options, Widths

# Hidden widths by table size: (max rows, widths). Wider nets pay off only with more data, and
# on CPU they cost quadratically more per step: at 1M rows (512, 512) keeps the default budget
# near 60 TFLOP (tens of minutes on 2 cores, about a minute on a GPU); pass ``hidden`` for more.
_AUTO_HIDDEN = ((50_000, (256, 256)), (math.inf, (512, 512)))
_SCHEDULES = ("cosine", "linear")


class TabDDPM(Synthesizer):
    """TabDDPM synthesizer, natively class-conditional.

    Args:
        num_timesteps: Diffusion steps ``T`` of training (the paper's default 1000).
        sample_steps: Reverse steps when sampling (strided over the ``T`` steps; None = all).
            50 keeps 20k rows within a few seconds on 2 CPU cores.
        spacing: Stride pattern of the sampling timesteps, ``"quadratic"`` (fine steps near
            the data, the default) or ``"linear"``.
        sampler: Continuous-part reverse step, ``"ddpm"`` (ancestral, the default: best
            marginals with few steps) or ``"ddim"``.
        variance_interp: ``"ddpm"`` step variance as a log-space blend of the posterior
            variance (0) and ``beta`` (1); 0.5 keeps narrow and wide features within a few
            percent of their spread at 50 steps.
        eta: ``"ddim"`` noise scale (0: deterministic).
        schedule: Noise schedule, ``"cosine"`` (the paper's) or ``"linear"``.
        clip_x0: Clamp the predicted continuous ``x_0`` to the training range per dim while
            sampling. Keep it on with strided sampling: at high noise the ``x_0`` estimate
            amplifies the network's error ~1e4-fold (on adult, 50 steps without it scored
            0.60 on column shapes instead of 0.98).
        hidden: Hidden widths of the denoiser MLP (None: by table size, see the module doc).
        time_dim: Width of the timestep/class embedding and of the input projection.
        dropout: Dropout in the denoiser.
        activation: Denoiser activation (``relu`` as in the paper, ``silu``, ``gelu``).
        lr: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        ema_decay: Weight EMA decay (None: off); the EMA weights are the ones that sample.
        grad_clip: Gradient norm clip (None: off).
        lr_schedule: ``"cosine"``, ``"linear"`` or ``"constant"``.
        warmup_steps: Linear learning-rate warmup steps.
        val_fraction: Share of rows held out for the validation curve and best-epoch choice.
        class_balance: Class-balanced training batches (needs a target): rows are drawn with
            weight ``count(class) ** -class_balance``, so 0 keeps the data's class mix and 1 gives
            every class an equal share; 0.5 gives a 2% class about 13% of each batch. The pipeline
            uses 0.5 when a rebalanced output is asked for (see docs/rebalancing.md).
        patience: Epochs without validation improvement before stopping (None: train the
            full budget, the default: the diffusion loss keeps improving slowly).
        amp: bf16 autocast on CUDA (the diffusion arithmetic itself stays float32).
        checkpoint_path: Optional per-epoch training checkpoint file.
        p_uncond: Probability of replacing the label with the "no label" slot in training
            (0: no classifier-free guidance possible).
        guidance_scale: Classifier-free guidance weight at sampling (1: plain conditional,
            one network call per step; other values need ``p_uncond > 0``).
        sampling_batch_size: Rows generated per reverse-process run (bounds memory).
        numerical: TableTransformer numerical encoding, ``"quantile"`` (the paper's) or
            ``"mode"``.
        max_categories: TableTransformer category limit per column.
        rare_min_count: TableTransformer rare-category threshold (privacy).
        epochs: Training epochs (None: :meth:`default_epochs`).
        batch_size: Rows per optimizer step (None: :meth:`default_batch_size`).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        seed: Seed of training and (by default) sampling.
    """

    name: ClassVar[str] = "tabddpm"
    description: ClassVar[str] = (
        "TabDDPM: Gaussian + multinomial diffusion, MLP denoiser with class embedding, "
        "strided fast sampling"
    )
    supports_conditions: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "num_timesteps": [Interval(int, 2, None)],
        "sample_steps": [COUNT, None],
        "spacing": [Options(SPACINGS)],
        "sampler": [Options(SAMPLERS)],
        "variance_interp": [UNIT],
        "eta": [UNIT],
        "schedule": [Options(_SCHEDULES)],
        "clip_x0": [bool],
        "hidden": [Widths(), None],
        "time_dim": [Interval(int, 2, None)],
        "dropout": [Interval(float, 0.0, 1.0, closed="left")],
        "activation": [Options(ACTIVATIONS)],
        "p_uncond": [Interval(float, 0.0, 1.0, closed="left")],
        "guidance_scale": [NON_NEGATIVE],
        "sampling_batch_size": [COUNT],
    }

    def __init__(
        self,
        *,
        num_timesteps: int = 1000,
        sample_steps: int | None = 50,
        spacing: str = "quadratic",
        sampler: str = "ddpm",
        variance_interp: float = 0.5,
        eta: float = 0.0,
        schedule: str = "cosine",
        clip_x0: bool = True,
        hidden: Sequence[int] | None = None,
        time_dim: int = 128,
        dropout: float = 0.0,
        activation: str = "relu",
        lr: float = 2e-3,
        weight_decay: float = 1e-5,
        ema_decay: float | None = 0.999,
        grad_clip: float | None = 1.0,
        lr_schedule: str = "cosine",
        warmup_steps: int = 0,
        class_balance: float = 0.0,
        val_fraction: float = 0.05,
        patience: int | None = None,
        amp: bool = True,
        checkpoint_path: str | None = None,
        p_uncond: float = 0.1,
        guidance_scale: float = 1.0,
        sampling_batch_size: int = 16_384,
        numerical: str = "quantile",
        max_categories: int = 1000,
        rare_min_count: int = 5,
        epochs: int | None = None,
        batch_size: int | None = None,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, device=device, seed=seed)
        self.num_timesteps = num_timesteps
        self.sample_steps = sample_steps
        self.spacing = spacing
        self.sampler = sampler
        self.variance_interp = variance_interp
        self.eta = eta
        self.schedule = schedule
        self.clip_x0 = clip_x0
        self.hidden = hidden
        self.time_dim = time_dim
        self.dropout = dropout
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.grad_clip = grad_clip
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.class_balance = class_balance
        self.val_fraction = val_fraction
        self.patience = patience
        self.amp = amp
        self.checkpoint_path = checkpoint_path
        self.p_uncond = p_uncond
        self.guidance_scale = guidance_scale
        self.sampling_batch_size = sampling_batch_size
        self.numerical = numerical
        self.max_categories = max_categories
        self.rare_min_count = rare_min_count

    # ------------------------------------------------------------------ budget

    @classmethod
    def default_batch_size(cls, n_rows: int) -> int:
        """Rows per step: a power of two near ``n_rows / 16``, within [256, 4096].

        The diffusion gradient is noisy (a random timestep per row), so batches are larger
        than for the VAE; TabDDPM itself trains with 4,096.
        """
        target = max(1.0, n_rows / 16)
        return int(min(4096, max(256, 2 ** round(math.log2(target)))))

    @classmethod
    def default_epochs(cls, n_rows: int) -> int:
        """Epochs for about ``1500 * max(1, (n_rows / 16384) ** (1/3))`` optimizer steps.

        That is 1,500 steps of 1,024 rows for a 16k-row table and about 5,900 steps of 4,096
        rows for 1M rows, within [5, 2000] epochs. Measured on adult (32k rows, 2 shared CPU
        cores): 1,000 steps of 1,024 rows already score 0.98 on column shapes and 0.96 on
        pair trends; 2,500 steps of 2,048 rows 0.986 and 0.973.
        """
        n_rows = max(1, int(n_rows))
        steps = 1500.0 * max(1.0, (n_rows / 16384) ** (1.0 / 3.0))
        steps_per_epoch = max(1, math.ceil(n_rows / cls.default_batch_size(n_rows)))
        return int(min(2000, max(5, math.ceil(steps / steps_per_epoch))))

    @staticmethod
    def default_hidden(n_rows: int) -> tuple[int, ...]:
        """Denoiser hidden widths for a table of ``n_rows`` rows."""
        for limit, widths in _AUTO_HIDDEN:
            if n_rows <= limit:
                return widths
        return _AUTO_HIDDEN[-1][1]  # pragma: no cover - the last limit is infinite

    # ------------------------------------------------------------------ fit

    def fit(self, data: pd.DataFrame, metadata: TableMetadata, target: str | None = None,
            progress: ProgressFn | None = None,
            time_budget: float | None = None, rules: Any = None) -> TabDDPM:
        """Learn the table (see :meth:`Synthesizer.fit`).

        The row count is recorded first because the automatic denoiser width depends on it
        and the base class builds the network before handing over the tensor.
        """
        self._fit_rows = len(data) if isinstance(data, pd.DataFrame) else 0
        self.hidden_: tuple[int, ...] | None = None
        super().fit(data, metadata, target=target, progress=progress, time_budget=time_budget,
                    rules=rules)
        return self

    def _build(self, n_features: int) -> None:
        if getattr(self, "hidden_", None) is None:
            self.hidden_ = tuple(int(h) for h in (
                self.hidden if self.hidden is not None
                else self.default_hidden(getattr(self, "_fit_rows", 0))
            ))
        t = self.transformer_
        self.diffusion_ = GaussianMultinomialDiffusion(
            int(t.n_continuous_), list(t.category_sizes_), int(self.num_timesteps),
            schedule=self.schedule, device=self.device_,
        )
        self.net_ = MLPDenoiser(
            n_features, self.hidden_, int(self.time_dim), self.n_classes_,
            dropout=float(self.dropout), activation=self.activation,
        ).to(self.device_)

    def _modules(self) -> dict[str, nn.Module]:
        return {"denoiser": self.net_}

    def _extra_state(self) -> dict[str, Any]:
        return {"hidden": list(self.hidden_), "x0_low": self.x0_low_, "x0_high": self.x0_high_}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.hidden_ = tuple(int(h) for h in state["hidden"])
        self.x0_low_ = [float(v) for v in state["x0_low"]]
        self.x0_high_ = [float(v) for v in state["x0_high"]]

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:
        nc = int(self.transformer_.n_continuous_)
        if nc:
            self.x0_low_ = x[:, :nc].min(dim=0).values.double().tolist()
            self.x0_high_ = x[:, :nc].max(dim=0).values.double().tolist()
        else:
            self.x0_low_, self.x0_high_ = [], []
        diffusion = self.diffusion_
        null_class = self.n_classes_
        p_uncond = float(self.p_uncond) if self.n_classes_ else 0.0
        val_seed = int(self.seed) + 7919

        def loss_fn(model: nn.Module, xb: torch.Tensor, cb: torch.Tensor | None) -> torch.Tensor:
            gen = None
            if model.training:
                if cb is not None and p_uncond > 0:
                    cb = drop_labels(cb, p_uncond, null_class)
            else:
                # Validation draws the same timesteps and noise every epoch (common random
                # numbers): epochs are then compared on their weights, not on the draw, which
                # the random timestep would otherwise dominate.
                gen = torch.Generator(device=xb.device).manual_seed(val_seed)
            return diffusion.loss(model, xb, cb, generator=gen)["loss"]

        self._train(self.net_, loss_fn, x, cond)

    # ------------------------------------------------------------------ sample

    def sample_batch_size(self) -> int:
        """Rows per reverse-process run: large, so each step is a few big matrix multiplies."""
        return int(self.sampling_batch_size)

    def _sample(self, n: int, cond: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:
        guided = cond is not None and float(self.guidance_scale) != 1.0
        if guided and not float(self.p_uncond):
            raise ModelError(
                f"guidance_scale={self.guidance_scale} needs a model trained with p_uncond > 0",
                hint="refit with p_uncond=0.1, or sample with guidance_scale=1",
            )
        x0_range = None
        if self.clip_x0 and self.x0_low_:
            x0_range = (torch.tensor(self.x0_low_, device=self.device_),
                        torch.tensor(self.x0_high_, device=self.device_))
        if generator.device != self.device_:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
            generator = torch.Generator(device=self.device_).manual_seed(seed)
        return self.diffusion_.sample(
            self.net_, n, cond.to(self.device_) if cond is not None else None,
            sample_steps=None if self.sample_steps is None else int(self.sample_steps),
            spacing=self.spacing,
            sampler=self.sampler,
            variance_interp=float(self.variance_interp),
            eta=float(self.eta),
            guidance_scale=float(self.guidance_scale),
            uncond_label=self.n_classes_,
            x0_range=x0_range,
            generator=generator,
        )
