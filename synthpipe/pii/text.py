"""The one way a cell becomes text for PII work: detection, fake values and the leak scan.

Detection, the values a fake must avoid and the leak scan of the output must agree on what a
cell says, or a fake can equal a real value the scan then reports (or the scan misses a value
detection saw). Two forms, both defined here and nowhere else:

- :func:`canonical_text` is what the cell *looks like*, for value patterns and formats. Case
  and inner spacing are kept (a person-name pattern needs capitals, a fake keeps the real
  layout); a number is written without a meaningless ``.0`` and a date in ISO form.
- :func:`comparison_key` is what the cell *means*, for equality: the canonical text folded.

"The same value" means the same comparison key:

========================================  ===============================================
values                                    key
========================================  ===============================================
``12345``, ``12345.0``, ``"12345"``,      ``"12345"`` (a number read as float, or written
``"12345.0"``, ``" 12345 "``              with ``.0`` by a spreadsheet, is the same number)
``"02134"``                               ``"02134"``: a leading zero makes a code, which
                                          is not the number 2134
``12.5``                                  ``"12.5"`` (shortest round-trip form)
``"John.Doe@Corp.com"``,                  ``"john.doe@corp.com"``: case never matters (an
``" JOHN.DOE@corp.COM "``                 email or a name in capitals is the same person);
                                          ``casefold`` also makes ``ß`` and ``ss`` equal
``"Mary   Ann  Lee"``                     ``"mary ann lee"``: runs of blanks are one space
``Timestamp("1985-03-12")``,              ``"1985-03-12"``: midnight adds nothing to a date
``"1985-03-12 00:00:00"``,
``"1985-03-12T00:00:00"``
``Timestamp("2020-01-02 10:30")``         ``"2020-01-02 10:30:00"``
a timezone-aware timestamp                its wall-clock time in its own zone, without the
                                          offset (a birth date is a calendar day)
``True`` / ``"TRUE"``                     ``"true"``
missing (None, NaN, NaT, ``pd.NA``)       missing: equal to nothing, not even itself
========================================  ===============================================

Separators inside a value are kept: ``526-29-1789`` and ``526291789`` are different texts
(which identifiers *contain* which is the leak scan's business, not equality's).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

# Whole floats up to this magnitude are written as integers (int64 holds them exactly).
_WHOLE_LIMIT = 1e18
_TRAILING_ZEROS = re.compile(r"^(-?\d+)\.0+$")
_MIDNIGHT = re.compile(r"[ t]00:00:00(?:\.0+)?$")


def text_of(value: Any) -> str | None:
    """Canonical text of one value (the scalar form of :func:`canonical_text`).

    Args:
        value: Any cell value.

    Returns:
        The text, or None for a missing value.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isfinite(v) and v % 1 == 0 and abs(v) < _WHOLE_LIMIT:
            return str(int(v))
        return str(v)
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else _date_text(pd.Timestamp(value))
    if isinstance(value, datetime):
        return _date_text(pd.Timestamp(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).strip()


def _date_text(ts: pd.Timestamp) -> str:
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return str(ts)


def key_of(value: Any) -> str | None:
    """Comparison key of one value (the scalar form of :func:`comparison_key`)."""
    text = text_of(value)
    return None if text is None else fold(text)


def fold(text: str) -> str:
    """The comparison key of a canonical text (see the module docstring)."""
    # str.split() splits on the characters str.isspace() names, as the regex \s does; the
    # regexes run only when their tell-tale character is there (this runs per distinct value).
    s = " ".join(text.casefold().split())
    if "." in s:
        s = _TRAILING_ZEROS.sub(r"\1", s)
    if ":" in s:
        s = _MIDNIGHT.sub("", s)
    return s


def canonical_text(values: pd.Series) -> pd.Series:
    """Each value as the text it shows, for patterns and formats (see the module docstring).

    Args:
        values: A column of any dtype.

    Returns:
        An object Series on the same index: strings, and NaN where a value is missing.
        Elementwise equal to :func:`text_of`.
    """
    s = pd.Series(values)
    out = pd.Series(np.nan, index=s.index, dtype=object, name=s.name)
    mask = s.notna().to_numpy()
    if not mask.any():
        return out
    present = s[mask]
    dtype = present.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = canonical_text(pd.Series(dtype.categories))
        texts = cats.to_numpy(dtype=object)[present.cat.codes.to_numpy()]
    elif pd.api.types.is_bool_dtype(dtype):
        texts = np.where(present.astype(bool).to_numpy(), "True", "False")
    elif pd.api.types.is_integer_dtype(dtype):
        # Straight from the integers: through float64 a 19-digit card number would lose digits.
        texts = present.astype(str).to_numpy(dtype=object)
    elif pd.api.types.is_float_dtype(dtype):
        texts = _float_texts(present.to_numpy(dtype="float64"))
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        texts = _datetime_texts(present)
    elif pd.api.types.infer_dtype(present, skipna=True) == "string":
        texts = present.astype(str).str.strip().to_numpy(dtype=object)
    else:
        # Mixed objects: each distinct value by the scalar rule.
        codes, uniques = pd.factorize(present)
        texts = np.array([text_of(u) for u in uniques], dtype=object)[codes]
    out[mask] = np.asarray(texts, dtype=object)
    return out


def comparison_key(values: pd.Series) -> pd.Series:
    """Each value as its comparison key: :func:`canonical_text`, then :func:`fold`.

    Args:
        values: A column of any dtype.

    Returns:
        An object Series on the same index (NaN where missing), elementwise equal to
        :func:`key_of`.
    """
    text = canonical_text(values)
    mask = text.notna()
    if not mask.any():
        return text
    present = text[mask].astype(str)
    # Fold the distinct texts only: a column repeats far more than it varies.
    codes, uniques = pd.factorize(present)
    keys = np.array([fold(u) for u in uniques], dtype=object)
    text[mask] = keys[codes]
    return text


def key_set(values: pd.Series | Iterable[Any] | None) -> set[str]:
    """The comparison keys of ``values`` (missing values left out)."""
    if values is None:
        return set()
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return set(comparison_key(s).dropna())


def canonical_texts(columns: Mapping[Any, pd.Series]) -> set[str]:
    """Every non-missing value of every column as canonical text (one set)."""
    out: set[str] = set()
    for values in columns.values():
        out |= set(canonical_text(values).dropna())
    return out


def _float_texts(num: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(num) & (np.mod(num, 1) == 0) & (np.abs(num) < _WHOLE_LIMIT)
    out = num.astype(str).astype(object)
    out[whole] = num[whole].astype("int64").astype(str)
    return out


def _datetime_texts(present: pd.Series) -> np.ndarray:
    ts = present
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    midnight = (ts == ts.dt.normalize()).to_numpy()
    out = ts.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    if not midnight.all():
        out[~midnight] = np.array([str(t) for t in ts[~midnight]], dtype=object)
    return out


__all__ = [
    "canonical_text",
    "canonical_texts",
    "comparison_key",
    "fold",
    "key_of",
    "key_set",
    "text_of",
]
