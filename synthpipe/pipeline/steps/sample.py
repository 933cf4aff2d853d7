"""Sample stage: draw synthetic rows and complete them into the table that is published.

Covers the evaluated sample, the augmented table of a rebalanced run and the parts of a large
output written chunk by chunk.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.io import write_table
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.steps.protect import Protected, model_columns
from synthpipe.pipeline.steps.train import ProgressFn, load_model

if TYPE_CHECKING:
    from synthpipe.pipeline.candidates import Candidate
    from synthpipe.pipeline.run import StepRunner

log = logging.getLogger(__name__)


def sample(
    model_path: str,
    n_rows: int,
    cfg: RunConfig,
    counts: dict[Any, int] | None = None,
    progress: ProgressFn | None = None,
    seed: int | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Sample synthetic rows: ``counts`` rows of each class, or ``n_rows`` unconditionally.

    Returns:
        The synthetic rows (modelled columns) and the sampling plan (class counts).
    """
    from synthpipe import rebalance

    model = load_model(model_path)
    seed = cfg.seed if seed is None else seed
    if counts is None:
        synthetic = model.sample(n_rows, seed=seed, progress=progress)
        plan: dict[str, Any] = {"mode": "unconditional", "rows": n_rows}
        if cfg.target is not None:
            plan["class_counts"] = _class_counts(synthetic[cfg.target])
        return synthetic, plan
    synthetic = rebalance.sample_counts(model, cfg.target, counts, seed=seed, progress=progress)
    return synthetic, {
        "mode": "rebalanced",
        "spec": cfg.rebalance.spec,
        "rows": int(sum(counts.values())),
        "class_counts": {str(k): int(v) for k, v in counts.items()},
    }


def _class_counts(s: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in s.value_counts(dropna=False).sort_index().items()}


def finish_output(
    synthetic: pd.DataFrame, prot: Protected, metadata: TableMetadata, seed: int
) -> pd.DataFrame:
    """Complete the synthetic rows into the published table.

    Columns that were never modelled (ids, free text, faked or pseudonymized identifiers) are
    filled with fresh format-preserving values that match no real value; dropped columns stay
    out; column order and dtypes follow the input.
    """
    from synthpipe import pii

    protected = prot.df
    columns = [c for c in protected.columns if prot.actions.get(c) != "drop"]
    missing = [c for c in columns if c not in synthetic.columns]
    every_real = prot.real_direct_strings()
    forbidden = {c: every_real for c in missing}
    kinds = {c: metadata.kind(c).value for c in metadata.columns}
    pii_types = {f["column"]: f["pii_type"] for f in prot.findings if f["column"] in missing}
    swap = [c for c in missing if prot.imitates_real(c)]
    basis = protected.copy() if swap else protected  # copied only when a column changes
    for c in swap:
        basis[c] = prot.fill_like(c)
    out = pii.fill_output_columns(
        synthetic, basis, missing, kinds, pii_types, seed, forbidden=forbidden,
        age_links=prot.age_links,
    )
    out = out[columns]
    for c in columns:
        want = protected[c].dtype
        if out[c].dtype != want:
            try:
                out[c] = out[c].astype(want)
            except (TypeError, ValueError):
                log.warning("column %s could not be cast back to %s", c, want)
    return out.reset_index(drop=True)


def augment(
    best: Candidate,
    train: pd.DataFrame,
    prot: Protected,
    metadata: TableMetadata,
    cols: list[str],
    class_counts: dict[Any, int],
    cfg: RunConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Real training rows plus synthetic rows of the under-represented classes.

    Always built when a rebalance spec is given (the downstream check compares it); it is the
    published table only in ``augment`` mode, for teams allowed to use real rows.

    Returns:
        The table to publish, the augmented table (modelled columns, for the downstream check)
        and a summary for metrics.json.
    """
    from synthpipe import rebalance

    add = rebalance.augment_counts(cfg.rebalance.spec, class_counts, mode=cfg.rebalance.mode)
    add = {c: n for c, n in add.items() if n > 0}
    model = load_model(best.model_path)
    extra = rebalance.sample_counts(model, cfg.target, add, seed=cfg.seed + 1) if add else None
    real_part = train[list(best.published.columns)]
    if extra is not None:
        extra_pub = finish_output(extra, prot, metadata, cfg.seed + 1)
        aug_pub = pd.concat([real_part, extra_pub], ignore_index=True)
    else:
        aug_pub = real_part.reset_index(drop=True)
    order = np.random.default_rng(cfg.seed).permutation(len(aug_pub))
    aug_pub = aug_pub.iloc[order].reset_index(drop=True)
    summary = {
        "mode": cfg.rebalance.mode,
        "real_rows": int(len(real_part)),
        "synthetic_rows_added": {str(c): int(n) for c, n in add.items()},
        "class_counts": {
            str(k): int(v) for k, v in aug_pub[cfg.target].value_counts().sort_index().items()
        },
    }
    published = aug_pub if cfg.rebalance.mode == "augment" else best.published
    return published, aug_pub[cols], summary


def sample_chunk(
    model_path: str,
    index: int,
    rows: int,
    counts: dict[Any, int] | None,
    cfg: RunConfig,
    prot: Protected,
    metadata: TableMetadata,
    folder: str,
) -> dict:
    """Generate one chunk of a large output and write it as ``part-<index>.parquet``.

    Each chunk has its own seed, is completed (ids, fakes) and scanned for leaked direct
    identifiers on the worker, so a worker holds one chunk at a time, never the whole output.
    """
    seed = cfg.seed + 1000 * index
    synthetic, _ = sample(model_path, rows, cfg, counts, seed=seed)
    part = finish_output(synthetic, prot, metadata, seed)
    from synthpipe.evaluation.privacy import pii_leakage

    leaks = pii_leakage(part, prot.pii_values)["total"] if prot.pii_values else 0
    path = Path(folder) / f"part-{index:05d}.parquet"
    write_table(part, path)
    return {"path": str(path), "rows": int(len(part)), "pii_leaks": leaks}


def staging_dir(out_dir: Path) -> Path:
    """Where the parts of a large output are written before publishing moves them into the
    run folder: beside it, so the move is a rename on the same file system."""
    return out_dir.parent / f".{out_dir.name}.parts"


def sample_all_chunks(
    runner: StepRunner,
    best: Candidate,
    chunks: list[tuple[int, dict[Any, int] | None]],
    cfg: RunConfig,
    prot: Protected,
    metadata: TableMetadata,
    out_dir: Path,
) -> tuple[Path, dict]:
    """Write a large output as a partitioned parquet dataset, chunks generated in parallel.

    Part 0 is the evaluated sample; the other parts are generated by ``sample_chunk`` tasks
    (on Dask workers with ``runner: dask``) into a staging folder beside the run folder, which
    :func:`synthpipe.pipeline.publish.publish` moves into place.
    """
    staging = staging_dir(out_dir)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    write_table(best.published, staging / "part-00000.parquet")
    results = runner.map(
        "sample_chunk",
        sample_chunk,
        [
            (best.model_path, i, rows, counts, cfg, prot, metadata, str(staging))
            for i, (rows, counts) in enumerate(chunks)
            if i > 0
        ],
    )
    total = len(best.published) + sum(r["rows"] for r in results)
    summary = {
        "parts": len(chunks),
        "rows": total,
        "chunk_rows": cfg.chunk_rows,
        "pii_leaks": sum(r["pii_leaks"] for r in results),
        "evaluated_part": "part-00000.parquet",
        "redrawn_across_parts": unique_across_parts(staging, prot, metadata, cfg.seed),
    }
    return staging, summary


def unique_across_parts(folder: Path, prot: Protected, metadata: TableMetadata,
                        seed: int) -> dict[str, int]:
    """Keep filled columns unique over all parts of a large output; returns redraws per column.

    Each part is filled on its own (possibly on another worker), so a fake id of one part can
    repeat one of another (four parts of 250,000 seven-digit ids would share tens of thousands).
    Every filled column whose real values are unique is read from all parts, and each repeat of
    an earlier value is replaced by a fresh fake; the parts that changed are rewritten.
    """
    from synthpipe import pii

    parts = sorted(Path(folder).glob("part-*.parquet"))
    protected = prot.df
    modelled = set(model_columns(metadata, prot.actions))
    columns = [c for c in protected.columns if prot.actions.get(c) != "drop"
               and c not in modelled and protected[c].notna().any()
               and protected[c].dropna().is_unique]
    if len(parts) < 2 or not columns:
        return {}
    # Only the columns checked are read from every part; a part is read whole only to be
    # rewritten, so the flow never holds the whole output.
    frames = [pd.read_parquet(p, columns=columns) for p in parts]
    sizes = [len(f) for f in frames]
    every_real = prot.real_direct_strings()
    types = {f["column"]: f["pii_type"] for f in prot.findings}
    redrawn: dict[str, int] = {}
    updates: dict[int, dict[str, np.ndarray]] = {}
    for col in columns:
        values = pd.concat([f[col] for f in frames], ignore_index=True)
        pii_type = types.get(col) or pii.fallback_type(protected[col], metadata.kind(col).value)
        fixed = pii.redraw_repeats(values, prot.fill_like(col), pii_type, seed + 7919, every_real)
        moved = (fixed.astype(str) != values.astype(str)).to_numpy()
        if not moved.any():
            continue
        redrawn[str(col)] = int(moved.sum())
        start = 0
        for i, n in enumerate(sizes):
            if moved[start:start + n].any():
                updates.setdefault(i, {})[col] = fixed.iloc[start:start + n].to_numpy()
            start += n
    for i, new_columns in sorted(updates.items()):
        part = pd.read_parquet(parts[i])
        for col, arr in new_columns.items():
            part[col] = pd.Series(arr, index=part.index).astype(part[col].dtype)
        write_table(part, parts[i])
    if redrawn:
        log.info("redrew values repeated across parts: %s", redrawn)
    return redrawn
