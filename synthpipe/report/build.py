"""Assemble a run's review report: ``report.json`` for machines, ``report.html`` for people.

The report is built only from what the run folder holds (``manifest.json``, ``metrics.json``,
``model/config.json``, ``quarantine/REASONS.txt``, ``review_log.jsonl``). The real rows are not
in the folder, so real-vs-synthetic distributions come from aggregated profiles
(:func:`column_profiles`) that the pipeline stores in ``metrics["profiles"]``.

Every section degrades on its own: a key that is missing or half-filled gives "not computed"
for that part, never an exception and never a made-up number.

The build is deterministic (no wall-clock time, no absolute path of the run folder): rebuilding
an unchanged folder gives byte-identical files, so a rebuild does not invalidate a review
(see :mod:`synthpipe.report.review`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import InputError
from synthpipe.io import atomic_path, sha256_file
from synthpipe.metadata import ColumnKind, TableMetadata
from synthpipe.report import svg
from synthpipe.report.review import REVIEW_LOG, chain_problems, read_entries

log = logging.getLogger(__name__)

SCHEMA = "synthpipe.report/1"
#: Privacy floor of the profiles: a histogram bin or category with fewer rows than this is not
#: published (see :func:`column_profiles`).
MIN_COUNT = 5

_NUMERIC_KINDS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)
# Histogram range: the central 99% of values when the full range is more than _TRIM_SPAN
# times wider (long tails), for tables of at least _TRIM_MIN_ROWS rows.
_TRIM_Q = 0.005
_TRIM_SPAN = 3.0
_TRIM_MIN_ROWS = 200
# Candidate bin widths for datetime histograms, in seconds: calendar-like steps read better
# than 1-2-5 multiples of a second.
_DAY = 86_400.0
_DATE_STEPS = (
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0,
    12 * 3600.0, _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 61 * _DAY, 91 * _DAY,
    182 * _DAY, 365 * _DAY, 2 * 365 * _DAY, 5 * 365 * _DAY, 10 * 365 * _DAY, 25 * 365 * _DAY,
    50 * 365 * _DAY, 100 * 365 * _DAY,
)

SECTIONS = (
    ("verdict", "Verdict"),
    ("run", "Run facts"),
    ("pii", "Personal data (PII)"),
    ("validation", "Data contracts (Great Expectations)"),
    ("fidelity", "Fidelity"),
    ("privacy", "Privacy"),
    ("utility", "Utility and rebalancing"),
    ("model_card", "Model card"),
    ("signoff", "Review and sign-off"),
)

CIRCULARITY_NOTE = (
    "Each review records the SHA-256 of report.html as the reviewer saw it, which is the "
    "report before that review was added: a report cannot contain its own hash. Rebuilding the "
    "report after a review (so that this block lists it) changes report.html; until the next "
    "review signs the new file, 'synthpipe review RUN_DIR --verify' says the report changed "
    "after review. Rebuilding an unchanged run folder gives an identical file."
)


# ============================================================================= profiles


def column_profiles(
    df: pd.DataFrame,
    metadata: TableMetadata,
    bins: int = 20,
    min_count: int = MIN_COUNT,
    edges: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Aggregated distribution of every modelled column, safe to store beside the run.

    Numerical and datetime columns get a histogram; categorical and boolean columns the
    frequencies of their most common categories. Only counts leave this function, never a row.
    Identifier and free-text columns are not profiled (they are regenerated, not modelled).

    Privacy rule: a cell (histogram bin, category, the "other" bucket or the missing count) with
    fewer than ``min_count`` rows is published as ``None``, and a category that rare is not even
    named (its rows go to "other"). When exactly one labelled cell of a column is suppressed,
    another is suppressed too (the "other" bucket if it has rows, else the next smallest), so
    the hidden count cannot be recovered by subtracting the others from the row total.
    Histogram ranges are widened to round numbers so the exact minimum and maximum (often one
    person's value) are not published either; for long-tailed columns the range is the central
    99% of values and the tails are counted as ``below``/``above``. Infinite values count as
    missing.

    Args:
        df: The table (train or synthetic rows).
        metadata: Column kinds; only ``metadata.modelled`` columns present in ``df`` are profiled.
        bins: Histogram bins (about: ranges are rounded), and the number of most frequent
            categories kept; the rest go to ``"other"``.
        min_count: Smallest count published (0 or 1 publishes everything).
        edges: Reuse another profile's bins so bars align: ``{column: profile}`` (e.g. the real
            profile when profiling synthetic rows) or ``{column: bin edges | category list}``.

    Returns:
        ``{column: profile}``. A histogram profile is ``{"kind", "type": "histogram",
        "datetime", "edges", "counts", "missing", "below", "above", "n", "min_count"}``
        (``below``/``above``: rows outside the edges); a category profile is ``{"kind",
        "type": "categories", "categories", "counts", "other", "missing", "n", "min_count"}``.

    Raises:
        InputError: ``bins`` below 1 or ``min_count`` negative.
    """
    if bins < 1:
        raise InputError(f"bins must be at least 1, got {bins}", hint="use e.g. bins=20")
    if min_count < 0:
        raise InputError(f"min_count must be 0 or more, got {min_count}", hint="use e.g. 5")
    out: dict[str, dict[str, Any]] = {}
    for col in metadata.modelled:
        if col not in df.columns:
            continue
        kind = metadata.kind(col)
        given = _given_edges(edges, col)
        if kind in _NUMERIC_KINDS:
            out[col] = _histogram_profile(df[col], kind, bins, min_count, given)
        else:
            out[col] = _category_profile(df[col], kind, bins, min_count, given)
    return out


def _given_edges(edges: Mapping[str, Any] | None, col: str) -> list | None:
    if not edges or col not in edges:
        return None
    value = edges[col]
    if isinstance(value, Mapping):
        value = value.get("edges", value.get("categories"))
    return list(value) if value is not None else None


def _suppress(
    cells: np.ndarray, min_count: int, anonymous: np.ndarray | None = None
) -> np.ndarray:
    """Mask of cells to withhold: those below ``min_count``, plus one complementary cell when a
    single labelled cell is withheld (else its count would follow from the row total).

    ``anonymous`` marks cells that name nobody's value (the "other" bucket of merged rare
    categories): recovering their count by subtraction discloses nothing, so they need no
    complement, and they are the preferred complement for a labelled cell.
    """
    anonymous = np.zeros(len(cells), dtype=bool) if anonymous is None else anonymous
    mask = (cells > 0) & (cells < min_count)
    if mask.sum() == 1 and not anonymous[mask].any():
        others = np.flatnonzero(~mask & (cells > 0))
        if len(others):
            preferred = others[anonymous[others]]
            pool = preferred if len(preferred) else others
            mask[pool[np.argmin(cells[pool])]] = True
    return mask


def _published(values: np.ndarray, mask: np.ndarray) -> list[int | None]:
    return [None if m else int(v) for v, m in zip(values.tolist(), mask.tolist(), strict=True)]


def _as_seconds(s: pd.Series) -> np.ndarray:
    """Datetimes as float seconds since the epoch (UTC), NaN for missing."""
    dt = pd.to_datetime(s, errors="coerce", utc=True)
    ns = dt.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    ns[dt.isna().to_numpy()] = np.nan
    return ns / 1e9


def _as_float(s: pd.Series, kind: ColumnKind) -> np.ndarray:
    if kind == ColumnKind.DATETIME or pd.api.types.is_datetime64_any_dtype(s):
        return _as_seconds(s)
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _nice_edges(lo: float, hi: float, bins: int, is_datetime: bool) -> np.ndarray:
    """Bin edges on round numbers covering ``[lo, hi]`` with about ``bins`` bins."""
    raw = (hi - lo) / bins
    if is_datetime:
        step = next((s for s in _DATE_STEPS if s >= raw), _DATE_STEPS[-1])
        if raw > step:
            step = math.ceil(raw / step) * step
    else:
        if raw <= 0:
            raw = abs(lo) * 0.1 or 1.0
        power = 10.0 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    start = math.floor(lo / step) * step
    n = max(int(math.ceil((hi - start) / step - 1e-9)), 1)
    if start + n * step < hi:
        n += 1
    # Rounded to 12 significant digits so JSON shows 0.3, not 0.30000000000000004.
    return np.array([float(f"{start + i * step:.12g}") for i in range(n + 1)])


def _histogram_profile(
    s: pd.Series, kind: ColumnKind, bins: int, min_count: int, given: list | None
) -> dict[str, Any]:
    is_dt = kind == ColumnKind.DATETIME
    values = _as_float(s, kind)
    finite = values[np.isfinite(values)]
    missing = len(values) - len(finite)
    below = above = 0
    if given is not None and len(given) >= 2:
        edges = np.asarray(given, dtype="float64")
        below = int((finite < edges[0]).sum())
        above = int((finite > edges[-1]).sum())
    elif len(finite):
        lo, hi = float(finite.min()), float(finite.max())
        if len(finite) >= _TRIM_MIN_ROWS:
            q_lo, q_hi = (float(q) for q in np.quantile(finite, [_TRIM_Q, 1 - _TRIM_Q]))
            # A long tail (a few huge claims) would squeeze everything else into one bin:
            # plot the central range and count the tails as below/above.
            if q_hi > q_lo and (hi - lo) > _TRIM_SPAN * (q_hi - q_lo):
                lo, hi = q_lo, q_hi
        edges = _nice_edges(lo, hi, bins, is_dt)
        below = int((finite < edges[0]).sum())
        above = int((finite > edges[-1]).sum())
    else:
        edges = np.array([], dtype="float64")
    counts = np.histogram(finite, bins=edges)[0] if len(edges) >= 2 else np.array([], dtype=int)
    cells = np.concatenate([counts, [missing, below, above]]).astype("int64")
    mask = _suppress(cells, min_count)
    pub = _published(cells, mask)
    return {
        "kind": kind.value,
        "type": "histogram",
        "datetime": is_dt,
        "edges": [float(e) for e in edges],
        "counts": pub[: len(counts)],
        "missing": pub[len(counts)],
        "below": pub[len(counts) + 1],
        "above": pub[len(counts) + 2],
        "n": int(len(values)),
        "min_count": int(min_count),
    }


def _labels(s: pd.Series) -> pd.Series:
    """Category labels as strings that agree across dtypes (1, 1.0 and "1" are one label)."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "True", False: "False"}).astype(object)
    if pd.api.types.is_numeric_dtype(s):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(v)
        whole = finite & (np.mod(np.where(finite, v, 0), 1) == 0)
        text = np.where(whole, np.where(finite, v, 0).astype("int64").astype(str), v.astype(str))
        return pd.Series(np.where(np.isnan(v), None, text), index=s.index, dtype=object)
    out = s.astype(object).where(s.notna(), None)
    return out.map(lambda v: v if v is None else str(v))


def _category_profile(
    s: pd.Series, kind: ColumnKind, bins: int, min_count: int, given: list | None
) -> dict[str, Any]:
    labels = _labels(s)
    present = labels.dropna()
    missing = int(len(labels) - len(present))
    # Sorted by count, then label, so equal counts always come out in the same order.
    vc = present.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    if given is not None:
        cats = [str(c) for c in given]
        counts = vc.reindex(cats, fill_value=0).to_numpy(dtype="int64")
    else:
        keep = vc[vc >= max(min_count, 1)].head(bins)
        cats = [str(c) for c in keep.index]
        counts = keep.to_numpy(dtype="int64")
    other = int(len(present) - counts.sum())
    cells = np.concatenate([counts, [other, missing]]).astype("int64")
    anonymous = np.zeros(len(cells), dtype=bool)
    anonymous[len(cats)] = True
    mask = _suppress(cells, min_count, anonymous)
    pub = _published(cells, mask)
    return {
        "kind": kind.value,
        "type": "categories",
        "categories": cats,
        "counts": pub[: len(cats)],
        "other": pub[len(cats)],
        "missing": pub[len(cats) + 1],
        "n": int(len(labels)),
        "min_count": int(min_count),
    }


# ============================================================================= helpers


def _get(d: Any, *path: Any, default: Any = None) -> Any:
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


def _num(x: Any) -> float | int | None:
    """A finite number as is (ints stay ints: counts print exactly), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, int):
        return x
    return float(x) if math.isfinite(x) else None


def _first_num(d: Any, *keys: str) -> float | None:
    """The first finite number among ``d[key]`` (a key may be a dotted path)."""
    for key in keys:
        v = _num(_get(d, *key.split(".")))
        if v is not None:
            return v
    return None


def _clean_json(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean_json(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _scalars(d: Any, prefix: str = "", limit: int = 60) -> list[dict[str, Any]]:
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


def _dict_table(d: Any, skip: Iterable[str] = ()) -> dict[str, Any] | None:
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
                x = _num(x["synthetic"])  # a metric dict: its synthetic score
            elif isinstance(x, list) and all(isinstance(i, str) for i in x):
                x = ", ".join(x)
            if _num(x) is not None or isinstance(x, (bool, str)) or x is None:
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


def _load_json(path: Path, required: bool) -> Any:
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


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# ============================================================================= sections


def _verdict(manifest: dict, metrics: dict, reasons: str | None) -> dict[str, Any]:
    gates = _get(metrics, "gates", default={})
    gates = gates if isinstance(gates, Mapping) else {}
    m_verdict = manifest.get("verdict")
    votes = []
    if m_verdict in ("published", "quarantined"):
        votes.append(m_verdict == "published")
    for src in (_get(manifest, "gates", "publishable"), gates.get("publishable")):
        if isinstance(src, bool):
            votes.append(src)
    notes = []
    if not votes:
        publishable = None
    else:
        # Fail closed: if the records disagree, the run is treated as quarantined.
        publishable = all(votes)
        if len(set(votes)) > 1:
            notes.append(
                "manifest.json and metrics.json disagree about the verdict; shown as "
                "quarantined (fail closed)"
            )
    checks = []
    for c in gates.get("checks") or []:
        if not isinstance(c, Mapping):
            continue
        checks.append(
            {
                "name": str(c.get("name", "?")),
                "category": c.get("category"),
                "value": c.get("value"),
                "threshold": c.get("threshold"),
                "op": c.get("op"),
                "severity": c.get("severity"),
                "status": _check_status(c),
                "message": c.get("message"),
            }
        )
    order = {"fail": 0, "warn": 1, "skipped": 2, "pass": 3}
    checks.sort(key=lambda c: order.get(c["status"], 4))
    failed = [str(f) for f in (gates.get("failed") or _get(manifest, "gates", "failed") or [])]
    for c in checks:
        if c["status"] == "fail" and c["name"] not in failed:
            failed.append(c["name"])
    label = {True: "PUBLISHABLE", False: "QUARANTINED", None: "NO VERDICT RECORDED"}[publishable]
    if publishable is None:
        summary = "No gate verdict was recorded for this run: treat it as not publishable."
    elif publishable:
        summary = "Every blocking gate passed; the synthetic table may be released."
    else:
        summary = (
            "Blocked by: " + ", ".join(failed)
            if failed
            else "Quarantined; the failing gates were not recorded."
        )
    return {
        "publishable": publishable,
        "label": label,
        "summary": summary,
        "failed": failed,
        "warnings": [c["name"] for c in checks if c["status"] == "warn"],
        "checks": checks,
        "gates_computed": bool(checks),
        "reasons": reasons,
        "notes": notes,
    }


def _check_status(c: Mapping) -> str:
    """pass | fail | warn | skipped; gates.py says passed/failed/skipped plus a severity."""
    status = c.get("status")
    if status in ("pass", "fail", "warn", "skipped"):
        return status
    if status == "passed":
        return "pass"
    if status == "failed":
        return "warn" if c.get("severity") == "warn" else "fail"
    if c.get("skipped") is True:
        return "skipped"
    passed = c.get("passed")
    if passed is True:
        return "pass"
    if passed is None:
        return "skipped"
    return "warn" if c.get("severity") == "warn" else "fail"


def _run_facts(manifest: dict, model_cfg: dict | None) -> dict[str, Any]:
    start, end = _parse_time(manifest.get("created_at")), _parse_time(manifest.get("finished_at"))
    duration = (end - start).total_seconds() if start and end else None
    timings = manifest.get("timings_seconds")
    if duration is None and isinstance(timings, Mapping):
        nums = [_num(v) for v in timings.values()]
        duration = sum(v for v in nums if v is not None) or None
    cfg = manifest.get("config") if isinstance(manifest.get("config"), Mapping) else {}
    columns = [c for c in manifest.get("columns") or [] if isinstance(c, Mapping)]
    params = _get(manifest, "model", "params")
    if not isinstance(params, Mapping):
        params = _get(model_cfg, "params") if isinstance(_get(model_cfg, "params"), Mapping) else {}
    input_path = _get(manifest, "input", "path")
    return {
        "input": {
            "path": input_path,
            "file": Path(input_path).name if isinstance(input_path, str) else None,
            "sha256": _get(manifest, "input", "sha256"),
            "rows": _get(manifest, "input", "rows"),
            "columns": _get(manifest, "input", "columns"),
        },
        "rows": {k: _get(manifest, "rows", k) for k in ("input", "train", "holdout", "synthetic")},
        "target": cfg.get("target"),
        "config_recorded": bool(cfg),
        "created_at": manifest.get("created_at"),
        "finished_at": manifest.get("finished_at"),
        "duration_seconds": duration,
        "user": manifest.get("user"),
        "host": manifest.get("host"),
        "synthpipe_version": manifest.get("synthpipe_version"),
        "model": {
            "name": _get(manifest, "model", "name") or _get(cfg, "model", "name"),
            "device": _get(manifest, "model", "device"),
            "params": dict(params),
        },
        "seed": manifest.get("seed", cfg.get("seed")),
        "sampling": {k: _get(manifest, "sampling", k) for k in ("mode", "spec", "rows")},
        "versions": manifest.get("versions") if isinstance(manifest.get("versions"), Mapping)
        else {},
        "timings_seconds": timings if isinstance(timings, Mapping) else {},
        "columns": [
            {
                "name": c.get("name"),
                "kind": c.get("kind"),
                "dtype": c.get("dtype"),
                "nullable": c.get("nullable"),
                "modelled": c.get("modelled"),
                "action": c.get("action"),
                "reason": c.get("reason"),
            }
            for c in columns
        ],
        "output_columns": list(manifest.get("output_columns") or []),
        "outputs": manifest.get("outputs") if isinstance(manifest.get("outputs"), Mapping)
        else {},
        "gates_config": cfg.get("gates") if isinstance(cfg.get("gates"), Mapping) else {},
    }


def _pii(manifest: dict) -> dict[str, Any]:
    pii = manifest.get("pii")
    detect = _get(manifest, "config", "pii", "detect")
    if not isinstance(pii, Mapping):
        return {"computed": False, "detection": detect, "rows": []}
    findings = [f for f in pii.get("findings") or [] if isinstance(f, Mapping)]
    actions = [a for a in pii.get("actions") or [] if isinstance(a, Mapping)]
    by_col: dict[str, dict[str, Any]] = {}
    for f in findings:
        col = str(f.get("column"))
        by_col[col] = {
            "column": col,
            "pii_type": f.get("pii_type"),
            "category": f.get("category"),
            "rule": f.get("rule"),
            "match_share": f.get("match_share"),
            "evidence": f.get("evidence"),
            "action": None,
        }
    for a in actions:
        col = str(a.get("column"))
        row = by_col.setdefault(
            col,
            {
                "column": col,
                "pii_type": a.get("pii_type"),
                "category": a.get("category"),
                "rule": a.get("rule"),
                "match_share": None,
                "evidence": a.get("evidence"),
                "action": None,
            },
        )
        row["action"] = a.get("action")
    # Columns the manifest lists with a PII action but no finding (explicit policies).
    for c in manifest.get("columns") or []:
        if isinstance(c, Mapping) and str(c.get("name")) in by_col:
            row = by_col[str(c.get("name"))]
            row["action"] = row["action"] or c.get("action")
    rows = sorted(by_col.values(), key=lambda r: (r["category"] != "direct", r["column"]))
    return {"computed": True, "detection": detect, "rows": rows}


def _suite(report: Any) -> dict[str, Any]:
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
    if _num(v) is not None:
        return svg.fmt_num(float(f"{v:.3g}"))
    if isinstance(v, str):
        return v[:7] if _ISO_DATE.match(v) else svg.truncate(v, 40)
    if isinstance(v, list):
        if key == "value_set":
            return f"{len(v)} allowed values"
        shown = ", ".join(_safe_value(key, x) for x in v[:4])
        return f"[{shown}{f', +{len(v) - 4} more' if len(v) > 4 else ''}]"
    return "{\u2026}"


def _safe_kwargs(kwargs: Any) -> str | None:
    if not isinstance(kwargs, Mapping):
        return None if kwargs is None else svg.truncate(str(kwargs), 160)
    parts = [f"{k}={_safe_value(str(k), v)}" for k, v in kwargs.items() if k not in _SKIP_KWARGS]
    return svg.truncate("; ".join(parts), 160) if parts else None


def _compact(value: Any, limit: int = 160) -> str | None:
    """A short readable text of a kwargs/observed value for a table cell."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k not in ("column", "batch_id")}
        if not value:
            return None
    text = value if isinstance(value, str) else json.dumps(_clean_json(value), default=str)
    return svg.truncate(text, limit)


def _fidelity(metrics: dict, manifest: dict, gates_cfg: Mapping) -> dict[str, Any]:
    fid = metrics.get("fidelity")
    fid = fid if isinstance(fid, Mapping) else {}
    thresholds = {
        "column_shapes": (">=", _num(gates_cfg.get("column_shapes_min"))),
        "pair_trends": (">=", _num(gates_cfg.get("pair_trends_min"))),
        "detection": ("<=", _num(gates_cfg.get("detection_auc_max"))),
    }
    overall = []
    for key in ("column_shapes", "pair_trends", "detection"):
        m = fid.get(key)
        if not isinstance(m, Mapping):
            continue
        op, thr = thresholds[key]
        overall.append(
            {
                "key": key,
                "name": m.get("name", key),
                "goal": m.get("goal"),
                "synthetic": _num(m.get("synthetic")),
                "holdout": _num(m.get("holdout")),
                "op": op if thr is not None else None,
                "threshold": thr,
            }
        )
    per_column = []
    pc = _get(fid, "column_shapes", "per_column")
    if isinstance(pc, Mapping):
        for col, v in pc.items():
            if isinstance(v, Mapping):
                per_column.append(
                    {
                        "column": str(col),
                        "kind": v.get("kind"),
                        "metric": v.get("metric"),
                        "synthetic": _num(v.get("synthetic")),
                        "holdout": _num(v.get("holdout")),
                    }
                )
            else:
                per_column.append({"column": str(col), "kind": None, "metric": None,
                                   "synthetic": _num(v), "holdout": None})
    pairs = []
    for p in _get(fid, "pair_trends", "per_pair") or []:
        if isinstance(p, Mapping) and isinstance(p.get("columns"), list):
            pairs.append(
                {
                    "columns": [str(c) for c in p["columns"]],
                    "metric": p.get("metric"),
                    "synthetic": _num(p.get("synthetic")),
                    "holdout": _num(p.get("holdout")),
                }
            )
    worst = sorted((p for p in pairs if p["synthetic"] is not None),
                   key=lambda p: p["synthetic"])[:10]
    return {
        "computed": bool(overall),
        "overall": overall,
        "per_column": per_column,
        "lowest_pairs": worst,
        "pairs_evaluated": _get(fid, "pair_trends", "pairs_evaluated"),
        "pairs_total": _get(fid, "pair_trends", "pairs_total"),
        "rows": {k: _get(fid, "rows", k) for k in ("train", "holdout", "synthetic")}
        if isinstance(fid.get("rows"), Mapping) else None,
        "correlation": _correlation(_get(fid, "pair_trends", "correlation")),
        "profiles": _profiles(metrics.get("profiles"), manifest),
        "detection": {
            k: _get(fid, "detection", k) for k in ("classifier", "folds", "rows_per_class")
        }
        if isinstance(fid.get("detection"), Mapping)
        else None,
    }


def _square(matrix: Any, n: int) -> list[list[float | None]] | None:
    if not isinstance(matrix, list) or len(matrix) != n:
        return None
    rows = []
    for r in matrix:
        if not isinstance(r, list) or len(r) != n:
            return None
        rows.append([_num(v) for v in r])
    return rows


def _correlation(corr: Any) -> dict[str, Any]:
    cols = _get(corr, "columns")
    if not isinstance(cols, list) or len(cols) < 2:
        return {"computed": False, "columns": cols if isinstance(cols, list) else []}
    n = len(cols)
    real, synth = _square(_get(corr, "real"), n), _square(_get(corr, "synthetic"), n)
    if real is None or synth is None:
        return {"computed": False, "columns": cols}
    diff = [
        [None if a is None or b is None else b - a for a, b in zip(ra, rb, strict=True)]
        for ra, rb in zip(real, synth, strict=True)
    ]
    return {"computed": True, "columns": [str(c) for c in cols], "real": real,
            "synthetic": synth, "difference": diff}


def _profiles(profiles: Any, manifest: dict) -> dict[str, Any]:
    real = _get(profiles, "real")
    synth = _get(profiles, "synthetic")
    modelled = [
        str(c.get("name"))
        for c in manifest.get("columns") or []
        if isinstance(c, Mapping) and c.get("modelled")
    ]
    if not isinstance(real, Mapping) or not isinstance(synth, Mapping):
        return {"computed": False, "columns": [], "missing": modelled, "min_count": None}
    names = list(real) + [c for c in synth if c not in real]
    columns = []
    for name in names:
        r, s = real.get(name), synth.get(name)
        columns.append({
            "column": str(name),
            "kind": _get(r, "kind") or _get(s, "kind"),
            "real": r if isinstance(r, Mapping) else None,
            "synthetic": s if isinstance(s, Mapping) else None,
        })
    floors = [_num(_get(p, "min_count")) for p in list(real.values()) + list(synth.values())]
    floors = [int(f) for f in floors if f is not None]
    return {
        "computed": True,
        "columns": columns,
        "missing": [c for c in modelled if c not in real and c not in synth],
        "min_count": max(floors) if floors else None,
    }


def _score(name: str, help_text: str, synthetic: float | None, reference: float | None,
           threshold: float | None = None, fmt: str = "num") -> dict[str, Any]:
    return {"name": name, "help": help_text, "synthetic": synthetic, "reference": reference,
            "threshold": threshold, "format": fmt}


# Privacy metrics come from synthpipe.evaluation.privacy; the keys below are its documented
# shape, with a few aliases so that a renamed field shows up rather than vanishing.
def _privacy(metrics: dict, gates_cfg: Mapping) -> dict[str, Any]:
    priv = metrics.get("privacy")
    if not isinstance(priv, Mapping):
        return {"computed": False, "scores": [], "mia": [], "mia_threshold": None,
                "dcr_histogram": None, "pii_leakage": {"computed": False}, "other": [],
                "errors": [], "samples": None}
    errors = [
        {"metric": str(k), "error": str(v["error"])}
        for k, v in priv.items()
        if isinstance(v, Mapping) and isinstance(v.get("error"), str)
    ]
    scores = []
    ims = priv.get("identical_match_share")
    if isinstance(ims, Mapping):
        scores.append(_score(
            "identical-match share",
            "share of synthetic rows equal to a training row; reference: the holdout's share",
            _first_num(ims, "synthetic", "share", "value"), _first_num(ims, "holdout", "reference"),
            fmt="pct"))
    elif _num(ims) is not None:
        scores.append(_score("identical-match share", "share of synthetic rows equal to a "
                             "training row", _num(ims), None, fmt="pct"))
    dcr = priv.get("dcr") if isinstance(priv.get("dcr"), Mapping) else {}
    if dcr:
        scores.append(_score(
            "DCR share", "share of synthetic rows closer to train than to holdout (0.5 ideal)",
            _first_num(dcr, "dcr_share", "share", "synthetic"), 0.5,
            _num(gates_cfg.get("dcr_share_max")), fmt="pct"))
        scores.append(_score(
            "median distance to closest record", "synthetic-to-train vs holdout-to-train",
            _first_num(dcr, "median.synthetic", "median_synthetic", "median"),
            _first_num(dcr, "median.holdout", "median_holdout")))
        zero = _first_num(dcr, "zero_distance_share.synthetic")
        if zero is not None:
            scores.append(_score(
                "exact-copy distance share", "rows at distance 0 from a training row",
                zero, _first_num(dcr, "zero_distance_share.holdout"), fmt="pct"))
        nndr = _first_num(dcr, "nndr_median.synthetic", "nndr_median", "nndr.synthetic")
        if nndr is not None:
            scores.append(_score(
                "nearest-neighbour distance ratio (median)",
                "near 1: no single training row stands out as the nearest; near 0: copies",
                nndr, _first_num(dcr, "nndr_median.holdout", "nndr.holdout")))
    mia_raw = priv.get("membership_inference", priv.get("mia"))
    mia = []
    if isinstance(mia_raw, Mapping):
        attacks = mia_raw.get("attacks")
        if not isinstance(attacks, Mapping):
            # Older shape: the attacks side by side with the summary numbers.
            attacks = {k: v for k, v in mia_raw.items() if isinstance(v, Mapping)}
        for name, v in attacks.items():
            if isinstance(v, Mapping):
                note = v.get("error", v.get("note"))
                mia.append({"attack": str(name).replace("_", " "),
                            "auc": _first_num(v, "auc", "roc_auc"),
                            "note": note if isinstance(note, str) else None})
        top = _first_num(mia_raw, "synthetic", "max_auc", "max")
        if mia and top is not None:
            mia.append({"attack": "highest (gated)", "auc": top, "note": None})
    leak_raw = priv.get("pii_leakage")
    leak: dict[str, Any] = {"computed": False}
    if isinstance(leak_raw, Mapping):
        per = leak_raw.get("per_column")
        rows = []
        for col, v in (per.items() if isinstance(per, Mapping) else []):
            if isinstance(v, Mapping):
                found = v.get("found_in") if isinstance(v.get("found_in"), Mapping) else {}
                rows.append({"column": str(col), "count": _first_num(v, "count", "leaks"),
                             "checked": _num(v.get("values_checked")),
                             "found_in": ", ".join(f"{k} ({n})" for k, n in found.items()),
                             "examples": [str(x) for x in v.get("examples") or []][:5]})
            else:
                rows.append({"column": str(col), "count": _num(v), "checked": None,
                             "found_in": "", "examples": []})
        message = leak_raw.get("message", leak_raw.get("error"))
        leak = {
            "computed": leak_raw.get("status") != "not_requested",
            "status": leak_raw.get("status"),
            "message": message if isinstance(message, str) else None,
            "total": _first_num(leak_raw, "total", "leaks", "count"),
            "rows": rows,
            "threshold": _num(gates_cfg.get("pii_leaks_max")),
        }
    known = {"identical_match_share", "dcr", "mia", "membership_inference", "pii_leakage",
             "rows", "columns", "seconds", "encoding_width"}
    samples = priv.get("rows") if isinstance(priv.get("rows"), Mapping) else None
    return {
        "computed": bool(scores or mia or leak["computed"]),
        "scores": scores,
        "dcr_histogram": _dcr_histogram(dcr),
        "mia": mia,
        "mia_threshold": _num(gates_cfg.get("mia_auc_max")),
        "pii_leakage": leak,
        "errors": errors,
        "samples": {k: _num(v) for k, v in samples.items()} if samples else None,
        "other": _scalars({k: v for k, v in priv.items() if k not in known}, limit=30),
    }


def _dcr_histogram(dcr: Mapping) -> dict[str, Any] | None:
    h = None
    for key in ("histograms", "histogram", "hist"):
        if isinstance(dcr.get(key), Mapping):
            h = dcr[key]
            break
    if h is None:
        return None
    edges = h.get("bins", h.get("edges"))
    syn = h.get("synthetic", h.get("synthetic_to_train"))
    hold = h.get("holdout", h.get("holdout_to_train"))
    if isinstance(syn, Mapping):
        edges, syn = syn.get("bins", syn.get("edges", edges)), syn.get("counts")
    if isinstance(hold, Mapping):
        hold = hold.get("counts")
    if not isinstance(edges, list) or not isinstance(syn, list) or len(edges) != len(syn) + 1:
        return None
    series = {"synthetic \u2192 train": syn}
    if isinstance(hold, list) and len(hold) == len(syn):
        series["holdout \u2192 train"] = hold
    return {"edges": edges, "series": series}


def _utility(metrics: dict, manifest: dict, target: str | None) -> dict[str, Any]:
    util = metrics.get("utility")
    sampling = metrics.get("sampling")
    sampling = sampling if isinstance(sampling, Mapping) else _get(manifest, "sampling") or {}
    after = sampling.get("class_counts") if isinstance(sampling, Mapping) else None
    before = None
    for src in (
        _get(sampling, "train_class_counts"),
        _get(sampling, "before"),
        _get(util, "class_counts", "train"),
    ):
        if isinstance(src, Mapping):
            before = src
            break
    if before is None and target:
        prof = _get(metrics, "profiles", "real", target)
        if isinstance(prof, Mapping) and prof.get("type") == "categories":
            before = dict(zip(prof.get("categories") or [], prof.get("counts") or [], strict=False))
    classes = []
    if isinstance(after, Mapping) or isinstance(before, Mapping):
        keys = list(before or {}) + [k for k in after or {} if k not in (before or {})]
        for k in keys:
            classes.append({
                "label": str(k),
                "before": _num((before or {}).get(k)),
                "after": _num((after or {}).get(k)),
            })
    util_rows = []
    if isinstance(util, Mapping) and isinstance(util.get("metrics"), Mapping):
        # synthpipe.evaluation.utility: {"metrics": {name: {"real", "synthetic", "ratio"}}}
        for k, v in util["metrics"].items():
            if isinstance(v, Mapping):
                util_rows.append({"metric": str(k), "real": _num(v.get("real")),
                                  "synthetic": _num(v.get("synthetic")),
                                  "ratio": _num(v.get("ratio"))})
    elif isinstance(util, Mapping):
        real, syn = util.get("real"), util.get("synthetic")
        ratios = util.get("ratios") if isinstance(util.get("ratios"), Mapping) else {}
        if isinstance(real, Mapping) or isinstance(syn, Mapping):
            keys = [k for k in (real or {}) if _num((real or {}).get(k)) is not None]
            keys += [k for k in (syn or {}) if k not in keys and _num(syn.get(k)) is not None]
            for k in keys:
                util_rows.append({
                    "metric": str(k),
                    "real": _num((real or {}).get(k)),
                    "synthetic": _num((syn or {}).get(k)),
                    "ratio": _num(ratios.get(k)),
                })
    notes = []
    if isinstance(util, Mapping):
        for key in ("note", "message", "warning", "reason", "error"):
            if isinstance(util.get(key), str) and util[key]:
                notes.append(util[key])
        if util.get("single_class") and not notes:
            notes.append("the synthetic data holds a single class of the target")
    util_other = (
        _scalars({k: v for k, v in util.items()
                  if k not in ("real", "synthetic", "ratios", "metrics", "features", "message",
                               "status", "name")}, limit=30)
        if isinstance(util, Mapping) and not util_rows
        else []
    )
    downstream = metrics.get("downstream")
    ds = None
    if isinstance(downstream, Mapping) or isinstance(downstream, list):
        table = _dict_table(downstream.get("sets", downstream) if isinstance(downstream, Mapping)
                            else downstream, skip=("verdict",))
        verdict = None
        if isinstance(downstream, Mapping):
            v = downstream.get("verdict", downstream.get("summary"))
            verdict = v if isinstance(v, str) else (_get(v, "text") or _get(v, "message"))
        ds = {"table": table, "verdict": verdict,
              "other": [] if table else _scalars(downstream, limit=30)}
    cands = metrics.get("candidates")
    cand = None
    if isinstance(cands, (Mapping, list)):
        table = _dict_table(cands.get("models", cands) if isinstance(cands, Mapping) else cands,
                            skip=("chosen", "best", "selected"))
        chosen = _get(cands, "chosen") or _get(cands, "best") or _get(cands, "selected")
        rule = _get(cands, "rule")
        cand = {"table": table, "chosen": chosen if isinstance(chosen, str) else None,
                "rule": rule if isinstance(rule, str) else None,
                "other": [] if table else _scalars(cands, limit=30)}
    return {
        "target": target,
        "sampling": {
            "mode": _get(sampling, "mode"),
            "spec": _get(sampling, "spec"),
            "rows": _get(sampling, "rows"),
        },
        "classes": classes,
        "utility_computed": isinstance(util, Mapping),
        "utility": util_rows,
        "utility_other": util_other,
        "utility_test": _get(util, "test_set") or _get(util, "tested_on"),
        "utility_model": _get(util, "model") if isinstance(_get(util, "model"), str) else None,
        "utility_status": _get(util, "status"),
        "notes": notes,
        "downstream": ds,
        "candidates": cand,
    }


def _history(model_cfg: Any, metrics: dict) -> list[dict[str, Any]]:
    for src in (
        _get(model_cfg, "loss_history"),
        _get(model_cfg, "history"),
        _get(metrics, "training", "history"),
    ):
        if isinstance(src, list) and src:
            out = []
            for i, h in enumerate(src):
                if isinstance(h, Mapping):
                    out.append({
                        "epoch": _num(h.get("epoch")) or float(i + 1),
                        "train_loss": _num(h.get("train_loss", h.get("loss"))),
                        "val_loss": _num(h.get("val_loss")),
                    })
            if out:
                return out
    return []


def _model_card(
    manifest: dict, metrics: dict, model_cfg: Any, run: dict, fidelity: dict, privacy: dict,
    pii: dict,
) -> dict[str, Any]:
    history = _history(model_cfg, metrics)
    model = run["model"]
    params = model["params"] or {}
    rows = run["rows"]
    columns = run["columns"]
    modelled = [c["name"] for c in columns if c.get("modelled")]
    regenerated = [c["name"] for c in columns if c.get("modelled") is False
                   and c.get("action") != "drop"]
    dropped = [c["name"] for c in columns if c.get("action") == "drop"]
    file = run["input"]["file"] or "the input table"
    facts: list[str] = []
    n_train = rows.get("train")
    facts.append(
        f"Trained on {svg.fmt_num(n_train)} rows of {file}"
        + (f" ({len(modelled)} of {len(columns)} columns learned)" if columns else "")
        + "; the holdout"
        + (f" of {svg.fmt_num(rows.get('holdout'))} rows" if rows.get("holdout") else "")
        + " was never trained on."
        if n_train is not None
        else "The number of training rows was not recorded."
    )
    if model["name"]:
        epochs = params.get("epochs")
        facts.append(
            f"Model: {model['name']}"
            + (f" on {model['device']}" if model["device"] else "")
            + (f", {epochs} epochs" if epochs is not None else "")
            + (f", seed {run['seed']}" if run["seed"] is not None else "")
            + "."
        )
    if regenerated:
        facts.append(
            "Not learned, regenerated with fresh values that match no real value: "
            + ", ".join(regenerated) + "."
        )
    if dropped:
        facts.append("Dropped from the output: " + ", ".join(dropped) + ".")
    rare = params.get("rare_min_count")
    if model["name"]:
        facts.append(
            "Rare categories "
            + (f"(fewer than {rare} training rows) " if _num(rare) is not None else "")
            + "are merged into one bucket that never decodes to a real value, so rare labels "
            "are absent from the synthetic data."
        )
    priv_bits = []
    for s in privacy.get("scores", []):
        if s["name"] == "DCR share" and s["synthetic"] is not None:
            priv_bits.append(f"DCR share {svg.fmt_pct(s['synthetic'])} (0.5 ideal)")
        if s["name"] == "identical-match share" and s["synthetic"] is not None:
            priv_bits.append(f"identical-match share {svg.fmt_pct(s['synthetic'])}"
                             + (f" vs holdout {svg.fmt_pct(s['reference'])}"
                                if s["reference"] is not None else ""))
    mia_aucs = [m["auc"] for m in privacy.get("mia", []) if m["auc"] is not None]
    if mia_aucs:
        priv_bits.append(f"membership-attack AUC up to {svg.fmt_num(max(mia_aucs))} (0.5 = "
                         "no better than chance)")
    limits = [
        "Not for re-identification, for linking records to people, or for decisions about "
        "individuals: rows are synthetic and belong to nobody.",
        "Not a substitute for the real data when estimating rare events or values outside the "
        "training range; the model reproduces the training split's patterns, including its "
        "biases.",
    ]
    if priv_bits:
        limits.append("Privacy verified against the holdout: " + "; ".join(priv_bits) + ".")
    else:
        limits.append("Privacy was NOT verified for this run (no privacy metrics recorded).")
    shapes = next((o for o in fidelity["overall"] if o["key"] == "column_shapes"), None)
    if shapes and shapes["synthetic"] is not None:
        limits.append(
            f"Fidelity: column shapes {svg.fmt_num(shapes['synthetic'])}"
            + (f" (a real holdout reaches {svg.fmt_num(shapes['holdout'])})"
               if shapes["holdout"] is not None else "")
            + "; check the per-column scores before relying on a particular column."
        )
    pii_actions = [f"{r['column']} {r['action']}" for r in pii.get("rows", []) if r["action"]]
    if pii_actions:
        limits.append("Personal data handled before training: " + ", ".join(pii_actions) + ".")
    # Scalar facts of the saved model's config (layer sizes, parameter count...); the loss
    # history is drawn, and the params are already listed with the run facts.
    architecture = {
        k: v
        for k, v in (model_cfg.items() if isinstance(model_cfg, Mapping) else [])
        if k not in ("loss_history", "history", "params")
        and (_num(v) is not None or isinstance(v, (str, bool)))
    }
    return {
        "model": model["name"],
        "device": model["device"],
        "params": params,
        "architecture": architecture,
        "history": history,
        "intended_use": (
            "Development, testing, analytics and model prototyping where the real "
            + (file if run["input"]["file"] else "table")
            + " may not be used; sharing outside the secure zone only with a PUBLISHABLE "
            "verdict and a recorded approval."
        ),
        "facts": facts,
        "limits": limits,
    }


def _signoff(run_dir: Path) -> dict[str, Any]:
    path = run_dir / REVIEW_LOG
    entries, parse_problems = read_entries(path)
    problems = parse_problems + chain_problems(entries)
    return {
        "log_file": REVIEW_LOG,
        "entries": [
            {k: e.get(k) for k in ("seq", "timestamp", "decision", "by", "comment",
                                   "report_sha256", "manifest_sha256", "entry_hash")}
            for e in entries
        ],
        "chain_ok": not problems,
        "problems": problems,
        "note": CIRCULARITY_NOTE,
    }


# ============================================================================= assembly


def assemble_report(run_dir: str | Path) -> dict[str, Any]:
    """Read a run folder and return every report section as plain data (``report.json``).

    Args:
        run_dir: A run folder written by the pipeline.

    Returns:
        ``{"schema", "title", "verdict", "sources", "sections": [{"id", "number", "title",
        ...section data}]}``.

    Raises:
        InputError: The folder, its manifest.json or its metrics.json is missing or unreadable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run folder {run_dir} does not exist",
                         hint="pass the folder a `synthpipe run` wrote (its --out)")
    manifest = _load_json(run_dir / "manifest.json", required=True)
    metrics = _load_json(run_dir / "metrics.json", required=True)
    if not isinstance(manifest, dict) or not isinstance(metrics, dict):
        raise InputError(f"manifest.json and metrics.json in {run_dir} must each hold an object",
                         hint="the run folder is damaged; re-run the job")
    model_cfg = _load_json(run_dir / "model" / "config.json", required=False)
    reasons_path = run_dir / "quarantine" / "REASONS.txt"
    reasons = reasons_path.read_text(encoding="utf-8") if reasons_path.is_file() else None

    run = _run_facts(manifest, model_cfg if isinstance(model_cfg, Mapping) else None)
    gates_cfg = run["gates_config"]
    verdict = _verdict(manifest, metrics, reasons)
    pii = _pii(manifest)
    validation = {
        "input_contract": _suite(metrics.get("input_contract")),
        "synthetic_suite": _suite(metrics.get("synthetic_suite")),
    }
    fidelity = _fidelity(metrics, manifest, gates_cfg)
    privacy = _privacy(metrics, gates_cfg)
    utility = _utility(metrics, manifest, run["target"])
    card = _model_card(manifest, metrics, model_cfg, run, fidelity, privacy, pii)
    signoff = _signoff(run_dir)
    data = {
        "verdict": verdict, "run": run, "pii": pii, "validation": validation,
        "fidelity": fidelity, "privacy": privacy, "utility": utility, "model_card": card,
        "signoff": signoff,
    }
    sections = [
        {"id": sid, "number": i + 1, "title": title, **data[sid]}
        for i, (sid, title) in enumerate(SECTIONS)
    ]
    table = run["input"]["file"]
    return _clean_json({
        "schema": SCHEMA,
        "title": f"Synthetic data review: {table}" if table else "Synthetic data review",
        "verdict": {"publishable": verdict["publishable"], "label": verdict["label"],
                    "failed": verdict["failed"]},
        "sources": {
            name: sha256_file(run_dir / name)
            for name in ("manifest.json", "metrics.json", "model/config.json")
            if (run_dir / name).is_file()
        },
        "sections": sections,
    })


# ============================================================================= charts


def _date_label(seconds: float, step: float) -> str:
    t = datetime.fromtimestamp(seconds, tz=UTC)
    return t.strftime("%Y-%m-%d" if step >= _DAY else "%Y-%m-%d %H:%M")


def _profile_chart(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(svg, caption) for one column's real-vs-synthetic profile."""
    name = entry["column"]
    real, synth = entry.get("real"), entry.get("synthetic")
    base = real or synth or {}
    series, totals = {}, {}
    for label, prof in (("real", real), ("synthetic", synth)):
        if isinstance(prof, Mapping):
            totals[label] = prof.get("n")
    notes = []
    if base.get("type") == "histogram":
        edges = base.get("edges") or []
        for label, prof in (("real", real), ("synthetic", synth)):
            if isinstance(prof, Mapping) and len(prof.get("counts") or []) == len(edges) - 1:
                series[label] = prof["counts"]
        labels = None
        if base.get("datetime") and len(edges) >= 2:
            step = edges[1] - edges[0]
            labels = [_date_label(e, step) for e in edges]
        chart = svg.overlaid_histograms(edges, series, title=name, edge_labels=labels,
                                        totals=totals)
        for label, prof in (("real", real), ("synthetic", synth)):
            outside = [_get(prof, "below"), _get(prof, "above")]
            n_out = sum(v for v in outside if isinstance(v, int))
            if n_out and _num(_get(prof, "n")):
                notes.append(f"{label} outside the plotted range: "
                             f"{svg.fmt_pct(n_out / prof['n'])}")
    else:
        cats = list(base.get("categories") or [])
        extra = []
        if any(_get(p, "other") for p in (real, synth)):
            extra.append(("(other)", "other"))
        if any(_get(p, "missing") for p in (real, synth)):
            extra.append(("(missing)", "missing"))
        for label, prof in (("real", real), ("synthetic", synth)):
            if not isinstance(prof, Mapping):
                continue
            counts = list(prof.get("counts") or [])
            tail = [prof.get(key) for _, key in extra]
            if list(prof.get("categories") or []) != cats:
                # Profiled without the real categories as edges: a category outside this
                # side's own top list is unknown here (not zero), and so is its "other".
                by = dict(zip(prof.get("categories") or [], counts, strict=False))
                counts = [by.get(c) for c in cats]
                tail = [None if key == "other" else v for (_, key), v in zip(extra, tail,
                                                                            strict=True)]
                notes.append(f"{label} categories not aligned with the real ones")
            series[label] = counts + tail
        chart = svg.category_bars(cats + [lab for lab, _ in extra], series, title=name,
                                  totals=totals)
    for label, prof in (("real", real), ("synthetic", synth)):
        miss, n = _get(prof, "missing"), _num(_get(prof, "n"))
        if isinstance(miss, int) and miss and n:
            notes.append(f"{label} missing {svg.fmt_pct(miss / n)}")
    if real is None:
        notes.append("no real profile")
    if synth is None:
        notes.append("no synthetic profile")
    return chart, "; ".join(notes)


def render_charts(report: Mapping[str, Any]) -> dict[str, Any]:
    """Draw the report's charts (inline SVG strings) from its section data."""
    sec = {s["id"]: s for s in report["sections"]}
    fid, priv, card = sec["fidelity"], sec["privacy"], sec["model_card"]
    charts: dict[str, Any] = {}
    if fid["per_column"]:
        thr = next((o["threshold"] for o in fid["overall"] if o["key"] == "column_shapes"), None)
        charts["shapes"] = svg.bar_chart(
            [c["column"] for c in fid["per_column"]],
            [c["synthetic"] for c in fid["per_column"]],
            reference=[c["holdout"] for c in fid["per_column"]],
            title="Column shape score per column (1 = same distribution as train)",
            vmin=0.0, vmax=1.0, threshold=thr, width=900,
        )
    if fid["profiles"]["computed"]:
        panels = []
        for entry in fid["profiles"]["columns"]:
            chart, note = _profile_chart(entry)
            cap = f'<figcaption>{svg.esc(note)}</figcaption>' if note else ""
            panels.append((entry["column"], chart + cap))
        charts["profiles"] = svg.small_multiples(panels)
    corr = fid["correlation"]
    if corr["computed"]:
        cols = corr["columns"]
        charts["corr"] = [
            svg.heatmap(corr["real"], cols, title="Real (train)", size=300),
            svg.heatmap(corr["synthetic"], cols, title="Synthetic", size=300),
            # A narrower scale than the matrices': a 0.2 shift in a correlation matters.
            svg.heatmap(corr["difference"], cols, title="Difference (synthetic \u2212 real)",
                        size=300, vmin=-0.5, vmax=0.5),
        ]
    hist = priv["dcr_histogram"]
    if hist:
        charts["dcr"] = svg.overlaid_histograms(
            hist["edges"], hist["series"], title="Distance to closest training record",
            width=560, height=220, colors=(svg.SYNTHETIC, svg.HOLDOUT),
        )
    if priv["mia"]:
        charts["mia"] = svg.bar_chart(
            [m["attack"] for m in priv["mia"]], [m["auc"] for m in priv["mia"]],
            title="Membership-inference attack ROC-AUC (0.5 = chance)", vmin=0.0, vmax=1.0,
            threshold=priv.get("mia_threshold"), color=svg.SYNTHETIC, value_name="attack AUC",
        )
    if card["history"]:
        h = card["history"]
        series = {"train loss": [e["train_loss"] for e in h]}
        if any(e["val_loss"] is not None for e in h):
            series["validation loss"] = [e["val_loss"] for e in h]
        charts["training"] = svg.line_chart([e["epoch"] for e in h], series,
                                            title="Training curve", x_label="epoch",
                                            y_label="loss")
    classes = sec["utility"]["classes"]
    if classes:
        charts["classes"] = svg.category_bars(
            [c["label"] for c in classes],
            {"before (train)": [c["before"] for c in classes],
             "after (synthetic)": [c["after"] for c in classes]},
            title="Class shares before and after sampling", width=420, height=200,
        )
    timings = sec["run"]["timings_seconds"]
    if timings:
        charts["timings"] = svg.bar_chart(
            list(timings), [timings[k] for k in timings], title="Seconds per step",
            width=560, bar_height=12, color=svg.HOLDOUT, value_name="seconds",
        )
    return charts


# ============================================================================= html


@functools.lru_cache(maxsize=1)
def _template():
    # Compiling the template costs more than rendering it: once per process.
    import jinja2

    source = resources.files("synthpipe.report").joinpath("template.html").read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = svg.fmt_num
    env.filters["pct"] = svg.fmt_pct
    env.filters["duration"] = _fmt_duration
    env.filters["pretty"] = _pretty
    env.filters["when"] = _fmt_when
    env.filters["short"] = lambda h: (h[:12] + "\u2026") if isinstance(h, str) and h else "n/a"
    env.filters["status_word"] = lambda s: {"pass": "pass", "fail": "FAIL", "warn": "warn",
                                            "skipped": "skipped"}.get(s, str(s))
    env.globals["is_num"] = lambda x: _num(x) is not None
    return env.from_string(source)


_PRETTY = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "f1": "F1", "f1_best": "F1 (best threshold)",
    "f1_best_threshold": "F1 (best threshold)",
    "f1_at_0.5": "F1 at 0.5", "f1_05": "F1 at 0.5", "precision": "precision",
    "recall": "recall", "recall_at_1pct_fpr": "recall at 1% FPR",
    "recall_at_5pct_fpr": "recall at 5% FPR", "average_precision": "PR-AUC (avg. precision)",
}


def _pretty(key: Any) -> str:
    """A metric key as people write it (roc_auc -> ROC-AUC); unknown keys lose underscores."""
    k = str(key)
    return _PRETTY.get(k.lower(), k.replace("_", " "))


def _fmt_when(value: Any) -> str:
    """ISO timestamp -> '2026-11-22 10:03:25 UTC' (anything else: as recorded, or n/a)."""
    t = _parse_time(value)
    if t is None:
        return str(value) if value else "not recorded"
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_duration(seconds: Any) -> str:
    s = _num(seconds)
    if s is None:
        return "n/a"
    if s < 60:
        return f"{svg.fmt_num(s)} s"
    minutes, sec = divmod(int(round(s)), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page of an assembled report (no scripts, no external assets)."""
    from markupsafe import Markup

    charts = render_charts(report)

    def mark(v: Any) -> Any:
        if isinstance(v, str):
            return Markup(v)  # noqa: S704 - built by svg.py, which escapes every text it draws
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    sec = {s["id"]: s for s in report["sections"]}
    return _template().render(report=report, sec=sec,
                              charts={k: mark(v) for k, v in charts.items()})


def _write_atomic(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def build_report(run_dir: str | Path) -> Path:
    """Build ``report.json`` and ``report.html`` in a run folder (each written atomically).

    Args:
        run_dir: A run folder written by the pipeline (``synthpipe report RUN_DIR``).

    Returns:
        The path of ``report.html``.

    Raises:
        InputError: The folder, its manifest.json or its metrics.json is missing or unreadable.
    """
    run_dir = Path(run_dir)
    report = assemble_report(run_dir)
    html_text = render_html(report)
    _write_atomic(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                  run_dir / "report.json")
    out = run_dir / "report.html"
    _write_atomic(html_text, out)
    log.info("report written to %s", out)
    return out


__all__ = [
    "MIN_COUNT",
    "SECTIONS",
    "assemble_report",
    "build_report",
    "column_profiles",
    "render_charts",
    "render_html",
]
