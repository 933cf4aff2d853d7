"""Rebalancing: from a ``--rebalance`` spec to exact class counts, sampled natively per class.

A spec is one of:

- a single share, ``0.5``: the minority (rarest training) class gets that share of the rows, the
  other classes split the rest in their training proportions;
- per-class shares, ``Y=0.3,N=0.7``: they must sum to 1; classes not named get no rows;
- per-class counts, ``Y=500,N=1500``: whole numbers; the total is their sum.

Counts are exact: shares are turned into whole rows by largest remainders, and every class is
sampled through the model's native conditioning (never by rejection).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import ConfigError, ModelError

log = logging.getLogger(__name__)


def _match_class(label: str, classes: list[Any]) -> Any:
    """The class whose string form is ``label`` (exact first, then case-insensitive)."""
    by_str = {str(c): c for c in classes}
    if label in by_str:
        return by_str[label]
    folded = {str(c).lower(): c for c in classes}
    if label.lower() in folded:
        return folded[label.lower()]
    raise ConfigError(
        f"rebalance spec names class {label!r}, which the target does not have",
        hint=f"known classes: {', '.join(map(str, classes))}",
    )


def _largest_remainder(shares: dict[Any, float], total: int) -> dict[Any, int]:
    raw = {k: v * total for k, v in shares.items()}
    counts = {k: math.floor(v) for k, v in raw.items()}
    left = total - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:left]:
        counts[k] += 1
    return counts


def plan_counts(
    spec: str, class_counts: dict[Any, int], n_rows: int | None, default_rows: int | None = None
) -> dict[Any, int]:
    """Turn a rebalance spec into the exact number of rows per class.

    Args:
        spec: ``0.5`` | ``A=0.3,B=0.7`` | ``A=500,B=1500``.
        class_counts: Training rows per class (decides which class is the minority).
        n_rows: Total rows asked for (``--rows``); a count spec must agree with it.
        default_rows: Total for share specs when ``n_rows`` is None (the training size).

    Returns:
        ``{class: rows}`` over every class (zero for classes that get none).

    Raises:
        ConfigError: The spec is malformed, names an unknown class, has negative values, or
            shares that do not sum to 1.
    """
    classes = list(class_counts)
    total_rows = n_rows if n_rows is not None else default_rows
    if len(classes) < 2:
        raise ConfigError("rebalancing needs a target with at least two classes")
    spec = spec.strip()
    if "=" not in spec:
        try:
            share = float(spec)
        except ValueError as exc:
            raise ConfigError(
                f"rebalance spec {spec!r} is neither a share nor class=value pairs",
                hint="use e.g. 0.5, or Y=0.3,N=0.7, or Y=500,N=1500",
            ) from exc
        if not 0.0 < share < 1.0:
            raise ConfigError(f"rebalance share {share} must be strictly between 0 and 1")
        if total_rows is None:
            raise ConfigError("a share spec needs a row count", hint="pass --rows")
        minority = min(classes, key=lambda c: (class_counts[c], str(c)))
        rest = {c: n for c, n in class_counts.items() if c != minority}
        rest_total = sum(rest.values())
        shares = {minority: share}
        shares.update({c: (1 - share) * n / rest_total for c, n in rest.items()})
        return _largest_remainder(shares, total_rows)
    pairs: dict[Any, float] = {}
    for part in spec.split(","):
        if "=" not in part:
            raise ConfigError(f"rebalance spec part {part!r} is not class=value")
        label, _, value = part.partition("=")
        cls = _match_class(label.strip(), classes)
        if cls in pairs:
            raise ConfigError(f"rebalance spec names class {label.strip()!r} twice")
        try:
            pairs[cls] = float(value)
        except ValueError as exc:
            raise ConfigError(f"rebalance value {value!r} for {label!r} is not a number") from exc
    if any(v < 0 for v in pairs.values()):
        raise ConfigError("rebalance values must not be negative", hint=f"got {spec!r}")
    is_counts = all(float(v).is_integer() for v in pairs.values()) and any(
        v > 1 for v in pairs.values()
    )
    if is_counts:
        counts = {c: int(pairs.get(c, 0)) for c in classes}
        total = sum(counts.values())
        if total == 0:
            raise ConfigError("rebalance counts add up to zero rows")
        if n_rows is not None and n_rows != total:
            raise ConfigError(
                f"rebalance counts add up to {total} rows but --rows asks for {n_rows}",
                hint="drop --rows or make the counts add up to it",
            )
        return counts
    if not math.isclose(sum(pairs.values()), 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"rebalance shares add up to {sum(pairs.values()):g}, not 1",
            hint="make the shares sum to 1, e.g. Y=0.3,N=0.7",
        )
    if total_rows is None:
        raise ConfigError("a share spec needs a row count", hint="pass --rows")
    shares = {c: pairs.get(c, 0.0) for c in classes}
    return _largest_remainder(shares, total_rows)


def sample_counts(
    model: Any,
    target: str,
    counts: dict[Any, int],
    seed: int = 0,
    progress: Callable[[str, int, int, dict], None] | None = None,
) -> pd.DataFrame:
    """Sample exactly ``counts[c]`` rows of each class ``c`` through native conditioning.

    Returns:
        The rows of all classes, shuffled (seeded).

    Raises:
        ModelError: The model returned a different number of rows of a class than asked.
    """
    parts = []
    for i, (cls, n) in enumerate(counts.items()):
        if n <= 0:
            continue
        part = model.sample(n, conditions={target: cls}, seed=seed + i, progress=progress)
        got = int((part[target] == cls).sum())
        if got != n or len(part) != n:
            raise ModelError(
                f"the model returned {got} rows of class {cls!r} out of {len(part)} for {n} asked",
                hint="this is a bug in the model's conditional sampling; please report it",
            )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    order = np.random.default_rng(seed).permutation(len(out))
    return out.iloc[order].reset_index(drop=True)


def augment_counts(
    spec: str, class_counts: dict[Any, int], mode: str = "augment"
) -> dict[Any, int]:
    """Synthetic rows to add per class so real + synthetic meets the spec.

    Real rows are never removed, so the final total is the smallest that lets every class reach
    its share with additions only. In ``augment`` mode a count spec gives final counts, each at
    least the real count. In ``synthetic`` mode the spec sized the synthetic output and the
    augmented table is only built for the downstream comparison, so a count spec is read as the
    class mix it asks for (``Y=30,N=60``: a third of Y): a spec valid for the synthetic output
    is then valid here too.

    Returns:
        ``{class: synthetic rows to add}`` (zero for classes that need none).

    Raises:
        ConfigError: As :func:`plan_counts`, or (augment mode) a count below the real rows of
            its class, or a zero share for a class that has real rows.
    """
    real_total = sum(class_counts.values())
    final = plan_counts(spec, class_counts, n_rows=None, default_rows=real_total)
    is_counts = sum(final.values()) != real_total or _is_count_spec(spec)
    if is_counts and mode == "augment":
        # A count spec: the counts are final sizes.
        short = {c: n for c, n in final.items() if n < class_counts[c]}
        if short:
            raise ConfigError(
                f"augment mode cannot remove real rows, but the spec asks for fewer rows than "
                f"the real data has for {', '.join(map(str, short))}",
                hint="ask for at least the real count of each class",
            )
        return {c: final[c] - class_counts[c] for c in class_counts}
    final_total = sum(final.values())
    shares = {c: final[c] / final_total for c in class_counts}
    if any(s == 0 and class_counts[c] > 0 for c, s in shares.items()):
        raise ConfigError(
            "augment mode keeps every real row, so no class can get a zero share",
            hint="give every class a positive share, or use the synthetic mode",
        )
    # Smallest total T with shares[c] * T >= real count for every class.
    total = max(class_counts[c] / s for c, s in shares.items() if s > 0)
    wanted = _largest_remainder(shares, math.ceil(total - 1e-9))
    return {c: max(0, wanted[c] - class_counts[c]) for c in class_counts}


def _is_count_spec(spec: str) -> bool:
    values = [p.partition("=")[2] for p in spec.split(",") if "=" in p]
    try:
        nums = [float(v) for v in values]
    except ValueError:
        return False
    return bool(nums) and all(v.is_integer() for v in nums) and any(v > 1 for v in nums)
