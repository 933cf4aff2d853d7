"""The downstream fraud model, as a steward and a fraud team read it.

One row per training set (real-, synthetic-, augmented-trained), one column per score, each
score with its 95% bootstrap interval and, beside the real-trained row, its difference from it
marked when it is within noise (:mod:`synthpipe.evaluation.downstream`). Other shapes of
``metrics["downstream"]`` (older runs, hand-made files) fall back to a generic table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.report.data import dict_table, get, num, scalars

METRICS = (
    ("pr_auc", "PR-AUC"),
    ("roc_auc", "ROC-AUC"),
    ("recall_at_1pct_fpr", "Recall at 1% FPR"),
    ("recall_at_5pct_fpr", "Recall at 5% FPR"),
    ("precision_at_threshold", "Precision at the chosen threshold"),
)
SETS = (
    ("real", "real-trained"),
    ("synthetic", "synthetic-trained"),
    ("augmented", "augmented-trained"),
)


def downstream_section(downstream: Any) -> dict[str, Any] | None:
    """The fraud-model comparison, or None when the run has none."""
    if not isinstance(downstream, (Mapping, list)):
        return None
    if isinstance(downstream, Mapping) and isinstance(downstream.get("results"), Mapping):
        return _comparison(downstream)
    table = dict_table(downstream.get("sets", downstream) if isinstance(downstream, Mapping)
                       else downstream, skip=("verdict",))
    verdict = None
    if isinstance(downstream, Mapping):
        v = downstream.get("verdict", downstream.get("summary"))
        verdict = v if isinstance(v, str) else (get(v, "text") or get(v, "message"))
    return {"table": table, "verdict": verdict,
            "other": [] if table else scalars(downstream, limit=30)}


def _comparison(ds: Mapping[str, Any]) -> dict[str, Any]:
    results = ds["results"]
    vs_real = ds.get("vs_real") if isinstance(ds.get("vs_real"), Mapping) else {}
    names = [n for n, _ in SETS if n in results] + [n for n in results if n not in dict(SETS)]
    rows, curves, noise = [], {}, []
    for name in names:
        r = results[name] if isinstance(results[name], Mapping) else {}
        label = dict(SETS).get(name, f"{name}-trained")
        diffs = vs_real.get(name) if isinstance(vs_real.get(name), Mapping) else {}
        cells = [_cell(r, diffs.get(key), key) for key, _ in METRICS]
        rows.append({
            "set": name, "label": label,
            "train_rows": num(r.get("rows")), "positive_rate": num(r.get("positive_rate")),
            "threshold": num(r.get("threshold")),
            "skipped": r.get("skipped") if isinstance(r.get("skipped"), str) else None,
            "cells": cells,
        })
        within = [title for (key, title), c in zip(METRICS, cells, strict=True)
                  if c["within_noise"] is True]
        if within:
            noise.append(f"{label} vs real-trained: the differences in {_join(within)} are "
                         "within noise (their 95% interval includes 0).")
        curve = r.get("pr_curve")
        if isinstance(curve, Mapping) and _numbers(curve.get("recall")) \
                and _numbers(curve.get("precision")):
            curves[label] = {"recall": curve["recall"], "precision": curve["precision"]}
    boot = ds.get("bootstrap") if isinstance(ds.get("bootstrap"), Mapping) else {}
    verdict = ds.get("verdict")
    return {
        "comparison": True,
        "positive": ds.get("positive"),
        "holdout_rows": num(ds.get("holdout_rows")),
        "holdout_positive_rate": num(ds.get("holdout_positive_rate")),
        "metrics": [{"key": k, "label": t} for k, t in METRICS],
        "rows": rows,
        "noise": noise,
        "resamples": num(boot.get("resamples")),
        "intervals": any(c["lo"] is not None for row in rows for c in row["cells"]),
        "differences": any(c["difference"] is not None for row in rows for c in row["cells"]),
        "curves": curves,
        "verdict": _sentence(verdict) if isinstance(verdict, str) else None,
        "table": None,
        "other": [],
    }


def _cell(r: Mapping[str, Any], diff: Any, key: str) -> dict[str, Any]:
    ci = get(r, "ci95", key)
    lo, hi = (num(ci[0]), num(ci[1])) if isinstance(ci, list) and len(ci) == 2 else (None, None)
    d_ci = get(diff, "ci95")
    within = get(diff, "within_noise")
    return {
        "value": num(r.get(key)),
        "lo": lo,
        "hi": hi,
        "difference": num(get(diff, "difference")),
        "diff_lo": num(d_ci[0]) if isinstance(d_ci, list) and len(d_ci) == 2 else None,
        "diff_hi": num(d_ci[1]) if isinstance(d_ci, list) and len(d_ci) == 2 else None,
        "within_noise": within if isinstance(within, bool) else None,
    }


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and bool(values) and all(num(v) is not None for v in values)


def _join(items: list[str]) -> str:
    items = [i if i[:3] in ("PR-", "ROC") else i[0].lower() + i[1:] for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    """The evaluation writes its verdict as a clause; the report shows it as a sentence."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


__all__ = ["METRICS", "SETS", "downstream_section"]
