"""CTGAN from the ctgan package, behind the Synthesizer interface.

Training is the ctgan package's own loop (``ctgan.CTGAN.fit``) on a frame built from our
encoded table: one float column per continuous dimension of the TableTransformer (so dates,
integers, missing values and rare-label protection are handled once, by our encoder), one
integer-code column per discrete span, and the target's class index as one more discrete column.

Sampling is done here, not by ``ctgan.CTGAN.sample``, for two reasons found in ctgan 0.12.1:

- its conditional vector for ``condition_column`` is placed with ``_discrete_column_matrix_st``,
  an array that is never filled (always zero), so it conditions on a category of the *first*
  discrete column instead of the requested one (sdv-dev/CTGAN issues #169, #273);
- it samples with the generator in training mode, so batch-norm statistics come from each
  generated batch and the running statistics drift with every call.

We build the native conditional vector at the right offset (``_discrete_column_cond_st``),
run the generator in eval mode with a seeded generator, draw each softmax span exactly as
ctgan's Gumbel-softmax + argmax does, and invert ctgan's mode-specific normalization from
numbers we extracted after training. Those numbers (mixture means and standard deviations of
the valid components, one-hot categories, conditional-vector offsets and frequencies) are saved
as JSON next to the generator's ``state_dict``, so a saved model needs no pickle and the rdt /
scikit-learn objects are not needed to sample.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from ctgan import CTGAN as _PackageCTGAN
from ctgan.synthesizers.ctgan import Generator as _PackageGenerator
from joblib import parallel_config
from torch import nn

from synthpipe.errors import ModelError
from synthpipe.models._nn import DiscreteSpans
from synthpipe.models.base import Synthesizer
from synthpipe.models.params import COUNT, NON_NEGATIVE, POSITIVE, Widths

logger = logging.getLogger(__name__)

_TARGET_COL = "__target__"
# ctgan's ClusterBasedNormalizer scales a value by 4 standard deviations of its mode.
_STD_MULTIPLIER = 4.0


class _TimeUp(Exception):
    """Raised from the epoch report when the time budget is spent (caught by ``_fit``)."""


class _ReportingCTGAN(_PackageCTGAN):
    """ctgan.CTGAN that reports each epoch's losses.

    ctgan has no callback; it assigns ``self.loss_values`` (a growing DataFrame) once per
    epoch, so a property setter sees every epoch without touching its training loop.
    """

    def __init__(self, *args: Any, on_epoch: Any = None, **kwargs: Any) -> None:
        self._on_epoch = on_epoch
        super().__init__(*args, **kwargs)

    @property
    def loss_values(self) -> pd.DataFrame | None:
        return self._loss_values

    @loss_values.setter
    def loss_values(self, value: pd.DataFrame | None) -> None:
        self._loss_values = value
        if value is not None and len(value) and self._on_epoch is not None:
            self._on_epoch(value.iloc[-1])


class _Decoder(nn.Module):
    """Maps ctgan's generator output to our encoded layout (tensor ops only)."""

    def __init__(self, state: dict[str, Any], n_continuous: int, our_sizes: Sequence[int]):
        super().__init__()
        spans = state["spans"]  # ctgan output spans in order: [dim, "tanh" | "softmax"]
        cols = state["columns"]
        offsets = np.cumsum([0] + [d for d, _ in spans])
        softmax_idx = [i for i, (_, act) in enumerate(spans) if act == "softmax"]
        tanh_pos = [int(offsets[i]) for i, (_, act) in enumerate(spans) if act == "tanh"]
        soft_pos = np.concatenate(
            [np.arange(offsets[i], offsets[i] + spans[i][0]) for i in softmax_idx]
        ) if softmax_idx else np.zeros(0, dtype=np.int64)
        self.register_buffer("tanh_pos", torch.tensor(tanh_pos, dtype=torch.long),
                             persistent=False)
        self.register_buffer("soft_pos", torch.tensor(soft_pos, dtype=torch.long),
                             persistent=False)
        self.softmax = DiscreteSpans([spans[i][0] for i in softmax_idx])
        span_rank = {span: rank for rank, span in enumerate(softmax_idx)}

        # Walk the columns: each continuous column owns (tanh span, mode span), each discrete
        # column one softmax span. Record which softmax rank belongs to which column.
        cont_mode_rank, disc_rank, disc_lookup = [], [], []
        max_modes = max([len(c["means"]) for c in cols if c["type"] == "continuous"] or [1])
        means = np.zeros((max(n_continuous, 1), max_modes))
        stds = np.ones((max(n_continuous, 1), max_modes))
        max_cats = max([len(c["categories"]) for c in cols if c["type"] == "discrete"] or [1])
        span_i = 0
        ci = 0
        for c in cols:
            if c["type"] == "continuous":
                cont_mode_rank.append(span_rank[span_i + 1])
                means[ci, : len(c["means"])] = c["means"]
                stds[ci, : len(c["stds"])] = c["stds"]
                ci += 1
                span_i += 2
            else:
                if c["name"] != _TARGET_COL:
                    disc_rank.append(span_rank[span_i])
                    row = np.zeros(max_cats, dtype=np.int64)
                    row[: len(c["categories"])] = c["categories"]
                    disc_lookup.append(row)
                span_i += 1
        self.n_continuous = n_continuous
        self.register_buffer("cont_mode_rank", torch.tensor(cont_mode_rank, dtype=torch.long),
                             persistent=False)
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32), persistent=False)
        self.register_buffer("stds", torch.tensor(stds, dtype=torch.float32), persistent=False)
        self.register_buffer("disc_rank", torch.tensor(disc_rank, dtype=torch.long),
                             persistent=False)
        lookup = np.stack(disc_lookup) if disc_lookup else np.zeros((0, 1), dtype=np.int64)
        self.register_buffer("disc_lookup", torch.tensor(lookup, dtype=torch.long),
                             persistent=False)
        our_offsets = n_continuous + np.concatenate([[0], np.cumsum(our_sizes)[:-1]]) \
            if len(our_sizes) else np.zeros(0, dtype=np.int64)
        self.register_buffer("our_offsets", torch.tensor(our_offsets, dtype=torch.long),
                             persistent=False)
        self.width = n_continuous + int(sum(our_sizes))

    def forward(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n = raw.shape[0]
        out = raw.new_zeros(n, self.width)
        codes = self.softmax.codes(self.softmax.sample(raw[:, self.soft_pos], generator)) \
            if self.softmax.n_spans else None
        if self.n_continuous:
            scalar = torch.tanh(raw[:, self.tanh_pos]).clamp(-1.0, 1.0)
            mode = codes[:, self.cont_mode_rank]
            mean = torch.gather(self.means, 1, mode.T).T
            std = torch.gather(self.stds, 1, mode.T).T
            out[:, : self.n_continuous] = scalar * _STD_MULTIPLIER * std + mean
        if self.disc_rank.numel():
            cat = codes[:, self.disc_rank]  # (n, n_disc) index into each column's dummies
            ours = torch.gather(self.disc_lookup, 1, cat.T).T
            out.scatter_(1, self.our_offsets[None, :] + ours, 1.0)
        return out


class CTGANSynthesizer(Synthesizer):
    """CTGAN (Xu et al., 2019) from the ctgan package, conditioned on the target natively.

    Args:
        embedding_dim: Noise width of the generator.
        generator_dim: Residual layer widths of the generator.
        discriminator_dim: Layer widths of the discriminator.
        generator_lr: Generator learning rate.
        generator_decay: Generator weight decay.
        discriminator_lr: Discriminator learning rate.
        discriminator_decay: Discriminator weight decay.
        discriminator_steps: Discriminator updates per generator update.
        log_frequency: Sample training conditions by log frequency (ctgan default).
        pac: Rows packed per discriminator input; batch sizes are rounded up to a multiple
            of ``2 * pac`` when needed.
        numerical: Numerical encoding of our TableTransformer before ctgan (``quantile`` or
            ``mode``; ctgan adds its own mode-specific normalization on top).
        rare_min_count: Labels seen fewer times are merged (privacy).
        max_categories: Most labels per column kept as their own category.
        epochs: Training epochs (None: scales with rows).
        batch_size: Rows per step (None: scales with rows, at most ctgan's 500).
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: Training seed and default sampling seed.
    """

    name = "ctgan"
    description = "CTGAN from the ctgan package, sampled through its native conditional vector"
    #: Trained by the ctgan package's loop: the default is its fixed budget, cut short by the
    #: time budget (checked after each epoch), never the 5x budget of a converging fit.
    converges = False
    supports_conditions = True
    _parameter_constraints = {
        "embedding_dim": [COUNT],
        "generator_dim": [Widths()],
        "discriminator_dim": [Widths()],
        "generator_lr": [POSITIVE],
        "generator_decay": [NON_NEGATIVE],
        "discriminator_lr": [POSITIVE],
        "discriminator_decay": [NON_NEGATIVE],
        "discriminator_steps": [COUNT],
        "log_frequency": [bool],
        "pac": [COUNT],
    }

    def __init__(self, *, embedding_dim: int = 128, generator_dim: Sequence[int] = (256, 256),
                 discriminator_dim: Sequence[int] = (256, 256), generator_lr: float = 2e-4,
                 generator_decay: float = 1e-6, discriminator_lr: float = 2e-4,
                 discriminator_decay: float = 1e-6, discriminator_steps: int = 1,
                 log_frequency: bool = True, pac: int = 10, numerical: str = "quantile",
                 rare_min_count: int = 5, max_categories: int = 1000,
                 epochs: int | None = None, batch_size: int | None = None,
                 device: str = "auto", seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, device=device, seed=seed)
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.generator_decay = generator_decay
        self.discriminator_lr = discriminator_lr
        self.discriminator_decay = discriminator_decay
        self.discriminator_steps = discriminator_steps
        self.log_frequency = log_frequency
        self.pac = pac
        self.numerical = numerical
        self.rare_min_count = rare_min_count
        self.max_categories = max_categories

    @classmethod
    def default_batch_size(cls, n_rows: int) -> int:
        """ctgan's 500 for tables of 5,000+ rows, ~n/10 (multiple of 20, >= 100) below."""
        return int(min(500, max(100, 20 * round(n_rows / 200))))

    @classmethod
    def default_epochs(cls, n_rows: int) -> int:
        """About 3,000 generator steps (ctgan does ``n // batch`` steps per epoch), 10..300."""
        steps = max(1, n_rows // cls.default_batch_size(n_rows))
        return int(min(300, max(10, math.ceil(3000 / steps))))

    # ------------------------------------------------------------------ training

    def _build(self, n_features: int) -> None:
        state = getattr(self, "_ctgan_state", None)
        if state is None:
            self.generator_ = None
            return
        self.generator_ = _PackageGenerator(
            int(self.embedding_dim) + state["cond_dim"],
            [int(h) for h in self.generator_dim],
            state["data_dim"],
        ).to(self.device_)
        self._make_decoder()

    def _make_decoder(self) -> None:
        t = self.transformer_
        self.decoder_ = _Decoder(self._ctgan_state, t.n_continuous_, t.category_sizes_)
        self.decoder_.to(self.device_)
        state = self._ctgan_state
        self._cond_probs = torch.tensor(state["cond_probs"], dtype=torch.float64)
        self._target_pos = torch.tensor(state["target_cond_pos"], dtype=torch.long)

    def _ctgan_batch_size(self) -> int:
        step = 2 * int(self.pac)
        bs = int(math.ceil(self.batch_size_ / step) * step)
        if bs != self.batch_size_:
            logger.info("ctgan batch size rounded from %d to %d (multiple of 2 * pac)",
                        self.batch_size_, bs)
        return bs

    def _frame(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[pd.DataFrame, list]:
        """Our encoded tensor -> ctgan's input frame and its discrete column names."""
        t = self.transformer_
        nc = t.n_continuous_
        xn = x.numpy()
        cols: dict[str, np.ndarray] = {f"c{i}": xn[:, i].astype(np.float64) for i in range(nc)}
        spans = DiscreteSpans(t.category_sizes_)
        codes = spans.codes(x[:, nc:]).numpy() if spans.n_spans else np.zeros((len(xn), 0))
        discrete = []
        for j in range(codes.shape[1]):
            cols[f"d{j}"] = codes[:, j].astype(np.int64)
            discrete.append(f"d{j}")
        if cond is not None:
            cols[_TARGET_COL] = cond.numpy().astype(np.int64)
            discrete.append(_TARGET_COL)
        return pd.DataFrame(cols), discrete

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:
        frame, discrete = self._frame(x, cond)
        history: list[dict[str, Any]] = []
        progress = getattr(self, "_progress", None)
        epochs = self.epochs_
        budget = getattr(self, "_time_budget", None)
        started = time.perf_counter()

        def on_epoch(row: pd.Series) -> None:
            g = float(row["Generator Loss"])
            d = float(row["Discriminator Loss"])
            history.append({"epoch": len(history) + 1, "train_loss": g, "val_loss": None,
                            "discriminator_loss": d})
            if progress is not None:
                progress("fit", len(history), epochs, {"loss": g, "discriminator_loss": d})
            # ctgan's loop has no stop hook: the time budget ends it after a whole epoch.
            if budget is not None and time.perf_counter() - started >= float(budget) \
                    and len(history) < epochs:
                raise _TimeUp

        model = _ReportingCTGAN(
            embedding_dim=int(self.embedding_dim),
            generator_dim=tuple(int(h) for h in self.generator_dim),
            discriminator_dim=tuple(int(h) for h in self.discriminator_dim),
            generator_lr=float(self.generator_lr),
            generator_decay=float(self.generator_decay),
            discriminator_lr=float(self.discriminator_lr),
            discriminator_decay=float(self.discriminator_decay),
            batch_size=self._ctgan_batch_size(),
            discriminator_steps=int(self.discriminator_steps),
            log_frequency=bool(self.log_frequency),
            verbose=False,
            epochs=int(epochs),
            pac=int(self.pac),
            enable_gpu=self.device_.type == "cuda",
            on_epoch=on_epoch,
        )
        model.set_device(self.device_)
        model.set_random_state(int(self.seed))
        # rdt's per-column transforms would otherwise start a process pool (seconds of start-up
        # on a small machine, for per-row Python loops that do not parallelise anyway).
        stop = "epochs"
        with parallel_config(backend="sequential"):
            try:
                model.fit(frame, discrete_columns=discrete)
            except _TimeUp:
                stop = "time budget"
        self.training_ = {"budget": "fixed", "max_epochs": int(epochs),
                          "epochs_run": len(history), "best_epoch": len(history),
                          "stop_reason": stop, "seconds": round(time.perf_counter() - started, 2),
                          "time_budget": budget, "checks": []}
        self._ctgan_state = self._extract_state(model, list(frame.columns))
        self.generator_ = model._generator
        self.generator_.eval()
        self._make_decoder()
        self.loss_history_ = history

    def _extract_state(self, model: _PackageCTGAN, columns: list[str]) -> dict[str, Any]:
        """The numbers sampling needs from ctgan's fitted transformer and data sampler."""
        tr = model._transformer
        sampler = model._data_sampler
        spans = [[int(s.dim), str(s.activation_fn)] for info in tr.output_info_list for s in info]
        cols = []
        discrete_names = []
        for info in tr._column_transform_info_list:
            if info.column_type == "continuous":
                gm = info.transform
                valid = np.asarray(gm.valid_component_indicator, dtype=bool)
                bgm = gm._bgm_transformer
                cols.append({
                    "name": info.column_name,
                    "type": "continuous",
                    "means": bgm.means_.reshape(-1)[valid].tolist(),
                    "stds": np.sqrt(bgm.covariances_).reshape(-1)[valid].tolist(),
                })
            else:
                cats = [int(v) for v in info.transform.dummies]
                cols.append({"name": info.column_name, "type": "discrete", "categories": cats})
                discrete_names.append(info.column_name)
        cond_dim = int(sampler.dim_cond_vec())
        cond_probs: list[float] = []
        target_pos: list[int] = []
        if cond_dim:
            prob = sampler._discrete_column_category_prob
            n_cat = sampler._discrete_column_n_category
            flat = np.concatenate([prob[i, : n_cat[i]] for i in range(len(n_cat))])
            cond_probs = (flat / flat.sum()).tolist()
            if _TARGET_COL in discrete_names:
                tid = discrete_names.index(_TARGET_COL)
                start = int(sampler._discrete_column_cond_st[tid])
                cats = cols[[c["name"] for c in cols].index(_TARGET_COL)]["categories"]
                # class index k -> position of category k in the target's one-hot block
                target_pos = [start + cats.index(k) for k in range(self.n_classes_)]
        return {
            "spans": spans,
            "columns": cols,
            "data_dim": int(tr.output_dimensions),
            "cond_dim": cond_dim,
            "cond_probs": cond_probs,
            "target_cond_pos": target_pos,
            "frame_columns": columns,
        }

    # ------------------------------------------------------------------ sampling

    def _sample(self, n: int, cond: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:
        state = self._ctgan_state
        dev = self.device_
        z = torch.randn(n, int(self.embedding_dim), generator=generator, device=dev)
        if state["cond_dim"]:
            c = torch.zeros(n, state["cond_dim"], device=dev)
            if cond is not None:
                pos = self._target_pos.to(dev)[cond]
            else:
                # No target: ctgan's "original frequency" conditions, drawn from our generator.
                pos = torch.multinomial(self._cond_probs.to(dev), n, replacement=True,
                                        generator=generator)
            c[torch.arange(n, device=dev), pos] = 1.0
            z = torch.cat([z, c], dim=1)
        raw = self.generator_(z)
        return self.decoder_(raw, generator)

    def _modules(self) -> dict[str, nn.Module]:
        if self.generator_ is None:
            raise ModelError("CTGAN has no generator yet", hint="call fit(...) first")
        return {"generator": self.generator_}

    def _extra_state(self) -> dict[str, Any]:
        return {"ctgan": self._ctgan_state}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        if not state.get("ctgan"):
            raise ModelError("saved CTGAN model lacks its ctgan state in config.json")
        self._ctgan_state = state["ctgan"]
