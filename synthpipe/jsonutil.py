"""One way to turn synthpipe's results into JSON.

Every JSON file synthpipe writes (metrics, manifest, suites, report data, model config) goes
through :func:`to_jsonable`, so the files agree on how a value is written: a non-finite float
(NaN, inf) is ``null`` (JSON has no NaN, and a reader that meets the bare token ``NaN`` fails),
a missing value (``pd.NA``, ``NaT``) is ``null``, a timestamp or date is ISO 8601 text, numpy
scalars and arrays are plain numbers and lists, enums are their value and paths are text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(obj: Any) -> Any:
    """A copy of ``obj`` made of dicts, lists, str, int, float, bool and None only.

    Args:
        obj: Any nesting of mappings, sequences, sets and scalars (numpy, pandas, datetime,
            enum, path). Mapping keys become text; a set keeps its iteration order.

    Returns:
        The JSON-ready copy (see the module docstring for each kind of value). A value of any
        other type is written as its ``str``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else pd.Timestamp(obj).isoformat()
    if isinstance(obj, (pd.Timestamp, datetime, date)):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, PurePath):
        return str(obj)
    return str(obj)


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` ``(obj)``; refuses NaN, which cannot remain."""
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)


__all__ = ["dumps", "to_jsonable"]
