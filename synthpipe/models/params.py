"""Parameter constraints: one declarative table per model, checked in one place.

Each model class declares ``_parameter_constraints``: for every constructor parameter, the
kinds of value it accepts (as scikit-learn's ``_parameter_constraints`` does). A value passes
when it satisfies any of them; ``None`` in the list means None is allowed.
:meth:`synthpipe.models.base.Synthesizer.fit` checks the table of the model's class and of its
bases before any work, so a bad ``model.params`` in a run config fails in a second, naming the
parameter, its value and what it accepts, not deep inside training.

Constraint kinds:

- :class:`Interval`: an integer or a real number in a range, each end open or closed.
- :class:`Options`: one of a fixed set of values.
- :class:`Widths`: a non-empty list of positive integer layer widths.
- ``bool``, ``str``: a value of that type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthpipe.errors import ModelError


@dataclass(frozen=True)
class Interval:
    """A number in ``[lo, hi]``, ``(lo, hi)`` or half-open; None for no bound on that side.

    Attributes:
        kind: ``int`` (a whole number; bool is not one) or ``float`` (any finite number).
        lo: Lower bound (None: none).
        hi: Upper bound (None: none).
        closed: Which ends are included: ``both``, ``left``, ``right`` or ``neither``.
    """

    kind: type
    lo: float | None
    hi: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value) or (self.kind is int and not float(value).is_integer()):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.lo is not None and not (value >= self.lo if left else value > self.lo):
            return False
        return self.hi is None or (value <= self.hi if right else value < self.hi)

    def __str__(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.lo is not None and self.hi is not None:
            lb = "[" if self.closed in ("both", "left") else "("
            rb = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {lb}{self.lo:g}, {self.hi:g}{rb}"
        if self.lo is not None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.lo:g}"
        if self.hi is not None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.hi:g}"
        return what


@dataclass(frozen=True)
class Options:
    """One of ``values``."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Widths:
    """A non-empty list (or tuple) of positive integer layer widths."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            return False
        items = list(value)
        return bool(items) and all(Interval(int, 1, None).accepts(v) for v in items)

    def __str__(self) -> str:
        return "a non-empty list of positive layer widths, e.g. [256, 256]"


def _accepts(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        return isinstance(value, constraint) and (constraint is bool or not isinstance(
            value, bool))
    return bool(constraint.accepts(value))


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return {bool: "true or false", str: "text", Path: "a path"}.get(
            constraint, constraint.__name__)
    return str(constraint)


def check_params(model: str, params: Mapping[str, Any],
                 constraints: Mapping[str, list[Any]]) -> None:
    """Raise on the first parameter whose value satisfies none of its constraints.

    Args:
        model: The model's name, for the message.
        params: Parameter values (``get_params()``).
        constraints: Parameter name -> accepted kinds (a parameter without an entry is not
            checked).

    Raises:
        ModelError: ``"<model> parameter <name>=<value> is invalid"``, the hint listing what
            it accepts.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if not any(_accepts(c, value) for c in allowed):
            raise ModelError(
                f"{model} parameter {name}={value!r} is invalid",
                hint="use " + " or ".join(_describe(c) for c in allowed),
            )


def constraints_of(cls: type) -> dict[str, list[Any]]:
    """The constraint table of ``cls``: its own entries over those of its bases."""
    table: dict[str, list[Any]] = {}
    for klass in reversed(cls.__mro__):
        table.update(vars(klass).get("_parameter_constraints", {}))
    return table


#: Numbers every model shares (training loop settings; TrainConfig takes them by name).
UNIT = Interval(float, 0.0, 1.0)
POSITIVE = Interval(float, 0.0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0.0, None)
COUNT = Interval(int, 1, None)
TRAINING: dict[str, list[Any]] = {
    "lr": [POSITIVE],
    "weight_decay": [NON_NEGATIVE],
    "ema_decay": [Interval(float, 0.0, 1.0, closed="neither"), None],
    "val_fraction": [Interval(float, 0.0, 1.0, closed="left")],
    "patience": [COUNT, None],
    "class_balance": [UNIT],
    "grad_clip": [POSITIVE, None],
    "lr_schedule": [Options(("cosine", "linear", "constant"))],
    "warmup_steps": [Interval(int, 0, None)],
    "amp": [bool],
    "checkpoint_path": [str, Path, None],
}
#: The TableTransformer's options.
ENCODING: dict[str, list[Any]] = {
    "numerical": [Options(("quantile", "mode"))],
    "rare_min_count": [Interval(int, 0, None)],
    "max_categories": [COUNT],
}


__all__ = [
    "COUNT",
    "ENCODING",
    "NON_NEGATIVE",
    "POSITIVE",
    "TRAINING",
    "UNIT",
    "Interval",
    "Options",
    "Widths",
    "check_params",
    "constraints_of",
]
