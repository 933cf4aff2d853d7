"""Find the business rules that hold in (nearly) every real row.

Rules are searched among the modelled columns only: identifiers and free text are protected or
dropped before any model sees them, so no rule ties a value to an identifier. Small support is
kept out in three ways:

- a dependency needs sources with at most ``rows / MIN_GROUP_ROWS`` distinct values (on average
  at least that many rows behind each value), and its lookup table keeps only combinations seen
  in at least ``MIN_GROUP_ROWS`` rows (other combinations get the common value, see
  :class:`~synthpipe.rules.kinds.Dependency`), so no rare combination is written down;
- every rule needs :data:`MIN_ROWS` rows with all its values present;
- an order ``a >= b`` is kept only when the columns' values overlap enough that independent
  columns would break it often (:data:`MIN_OVERLAP`): otherwise the columns' ranges already say
  it, and the rule is noise.

A rule is kept when it holds in at least :data:`MIN_SUPPORT` of those rows; the rows that break
it (a real row can be a typo) are not reproduced, and the report says how many there were.
Each column is fixed by at most one rule, and no rule's sources are fixed by another, so the
rules can be applied in one pass.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind, TableMetadata
from synthpipe.rules.kinds import (
    Combination,
    Dependency,
    Order,
    Product,
    Rule,
    Sum,
    decimals_of,
    tolerance,
)

log = logging.getLogger(__name__)

MIN_SUPPORT = 0.995
MIN_ROWS = 50
MIN_GROUP_ROWS = 10
MIN_OVERLAP = 0.05
#: Most distinct values of a dependency's source or dependent column.
MAX_LEVELS = 5000
#: Columns tried as the parts of one total (the largest are tried first).
MAX_PARTS = 4
#: A combination absent from the real rows is a rule when independent columns would have
#: produced it in at least this many rows (the chance of such an absence is below e^-10).
MIN_EXPECTED_ROWS = 10
#: Most labels of a column, and most real combinations of a group, modelled jointly.
MAX_COMBINATION_LABELS = 30
MAX_COMBINATIONS = 300
#: A group's joint labels seen in this many rows must cover this share of the rows.
MIN_COMBINATION_ROWS = 5
MIN_COMBINATION_COVER = 0.98
#: A group whose real combinations have this many rows each on average is modelled as one
#: joint column (its joint shares are then a marginal, which every model learns best); a
#: sparser group is modelled column by column and repaired (see docs/rules.md).
JOINT_MIN_MEAN_ROWS = 100
_SAMPLE = 512


def detect_rules(df: pd.DataFrame, metadata: TableMetadata,
                 declared: Iterable[Rule] = ()) -> list[Rule]:
    """Every rule found in ``df`` (see the module docstring), sources before dependents.

    Args:
        df: The real training rows (modelled columns; the target is left out by the caller).
        metadata: Column kinds.
        declared: Rules the user declared: their columns are neither fixed nor used as
            sources by a found rule.
    """
    if len(df) < MIN_ROWS:
        return []
    cols = [c for c in df.columns if c in metadata.columns
            and metadata.columns[c].kind in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL,
                                     ColumnKind.BOOLEAN)]
    declared = list(declared)
    computing = [r for r in declared if not isinstance(r, Order)]
    orders = [r for r in declared if isinstance(r, Order)]
    # A found rule fixes no column a declared rule fixes or reads.
    taken = {c for r in computing for c in r.columns}
    rules: list[Rule] = []
    # Arithmetic first: a charge fixed by its minutes is a rate, not a lookup table.
    for found in (_sums(df, metadata, cols, taken), _products(df, metadata, cols, taken),
                  _dependencies(df, cols, taken)):
        for rule in found:
            fixed = _fixed(rules) | _fixed(computing)
            if rule.column in taken or any(s in fixed for s in rule.sources) \
                    or rule.column in _sources(rules) \
                    or any(set(o.columns) <= fixed | {rule.column} for o in orders):
                continue
            rules.append(rule)
            taken.add(rule.column)
    # Orders may involve a derived column on one side (paid <= total): see construct.
    fixed = _fixed(rules) | _fixed(computing)
    ordered = {c for o in orders for c in o.columns}
    implied = {(r.column, p) for r in rules if isinstance(r, Sum) for p in r.sources}
    # A non-negative rate below 1 bounds its product by its source (and above 1 the reverse).
    implied |= {(r.sources[0], r.column) if r.rate <= 1 else (r.column, r.sources[0])
                for r in rules if isinstance(r, Product) and r.rate > 0}
    rules += _orders(df, metadata,
                     [c for c in cols if (c not in taken or c in fixed) and c not in ordered],
                     fixed, implied)
    rules += _combinations(df, metadata, [c for c in cols if c not in fixed and c not in taken],
                           rules)
    for r in rules:
        log.info("rule found: %s (holds in %.2f%% of %d rows)", r.text(), 100 * r.support, r.rows)
    return rules


def _fixed(rules: list[Rule]) -> set[str]:
    return {r.column for r in rules}


def _sources(rules: list[Rule]) -> set[str]:
    return {s for r in rules for s in r.sources}


# ---------------------------------------------------------------- dependencies


def _codes(s: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def _dependencies(df: pd.DataFrame, cols: list[str], taken: set[str]) -> list[Dependency]:
    """Columns fixed by one column, then by a pair; most distinct values decide first."""
    n = len(df)
    max_source = min(MAX_LEVELS, n // MIN_GROUP_ROWS)
    codes = {c: _codes(df[c]) for c in cols}
    usable = [c for c in cols if 2 <= codes[c][1] <= MAX_LEVELS]
    # A column with more values cannot be fixed by one with fewer: look at sources first.
    usable.sort(key=lambda c: -codes[c][1])
    roots: list[str] = []
    found: list[Dependency] = []
    for col in usable:
        best = None
        for src in roots:
            if codes[src][1] > max_source:
                continue
            support = _fd_support(codes[src], codes[col], n)
            if support >= MIN_SUPPORT and (best is None or codes[src][1] < codes[best[0]][1]):
                best = (src, support)
        if best is not None and col not in taken:
            found.append(_dependency(df, (best[0],), col, best[1]))
        else:
            roots.append(col)
    fixed = {d.column for d in found}
    found += _pair_dependencies(df, [c for c in roots if c not in fixed], codes, taken, n)
    return found


def _fd_support(src: tuple[np.ndarray, int], dep: tuple[np.ndarray, int], n: int) -> float:
    """Share of rows whose dependent value is the most common one for their source value."""
    (a, na), (b, nb) = src, dep
    if na * nb <= 4_000_000:
        counts = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb)
        support = float(counts.max(axis=1).sum()) / n
    else:
        pairs = pd.DataFrame({"a": a, "b": b}).value_counts()
        support = float(pairs.groupby(level=0).max().sum()) / n
    # A near-constant dependent is "fixed" by anything: the source must explain at least
    # nine tenths of the rows that differ from the dependent's most common value.
    baseline = float(np.bincount(b, minlength=nb).max()) / n
    if support < 1.0 and (1.0 - support) > 0.1 * (1.0 - baseline):
        return 0.0
    return support


def _pair_dependencies(df: pd.DataFrame, roots: list[str], codes: dict, taken: set[str],
                       n: int) -> list[Dependency]:
    """Columns fixed by a pair of columns that do not fix them alone."""
    small = [c for c in roots if codes[c][1] <= 200]
    found: list[Dependency] = []
    fixed: set[str] = set()
    for a, b in itertools.combinations(small, 2):
        ca, (cb, nb) = codes[a][0], codes[b]
        key, nk = _codes(pd.Series(ca * nb + cb))
        if nk > n // MIN_GROUP_ROWS:
            continue
        for col in roots:
            if col in (a, b) or col in fixed or col in taken or codes[col][1] >= nk:
                continue
            support = _fd_support((key, nk), codes[col], n)
            if support >= MIN_SUPPORT:
                found.append(_dependency(df, (a, b), col, support))
                fixed.add(col)
    # Sources of a pair rule must stay modelled.
    return [d for d in found if not set(d.sources) & fixed]


def _dependency(df: pd.DataFrame, sources: tuple[str, ...], col: str,
                support: float) -> Dependency:
    sub = df[[*sources, col]].astype(object)
    sub = sub.where(sub.notna(), None)
    counts = sub.value_counts(dropna=False)
    table: dict[tuple, object] = {}
    rows: dict[tuple, int] = {}
    for key, count in counts.items():
        src = key[: len(sources)]
        total = rows.get(src, 0) + int(count)
        rows[src] = total
        if src not in table:
            table[src] = key[-1]
    table = {k: _py(v) for k, v in table.items() if rows[k] >= MIN_GROUP_ROWS}
    fallback = _py(df[col].mode(dropna=True).iloc[0]) if df[col].notna().any() else None
    table = {tuple(_py(x) for x in k): v for k, v in table.items()}
    return Dependency(column=col, sources=sources, support=round(support, 6), rows=len(df),
                      table=table, fallback=fallback)


def _py(x: object) -> object:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return x.item() if isinstance(x, np.generic) else x


# ---------------------------------------------------------------- arithmetic


def _numeric(df: pd.DataFrame, metadata: TableMetadata, cols: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for c in cols:
        s = df[c]
        if metadata.columns[c].kind == ColumnKind.NUMERICAL and pd.api.types.is_numeric_dtype(s) \
                and not pd.api.types.is_bool_dtype(s) and s.nunique() >= 10:
            out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64")
    return out


def _sample_rows(n: int) -> np.ndarray:
    return np.random.default_rng(0).choice(n, size=min(n, _SAMPLE), replace=False)


def _holds(rule: Rule, df: pd.DataFrame) -> tuple[float, int]:
    present = rule.present(df)
    rows = int(present.sum())
    if rows < MIN_ROWS:
        return 0.0, rows
    return 1.0 - float(rule.violations(df).sum()) / rows, rows


def _sums(df: pd.DataFrame, metadata: TableMetadata, cols: list[str],
          taken: set[str]) -> list[Sum]:
    """Totals equal to the sum of two to four other columns (non-negative values)."""
    num = _numeric(df, metadata, cols)
    idx = _sample_rows(len(df))
    nonneg = {c: v for c, v in num.items() if np.nanmin(v) >= 0}
    found = []
    for total, t in nonneg.items():
        if total in taken:
            continue
        ts = t[idx]
        decimals = decimals_of(df[total])
        tol = tolerance(decimals)
        # A part never exceeds its total, and is not always zero.
        parts = [c for c, v in nonneg.items() if c != total
                 and np.all((v[idx] <= ts + tol) | np.isnan(v[idx]) | np.isnan(ts))
                 and np.nanmax(v) > 0]
        parts.sort(key=lambda c: -np.nanmean(nonneg[c][idx]))
        rule = _first_sum(df, total, ts, parts, {c: nonneg[c][idx] for c in parts}, decimals, tol)
        if rule is not None:
            found.append(rule)
    return found


def _first_sum(df: pd.DataFrame, total: str, ts: np.ndarray, parts: list[str],
               sampled: dict[str, np.ndarray], decimals: int, tol: float) -> Sum | None:
    """The smallest set of parts that adds up to the total.

    Sets of the twelve largest parts are tried; a set that misses in a few rows is completed
    by any one other part that equals the rest (a late fee that is rarely non-zero).
    """
    top = parts[:12]
    for k in range(2, min(MAX_PARTS, len(parts)) + 1):
        for combo in itertools.combinations(top, k):
            rule = _try_sum(df, total, ts, combo, sampled, decimals, tol)
            if rule is not None:
                return rule
        for combo in itertools.combinations(top, k - 1):
            rest = ts - np.sum([sampled[c] for c in combo], axis=0)
            for extra in parts:
                if extra not in combo and np.nanmax(np.abs(rest - sampled[extra])) <= tol:
                    rule = _try_sum(df, total, ts, (*combo, extra), sampled, decimals, tol)
                    if rule is not None:
                        return rule
    return None


def _try_sum(df: pd.DataFrame, total: str, ts: np.ndarray, combo: tuple[str, ...],
             sampled: dict[str, np.ndarray], decimals: int, tol: float) -> Sum | None:
    s = np.sum([sampled[c] for c in combo], axis=0)
    both = ~np.isnan(ts) & ~np.isnan(s)
    if both.sum() == 0 or (np.abs(ts - s) <= tol)[both].mean() < MIN_SUPPORT - 0.05:
        return None
    rule = Sum(column=total, sources=combo, decimals=decimals)
    support, rows = _holds(rule, df)
    if support < MIN_SUPPORT:
        return None
    rule.support, rule.rows = round(support, 6), rows
    return rule


def _products(df: pd.DataFrame, metadata: TableMetadata, cols: list[str],
              taken: set[str]) -> list[Product]:
    """A column equal to another times a fixed rate, rounded to its own decimals.

    Both directions of a pair can hold (minutes = charge / 0.17, up to rounding); the rate
    written with the fewest significant digits is the rule the business wrote.
    """
    num = _numeric(df, metadata, cols)
    idx = _sample_rows(len(df))
    candidates = []
    for col, y in num.items():
        if col in taken:
            continue
        decimals = decimals_of(df[col])
        for src, x in num.items():
            if src == col:
                continue
            xs, ys = x[idx], y[idx]
            ok = ~np.isnan(xs) & ~np.isnan(ys) & (np.abs(xs) > 0)
            if ok.sum() < 20:
                continue
            ratio = ys[ok] / xs[ok]
            med = float(np.median(ratio))
            if med == 0 or np.percentile(np.abs(ratio - med), 95) > 0.02 * abs(med):
                continue
            found = _snap_rate(df, col, src, med, decimals)
            if found is not None:
                candidates.append((found[0], -decimals, found[1]))
    # Fewest rate digits first; on a tie the column with more decimals is the rounded product.
    candidates.sort(key=lambda c: c[:2])
    chosen: list[Product] = []
    for _, _, rule in candidates:
        used = {c for r in chosen for c in r.columns}
        if rule.column not in used and rule.sources[0] not in {r.column for r in chosen}:
            chosen.append(rule)
    return chosen


def _snap_rate(df: pd.DataFrame, col: str, src: str, rate: float,
               decimals: int) -> tuple[int, Product] | None:
    """The rate with the fewest significant digits that explains the column, and its digits."""
    for digits in range(1, 8):
        r = float(f"{rate:.{digits}g}")
        rule = Product(column=col, sources=(src,), rate=r, decimals=decimals)
        support, rows = _holds(rule, df)
        if support >= MIN_SUPPORT:
            rule.support, rule.rows = round(support, 6), rows
            return digits, rule
    return None


def _orders(df: pd.DataFrame, metadata: TableMetadata, cols: list[str],
            fixed: set[str], implied: set[tuple[str, str]]) -> list[Order]:
    """``a >= b`` between numeric columns whose values overlap.

    A modelled column gets one source, the tightest (it is rebuilt from it); a derived column
    may bound several (each free side gives way, see construct). Both sides derived, or a
    total above its own non-negative part (the sum says it), is no new rule.
    """
    num = _numeric(df, metadata, cols)
    rng = np.random.default_rng(0)
    names = list(num)
    found: list[Order] = []
    anchored: set[str] = set()
    anchors: set[str] = set()
    for col in names:
        if col in anchors:
            continue
        kept = []
        for src in names:
            if src == col or src in anchored or (src in fixed and col in fixed) \
                    or (col, src) in implied:
                continue
            a, b = num[col], num[src]
            both = ~np.isnan(a) & ~np.isnan(b)
            if both.sum() < MIN_ROWS or np.any(a[both] < b[both]) or np.all(a[both] == b[both]):
                continue
            # Would independent columns break it? Pair values from different rows.
            i = rng.choice(np.flatnonzero(both), size=min(2000, int(both.sum())))
            j = rng.choice(np.flatnonzero(both), size=len(i))
            if float(np.mean(a[i] < b[j])) < MIN_OVERLAP:
                continue
            kept.append((float(np.std(a[both] - b[both])), src, int(both.sum())))
        if not kept:
            continue
        kept.sort()
        for _, src, rows in kept if col in fixed else kept[:1]:
            found.append(Order(column=col, sources=(src,), rows=rows))
            anchors.add(src)
        anchored.add(col)
    return found


def _combinations(df: pd.DataFrame, metadata: TableMetadata, cols: list[str],
                  rules: list[Rule]) -> list[Combination]:
    """Groups of categorical columns some of whose combinations never occur, though
    independent columns would have shown them in :data:`MIN_EXPECTED_ROWS` rows or more.

    Pairs with such an absence are joined into groups (connected pairs); a group is kept when
    its real combinations number at most :data:`MAX_COMBINATIONS`. Columns a dependency links
    are left out (the dependency already keeps their combinations).
    """
    n = len(df)
    linked = {c for r in rules if isinstance(r, Dependency) for c in r.columns}
    cats = [c for c in cols if c not in linked
            and metadata.columns[c].kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
            and 2 <= df[c].nunique(dropna=False) <= MAX_COMBINATION_LABELS]
    codes = {c: _codes(df[c]) for c in cats}
    parent = {c: c for c in cats}

    def root(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    edges = []
    for a, b in itertools.combinations(cats, 2):
        (ca, na), (cb, nb) = codes[a], codes[b]
        counts = np.bincount(ca * nb + cb, minlength=na * nb).reshape(na, nb)
        expected = np.outer(counts.sum(1), counts.sum(0)) / n
        absent = (counts == 0) & (expected >= MIN_EXPECTED_ROWS)
        if absent.any():
            edges.append((float(expected[absent].max()), a, b))
    # Strongest absences first; a join that would spread the rows over many rare joint labels
    # is skipped (the model merges labels seen in few rows, which would distort the columns).
    for _, a, b in sorted(edges, reverse=True):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        members = [c for c in cats if root(c) in (ra, rb)]
        sizes = pd.Series(np.zeros(n, dtype=np.int64))
        for c in members:
            sizes = sizes * codes[c][1] + codes[c][0]
        counts = sizes.value_counts()
        if counts[counts >= MIN_COMBINATION_ROWS].sum() >= MIN_COMBINATION_COVER * n:
            parent[rb] = ra
    groups: dict[str, list[str]] = {}
    for c in cats:
        groups.setdefault(root(c), []).append(c)
    found = []
    for group in groups.values():
        if len(group) < 2:
            continue
        sub = df[group].astype(object)
        sub = sub.where(sub.notna(), None)
        combos = sub.value_counts(dropna=False)
        if len(combos) > MAX_COMBINATIONS:
            continue
        allowed = [tuple(_py(x) for x in k) for k in combos.index]
        mode = "joint" if n / len(combos) >= JOINT_MIN_MEAN_ROWS else "repair"
        found.append(Combination(column=group[0], sources=tuple(group[1:]), rows=n,
                                 allowed=allowed, mode=mode,
                                 counts=[int(k) for k in combos.to_numpy()]))
    return found
