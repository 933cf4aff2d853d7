"""Section 8, the model card: what was trained on what, its intended use and its limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.report import fmt
from synthpipe.report.data import get, num


def _history(model_cfg: Any, metrics: dict) -> list[dict[str, Any]]:
    for src in (
        get(model_cfg, "loss_history"),
        get(model_cfg, "history"),
        get(metrics, "training", "history"),
    ):
        if isinstance(src, list) and src:
            out = []
            for i, h in enumerate(src):
                if isinstance(h, Mapping):
                    out.append({
                        "epoch": num(h.get("epoch")) or float(i + 1),
                        "train_loss": num(h.get("train_loss", h.get("loss"))),
                        "val_loss": num(h.get("val_loss")),
                    })
            if out:
                return out
    return []


def model_card_section(
    metrics: dict, model_cfg: Any, run: dict, fidelity: dict, privacy: dict, pii: dict
) -> dict[str, Any]:
    """The model card, from the run facts and what the other sections found."""
    model = run["model"]
    params = model["params"] or {}
    # Scalar facts of the saved model's config (layer sizes, parameter count...); the loss
    # history is drawn, and the params are already listed with the run facts.
    architecture = {
        k: v
        for k, v in (model_cfg.items() if isinstance(model_cfg, Mapping) else [])
        if k not in ("loss_history", "history", "params")
        and (num(v) is not None or isinstance(v, (str, bool)))
    }
    file = run["input"]["file"] or "the input table"
    return {
        "model": model["name"],
        "device": model["device"],
        "params": params,
        "architecture": architecture,
        "history": _history(model_cfg, metrics),
        "intended_use": _intended_use(run),
        "facts": _facts(run, params, file),
        "limits": _limits(fidelity, privacy, pii),
    }


def _intended_use(run: dict) -> str:
    if run.get("output_mode") == "augment":
        return ("Training fraud models inside the secure zone only: augmented.parquet holds the "
                "real training rows plus synthetic minority rows. It is not synthetic data; "
                "it never leaves the secure zone, whatever the verdict.")
    table = run["input"]["file"] or "table"
    return (f"Development, testing, analytics and model prototyping where the real {table} "
            "may not be used; sharing outside the secure zone only with a PUBLISHABLE verdict "
            "and a recorded approval.")


def _facts(run: dict, params: Mapping[str, Any], file: str) -> list[str]:
    """What was trained on what: rows, model, columns not learned, rare-label merging."""
    model = run["model"]
    rows = run["rows"]
    columns = run["columns"]
    modelled = [c["name"] for c in columns if c.get("modelled")]
    regenerated = [c["name"] for c in columns if c.get("modelled") is False
                   and c.get("action") != "drop"]
    dropped = [c["name"] for c in columns if c.get("action") == "drop"]
    facts: list[str] = []
    n_train = rows.get("train")
    facts.append(
        f"Trained on {fmt.fmt_num(n_train)} rows of {file}"
        + (f" ({len(modelled)} of {len(columns)} columns learned)" if columns else "")
        + "; the holdout"
        + (f" of {fmt.fmt_num(rows.get('holdout'))} rows" if rows.get("holdout") else "")
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
            + (f"(fewer than {rare} training rows) " if num(rare) is not None else "")
            + "are merged into one bucket that never decodes to a real value, so rare labels "
            "are absent from the synthetic data."
        )
    return facts


def _limits(fidelity: dict, privacy: dict, pii: dict) -> list[str]:
    """What the data is not for, and how far privacy and fidelity were verified."""
    limits = [
        "Not for re-identification, for linking records to people, or for decisions about "
        "individuals: rows are synthetic and belong to nobody.",
        "Not a substitute for the real data when estimating rare events or values outside the "
        "training range; the model reproduces the training split's patterns, including its "
        "biases.",
    ]
    priv_bits = _privacy_bits(privacy)
    if priv_bits:
        limits.append("Privacy verified against the holdout: " + "; ".join(priv_bits) + ".")
    else:
        limits.append("Privacy was NOT verified for this run (no privacy metrics recorded).")
    shapes = next((o for o in fidelity["overall"] if o["key"] == "column_shapes"), None)
    if shapes and shapes["synthetic"] is not None:
        limits.append(
            f"Fidelity: column shapes {fmt.fmt_num(shapes['synthetic'])}"
            + (f" (a real holdout reaches {fmt.fmt_num(shapes['holdout'])})"
               if shapes["holdout"] is not None else "")
            + "; check the per-column scores before relying on a particular column."
        )
    pii_actions = [f"{r['column']} {r['action']}" for r in pii.get("rows", []) if r["action"]]
    if pii_actions:
        limits.append("Personal data handled before training: " + ", ".join(pii_actions) + ".")
    return limits


def _privacy_bits(privacy: dict) -> list[str]:
    bits = []
    for s in privacy.get("scores", []):
        if s["name"] == "DCR share" and s["synthetic"] is not None:
            bits.append(f"DCR share {fmt.fmt_pct(s['synthetic'])} (0.5 ideal)")
        if s["name"] == "identical-match share" and s["synthetic"] is not None:
            bits.append(f"identical-match share {fmt.fmt_pct(s['synthetic'])}"
                        + (f" vs holdout {fmt.fmt_pct(s['reference'])}"
                           if s["reference"] is not None else ""))
    mia_aucs = [m["auc"] for m in privacy.get("mia", []) if m["auc"] is not None]
    if mia_aucs:
        bits.append(f"membership-attack AUC up to {fmt.fmt_num(max(mia_aucs))} (0.5 = "
                    "no better than chance)")
    return bits

__all__ = ["model_card_section"]
