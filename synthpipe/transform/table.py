"""TableTransformer: a DataFrame <-> one float tensor, with a published span layout.

The layout is the contract between data and networks. Order guarantee: every continuous span
comes first (one dimension each, roughly N(0, 1)), then every discrete span (one-hot blocks).
Models may therefore slice ``x[:, :n_continuous_]`` and ``x[:, n_continuous_:]``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthpipe.errors import InputError, ModelError
from synthpipe.metadata import ColumnKind, TableMetadata
from synthpipe.transform.categorical import BooleanEncoder, CategoricalEncoder
from synthpipe.transform.encoders import ColumnEncoder, Span
from synthpipe.transform.numeric import DatetimeEncoder, NumericalEncoder

logger = logging.getLogger(__name__)

_STATE_VERSION = 1


class TableTransformer:
    """Encode the modelled columns of a table for the torch models.

    Args:
        numerical: ``"quantile"`` (quantile transform to a normal, TabDDPM-style) or ``"mode"``
            (mode-specific normalization: a scalar plus a one-hot mode, CTGAN-style).
        max_categories: Labels beyond this many (by frequency) share one merged bucket, so a
            high-cardinality column cannot blow up the one-hot width.
        rare_min_count: Labels seen fewer times are merged (no rare real value is copied out).
        seed: Seeds the mixture fits and mode assignment (``numerical="mode"``).

    Attributes:
        layout_: Spans in output order (continuous first, then discrete).
        output_dim_: Width of the encoded tensor.
        n_continuous_: Number of leading continuous dimensions.
        category_sizes_: Widths of the discrete spans, in order.
        columns_: Encoded columns in input order.
    """

    def __init__(self, numerical: str = "quantile", max_categories: int = 1000,
                 rare_min_count: int = 5, seed: int = 0) -> None:
        self.numerical = numerical
        self.max_categories = max_categories
        self.rare_min_count = rare_min_count
        self.seed = seed

    # ------------------------------------------------------------------ fit

    def _encoder_for(self, column: str, kind: ColumnKind) -> ColumnEncoder:
        if kind == ColumnKind.NUMERICAL:
            return NumericalEncoder(column, method=self.numerical, seed=self.seed)
        if kind == ColumnKind.DATETIME:
            return DatetimeEncoder(column)
        if kind == ColumnKind.BOOLEAN:
            return BooleanEncoder(column)
        if kind == ColumnKind.CATEGORICAL:
            return CategoricalEncoder(column, self.rare_min_count, self.max_categories)
        raise ModelError(f"column {column!r} of kind {kind.value} is not modelled")

    def fit(self, df: pd.DataFrame, metadata: TableMetadata) -> TableTransformer:
        """Learn one encoder per modelled column of ``metadata`` present in ``df``.

        Args:
            df: The training table.
            metadata: Column kinds; ids and free text are skipped.

        Returns:
            self.

        Raises:
            ModelError: Unknown numerical method or no modelled column in ``df``.
            InputError: A column's values do not fit its declared kind.
        """
        if self.numerical not in ("quantile", "mode"):
            raise ModelError(
                f"unknown numerical encoding {self.numerical!r}", hint="use 'quantile' or 'mode'"
            )
        columns = [c for c in metadata.modelled if c in df.columns]
        if not columns:
            raise ModelError(
                "no modelled column to encode",
                hint="the table needs at least one numerical, categorical, boolean or date column",
            )
        self.encoders_ = [
            self._encoder_for(c, metadata.kind(c)).fit(df[c]) for c in columns
        ]
        self._finish()
        return self

    def _finish(self) -> None:
        """Derive the layout from the fitted encoders."""
        self.columns_ = [e.column for e in self.encoders_]
        cont: list[tuple[int, int, Span]] = []
        disc: list[tuple[int, int, Span]] = []
        for ei, enc in enumerate(self.encoders_):
            for pi, span in enumerate(enc.spans()):
                (cont if span.kind == "continuous" else disc).append((ei, pi, span))
        # (encoder index, part index, output offset) per span, to scatter/gather parts.
        self._placement: list[tuple[int, int, int, Span]] = []
        offset = 0
        for ei, pi, span in cont + disc:
            self._placement.append((ei, pi, offset, span))
            offset += span.dim
        self.layout_ = [p[3] for p in self._placement]
        self.output_dim_ = offset
        self.n_continuous_ = sum(1 for s in self.layout_ if s.kind == "continuous")
        self.category_sizes_ = [s.dim for s in self.layout_ if s.kind == "discrete"]

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise ModelError("TableTransformer is not fitted", hint="call fit(df, metadata) first")

    # ------------------------------------------------------------------ encode / decode

    def transform(self, df: pd.DataFrame) -> torch.Tensor:
        """Encode ``df`` into a float32 CPU tensor of shape ``(len(df), output_dim_)``.

        Raises:
            InputError: A fitted column is missing from ``df``.
        """
        self._check_fitted()
        absent = [c for c in self.columns_ if c not in df.columns]
        if absent:
            raise InputError(
                f"columns {absent} were fitted but are not in the table",
                hint="pass a table with the same columns as at fit time",
            )
        n = len(df)
        parts = [enc.encode(df[enc.column]) for enc in self.encoders_]
        out = np.zeros((n, self.output_dim_), dtype=np.float32)
        rows = np.arange(n)
        for ei, pi, offset, span in self._placement:
            part = parts[ei][pi]
            if span.kind == "continuous":
                out[:, offset] = part
            else:
                out[rows, offset + part] = 1.0
        return torch.from_numpy(out)

    def inverse_transform(self, x: torch.Tensor | np.ndarray) -> pd.DataFrame:
        """Decode an encoded matrix (discrete spans may hold logits: argmax decides).

        A row that decodes to a categorical column's merged rare bucket is given a kept label
        (:meth:`CategoricalEncoder.resolve_rare`): never a rare real value, never a placeholder.

        Args:
            x: ``(n, output_dim_)`` tensor or array.

        Returns:
            A DataFrame with the fitted columns, dtypes and missing representations.
        """
        self._check_fitted()
        if isinstance(x, torch.Tensor):
            x = x.detach().to("cpu", torch.float32).numpy()
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.output_dim_:
            raise ModelError(
                f"encoded matrix has shape {x.shape}, expected (n, {self.output_dim_})",
                hint="the model's output width does not match the transformer layout",
            )
        parts: list[list[Any]] = [[None] * len(e.spans()) for e in self.encoders_]
        for ei, pi, offset, span in self._placement:
            if span.kind == "continuous":
                v = x[:, offset].astype(np.float64)
                parts[ei][pi] = np.nan_to_num(v, nan=0.0, posinf=8.0, neginf=-8.0)
            else:
                block = x[:, offset: offset + span.dim]
                codes = np.argmax(block, axis=1)
                enc = self.encoders_[ei]
                if isinstance(enc, CategoricalEncoder) and span.role == "value":
                    # The merged rare bucket is resolved while the model's scores are at hand.
                    codes = enc.resolve_rare(codes, block)
                parts[ei][pi] = codes
        cols = {enc.column: enc.decode(p) for enc, p in zip(self.encoders_, parts, strict=True)}
        out = pd.DataFrame(cols, columns=self.columns_)
        out.index = pd.RangeIndex(len(out))
        return out

    def rare_summary(self) -> dict[str, dict[str, Any]]:
        """Columns whose rare labels were merged: how many labels, which share of the training
        cells they held, and what a row the model puts among them decodes to.

        Returns:
            ``{column: {"labels_merged", "share_of_cells", "decoded_as"}}``; ``decoded_as`` is
            ``"a kept label"`` (see :class:`~synthpipe.transform.categorical.CategoricalEncoder`),
            ``"the nearest kept number"`` (numeric codes) or ``"missing"`` (no label was
            frequent enough to keep).
        """
        self._check_fitted()
        out: dict[str, dict[str, Any]] = {}
        for enc in self.encoders_:
            if not isinstance(enc, CategoricalEncoder) or not enc.n_rare:
                continue
            share = getattr(enc, "rare_share", None)
            if getattr(enc, "nearest", False):
                decoded = "the nearest kept number"
            else:
                decoded = "a kept label" if enc.categories else "missing"
            out[enc.column] = {
                "labels_merged": int(enc.n_rare),
                "share_of_cells": None if share is None else round(float(share), 6),
                "decoded_as": decoded,
            }
        return out

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """Complete fitted state as JSON-ready lists, floats and strings (no pickle)."""
        self._check_fitted()
        return {
            "version": _STATE_VERSION,
            "params": {
                "numerical": self.numerical,
                "max_categories": self.max_categories,
                "rare_min_count": self.rare_min_count,
                "seed": self.seed,
            },
            "encoders": [e.to_state() for e in self.encoders_],
            "layout": [s.to_dict() for s in self.layout_],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableTransformer:
        """Rebuild a fitted transformer from :meth:`to_state` output."""
        if state.get("version") != _STATE_VERSION:
            raise ModelError(
                f"transformer state version {state.get('version')!r} is not supported",
                hint="refit the model with this synthpipe version",
            )
        obj = cls(**state["params"])
        obj.encoders_ = [ColumnEncoder.from_state(s) for s in state["encoders"]]
        obj._finish()
        saved = [Span(**s) for s in state.get("layout", [])]
        if saved and saved != obj.layout_:
            raise ModelError("saved transformer layout does not match its encoders")
        return obj
