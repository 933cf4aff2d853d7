"""Autoregressive per-column network: each column predicted from the columns before it.

The table is modelled as ``p(y) p(x_1 | y) p(x_2 | y, x_1) ... p(x_k | y, x_1..x_k-1)``, every
factor a softmax over the column's tokens (in the spirit of autoregressive tabular generators
such as MOSTLY AI's TabularARGN; the network here is a masked autoencoder, Germain et al. 2015,
"MADE"). What that buys over diffusion and VAEs: a sharp dependency between columns is one
conditional table, learned directly. An accident month and a claim month that are equal in 74%
of rows are simply ``p(claim_month | accident_month)``; a category fixed by two others has a
conditional with all its mass on one value. The class label comes first, so sampling a class is
exact and native (rebalancing never rejects rows), and every column's distribution inside the
rare class is learned by the same network from the rare rows and the shared structure.

Tokens, from the shared TableTransformer's encoded rows:

- a discrete span (a category, a boolean, a missing-value indicator) is its category code;
- a continuous span (a number or date, quantile-normalised to about N(0, 1)) is cut into ``bins``
  equal-frequency bins of the training values; a sampled bin is decoded to a uniform draw
  between its edges, so values are smooth inside a bin and no training value is copied out
  (the outer edges are the 0.1% and 99.9% quantiles: no real extreme is reproduced).

What a later column sees of an earlier one: a category's learned embedding, but a number's own
value (its normal score and a few sine features of it, through a per-column linear map), not a
per-bin embedding. Neighbouring values then look alike to the network, so a balance that follows
last month's is learned from the value itself; per-bin embeddings memorised the few training
rows of each bin (training and validation loss parted after a few epochs on a 4,000-row table).

Columns keep their table order, each column's missing indicator before its value.

The network: one learned embedding per token value; a MADE of masked linear layers over the
concatenated embeddings, where the logits of column ``j`` only see columns before ``j``; the
class embedding is added to every hidden layer and to the logits (every column sees the label).
Training minimises the summed cross-entropy of all columns in one pass; sampling runs one pass
per column, each computing only that column's logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthpipe.models.base import Synthesizer
from synthpipe.models.params import COUNT, POSITIVE, Interval, Widths

#: Outer bin edges sit at these quantiles of the training values (no extreme is copied out).
_TAIL = 0.001
#: Frequencies of the sine and cosine features of a number's normal score.
_FREQUENCIES = (0.5, 1.0, 2.0, 4.0)


def _value_features(z: torch.Tensor) -> torch.Tensor:
    """(n, m) normal scores -> (n, m, f) features: the score and its sines and cosines."""
    f = torch.as_tensor(_FREQUENCIES, dtype=z.dtype, device=z.device)
    angles = z[..., None] * f
    return torch.cat([z[..., None], torch.sin(angles), torch.cos(angles)], dim=-1)


class _MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.float(), persistent=False)
        # The default init scales weights for all ``in_features`` inputs; a unit that sees few
        # of them (a low degree) would start with a tiny activation and learn slowly. Rescale
        # each unit's weights to the inputs it actually sees.
        fan_in = self.mask.sum(1, keepdim=True).clamp(min=1.0)
        with torch.no_grad():
            self.weight.mul_((in_features / fan_in).sqrt())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)

    def rows(self, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Outputs ``start:stop`` only (sampling needs one column's logits at a time)."""
        w = self.weight[start:stop] * self.mask[start:stop]
        return F.linear(x, w, self.bias[start:stop])


class _MADE(nn.Module):
    """Token embeddings -> masked MLP -> per-column logits, autoregressive in column order.

    Args:
        sizes: Token count of each column, in model order.
        n_classes: Classes of the label (0: none).
        embedding_dim: Width of each token embedding.
        hidden: Widths of the hidden layers.
    """

    def __init__(self, sizes: Sequence[int], n_classes: int, embedding_dim: int,
                 hidden: Sequence[int], continuous: Sequence[bool] = ()) -> None:
        super().__init__()
        self.sizes = [int(s) for s in sizes]
        k = len(self.sizes)
        self.embedding_dim = embedding_dim
        flags = list(continuous) or [False] * k
        self.register_buffer("is_value", torch.as_tensor(flags, dtype=torch.bool),
                             persistent=False)
        n_values = int(sum(flags))
        # A number enters through its own value: one linear map per continuous column.
        n_feat = 1 + 2 * len(_FREQUENCIES)
        self.value_weight = nn.Parameter(torch.randn(n_values, n_feat, embedding_dim) * 0.1)
        self.value_bias = nn.Parameter(torch.zeros(n_values, embedding_dim))
        offsets = np.cumsum([0, *self.sizes])
        self.register_buffer("offsets", torch.as_tensor(offsets[:-1], dtype=torch.long),
                             persistent=False)
        self.starts = [int(o) for o in offsets]
        self.embed = nn.Embedding(int(offsets[-1]), embedding_dim)
        nn.init.normal_(self.embed.weight, std=0.1)
        # MADE degrees: input units of column j have degree j + 1; a hidden unit of degree m
        # sees columns 1..m, and the logits of column j (degree j + 1) see hidden units of
        # degree <= j. Degrees are skewed low (m grows with the square of the unit's rank): a
        # unit of low degree serves every later column, and the first columns' conditionals
        # (a claim month given the accident month) would otherwise get a 1/k share of units.
        d_in = torch.arange(1, k + 1).repeat_interleave(embedding_dim)
        d_out = torch.arange(1, k + 1).repeat_interleave(torch.as_tensor(self.sizes))
        layers, degrees, width_in = [], d_in, k * embedding_dim
        for width in hidden:
            rank = torch.arange(width, dtype=torch.float64) / width
            d_h = (1 + torch.floor(max(1, k - 1) * rank**2)).long().clamp(max=max(1, k - 1))
            layers.append(_MaskedLinear(width_in, width, d_h[:, None] >= degrees[None, :]))
            degrees, width_in = d_h, width
        self.hidden = nn.ModuleList(layers)
        self.out = _MaskedLinear(width_in, int(offsets[-1]), d_out[:, None] > degrees[None, :])
        # Inputs straight to the logits of later columns (a masked skip connection).
        self.skip = _MaskedLinear(k * embedding_dim, int(offsets[-1]),
                                  d_out[:, None] > d_in[None, :])
        self.n_classes = n_classes
        if n_classes:
            self.class_hidden = nn.ModuleList(nn.Embedding(n_classes, w) for w in hidden)
            self.class_out = nn.Embedding(n_classes, int(offsets[-1]))
            for e in (*self.class_hidden, self.class_out):
                nn.init.zeros_(e.weight)

    def inputs(self, tokens: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """What later columns see of each column: (n, k * embedding_dim).

        Args:
            tokens: (n, k) token of every column.
            values: (n, m) normal score of every continuous column (m may be 0).
        """
        emb = self.embed(tokens + self.offsets)
        if values.shape[1]:
            feats = torch.einsum("nmf,mfe->nme", _value_features(values), self.value_weight)
            emb = emb.clone()
            emb[:, self.is_value] = feats + self.value_bias
        return emb.flatten(1)

    def features(self, h_in: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The last hidden layer."""
        h = h_in
        for i, layer in enumerate(self.hidden):
            h = layer(h)
            if cond is not None and self.n_classes:
                h = h + self.class_hidden[i](cond)
            h = F.silu(h)
        return h

    def forward(self, tokens: torch.Tensor, values: torch.Tensor,
                cond: torch.Tensor | None) -> torch.Tensor:
        """Logits of every column's token, concatenated: (n, sum(sizes))."""
        h_in = self.inputs(tokens, values)
        logits = self.out(self.features(h_in, cond)) + self.skip(h_in)
        if cond is not None and self.n_classes:
            logits = logits + self.class_out(cond)
        return logits

    def column_logits(self, j: int, tokens: torch.Tensor, values: torch.Tensor,
                      cond: torch.Tensor | None) -> torch.Tensor:
        """Logits of column ``j`` only, given the columns before it."""
        a, b = self.starts[j], self.starts[j + 1]
        h_in = self.inputs(tokens, values)
        logits = self.out.rows(self.features(h_in, cond), a, b) + self.skip.rows(h_in, a, b)
        if cond is not None and self.n_classes:
            logits = logits + self.class_out.weight[cond, a:b]
        return logits

    def loss(self, tokens: torch.Tensor, values: torch.Tensor,
             cond: torch.Tensor | None) -> torch.Tensor:
        """Summed cross-entropy of every column, per row: (n,)."""
        logits = self.forward(tokens, values, cond)
        total = logits.new_zeros(tokens.shape[0])
        for j, (a, b) in enumerate(zip(self.starts[:-1], self.starts[1:], strict=True)):
            total = total + F.cross_entropy(logits[:, a:b], tokens[:, j], reduction="none")
        return total


class AutoregressiveSynthesizer(Synthesizer):
    """Autoregressive per-column network (see the module docstring).

    Args:
        embedding_dim: Width of each token's embedding.
        hidden_dims: Widths of the masked hidden layers (each at least the number of columns
            helps every column get its own units).
        bins: Bins of a continuous column (None: ``n_rows / 40`` within [10, 100], so each bin
            holds about 40 rows on average).
        temperature: Softmax temperature when sampling (1: the learned distribution).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        ema_decay: Weight EMA decay (None: off).
        val_fraction: Rows held out for early stopping.
        patience: Early-stopping patience in epochs (None: never stop early).
        class_balance: Class-balanced training batches (see ``TrainConfig.class_balance``).
        rare_min_count: Labels seen fewer times are merged (privacy).
        max_categories: Most labels per column kept as their own category.
        epochs: Training epochs (None: scales with rows, see :meth:`default_epochs`).
        batch_size: Rows per step (None: scales with rows).
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: Training seed and default sampling seed.
    """

    name = "argn"
    description = ("Autoregressive per-column network (each column from the ones before it): "
                   "exact categorical dependencies, native class conditioning")
    supports_conditions = True
    _parameter_constraints = {
        "embedding_dim": [COUNT],
        "hidden_dims": [Widths()],
        "bins": [Interval(int, 2, None), None],
        "temperature": [POSITIVE],
    }

    def __init__(self, *, embedding_dim: int = 16, hidden_dims: Sequence[int] = (512, 512),
                 bins: int | None = None, temperature: float = 1.0, lr: float = 2e-3,
                 weight_decay: float = 1e-5, ema_decay: float | None = 0.995,
                 val_fraction: float = 0.1, patience: int | None = 20,
                 class_balance: float = 0.0, rare_min_count: int = 5,
                 max_categories: int = 1000, epochs: int | None = None,
                 batch_size: int | None = None, device: str = "auto", seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, device=device, seed=seed)
        self.embedding_dim = embedding_dim
        self.hidden_dims = hidden_dims
        self.bins = bins
        self.temperature = temperature
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.class_balance = class_balance
        self.rare_min_count = rare_min_count
        self.max_categories = max_categories

    @classmethod
    def default_epochs(cls, n_rows: int) -> int:
        """About 3,000 optimizer steps, within [10, 500] epochs (early stopping ends sooner)."""
        steps_per_epoch = max(1, math.ceil(n_rows / cls.default_batch_size(n_rows)))
        return int(min(500, max(10, math.ceil(3000 / steps_per_epoch))))

    # ------------------------------------------------------------------ tokens

    def _plan_tokens(self, x: torch.Tensor) -> None:
        """Column order, token counts and the bin edges of the continuous spans."""
        t = self.transformer_
        n_rows = int(x.shape[0])
        bins = int(self.bins) if self.bins else int(min(100, max(10, n_rows // 40)))
        position = {c: i for i, c in enumerate(self.columns_)}
        spans, start = [], 0
        for span in t.layout_:
            spans.append((position.get(span.column, len(position)), span.role != "missing",
                          start, span.kind, span.dim))
            start += span.dim
        order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][1], i))
        self.token_spans_ = [{"start": spans[i][2], "kind": spans[i][3], "dim": spans[i][4]}
                             for i in order]
        for s in self.token_spans_:
            if s["kind"] == "continuous":
                z = x[:, s["start"]].double().numpy()
                qs = np.quantile(z, np.linspace(0.0, 1.0, bins + 1)[1:-1])
                lo, hi = np.quantile(z, [_TAIL, 1.0 - _TAIL])
                edges = np.unique(np.concatenate([[lo], qs, [hi]]))
                s["edges"] = [float(e) for e in edges]
                s["size"] = max(1, len(edges) - 1)
            else:
                s["size"] = int(s["dim"])

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Encoded rows -> one token per column: (n, k) long."""
        out = torch.empty(x.shape[0], len(self.token_spans_), dtype=torch.long)
        for j, s in enumerate(self.token_spans_):
            block = x[:, s["start"]: s["start"] + s["dim"]]
            if s["kind"] == "continuous":
                inner = torch.as_tensor(s["edges"][1:-1], dtype=block.dtype)
                out[:, j] = torch.bucketize(block[:, 0].contiguous(), inner, right=True)
            else:
                out[:, j] = block.argmax(1)
        return out

    def _draw_value(self, j: int, tok: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A uniform draw inside the sampled bin of continuous column ``j``."""
        edges = torch.as_tensor(self.token_spans_[j]["edges"], dtype=torch.float32,
                                device=tok.device)
        if len(edges) < 2:
            return edges[0].expand(tok.shape[0]).clone()
        u = torch.rand(tok.shape[0], generator=generator, device=tok.device)
        lo, hi = edges[tok], edges[tok + 1]
        return lo + u * (hi - lo)

    def _decode_tokens(self, tokens: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Tokens and drawn values -> encoded rows in the transformer's layout."""
        out = torch.zeros(tokens.shape[0], self.n_features_, device=tokens.device)
        v = 0
        for j, s in enumerate(self.token_spans_):
            if s["kind"] == "continuous":
                out[:, s["start"]] = values[:, v]
                v += 1
            else:
                out[:, s["start"]: s["start"] + s["dim"]] = F.one_hot(tokens[:, j],
                                                                      s["dim"]).float()
        return out

    def _values(self, x: torch.Tensor) -> torch.Tensor:
        """The normal scores of the continuous columns, in model order: (n, m)."""
        starts = [s["start"] for s in self.token_spans_ if s["kind"] == "continuous"]
        return x[:, starts] if starts else x.new_zeros(x.shape[0], 0)

    # ------------------------------------------------------------------ hooks

    def _build(self, n_features: int) -> None:
        # The network's size depends on the bins, which are learned from the rows in _fit; a
        # loaded model has them already.
        if hasattr(self, "token_spans_"):
            self._build_net()

    def _build_net(self) -> None:
        sizes = [s["size"] for s in self.token_spans_]
        hidden = [max(int(h), len(sizes)) for h in self.hidden_dims]
        continuous = [s["kind"] == "continuous" for s in self.token_spans_]
        self.net_ = _MADE(sizes, self.n_classes_, int(self.embedding_dim), hidden, continuous)
        self.net_.to(self.device_)

    def _fit(self, x: torch.Tensor, cond: torch.Tensor | None) -> None:
        self._plan_tokens(x)
        self._build_net()
        k = len(self.token_spans_)
        # One float tensor for the loop's batching: the tokens, then the continuous values.
        rows = torch.cat([self._tokens(x).float(), self._values(x).float()], dim=1)

        def loss_fn(net: nn.Module, rb: torch.Tensor, cb: torch.Tensor | None) -> torch.Tensor:
            return net.loss(rb[:, :k].long(), rb[:, k:], cb).mean()

        self._train(self.net_, loss_fn, rows, cond)

    def _sample(self, n: int, cond: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:
        net = self.net_
        tokens = torch.zeros(n, len(self.token_spans_), dtype=torch.long, device=self.device_)
        cont = [j for j, s in enumerate(self.token_spans_) if s["kind"] == "continuous"]
        values = torch.zeros(n, len(cont), device=self.device_)
        temperature = float(self.temperature)
        for j in range(len(self.token_spans_)):
            logits = net.column_logits(j, tokens, values, cond).float() / temperature
            probs = torch.softmax(logits, dim=1)
            tokens[:, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            if j in cont:
                values[:, cont.index(j)] = self._draw_value(j, tokens[:, j], generator)
        return self._decode_tokens(tokens, values)

    def _modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}

    def _extra_state(self) -> dict[str, Any]:
        return {"token_spans": self.token_spans_}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.token_spans_ = [dict(s) for s in state["token_spans"]]
