"""The distance space of the privacy checks: rows as hashes (exact copies) and as points of a
mixed-type space, and their nearest neighbours.

- :func:`row_hashes`: one hash per row on the modelled columns after normalisation (labels as
  stripped strings, numbers to 9 significant digits, missing equal to missing).
- :class:`MixedEncoder`: numbers and datetimes scaled by their robust range (1st to 99th
  percentile of the reference), with a 0/1 indicator for missing values; labels one-hot with
  weight 1/sqrt(2), so two different labels are at distance 1 (the 64 most frequent labels of a
  column get their own axis, rarer ones share one).
- :func:`nearest_neighbours`: computed block by block (a block of query rows against the whole
  reference, as a matrix product in torch, float32), so memory stays at about
  ``block_rows x reference_rows x 4`` bytes (256 MB by default) whatever the table size. The few
  nearest candidates of each query are then re-ranked with exact float64 distances, so an
  exact copy is at distance 0.0, not at float32 rounding noise.

:mod:`synthpipe.evaluation.privacy` builds the distance to closest record, the membership
attacks and the identical-match share on these.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from synthpipe.errors import InputError
from synthpipe.evaluation.columns import LABEL_KINDS, MISSING, label_strings, numeric_values
from synthpipe.metadata import TableMetadata

# Labels with their own axis in the distance space, per column (the rest share one axis).
MAX_ONE_HOT = 64
# Distance matrix block: query rows x reference rows x 4 bytes stays under this.
BLOCK_BYTES = 256 * 2**20
_SIGNIFICANT_DIGITS = 9


# --------------------------------------------------------------------------- normalisation


def _round_significant(v: np.ndarray, digits: int = _SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round to ``digits`` significant digits, so 39 and 39.0000000001 compare equal."""
    out = v.copy()
    finite = np.isfinite(v) & (v != 0)
    mag = np.floor(np.log10(np.abs(v[finite])))
    scale = 10.0 ** (digits - 1 - mag)
    out[finite] = np.round(v[finite] * scale) / scale
    return out


def row_hashes(df: pd.DataFrame, columns: list[str], metadata: TableMetadata) -> np.ndarray:
    """One 64-bit hash per row of the normalised modelled columns (equal rows, equal hash).

    Args:
        df: The table.
        columns: Columns that make a row's identity.
        metadata: Their kinds (labels compare as strings, the rest as rounded numbers).

    Returns:
        uint64 array of ``len(df)`` hashes.
    """
    parts = {}
    for c in columns:
        if metadata.kind(c) in LABEL_KINDS:
            parts[c] = label_strings(df[c]).fillna(MISSING).to_numpy(dtype=object)
        else:
            # "+ 0.0" turns -0.0 into 0.0, which hashes differently.
            v = _round_significant(numeric_values(df[c])) + 0.0
            # NaN != NaN would make two rows with the same missing cell differ.
            parts[c] = np.where(np.isnan(v), np.inf, v)
    frame = pd.DataFrame(parts)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


# --------------------------------------------------------------------------- distance space


class MixedEncoder:
    """Mixed-type rows as vectors whose Euclidean distance is the record distance.

    Numbers (and datetimes, as seconds) are centred on the median and divided by the 1-99
    percentile range of the fitting rows; a missing number takes the median and sets a 0/1
    indicator. Labels are one-hot with weight 1/sqrt(2) (two different labels: distance 1).

    Args:
        columns: Columns to encode.
        metadata: Their kinds.
        max_one_hot: Labels per column with an axis of their own (by frequency).
    """

    def __init__(
        self, columns: list[str], metadata: TableMetadata, max_one_hot: int = MAX_ONE_HOT
    ) -> None:
        self.columns = list(columns)
        self.metadata = metadata
        self.max_one_hot = max_one_hot

    def fit(self, df: pd.DataFrame, *others: pd.DataFrame) -> MixedEncoder:
        """Learn scales from ``df`` and label axes from ``df`` and ``others`` together.

        The label vocabulary includes the other tables so that a label only the synthetic rows
        hold still gets its own axis (otherwise it would sit half-way to every label).
        """
        self.numeric_: dict[str, tuple[float, float]] = {}
        self.labels_: dict[str, pd.Index] = {}
        for c in self.columns:
            if self.metadata.kind(c) in LABEL_KINDS:
                pooled = pd.concat([labels_of(f[c]) for f in (df, *others)], ignore_index=True)
                top = pooled.value_counts().index[: self.max_one_hot]
                self.labels_[c] = pd.Index(top)
            else:
                v = numeric_values(df[c])
                finite = v[~np.isnan(v)]
                center, scale = 0.0, 1.0
                if len(finite):
                    center = float(np.median(finite))
                    lo, hi = np.percentile(finite, [1, 99])
                    scale = float(hi - lo) or float(finite.max() - finite.min()) or 1.0
                self.numeric_[c] = (center, scale)
        return self

    @property
    def dim(self) -> int:
        """Width of the encoded vectors."""
        width = 2 * len(self.numeric_)
        width += sum(len(ix) + 1 for ix in self.labels_.values())
        return width

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode ``df`` (float64, one row per record)."""
        blocks = []
        for c in self.columns:
            if c in self.labels_:
                index = self.labels_[c]
                codes = index.get_indexer(labels_of(df[c]))
                codes[codes < 0] = len(index)  # the shared axis of rare labels
                onehot = np.zeros((len(df), len(index) + 1))
                onehot[np.arange(len(df)), codes] = 1.0 / math.sqrt(2.0)
                blocks.append(onehot)
            else:
                center, scale = self.numeric_[c]
                v = numeric_values(df[c])
                miss = np.isnan(v)
                blocks.append(((np.where(miss, center, v) - center) / scale)[:, None])
                # Kept even when the fitting rows had no gap: a model may still emit one.
                blocks.append(miss.astype("float64")[:, None])
        return np.hstack(blocks) if blocks else np.zeros((len(df), 0))


def labels_of(s: pd.Series) -> pd.Series:
    """Normalised labels with missing as a label of its own."""
    return label_strings(s).fillna(MISSING)


# --------------------------------------------------------------------------- nearest neighbours


def block_rows_for(n_reference: int, block_rows: int | None) -> int:
    """Query rows per block: ``block_rows``, or as many as keep a block of distances to
    ``n_reference`` rows under :data:`BLOCK_BYTES` (64 to 2,048)."""
    if block_rows is not None:
        return max(1, int(block_rows))
    return int(min(2048, max(64, BLOCK_BYTES // (4 * max(1, n_reference)))))


def nearest_neighbours(
    queries: np.ndarray,
    reference: np.ndarray,
    *,
    k: int = 1,
    block_rows: int | None = None,
    reverse: bool = False,
) -> dict[str, np.ndarray]:
    """Exact Euclidean k-nearest neighbours, computed in blocks of query rows.

    Args:
        queries: (m, d) query vectors.
        reference: (n, d) reference vectors.
        k: Neighbours per query (at most n).
        block_rows: Query rows per block; None sizes blocks to about 256 MB.
        reverse: Also return, for each reference row, its nearest query row (the same distance
            matrix read by columns, at no extra matrix product).

    Returns:
        ``{"dist": (m, k), "index": (m, k)}`` sorted nearest first; with ``reverse`` also
        ``"reverse_dist"`` and ``"reverse_index"`` of shape (n,). Distances are float64 and
        exact for the returned neighbours.

    Raises:
        InputError: Empty inputs or mismatched widths.
    """
    m, n = len(queries), len(reference)
    if m == 0 or n == 0 or queries.shape[1] != reference.shape[1]:
        raise InputError(
            f"nearest neighbours need non-empty inputs of equal width, got {queries.shape} "
            f"and {reference.shape}",
            hint="check the tables passed to the privacy report",
        )
    k = min(k, n)
    # Centring first keeps float32 cancellation in |q|^2 + |r|^2 - 2 q.r small.
    shift = reference.mean(axis=0)
    q64 = np.ascontiguousarray(queries - shift, dtype="float64")
    r64 = np.ascontiguousarray(reference - shift, dtype="float64")
    q32, r32 = torch.from_numpy(q64.astype("float32")), torch.from_numpy(r64.astype("float32"))
    r_sq = (r32 * r32).sum(dim=1).unsqueeze(0)
    r32_t = r32.T.contiguous()
    spare = min(n, k + 3)  # candidates re-ranked exactly (float32 can swap near-ties)
    dist = np.empty((m, k))
    index = np.empty((m, k), dtype="int64")
    rev_d = np.full(n, np.inf, dtype="float32")
    rev_i = np.zeros(n, dtype="int64")
    step = block_rows_for(n, block_rows)
    with torch.inference_mode():
        for start in range(0, m, step):
            stop = min(m, start + step)
            block = q32[start:stop]
            # |r|^2 - 2 q.r: the query norm is constant along a row, so it is added later.
            partial = torch.addmm(r_sq, block, r32_t, beta=1.0, alpha=-2.0)
            cand = torch.topk(partial, spare, dim=1, largest=False).indices.numpy()
            diff = q64[start:stop, None, :] - r64[cand]
            exact = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
            order = np.argsort(exact, axis=1, kind="stable")[:, :k]
            dist[start:stop] = np.take_along_axis(exact, order, axis=1)
            index[start:stop] = np.take_along_axis(cand, order, axis=1)
            if reverse:
                # In place: the block's matrix is not needed any more, and a copy would double
                # the memory of the largest object here.
                full = partial.add_((block * block).sum(dim=1, keepdim=True))
                col_min, col_arg = full.min(dim=0)
                better = col_min.numpy() < rev_d
                rev_d[better] = col_min.numpy()[better]
                rev_i[better] = col_arg.numpy()[better] + start
    out = {"dist": dist, "index": index}
    if reverse:
        diff = r64 - q64[rev_i]
        out["reverse_dist"] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        out["reverse_index"] = rev_i
    return out


__all__ = ["MixedEncoder", "block_rows_for", "labels_of", "nearest_neighbours", "row_hashes"]
