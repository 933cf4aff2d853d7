"""Section 4, the data contracts: the input contract and the derived synthetic suite.

Expectation arguments are coarsened before they are shown (``_safe_value``): a derived
suite's bounds and value sets come from the real rows, and the report publishes neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from synthpipe.jsonutil import to_jsonable
from synthpipe.report import fmt
from synthpipe.report.data import num


def rules_section(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Business rules found and declared: their support in the real rows, and how many
    synthetic rows break each (0 by construction). Rule texts name columns, never values."""
    rules = metrics.get("rules")
    if not isinstance(rules, Mapping):
        return {"computed": False}
    rows = []
    for r in rules.get("rules") or []:
        if not isinstance(r, Mapping):
            continue
        support = num(r.get("support"))
        rows.append({
            "rule": str(r.get("rule") or "?"),
            "origin": "declared" if r.get("declared") else "found",
            "kind": str(r.get("kind") or ""),
            "support": support,
            "real_rows": num(r.get("real_rows")),
            "broken_real": (round((1 - support) * num(r.get("real_rows")))
                            if support is not None and num(r.get("real_rows")) else None),
            "violations": num(r.get("violations")),
            "rows": num(r.get("rows")),
        })
    return {"computed": True, "rules": rows, "violations": num(rules.get("violations")),
            "policy": str(rules.get("policy") or "")}


def suite_section(report: Any) -> dict[str, Any]:
    """A validation report as failures in full and met expectations per column."""
    if not isinstance(report, Mapping):
        return {"computed": False}
    results = []
    for r in report.get("results") or []:
        if not isinstance(r, Mapping):
            continue
        name = str(r.get("expectation") or "?")
        column = r.get("column")
        kw = r.get("kwargs") if isinstance(r.get("kwargs"), Mapping) else {}
        if column is None and "column_A" in kw and "column_B" in kw:
            column = f"{kw['column_A']} / {kw['column_B']}"
        results.append(
            {
                "expectation": name,
                "short": _short_expectation(name),
                "column": column,
                "kwargs": _safe_kwargs(r.get("kwargs")),
                "success": r.get("success"),
                "observed": _compact(r.get("observed")),
            }
        )
    failed = [r for r in results if r["success"] is not True]
    passed = [r for r in results if r["success"] is True]
    # Met expectations are summarised per column: one line each instead of one per check.
    by_column: dict[str, list[str]] = {}
    for r in passed:
        by_column.setdefault(str(r["column"]) if r["column"] is not None else "(table)",
                             []).append(r["short"])
    return {
        "computed": True,
        "suite_name": report.get("suite_name"),
        "source": report.get("source"),
        "success": report.get("success"),
        "evaluated": report.get("evaluated", len(results)),
        "successful": report.get("successful", len(passed)),
        "failed": failed,
        "passed_by_column": [{"column": c, "checks": v} for c, v in by_column.items()],
    }


def _short_expectation(name: str) -> str:
    """expect_column_values_to_be_in_set -> in set (the full name stays in report.json)."""
    for prefix in ("expect_column_values_to_be_", "expect_column_values_to_",
                   "expect_column_", "expect_"):
        if name.startswith(prefix):
            return name[len(prefix):].replace("_", " ")
    return name.replace("_", " ")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
_SKIP_KWARGS = ("column", "batch_id", "result_format", "catch_exceptions", "meta", "notes",
                "id", "description")


def _safe_value(key: str, v: Any) -> str:
    """One expectation argument, coarsened: numbers to 3 significant digits, dates to the month,
    category sets counted. A derived suite's bounds are the real data's exact extremes (often one
    person's value) and its value sets hold rare labels; the report publishes neither."""
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if num(v) is not None:
        return fmt.fmt_num(float(f"{v:.3g}"))
    if isinstance(v, str):
        return v[:7] if _ISO_DATE.match(v) else fmt.truncate(v, 40)
    if isinstance(v, list):
        if key == "value_set":
            return f"{len(v)} allowed values"
        shown = ", ".join(_safe_value(key, x) for x in v[:4])
        return f"[{shown}{f', +{len(v) - 4} more' if len(v) > 4 else ''}]"
    return "{\u2026}"


def _safe_kwargs(kwargs: Any) -> str | None:
    if not isinstance(kwargs, Mapping):
        return None if kwargs is None else fmt.truncate(str(kwargs), 160)
    parts = [f"{k}={_safe_value(str(k), v)}" for k, v in kwargs.items() if k not in _SKIP_KWARGS]
    return fmt.truncate("; ".join(parts), 160) if parts else None


def _compact(value: Any, limit: int = 160) -> str | None:
    """A short readable text of a kwargs/observed value for a table cell."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k not in ("column", "batch_id")}
        if not value:
            return None
    text = value if isinstance(value, str) else json.dumps(to_jsonable(value), default=str)
    return fmt.truncate(text, limit)


__all__ = ["suite_section"]
