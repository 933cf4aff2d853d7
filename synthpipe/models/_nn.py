"""Shared network blocks for the torch models.

- :class:`MLP`: a plain feed-forward stack.
- :class:`DiscreteSpans`: per-span softmax, cross-entropy and sampling over the one-hot part of
  the encoded table, vectorized by grouping spans of equal width (no loop over rows, one small
  loop over distinct widths).
- :class:`ClassEmbedding`: class-label embedding with an optional "no class" slot (classifier-free
  guidance drops labels to it).
- :func:`timestep_embedding`: sinusoidal embedding of a scalar time per row.
- :func:`drop_labels`: label dropout for classifier-free guidance (TabDDPM, the flow model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synthpipe.errors import ModelError

_ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}
#: The activation names a model's ``activation`` parameter accepts.
ACTIVATIONS = tuple(_ACTIVATIONS)


def _activation(name: str) -> nn.Module:
    """The activation module; ReLU works in place.

    ReLU's gradient needs only its output, so overwriting the linear layer's output is safe
    under autograd, and it spares a fresh activation-sized buffer per layer, which makes the
    no-grad forward of sampling markedly faster (docs/cpu-efficiency.md); training is
    unchanged. (SiLU and GELU need their input for the gradient, so they stay out of place.)
    """
    return nn.ReLU(inplace=True) if name == "relu" else _ACTIVATIONS[name]()


class MLP(nn.Module):
    """Linear -> activation (-> dropout) blocks, then a linear head.

    Args:
        in_dim: Input width.
        hidden: Widths of the hidden layers.
        out_dim: Output width.
        activation: ``relu``, ``silu``, ``gelu`` or ``leaky_relu``.
        dropout: Dropout after each hidden activation.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int,
                 activation: str = "relu", dropout: float = 0.0) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ModelError(f"unknown activation {activation!r}",
                             hint=f"use one of {', '.join(_ACTIVATIONS)}")
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), _activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the stack."""
        return self.net(x)


def exp_floor(x: torch.Tensor) -> torch.Tensor:
    """``exp(max(x, -80))``: below ``exp(-87)`` float32 goes subnormal, and subnormal results
    make ``exp`` some 30 times slower on x86 CPUs; ``exp(-80)`` is 2e-35, i.e. zero for every
    sum it enters."""
    return torch.exp(x.clamp(min=-80.0))


class DiscreteSpans(nn.Module):
    """Operations on the concatenated one-hot spans of the encoded table.

    Inputs are ``(batch, sum(category_sizes))`` logits (the discrete block only, i.e.
    ``x[:, n_continuous:]``). Normalizing within spans (softmax, log-softmax, cross-entropy) is
    done with dense ops only: a per-span maximum (no gradient), one elementwise ``exp`` over the
    whole block and one product with the ``(width x n_spans)`` membership matrix for the per-span
    sums. That is one BLAS call forward and backward instead of a gather and a scatter per
    group of spans, which dominated a training step on CPU. Sampling draws by inverse CDF on one
    running sum (one uniform per span); argmax groups spans of equal width as a
    ``(batch, n_spans, width)`` view.

    Args:
        category_sizes: Width of each discrete span, in layout order.
    """

    def __init__(self, category_sizes: Sequence[int]) -> None:
        super().__init__()
        self.category_sizes = [int(s) for s in category_sizes]
        self.width = sum(self.category_sizes)
        offsets = [0]
        for s in self.category_sizes:
            offsets.append(offsets[-1] + s)
        sizes_t = torch.tensor(self.category_sizes, dtype=torch.long)
        span_id = torch.repeat_interleave(torch.arange(self.n_spans), sizes_t)
        # Buffers are not persistent: derived from category_sizes, so never part of a saved
        # state.
        self.register_buffer("span_id", span_id, persistent=False)
        self.register_buffer("offsets", torch.tensor(offsets[:-1], dtype=torch.long),
                             persistent=False)
        self.register_buffer("ends", torch.tensor(offsets[1:], dtype=torch.long) - 1,
                             persistent=False)
        self.register_buffer("membership",
                             (span_id[:, None] == torch.arange(self.n_spans)).float(),
                             persistent=False)
        self.sizes = sorted(set(self.category_sizes))
        for size in self.sizes:
            starts = [o for o, s in zip(offsets, self.category_sizes, strict=False) if s == size]
            idx = torch.tensor(starts, dtype=torch.long)[:, None] + torch.arange(size)[None, :]
            self.register_buffer(f"idx_{size}", idx, persistent=False)
            which = [i for i, s in enumerate(self.category_sizes) if s == size]
            self.register_buffer(f"spans_{size}", torch.tensor(which, dtype=torch.long),
                                 persistent=False)

    @property
    def n_spans(self) -> int:
        """Number of discrete spans."""
        return len(self.category_sizes)

    # ------------------------------------------------------------ per-span reductions
    def expand(self, v: torch.Tensor) -> torch.Tensor:
        """Per-span values ``(batch, n_spans)`` -> per-column values ``(batch, width)``."""
        return v.index_select(1, self.span_id)

    def segment_max(self, x: torch.Tensor) -> torch.Tensor:
        """Per-span maximum of ``(batch, width)`` values -> ``(batch, n_spans)``."""
        init = torch.full((x.shape[0], self.n_spans), -torch.inf, dtype=x.dtype,
                          device=x.device)
        return init.scatter_reduce(1, self.span_id.expand(x.shape[0], -1), x, reduce="amax",
                                   include_self=True)

    def segment_sum(self, x: torch.Tensor) -> torch.Tensor:
        """Per-span sum of ``(batch, width)`` values -> ``(batch, n_spans)``, in float32.

        A product with the membership matrix; normalizers must not be summed in bf16, so
        autocast is switched off around it.
        """
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                return x.float() @ self.membership
        return x @ self.membership

    def logsumexp(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-span ``logsumexp`` -> ``(batch, n_spans)``."""
        # Subtracting the (detached) span max keeps exp() in range; it changes neither the
        # value nor the gradient of logsumexp.
        m = self.segment_max(logits.detach())
        return m + torch.log(self.segment_sum(exp_floor(logits - self.expand(m))))

    def log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-span log-probabilities, same shape as ``logits``."""
        return logits - self.expand(self.logsumexp(logits))

    def softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-span probabilities, same shape as ``logits``."""
        e = exp_floor(logits - self.expand(self.segment_max(logits.detach())))
        return e / self.expand(self.segment_sum(e))

    def cross_entropy(self, logits: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Sum over spans of the cross-entropy of ``onehot`` under ``logits``; shape (batch,).

        ``onehot`` has exactly one 1 per span, so the sum is ``sum(logsumexp) - <logits,
        onehot>``: no per-column log-softmax is formed.
        """
        if not self.category_sizes:
            return logits.new_zeros(logits.shape[0])
        return _SpanCrossEntropy.apply(logits, onehot, self)

    # ------------------------------------------------------------ picking categories
    def _map(self, logits: torch.Tensor, fn) -> torch.Tensor:
        out = torch.empty_like(logits)
        for size in self.sizes:
            idx = getattr(self, f"idx_{size}")
            out[:, idx.reshape(-1)] = fn(logits[:, idx]).reshape(logits.shape[0], -1)
        return out

    def argmax_onehot(self, logits: torch.Tensor) -> torch.Tensor:
        """One-hot of each span's most likely category."""
        return self._map(
            logits, lambda v: F.one_hot(v.argmax(-1), v.shape[-1]).to(logits.dtype)
        )

    def codes(self, logits: torch.Tensor) -> torch.Tensor:
        """Index of each span's largest entry: ``(batch, n_spans)`` long, spans in order."""
        out = torch.empty(logits.shape[0], self.n_spans, dtype=torch.long, device=logits.device)
        for size in self.sizes:
            idx = getattr(self, f"idx_{size}")
            which = getattr(self, f"spans_{size}")
            out[:, which] = logits[:, idx].argmax(-1)
        return out

    def sample_weights(self, w: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one category per span with probability proportional to ``w >= 0``.

        Inverse-CDF sampling on one running sum over the whole row: span ``s`` owns the
        interval ``[start_s, end_s)`` of the running sum and each category the sub-interval
        ``[prev_i, cum_i)``; one uniform per span picks the sub-interval it falls in. The
        running sum never decreases along the row, so that category is found by binary search
        (the first column whose running sum exceeds the target): one random number and a few
        comparisons per span, no pass over every category but the running sum itself.

        Each span is first scaled so that its largest weight is 1: on one running sum in
        float32 a span whose weights are all tiny next to the sum before it (a TabDDPM reverse
        step where the predicted category disagrees with the current one, sharpened by
        guidance: span totals of 1e-6 after a sum of 100) would get an empty interval, and the
        search would land past its last column. The drawn column is also held within its
        span.

        Returns:
            The one-hot draw, float32, shape of ``w``.
        """
        n = w.shape[0]
        w = w.float()
        w = w / self.expand(self.segment_max(w).clamp(min=torch.finfo(torch.float32).tiny))
        cum = torch.cumsum(w, dim=1)
        end = cum.index_select(1, self.ends)
        # Spans are contiguous: each starts where the previous one ends.
        start = torch.cat([end.new_zeros((n, 1)), end[:, :-1]], dim=1)
        u = torch.rand((n, self.n_spans), device=w.device, generator=generator)
        # Rounding could land exactly on the end of the span, which belongs to no category.
        target = torch.minimum(start + u * (end - start), torch.nextafter(end, start))
        # A zero-weight category adds nothing to the running sum, so it is never the first
        # column above the target.
        column = torch.searchsorted(cum, target.contiguous(), right=True)
        column = torch.minimum(torch.maximum(column, self.offsets), self.ends)
        out = torch.zeros_like(cum)
        return out.scatter_(1, column, 1.0)

    def sample(self, logits: torch.Tensor, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """One-hot draws from each span's softmax (seeded by ``generator``).

        The unnormalized weights ``exp(logits / temperature - span max)`` go to
        :meth:`sample_weights`: each span's largest weight is 1, so no span's mass is lost to
        rounding in the running sum.
        """
        scaled = logits.float() / max(temperature, 1e-6)
        return self.sample_weights(
            exp_floor(scaled - self.expand(self.segment_max(scaled))), generator
        )


class _SpanCrossEntropy(torch.autograd.Function):
    """:meth:`DiscreteSpans.cross_entropy` with its gradient in closed form: the per-span
    softmax minus the one-hot target, one ``exp`` pass, where autograd would replay the
    logsumexp's max, gather, exp, block sum and log backwards (a slightly faster TVAE training
    step: docs/cpu-efficiency.md)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, onehot: torch.Tensor,
                spans: DiscreteSpans) -> torch.Tensor:
        lse = spans.logsumexp(logits)
        ctx.spans = spans
        ctx.save_for_backward(logits, onehot, lse)
        return lse.sum(1) - (logits * onehot).sum(1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        logits, onehot, lse = ctx.saved_tensors
        p = exp_floor(logits.float() - ctx.spans.expand(lse))
        return (p.sub_(onehot).mul_(grad[:, None]).to(logits.dtype), None, None)


class ClassEmbedding(nn.Module):
    """Embedding of class indices, with slot ``n_classes`` meaning "no class".

    Args:
        n_classes: Number of classes (0: the module returns zeros).
        dim: Embedding width.
    """

    def __init__(self, n_classes: int, dim: int) -> None:
        super().__init__()
        self.n_classes = int(n_classes)
        self.dim = int(dim)
        self.embed = nn.Embedding(self.n_classes + 1, self.dim) if self.n_classes else None

    def forward(self, cond: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
        """``(batch, dim)`` embeddings; ``cond`` None means the "no class" slot."""
        if self.embed is None:
            return torch.zeros(batch, self.dim, device=device)
        if cond is None:
            cond = torch.full((batch,), self.n_classes, dtype=torch.long, device=device)
        return self.embed(cond)


def drop_labels(y: torch.Tensor, p: float, null_class: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Label dropout for classifier-free guidance: each label becomes ``null_class`` with
    probability ``p``, so one network learns the conditional and the unconditional model."""
    drop = torch.rand(y.shape, device=y.device, generator=generator) < p
    return torch.where(drop, torch.full_like(y, null_class), y)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of times ``t`` (shape ``(batch,)``, any scale) -> ``(batch, dim)``."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb
