"""Reading a run folder's JSON and picking values out of it without trusting its shape.

Every report section reads ``manifest.json`` and ``metrics.json`` through these helpers: a key
that is missing, or a value of the wrong type, gives ``None`` (or an empty table) instead of an
exception, so one half-filled section cannot take the whole report down.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthpipe.errors import InputError

log = logging.getLogger(__name__)


def get(d: Any, *path: Any, default: Any = None) -> Any:
    """``d[p0][p1]...`` tolerating missing keys and non-dict values on the way."""
    cur = d
    for p in path:
        if isinstance(cur, Mapping) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and -len(cur) <= p < len(cur):
            cur = cur[p]
        else:
            return default
    return cur


def num(x: Any) -> float | int | None:
    """A finite number as is (ints stay ints: counts print exactly), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, int):
        return x
    return float(x) if math.isfinite(x) else None


def first_num(d: Any, *keys: str) -> float | None:
    """The first finite number among ``d[key]`` (a key may be a dotted path)."""
    for key in keys:
        v = num(get(d, *key.split(".")))
        if v is not None:
            return v
    return None


def scalars(d: Any, prefix: str = "", limit: int = 60) -> list[dict[str, Any]]:
    """Flatten the numeric, boolean and short text leaves of ``d`` into ``{"key", "value"}``."""
    out: list[dict[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, (bool, int, float)) or (isinstance(node, str) and len(node) < 200):
            out.append({"key": path, "value": node})
        elif node is None and path:
            out.append({"key": path, "value": None})

    walk(d, prefix)
    return out


def dict_table(d: Any, skip: Iterable[str] = ()) -> dict[str, Any] | None:
    """Rows of a ``{row name: {metric: number}}`` mapping (or list of dicts with a name) as a
    table: ``{"columns": [...], "rows": [{"name", "values": {...}}]}``; None if not that shape."""
    skip = set(skip)
    items: list[tuple[str, Mapping]] = []
    if isinstance(d, Mapping):
        items = [(str(k), v) for k, v in d.items() if k not in skip and isinstance(v, Mapping)]
    elif isinstance(d, list):
        for i, v in enumerate(d):
            if isinstance(v, Mapping):
                name = v.get("name", v.get("model", v.get("set", f"#{i + 1}")))
                items.append((str(name), v))
    rows, columns = [], []
    for name, v in items:
        values = {}
        for k, x in v.items():
            if k in ("name", "model", "set", "label"):
                continue
            if isinstance(x, Mapping) and "synthetic" in x:
                x = num(x["synthetic"])  # a metric dict: its synthetic score
            elif isinstance(x, list) and all(isinstance(i, str) for i in x):
                x = ", ".join(x)
            if num(x) is not None or isinstance(x, (bool, str)) or x is None:
                values[str(k)] = x
        if not values:
            continue
        for k in values:
            if k not in columns:
                columns.append(k)
        label = v.get("label") if isinstance(v.get("label"), str) else None
        rows.append({"name": name, "label": label, "values": values})
    if not rows:
        return None
    return {"columns": columns, "rows": rows}


def load_json(path: Path, required: bool) -> Any:
    if not path.is_file():
        if required:
            raise InputError(
                f"{path.name} is missing from the run folder {path.parent}",
                hint="point at a folder written by `synthpipe run` (it holds manifest.json "
                "and metrics.json)",
            )
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if required:
            raise InputError(
                f"{path.name} in {path.parent} is not readable JSON: {exc}",
                hint="the run folder is damaged; re-run the job or restore the file",
            ) from exc
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
