"""The format-preserving engine: character classes by position, per shape of the real values.

A shape is a value with digits as ``9``, upper-case letters as ``A`` and lower-case letters as
``a`` (``CLM-1000029`` -> ``AAA-9999999``). Every character class is kept, separators are
unchanged, and at each position only characters seen there in the real column are used first,
so fixed prefixes (``CLM-``) and rules such as "an area code never starts with 0" survive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Collision redraws: digit positions widen to 0-9 after WIDEN_DIGITS rounds, letter positions
# to the whole alphabet after WIDEN_LETTERS (synthpipe.pii.fakes.MAX_ROUNDS ends the attempts).
WIDEN_DIGITS = 3
WIDEN_LETTERS = 6
MAX_SHAPES = 200
# Shapes seen fewer times than this take whole character classes at their varying positions.
MIN_SHAPE_MEMBERS = 20
# Real values up to this many are read for the shape profile; more adds nothing but time.
PROFILE_ROWS = 50_000


def _char_matrix(strings: np.ndarray, length: int) -> np.ndarray:
    """Fixed-length strings as an (n, length) array of single characters."""
    return np.ascontiguousarray(strings.astype(f"<U{length}")).view("<U1").reshape(-1, length)


class ShapeProfile:
    """Character classes by position for each shape of the real values.

    A shape is the value with digits as ``9``, upper-case letters as ``A`` and lower-case
    letters as ``a`` (``CLM-1000029`` -> ``AAA-9999999``). Generation draws a shape by its
    frequency, then each position from the characters seen there in the real column.
    """

    _CLASSES = {
        "9": np.array(list("0123456789")),
        "A": np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        "a": np.array(list("abcdefghijklmnopqrstuvwxyz")),
    }

    def __init__(self, strings: pd.Series, no_leading_zero: bool = False) -> None:
        shapes = (
            strings.str.replace(r"\d", "9", regex=True)
            .str.replace(r"[A-Z]", "A", regex=True)
            .str.replace(r"[a-z]", "a", regex=True)
        )
        counts = shapes.value_counts().head(MAX_SHAPES)
        self.shapes = counts.index.to_list()
        self.p = (counts / counts.sum()).to_numpy()
        self.no_leading_zero = no_leading_zero
        self.seen: dict[str, list[np.ndarray]] = {}
        for shape in self.shapes:
            members = strings[shapes == shape].to_numpy(dtype=str)
            chars = _char_matrix(members, len(shape)) if len(shape) else None
            seen = [np.unique(chars[:, i]) for i in range(len(shape))] if len(shape) else []
            if len(members) < MIN_SHAPE_MEMBERS:
                # A handful of values says little about which characters a position allows, and
                # copying their characters would make near-copies of them: keep only the fixed
                # characters (a prefix such as CLM-) and open the rest to their whole class.
                fixed_ok = len(members) >= 3  # one or two values agree everywhere trivially
                seen = [
                    pool if (len(pool) == 1 and fixed_ok) else self._CLASSES.get(ch, pool)
                    for ch, pool in zip(shape, seen, strict=True)
                ]
            self.seen[shape] = seen

    @classmethod
    def from_template(cls, template: str) -> ShapeProfile:
        """A profile of one shape that allows every character of each class."""
        prof = cls(pd.Series([template]))
        prof.seen[template] = [cls._CLASSES.get(ch, np.array([ch])) for ch in template]
        return prof

    def sample(self, n: int, rng: np.random.Generator, widen: int = 0) -> np.ndarray:
        """``n`` strings; ``widen`` 1 opens digit positions to 0-9, 2 also letters."""
        out = np.empty(n, dtype=object)
        if n == 0:
            return out
        which = rng.choice(len(self.shapes), size=n, p=self.p)
        for k in np.unique(which):
            shape = self.shapes[k]
            idx = np.flatnonzero(which == k)
            if not shape:
                out[idx] = ""
                continue
            cols = np.empty((len(idx), len(shape)), dtype="<U1")
            for i, ch in enumerate(shape):
                pool = self.seen[shape][i]
                if ch in self._CLASSES and widen >= (1 if ch == "9" else 2):
                    pool = self._CLASSES[ch]
                if i == 0 and ch == "9" and self.no_leading_zero and len(shape) > 1:
                    pool = pool[pool != "0"] if (pool != "0").any() else np.array(["1"])
                cols[:, i] = pool[rng.integers(0, len(pool), size=len(idx))]
            out[idx] = cols.view(f"<U{len(shape)}").ravel()
        return out
