"""Declared rules: a small readable syntax, checked against the real table.

One rule per string::

    total_claim_amount = injury_claim + property_claim + vehicle_claim   # a total
    total_day_charge = total_day_minutes * 0.17                          # a rate (rounded
                                                                         # to the column's cents)
    sub_grade -> grade                                                   # a dependency
    origin, dest -> distance                                             # fixed by a pair
    report_date >= incident_date                                         # an order (or <=)
    dep_time = clock(sched_dep_time + dep_delay)                         # HHMM clock times,
                                                                         # modulo a day

A declared rule the real data breaks is an input error that names the rows: synthpipe keeps
declared rules in every synthetic row, so it will not invent one the data does not follow.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthpipe.errors import InputError
from synthpipe.rules.kinds import Clock, Dependency, Order, Product, Rule, Sum, decimals_of

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SHOW_ROWS = 5


def parse_rule(text: str) -> Rule:
    """One declared rule, without its data (see the module docstring for the syntax)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"rule {text!r} is empty or not text",
                         hint='write it as "total = a + b", "a -> b" or "a >= b"')
    t = text.strip()
    if "->" in t:
        left, right = (p.strip() for p in t.split("->", 1))
        sources = tuple(s.strip() for s in left.split(",") if s.strip())
        if not sources or len(sources) > 2 or not right or "," in right:
            raise InputError(f"rule {text!r}: a dependency is 'a -> b' or 'a, b -> c'",
                             hint="name one or two source columns and one dependent column")
        return Dependency(column=right, sources=sources, declared=True)
    m = re.fullmatch(r"(.+?)\s*(>=|<=)\s*(.+)", t)
    if m:
        a, op, b = m.group(1).strip(), m.group(2), m.group(3).strip()
        col, src = (a, b) if op == ">=" else (b, a)
        return Order(column=col, sources=(src,), declared=True)
    if re.search(r"[<>]|!=", t):
        raise InputError(f"rule {text!r}: only >= and <= orders are supported",
                         hint="write a strict order as >= (equal values are then allowed)")
    if "=" in t:
        left, right = (p.strip() for p in t.split("=", 1))
        m = re.fullmatch(r"clock\(\s*(.+?)\s*\+\s*(.+?)\s*\)", right)
        if m:
            return Clock(column=left, sources=(m.group(1), m.group(2)), declared=True)
        m = re.fullmatch(rf"(.+?)\s*\*\s*({_NUMBER})|({_NUMBER})\s*\*\s*(.+)", right)
        if m:
            src = (m.group(1) or m.group(4)).strip()
            rate = float(m.group(2) or m.group(3))
            return Product(column=left, sources=(src,), rate=rate, declared=True)
        parts = tuple(p.strip() for p in right.split("+"))
        if left and all(parts) and not any(re.search(r"[*/()-]", p) for p in parts):
            return Sum(column=left, sources=parts, declared=True)
    raise InputError(
        f"rule {text!r} is not one synthpipe can keep",
        hint='use "total = a + b [+ ...]", "charge = minutes * 0.17", "a -> b", '
             '"a, b -> c", "a >= b" or "time = clock(start + minutes)"',
    )


def declared_rules(texts: Sequence[str], df: pd.DataFrame, modelled: Sequence[str],
                   target: str | None = None) -> list[Rule]:
    """Parse declared rules and check each against the real rows.

    Args:
        texts: The rules as written in the configuration.
        df: The real table (after PII protection).
        modelled: Columns the model learns (a rule on a dropped or faked column cannot hold).
        target: The label column, which rules may not fix or read (it is sampled as asked).

    Raises:
        InputError: A rule that does not parse, names an unknown or unmodelled column, fixes a
            column twice or reads a fixed one, or that the real data breaks (rows named).
    """
    from synthpipe.rules.detect import _dependency

    rules = [parse_rule(text) for text in texts]
    for text, rule in zip(texts, rules, strict=True):
        for col in rule.columns:
            _check_column(text, col, df, modelled, target)
    _check_structure(texts, rules)
    for text, rule in zip(texts, rules, strict=True):
        if isinstance(rule, Clock):
            rule.fit_midnight(df)
        if isinstance(rule, (Sum, Product, Clock)):
            for col in rule.columns:
                s = df[col]
                if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                    raise InputError(f"rule {text!r}: column {col!r} is not numeric",
                                     hint="sums and rates need numeric columns")
            rule.decimals = decimals_of(df[rule.column])
        if isinstance(rule, Dependency):
            # Like a found one, the table keeps only combinations behind enough real rows.
            found = _dependency(df, rule.sources, rule.column, 1.0)
            rule.table, rule.fallback = found.table, found.fallback
        _check_holds(text, rule, df)
    return rules


def _check_column(text: str, col: str, df: pd.DataFrame, modelled: Sequence[str],
                  target: str | None) -> None:
    if col not in df.columns:
        close = difflib.get_close_matches(col, [str(c) for c in df.columns], n=1)
        raise InputError(f"rule {text!r} names column {col!r}, which the table does not have",
                         hint=f"did you mean {close[0]!r}?" if close
                         else "check the column names (synthpipe profile TABLE lists them)")
    if col == target:
        raise InputError(f"rule {text!r} uses the target column {col!r}",
                         hint="the label is sampled as asked (rebalancing); leave it out of rules")
    if col not in modelled:
        raise InputError(f"rule {text!r} uses column {col!r}, which is not modelled "
                         "(dropped, faked or an identifier)",
                         hint="remove the rule, or change the column's PII action or kind")


def _check_holds(text: str, rule: Rule, df: pd.DataFrame) -> None:
    bad = rule.violations(df)
    present = rule.present(df)
    rule.rows = int(present.sum())
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(int(i) + 1) for i in rows[:_SHOW_ROWS])
        raise InputError(
            f"declared rule {text!r} is broken by {len(rows)} of {len(df)} real rows "
            f"(rows {shown}{', ...' if len(rows) > _SHOW_ROWS else ''}, counting from 1)",
            hint="fix those rows, or remove the rule (rules found in the data are kept "
                 "anyway when they hold in nearly every row)",
        )
    rule.support = 1.0


def _check_structure(texts: Sequence[str], rules: list[Rule]) -> None:
    """Rules are undone in one pass: each column computed once, nothing computed from a
    computed column, and no order between two computed columns (neither side could give way).
    """
    computed: dict[str, str] = {}
    for text, rule in zip(texts, rules, strict=True):
        if isinstance(rule, Order):
            continue
        if rule.column in computed:
            raise InputError(f"rules {computed[rule.column]!r} and {text!r} both fix "
                             f"{rule.column!r}", hint="keep one of them")
        computed[rule.column] = text
    for text, rule in zip(texts, rules, strict=True):
        if isinstance(rule, Order):
            if all(c in computed for c in rule.columns):
                raise InputError(
                    f"rule {text!r} orders two columns that other rules compute",
                    hint="drop the order, or declare it between modelled columns",
                )
            continue
        for col in rule.sources:
            if col in computed:
                raise InputError(
                    f"rule {text!r} reads {col!r}, which rule {computed[col]!r} computes",
                    hint="write the rule in terms of modelled columns (expand the other rule)",
                )
