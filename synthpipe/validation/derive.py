"""Suites built from data: the baseline contract of an unknown table, and the suite derived
from the real training table that synthetic rows are checked against.

Every derived expectation carries ``meta["why"]``: what in the real data it came from.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthpipe.errors import ConfigError, InputError
from synthpipe.jsonutil import to_jsonable
from synthpipe.metadata import RARE_PLACEHOLDER, ColumnKind, TableMetadata
from synthpipe.validation._common import expect, new_suite, require_frame

if TYPE_CHECKING:
    import great_expectations as gx

logger = logging.getLogger(__name__)

# dtype names as GX's pandas type check resolves them (numpy names, or pandas *Dtype classes).
INT_TYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
]
FLOAT_TYPES = ["float16", "float32", "float64", "Float32Dtype", "Float64Dtype"]
BOOL_TYPES = ["bool", "BooleanDtype"]
# "str" checks each value of an object column; StringDtype covers pandas string columns.
STR_TYPES = ["str", "StringDtype"]
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]

# Text form of a whole float: GX has no integer-value test, but its regex check matches on
# str(value), and a float's repr is either "12.0" or, from 1e16 up (always whole), "1.2e+16".
WHOLE_NUMBER_REGEX = r"^-?(?:\d+(?:\.0)?|\d(?:\.\d+)?e\+\d+)$"

# Synthetic null share may differ from the real one by this much (absolute), or by a quarter
# of it, or by three standard errors of the real estimate, whichever is largest.
NULL_SHARE_TOLERANCE = 0.02
# A date-order rule needs this many real rows where both dates are present to be believed.
MIN_PAIR_ROWS = 10
# A key format is derived only from at least this many values (fewer prove nothing).
MIN_FORMAT_ROWS = 20


def baseline_suite(df: pd.DataFrame, target: str | None,
                   name: str = "baseline") -> gx.ExpectationSuite:
    """The minimum contract for a table that has no suite of its own.

    The table must have rows, every column of ``df`` must be present, no column may be entirely
    empty, and the target (when given) must exist with at least two distinct values.

    Args:
        df: The table the contract is for (its column list is recorded).
        target: Label column, or None.

    Returns:
        The suite (named ``baseline``).
    """
    require_frame(df)
    exps = [expect("ExpectTableRowCountToBeBetween", "a table without rows cannot be learned",
                    min_value=1)]
    for col in df.columns:
        exps.append(expect("ExpectColumnToExist", "column of the table", column=str(col)))
    if target is not None:
        if target not in df.columns:
            exps.append(expect("ExpectColumnToExist", "the target column", column=target))
        exps.append(expect(
            "ExpectColumnUniqueValueCountToBeBetween",
            "a target with one class gives nothing to learn or rebalance",
            column=target, min_value=2,
        ))
    for col in df.columns:
        exps.append(expect(
            "ExpectColumnProportionOfNonNullValuesToBeBetween",
            "an entirely empty column carries no information; drop it",
            column=str(col), min_value=0.0, strict_min=True,
        ))
    return new_suite(name, exps, {"kind": "baseline", "target": target})


def derive_suite(
    train: pd.DataFrame,
    metadata: TableMetadata,
    target: str | None = None,
    name: str = "derived",
    min_label_count: int = 0,
    generated: Collection[str] = (),
    rules: Collection[Any] = (),
) -> gx.ExpectationSuite:
    """Derive a suite from the real training table, to validate synthetic rows against.

    What the real data shows becomes a rule: the exact column set; each column's type family
    (integer / numeric / string / datetime / boolean); numeric and date ranges (real min and
    max, no slack: a synthetic value outside the real range is a finding); value sets of
    categorical and boolean columns; null shares (none if the real column has none, else within
    a tolerance); uniqueness and character format of id columns; the target keeping at least two
    classes; and, for every pair of date columns ordered the same way in every real row, that
    order. Numeric column pairs are not searched for order rules (rarely meaningful, and
    quadratic in the number of columns).

    The suite is published with the synthetic data, so it must not list what the synthetic data
    itself may not show: with ``min_label_count`` k, labels of a categorical column (the target
    excepted) seen fewer than k times in real are left out of its value set. The synthesizers
    merge exactly those labels (their ``rare_min_count``) and never emit them.

    Columns in ``generated`` get fresh values in the output (faked identifiers, which equal no
    real value by design), so they get no value set; their type, missing share, range and
    format rules still apply. The target's rows without a label are not learned (the models
    drop them), so the synthetic target must have no missing value whatever the real share.

    Args:
        train: The real training table.
        metadata: Its column metadata (kinds decide which rules apply).
        target: Label column, or None.
        name: Suite name.
        min_label_count: Rare-label threshold of the model whose output the suite checks
            (0: list every label).
        generated: Columns whose output values are generated, not learned (no value set).
        rules: Business rules the model keeps (:mod:`synthpipe.rules`): orders become pair
            comparisons and single-column dependencies pair value sets (see
            :func:`_business_rules` for what GX cannot say).

    Returns:
        The suite; each expectation has ``meta["why"]`` saying what in the data it came from.

    Raises:
        InputError: ``train`` is not a non-empty DataFrame.
        ConfigError: ``metadata`` or ``target`` name columns ``train`` does not have.
    """
    _check_derive_inputs(train, metadata, target)
    n = len(train)
    exps = [
        expect("ExpectTableColumnsToMatchSet", "the real table's columns",
                column_set=[str(c) for c in train.columns], exact_match=True),
        expect("ExpectTableRowCountToBeBetween", "an output without rows is no output",
                min_value=1),
    ]
    for col in train.columns:
        s = train[col]
        meta = metadata.columns[col]
        exps.extend(_type_rules(col, s, meta))
        if col == target and s.isna().any():
            exps.append(expect(
                "ExpectColumnValuesToNotBeNull",
                f"{s.isna().mean():.2%} of real rows have no label; those rows are not learned, "
                "so every synthetic row has one", column=col))
        else:
            exps.extend(_null_rules(col, s, n))
        if s.notna().any():
            exps.extend(_value_rules(col, s, meta, min_label_count, is_target=col == target,
                                     generated=col in generated))
    if target is not None and train[target].nunique(dropna=True) >= 2:
        exps.append(expect(
            "ExpectColumnUniqueValueCountToBeBetween",
            f"target has {train[target].nunique()} classes in real; one class is useless",
            column=target, min_value=2,
        ))
    exps.extend(_date_order_rules(train, metadata))
    exps.extend(_business_rules(train, rules))
    logger.info("derived %d expectations from %d real rows x %d columns",
                len(exps), n, train.shape[1])
    return new_suite(name, exps, {"kind": "derived", "rows": n, "target": target})



def _check_derive_inputs(train: Any, metadata: TableMetadata, target: str | None) -> None:
    require_frame(train)
    if len(train) == 0:
        raise InputError("cannot derive expectations from an empty table",
                         hint="pass the real training rows")
    missing = [c for c in metadata.columns if c not in train.columns]
    unknown = [c for c in train.columns if c not in metadata.columns]
    if missing or unknown:
        raise ConfigError(
            "metadata and table disagree: "
            + "; ".join(p for p in (missing and f"not in table: {missing}",
                                    unknown and f"not in metadata: {unknown}") if p),
            hint="detect the metadata on this table, or subset both to the same columns",
        )
    if target is not None and target not in train.columns:
        raise ConfigError(f"target {target!r} is not a column of the table",
                          hint=f"use one of {list(train.columns)}")


def _type_rules(col: str, s: pd.Series, meta: Any) -> list:
    """The column's type family, and whole-numberness where the dtype cannot show it."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return [expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                        column=col, type_list=BOOL_TYPES)]
    if isinstance(dt, pd.DatetimeTZDtype):
        # GX cannot name a tz-aware dtype in a type list; the tz-aware range check below
        # fails on naive or non-date values instead.
        return []
    if pd.api.types.is_datetime64_dtype(dt):
        return [expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                        column=col, type_list=DATETIME_TYPES)]
    if pd.api.types.is_integer_dtype(dt):
        types = INT_TYPES + BOOL_TYPES if meta.kind == ColumnKind.BOOLEAN else INT_TYPES
        return [expect("ExpectColumnValuesToBeInTypeList",
                        f"real dtype is {dt}: values must stay whole numbers",
                        column=col, type_list=types)]
    if pd.api.types.is_float_dtype(dt):
        out = [expect("ExpectColumnValuesToBeInTypeList", f"real dtype is {dt}",
                       column=col, type_list=FLOAT_TYPES + INT_TYPES)]
        if meta.is_integer:
            out.append(expect(
                "ExpectColumnValuesToMatchRegex",
                f"real {dt} column holds only whole numbers (checked on the text form)",
                column=col, regex=WHOLE_NUMBER_REGEX,
            ))
        return out
    if isinstance(dt, pd.CategoricalDtype):
        # GX cannot match a categorical dtype in a type list; the value set check covers it.
        return []
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred == "string":
        return [expect("ExpectColumnValuesToBeInTypeList", "real values are all strings",
                        column=col, type_list=STR_TYPES)]
    if inferred == "boolean":
        return [expect("ExpectColumnValuesToBeInTypeList", "real values are all booleans",
                        column=col, type_list=BOOL_TYPES)]
    return []


def _null_rules(col: str, s: pd.Series, n: int) -> list:
    share = float(s.isna().mean())
    if share == 0.0:
        return [expect("ExpectColumnValuesToNotBeNull",
                        f"no missing values in {n} real rows", column=col)]
    if share == 1.0:
        return [expect("ExpectColumnValuesToBeNull",
                        f"all {n} real values are missing", column=col)]
    tol = max(NULL_SHARE_TOLERANCE, 0.25 * share, 3.0 * math.sqrt(share * (1 - share) / n))
    lo, hi = max(0.0, 1.0 - share - tol), min(1.0, 1.0 - share + tol)
    return [expect(
        "ExpectColumnProportionOfNonNullValuesToBeBetween",
        f"{share:.2%} missing in real; synthetic share within +-{tol:.2%}",
        column=col, min_value=round(lo, 6), max_value=round(hi, 6),
    )]


def outward_bounds(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to multiples of a round step: two significant digits of the width.

    The derived suite is published (metrics.json, the report), and a column's exact extremes
    are single real records: the largest claim, the oldest customer. Rounding outward keeps
    the rule's purpose (values far outside the real range fail) without printing them.
    ``[130.92, 822495.42]`` becomes ``[0, 830000]``; whole numbers less than 100 apart stay
    as they are (``[18, 90]``). A bound never crosses zero when the real one did not.
    """
    lo, hi = float(lo), float(hi)
    width = hi - lo
    scale = width if width > 0 else max(abs(lo), abs(hi))
    if not math.isfinite(scale) or scale == 0:
        return _whole(lo), _whole(hi)
    step = 10.0 ** (math.floor(math.log10(scale)) - 1)
    new_lo = float(f"{math.floor(lo / step) * step:.12g}")
    new_hi = float(f"{math.ceil(hi / step) * step:.12g}")
    if lo >= 0 > new_lo:
        new_lo = 0.0
    if hi <= 0 < new_hi:
        new_hi = 0.0
    return _whole(new_lo), _whole(new_hi)


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def outward_months(lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[str, str]:
    """``[lo, hi]`` widened to whole months (first day of ``lo``'s month to the first day of
    the month after ``hi``), as ISO text; see :func:`outward_bounds` for why."""
    start = lo.normalize().replace(day=1)
    end = hi.normalize().replace(day=1) + pd.DateOffset(months=1)
    return start.isoformat(), end.isoformat()


def _value_rules(col: str, s: pd.Series, meta: Any, min_label_count: int = 0,
                 is_target: bool = False, generated: bool = False) -> list:
    """Ranges, value sets, uniqueness and formats (``s`` has at least one value).

    A categorical value set leaves out labels seen fewer than ``min_label_count`` times and
    admits the merged-label placeholder, except in the target (its classes are sampled as
    they are, never merged). A ``generated`` column gets no value set and no range."""
    kind = meta.kind
    non_null = s.dropna()
    out = []
    if generated:
        # Filled with fresh fakes for the output: the protect step's fakes set no range the
        # output's must keep (a fresh policy number fell outside one and quarantined a run).
        pass
    elif kind == ColumnKind.NUMERICAL and pd.api.types.is_numeric_dtype(s.dtype) \
            and not pd.api.types.is_bool_dtype(s.dtype):
        lo, hi = outward_bounds(_py(non_null.min()), _py(non_null.max()))
        out.append(expect("ExpectColumnValuesToBeBetween",
                           f"real values lie in [{lo}, {hi}] (the real range, rounded outward "
                           "to two significant digits of its width)",
                           column=col, min_value=lo, max_value=hi))
    elif kind == ColumnKind.DATETIME and pd.api.types.is_datetime64_any_dtype(s.dtype):
        lo, hi = outward_months(non_null.min(), non_null.max())
        out.append(expect("ExpectColumnValuesToBeBetween",
                           f"real dates lie in [{lo}, {hi}] (the real range, rounded outward "
                           "to whole months)",
                           column=col, min_value=lo, max_value=hi))
    elif kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and not generated:
        merged = kind == ColumnKind.CATEGORICAL and not is_target
        text = merged and all(
            isinstance(v, str) for v in pd.unique(non_null.to_numpy(dtype=object)))
        n_rare = 0
        if merged and min_label_count > 1:
            counts = non_null.value_counts()
            n_rare = int((counts < min_label_count).sum())
            non_null = non_null[non_null.isin(counts.index[counts >= min_label_count])]
        values = _value_set(non_null)
        why = f"the {len(values)} values seen in real"
        if n_rare:
            why += (f" at least {min_label_count} times (not listed: {n_rare} rarer "
                    f"label{'s' * (n_rare != 1)}, which the model merges and never emits)")
        if text:
            # Synthesizers emit this token for labels too rare to copy out (privacy).
            values = sorted({*values, RARE_PLACEHOLDER})
            why += f", plus {RARE_PLACEHOLDER!r} (merged rare labels)"
        out.append(expect("ExpectColumnValuesToBeInSet", why, column=col, value_set=values))
    elif kind == ColumnKind.ID:
        if non_null.is_unique:
            out.append(expect("ExpectColumnValuesToBeUnique",
                               "key is unique in real", column=col))
        regex = _format_regex(non_null)
        if regex is not None:
            out.append(expect("ExpectColumnValuesToMatchRegex",
                               "every real value has this character format",
                               column=col, regex=regex))
    return out


def _value_set(non_null: pd.Series) -> list:
    values = [_py(v) for v in pd.unique(non_null.to_numpy(dtype=object))]
    try:
        return sorted(values)
    except TypeError:  # mixed types (str and bool, say) have no order
        return sorted(values, key=str)


def _format_regex(non_null: pd.Series) -> str | None:
    """A regex every value matches, when all values share one character layout.

    Digits become ``\\d``, letters that vary become ``[A-Za-z]``, letters and punctuation that
    are the same in every value stay literal (``CLM-``, ``(###) ###-####``). Digits never stay
    literal: a constant leading digit in a sample says nothing about the next key.
    """
    if len(non_null) < MIN_FORMAT_ROWS or pd.api.types.infer_dtype(non_null) != "string":
        return None
    strings = non_null.astype(str)
    lengths = strings.str.len()
    width = int(lengths.iloc[0])
    if width == 0 or width > 64 or (lengths != width).any():
        return None
    # Unicode code points, one row per value: vectorized character classes without np.char.
    codes = strings.to_numpy(dtype=f"<U{width}").view(np.uint32).reshape(len(strings), width)
    is_digit = (codes >= 48) & (codes <= 57)
    is_alpha = ((codes >= 65) & (codes <= 90)) | ((codes >= 97) & (codes <= 122))
    constant = (codes == codes[0]).all(axis=0)
    # Each position must hold the same class in every value: digit, letter, or one fixed symbol.
    for cls in (is_digit, is_alpha):
        if (cls.all(axis=0) != cls.any(axis=0)).any():
            return None
    symbol = ~(is_digit | is_alpha)
    if (symbol.any(axis=0) & ~constant).any():
        return None
    tokens = []
    for j in range(width):
        if is_digit[0, j]:
            tokens.append(r"\d")
        elif is_alpha[0, j] and not constant[j]:
            tokens.append("[A-Za-z]")
        else:
            tokens.append(re.escape(chr(int(codes[0, j]))))
    parts = []
    for tok in tokens:  # run-length encode: \d\d\d -> \d{3}
        if parts and parts[-1][0] == tok:
            parts[-1][1] += 1
        else:
            parts.append([tok, 1])
    body = "".join(t if k == 1 else f"{t}{{{k}}}" for t, k in parts)
    return f"^{body}$"


def _business_rules(train: pd.DataFrame, rules: Collection[Any]) -> list:
    """GX expectations for the business rules GX can state exactly.

    An order is a pair comparison. A dependency on one column is a set of allowed value pairs,
    written only when every real value of the source is in the rule's table (a source value
    seen in fewer rows than the table needs would otherwise have to be listed, and the suite is
    published). Totals, rates and dependencies on two columns have no GX expectation that
    checks them row by row on a DataFrame; synthpipe checks those itself (the
    ``business_rules`` gate), as it does every rule.
    """
    out = []
    for rule in rules:
        if not all(c in train.columns for c in rule.columns):
            continue
        support = f"holds in {rule.support:.2%} of {rule.rows} real rows"
        if rule.kind == "order":
            if all(pd.api.types.is_datetime64_any_dtype(train[c]) for c in rule.columns):
                continue  # the date-order rules above already say it
            out.append(expect(
                "ExpectColumnPairValuesAToBeGreaterThanB", f"rule {rule.text()}: {support}",
                column_A=rule.column, column_B=rule.sources[0], or_equal=True,
                ignore_row_if="either_value_is_missing"))
        elif rule.kind == "dependency" and len(rule.sources) == 1:
            seen = {_py(v) for v in train[rule.sources[0]].dropna().unique()}
            keys = {k[0] for k in rule.table}
            if not seen <= keys:
                continue
            pairs = [[k[0], v] for k, v in rule.table.items()
                     if k[0] is not None and v is not None]
            out.append(expect(
                "ExpectColumnPairValuesToBeInSet", f"rule {rule.text()}: {support}",
                column_A=rule.sources[0], column_B=rule.column, value_pairs_set=pairs,
                ignore_row_if="either_value_is_missing"))
    return out


def _date_order_rules(train: pd.DataFrame, metadata: TableMetadata) -> list:
    """``B >= A`` for every pair of date columns where that holds in every real row."""
    cols = [c for c in metadata.names(ColumnKind.DATETIME)
            if pd.api.types.is_datetime64_any_dtype(train[c].dtype)]
    out = []
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            both = train[a].notna() & train[b].notna()
            support = int(both.sum())
            if support < MIN_PAIR_ROWS:
                continue
            try:
                va, vb = train.loc[both, a], train.loc[both, b]
                a_le_b, b_le_a = bool((va <= vb).all()), bool((vb <= va).all())
            except TypeError:  # tz-aware vs naive: not comparable, so no rule
                continue
            if a_le_b:
                early, late = a, b
            elif b_le_a:
                early, late = b, a
            else:
                continue
            out.append(expect(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                f"{late} >= {early} in all {support} real rows with both dates",
                column_A=late, column_B=early, or_equal=True,
                ignore_row_if="either_value_is_missing",
            ))
    return out


def _py(v: Any) -> Any:
    """Plain Python (JSON-able) version of a scalar."""
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return to_jsonable(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


__all__ = [
    "BOOL_TYPES",
    "DATETIME_TYPES",
    "FLOAT_TYPES",
    "INT_TYPES",
    "MIN_FORMAT_ROWS",
    "MIN_PAIR_ROWS",
    "NULL_SHARE_TOLERANCE",
    "STR_TYPES",
    "WHOLE_NUMBER_REGEX",
    "baseline_suite",
    "derive_suite",
    "outward_bounds",
    "outward_months",
]
