"""Shared network blocks for the torch models.

- :class:`MLP`: a plain feed-forward stack.
- :class:`DiscreteSpans`: per-span softmax, cross-entropy and sampling over the one-hot part of
  the encoded table, vectorized by grouping spans of equal width (no loop over rows, one small
  loop over distinct widths).
- :class:`ClassEmbedding`: class-label embedding with an optional "no class" slot (classifier-free
  guidance drops labels to it).
- :func:`timestep_embedding`: sinusoidal embedding of a scalar time per row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synthpipe.errors import ModelError

_ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}


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
            layers += [nn.Linear(width, int(h)), _ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the stack."""
        return self.net(x)


class DiscreteSpans(nn.Module):
    """Operations on the concatenated one-hot spans of the encoded table.

    Inputs are ``(batch, sum(category_sizes))`` logits (the discrete block only, i.e.
    ``x[:, n_continuous:]``). Spans of equal width are processed together as a
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
        self.sizes = sorted(set(self.category_sizes))
        for size in self.sizes:
            starts = [o for o, s in zip(offsets, self.category_sizes, strict=False) if s == size]
            idx = torch.tensor(starts, dtype=torch.long)[:, None] + torch.arange(size)[None, :]
            # Not persistent: derived from category_sizes, so never part of a saved state.
            self.register_buffer(f"idx_{size}", idx, persistent=False)
            which = [i for i, s in enumerate(self.category_sizes) if s == size]
            self.register_buffer(f"spans_{size}", torch.tensor(which, dtype=torch.long),
                                 persistent=False)

    def _groups(self) -> list[torch.Tensor]:
        return [getattr(self, f"idx_{s}") for s in self.sizes]

    @property
    def n_spans(self) -> int:
        """Number of discrete spans."""
        return len(self.category_sizes)

    def _map(self, logits: torch.Tensor, fn) -> torch.Tensor:
        out = torch.empty_like(logits)
        for idx in self._groups():
            out[:, idx.reshape(-1)] = fn(logits[:, idx]).reshape(logits.shape[0], -1)
        return out

    def log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-span log-probabilities, same shape as ``logits``."""
        return self._map(logits, lambda v: F.log_softmax(v, dim=-1))

    def softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-span probabilities, same shape as ``logits``."""
        return self._map(logits, lambda v: F.softmax(v, dim=-1))

    def cross_entropy(self, logits: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Sum over spans of the cross-entropy of ``onehot`` under ``logits``; shape (batch,)."""
        if not self.category_sizes:
            return logits.new_zeros(logits.shape[0])
        return -(self.log_softmax(logits) * onehot).sum(dim=1)

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

    def sample(self, logits: torch.Tensor, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """One-hot draws from each span's softmax (Gumbel-max, seeded by ``generator``)."""
        u = torch.rand(logits.shape, generator=generator, device=logits.device,
                       dtype=torch.float32).clamp_(1e-10, 1.0 - 1e-7)
        gumbel = -torch.log(-torch.log(u))
        return self.argmax_onehot(logits.float() / max(temperature, 1e-6) + gumbel)


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
