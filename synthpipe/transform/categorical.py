"""Encoders of labels and flags: a column <-> one discrete part (category codes).

Privacy decision for categories: values seen fewer than ``rare_min_count`` times (and those beyond
``max_categories`` by frequency) are merged into one bucket for training. That bucket never
decodes to a real rare value, nor to a placeholder: a row the model puts in the bucket is given
one of the *kept* labels (see :class:`CategoricalEncoder` for how it is chosen). A numeric code
column (counts such as ``prior_claims``) has no bucket: a rare number is merged into the nearest
frequent one (top- and bottom-coding, the usual disclosure-control practice), so the column
keeps its dtype and no rare number is copied out. Decoding a bucket to "the most frequent rare
value" would copy out exactly the values the protection is for; decoding it to a placeholder
(``"__rare__"``, :data:`synthpipe.metadata.RARE_PLACEHOLDER`) published a value no real row
has, which every consumer of the table would have to know to filter.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import InputError, ModelError
from synthpipe.transform.encoders import ColumnEncoder, Span, native

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- categories


class CategoricalEncoder(ColumnEncoder):
    """Labels -> one category code; missing is its own category; rare labels merged.

    Categories are ordered by frequency. Labels seen fewer than ``rare_min_count`` times, and
    labels beyond the ``max_categories`` most frequent, share one bucket for training. Labels
    unseen at fit time are encoded as that bucket, or as the most frequent label when there is
    no bucket.

    Decoding the bucket. The bucket stands for "one of the rare labels"; none of those may be
    published (each is held by a few people), so a row decoded to the bucket is given a *kept*
    label instead, chosen as the model would have chosen had the bucket not existed:

    - When the model's output for the column is a set of scores (the flow model's relaxed
      one-hots, or logits), the bucket is taken out and the same rule that decodes every
      other row applies: the kept label with the highest score (for relaxed one-hots, the
      nearest kept vertex). The choice then follows the row's other columns, as the model
      learned them.
    - When the output is an exact one-hot (TVAE, TabDDPM and CTGAN draw the category
      themselves, so no probabilities are left at decoding time), the row is redrawn among
      the kept labels in proportion to their training frequencies: the column's distribution
      given "not a rare label", the best estimate without the rare labels. The draw is seeded
      by the rows being decoded, so the same encoded rows decode the same way.

    The missing category is never drawn for a bucket row (a rare label was a value, not a
    gap). A column whose labels are all rare has nothing to publish: its bucket rows decode
    to a missing value. The published column therefore holds only labels seen at least
    ``rare_min_count`` times, and the kept labels' shares rise by the rare share
    (:attr:`rare_share`, reported per column by
    :meth:`synthpipe.transform.TableTransformer.rare_summary`).

    Args:
        column: Column name.
        rare_min_count: Labels with fewer occurrences are merged (0 or 1 disables merging).
        max_categories: At most this many labels keep their own category.
    """

    kind = "categorical"

    def __init__(self, column: str, rare_min_count: int = 5, max_categories: int = 1000) -> None:
        super().__init__(column)
        if max_categories < 1:
            raise ModelError(f"max_categories must be >= 1, got {max_categories}")
        self.rare_min_count = rare_min_count
        self.max_categories = max_categories

    def fit(self, s: pd.Series) -> CategoricalEncoder:
        """Learn the label set."""
        self.dtype = str(s.dtype)
        # A pandas Categorical's own category list (and order) is part of its dtype.
        self.dtype_categories: list[Any] | None = None
        self.ordered = False
        if isinstance(s.dtype, pd.CategoricalDtype):
            self.dtype_categories = [native(v) for v in s.dtype.categories]
            self.ordered = bool(s.dtype.ordered)
        counts = s.value_counts(dropna=True)
        counts = counts[counts > 0]  # unused categories of a Categorical are not labels
        keep = counts[counts >= max(self.rare_min_count, 1)].iloc[: self.max_categories]
        self.categories = [native(v) for v in keep.index]
        self.counts = [int(v) for v in keep.to_numpy()]
        self.n_rare = int(len(counts) - len(keep))
        self.rare_share = float((counts.sum() - keep.sum()) / len(s)) if len(s) else 0.0
        self.text_like = _is_text_like(s)
        # Numbers merge into their nearest frequent neighbour instead of a bucket (see above).
        self.nearest = bool(
            self.n_rare and not self.text_like and len(self.categories)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in self.categories)
        )
        self.has_rare = self.n_rare > 0 and not self.nearest
        self.has_missing = bool(s.isna().any())
        self.missing_value = _missing_token(s)
        if not self.categories and not self.has_rare and not self.has_missing:
            raise InputError(f"column {self.column!r} is empty", hint="drop it before modelling")
        if self.n_rare:
            logger.info(
                "column %r: %d rare labels (< %d rows or beyond %d, %.2f%% of the cells) "
                "merged into one bucket", self.column, self.n_rare, self.rare_min_count,
                self.max_categories, 100 * self.rare_share,
            )
        return self

    @property
    def n_codes(self) -> int:
        """Categories + rare bucket + missing."""
        return len(self.categories) + int(self.has_rare) + int(self.has_missing)

    @property
    def rare_code(self) -> int:
        """Code of the merged bucket (valid when ``has_rare``)."""
        return len(self.categories)

    @property
    def missing_code(self) -> int:
        """Code of the missing category (valid when ``has_missing``)."""
        return len(self.categories) + int(self.has_rare)

    def spans(self) -> list[Span]:
        """A single discrete span."""
        return [Span(self.column, "discrete", self.n_codes, "value")]

    def encode(self, s: pd.Series) -> list[np.ndarray]:
        """Column -> codes."""
        missing = s.isna().to_numpy()
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        codes = pd.Index(self.categories, dtype=object).get_indexer(s.astype(object))
        unknown = (codes < 0) & ~missing
        if unknown.any() and getattr(self, "nearest", False):
            codes[unknown] = self._nearest_codes(s[unknown].to_numpy(dtype="float64"))
        elif unknown.any():
            codes[unknown] = self.rare_code if self.has_rare else 0
        if missing.any():
            if self.has_missing:
                codes[missing] = self.missing_code
            else:
                logger.warning("column %r: missing values unseen at fit time", self.column)
                codes[missing] = 0
        return [codes.astype(np.int64)]

    def _nearest_codes(self, values: np.ndarray) -> np.ndarray:
        """Codes of the kept numbers nearest to ``values``."""
        kept = np.asarray(self.categories, dtype="float64")
        return np.abs(values[:, None] - kept[None, :]).argmin(axis=1)

    def resolve_rare(self, codes: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """``codes`` with every bucket code replaced by a kept label's code (see the class
        docstring).

        Args:
            codes: Category codes, one per row.
            scores: The model's output for this column, ``(rows, n_codes)``, when there is
                one: rows that are not an exact one-hot take the kept label of highest score.

        Returns:
            The codes, with no bucket code left (a column without kept labels keeps them: they
            decode to a missing value).
        """
        codes = np.asarray(codes, dtype=np.int64)
        if not self.has_rare or not self.categories:
            return codes
        rows = np.flatnonzero(codes == self.rare_code)
        if not rows.size:
            return codes
        codes = codes.copy()
        kept = len(self.categories)
        if scores is not None:
            block = np.asarray(scores)[rows]
            one_hot = ((block == 0) | (block == 1)).all(axis=1) & (block.sum(axis=1) == 1)
            scored = rows[~one_hot]
            codes[scored] = np.argmax(block[~one_hot, :kept], axis=1)
            rows = rows[one_hot]
            if not rows.size:
                return codes
        weights = np.asarray(getattr(self, "counts", None) or [1] * kept, dtype=np.float64)
        # Seeded by which rows are in the bucket: the same encoded rows decode the same way,
        # and another sample (other rows in the bucket) draws anew.
        seed = [zlib.crc32(str(self.column).encode()), codes.size,
                zlib.crc32(rows.astype(np.int64).tobytes())]
        draw = np.random.default_rng(seed).choice(kept, size=rows.size, p=weights / weights.sum())
        codes[rows] = draw
        return codes

    def decode(self, parts: list[np.ndarray]) -> pd.Series:
        """Codes -> labels in the input's dtype (bucket codes resolved by
        :meth:`resolve_rare`)."""
        codes = self.resolve_rare(parts[0])
        target = pd.api.types.pandas_dtype(self.dtype)
        lookup = np.empty(self.n_codes, dtype=object)
        lookup[: len(self.categories)] = self.categories
        if self.has_rare:
            # Reached only when no label was kept: nothing of the column can be published.
            lookup[self.rare_code] = self.missing_value
        if self.has_missing:
            lookup[self.missing_code] = self.missing_value
        values = lookup[codes]
        if isinstance(target, pd.CategoricalDtype):
            cats = list(self.dtype_categories or self.categories)
            return pd.Series(pd.Categorical(values, categories=cats, ordered=self.ordered),
                             name=self.column)
        null = pd.isna(values)
        if pd.api.types.is_object_dtype(target):
            return pd.Series(values, name=self.column, dtype=object)
        if null.any() and not _holds_missing(target):
            # e.g. int64 codes with a rare bucket: use the nullable twin.
            nullable = {"b": "boolean", "i": "Int64", "u": "Int64"}.get(target.kind, "object")
            return pd.Series(values, name=self.column, dtype=object).astype(nullable)
        return pd.Series(values, name=self.column, dtype=object).astype(target)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {
            "type": "categorical",
            "column": self.column,
            "rare_min_count": self.rare_min_count,
            "max_categories": self.max_categories,
            "dtype": self.dtype,
            "categories": list(self.categories),
            "counts": list(self.counts),
            "n_rare": self.n_rare,
            "rare_share": self.rare_share,
            "has_rare": self.has_rare,
            "has_missing": self.has_missing,
            "missing_value": self.missing_value,
            "text_like": self.text_like,
            "nearest": self.nearest,
            "dtype_categories": self.dtype_categories,
            "ordered": self.ordered,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        for key in ("rare_min_count", "max_categories", "dtype", "categories", "n_rare",
                    "has_rare", "has_missing", "missing_value", "text_like",
                    "dtype_categories", "ordered"):
            setattr(self, key, state[key])
        self.nearest = bool(state.get("nearest", False))
        # Models saved before label counts were kept redraw bucket rows uniformly.
        self.counts = state.get("counts")
        self.rare_share = state.get("rare_share")


class BooleanEncoder(CategoricalEncoder):
    """Booleans (bool, pandas ``boolean``, 0/1 flags): a categorical without rare merging.

    Two values cannot single anyone out, and merging the rare side of a flag (often the label of
    interest) would erase it.
    """

    kind = "boolean"

    def __init__(self, column: str) -> None:
        super().__init__(column, rare_min_count=0, max_categories=1000)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready fitted state."""
        return {**super().to_state(), "type": "boolean"}


def _missing_token(s: pd.Series) -> Any:
    """The column's own missing value: None / NaN for object, pd.NA for nullable dtypes."""
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
        s.dtype, pd.CategoricalDtype
    ):
        return None  # astype back to the extension dtype turns None into pd.NA
    if s.dtype == object:
        nulls = s[s.isna()]
        if len(nulls) and nulls.iloc[0] is None:
            return None
    return float("nan")


def _is_text_like(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return bool(pd.api.types.is_object_dtype(s.dtype.categories.dtype)
                    or pd.api.types.is_string_dtype(s.dtype.categories.dtype))
    if pd.api.types.is_string_dtype(s) or s.dtype == object:
        non_null = s.dropna()
        return bool(len(non_null) == 0 or isinstance(non_null.iloc[0], str))
    return False


def _holds_missing(dtype: Any) -> bool:
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return True
    return dtype.kind in ("f", "c", "O", "M", "m")


__all__ = ["BooleanEncoder", "CategoricalEncoder"]
