"""Validation outcomes in words: the result types, and a readable account of each result.

GX reports what it found as nested dicts of counts and partial value lists; the pipeline's
error messages, metrics.json and the report need one short sentence per expectation instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.jsonutil import to_jsonable

# Examples of offending values shown per failed expectation.
EXAMPLES = 5


@dataclass
class ExpectationResult:
    """Outcome of one expectation.

    Attributes:
        expectation: GX expectation type, e.g. ``"expect_column_values_to_be_between"``.
        column: The column it is about (None for table-level and column-pair expectations).
        kwargs: The expectation's arguments (JSON-able).
        success: Whether it held.
        observed: A short readable account of what was found.
    """

    expectation: str
    column: str | None
    kwargs: dict = field(default_factory=dict)
    success: bool = True
    observed: str = ""

    def failure_line(self) -> str:
        """One readable line naming the column, the expectation and what was found."""
        if self.column is not None:
            where = self.column
        elif "column_A" in self.kwargs and "column_B" in self.kwargs:
            where = f"{self.kwargs['column_A']}/{self.kwargs['column_B']}"
        else:
            where = "table"
        shown = ", ".join(
            f"{k}={_short(v, 60)}"
            for k, v in self.kwargs.items()
            if k not in ("column", "column_A", "column_B") and v is not None
        )
        return f"{where}: {self.expectation}({shown}) failed: {self.observed}"


@dataclass
@dataclass
class ValidationReport:
    """Outcome of validating one table against one suite.

    Attributes:
        suite_name: Name of the suite.
        success: Whether every expectation held.
        evaluated: Number of expectations evaluated.
        successful: Number that held.
        results: One entry per expectation, in suite order.
    """

    suite_name: str
    success: bool
    evaluated: int
    successful: int
    results: list[ExpectationResult] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """One readable line per failed expectation."""
        return [r.failure_line() for r in self.results if not r.success]

    def to_dict(self) -> dict:
        """JSON-able form (for metrics.json and the report)."""
        return {
            "suite_name": self.suite_name,
            "success": self.success,
            "evaluated": self.evaluated,
            "successful": self.successful,
            "failures": self.failures,
            "results": [asdict(r) for r in self.results],
        }


def describe_result(etype: str, kwargs: dict, res: dict, exc: Any, df: pd.DataFrame) -> str:
    """A short readable account of one result."""
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    absent = [c for c in cols if c not in df.columns]
    if absent:
        return f"column {absent[0]!r} is missing" if len(absent) == 1 else \
            f"columns {absent} are missing"
    if etype == "expect_column_to_exist":
        return "column present"
    message = _exception_message(exc)
    if message:
        return f"could not be evaluated: {message}"
    if etype == "expect_table_columns_to_match_set":
        mismatch = (res.get("details") or {}).get("mismatched") or {}
        parts = [f"{k} columns {_short(v)}" for k, v in mismatch.items() if v]
        return "; ".join(parts) if parts else f"columns {_short(res.get('observed_value'))}"
    if "unexpected_count" in res:
        return _describe_unexpected(etype, kwargs, res, df)
    obs = res.get("observed_value")
    if etype == "expect_table_row_count_to_be_between":
        return f"{obs} rows"
    if etype == "expect_column_proportion_of_non_null_values_to_be_between":
        return f"non-null share {_num(obs)}" if obs is not None else "no rows"
    if etype == "expect_column_unique_value_count_to_be_between":
        return f"{obs} distinct value{'s' if obs != 1 else ''}"
    if etype == "expect_column_values_to_be_in_type_list":
        return f"column dtype is {obs}"
    return f"observed {_short(obs)}" if obs is not None else "no observed value"


def _describe_unexpected(etype: str, kwargs: dict, res: dict, df: pd.DataFrame) -> str:
    n = int(res.get("unexpected_count") or 0)
    pct = res.get("unexpected_percent")
    share = f" ({_pct(pct)})" if pct is not None and n else ""
    examples = _examples(res.get("partial_unexpected_list") or [])
    tail = f": {examples}" if n and examples else ""
    if n == 0:
        return "no missing values" if etype == "expect_column_values_to_not_be_null" \
            else "0 unexpected values"
    if etype == "expect_column_values_to_not_be_null":
        return f"{n} missing value{_s(n)}{share}"
    if etype == "expect_column_values_to_be_null":
        return f"{n} non-missing value{_s(n)}{share}{tail}"
    if etype == "expect_column_values_to_be_unique":
        return f"{n} rows share a duplicated value{share}{tail}"
    if etype == "expect_column_values_to_be_in_set":
        return f"{n} value{_s(n)} outside the set{share}{tail}"
    if etype == "expect_column_values_to_match_regex":
        return f"{n} value{_s(n)} not matching the pattern{share}{tail}"
    if etype == "expect_column_values_to_be_in_type_list":
        return f"{n} value{_s(n)} of another type{share}{tail}"
    if etype == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if kwargs.get("or_equal") else "<="
        return f"{n} row{_s(n)} where {kwargs['column_A']} {op} {kwargs['column_B']}{share}{tail}"
    if etype == "expect_column_values_to_be_between":
        split = _between_split(df[kwargs["column"]], kwargs)
        if split:
            return f"{split}{share}{tail}"
    return f"{n} unexpected value{_s(n)}{share}{tail}"


def _between_split(s: pd.Series, kwargs: dict) -> str:
    """'12 values below 0, 3 above 100', recounted on the data (GX only gives the total)."""
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    try:
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            lo_v = pd.Timestamp(lo) if lo is not None else None
            hi_v = pd.Timestamp(hi) if hi is not None else None
        else:
            lo_v, hi_v = lo, hi
        below = int((s < lo_v).sum() if not kwargs.get("strict_min") else (s <= lo_v).sum()) \
            if lo_v is not None else 0
        above = int((s > hi_v).sum() if not kwargs.get("strict_max") else (s >= hi_v).sum()) \
            if hi_v is not None else 0
    except (TypeError, ValueError):
        return ""
    parts = []
    if below:
        parts.append(f"{below} value{_s(below)} below {_short(lo)}")
    if above:
        parts.append(f"{above} value{_s(above)} above {_short(hi)}")
    return ", ".join(parts)


def _exception_message(exc: Any) -> str:
    """The first exception message in GX's (possibly per-metric nested) exception_info."""
    if not isinstance(exc, dict):
        return ""
    if exc.get("raised_exception") and exc.get("exception_message"):
        return str(exc["exception_message"]).splitlines()[0]
    for v in exc.values():
        if isinstance(v, dict) and v.get("exception_message"):
            return str(v["exception_message"]).splitlines()[0]
    return ""


def _short(v: Any, limit: int = 80) -> str:
    # A number reads as one, nan and inf included (JSON would write them as null).
    v = float(v) if isinstance(v, (float, np.floating)) else to_jsonable(v)
    if isinstance(v, list) and len(v) > 8:
        text = "[" + ", ".join(repr(x) for x in v[:8]) + f", ... +{len(v) - 8}]"
    elif isinstance(v, float):
        text = _num(v)
    elif isinstance(v, str):
        text = f"'{v}'"  # no repr: a regex shown with doubled backslashes is hard to read
    else:
        text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _examples(values: list) -> str:
    """Up to EXAMPLES distinct offending values, shortened."""
    seen: list[str] = []
    for v in values:
        text = _short(tuple(v) if isinstance(v, (list, tuple)) else v, 40)
        if text not in seen:
            seen.append(text)
        if len(seen) == EXAMPLES:
            break
    return "[" + ", ".join(seen) + "]" if seen else ""


def _num(v: Any) -> str:
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return str(v)


def _pct(p: float) -> str:
    return f"{p:.1f}%" if p >= 0.1 or p == 0 else "<0.1%"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


__all__ = ["EXAMPLES", "ExpectationResult", "ValidationReport", "describe_result"]
