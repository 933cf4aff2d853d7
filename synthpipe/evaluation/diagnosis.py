"""What gives synthetic data away: the worst column pairs and the columns a detector relies on.

Averages hide sharp failures. A table whose pair-trend mean is 0.95 can still break one rule
that any reviewer sees at once (an accident month and a claim month that are the same in three
real rows of four and independent in the synthetic rows). This module names such failures:

- :func:`worst_pairs`: the column pairs whose synthetic score falls furthest below the holdout's
  (the holdout is the noise floor: a pair that real held-out rows also score low on is noisy,
  not broken), with, for the worst few, the real and synthetic joint frequency tables side by
  side and a sentence that says what differs.
- :func:`detection_importance`: how much the detection classifier's ROC-AUC drops when one
  column is shuffled (permutation importance on rows the classifier did not train on): the
  columns that tell synthetic rows from real ones.

Disclosure: the published tables hold shares of aggregated cells only. Labels seen on fewer than
:data:`MIN_CELL_ROWS` real rows are folded into "other", and numbers are cut at interior
quantiles of the real column (never its minimum or maximum), so no rare value or extreme is
published.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from synthpipe.evaluation.columns import (
    LABEL_KINDS,
    NUMERIC_KINDS,
    TreeEncoder,
    eval_threads,
    label_strings,
    numeric_values,
    subsample,
    tree_classifier,
)
from synthpipe.metadata import TableMetadata

logger = logging.getLogger(__name__)

#: Pairs listed in metrics.json and the report.
WORST_PAIRS = 10
#: Pairs (of the worst) shown with their joint frequency tables.
PAIR_TABLES = 3
#: Labels of a table axis at most (the most frequent; the rest are "other").
MAX_LEVELS = 8
#: A label needs this many real rows to be named in a published table.
MIN_CELL_ROWS = 5
#: Quantiles that cut a numeric column into the bins of a table (interior only).
QUANTILES = (0.2, 0.4, 0.6, 0.8)
OTHER = "other"
MISSING_LABEL = "(missing)"


def worst_pairs(per_pair: list[dict[str, Any]], k: int = WORST_PAIRS) -> list[dict[str, Any]]:
    """The ``k`` pairs whose synthetic score falls furthest below the holdout's.

    Args:
        per_pair: ``pair_trends["per_pair"]`` entries (``columns``, ``metric``, ``synthetic``,
            ``holdout``).
        k: How many to keep.

    Returns:
        Copies of the entries with ``gap`` (holdout minus synthetic score), worst first; pairs
        without both scores are left out.
    """
    scored = [
        {**p, "gap": float(p["holdout"]) - float(p["synthetic"])}
        for p in per_pair
        if p.get("synthetic") is not None and p.get("holdout") is not None
    ]
    scored.sort(key=lambda p: (-p["gap"], p["synthetic"], p["columns"]))
    return scored[:k]


def _axis(real: pd.Series, synthetic: pd.Series, numeric: bool) -> tuple[list[str], list, list]:
    """Labels of one table axis and each row's label, for the real and the synthetic column."""
    if numeric:
        r, s = numeric_values(real), numeric_values(synthetic)
        present = r[~np.isnan(r)]
        edges = np.unique(np.quantile(present, QUANTILES)) if len(present) else np.array([])
        names = _bin_names(edges)

        def cut(v: np.ndarray) -> list[str]:
            idx = np.searchsorted(edges, v, side="right")
            return [MISSING_LABEL if np.isnan(x) else names[i] for x, i in zip(v, idx,
                                                                                 strict=True)]

        labels = names + ([MISSING_LABEL] if np.isnan(r).any() else [])
        return labels, cut(r), cut(s)
    rl = label_strings(real).fillna(MISSING_LABEL)
    sl = label_strings(synthetic).fillna(MISSING_LABEL)
    counts = rl.value_counts()
    named = [str(v) for v, n in counts.items() if n >= MIN_CELL_ROWS][:MAX_LEVELS]
    keep = set(named)
    fold = [*named, OTHER] if len(named) < len(counts) or (~sl.isin(keep)).any() else named
    return fold, [v if v in keep else OTHER for v in rl], [v if v in keep else OTHER for v in sl]


def _bin_names(edges: np.ndarray) -> list[str]:
    if not len(edges):
        return ["all"]
    text = [f"{e:.4g}" for e in edges]
    return [f"< {text[0]}", *(f"{a} to {b}" for a, b in zip(text, text[1:], strict=False)),
            f">= {text[-1]}"]


def _shares(a: list[str], b: list[str], rows: list[str], cols: list[str]) -> np.ndarray:
    table = pd.crosstab(pd.Categorical(a, categories=rows), pd.Categorical(b, categories=cols),
                        dropna=False)
    total = max(1, int(table.to_numpy().sum()))
    return table.to_numpy(dtype="float64") / total


def pair_table(train: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str,
               metadata: TableMetadata) -> dict[str, Any]:
    """Real and synthetic joint frequency tables of columns ``a`` and ``b``, and a sentence.

    Returns:
        ``{"columns", "rows", "cols", "real", "synthetic", "explanation"}``: row and column
        labels, and the share of rows in each cell (rounded to 0.1%).
    """
    numeric = {c: metadata.kind(c) in NUMERIC_KINDS for c in (a, b)}
    rows, ra, sa = _axis(train[a], synthetic[a], numeric[a])
    cols, rb, sb = _axis(train[b], synthetic[b], numeric[b])
    real, syn = _shares(ra, rb, rows, cols), _shares(sa, sb, rows, cols)
    return {
        "columns": [a, b],
        "rows": rows,
        "cols": cols,
        "real": np.round(real, 3).tolist(),
        "synthetic": np.round(syn, 3).tolist(),
        "explanation": explain_pair(train, synthetic, a, b, metadata, rows, cols, real, syn),
    }


def _equal_share(x: pd.DataFrame, a: str, b: str, numeric: bool) -> float | None:
    if numeric:
        va, vb = numeric_values(x[a]), numeric_values(x[b])
        ok = ~(np.isnan(va) | np.isnan(vb))
        return float((va[ok] == vb[ok]).mean()) if ok.any() else None
    la, lb = label_strings(x[a]), label_strings(x[b])
    ok = la.notna() & lb.notna()
    return float((la[ok] == lb[ok]).mean()) if ok.any() else None


def explain_pair(train: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str,
                 metadata: TableMetadata, rows: list[str], cols: list[str], real: np.ndarray,
                 syn: np.ndarray) -> str:
    """One plain sentence on what differs between the real and synthetic pair ``a``, ``b``.

    Three readings are tried, strongest first: the two columns are equal far more (or less)
    often in real rows than in synthetic ones (a shared month, a copied code); both are numbers
    whose correlation differs; else the cell of the joint table whose conditional share differs
    most ("real rows with a = x have b = y in 74% of cases; synthetic rows in 11%").
    """
    kinds = {metadata.kind(a), metadata.kind(b)}
    same_kind = len(kinds) == 1
    numeric = kinds <= set(NUMERIC_KINDS)
    if same_kind:
        r_eq, s_eq = _equal_share(train, a, b, numeric), _equal_share(synthetic, a, b, numeric)
        if r_eq is not None and s_eq is not None and abs(r_eq - s_eq) >= 0.1 and r_eq >= 0.1:
            return (f"{a} and {b} are equal in {r_eq:.0%} of real rows "
                    f"and in {s_eq:.0%} of synthetic rows")
    if numeric:
        va = pd.Series(numeric_values(train[a])).corr(pd.Series(numeric_values(train[b])))
        vs = pd.Series(numeric_values(synthetic[a])).corr(pd.Series(numeric_values(synthetic[b])))
        if np.isfinite(va) and np.isfinite(vs) and abs(va - vs) >= 0.1:
            return (f"{a} and {b}: correlation {va:.2f} in real rows, "
                    f"{vs:.2f} in synthetic rows")
    with np.errstate(invalid="ignore", divide="ignore"):
        r_cond = real / real.sum(axis=1, keepdims=True)
        s_cond = syn / syn.sum(axis=1, keepdims=True)
    diff = np.nan_to_num(np.abs(r_cond - s_cond), nan=0.0) * (real.sum(axis=1, keepdims=True))
    if not diff.size or diff.max() <= 0:
        return f"{a} and {b}: the joint frequencies differ slightly"
    i, j = np.unravel_index(int(diff.argmax()), diff.shape)
    s_share = s_cond[i, j]
    s_text = f"{s_share:.0%}" if np.isfinite(s_share) else "none (no such synthetic rows)"
    return (f"real rows with {a} = {rows[i]} have {b} = {cols[j]} in {r_cond[i, j]:.0%} of "
            f"cases; synthetic rows in {s_text}")


def detection_importance(train: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str],
                         metadata: TableMetadata, *, seed: int = 0, max_rows: int = 5_000,
                         repeats: int = 3, top: int = 10) -> dict[str, Any] | None:
    """Columns that the detection classifier relies on, by permutation importance.

    A classifier is trained to tell real (training) rows from synthetic ones on 70% of a
    balanced sample; on the other 30% each column is shuffled ``repeats`` times and the drop of
    ROC-AUC is its importance. Columns are scored one at a time, so two columns that only give
    the data away together (a broken relation) both show a drop.

    Returns:
        ``{"auc", "columns": [{"column", "auc_drop"}], "explanation"}`` with the ``top``
        columns by drop, or None when either table has too few rows to train on.
    """
    n = min(len(train), len(synthetic), max_rows)
    if n < 50:
        return None
    real, syn = subsample(train, n, seed + 21), subsample(synthetic, n, seed + 22)
    both = pd.concat([real[columns], syn[columns]], ignore_index=True)
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    rng = np.random.default_rng(seed)
    test = np.zeros(2 * n, dtype=bool)
    for label in (0, 1):  # a stratified 30% test part
        idx = np.flatnonzero(y == label)
        test[rng.choice(idx, size=max(1, int(0.3 * len(idx))), replace=False)] = True
    encoder = TreeEncoder(columns, metadata).fit(both[~test])
    x = encoder.transform(both)
    with eval_threads():
        clf = tree_classifier(seed, categorical=encoder.categorical_mask, y=y[~test])
        clf.fit(x[~test], y[~test])
        x_test, y_test = x[test], y[test]
        base = float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))
        drops = []
        for j, c in enumerate(columns):
            lost = []
            for _ in range(repeats):
                shuffled = x_test.copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                lost.append(base - roc_auc_score(y_test, clf.predict_proba(shuffled)[:, 1]))
            drops.append({"column": c, "auc_drop": round(float(np.mean(lost)), 4)})
    drops.sort(key=lambda d: (-d["auc_drop"], d["column"]))
    ranked = drops[:top]
    return {"auc": round(base, 4), "columns": ranked,
            "explanation": _importance_sentence(base, ranked)}


def _importance_sentence(auc: float, ranked: list[dict[str, Any]]) -> str:
    telling = [d for d in ranked if d["auc_drop"] >= 0.01]
    if auc < 0.6 or not telling:
        return (f"the detector tells synthetic rows from real ones at AUC {auc:.2f}; "
                "no single column stands out")
    names = ", ".join(f"{d['column']} (-{d['auc_drop']:.2f})" for d in telling[:3])
    return (f"the detector tells synthetic rows from real ones at AUC {auc:.2f}, "
            f"relying most on {names}")


def diagnose(train: pd.DataFrame, synthetic: pd.DataFrame, metadata: TableMetadata,
             pair_trends: dict[str, Any], columns: list[str], *, seed: int = 0) -> dict[str, Any]:
    """The worst pairs (with tables for the worst few) and the detector's columns.

    Args:
        train: Real training rows.
        synthetic: Synthetic rows.
        metadata: Column kinds.
        pair_trends: The ``pair_trends`` metric of :func:`fidelity_report` (its ``per_pair``).
        columns: The evaluated columns.
        seed: Seed of the subsamples and the classifier.

    Returns:
        ``{"worst_pairs": [...], "detection_importance": {...} | None}``; each of the first
        :data:`PAIR_TABLES` worst pairs carries a ``table`` and an ``explanation``.
    """
    worst = worst_pairs(pair_trends.get("per_pair") or [])
    for entry in worst[:PAIR_TABLES]:
        a, b = entry["columns"]
        table = pair_table(train, synthetic, a, b, metadata)
        entry["explanation"] = table.pop("explanation")
        entry["table"] = table
    kinds = set(NUMERIC_KINDS) | set(LABEL_KINDS)
    usable = [c for c in columns if metadata.kind(c) in kinds]
    return {
        "worst_pairs": worst,
        "detection_importance": detection_importance(train, synthetic, usable, metadata,
                                                     seed=seed) if usable else None,
    }


__all__ = ["detection_importance", "diagnose", "explain_pair", "pair_table", "worst_pairs"]
