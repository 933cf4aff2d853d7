"""Section 6, privacy: distance to closest record, membership inference and PII leakage, each
beside its holdout reference and gate threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.report.data import first_num, num, scalars


def _score(name: str, help_text: str, synthetic: float | None, reference: float | None,
           threshold: float | None = None, fmt: str = "num") -> dict[str, Any]:
    return {"name": name, "help": help_text, "synthetic": synthetic, "reference": reference,
            "threshold": threshold, "format": fmt}


# Privacy metrics come from synthpipe.evaluation.privacy; the keys below are its documented
# shape, with a few aliases so that a renamed field shows up rather than vanishing.
def privacy_section(metrics: dict, gates_cfg: Mapping) -> dict[str, Any]:
    """Privacy scores with their references, the attacks, the leak scan and failed parts."""
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
    dcr = priv.get("dcr") if isinstance(priv.get("dcr"), Mapping) else {}
    scores = _scores(priv, dcr, gates_cfg)
    mia = _attacks(priv.get("membership_inference", priv.get("mia")))
    leak = _leakage(priv.get("pii_leakage"), gates_cfg)
    known = {"identical_match_share", "dcr", "mia", "membership_inference", "pii_leakage",
             "rows", "columns", "seconds", "encoding_width"}
    samples = priv.get("rows") if isinstance(priv.get("rows"), Mapping) else None
    return {
        "computed": bool(scores or mia or leak["computed"]),
        "scores": scores,
        "dcr_histogram": _dcr_histogram(dcr),
        "mia": mia,
        "mia_threshold": num(gates_cfg.get("mia_auc_max")),
        "pii_leakage": leak,
        "errors": errors,
        "samples": {k: num(v) for k, v in samples.items()} if samples else None,
        "other": scalars({k: v for k, v in priv.items() if k not in known}, limit=30),
    }


def _scores(priv: Mapping, dcr: Mapping, gates_cfg: Mapping) -> list[dict[str, Any]]:
    """Identical matches and distance-to-closest-record scores, each beside its reference."""
    scores = []
    ims = priv.get("identical_match_share")
    if isinstance(ims, Mapping):
        scores.append(_score(
            "identical-match share",
            "share of synthetic rows equal to a training row; reference: the holdout's share",
            first_num(ims, "synthetic", "share", "value"), first_num(ims, "holdout", "reference"),
            fmt="pct"))
    elif num(ims) is not None:
        scores.append(_score("identical-match share", "share of synthetic rows equal to a "
                             "training row", num(ims), None, fmt="pct"))
    if not dcr:
        return scores
    scores.append(_score(
        "DCR share", "share of synthetic rows closer to train than to holdout (0.5 ideal)",
        first_num(dcr, "dcr_share", "share", "synthetic"), 0.5,
        num(gates_cfg.get("dcr_share_max")), fmt="pct"))
    scores.append(_score(
        "median distance to closest record", "synthetic-to-train vs holdout-to-train",
        first_num(dcr, "median.synthetic", "median_synthetic", "median"),
        first_num(dcr, "median.holdout", "median_holdout")))
    zero = first_num(dcr, "zero_distance_share.synthetic")
    if zero is not None:
        scores.append(_score(
            "exact-copy distance share", "rows at distance 0 from a training row",
            zero, first_num(dcr, "zero_distance_share.holdout"), fmt="pct"))
    nndr = first_num(dcr, "nndr_median.synthetic", "nndr_median", "nndr.synthetic")
    if nndr is not None:
        scores.append(_score(
            "nearest-neighbour distance ratio (median)",
            "near 1: no single training row stands out as the nearest; near 0: copies",
            nndr, first_num(dcr, "nndr_median.holdout", "nndr.holdout")))
    return scores


def _attacks(mia_raw: Any) -> list[dict[str, Any]]:
    """One row per membership-inference attack, then the gated (highest) AUC."""
    mia: list[dict[str, Any]] = []
    if not isinstance(mia_raw, Mapping):
        return mia
    attacks = mia_raw.get("attacks")
    if not isinstance(attacks, Mapping):
        # Older shape: the attacks side by side with the summary numbers.
        attacks = {k: v for k, v in mia_raw.items() if isinstance(v, Mapping)}
    for name, v in attacks.items():
        if isinstance(v, Mapping):
            note = v.get("error", v.get("note"))
            mia.append({"attack": str(name).replace("_", " "),
                        "auc": first_num(v, "auc", "roc_auc"),
                        "note": note if isinstance(note, str) else None})
    top = first_num(mia_raw, "synthetic", "max_auc", "max")
    if mia and top is not None:
        mia.append({"attack": "highest (gated)", "auc": top, "note": None})
    return mia


def _leakage(leak_raw: Any, gates_cfg: Mapping) -> dict[str, Any]:
    """The PII leak scan: real direct-identifier values found in the published cells."""
    if not isinstance(leak_raw, Mapping):
        return {"computed": False}
    per = leak_raw.get("per_column")
    rows = []
    for col, v in (per.items() if isinstance(per, Mapping) else []):
        if isinstance(v, Mapping):
            found = v.get("found_in") if isinstance(v.get("found_in"), Mapping) else {}
            rows.append({"column": str(col), "count": first_num(v, "count", "leaks"),
                         "checked": num(v.get("values_checked")),
                         "found_in": ", ".join(f"{k} ({n})" for k, n in found.items()),
                         "examples": [str(x) for x in v.get("examples") or []][:5]})
        else:
            rows.append({"column": str(col), "count": num(v), "checked": None,
                         "found_in": "", "examples": []})
    message = leak_raw.get("message", leak_raw.get("error"))
    return {
        "computed": leak_raw.get("status") != "not_requested",
        "status": leak_raw.get("status"),
        "message": message if isinstance(message, str) else None,
        "total": first_num(leak_raw, "total", "leaks", "count"),
        "rows": rows,
        "threshold": num(gates_cfg.get("pii_leaks_max")),
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


__all__ = ["privacy_section"]
