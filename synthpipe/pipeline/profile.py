"""What a run would do with a table, without training: ``synthpipe profile``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def profile_table(config: Path | None, **overrides: Any) -> dict[str, Any]:
    """Read, detect and plan as a run does, without protecting or training anything.

    The pipeline's ingest, the pii package's detection and plan, the business rules and the
    input contract, as ``synthpipe profile`` shows them.

    Args:
        config: A run config file, or None.
        **overrides: Run config fields, as :func:`synthpipe.config.load_config` takes them.

    Returns:
        ``{"status": "ok"|"contract_failed", "table", "sha256", "rows", "target", "columns",
        "rules", "contract"}``; each column with its kind, PII finding, action and whether it
        is modelled.

    Raises:
        SynthpipeError: Bad input or configuration (as a run would raise it), or a declared
            rule the data breaks.
    """
    from synthpipe import pii
    from synthpipe.config import PIIAction, load_config
    from synthpipe.errors import ContractError
    from synthpipe.pipeline.steps.input import ingest, validate_input
    from synthpipe.pipeline.steps.protect import model_columns

    cfg = load_config(config, **overrides)
    ing = ingest(cfg)
    findings = pii.detect_pii(ing.df, ing.metadata, seed=cfg.seed) if cfg.pii.detect else []
    actions = {c: PIIAction(a).value
               for c, a in pii.plan_actions(findings, ing.metadata, cfg.pii).items()}
    if cfg.target in actions:
        actions[cfg.target] = PIIAction.KEEP.value  # the label is kept, as the run's protect does
    modelled = set(model_columns(ing.metadata, actions))
    if cfg.target is not None:
        modelled.add(cfg.target)
    by_col = {f.column: f for f in findings}
    columns = []
    for name, meta in ing.metadata.columns.items():
        finding = by_col.get(name)
        columns.append({
            "name": name,
            "kind": meta.kind.value,
            "dtype": meta.dtype,
            "reason": meta.reason,
            "pii": finding.to_dict() if finding else None,
            "action": actions.get(name, "keep" if name in modelled else "regenerate"),
            "modelled": name in modelled,
        })
    try:
        report = validate_input(ing.df, cfg)
        contract = {
            "passed": bool(report.get("success", True)),
            "suite": report.get("suite_name"),
            "source": report.get("source"),
            "evaluated": report.get("evaluated"),
            "failures": list(report.get("failures") or []),
            "message": None,
        }
    except ContractError as exc:
        contract = {
            "passed": False,
            "suite": None,
            "source": str(cfg.expectations) if cfg.expectations else None,
            "evaluated": None,
            "failures": list(exc.failures),
            "message": exc.message,
        }
    return {
        "status": "ok" if contract["passed"] else "contract_failed",
        "rules": _rules(cfg, ing, modelled),
        "table": ing.path,
        "sha256": ing.sha256,
        "rows": len(ing.df),
        "target": cfg.target,
        "columns": columns,
        "contract": contract,
    }


def _rules(cfg: Any, ing: Any, modelled: set[str]) -> list[dict[str, Any]]:
    """The declared rules (checked on every row: a broken one is an input error, as in a run)
    and the rules found on the whole table; a run finds them on its training split."""
    from synthpipe.rules import declared_rules, detect_rules

    cols = [c for c in ing.df.columns if c in modelled and c != cfg.target]
    declared = declared_rules(cfg.rules.declared, ing.df, list(modelled), cfg.target)
    found = detect_rules(ing.df[cols], ing.metadata.subset(cols), declared) \
        if cfg.rules.detect else []
    return [{"rule": r.text(), "kind": r.kind, "declared": r.declared,
             "support": r.support, "rows": r.rows} for r in (*declared, *found)]


__all__ = ["profile_table"]
