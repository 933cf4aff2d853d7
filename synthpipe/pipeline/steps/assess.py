"""Assess stage: validate the synthetic table, measure it against the real data, gate it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.steps.train import load_model


def validate_synthetic(
    train: pd.DataFrame, published: pd.DataFrame, metadata: TableMetadata, target: str | None,
    model_path: str | None = None, suite_name: str = "derived",
) -> tuple[dict, dict]:
    """Derive a Great Expectations suite from the real training data; validate the output.

    The suite covers every column of the (protected) training table, so a column missing from
    the output fails its column-set check. It is published with the run, so its value sets
    leave out the labels the model at ``model_path`` merged as rare (its ``rare_min_count``).
    Columns that model did not learn (ids, text, faked identifiers) are filled with fresh
    values, so they get no value set.

    Returns:
        The validation report (dict) and the suite (JSON dict) saved beside the run.
    """
    from synthpipe import validation

    min_count, generated, rules = 0, [], []
    if model_path:
        model = load_model(model_path)
        min_count = int(model.transformer_.rare_min_count)
        generated = [c for c in train.columns if c not in model.columns_]
        rules = model.rules_.rules_
    suite = validation.derive_suite(train, metadata.subset(list(train.columns)), target,
                                    min_label_count=min_count, generated=generated, rules=rules,
                                    name=suite_name)
    report = validation.validate(published, suite)
    return report.to_dict(), validation.suite_to_json(suite)


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    published: pd.DataFrame,
    metadata: TableMetadata,
    cfg: RunConfig,
    pii_values: dict[str, pd.Series],
    model_path: str | None = None,
) -> dict:
    """Fidelity, utility and privacy of the synthetic rows against train and holdout.

    A model with a ``log_prob`` (the flow model) also serves the density-ratio attack. The
    model's merged rare labels are reported under ``rare_labels``: per column, how many labels
    and which share of the training cells were merged, and what they decode to (never a rare
    value, never a placeholder).
    """
    from synthpipe.evaluation import evaluate as run_evaluation

    model = load_model(model_path) if model_path else None
    density_model = model if hasattr(model, "log_prob") else None
    cols = list(synthetic.columns)
    metrics = run_evaluation(
        train[cols],
        holdout[cols],
        synthetic,
        metadata.subset(cols),
        cfg.target,
        seed=cfg.seed,
        pii_values=pii_values,
        published=published,
        density_model=density_model,
    )
    if model is not None:
        metrics["rare_labels"] = model.transformer_.rare_summary()
        metrics["rules"] = rules_summary(model, train, synthetic)
    if cfg.target is not None:
        metrics["within_class"] = within_class_fidelity(
            train[cols], holdout[cols], synthetic, metadata.subset(cols), cfg.target, cfg.seed
        )
    fidelity = metrics.get("fidelity") or {}
    if "pair_trends" in fidelity:
        from synthpipe.evaluation.diagnosis import diagnose

        fidelity["diagnosis"] = diagnose(
            train[cols], synthetic, metadata.subset(cols), fidelity["pair_trends"],
            list(fidelity.get("columns") or cols), seed=cfg.seed,
        )
    if model is not None and getattr(model, "training_", None):
        metrics["training"] = model.training_
    return metrics


def rules_summary(model: Any, train: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Every rule the model keeps, with its support in the real rows and its violations in
    the synthetic ones (0 by construction; a non-zero count is a bug the gate stops)."""
    from synthpipe.rules import MIN_SUPPORT, Order, check_rules

    rules = list(model.rules_.rules_)
    # Date orders are found and kept by synthpipe.constraints; they are rules all the same.
    for r in model.constraints_.rules_:
        order = Order(column=r.column, sources=(r.anchor,))
        if all(c in train.columns for c in order.columns):
            order.rows = int(order.present(train).sum())
        rules.append(order)
    checked = check_rules(rules, synthetic)
    return {
        "rules": checked,
        "violations": sum(r["violations"] for r in checked),
        "detected": sum(not r["declared"] for r in checked),
        "declared": sum(bool(r["declared"]) for r in checked),
        "min_support": MIN_SUPPORT,
        "policy": (
            f"rules found in at least {MIN_SUPPORT:.1%} of the real rows are kept in every "
            "synthetic row; the real rows that break one are not reproduced"
        ),
    }


def within_class_fidelity(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: TableMetadata,
    target: str,
    seed: int,
    min_rows: int = 20,
) -> dict:
    """Fidelity computed inside each class: real minority rows vs synthetic minority rows.

    Rebalancing multiplies the minority class; these scores show whether those rows are
    realistic, beside the same scores for the real holdout's rows of that class.
    """
    from synthpipe.evaluation import fidelity_report

    features = [c for c in train.columns if c != target]
    out: dict[str, Any] = {}
    for cls in sorted(train[target].dropna().unique(), key=str):
        parts = [f[f[target] == cls][features] for f in (train, holdout, synthetic)]
        sizes = {"train": len(parts[0]), "holdout": len(parts[1]), "synthetic": len(parts[2])}
        if min(sizes.values()) < min_rows:
            out[str(cls)] = {"rows": sizes, "skipped": f"fewer than {min_rows} rows in a split"}
            continue
        rep = fidelity_report(*parts, metadata.subset(features), seed=seed, max_rows=5_000)
        out[str(cls)] = {
            "rows": sizes,
            **{
                k: {"synthetic": rep[k].get("synthetic"), "holdout": rep[k].get("holdout")}
                for k in ("column_shapes", "pair_trends", "detection")
                if k in rep
            },
        }
    return out


def gate(metrics: dict, cfg: RunConfig) -> dict:
    """Apply the publication gates: privacy failures block, fidelity floors warn."""
    from synthpipe.evaluation import gates

    return gates(metrics, cfg.gates)


def downstream(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    augmented: pd.DataFrame | None,
    class_counts: dict[Any, int],
    metadata: TableMetadata,
    cfg: RunConfig,
) -> dict:
    """Fraud-model check on the real holdout: real vs synthetic vs augmented training data."""
    from synthpipe.evaluation.downstream import downstream_report

    positive = min(class_counts, key=lambda c: (class_counts[c], str(c)))
    return downstream_report(
        train,
        holdout,
        synthetic,
        cfg.target,
        positive,
        metadata,
        augmented=augmented,
        seed=cfg.seed,
    )


def column_profiles(train: pd.DataFrame, synthetic: pd.DataFrame, meta: TableMetadata) -> dict:
    """Aggregated per-column distributions of real and synthetic data for the report."""
    from synthpipe.report import column_profiles as profile

    real = profile(train, meta)
    # The real profile fixes bins and categories, so synthetic bars line up with real ones.
    return {"real": real, "synthetic": profile(synthetic, meta, edges=real)}
