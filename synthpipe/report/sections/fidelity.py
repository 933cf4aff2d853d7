"""Section 5, fidelity: overall scores, per-column shapes, weakest pairs, correlations and the
real-vs-synthetic profiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.report.data import get, num


def fidelity_section(metrics: dict, manifest: dict, gates_cfg: Mapping) -> dict[str, Any]:
    """Overall and per-column scores against their holdout reference and thresholds."""
    fid = metrics.get("fidelity")
    fid = fid if isinstance(fid, Mapping) else {}
    thresholds = {
        "column_shapes": (">=", num(gates_cfg.get("column_shapes_min"))),
        "pair_trends": (">=", num(gates_cfg.get("pair_trends_min"))),
        "detection": ("<=", num(gates_cfg.get("detection_auc_max"))),
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
                "synthetic": num(m.get("synthetic")),
                "holdout": num(m.get("holdout")),
                "op": op if thr is not None else None,
                "threshold": thr,
            }
        )
    per_column = []
    pc = get(fid, "column_shapes", "per_column")
    if isinstance(pc, Mapping):
        for col, v in pc.items():
            if isinstance(v, Mapping):
                per_column.append(
                    {
                        "column": str(col),
                        "kind": v.get("kind"),
                        "metric": v.get("metric"),
                        "synthetic": num(v.get("synthetic")),
                        "holdout": num(v.get("holdout")),
                    }
                )
            else:
                per_column.append({"column": str(col), "kind": None, "metric": None,
                                   "synthetic": num(v), "holdout": None})
    pairs = []
    for p in get(fid, "pair_trends", "per_pair") or []:
        if isinstance(p, Mapping) and isinstance(p.get("columns"), list):
            pairs.append(
                {
                    "columns": [str(c) for c in p["columns"]],
                    "metric": p.get("metric"),
                    "synthetic": num(p.get("synthetic")),
                    "holdout": num(p.get("holdout")),
                }
            )
    worst = sorted((p for p in pairs if p["synthetic"] is not None),
                   key=lambda p: p["synthetic"])[:10]
    return {
        "computed": bool(overall),
        "overall": overall,
        "per_column": per_column,
        "lowest_pairs": worst,
        "pairs_evaluated": get(fid, "pair_trends", "pairs_evaluated"),
        "pairs_total": get(fid, "pair_trends", "pairs_total"),
        "rows": {k: get(fid, "rows", k) for k in ("train", "holdout", "synthetic")}
        if isinstance(fid.get("rows"), Mapping) else None,
        "correlation": _correlation(get(fid, "pair_trends", "correlation")),
        "giveaway": _giveaway(fid.get("diagnosis")),
        "profiles": _profiles(metrics.get("profiles"), manifest),
        "detection": {
            k: get(fid, "detection", k) for k in ("classifier", "folds", "rows_per_class")
        }
        if isinstance(fid.get("detection"), Mapping)
        else None,
    }


def _giveaway(diagnosis: Any) -> dict[str, Any] | None:
    """What tells synthetic rows from real ones: the worst pairs (their sentence and, for the
    worst few, the real and synthetic joint shares side by side) and the columns a detection
    classifier relies on. Shares only: labels on few real rows are already folded into
    "other" and numbers cut at quantiles by the diagnosis."""
    if not isinstance(diagnosis, Mapping):
        return None
    pairs = []
    for p in diagnosis.get("worst_pairs") or []:
        if not isinstance(p, Mapping) or not isinstance(p.get("columns"), list):
            continue
        table = p.get("table") if isinstance(p.get("table"), Mapping) else None
        joint = None
        if table and all(isinstance(table.get(k), list) for k in ("rows", "cols", "real",
                                                                 "synthetic")):
            joint = {
                "row_column": str(table["columns"][0]) if table.get("columns") else "",
                "col_column": str(table["columns"][1]) if table.get("columns") else "",
                "cols": [str(c) for c in table["cols"]],
                "rows": [
                    {"label": str(label),
                     "cells": [{"real": num(r), "synthetic": num(s)}
                               for r, s in zip(real, syn, strict=False)]}
                    for label, real, syn in zip(table["rows"], table["real"], table["synthetic"],
                                                strict=False)
                ],
            }
        pairs.append({"columns": [str(c) for c in p["columns"]],
                      "synthetic": num(p.get("synthetic")), "holdout": num(p.get("holdout")),
                      "gap": num(p.get("gap")), "explanation": p.get("explanation"),
                      "joint": joint})
    imp = diagnosis.get("detection_importance")
    detection = None
    if isinstance(imp, Mapping):
        detection = {
            "explanation": imp.get("explanation"),
            "columns": [{"column": str(c.get("column")), "auc_drop": num(c.get("auc_drop"))}
                        for c in imp.get("columns") or [] if isinstance(c, Mapping)],
        }
    return {"pairs": pairs, "detection": detection}


def _square(matrix: Any, n: int) -> list[list[float | None]] | None:
    if not isinstance(matrix, list) or len(matrix) != n:
        return None
    rows = []
    for r in matrix:
        if not isinstance(r, list) or len(r) != n:
            return None
        rows.append([num(v) for v in r])
    return rows


def _correlation(corr: Any) -> dict[str, Any]:
    cols = get(corr, "columns")
    if not isinstance(cols, list) or len(cols) < 2:
        return {"computed": False, "columns": cols if isinstance(cols, list) else []}
    n = len(cols)
    real, synth = _square(get(corr, "real"), n), _square(get(corr, "synthetic"), n)
    if real is None or synth is None:
        return {"computed": False, "columns": cols}
    diff = [
        [None if a is None or b is None else b - a for a, b in zip(ra, rb, strict=True)]
        for ra, rb in zip(real, synth, strict=True)
    ]
    return {"computed": True, "columns": [str(c) for c in cols], "real": real,
            "synthetic": synth, "difference": diff}


def _profiles(profiles: Any, manifest: dict) -> dict[str, Any]:
    real = get(profiles, "real")
    synth = get(profiles, "synthetic")
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
            "kind": get(r, "kind") or get(s, "kind"),
            "real": r if isinstance(r, Mapping) else None,
            "synthetic": s if isinstance(s, Mapping) else None,
        })
    floors = [num(get(p, "min_count")) for p in list(real.values()) + list(synth.values())]
    floors = [int(f) for f in floors if f is not None]
    return {
        "computed": True,
        "columns": columns,
        "missing": [c for c in modelled if c not in real and c not in synth],
        "min_count": max(floors) if floors else None,
    }


__all__ = ["fidelity_section"]
