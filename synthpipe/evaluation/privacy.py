"""Privacy: does the synthetic table give away the rows it was trained on?

Everything is measured on equal-size samples of the training and holdout rows (``n`` rows
each, ``n = min(len(train), len(holdout), max_rows)``). The holdout rows were never trained on,
so whatever the synthetic rows reveal about the training sample beyond what they reveal about
the holdout sample is leakage, and every score has that baseline:

- ``identical_match_share``: share of synthetic rows equal, on all modelled columns after
  normalisation (labels as stripped strings, numbers to 9 significant digits, missing equal to
  missing), to a row of the training sample; the reference is the holdout sample's share.
  Tables with duplicate rows (adult has some) give the holdout a non-zero share, which is why a
  gate compares with it instead of with 0. The share against the whole training table is
  reported too (``synthetic_vs_full_train``).
- ``dcr`` (distance to closest record) in a mixed-type space: numbers and datetimes scaled by
  their robust range (1st to 99th percentile of the training sample), with a 0/1 indicator for
  missing values; labels one-hot with weight 1/sqrt(2), so two different labels are at distance
  1 (the 64 most frequent labels of a column get their own axis, rarer ones share one, which
  can only make records look closer, never farther). ``dcr_share`` is the share of synthetic
  rows closer to the training sample than to the holdout sample (ties count half): 0.5 when
  the model generalises, 1.0 when it copies. Also the median DCR of synthetic and of holdout
  rows to the training sample, the median nearest-neighbour distance ratio (NNDR: nearest /
  second nearest, low means a record sits on top of one training row) and histograms.
- ``membership_inference``: two attacks that score each record of the training sample
  (members) and the holdout sample (non-members); the attack ROC-AUC is 0.5 when nothing
  leaks and 1.0 when membership is obvious:

  (a) distance attack: score = minus the distance to the closest synthetic row, all ``n``
      members against all ``n`` non-members;
  (b) density-ratio attack (DOMIAS, van Breugel et al. 2023): score = log p_synth(x) -
      log p_ref(x). The holdout sample is split in two halves: the first is the reference data
      for p_ref, the second are the non-members; as many members are drawn from the training
      sample. Both densities are Gaussian kernel density estimates in a PCA-whitened space (at
      most 16 components) of the same mixed encoding, the PCA fitted on the synthetic rows;
      p_ref with Scott's bandwidth (smooth: its noise is the attack's noise), p_synth with a
      tenth of it (sharp: reproduced rows show as peaks). When ``density_model`` is given (an
      object with ``log_prob(df) -> ndarray``, for example a normalising flow trained as the
      synthesizer) it supplies log p_synth instead of the kernel estimate.

  The gate reads the larger of the two AUCs.
- ``pii_leakage``: for each direct-identifier column of the input (``pii_values``, the real
  values before protection), the cells of any column of the output that are one of its values
  or hold one inside their text, compared the way the fake values avoided them; numbers equal
  by chance are told apart from copies (:mod:`synthpipe.evaluation.leakage`). Examples are
  masked (first two characters + ``***``).

The distance space, row hashing and the nearest-neighbour search are in
:mod:`synthpipe.evaluation.neighbours`.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from synthpipe.errors import InputError
from synthpipe.evaluation.columns import (
    evaluated_columns,
    subsample,
)
from synthpipe.evaluation.leakage import pii_leakage
from synthpipe.evaluation.neighbours import (
    MixedEncoder,
    block_rows_for,
    nearest_neighbours,
    row_hashes,
)
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import TableMetadata

logger = logging.getLogger(__name__)

__all__ = ["DensityModel", "pii_leakage", "privacy_report"]

DENSITY_COMPONENTS = 16
# Kernel bandwidths as multiples of Scott's rule. The reference density must be smooth (its
# noise is the attack's noise); the synthetic density sharp, so that rows the model reproduces
# stand out as peaks. Measured on adult (3,000 rows per split, 16 components): a copied
# training table scored AUC 0.97 with (1.0, 0.1) against 0.71 with (0.5, 0.5), while an
# independent real sample stayed at 0.50 with either.
REF_BANDWIDTH_FACTOR = 1.0
SYNTH_BANDWIDTH_FACTOR = 0.1
HISTOGRAM_BINS = 30


class DensityModel(Protocol):
    """Anything that scores rows with a log density (for the DOMIAS attack)."""

    def log_prob(self, df: pd.DataFrame) -> np.ndarray:
        """Log density of each row of ``df``."""
        ...


# --------------------------------------------------------------------------- metrics


def _identical_match(
    train_s: pd.DataFrame,
    hold_s: pd.DataFrame,
    syn_s: pd.DataFrame,
    train_full: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
) -> dict[str, Any]:
    h_train = row_hashes(train_s, columns, metadata)
    h_syn = row_hashes(syn_s, columns, metadata)
    h_hold = row_hashes(hold_s, columns, metadata)
    syn_hits = np.isin(h_syn, h_train)
    hold_hits = np.isin(h_hold, h_train)
    full = np.isin(h_syn, row_hashes(train_full, columns, metadata)) if len(train_full) else None
    n_syn = len(h_syn)
    share = float(syn_hits.mean())
    return {
        "name": "identical_match_share",
        "goal": "minimize",
        "bounds": [0.0, 1.0],
        "synthetic": share,
        "holdout": float(hold_hits.mean()),
        # Binomial standard error: how far the two shares may differ by sampling alone.
        "synthetic_std_error": math.sqrt(share * (1 - share) / n_syn),
        "synthetic_matches": int(syn_hits.sum()),
        "synthetic_vs_full_train": None if full is None else float(full.mean()),
    }


def _histogram(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    both = np.r_[a, b]
    top = float(np.quantile(both, 0.99)) if len(both) else 1.0
    top = top if top > 0 else float(both.max()) if len(both) and both.max() > 0 else 1.0
    edges = np.linspace(0.0, top, HISTOGRAM_BINS + 1)
    # Everything beyond the 99th percentile lands in the last bin instead of stretching the axis.
    counts_a, _ = np.histogram(np.clip(a, 0.0, top), bins=edges)
    counts_b, _ = np.histogram(np.clip(b, 0.0, top), bins=edges)
    return {"bins": edges, "synthetic": counts_a, "holdout": counts_b}


def _nndr(nn: dict[str, np.ndarray]) -> np.ndarray:
    d = nn["dist"]
    if d.shape[1] < 2:
        return np.full(len(d), np.nan)
    d1, d2 = d[:, 0], d[:, 1]
    # d2 == 0 means an exact copy of a duplicated record: as revealing as a ratio of 0.
    return np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)


def _dcr(
    syn_tr: dict[str, np.ndarray], syn_ho: dict[str, np.ndarray], ho_tr: dict[str, np.ndarray]
) -> dict[str, Any]:
    d_tr, d_ho = syn_tr["dist"][:, 0], syn_ho["dist"][:, 0]
    tol = 1e-9 * np.maximum(1.0, np.maximum(d_tr, d_ho))
    tie = np.abs(d_tr - d_ho) <= tol
    closer = np.where(tie, 0.5, (d_tr < d_ho).astype("float64"))
    ref = ho_tr["dist"][:, 0]
    return {
        "name": "dcr",
        "dcr_share": float(closer.mean()),
        "dcr_share_ideal": 0.5,
        "ties": float(tie.mean()),
        "goal": "minimize",
        "bounds": [0.0, 1.0],
        "median": {"synthetic": float(np.median(d_tr)), "holdout": float(np.median(ref))},
        "zero_distance_share": {
            "synthetic": float((d_tr == 0).mean()),
            "holdout": float((ref == 0).mean()),
        },
        "nndr_median": {
            "synthetic": float(np.nanmedian(_nndr(syn_tr))) if len(d_tr) else None,
            "holdout": float(np.nanmedian(_nndr(ho_tr))) if len(ref) else None,
        },
        "histogram": _histogram(d_tr, ref),
    }


def _auc(members: np.ndarray, non_members: np.ndarray) -> float | None:
    if len(members) == 0 or len(non_members) == 0:
        return None
    y = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    scores = np.r_[members, non_members]
    if not np.isfinite(scores).all():
        # -inf log densities are legitimate ("impossible"); rank them below everything.
        finite = scores[np.isfinite(scores)]
        floor = finite.min() - 1.0 if len(finite) else 0.0
        ceil = finite.max() + 1.0 if len(finite) else 0.0
        scores = np.nan_to_num(scores, nan=floor, neginf=floor, posinf=ceil)
    return float(roc_auc_score(y, scores))


def _kde_log_density(
    points: np.ndarray, queries: np.ndarray, block_rows: int | None, factor: float
) -> np.ndarray:
    """Gaussian KDE log density of ``queries`` under ``points``, blockwise.

    The bandwidth is ``factor`` times Scott's rule (the points are whitened).

    log p(q) = logsumexp_j(-|q - p_j|^2 / 2h^2) - log n - d/2 log(2 pi h^2), with
    -|q - p|^2 / 2h^2 = (q.p - |p|^2 / 2) / h^2 - |q|^2 / 2h^2: one matrix product per block.
    """
    n, d = points.shape
    h2 = (factor * n ** (-1.0 / (d + 4))) ** 2
    p = torch.from_numpy(np.ascontiguousarray(points, dtype="float32"))
    p_term = (-(p * p).sum(dim=1) / (2 * h2)).unsqueeze(0)
    p_t = p.T.contiguous()
    out = np.empty(len(queries))
    step = block_rows_for(n, block_rows)
    const = -math.log(n) - 0.5 * d * math.log(2 * math.pi * h2)
    with torch.inference_mode():
        for start in range(0, len(queries), step):
            q = torch.from_numpy(np.ascontiguousarray(queries[start : start + step], "float32"))
            logits = torch.addmm(p_term, q, p_t, beta=1.0, alpha=1.0 / h2)
            q_term = (q.double() * q.double()).sum(dim=1) / (2 * h2)
            out[start : start + step] = (
                torch.logsumexp(logits, dim=1).double() - q_term
            ).numpy() + const
    return out


def _density_attack(
    x_train: np.ndarray,
    x_hold: np.ndarray,
    x_syn: np.ndarray,
    train_s: pd.DataFrame,
    hold_s: pd.DataFrame,
    *,
    seed: int,
    density_model: DensityModel | None,
    block_rows: int | None,
) -> dict[str, Any]:
    half = len(x_hold) // 2
    if half < 2 or len(x_syn) < 3:
        return {"auc": None, "error": "too few rows for the density-ratio attack"}
    rng = np.random.default_rng(seed)
    hold_order = rng.permutation(len(x_hold))
    ref_idx, non_idx = hold_order[:half], hold_order[half:]
    mem_idx = rng.choice(len(x_train), size=min(len(non_idx), len(x_train)), replace=False)
    n_comp = int(min(DENSITY_COMPONENTS, x_syn.shape[1], len(x_syn) - 1, half - 1))
    if n_comp < 1:
        return {"auc": None, "error": "too few rows or columns for the density-ratio attack"}
    pca = PCA(n_components=n_comp, random_state=seed).fit(x_syn)
    # Whitening a direction without variance would divide by zero: such directions go.
    var = pca.explained_variance_
    keep = var > 1e-9 * max(float(var.max()), 1e-300)
    if not keep.any():
        return {"auc": None, "error": "the synthetic rows have no variance to model"}
    n_comp = int(keep.sum())
    axes = pca.components_[keep].T / np.sqrt(var[keep])

    def whiten(x: np.ndarray) -> np.ndarray:
        return (x - pca.mean_) @ axes

    z_syn, z_ref = whiten(x_syn), whiten(x_hold[ref_idx])
    z_mem, z_non = whiten(x_train[mem_idx]), whiten(x_hold[non_idx])
    log_ref_mem = _kde_log_density(z_ref, z_mem, block_rows, REF_BANDWIDTH_FACTOR)
    log_ref_non = _kde_log_density(z_ref, z_non, block_rows, REF_BANDWIDTH_FACTOR)
    if density_model is not None:
        source = "density_model"
        log_syn_mem = np.asarray(density_model.log_prob(train_s.iloc[mem_idx]), dtype="float64")
        log_syn_non = np.asarray(density_model.log_prob(hold_s.iloc[non_idx]), dtype="float64")
    else:
        source = "kde"
        log_syn_mem = _kde_log_density(z_syn, z_mem, block_rows, SYNTH_BANDWIDTH_FACTOR)
        log_syn_non = _kde_log_density(z_syn, z_non, block_rows, SYNTH_BANDWIDTH_FACTOR)
    return {
        "auc": _auc(log_syn_mem - log_ref_mem, log_syn_non - log_ref_non),
        "density": source,
        "pca_components": n_comp,
        "reference_rows": int(len(ref_idx)),
        "members": int(len(mem_idx)),
        "non_members": int(len(non_idx)),
        "split": "holdout sample halved: first half fits p_ref, second half are the non-members;"
        " as many members drawn from the training sample",
    }


def _guarded(name: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one metric; a failure becomes an ``error`` entry (and fails its gate closed)."""
    try:
        return fn(*args, **kwargs)
    except InputError:
        raise
    except Exception as exc:  # any failure of one metric must not hide the others
        logger.exception("privacy metric %s could not be computed", name)
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"}


def privacy_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: TableMetadata,
    *,
    seed: int = 0,
    max_rows: int = 100_000,
    pii_values: dict[str, pd.Series] | None = None,
    density_model: DensityModel | None = None,
    block_rows: int | None = None,
    pii_scan: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Identical matches, DCR, membership inference and PII leakage, with holdout baselines.

    Args:
        train: Real rows the model was trained on (after PII protection).
        holdout: Real rows never trained on.
        synthetic: Synthetic rows; for the PII scan every column is searched, so pass the full
            published frame (faked ids included).
        metadata: Column kinds; distances and matches use ``metadata.modelled`` columns.
        seed: Seed of the samples and of the attack split.
        max_rows: Cap on the train/holdout sample size ``n`` and on the synthetic rows.
        pii_values: ``{column: real values before protection}`` of the direct identifiers;
            None skips the scan (reported as ``not_requested``), ``{}`` asserts there are none.
        density_model: Optional ``log_prob(df)`` model supplying p_synth to the DOMIAS attack.
        block_rows: Query rows per nearest-neighbour block (None: about 256 MB per block).
        pii_scan: The frame searched for PII instead of ``synthetic`` (the published output
            when it differs from the evaluated synthetic rows).

    Returns:
        JSON-able dict with ``identical_match_share``, ``dcr``, ``membership_inference``,
        ``pii_leakage``, ``rows``, ``columns`` and ``seconds``. A metric that failed holds an
        ``error`` message instead of its numbers.

    Raises:
        InputError: A table is empty or lacks a modelled column.
    """
    if max_rows < 2:
        raise InputError(f"max_rows must be at least 2, got {max_rows}", hint="raise max_rows")
    frames = {"train": train, "holdout": holdout, "synthetic": synthetic}
    columns = evaluated_columns(metadata, frames)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    n = min(len(train), len(holdout), max_rows)
    train_s = subsample(train, n, seed)
    hold_s = subsample(holdout, n, seed + 1)
    syn_s = subsample(synthetic, max_rows, seed + 2)

    identical = _guarded(
        "identical_match_share",
        _identical_match, train_s, hold_s, syn_s, train, columns, metadata,
    )
    seconds["identical_match_share"] = time.perf_counter() - t0
    dcr, attacks, width = _distance_metrics(
        train_s, hold_s, syn_s, columns, metadata, seconds,
        seed=seed, density_model=density_model, block_rows=block_rows,
    )
    t0 = time.perf_counter()
    pii = _pii_scan(synthetic if pii_scan is None else pii_scan, pii_values)
    seconds["pii_leakage"] = time.perf_counter() - t0

    return jsonable(
        {
            "identical_match_share": identical,
            "dcr": dcr,
            "membership_inference": _mia_summary(attacks),
            "pii_leakage": pii,
            "rows": {"train_sample": n, "holdout_sample": n, "synthetic": len(syn_s)},
            "columns": columns,
            "encoding_width": width,
            "seconds": seconds,
        }
    )


def _distance_metrics(
    train_s: pd.DataFrame,
    hold_s: pd.DataFrame,
    syn_s: pd.DataFrame,
    columns: list[str],
    metadata: TableMetadata,
    seconds: dict[str, float],
    *,
    seed: int,
    density_model: DensityModel | None,
    block_rows: int | None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], int | None]:
    """DCR and the two membership attacks over one mixed encoding of the three samples.

    Returns:
        The DCR entry, the attacks by name and the encoding width (None when the encoding
        failed); ``seconds`` gets the time of each part.
    """
    t0 = time.perf_counter()

    def _encode() -> dict[str, Any]:
        encoder = MixedEncoder(columns, metadata).fit(train_s, hold_s, syn_s)
        return {"x": [encoder.transform(f) for f in (train_s, hold_s, syn_s)], "dim": encoder.dim}

    def _neighbours(x_train: np.ndarray, x_hold: np.ndarray, x_syn: np.ndarray) -> dict:
        syn_tr = nearest_neighbours(x_syn, x_train, k=2, block_rows=block_rows, reverse=True)
        syn_ho = nearest_neighbours(x_syn, x_hold, k=1, block_rows=block_rows, reverse=True)
        ho_tr = nearest_neighbours(x_hold, x_train, k=2, block_rows=block_rows)
        return {"syn_tr": syn_tr, "syn_ho": syn_ho, "ho_tr": ho_tr}

    encoded = _guarded("encoding", _encode)
    nn = encoded if "error" in encoded else _guarded("dcr", _neighbours, *encoded["x"])
    if "error" in nn:
        dcr: dict[str, Any] = {"name": "dcr", "error": nn["error"]}
        distance_attack: dict[str, Any] = {"auc": None, "error": nn["error"]}
    else:
        dcr = _guarded("dcr", _dcr, nn["syn_tr"], nn["syn_ho"], nn["ho_tr"])
        # Members' and non-members' distances to the closest synthetic row come from the
        # same matrices, read by columns.
        distance_attack = {
            "auc": _auc(-nn["syn_tr"]["reverse_dist"], -nn["syn_ho"]["reverse_dist"]),
            "members": len(train_s),
            "non_members": len(hold_s),
        }
    seconds["dcr"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if "error" in encoded:
        density_attack: dict[str, Any] = {"auc": None, "error": encoded["error"]}
    else:
        density_attack = _guarded(
            "density_ratio",
            _density_attack,
            *encoded["x"], train_s, hold_s,
            seed=seed, density_model=density_model, block_rows=block_rows,
        )
        density_attack.setdefault("auc", None)
    seconds["membership_inference"] = time.perf_counter() - t0
    attacks = {"distance": distance_attack, "density_ratio": density_attack}
    return dcr, attacks, encoded.get("dim")


def _mia_summary(attacks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gated membership-inference entry: the strongest attack's AUC."""
    aucs = [a.get("auc") for a in attacks.values()]
    computed = [a for a in aucs if a is not None]
    mia: dict[str, Any] = {
        "name": "mia_auc",
        "goal": "minimize",
        "bounds": [0.0, 1.0],
        "ideal": 0.5,
        # Fail closed: one attack that could not run leaves the maximum unknown.
        "synthetic": max(computed) if len(computed) == len(aucs) else None,
        "holdout": None,
        "attacks": attacks,
    }
    if len(computed) < len(aucs):
        mia["error"] = "an attack could not be computed: " + ", ".join(
            f"{k}: {a.get('error', 'no AUC')}" for k, a in attacks.items() if a.get("auc") is None
        )
    return mia


def _pii_scan(scanned: pd.DataFrame, pii_values: dict[str, pd.Series] | None) -> dict[str, Any]:
    """The ``pii_leakage`` entry; None values mean the scan was not asked for."""
    if pii_values is None:
        return {
            "name": "pii_leakage",
            "status": "not_requested",
            "total": None,
            "message": "no direct-identifier values were given (pii_values=None)",
        }
    pii = _guarded("pii_leakage", pii_leakage, scanned, pii_values)
    if "error" in pii:
        pii["total"] = None
    return pii
