"""The kinds of business rule synthpipe keeps, each able to check itself and derive its column.

Every rule names one ``column`` that it fixes from its ``sources``:

- :class:`Dependency`: ``sources -> column``; the column's value is fixed by one or two other
  columns (``sub_grade -> grade``). Derived by a lookup table learnt from the real rows.
- :class:`Sum`: ``column = s1 + s2 + ...`` (a total and its parts), rounded to the total's
  decimals. One source is an exact copy.
- :class:`Product`: ``column = source * rate``, rounded to the column's decimals (a charge that
  is minutes times a fixed rate, in cents).
- :class:`Clock`: ``column = clock(start + minutes)``, clock times written HHMM, modulo a day
  (a departure time from its scheduled time and its delay).
- :class:`Combination`: only the real combinations of a few categorical columns occur; kept
  by modelling them as one joint column, not derived.
- :class:`Order`: ``column >= source`` (numeric). Not derived from its source alone: the model
  learns the non-negative gap, or the column is raised to its source (see
  :mod:`synthpipe.rules.construct`).

``violations`` returns a boolean mask of the rows that break a rule (rows where a value it needs
is missing do not count); ``derive`` returns the column's values computed from the sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd


def decimals_of(values: pd.Series, most: int = 6, share: float = 0.95) -> int:
    """Fewest decimals (up to ``most``) that write ``share`` of a numeric column exactly.

    Not every value: a few unrounded values (a computed total stored as 5202.64267) do not
    make a column of cents a column of micro-cents.
    """
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype="float64")
    if v.size == 0:
        return 0
    v = v[: 20_000]
    for d in range(most + 1):
        scaled = v * 10**d
        exact = np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1, np.abs(scaled))
        if exact.mean() >= share:
            return d
    return most


def tolerance(decimals: int) -> float:
    """Largest difference that rounding to ``decimals`` places explains (float error included)."""
    return 0.501 * 10.0 ** -decimals


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64")


@dataclass
class Rule:
    """What every rule has: the fixed column, its sources, and where the rule came from."""

    column: str
    sources: tuple[str, ...]
    declared: bool = False
    #: Share of the real rows (with every value present) where the rule holds, and how many.
    support: float = 1.0
    rows: int = 0
    kind: ClassVar[str] = "rule"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.sources, self.column)

    @property
    def computed(self) -> str:
        """The column this rule computes from the others (the fixed column, but see
        :class:`Sum`)."""
        return self.column

    def violations(self, df: pd.DataFrame) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def derive(self, df: pd.DataFrame) -> pd.Series:  # pragma: no cover - interface
        raise NotImplementedError

    def text(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:
        """JSON-able form (for the saved model and the manifest)."""
        return {"kind": self.kind, "column": self.column, "sources": list(self.sources),
                "declared": self.declared, "support": self.support, "rows": self.rows,
                "text": self.text(), **self._extra()}

    def _extra(self) -> dict[str, Any]:
        return {}

    def present(self, df: pd.DataFrame) -> np.ndarray:
        """Rows where every value the rule needs is present."""
        return df[list(self.columns)].notna().all(axis=1).to_numpy()


@dataclass
class Sum(Rule):
    """``column = sum(sources)``, to ``decimals`` places.

    ``high`` is the largest real total: parts drawn independently can add up to more than any
    real total, so :meth:`derive` scales the parts of such a row down (rounding each part down
    to its ``part_decimals``) until the total is back in the real range. The scaled parts keep
    their own ranges and their order among themselves.

    ``solve`` names a part computed as the total minus the other parts, when the total is a
    column of its own kind that a sum of drawn parts would not reproduce: loan amounts are
    round (78% multiples of 1,000 on loans), balances and paid principal are not, and a total
    computed from them was the detector's first clue (detection AUC 0.86). The total and the
    other parts are then modelled; where the others exceed the total they are scaled down to it.
    """

    decimals: int = 2
    high: float | None = None
    part_decimals: tuple[int, ...] = ()
    solve: str | None = None
    kind: ClassVar[str] = "sum"

    @property
    def computed(self) -> str:
        return self.solve or self.column

    def text(self) -> str:
        return f"{self.column} = {' + '.join(self.sources)}"

    def fit_range(self, df: pd.DataFrame) -> Sum:
        """Record the real total's maximum and each part's decimals."""
        total = _num(df, self.column)
        self.high = float(np.nanmax(total)) if np.isfinite(total).any() else None
        self.part_decimals = tuple(decimals_of(df[s]) for s in self.sources)
        return self

    def _total(self, df: pd.DataFrame) -> np.ndarray:
        return np.sum([_num(df, s) for s in self.sources], axis=0)

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        gap = np.abs(_num(df, self.column) - self._total(df))
        tol = tolerance(self.decimals)
        return self.present(df) & ~(gap <= tol)

    def rescale(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """The modelled parts, scaled down in the rows where they add up to more than they
        may (others unchanged): more than ``high``, or with ``solve`` more than the modelled
        total (the solved part is then zero or a rounding above)."""
        parts = {s: _num(df, s) for s in self.sources if s != self.solve}
        if not self.part_decimals:
            return parts
        if self.solve is not None:
            cap = _num(df, self.column)
        elif self.high is not None:
            cap = np.full(len(df), float(self.high))
        else:
            return parts
        return _scale_down(parts, dict(zip(self.sources, self.part_decimals, strict=True)), cap)

    def derive(self, df: pd.DataFrame) -> pd.Series:
        if self.solve is not None:
            rest = np.sum([_num(df, s) for s in self.sources if s != self.solve], axis=0)
            d = dict(zip(self.sources, self.part_decimals, strict=True)).get(self.solve,
                                                                             self.decimals)
            value = np.clip(np.round(_num(df, self.column) - rest, max(d, self.decimals)),
                            0, None)
            return pd.Series(value, index=df.index)
        return pd.Series(np.round(self._total(df), self.decimals), index=df.index)

    def _extra(self) -> dict[str, Any]:
        return {"decimals": self.decimals, "high": self.high,
                "part_decimals": list(self.part_decimals), "solve": self.solve}


def _scale_down(parts: dict[str, np.ndarray], decimals: dict[str, int],
                cap: np.ndarray) -> dict[str, np.ndarray]:
    """``parts`` scaled by one factor per row where their sum exceeds ``cap``, each rounded
    down to its ``decimals`` (so the sum stays at or below the cap, and the parts keep their
    order among themselves); other rows unchanged."""
    rest = np.sum(list(parts.values()), axis=0)
    over = rest > cap
    if not over.any():
        return parts
    factor = np.where(over, cap / np.where(over & (rest > 0), rest, 1.0), 1.0)
    for s, v in parts.items():
        scaled = np.floor(v * factor * 10**decimals[s] + 1e-9) / 10**decimals[s]
        parts[s] = np.where(over & (v > 0), scaled, v)
    return parts


@dataclass
class Product(Rule):
    """``column = sources[0] * rate``, rounded to ``decimals`` places."""

    rate: float = 1.0
    decimals: int = 2
    kind: ClassVar[str] = "product"

    def text(self) -> str:
        return f"{self.column} = {self.sources[0]} * {self.rate:g}"

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        gap = np.abs(_num(df, self.column) - _num(df, self.sources[0]) * self.rate)
        tol = tolerance(self.decimals)
        return self.present(df) & ~(gap <= tol)

    def derive(self, df: pd.DataFrame) -> pd.Series:
        return pd.Series(np.round(_num(df, self.sources[0]) * self.rate, self.decimals),
                         index=df.index)

    def _extra(self) -> dict[str, Any]:
        return {"rate": self.rate, "decimals": self.decimals}


@dataclass
class Order(Rule):
    """``column >= sources[0]`` in every row where both are present (numeric columns)."""

    kind: ClassVar[str] = "order"

    def text(self) -> str:
        return f"{self.column} >= {self.sources[0]}"

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        # Series comparison: numbers and timestamps alike; a missing value compares False.
        return self.present(df) & (df[self.column] < df[self.sources[0]]).to_numpy()

    def derive(self, df: pd.DataFrame) -> pd.Series:
        """The column raised to its source where it falls below it."""
        below = df[self.column] < df[self.sources[0]]
        return df[self.column].where(~below, df[self.sources[0]])


@dataclass
class Dependency(Rule):
    """``sources -> column``: each combination of source values fixes the column's value.

    ``table`` maps the source values (as a tuple, JSON-safe) to the column's value, for the
    combinations seen in at least ``min_rows`` real rows. A combination the table lacks gets
    the value of the nearest numeric key (one numeric source), else ``fallback``: the value of
    the most rows. Either way equal sources give equal values, so the rule holds in the output.
    """

    table: dict[tuple, Any] = field(default_factory=dict)
    fallback: Any = None
    kind: ClassVar[str] = "dependency"

    def text(self) -> str:
        return f"{', '.join(self.sources)} -> {self.column}"

    def _keys(self, df: pd.DataFrame) -> list[tuple]:
        cols = [df[s].astype(object).where(df[s].notna(), None) for s in self.sources]
        return list(zip(*(c.tolist() for c in cols), strict=True))

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        """Rows whose value differs from the one most rows with their sources have."""
        keys = pd.Series(self._keys(df), index=df.index).astype(str)
        values = df[self.column].astype(object).where(df[self.column].notna(), None).astype(str)
        pairs = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy()})
        counts = pairs.value_counts()
        mode = counts.groupby(level=0).idxmax().map(lambda kv: kv[1])
        expected = pairs["k"].map(mode)
        return (self.present(df) & (pairs["v"] != expected).to_numpy())

    def derive(self, df: pd.DataFrame) -> pd.Series:
        keys = self._keys(df)
        lookup = self.table
        numeric = None
        if len(self.sources) == 1:
            numbers = [k[0] for k in lookup if isinstance(k[0], (int, float))
                       and not isinstance(k[0], bool)]
            if numbers and len(numbers) == len(lookup):
                numeric = np.array(sorted(numbers), dtype="float64")
        out = []
        for key in keys:
            if key in lookup:
                out.append(lookup[key])
            elif numeric is not None and key[0] is not None:
                out.append(lookup[(_nearest(numeric, float(key[0])),)])
            else:
                out.append(self.fallback)
        return pd.Series(out, index=df.index, dtype=object)

    def _extra(self) -> dict[str, Any]:
        return {"table": [[*k, v] for k, v in self.table.items()], "fallback": self.fallback}


def _nearest(sorted_keys: np.ndarray, x: float) -> Any:
    i = int(np.clip(np.searchsorted(sorted_keys, x), 1, len(sorted_keys) - 1)) \
        if len(sorted_keys) > 1 else 0
    if len(sorted_keys) > 1 and abs(sorted_keys[i - 1] - x) <= abs(sorted_keys[i] - x):
        i -= 1
    value = sorted_keys[i]
    return int(value) if float(value).is_integer() else float(value)


@dataclass
class Clock(Rule):
    """``column = clock(sources[0] + sources[1])``: a clock time written HHMM (``517`` is
    05:17) equal to another clock time plus a number of minutes, modulo a day.

    A departure at ``dep_time`` that left ``dep_delay`` minutes after ``sched_dep_time``: the
    delay may run past midnight, so only the clock time follows from the other two, not the
    delay. ``midnight`` is how the column writes 00:00 (``0``, or ``2400`` in tables that count
    a day's minutes from 00:01 to 24:00).
    """

    midnight: int = 0
    kind: ClassVar[str] = "clock"

    def text(self) -> str:
        return f"{self.column} = clock({self.sources[0]} + {self.sources[1]})"

    def fit_midnight(self, df: pd.DataFrame) -> Clock:
        values = set(pd.to_numeric(df[self.column], errors="coerce").dropna().astype(int))
        self.midnight = 2400 if 2400 in values and 0 not in values else 0
        return self

    @staticmethod
    def _minutes(hhmm: np.ndarray) -> np.ndarray:
        return (hhmm // 100) * 60 + hhmm % 100

    def _expected(self, df: pd.DataFrame) -> np.ndarray:
        start, shift = _num(df, self.sources[0]), _num(df, self.sources[1])
        minutes = np.mod(self._minutes(start) + np.round(shift), 1440)
        hhmm = (minutes // 60) * 100 + minutes % 60
        return np.where(hhmm == 0, self.midnight, hhmm)

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        actual = _num(df, self.column)
        same = np.mod(self._minutes(actual) - self._minutes(self._expected(df)), 1440) == 0
        return self.present(df) & ~same

    def derive(self, df: pd.DataFrame) -> pd.Series:
        return pd.Series(self._expected(df), index=df.index)

    def _extra(self) -> dict[str, Any]:
        return {"midnight": self.midnight}


@dataclass
class Combination(Rule):
    """Only the real combinations of a few categorical columns occur (``column`` and
    ``sources`` together): a parked car has no collision type, a theft is never a major loss.

    Kept by modelling the columns as one joint column (see construct); ``allowed`` lists the
    combinations of the real rows, as tuples in column order (``None`` for missing).
    """

    allowed: list[tuple] = field(default_factory=list)
    #: ``repair``: the columns are modelled as they are and a sampled row whose combination
    #: never occurred takes a real combination that agrees with it on the most columns (drawn
    #: among ties in proportion to their real rows); ``joint``: the columns are modelled as
    #: one joint column.
    mode: str = "repair"
    #: Real rows of each combination of ``allowed`` (empty: a rule saved without them, whose
    #: ties go to the commonest combination).
    counts: list[int] = field(default_factory=list)
    kind: ClassVar[str] = "combination"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.sources)  # the order of the tuples in ``allowed``

    def text(self) -> str:
        return f"only real combinations of ({', '.join(self.columns)})"

    def _tuples(self, df: pd.DataFrame) -> list[tuple]:
        cols = [df[c].astype(object).where(df[c].notna(), None) for c in self.columns]
        return list(zip(*(c.tolist() for c in cols), strict=True))

    def present(self, df: pd.DataFrame) -> np.ndarray:
        return np.ones(len(df), dtype=bool)  # a missing value is a value of the combination

    def violations(self, df: pd.DataFrame) -> np.ndarray:
        allowed = set(self.allowed)
        return np.array([t not in allowed for t in self._tuples(df)], dtype=bool)

    def derive(self, df: pd.DataFrame) -> pd.Series:  # pragma: no cover - not derived
        raise NotImplementedError("combinations are repaired or modelled jointly, not derived")

    def repair(self, df: pd.DataFrame) -> dict[str, list]:
        """Each column's values with every unseen combination replaced (see ``mode``)."""
        rows = self._tuples(df)
        allowed = set(self.allowed)
        bad = [i for i, t in enumerate(rows) if t not in allowed]
        if bad and self.allowed:
            # Codes per column; ``allowed`` is ordered commonest first, so argmax's first
            # maximum is the commonest of the closest combinations.
            m = len(self.columns)
            labels = [{v: j for j, v in enumerate(dict.fromkeys(t[c] for t in self.allowed))}
                      for c in range(m)]
            table = np.array([[labels[c][t[c]] for c in range(m)] for t in self.allowed])
            # Among the closest combinations one is drawn in proportion to its real rows:
            # always taking the commonest pushed every repair the same way (insurance_claims:
            # a theft sampled with a collision type became a single-vehicle collision, never
            # a theft without one, and the collision type's missing share fell out of the real
            # range). Seeded by the rows themselves, so a seeded sample repairs the same way.
            # A rule saved without counts keeps the commonest of the closest (argmax, above).
            weights = (np.asarray(self.counts, dtype=float)
                       if len(self.counts) == len(self.allowed) else None)
            rng = np.random.default_rng([len(rows), len(bad)])
            for start in range(0, len(bad), 4096):
                chunk = bad[start:start + 4096]
                got = np.array([[labels[c].get(rows[i][c], -1) for c in range(m)]
                                for i in chunk])
                agree = (got[:, None, :] == table[None, :, :]).sum(axis=2)
                if weights is None:
                    picks = agree.argmax(axis=1)
                else:
                    p = (agree == agree.max(axis=1, keepdims=True)) * weights[None, :]
                    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
                    picks = np.minimum((cum < rng.random(len(chunk))[:, None]).sum(axis=1),
                                       len(self.allowed) - 1)
                for i, k in zip(chunk, picks, strict=True):
                    rows[i] = self.allowed[int(k)]
        return {c: [t[j] for t in rows] for j, c in enumerate(self.columns)}

    def _extra(self) -> dict[str, Any]:
        return {"allowed": [list(t) for t in self.allowed], "mode": self.mode,
                "counts": [int(k) for k in self.counts]}


KINDS: dict[str, type[Rule]] = {
    k.kind: k for k in (Sum, Product, Order, Dependency, Clock, Combination)
}


def rule_from_state(state: dict[str, Any]) -> Rule:
    """Inverse of :meth:`Rule.to_state`."""
    cls = KINDS[state["kind"]]
    common = dict(column=state["column"], sources=tuple(state["sources"]),
                  declared=bool(state.get("declared", False)),
                  support=float(state.get("support", 1.0)), rows=int(state.get("rows", 0)))
    if cls is Sum:
        return Sum(**common, decimals=int(state["decimals"]), high=state.get("high"),
                   part_decimals=tuple(state.get("part_decimals") or ()),
                   solve=state.get("solve"))
    if cls is Product:
        return Product(**common, rate=float(state["rate"]), decimals=int(state["decimals"]))
    if cls is Combination:
        return Combination(**common, allowed=[tuple(_key(x) for x in row)
                                              for row in state.get("allowed", [])],
                           counts=[int(k) for k in state.get("counts", [])],
                           mode=str(state.get("mode", "joint")))
    if cls is Clock:
        return Clock(**common, midnight=int(state.get("midnight", 0)))
    if cls is Dependency:
        n = len(common["sources"])
        table = {tuple(_key(x) for x in row[:n]): row[n] for row in state["table"]}
        return Dependency(**common, table=table, fallback=state.get("fallback"))
    return Order(**common)


def _key(x: Any) -> Any:
    # JSON turns 3.0 into 3.0 and 3 into 3; keys compare as the values the frame holds.
    return int(x) if isinstance(x, float) and x.is_integer() else x
