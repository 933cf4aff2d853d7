"""Business rules of a table: found in the real rows or declared, kept by construction.

- :mod:`synthpipe.rules.kinds`: the rule kinds (dependency, sum, rate, clock time, order);
- :mod:`synthpipe.rules.detect`: finding the rules that hold in (nearly) every real row;
- :mod:`synthpipe.rules.parse`: the declared-rule syntax, checked against the data;
- :mod:`synthpipe.rules.construct`: modelling what the rules leave free and deriving the rest;
- :func:`check_rules`: each rule's violation share in a table (the output's must be 0).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthpipe.rules.construct import TableRules
from synthpipe.rules.detect import MIN_SUPPORT, detect_rules
from synthpipe.rules.kinds import Clock, Dependency, Order, Product, Rule, Sum, rule_from_state
from synthpipe.rules.parse import declared_rules, parse_rule


def check_rules(rules: list[Rule], df: pd.DataFrame) -> list[dict[str, Any]]:
    """Each rule with its real support and its violations in ``df`` (rows and share)."""
    out = []
    for r in rules:
        if not all(c in df.columns for c in r.columns):
            continue
        bad = int(r.violations(df).sum())
        rows = int(r.present(df).sum())
        out.append({"rule": r.text(), "kind": r.kind, "declared": r.declared,
                    "support": r.support, "real_rows": r.rows, "rows": rows,
                    "violations": bad, "violation_share": bad / rows if rows else 0.0})
    return out


__all__ = ["MIN_SUPPORT", "Clock", "Dependency", "Order", "Product", "Rule", "Sum", "TableRules",
           "check_rules", "declared_rules", "detect_rules", "parse_rule", "rule_from_state"]
