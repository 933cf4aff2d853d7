"""Gaussian + multinomial diffusion on encoded tables (the mathematics of TabDDPM).

After Kotelnikov et al., "TabDDPM: Modelling Tabular Data with Diffusion Models" (ICML 2023),
which combines Gaussian diffusion (Ho et al., 2020) on the quantile-normalized numerical columns
with multinomial diffusion (Hoogeboom et al., 2021) on the one-hot categorical blocks, and one
denoiser that sees both. The two processes share the noise schedule, the strided timesteps and
the reverse loop, so they live in one module (about 600 lines) with the denoiser they train.

Conventions. The encoded row is ``[x_num | x_cat]``: ``n_continuous`` leading continuous dims,
then one-hot blocks of the sizes in ``category_sizes`` (the transformer's layout guarantees this
order). Timestep index ``t`` in ``[0, T-1]`` denotes the noised state after ``t + 1`` forward
steps; ``abar[t]`` is the cumulative product of ``alpha`` up to and including ``t``. Index ``-1``
means the clean data ``x_0`` (``abar = 1``).

Training (one uniformly drawn ``t`` per row):

- Gaussian: ``q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)``; the network predicts the
  noise ``eps``; loss: the MSE between true and predicted noise, averaged over dims.
- Multinomial, per block of ``K`` categories: ``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t)/K)``.
  The network predicts logits of ``x_0``; ``p(x_s | x_t)`` plugs the predicted ``x_0``
  distribution into the posterior ``q(x_s | x_t, x_0)``. Loss: ``T * KL(q || p)`` per
  categorical column, the one-sample estimate of the bound's sum over ``t`` (as the reference
  implementation weighs it; without the factor ``T`` the categorical part is all but ignored).
  At ``t = 0`` the KL is the decoder NLL ``-log p(x_0 | x_1)``, so one formula serves every
  ``t``. The prior term ``KL(q(x_T | x_0) || uniform)`` has no gradient and is left out.
- Both sides of the KL are computed in probability space, with ``expm1`` for ``1 - a`` and the
  predicted ``x_0`` probabilities floored at 1e-30 (:meth:`GaussianMultinomialDiffusion.
  categorical_kl`). The log-space posterior (``logaddexp``, ``log1mexp``:
  :meth:`~GaussianMultinomialDiffusion.q_posterior_cat`) is no longer on the training path;
  it stays as the independent form the tests check the probability-space ones against.

Sampling with fewer steps (``sample_steps < T``). Both processes compose in closed form, so a
strided sequence ``T-1 = t_S > ... > t_1 = 0`` (see :meth:`GaussianMultinomialDiffusion.timesteps`
for linear or quadratic spacing) is an exact coarser chain of the same forward process:

- Multinomial: the transition from ``s`` to ``t`` is ``Cat(a x_s + (1 - a)/K)`` with
  ``a = abar_t / abar_s``, so the posterior ``q(x_s | x_t, x_0)`` of the coarse chain uses that
  ratio in place of the one-step ``alpha``. With ``s = t - 1`` it is the training posterior, so
  the skip rule is consistent with training; with an exact denoiser the strided chain
  reproduces the categorical marginals exactly (tested).
- Gaussian: ``"ddpm"`` ancestral steps on the coarse chain (mean of ``q(x_s | x_t, x0_hat)``,
  variance a log-space blend of its variance and ``1 - abar_t / abar_s``), or ``"ddim"``
  (Song et al., 2021) with noise scale ``eta``. The predicted ``x_0`` is clamped to the training
  range: at high noise, ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` multiplies the
  network's error by ``1 / sqrt(abar_t)`` (about 2e4 at ``t = T-1``), and a long stride carries
  it into the next state.

Everything is vectorized across rows and blocks (scatter/BLAS segment reductions): there is no
Python loop over rows or over categorical columns, only over sampling steps.
"""


from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from synthpipe.errors import ModelError
from synthpipe.models._nn import MLP, ClassEmbedding, DiscreteSpans, timestep_embedding

logger = logging.getLogger(__name__)

# Keeps the cosine schedule away from a singular last step (as in Nichol & Dhariwal, 2021).
_MAX_BETA = 0.999
# Log-probabilities are floored at log(1e-30), the clamp of the one-hot inputs.
_LOG_FLOOR = math.log(1e-30)
SPACINGS = ("linear", "quadratic")
SAMPLERS = ("ddpm", "ddim")


def cosine_betas(num_timesteps: int, s: float = 0.008) -> torch.Tensor:
    """Cosine noise schedule of Nichol & Dhariwal (2021).

    Args:
        num_timesteps: Number of diffusion steps ``T``.
        s: Small offset that keeps ``beta`` from vanishing near ``t = 0``.

    Returns:
        Float64 tensor of ``T`` betas in ``(0, 0.999]``.
    """
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1 - f[1:] / f[:-1]
    return betas.clamp(max=_MAX_BETA)


def linear_betas(num_timesteps: int) -> torch.Tensor:
    """Linear schedule of Ho et al. (2020), rescaled so any ``T`` spans the same noise range.

    Args:
        num_timesteps: Number of diffusion steps ``T``.

    Returns:
        Float64 tensor of ``T`` betas.
    """
    scale = 1000 / num_timesteps
    return torch.linspace(scale * 1e-4, min(scale * 0.02, _MAX_BETA), num_timesteps,
                          dtype=torch.float64)


def log1mexp(a: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(a))`` for ``a <= 0``, stable at both ends (Maechler, 2012)."""
    a = a.clamp(max=-1e-12)
    return torch.where(a > -math.log(2), torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


class MLPDenoiser(nn.Module):
    """The TabDDPM denoiser: an MLP over ``[x_num | x_cat]`` with timestep and class embeddings.

    As in the paper: the input is projected to ``time_dim`` and added to the embedding of the
    timestep (sinusoidal, then a small MLP) and of the class label; an MLP maps the sum to an
    output as wide as the input: predicted noise for the continuous dims, ``x_0`` logits for
    the categorical ones. Class index ``n_classes`` is the "no label" slot used for
    classifier-free guidance (label dropout during training).

    Args:
        d_in: Encoded row width.
        hidden: Widths of the hidden layers.
        time_dim: Width of the timestep/class embedding and of the input projection.
        n_classes: Number of target classes (0: unconditional).
        dropout: Dropout after each hidden activation.
        activation: ``relu`` (the paper's), ``silu``, ``gelu`` or ``leaky_relu``.
    """

    def __init__(
        self,
        d_in: int,
        hidden: Sequence[int] = (256, 256),
        time_dim: int = 128,
        n_classes: int = 0,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if d_in < 1 or not hidden or min(hidden) < 1 or time_dim < 2:
            raise ModelError(
                f"Invalid denoiser shape: d_in={d_in}, hidden={list(hidden)}, "
                f"time_dim={time_dim}.",
                hint="Use at least one positive hidden width and time_dim >= 2.",
            )
        self.d_in = d_in
        self.time_dim = time_dim
        self.n_classes = n_classes
        self.time_mlp = nn.Sequential(
            nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim)
        )
        self.label_emb = ClassEmbedding(n_classes, time_dim)
        self.in_proj = nn.Linear(d_in, time_dim)
        try:
            self.mlp = MLP(time_dim, [int(h) for h in hidden], d_in, activation=activation,
                           dropout=dropout)
        except ValueError as exc:
            raise ModelError(str(exc), hint="use relu, silu, gelu or leaky_relu") from exc

    def time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        """``time_mlp`` of the sinusoidal embedding of the integer timesteps ``t``, one row per
        entry of ``t``.

        Training draws ``t`` per row from ``T`` values, so a batch of 2,048 holds only about
        870 distinct ones (``T = 1000``): the small MLP runs on those and its rows are gathered
        back. Same values per row, and a faster training step (docs/cpu-efficiency.md), as this
        128-wide MLP is among the least efficient matrix products of the step.
        """
        if t.numel() <= 1:
            return self.time_mlp(timestep_embedding(t, self.time_dim))
        distinct, inverse = torch.unique(t, return_inverse=True)
        table = self.time_mlp(timestep_embedding(distinct, self.time_dim))
        return table.index_select(0, inverse.reshape(-1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Predict noise / ``x_0`` logits.

        Args:
            x: ``(n, d_in)`` noised encoded rows.
            t: ``(n,)`` timestep indices, or ``(1,)`` for one timestep shared by all rows.
            y: ``(n,)`` class indices in ``[0, n_classes]`` (``n_classes`` = no label), or None.

        Returns:
            ``(n, d_in)`` tensor.
        """
        emb = self.time_embedding(t)
        if self.n_classes:
            emb = emb + self.label_emb(y, x.shape[0], x.device)
        return self.mlp(self.in_proj(x) + emb)


class _PredictedKLTerms(torch.autograd.Function):
    """``sum over blocks of log Z - sum q log prior`` with its gradient in closed form.

    With ``prior = a max(p, 1e-30) + (1 - a)/K`` and ``p`` the block softmax of the logits,
    the derivative in ``p`` is ``g = a (like / Z - q / prior)`` (zero where the floor holds)
    and the block softmax turns it into ``p (g - sum over the block of p g)``: five elementwise
    passes and one block sum, where autograd replays the forward's two dozen ops backwards
    (a faster TabDDPM training step: docs/cpu-efficiency.md). The tests compare values and
    gradients with the log-space KL.
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, q: torch.Tensor, like: torch.Tensor,
                log_a_s: torch.Tensor, diffusion: GaussianMultinomialDiffusion
                ) -> torch.Tensor:
        value, p, prior, z = diffusion._predicted_kl_terms(logits, q, like, log_a_s)
        ctx.diffusion = diffusion
        ctx.save_for_backward(p, prior, z, q, like, log_a_s)
        return value

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        p, prior, z, q, like, log_a_s = ctx.saved_tensors
        spans = ctx.diffusion.spans
        g = (like / spans.expand(z) - q / prior) * torch.exp(log_a_s)
        g = g.masked_fill_(p < math.exp(_LOG_FLOOR), 0.0)
        dot = spans.expand(spans.segment_sum(p * g))
        return (g.sub_(dot).mul_(p).mul_(grad[:, None]), None, None, None, None)


class GaussianMultinomialDiffusion:
    """Forward process, training loss and (respaced) sampler for mixed-type rows.

    The object holds no learnable weights; the denoiser is passed to :meth:`loss` and
    :meth:`sample`. All schedule tensors live on ``device``.

    Args:
        n_continuous: Number of leading continuous (Gaussian) dims.
        category_sizes: Sizes of the one-hot blocks that follow, in order.
        num_timesteps: Diffusion steps ``T`` used in training.
        schedule: ``"cosine"`` (TabDDPM's default) or ``"linear"``.
        device: Where the schedule tensors (and all computation) live.
    """

    def __init__(
        self,
        n_continuous: int,
        category_sizes: Sequence[int],
        num_timesteps: int = 1000,
        schedule: str = "cosine",
        device: torch.device | str = "cpu",
    ) -> None:
        sizes = [int(k) for k in category_sizes]
        if n_continuous < 0 or any(k < 1 for k in sizes) or n_continuous + len(sizes) == 0:
            raise ModelError(
                f"Nothing to diffuse: n_continuous={n_continuous}, category_sizes={sizes}.",
                hint="The encoded table needs at least one column; check the transformer layout.",
            )
        if num_timesteps < 2:
            raise ModelError(
                f"num_timesteps must be at least 2, got {num_timesteps}.",
                hint="Use 1000 (the TabDDPM default) or a few hundred for quick runs.",
            )
        if schedule == "cosine":
            betas = cosine_betas(num_timesteps)
        elif schedule == "linear":
            betas = linear_betas(num_timesteps)
        else:
            raise ModelError(f"Unknown noise schedule {schedule!r}.",
                             hint="Use 'cosine' or 'linear'.")
        self.device = torch.device(device)
        self.n_continuous = int(n_continuous)
        self.category_sizes = sizes
        self.n_blocks = len(sizes)
        self.n_categorical = sum(sizes)
        self.num_timesteps = int(num_timesteps)
        dev = self.device
        # Schedules are computed in float64 and stored in float32: the cumulative product of
        # 1000 alphas loses precision in float32 near t = T.
        alphas = 1.0 - betas
        log_abar = torch.cumsum(torch.log(alphas), dim=0)
        self.abar = torch.exp(log_abar).float().to(dev)
        self.log_abar = log_abar.float().to(dev)
        # Float64 copy on the CPU for the per-step scalars of the sampler (no device syncs).
        self._log_abar64 = log_abar
        # Per-block reductions (max, sum, logsumexp, softmax) are the DiscreteSpans ones; per
        # categorical dim: 1/K and log K of its block.
        self.spans = DiscreteSpans(sizes).to(dev)
        self.offsets = self.spans.offsets
        self.block_size = torch.tensor(sizes, dtype=torch.float32, device=dev)
        self.log_k = torch.log(self.block_size)[self.spans.span_id]
        self.inv_k = (1.0 / self.block_size)[self.spans.span_id]

    # ----------------------------------------------------------------- block-wise helpers
    def _expand(self, v: torch.Tensor) -> torch.Tensor:
        """Per-block values ``(n, n_blocks)`` -> per-dim values ``(n, n_categorical)``."""
        return self.spans.expand(v)

    def block_log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Normalize logits within each one-hot block (log-probabilities)."""
        return self.spans.log_softmax(logits)

    def block_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-block probabilities of ``logits``."""
        return self.spans.softmax(logits)

    def uniform_onehot(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` rows of one uniformly drawn category per block (the multinomial prior)."""
        u = torch.rand((n, self.n_blocks), device=self.device, generator=generator)
        k = torch.minimum(u * self.block_size, self.block_size - 1).long()
        pos = self.offsets + k
        out = torch.zeros((n, self.n_categorical), device=self.device)
        return out.scatter_(1, pos, 1.0)

    @staticmethod
    def to_log_onehot(x_cat: torch.Tensor) -> torch.Tensor:
        """One-hot (or probability) blocks -> clamped log-probabilities."""
        return torch.log(x_cat.float().clamp(min=math.exp(_LOG_FLOOR)))

    def _log_abar(self, t: torch.Tensor) -> torch.Tensor:
        # Index -1 is the clean data: abar = 1, log abar = 0.
        return torch.where(t >= 0, self.log_abar[t.clamp(min=0)],
                           torch.zeros((), dtype=self.log_abar.dtype, device=t.device))

    def _log_mix(self, log_x: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
        """``log(a * x + (1 - a) / K)`` per dim, with ``log_a`` of shape ``(n,)``."""
        log_a = log_a[:, None]
        return torch.logaddexp(log_x + log_a, log1mexp(log_a) - self.log_k)

    # ----------------------------------------------------------------- forward process
    def q_sample_gauss(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
                       ) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)`` for the continuous part."""
        abar = self.abar[t][:, None]
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def q_probs_cat(self, log_x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of ``q(x_t | x_0)`` for the categorical part (t may be -1)."""
        return self._log_mix(log_x0, self._log_abar(t))

    def q_sample_cat(self, x0: torch.Tensor, t: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)`` for one-hot ``x0`` blocks; returns one-hot ``x_t``.

        ``abar x_0 + (1 - abar) / K`` is the law of "keep ``x_0`` with probability ``abar``,
        else draw a uniform category", which needs no logarithms and no per-dim draw.
        """
        keep = torch.rand((x0.shape[0], self.n_blocks), device=x0.device,
                          generator=generator) < self.abar[t][:, None]
        fresh = self.uniform_onehot(x0.shape[0], generator)
        return torch.where(self._expand(keep), x0, fresh)

    def q_posterior_cat(self, log_x0: torch.Tensor, log_xt: torch.Tensor, t: torch.Tensor,
                        s: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of ``q(x_s | x_t, x_0)`` for ``-1 <= s < t``.

        ``log_x0`` may be a distribution (the model's prediction) rather than a one-hot: the
        formula is then the model's reverse step ``p(x_s | x_t)``.
        """
        log_prior = torch.where((s >= 0)[:, None], self.q_probs_cat(log_x0, s), log_x0)
        log_like = self._log_mix(log_xt, self._log_abar(t) - self._log_abar(s))
        return self.block_log_softmax(log_prior + log_like)

    def q_posterior_cat_onehot(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
                               s: torch.Tensor) -> torch.Tensor:
        """``q_posterior_cat`` for one-hot ``x0`` and ``x_t``, as probabilities (no gradient).

        With one-hot inputs every factor is a plain affine function, so the training target
        needs no logarithms: ``(a_s x_0 + (1 - a_s)/K) * (a_ts x_t + (1 - a_ts)/K)``,
        normalized per block. Where ``s = -1`` it is ``x_0`` itself.
        """
        return self._onehot_posterior(x0, x_t, *self._log_keep(t, s))[0]

    def _log_keep(self, t: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log a_s`` (from ``x_0`` to step ``s``) and ``log a_ts`` (from ``s`` to ``t``), as
        ``(n, 1)`` columns."""
        log_a_s = self._log_abar(s)[:, None]
        return log_a_s, self._log_abar(t)[:, None] - log_a_s

    def _mix(self, x: torch.Tensor, log_a: torch.Tensor | float) -> torch.Tensor:
        """``a x + (1 - a) / K`` per dim, in probability space; ``a = exp(log_a)`` per row
        (an ``(n, 1)`` column, training) or one float for the whole batch (the sampler, whose
        schedule is float64).

        ``1 - a`` goes through ``expm1``: ``a`` is within 1e-4 of 1 at small t, where
        ``1 - exp()`` cancels.
        """
        if isinstance(log_a, float):
            return x * math.exp(log_a) - self.inv_k * math.expm1(log_a)
        return x * torch.exp(log_a) - self.inv_k * torch.expm1(log_a)

    def _onehot_posterior(self, x0: torch.Tensor, x_t: torch.Tensor, log_a_s: torch.Tensor,
                          log_a_ts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(x_s | x_t, x_0)`` for one-hot inputs, and its likelihood factor
        ``a_ts x_t + (1 - a_ts) / K``."""
        like = self._mix(x_t, log_a_ts)
        w = self._mix(x0, log_a_s) * like
        return w / self._expand(self.spans.segment_sum(w)), like

    def categorical_kl(self, logits: torch.Tensor, x0: torch.Tensor, x_t: torch.Tensor,
                       t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Per-row ``sum over blocks of KL(q(x_s | x_t, x_0) || p(x_s | x_t))`` (training).

        ``p`` plugs the predicted ``x_0`` distribution ``softmax(logits)`` (floored at 1e-30)
        into the posterior; differentiable in ``logits``. With ``prior = a_s p + (1 - a_s)/K``
        and ``like = a_ts x_t + (1 - a_ts)/K``, ``log p = log prior + log like - log Z`` with
        ``Z`` the block sum of ``prior * like``; as the target sums to one in every block,

            KL = sum q (log q - log like) - sum q log prior + sum over blocks of log Z,

        whose first term is data only. That is one softmax and two logarithms where the
        log-space form (:meth:`q_posterior_cat` of the log-softmax, the reference in the
        tests) takes two ``logaddexp`` mixtures and a second log-softmax: about a quarter
        less time for the whole loss pass on CPU, where these elementwise passes over the
        one-hot block rival the denoiser's matrix products.
        """
        log_a_s, log_a_ts = self._log_keep(t, s)
        with torch.no_grad():
            q, like = self._onehot_posterior(x0, x_t, log_a_s, log_a_ts)
            fixed = (q * (torch.log(q.clamp(min=1e-30)) - torch.log(like))).sum(1)
        return fixed + _PredictedKLTerms.apply(logits, q, like, log_a_s, self)

    def _predicted_kl_terms(self, logits: torch.Tensor, q: torch.Tensor, like: torch.Tensor,
                            log_a_s: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The logits' part of :meth:`categorical_kl` per row, ``sum log Z - sum q log
        prior``, and what its gradient needs: ``p``, ``prior`` and the block sums ``Z``."""
        p = self.spans.softmax(logits)
        prior = self._mix(p.clamp(min=math.exp(_LOG_FLOOR)), log_a_s)
        z = self.spans.segment_sum(prior * like)
        value = torch.log(z).sum(1) - (q * torch.log(prior)).sum(1)
        return value, p, prior, z

    def reverse_weights_cat(self, logits: torch.Tensor, x_t: torch.Tensor, t: int, s: int
                            ) -> torch.Tensor:
        """Unnormalized ``p(x_s | x_t)`` of the sampler, in probability space.

        The same distribution as ``exp(q_posterior_cat(log_softmax(logits), log x_t, t, s))``
        without logarithms: ``(a_s p + (1 - a_s)/K) * (a_ts x_t + (1 - a_ts)/K)``, where ``p``
        is the predicted ``x_0`` distribution. Every factor is at least ``(1 - a)/K`` or a
        softmax whose largest entry is at least ``1/K``, so nothing underflows in float32.
        """
        log_a_t = float(self._log_abar64[t])
        log_a_s = float(self._log_abar64[s]) if s >= 0 else 0.0
        return self._mix(self.block_softmax(logits), log_a_s) * self._mix(x_t, log_a_t - log_a_s)

    # ----------------------------------------------------------------- training
    @staticmethod
    def _model_out(model: nn.Module, x_num: torch.Tensor, x_cat: torch.Tensor,
                   t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        # The network may run under bf16 autocast; the diffusion arithmetic must stay float32.
        return model(torch.cat([x_num, x_cat], dim=1), t, y).float()

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """TabDDPM training loss on a batch of encoded rows.

        Args:
            model: The denoiser, called as ``model(x_t, t, y)``.
            x: ``(n, n_continuous + n_categorical)`` encoded rows (one-hot categorical blocks).
            y: ``(n,)`` class indices (may include the "no label" index), or None.
            generator: Random source for ``t``, noise and categorical draws (default: global).

        Returns:
            Dict with scalar ``loss`` (the sum of the two parts, which is what TabDDPM
            optimizes), ``gauss`` (mean noise MSE per continuous dim) and ``multi`` (the
            categorical part of the variational bound per categorical column: ``T`` times the
            KL at the drawn ``t``).
        """
        n, nc = x.shape[0], self.n_continuous
        dev = x.device
        x = x.float()
        t = torch.randint(0, self.num_timesteps, (n,), device=dev, generator=generator)
        x_num, x_cat = x[:, :nc], x[:, nc:]
        noise = torch.randn(x_num.shape, device=dev, generator=generator)
        x_num_t = self.q_sample_gauss(x_num, t, noise)
        x_cat_t = self.q_sample_cat(x_cat, t, generator) if self.n_blocks else x_cat
        out = self._model_out(model, x_num_t, x_cat_t, t, y)
        zero = x.new_zeros(())
        gauss = F.mse_loss(out[:, :nc], noise) if nc else zero
        multi = zero
        if self.n_blocks:
            kl = self.categorical_kl(out[:, nc:], x_cat, x_cat_t, t, t - 1)
            # One uniformly drawn t stands for the sum of the T terms of the bound: scaling by
            # T (1 / p(t)) makes the estimate unbiased and gives the categorical part its true
            # weight next to the per-dim noise MSE (the TabDDPM reference does the same).
            multi = kl.mean() * self.num_timesteps / self.n_blocks
        return {"loss": gauss + multi, "gauss": gauss.detach(), "multi": multi.detach()}

    # ----------------------------------------------------------------- sampling
    def timesteps(self, sample_steps: int | None, spacing: str = "quadratic") -> list[int]:
        """Descending strided timesteps from ``T-1`` to ``0``.

        Args:
            sample_steps: Number of steps (None, or at least ``T``: all ``T`` steps).
            spacing: ``"linear"`` (even strides) or ``"quadratic"`` (``t ~ (i/S)^2``: fine
                steps near ``t = 0``, where the narrow features of the data form, coarse ones
                in the almost pure noise at high ``t``; as in the DDIM paper).

        Returns:
            Distinct timesteps, first ``T-1``, last ``0`` (fewer than ``sample_steps`` only
            when rounding merges neighbours).
        """
        if sample_steps is None or sample_steps >= self.num_timesteps:
            return list(range(self.num_timesteps - 1, -1, -1))
        if sample_steps < 1:
            raise ModelError(f"sample_steps must be at least 1, got {sample_steps}.",
                             hint="Use 50-100 for fast sampling, or None for all steps.")
        if spacing not in SPACINGS:
            raise ModelError(f"Unknown timestep spacing {spacing!r}.",
                             hint=f"Use one of {list(SPACINGS)}.")
        grid = torch.linspace(1.0, 0.0, sample_steps, dtype=torch.float64)
        if spacing == "quadratic":
            grid = grid**2
        return sorted({int(v) for v in (grid * (self.num_timesteps - 1)).round().tolist()},
                      reverse=True)

    @torch.no_grad()
    def sample(
        self,
        model: nn.Module,
        n: int,
        y: torch.Tensor | None = None,
        *,
        sample_steps: int | None = None,
        spacing: str = "quadratic",
        sampler: str = "ddpm",
        variance_interp: float = 0.5,
        eta: float = 0.0,
        guidance_scale: float = 1.0,
        uncond_label: int | None = None,
        x0_range: tuple[torch.Tensor | float, torch.Tensor | float] | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Generate ``n`` encoded rows by running the reverse process.

        Args:
            model: The denoiser.
            n: Number of rows.
            y: ``(n,)`` class indices, or None.
            sample_steps: Number of reverse steps (strided schedule); None = all ``T``.
            spacing: Stride pattern, see :meth:`timesteps`.
            sampler: Continuous-part step, ``"ddpm"`` (ancestral) or ``"ddim"``.
            variance_interp: ``"ddpm"`` only: the step variance is
                ``small^(1 - v) * large^v`` with ``small`` the variance of ``q(x_s | x_t, x_0)``
                and ``large = 1 - abar_t / abar_s``. With an exact noise predictor, ``small``
                (v = 0) shrinks the spread of wide data and ``large`` (v = 1) inflates narrow
                data when steps are few; 0.5 keeps both within a few percent at 50 steps.
            eta: ``"ddim"`` only: noise scale (0 = deterministic, 1 = DDPM with ``small``).
            guidance_scale: Classifier-free guidance weight ``w``; the prediction is
                ``uncond + w * (cond - uncond)``; 1 = plain conditional (one network call).
            uncond_label: Class index meaning "no label" (needed when ``guidance_scale != 1``).
            x0_range: ``(low, high)`` bounds (scalars or per-dim tensors) the predicted
                continuous ``x_0`` is clamped to. At high noise ``x_0 = (x_t - sqrt(1 - abar)
                eps) / sqrt(abar)`` amplifies the network's error by ``1 / sqrt(abar)``; a large
                stride carries that error into the next state, so clamping to the training range
                is what keeps few-step sampling on the data's support.
            generator: Random source on ``self.device`` (default: global).

        Returns:
            ``(n, n_continuous + n_categorical)`` float32 tensor: continuous values, then
            one-hot categorical blocks.
        """
        dev, nc = self.device, self.n_continuous
        guided = y is not None and guidance_scale != 1.0
        if guided and uncond_label is None:
            raise ModelError("Classifier-free guidance needs the 'no label' class index.",
                             hint="Pass uncond_label, or use guidance_scale=1.")
        if x0_range is not None:
            x0_range = tuple(torch.as_tensor(b, dtype=torch.float32, device=dev)
                             for b in x0_range)
        x_num = torch.randn((n, nc), device=dev, generator=generator)
        x_cat = (self.uniform_onehot(n, generator) if self.n_blocks
                 else torch.zeros((n, 0), device=dev))
        if guided:
            y_in = torch.cat([y, torch.full_like(y, uncond_label)])
        if sampler not in SAMPLERS:
            raise ModelError(f"Unknown sampler {sampler!r}.", hint=f"Use one of {list(SAMPLERS)}.")
        seq = self.timesteps(sample_steps, spacing)
        logger.debug("sampling %d rows in %d reverse steps (%s, %s spacing)", n, len(seq),
                     sampler, spacing)
        for i, t_val in enumerate(seq):
            s_val = seq[i + 1] if i + 1 < len(seq) else -1
            # One timestep for the whole batch: the network embeds it once and broadcasts.
            t = torch.full((1,), t_val, dtype=torch.long, device=dev)
            if guided:
                out2 = self._model_out(model, x_num.repeat(2, 1), x_cat.repeat(2, 1), t, y_in)
                cond, unc = out2[:n], out2[n:]
                out = unc + guidance_scale * (cond - unc)
            else:
                out = self._model_out(model, x_num, x_cat, t, y)
            if nc:
                x_num = self._gauss_step(x_num, out[:, :nc], t_val, s_val, sampler=sampler,
                                         eta=eta, variance_interp=variance_interp,
                                         x0_range=x0_range, generator=generator)
            if self.n_blocks:
                w = self.reverse_weights_cat(out[:, nc:], x_cat, t_val, s_val)
                x_cat = self.spans.sample_weights(w, generator)
        return torch.cat([x_num, x_cat], dim=1)

    def _gauss_step(self, x_t: torch.Tensor, eps: torch.Tensor, t: int, s: int, *,
                    sampler: str, eta: float, variance_interp: float,
                    x0_range: tuple[torch.Tensor, torch.Tensor] | None,
                    generator: torch.Generator | None) -> torch.Tensor:
        """One reverse step of the continuous part from timestep ``t`` to ``s`` (-1: x_0)."""
        abar_t = math.exp(float(self._log_abar64[t]))
        x0 = (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
        if x0_range is not None:
            x0 = torch.maximum(torch.minimum(x0, x0_range[1]), x0_range[0])
            # Re-derive the noise from the clamped x0 so the step stays on the data's support.
            eps = (x_t - math.sqrt(abar_t) * x0) / math.sqrt(1 - abar_t)
        if s < 0:
            return x0
        abar_s = math.exp(float(self._log_abar64[s]))
        large = 1 - abar_t / abar_s
        small = (1 - abar_s) / (1 - abar_t) * large
        if sampler == "ddpm":
            # Mean of q(x_s | x_t, x0_hat), written through eps; only the variance varies.
            mean_var, var = small, small ** (1 - variance_interp) * large**variance_interp
        else:
            mean_var = var = eta**2 * small
        mean = math.sqrt(abar_s) * x0 + math.sqrt(max(1 - abar_s - mean_var, 0.0)) * eps
        if var <= 0:
            return mean
        z = torch.randn(x_t.shape, device=x_t.device, generator=generator)
        return mean + math.sqrt(var) * z
