"""Where real values reappear: the one test fake values pass and the leak scan applies.

:class:`RealValues` indexes real values (of one column, or of several, each value remembering
its columns) and finds them in other cells in two ways:

- ``same``: the cell's comparison key (:func:`synthpipe.pii.text.comparison_key`) is a real
  value's;
- ``inside``: a real *identifier* sits inside a longer text cell, between token boundaries
  (``ref 526-29-1789 ok`` holds ``526-29-1789``; ``15262917890`` does not hold ``526291789``,
  which would make every long digit string a likely hit). The identifiers searched for are
  those :func:`synthpipe.pii.embedded.find_identifiers` finds in the real values, plus every
  real value with 6 digits or more or an ``@`` (codes such as ``POL-45264259``): short or
  plain words (a ZIP code, a single first name, ``none``) are only compared whole.
  Separator-free forms are compared too: ``526-29-1789`` and ``526 29 1789`` are found
  as ``526291789`` and the other way round (identifiers of 9+ letters and digits, 6+ of
  them digits, written with blanks, ``-``, ``.``, ``/`` or brackets between groups).

Fake values are redrawn on any hit; the leak scan reports hits (and judges numbers by chance,
see :func:`synthpipe.evaluation.leakage.pii_leakage`). Numbers, dates and booleans are only
compared whole: their text has no inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.pii.embedded import find_identifiers
from synthpipe.pii.text import canonical_text, comparison_key, fold

# Identifiers longer than this many tokens are only compared whole.
MAX_TOKENS = 8
MIN_ATOM_DIGITS = 6
MIN_COMPACT_CHARS = 9
_TOKEN = re.compile(r"[^\W_]+")
_COMPACT_SEPARATORS = re.compile(r"[ \-./()]+")
_NOT_COMPACTABLE = re.compile(r"[^\w \-./()]|_")


@dataclass(frozen=True)
class _Part:
    """The index of the real values of one source (a column)."""

    source: str
    keys: frozenset[str]
    atoms: frozenset[str]
    compact: frozenset[str]

    @cached_property
    def max_tokens(self) -> int:
        longest = max((len(_TOKEN.findall(a)) for a in self.atoms), default=0)
        return min(MAX_TOKENS, longest)

    @cached_property
    def starts(self) -> frozenset[str]:
        return frozenset(_TOKEN.match(a).group(0) for a in self.atoms)


class RealValues:
    """Real values and the identifiers inside them, by the column they came from.

    Build with :meth:`of`; combine with ``|`` (cheap: the indexes are kept side by side, so one
    large index can serve many columns).
    """

    def __init__(self, parts: tuple[_Part, ...] = ()) -> None:
        self.parts = parts

    @classmethod
    def of(cls, columns: Mapping[Any, Any] | pd.Series | Iterable[Any] | None) -> RealValues:
        """Index real values.

        Args:
            columns: ``{column: values}``, or one collection of values (its source is ``""``).
        """
        if columns is None:
            return cls()
        if not isinstance(columns, Mapping):
            columns = {"": columns}
        parts = (_index(str(source), values) for source, values in columns.items())
        return cls(tuple(p for p in parts if p.keys))

    @classmethod
    def of_keys(cls, keys: Iterable[str], source: str = "") -> RealValues:
        """An index of comparison keys compared whole only (no identifiers inside)."""
        return cls((_Part(source, frozenset(keys), frozenset(), frozenset()),))

    def __or__(self, other: RealValues) -> RealValues:
        return RealValues(self.parts + other.parts)

    def keys(self) -> set[str]:
        """Every real comparison key."""
        return set().union(*(p.keys for p in self.parts))

    def hits(self, values: pd.Series, *, inside: bool = True) -> pd.DataFrame:
        """Where the real values reappear in ``values``.

        Args:
            values: Cells of any dtype; only text cells are searched inside.
            inside: Whether to search inside text cells at all (else whole values only).

        Returns:
            One row per (cell, source) hit: ``row`` (position in ``values``), ``source``,
            ``match`` (``same``, or ``inside`` when the cell is not the whole value) and
            ``value`` (the real key or identifier found).
        """
        values = pd.Series(values).reset_index(drop=True)
        keys = comparison_key(values)
        present = keys.notna().to_numpy()
        dtype = values.dtype
        textual = not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                       or pd.api.types.is_datetime64_any_dtype(dtype))
        rows: list[tuple[int, str, str, str]] = []
        same = np.zeros((len(self.parts), len(keys)), dtype=bool)
        for j, part in enumerate(self.parts):
            same[j] = present & keys.isin(part.keys).to_numpy()
            rows.extend((int(i), part.source, "same", keys.iat[i]) for i in np.flatnonzero(same[j]))
        if inside and textual and any(p.atoms for p in self.parts):
            rows.extend(self._inside(keys, present, same))
        return pd.DataFrame(rows, columns=["row", "source", "match", "value"])

    def found(self, values: pd.Series) -> np.ndarray:
        """Whether each of ``values`` equals or (text) holds a real value."""
        out = np.zeros(len(values), dtype=bool)
        out[self.hits(values)["row"].to_numpy(dtype=int)] = True
        return out

    def _inside(self, keys: pd.Series, present: np.ndarray, same: np.ndarray):
        parts = [j for j, p in enumerate(self.parts) if p.atoms]
        k = max(self.parts[j].max_tokens for j in parts)
        starts = frozenset().union(*(self.parts[j].starts for j in parts))
        codes, uniques = pd.factorize(keys[present])
        positions = np.flatnonzero(present)
        for u, key in enumerate(uniques):
            found = self._search(key, k, starts, parts)
            if not found:
                continue
            for i in positions[codes == u]:
                for j, value in found.items():
                    if not same[j, i]:
                        yield int(i), self.parts[j].source, "inside", value

    def _search(self, key: str, k: int, starts: frozenset[str], parts: list[int]) -> dict:
        """The first real identifier of each part inside ``key`` (token windows, up to ``k``
        tokens, starting at a token an identifier starts with or, compacted, at digits)."""
        found: dict[int, str] = {}
        tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(key)]
        for i, (start, _, token) in enumerate(tokens):
            if token not in starts and not any(ch.isdigit() for ch in token):
                continue
            for j in range(i, min(len(tokens), i + k)):
                window = key[start:tokens[j][1]]
                compact = compact_form(window)
                for p in parts:
                    if p in found:
                        continue
                    if window in self.parts[p].atoms:
                        found[p] = window
                    elif compact is not None and compact in self.parts[p].compact:
                        found[p] = compact
        return found


def _index(source: str, values: Any) -> _Part:
    """The index of one source's values: whole keys, identifiers inside, compact forms."""
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    text = canonical_text(s).dropna().drop_duplicates()
    if not len(text):
        return _Part(source, frozenset(), frozenset(), frozenset())
    keys = frozenset(comparison_key(text))
    atoms = {_trim(fold(a)) for a in find_identifiers(text)["text"]}
    textual = not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
    atoms.update(t for key in keys if (textual or key.isdigit())
                 and _distinctive(t := _trim(key)))
    atoms.discard("")
    compact = {c for a in atoms if (c := compact_form(a)) is not None}
    return _Part(source, keys, frozenset(atoms), frozenset(compact))


def compact_form(atom: str) -> str | None:
    """``atom`` without its separators, for identifiers written with and without them.

    Returns:
        The letters and digits alone when ``atom`` has at least 9 of them, 6 of them digits,
        and no character other than blanks, ``-``, ``.``, ``/`` and brackets between them;
        else None.
    """
    if _NOT_COMPACTABLE.search(atom):
        return None
    compact = _COMPACT_SEPARATORS.sub("", atom)
    if len(compact) < MIN_COMPACT_CHARS or sum(map(str.isdigit, compact)) < MIN_ATOM_DIGITS:
        return None
    return compact


def _distinctive(atom: str) -> bool:
    """Whether a whole real value is specific enough to be looked for inside other text."""
    return "@" in atom or sum(map(str.isdigit, atom)) >= MIN_ATOM_DIGITS


def _trim(key: str) -> str:
    """``key`` without leading and trailing separators (a window starts and ends at tokens)."""
    m = re.search(r"[^\W_](?:.*[^\W_])?", key, flags=re.S)
    return m.group(0) if m else ""

