"""Conditional TVAE on the shared TableTransformer.

Encoder q(z | x, y), decoder p(x | z, y) and a learned prior p(z | y), where y is the one-hot class
label (when the model is fitted with a target), so a class is sampled directly instead of by
rejection: z is drawn from that class's prior and decoded with the label. The decoder gives, per
continuous dimension, a Gaussian mean with a learned standard deviation, and per discrete span a
softmax. The loss is ``loss_factor * reconstruction + KL(q || p(z | y))`` (as in the TVAE of Xu
et al., 2019, and the ctgan package's implementation it is benchmarked against, except that
their prior is a fixed N(0, I)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from synthpipe.models._nn import MLP, DiscreteSpans
from synthpipe.models.base import Synthesizer
from synthpipe.models.params import COUNT, POSITIVE, Options, Widths

_LOG_2PI = math.log(2 * math.pi)


class _TVAENet(nn.Module):
    """Encoder, decoder and per-dimension log sigma of the continuous outputs."""

    def __init__(self, n_continuous: int, category_sizes: Sequence[int], n_classes: int,
                 latent_dim: int, encoder_dims: Sequence[int], decoder_dims: Sequence[int],
                 min_sigma: float, max_sigma: float) -> None:
        super().__init__()
        self.n_continuous = n_continuous
        self.n_classes = n_classes
        self.latent_dim = latent_dim
        self.min_sigma, self.max_sigma = min_sigma, max_sigma
        d = n_continuous + sum(category_sizes)
        self.encoder = MLP(d + n_classes, encoder_dims, 2 * latent_dim)
        self.decoder = MLP(latent_dim + n_classes, decoder_dims, d)
        self.log_sigma = nn.Parameter(torch.full((n_continuous,), math.log(0.1)))
        self.spans = DiscreteSpans(category_sizes)
        if n_classes:
            # A learned Gaussian prior per class, p(z | y). With a fixed N(0, I) prior the
            # encoder, which also sees x, stores much of the class in z and the decoder learns
            # to partly ignore y; sampling z from the class's own prior keeps the class's
            # features even then.
            self.prior_mu = nn.Embedding(n_classes, latent_dim)
            self.prior_logvar = nn.Embedding(n_classes, latent_dim)
            nn.init.zeros_(self.prior_mu.weight)
            nn.init.zeros_(self.prior_logvar.weight)

    def _with_label(self, h: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        if not self.n_classes:
            return h
        return torch.cat([h, F.one_hot(cond, self.n_classes).to(h.dtype)], dim=1)

    def sigma(self) -> torch.Tensor:
        """Decoder standard deviations of the continuous dimensions."""
        return self.log_sigma.exp().clamp(self.min_sigma, self.max_sigma)

    def prior(self, cond: torch.Tensor | None, n: int,
              device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log variance of p(z | y) (N(0, I) without classes)."""
        if not self.n_classes:
            zeros = torch.zeros(n, self.latent_dim, device=device)
            return zeros, zeros
        return self.prior_mu(cond), self.prior_logvar(cond).clamp(-8.0, 4.0)

    def encode(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Posterior mean and log variance."""
        mu, logvar = self.encoder(self._with_label(x, cond)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Continuous means and discrete logits, in layout order."""
        return self.decoder(self._with_label(z, cond))

    def loss_terms(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Per-row reconstruction negative log-likelihood and KL divergence."""
        mu, logvar = self.encode(x, cond)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        out = self.decode(z, cond)
        nc = self.n_continuous
        sigma = self.sigma()
        rec = (
            0.5 * (((x[:, :nc] - out[:, :nc]) / sigma) ** 2).sum(1)
            + torch.log(sigma).sum()
            + 0.5 * nc * _LOG_2PI
        )
        rec = rec + self.spans.cross_entropy(out[:, nc:], x[:, nc:])
        p_mu, p_logvar = self.prior(cond, x.shape[0], x.device)
        # KL(N(mu, var) || N(p_mu, p_var)), per row.
        kl = 0.5 * (
            p_logvar - logvar + (logvar.exp() + (mu - p_mu).pow(2)) / p_logvar.exp() - 1.0
        ).sum(1)
        return rec, kl


class TVAE(Synthesizer):
    """Conditional tabular VAE.

    Args:
        latent_dim: Width of z.
        encoder_dims: Hidden widths of the encoder. 256, not the ctgan package's 128: on CPU
            a 128-wide step's cost is mostly per-op overhead and random draws, so the wider
            layers add little time and give more faithful data (docs/cpu-efficiency.md).
        decoder_dims: Hidden widths of the decoder.
        loss_factor: Weight of the reconstruction term against the KL term.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        ema_decay: Weight EMA decay (None: off).
        val_fraction: Rows held out for early stopping.
        class_balance: Class-balanced training batches (needs a target): rows are drawn with
            weight ``count(class) ** -class_balance``, so 0 keeps the data's class mix and 1 gives
            every class an equal share; 0.5 gives a 2% class about 13% of each batch. The pipeline
            uses 0.5 when a rebalanced output is asked for (see docs/rebalancing.md).
        patience: Early-stopping patience in epochs (None: never stop early).
        min_sigma: Floor of the learned decoder standard deviation.
        max_sigma: Ceiling of the learned decoder standard deviation.
        sample_noise: Add decoder noise (sigma) to continuous outputs when sampling.
        discrete_sampling: ``"sample"`` (draw from each span's softmax) or ``"argmax"``.
        numerical: Numerical encoding of the TableTransformer (``quantile`` or ``mode``).
        rare_min_count: Labels seen fewer times are merged (privacy).
        max_categories: Most labels per column kept as their own category.
        epochs: Training epochs (None: scales with rows, see :meth:`default_epochs`).
        batch_size: Rows per step (None: scales with rows).
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: Training seed and default sampling seed.
    """

    name = "tvae"
    description = "Conditional tabular VAE (our encoder, class label fed to encoder and decoder)"
    supports_conditions = True
    _parameter_constraints = {
        "latent_dim": [COUNT],
        "encoder_dims": [Widths()],
        "decoder_dims": [Widths()],
        "loss_factor": [POSITIVE],
        "min_sigma": [POSITIVE],
        "max_sigma": [POSITIVE],
        "sample_noise": [bool],
        "discrete_sampling": [Options(("sample", "argmax"))],
    }

    def __init__(self, *, latent_dim: int = 64, encoder_dims: Sequence[int] = (256, 256),
                 decoder_dims: Sequence[int] = (256, 256), loss_factor: float = 2.0,
                 lr: float = 1e-3, weight_decay: float = 1e-5, ema_decay: float | None = 0.995,
                 class_balance: float = 0.0,
                 val_fraction: float = 0.1, patience: int | None = 30, min_sigma: float = 0.01,
                 max_sigma: float = 1.0, sample_noise: bool = True,
                 discrete_sampling: str = "sample", numerical: str = "quantile",
                 rare_min_count: int = 5, max_categories: int = 1000,
                 epochs: int | None = None, batch_size: int | None = None,
                 device: str = "auto", seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, device=device, seed=seed)
        self.latent_dim = latent_dim
        self.encoder_dims = encoder_dims
        self.decoder_dims = decoder_dims
        self.loss_factor = loss_factor
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.class_balance = class_balance
        self.val_fraction = val_fraction
        self.patience = patience
        self.min_sigma = min_sigma
        self.max_sigma = max_sigma
        self.sample_noise = sample_noise
        self.discrete_sampling = discrete_sampling
        self.numerical = numerical
        self.rare_min_count = rare_min_count
        self.max_categories = max_categories

    @classmethod
    def default_epochs(cls, n_rows: int) -> int:
        """About 2,000 optimizer steps, within [10, 300] epochs.

        With the default batch sizes (``n / 32`` rounded to a power of two, 64..4096) that is
        125 epochs at 1k rows, 63 epochs of 512 rows at 16k rows and 10 epochs (the floor) of
        4,096 rows at 1M rows (minutes, not hours, on a CPU).
        """
        steps_per_epoch = max(1, math.ceil(n_rows / cls.default_batch_size(n_rows)))
        return int(min(300, max(10, math.ceil(2000 / steps_per_epoch))))

    def _build(self, n_features: int) -> None:
        t = self.transformer_
        self.net_ = _TVAENet(
            t.n_continuous_, t.category_sizes_, self.n_classes_, int(self.latent_dim),
            [int(h) for h in self.encoder_dims], [int(h) for h in self.decoder_dims],
            float(self.min_sigma), float(self.max_sigma),
        ).to(self.device_)

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:
        factor = float(self.loss_factor)

        def loss_fn(net: nn.Module, xb: torch.Tensor, cb: torch.Tensor | None) -> torch.Tensor:
            rec, kl = net.loss_terms(xb, cb)
            return (factor * rec + kl).mean()

        self._train(self.net_, loss_fn, x, cond)

    def _sample(self, n: int, cond: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:
        net = self.net_
        p_mu, p_logvar = net.prior(cond, n, self.device_)
        eps = torch.randn(n, net.latent_dim, generator=generator, device=self.device_)
        out = net.decode(p_mu + (0.5 * p_logvar).exp() * eps, cond)
        nc = net.n_continuous
        cont = out[:, :nc]
        if self.sample_noise and nc:
            cont = cont + net.sigma() * torch.randn(
                cont.shape, generator=generator, device=self.device_
            )
        logits = out[:, nc:]
        if self.discrete_sampling == "sample":
            disc = net.spans.sample(logits, generator)
        else:
            disc = net.spans.argmax_onehot(logits)
        return torch.cat([cont, disc], dim=1)

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}

    def _extra_state(self) -> dict[str, Any]:
        return {}
