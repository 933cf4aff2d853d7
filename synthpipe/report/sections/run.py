"""Sections 2 and 3: the run's facts (input, rows, model, timings) and its personal data."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthpipe.report.data import get, num, parse_time


def run_section(manifest: dict, model_cfg: dict | None) -> dict[str, Any]:
    """Input, row counts, model, seed, versions, timings, columns and output hashes."""
    start, end = parse_time(manifest.get("created_at")), parse_time(manifest.get("finished_at"))
    duration = (end - start).total_seconds() if start and end else None
    timings = manifest.get("timings_seconds")
    if duration is None and isinstance(timings, Mapping):
        nums = [num(v) for v in timings.values()]
        duration = sum(v for v in nums if v is not None) or None
    cfg = manifest.get("config") if isinstance(manifest.get("config"), Mapping) else {}
    columns = [c for c in manifest.get("columns") or [] if isinstance(c, Mapping)]
    params = get(manifest, "model", "params")
    if not isinstance(params, Mapping):
        params = get(model_cfg, "params") if isinstance(get(model_cfg, "params"), Mapping) else {}
    input_path = get(manifest, "input", "path")
    return {
        "input": {
            "path": input_path,
            "file": Path(input_path).name if isinstance(input_path, str) else None,
            "sha256": get(manifest, "input", "sha256"),
            "rows": get(manifest, "input", "rows"),
            "columns": get(manifest, "input", "columns"),
        },
        "rows": {k: get(manifest, "rows", k) for k in ("input", "train", "holdout", "synthetic")},
        "target": cfg.get("target"),
        "config_recorded": bool(cfg),
        "created_at": manifest.get("created_at"),
        "finished_at": manifest.get("finished_at"),
        "duration_seconds": duration,
        "user": manifest.get("user"),
        "host": manifest.get("host"),
        "synthpipe_version": manifest.get("synthpipe_version"),
        "model": {
            "name": get(manifest, "model", "name") or get(cfg, "model", "name"),
            "device": get(manifest, "model", "device"),
            "params": dict(params),
        },
        "seed": manifest.get("seed", cfg.get("seed")),
        "sampling": {k: get(manifest, "sampling", k) for k in ("mode", "spec", "rows")},
        "output_mode": manifest.get("output_mode") or "synthetic",
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


def pii_section(manifest: dict) -> dict[str, Any]:
    """Each PII column once: what was detected, by which rule, and what was done to it."""
    pii = manifest.get("pii")
    detect = get(manifest, "config", "pii", "detect")
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


__all__ = ["pii_section", "run_section"]
