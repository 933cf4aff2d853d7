"""The run plan: what a run will produce, decided from the config and the split, before training.

Pure: no file is read or written and nothing random is drawn, so the plan is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.errors import ConfigError
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.steps.protect import model_columns

#: One chunk of the output: its rows and, when classes are planned, rows per class.
Chunk = tuple[int, dict[Any, int] | None]


@dataclass(frozen=True)
class RunPlan:
    """What a run trains and how many rows of each class it samples.

    The count dicts are shared with the steps as they are (Dask pickles them); nothing
    changes them after :func:`make_plan`.

    Attributes:
        candidates: The models trained: one, or every candidate of ``--model auto``.
        columns: The columns the models learn (the target among them).
        class_counts: Training rows per target class; None without a target.
        counts: Output rows per class when rebalancing; None otherwise.
        n_rows: Rows of the output.
        chunks: The output's chunks; the first one is the sample every candidate is evaluated
            and gated on, and is published as the first part.
    """

    candidates: tuple[str, ...]
    columns: tuple[str, ...]
    class_counts: dict[Any, int] | None
    counts: dict[Any, int] | None
    n_rows: int
    chunks: tuple[Chunk, ...]

    @property
    def chunked(self) -> bool:
        """Whether the output is larger than one chunk (written as a folder of parts)."""
        return len(self.chunks) > 1


def make_plan(
    cfg: RunConfig, metadata: TableMetadata, actions: dict[str, str], train: pd.DataFrame
) -> RunPlan:
    """Plan a run from its config, the column metadata, the PII actions and the training split.

    Args:
        cfg: The run configuration.
        metadata: Column kinds of the input table.
        actions: The PII action per column (``Protected.actions``).
        train: The training split (its size and target classes fix the output's counts).

    Returns:
        The plan.

    Raises:
        ConfigError: The rebalance spec does not fit the classes, or ``augment`` mode would
            need more than one chunk (it writes real rows, which are not chunked).
    """
    columns = model_columns(metadata, actions)
    if cfg.target is not None and cfg.target not in columns:
        columns.append(cfg.target)
    class_counts = train[cfg.target].value_counts().to_dict() if cfg.target else None
    counts = None
    if cfg.target is not None and cfg.rebalance.spec is not None:
        from synthpipe.rebalance import plan_counts

        counts = plan_counts(cfg.rebalance.spec, class_counts, cfg.rows, len(train))
    n_rows = sum(counts.values()) if counts else (cfg.rows or len(train))
    chunks = chunk_plan(n_rows, cfg.chunk_rows, counts)
    if len(chunks) > 1 and cfg.rebalance.mode == "augment":
        raise ConfigError(
            f"augment mode writes real rows and is limited to {cfg.chunk_rows} output rows",
            hint="use the synthetic mode for large outputs, or raise chunk_rows",
        )
    return RunPlan(
        candidates=tuple(cfg.candidate_models()),
        columns=tuple(columns),
        class_counts=class_counts,
        counts=counts,
        n_rows=n_rows,
        chunks=tuple(chunks),
    )


def chunk_plan(n_rows: int, chunk_rows: int, counts: dict[Any, int] | None) -> list[Chunk]:
    """Split an output of ``n_rows`` into chunks of at most ``chunk_rows`` rows.

    Class counts are split across chunks so that each class's total stays exact.

    Returns:
        One ``(rows, counts or None)`` per chunk.
    """
    n_chunks = max(1, -(-n_rows // chunk_rows))
    sizes = [n_rows // n_chunks + (1 if i < n_rows % n_chunks else 0) for i in range(n_chunks)]
    if counts is None:
        return [(size, None) for size in sizes]
    left = dict(counts)
    out = []
    for i, size in enumerate(sizes):
        if i == n_chunks - 1:
            part = dict(left)
        else:
            part = _split_exact(left, size)
            left = {c: left[c] - part[c] for c in left}
        out.append((sum(part.values()), part))
    return out


def _split_exact(counts: dict[Any, int], size: int) -> dict[Any, int]:
    """``size`` rows taken from ``counts`` in proportion, by largest remainders."""
    total = sum(counts.values())
    raw = {c: n * size / total for c, n in counts.items()}
    part = {c: int(v) for c, v in raw.items()}
    for c in sorted(raw, key=lambda c: raw[c] - part[c], reverse=True)[: size - sum(part.values())]:
        part[c] += 1
    return part
