"""A fast fidelity criterion that decides how long a model trains.

A fixed step budget tuned on one table stops too early on the next: a sharp dependency (an
accident month and a claim month that are usually equal) is learned late, long after the
training loss has flattened. The loss does not show it; a sample does. :class:`FidelityProbe`
scores a sample from the model against real rows the model does not train on, in about a
second, so the training loop can ask it every few hundred steps and keep the best weights.

The criterion (lower is better) is the mean of two parts, each in [0, 1]:

- detection: ``2 * (AUC - 0.5)`` of a gradient-boosting classifier that tells the sample from the
  real rows (2-fold, a few thousand rows): 0 when they cannot be told apart;
- worst pairs: the mean total-variation distance of the :data:`WORST_K` column pairs whose joint
  frequency tables differ most (numbers cut into deciles of the real column). Averages over all
  pairs hide one broken relation; the worst few do not.

With a target, the same two parts are also computed inside the rarest class (the rows a fraud
model needs) and averaged in with weight :data:`MINORITY_WEIGHT`, when the real rows hold enough
of that class.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from synthpipe.evaluation.columns import (
    LABEL_KINDS,
    NUMERIC_KINDS,
    TreeEncoder,
    eval_threads,
    labels_with_missing,
    numeric_values,
    subsample,
    tree_classifier,
)
from synthpipe.metadata import TableMetadata

logger = logging.getLogger(__name__)

#: Pairs averaged in the worst-pairs part.
WORST_K = 5
#: Bins of a numeric column (deciles of the real values) and labels kept per column.
BINS = 10
MAX_LABELS = 20
#: Column pairs scored at most (a seeded subset beyond it).
MAX_PAIRS = 400
#: Weight of the rarest class's criterion when a target is given.
MINORITY_WEIGHT = 0.5
#: Real rows of the rarest class needed to score it.
MIN_CLASS_ROWS = 50


@dataclass(frozen=True)
class ProbeResult:
    """One probe of a sample.

    Attributes:
        score: The criterion (lower is better), in [0, 1].
        detection_auc: ROC-AUC of telling the sample from the real rows (None: too few rows).
        worst_pairs: Mean total-variation distance of the worst pairs.
        minority_score: The criterion inside the rarest class (None without target or rows).
    """

    score: float
    detection_auc: float | None
    worst_pairs: float
    minority_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, rounded."""
        return {k: (None if v is None else round(float(v), 4)) for k, v in self.__dict__.items()}


class _Codes:
    """Shared integer codes per column, learned from the real rows."""

    def __init__(self, real: pd.DataFrame, columns: list[str], metadata: TableMetadata) -> None:
        self.columns = columns
        self.numeric = {c: metadata.kind(c) in NUMERIC_KINDS for c in columns}
        self.edges: dict[str, np.ndarray] = {}
        self.labels: dict[str, pd.Index] = {}
        for c in columns:
            if self.numeric[c]:
                v = numeric_values(real[c])
                v = v[~np.isnan(v)]
                qs = np.linspace(0, 1, BINS + 1)[1:-1]
                self.edges[c] = np.unique(np.quantile(v, qs)) if len(v) else np.array([])
            else:
                counts = labels_with_missing(real[c]).value_counts()
                self.labels[c] = pd.Index(counts.index[:MAX_LABELS])

    def size(self, c: str) -> int:
        """Codes of column ``c`` (the last one is "missing" or "other")."""
        return len(self.edges[c]) + 2 if self.numeric[c] else len(self.labels[c]) + 1

    def encode(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Codes of every column of ``df``."""
        out = {}
        for c in self.columns:
            if self.numeric[c]:
                v = numeric_values(df[c])
                codes = np.searchsorted(self.edges[c], v, side="right")
                codes[np.isnan(v)] = len(self.edges[c]) + 1
            else:
                codes = self.labels[c].get_indexer(labels_with_missing(df[c]))
                codes[codes < 0] = len(self.labels[c])
            out[c] = codes.astype(np.int64)
        return out


class FidelityProbe:
    """Scores samples against fixed real rows (see the module docstring).

    Args:
        real: Real rows the model does not train on (the training loop's validation rows).
        metadata: Column kinds; numerical, datetime, categorical and boolean columns are used.
        target: The class label column, when the model is conditional.
        seed: Seed of the subsamples, pair selection, folds and classifiers.
        max_rows: Rows of each side used at most.
    """

    def __init__(self, real: pd.DataFrame, metadata: TableMetadata, *,
                 target: str | None = None, seed: int = 0, max_rows: int = 2_000) -> None:
        kinds = set(NUMERIC_KINDS) | set(LABEL_KINDS)
        self.columns = [c for c in real.columns if c in metadata.columns
                        and metadata.kind(c) in kinds]
        self.metadata = metadata.subset(self.columns)
        self.seed = seed
        self.max_rows = max_rows
        self.real = subsample(real[self.columns], max_rows, seed)
        self._codes = _Codes(self.real, self.columns, self.metadata)
        self._real_codes = self._codes.encode(self.real)
        pairs = list(itertools.combinations(self.columns, 2))
        if len(pairs) > MAX_PAIRS:
            rng = np.random.default_rng(seed)
            pairs = [pairs[i] for i in np.sort(rng.choice(len(pairs), MAX_PAIRS, replace=False))]
        self.pairs = pairs
        self.target = target
        self.minority = None
        if target is not None and target in self.columns:
            counts = self.real[target].value_counts()
            if len(counts) >= 2 and counts.min() >= MIN_CLASS_ROWS:
                self.minority = counts.index[-1]
                self._minority_probe = FidelityProbe(
                    self.real[self.real[target] == self.minority].drop(columns=[target]),
                    self.metadata, seed=seed, max_rows=max_rows)

    def __call__(self, synthetic: pd.DataFrame) -> ProbeResult:
        """Score ``synthetic`` (a decoded sample with the real rows' columns)."""
        syn = subsample(synthetic[self.columns], self.max_rows, self.seed + 1)
        auc = self._detection(syn)
        worst = self._worst_pairs(syn)
        score = self._combine(auc, worst)
        minority_score = None
        if self.minority is not None:
            rows = syn[syn[self.target] == self.minority].drop(columns=[self.target])
            if len(rows) >= MIN_CLASS_ROWS:
                minority_score = self._minority_probe(rows).score
                score = (score + MINORITY_WEIGHT * minority_score) / (1 + MINORITY_WEIGHT)
        return ProbeResult(score, auc, worst, minority_score)

    @staticmethod
    def _combine(auc: float | None, worst: float) -> float:
        if auc is None:
            return worst
        return 0.5 * max(0.0, 2.0 * (auc - 0.5)) + 0.5 * worst

    def _worst_pairs(self, syn: pd.DataFrame) -> float:
        if not self.pairs:
            return 0.0
        codes = self._codes.encode(syn)
        n_real, n_syn = len(self.real), len(syn)
        tvs = []
        for a, b in self.pairs:
            kb = self._codes.size(b)
            size = self._codes.size(a) * kb
            real = np.bincount(self._real_codes[a] * kb + self._real_codes[b], minlength=size)
            other = np.bincount(codes[a] * kb + codes[b], minlength=size)
            tvs.append(0.5 * np.abs(real / n_real - other / n_syn).sum())
        worst = np.sort(np.asarray(tvs))[-WORST_K:]
        return float(worst.mean())

    def _detection(self, syn: pd.DataFrame, folds: int = 2) -> float | None:
        n = min(len(self.real), len(syn))
        if n < 25:
            return None
        real = subsample(self.real, n, self.seed + 2)
        both = pd.concat([real, subsample(syn, n, self.seed + 3)], ignore_index=True)
        y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
        encoder = TreeEncoder(self.columns, self.metadata).fit(both)
        x = encoder.transform(both)
        aucs = []
        with eval_threads():
            split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
            for fit_idx, test_idx in split.split(x, y):
                clf = tree_classifier(self.seed, categorical=encoder.categorical_mask,
                                      y=y[fit_idx])
                clf.fit(x[fit_idx], y[fit_idx])
                aucs.append(roc_auc_score(y[test_idx], clf.predict_proba(x[test_idx])[:, 1]))
        return float(np.mean(aucs))


__all__ = ["FidelityProbe", "ProbeResult"]
