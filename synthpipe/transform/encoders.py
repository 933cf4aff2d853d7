"""Per-kind column encoders: one pandas column <-> a few numeric parts.

Each encoder turns one column into *parts*, one per output span (see
:class:`synthpipe.transform.Span`): a continuous part is a float array of shape ``(n,)``, a
discrete part is an int array of category codes of shape ``(n,)``. The table transformer lays the
parts out (continuous first, then one-hot blocks) and inverts them. Every encoder is vectorized
and stores its fitted state as plain JSON (lists, floats, strings) so a saved model never needs
pickle.

The encoders are in :mod:`synthpipe.transform.numeric` (numbers and dates) and
:mod:`synthpipe.transform.categorical` (labels and flags); this module holds their interface,
the :class:`Span` they lay out, and the registry a saved model's state is rebuilt from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthpipe.errors import ModelError

logger = logging.getLogger(__name__)



#: Kind -> encoder class, filled as the encoder classes are defined (see from_state).
_ENCODERS: dict[str, type[ColumnEncoder]] = {}


@dataclass(frozen=True)
class Span:
    """One block of the encoded table.

    Attributes:
        column: Source column.
        kind: ``"continuous"`` (one dimension, roughly N(0, 1)) or ``"discrete"`` (a one-hot
            block of ``dim`` categories).
        dim: Width of the block.
        role: ``"value"``, ``"missing"`` (missing indicator of ``column``) or ``"mode"``
            (component of a mode-specific normalization).
    """

    column: str
    kind: str
    dim: int
    role: str = "value"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"column": self.column, "kind": self.kind, "dim": self.dim, "role": self.role}


def native(v: Any) -> Any:
    """A numpy scalar as the equivalent Python value (JSON needs natives)."""
    return v.item() if isinstance(v, np.generic) else v


class ColumnEncoder:
    """Base of the per-kind encoders.

    Subclasses implement :meth:`fit`, :meth:`spans`, :meth:`encode`, :meth:`decode`,
    :meth:`to_state` and :meth:`_set_state`.
    """

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A saved state names its encoder's kind; from_state finds the class here, so this
        # module never imports the encoders (which import it).
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _ENCODERS[cls.kind] = cls

    def __init__(self, column: str) -> None:
        self.column = column

    def fit(self, s: pd.Series) -> ColumnEncoder:  # pragma: no cover - interface
        raise NotImplementedError

    def spans(self) -> list[Span]:  # pragma: no cover - interface
        raise NotImplementedError

    def encode(self, s: pd.Series) -> list[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, parts: list[np.ndarray]) -> pd.Series:  # pragma: no cover - interface
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def from_state(state: dict[str, Any]) -> ColumnEncoder:
        """Rebuild a fitted encoder from :meth:`to_state` output."""
        cls = _ENCODERS.get(state.get("type", ""))
        if cls is None:
            raise ModelError(
                f"unknown column encoder type {state.get('type')!r} in saved state",
                hint="the model was saved by an incompatible synthpipe version; refit it",
            )
        enc = cls.__new__(cls)
        enc.column = state["column"]
        enc._set_state(state)
        return enc


__all__ = ["ColumnEncoder", "Span", "native"]
