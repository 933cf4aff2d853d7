"""Section 7, utility and rebalancing: class counts before and after sampling, the
train-synthetic-test-real scores, the downstream fraud model and the candidate models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.report.data import dict_table, get, num, scalars
from synthpipe.report.sections.downstream import downstream_section


def utility_section(metrics: dict, manifest: dict, target: str | None) -> dict[str, Any]:
    """Class counts, train-synthetic-test-real scores, downstream check and candidates."""
    util = metrics.get("utility")
    sampling = metrics.get("sampling")
    sampling = sampling if isinstance(sampling, Mapping) else get(manifest, "sampling") or {}
    util_rows = _utility_rows(util)
    return {
        "target": target,
        "sampling": {
            "mode": get(sampling, "mode"),
            "spec": get(sampling, "spec"),
            "rows": get(sampling, "rows"),
        },
        "classes": _classes(metrics, sampling, util, target),
        "utility_computed": isinstance(util, Mapping),
        "utility": util_rows,
        "utility_other": (
            scalars({k: v for k, v in util.items()
                     if k not in ("real", "synthetic", "ratios", "metrics", "features",
                                  "message", "status", "name")}, limit=30)
            if isinstance(util, Mapping) and not util_rows
            else []
        ),
        "utility_test": get(util, "test_set") or get(util, "tested_on"),
        "utility_model": get(util, "model") if isinstance(get(util, "model"), str) else None,
        "utility_status": get(util, "status"),
        "notes": _notes(util),
        "downstream": downstream_section(metrics.get("downstream")),
        "candidates": _candidates(metrics.get("candidates")),
    }


def _classes(metrics: dict, sampling: Any, util: Any, target: str | None) -> list[dict]:
    """Rows per target class before (train) and after (synthetic) sampling."""
    after = sampling.get("class_counts") if isinstance(sampling, Mapping) else None
    before = None
    for src in (
        get(sampling, "train_class_counts"),
        get(sampling, "before"),
        get(util, "class_counts", "train"),
    ):
        if isinstance(src, Mapping):
            before = src
            break
    if before is None and target:
        prof = get(metrics, "profiles", "real", target)
        if isinstance(prof, Mapping) and prof.get("type") == "categories":
            before = dict(zip(prof.get("categories") or [], prof.get("counts") or [], strict=False))
    classes = []
    if isinstance(after, Mapping) or isinstance(before, Mapping):
        keys = list(before or {}) + [k for k in after or {} if k not in (before or {})]
        for k in keys:
            classes.append({
                "label": str(k),
                "before": num((before or {}).get(k)),
                "after": num((after or {}).get(k)),
            })
    return classes


def _utility_rows(util: Any) -> list[dict[str, Any]]:
    """One row per utility metric: the real-trained and synthetic-trained score and ratio."""
    rows = []
    if isinstance(util, Mapping) and isinstance(util.get("metrics"), Mapping):
        # synthpipe.evaluation.utility: {"metrics": {name: {"real", "synthetic", "ratio"}}}
        for k, v in util["metrics"].items():
            if isinstance(v, Mapping):
                rows.append({"metric": str(k), "real": num(v.get("real")),
                             "synthetic": num(v.get("synthetic")),
                             "ratio": num(v.get("ratio"))})
    elif isinstance(util, Mapping):
        real, syn = util.get("real"), util.get("synthetic")
        ratios = util.get("ratios") if isinstance(util.get("ratios"), Mapping) else {}
        if isinstance(real, Mapping) or isinstance(syn, Mapping):
            keys = [k for k in (real or {}) if num((real or {}).get(k)) is not None]
            keys += [k for k in (syn or {}) if k not in keys and num(syn.get(k)) is not None]
            for k in keys:
                rows.append({
                    "metric": str(k),
                    "real": num((real or {}).get(k)),
                    "synthetic": num((syn or {}).get(k)),
                    "ratio": num(ratios.get(k)),
                })
    return rows


def _notes(util: Any) -> list[str]:
    notes = []
    if isinstance(util, Mapping):
        for key in ("note", "message", "warning", "reason", "error"):
            if isinstance(util.get(key), str) and util[key]:
                notes.append(util[key])
        if util.get("single_class") and not notes:
            notes.append("the synthetic data holds a single class of the target")
    return notes


def _candidates(cands: Any) -> dict[str, Any] | None:
    if not isinstance(cands, (Mapping, list)):
        return None
    table = dict_table(cands.get("models", cands) if isinstance(cands, Mapping) else cands,
                       skip=("chosen", "best", "selected"))
    chosen = get(cands, "chosen") or get(cands, "best") or get(cands, "selected")
    rule = get(cands, "rule")
    return {"table": table, "chosen": chosen if isinstance(chosen, str) else None,
            "rule": rule if isinstance(rule, str) else None,
            "other": [] if table else scalars(cands, limit=30)}

__all__ = ["utility_section"]
