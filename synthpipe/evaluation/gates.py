"""Publication gates: thresholds over the evaluation metrics, failing closed on privacy.

Three categories of checks:

- ``privacy`` (severity ``block``): membership-inference AUC (the stronger attack) at most
  ``mia_auc_max``; DCR share at most ``dcr_share_max``; identical-match share at most the
  holdout's share plus ``identical_match_margin``; PII leaks at most ``pii_leaks_max``. A privacy
  number that is missing or could not be computed FAILS its check: nothing is published on an
  unverified privacy claim. The one exception is the PII scan when the caller said there was
  nothing to scan for (``pii_values=None`` gives ``status: not_requested``): that check is
  reported as skipped, visibly.
- ``contract`` (``block`` when ``require_suite_pass``, else ``warn``): the Great Expectations
  suite derived from the real data passed on the synthetic table
  (``metrics["synthetic_suite"]["success"] is True``); skipped when no suite was run.
- ``fidelity`` (``warn``): column shapes and pair trends at least their floors, detection AUC at
  most its ceiling; skipped when missing (for example a one-column table has no pairs).

Every check reports its value, threshold, operator and a message; ``status`` is ``passed``,
``failed`` or ``skipped`` and ``passed`` is True, False or None (skipped, never True).
"""

from __future__ import annotations

import math
from typing import Any

from synthpipe.config import GateConfig
from synthpipe.errors import ConfigError

_OPS = {
    "<=": lambda v, t: v <= t,
    ">=": lambda v, t: v >= t,
    "==": lambda v, t: v == t,
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and not math.isnan(float(value)):
        return float(value)
    return None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _get(metrics: dict[str, Any], *path: str) -> Any:
    node: Any = metrics
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def gate_check(
    name: str,
    category: str,
    severity: str,
    value: Any,
    threshold: Any,
    op: str,
    *,
    fail_closed: bool,
    why: str,
    fix: str,
    missing_reason: str | None = None,
) -> dict[str, Any]:
    """One gate. ``value`` None means "not available": failed if ``fail_closed``, else skipped."""
    base = {
        "name": name,
        "category": category,
        "value": value,
        "threshold": threshold,
        "op": op,
        "severity": severity,
    }
    if value is None or threshold is None:
        reason = missing_reason or "the metric is missing"
        if fail_closed:
            return {
                **base,
                "passed": False,
                "status": "failed",
                "message": f"{name} could not be verified ({reason}); failing closed",
            }
        return {**base, "passed": None, "status": "skipped", "message": f"skipped: {reason}"}
    ok = bool(_OPS[op](value, threshold))
    if ok:
        message = f"{name} = {_fmt(value)} {op} {_fmt(threshold)}"
    else:
        message = f"{name} = {_fmt(value)}, must be {op} {_fmt(threshold)}: {why}. {fix}"
    return {**base, "passed": ok, "status": "passed" if ok else "failed", "message": message}


def _error_of(metrics: dict[str, Any], *path: str) -> str | None:
    node = _get(metrics, *path)
    if isinstance(node, dict) and node.get("error"):
        return str(node["error"])
    if node is None:
        return f"no {'.'.join(path)} in the metrics"
    return None


def _privacy_checks(metrics: dict[str, Any], cfg: GateConfig) -> list[dict[str, Any]]:
    checks = []
    mia = _number(_get(metrics, "privacy", "membership_inference", "synthetic"))
    checks.append(
        gate_check(
            "mia_auc", "privacy", "block", mia, cfg.mia_auc_max, "<=",
            fail_closed=True,
            why="an attacker can tell the training rows from unseen rows through the output",
            fix="The model memorises: train fewer epochs, on more rows, or with a smaller model.",
            missing_reason=_error_of(metrics, "privacy", "membership_inference"),
        )
    )
    dcr = _number(_get(metrics, "privacy", "dcr", "dcr_share"))
    checks.append(
        gate_check(
            "dcr_share", "privacy", "block", dcr, cfg.dcr_share_max, "<=",
            fail_closed=True,
            why="too many synthetic rows sit closer to a training row than to any unseen row",
            fix="The model reproduces its training rows: regularise it or train it less.",
            missing_reason=_error_of(metrics, "privacy", "dcr"),
        )
    )
    own = _number(_get(metrics, "privacy", "identical_match_share", "synthetic"))
    ref = _number(_get(metrics, "privacy", "identical_match_share", "holdout"))
    checks.append(
        gate_check(
            "identical_match_share", "privacy", "block", own,
            None if ref is None else ref + cfg.identical_match_margin, "<=",
            fail_closed=True,
            why="more synthetic rows copy a training row exactly than unseen real rows do",
            fix="Copies of real records must not be published: retrain or filter the copies.",
            missing_reason=_error_of(metrics, "privacy", "identical_match_share"),
        )
    )
    pii = _get(metrics, "privacy", "pii_leakage")
    status = pii.get("status") if isinstance(pii, dict) else None
    leaks = pii.get("total") if isinstance(pii, dict) else None
    leaks = int(leaks) if isinstance(leaks, (int, float)) and not isinstance(leaks, bool) else None
    not_requested = status == "not_requested"
    checks.append(
        gate_check(
            "pii_leaks", "privacy", "block", leaks, cfg.pii_leaks_max, "<=",
            fail_closed=not not_requested,
            why="real direct-identifier values of the input appear in the output",
            fix="Set a drop, pseudonymize or fake policy for the columns listed in pii_leakage.",
            missing_reason=(
                "no direct-identifier values were given to scan for"
                if not_requested
                else _error_of(metrics, "privacy", "pii_leakage")
            ),
        )
    )
    return checks


def _contract_check(metrics: dict[str, Any], cfg: GateConfig) -> dict[str, Any]:
    severity = "block" if cfg.require_suite_pass else "warn"
    suite = metrics.get("synthetic_suite")
    if suite is None:
        return gate_check(
            "synthetic_suite", "contract", severity, None, True, "==",
            fail_closed=False, why="", fix="",
            missing_reason="no Great Expectations suite was run on the synthetic table",
        )
    success = suite.get("success") is True if isinstance(suite, dict) else False
    return gate_check(
        "synthetic_suite", "contract", severity, success, True, "==",
        fail_closed=True,
        why="the synthetic table breaks expectations derived from the real table",
        fix="See the failed expectations in the validation results.",
    )


def _rules_check(metrics: dict[str, Any]) -> dict[str, Any]:
    rules = metrics.get("rules")
    count = len(rules.get("rules") or []) if isinstance(rules, dict) else 0
    broken = [r["rule"] for r in (rules or {}).get("rules", []) if r.get("violations")]
    return gate_check(
        "business_rules", "contract", "block",
        _number(rules.get("violations")) if count else None, 0, "<=",
        fail_closed=False,
        why="synthetic rows break business rules of the real table ("
            + "; ".join(broken[:3]) + ")",
        fix="Rules are kept by construction, so this is a bug: report it with the run folder.",
        missing_reason="no business rule was found or declared",
    )


def _fidelity_checks(metrics: dict[str, Any], cfg: GateConfig) -> list[dict[str, Any]]:
    specs = [
        ("column_shapes", ("fidelity", "column_shapes", "synthetic"), cfg.column_shapes_min, ">=",
         "single columns are distributed unlike the real ones",
         "Train longer or check the per-column scores."),
        ("pair_trends", ("fidelity", "pair_trends", "synthetic"), cfg.pair_trends_min, ">=",
         "relations between columns are lost",
         "Train longer or use a model that captures dependencies."),
        ("detection_auc", ("fidelity", "detection", "synthetic"), cfg.detection_auc_max, "<=",
         _giveaway(metrics),
         "Train longer (--time-budget), declare the rule the worst pairs break, or try "
         "another model (--model auto)."),
    ]
    return [
        gate_check(
            name, "fidelity",
            "block" if name == "detection_auc" and cfg.block_on_detection else "warn",
            _number(_get(metrics, *path)), threshold, op,
            fail_closed=name == "detection_auc" and cfg.block_on_detection, why=why, fix=fix,
            missing_reason=_error_of(metrics, *path[:2]) or "the score could not be computed",
        )
        for name, path, threshold, op, why, fix in specs
    ]


def _giveaway(metrics: dict[str, Any]) -> str:
    """What tells synthetic rows from real ones, in words, from the fidelity diagnosis."""
    diagnosis = _get(metrics, "fidelity", "diagnosis") or {}
    said = []
    importance = diagnosis.get("detection_importance") or {}
    if importance.get("explanation"):
        said.append(importance["explanation"])
    worst = [p for p in diagnosis.get("worst_pairs") or [] if p.get("explanation")]
    if worst:
        said.append("worst pair: " + worst[0]["explanation"])
    return "; ".join(said) or "a classifier tells synthetic rows from real ones easily"


def gates(metrics: dict[str, Any], cfg: GateConfig | None = None) -> dict[str, Any]:
    """Apply the publication gates to evaluation metrics.

    Args:
        metrics: The output of :func:`synthpipe.evaluation.evaluate`, optionally with a
            ``"synthetic_suite"`` entry (Great Expectations result with ``success``).
        cfg: Thresholds; None uses the documented defaults of :class:`GateConfig`.

    Returns:
        ``{"publishable": bool, "checks": [...], "failed": [...], "warnings": [...],
        "skipped": [...]}``: ``failed`` names the blocking failures (any one stops publication),
        ``warnings`` the failed warn-only checks, ``skipped`` the checks without a metric.

    Raises:
        ConfigError: ``metrics`` is not a dict or ``cfg`` is not a GateConfig.
    """
    if not isinstance(metrics, dict):
        raise ConfigError(
            f"gates need the metrics dict, got {type(metrics).__name__}",
            hint="pass the result of synthpipe.evaluation.evaluate",
        )
    cfg = GateConfig() if cfg is None else cfg
    if not isinstance(cfg, GateConfig):
        raise ConfigError(
            f"gates need a GateConfig, got {type(cfg).__name__}",
            hint="build one with synthpipe.config.GateConfig(...)",
        )
    checks = [
        *_privacy_checks(metrics, cfg),
        _contract_check(metrics, cfg),
        _rules_check(metrics),
        *_fidelity_checks(metrics, cfg),
    ]
    failed = [c["name"] for c in checks if c["status"] == "failed" and c["severity"] == "block"]
    warned = [c["name"] for c in checks if c["status"] == "failed" and c["severity"] == "warn"]
    return {
        "publishable": not failed,
        "checks": checks,
        "failed": failed,
        "warnings": warned,
        "skipped": [c["name"] for c in checks if c["status"] == "skipped"],
    }


def with_check(verdict: dict[str, Any], check: dict[str, Any]) -> dict[str, Any]:
    """A gate verdict with one more blocking check added (the verdict passed in is unchanged).

    Args:
        verdict: A verdict of :func:`gates`.
        check: A blocking check such as :func:`approval_check` or :func:`chunk_leak_check`.

    Returns:
        The verdict with ``check`` appended; a failed check is listed under ``failed`` and
        makes the verdict unpublishable.
    """
    failed = [*verdict.get("failed", []), *([] if check["passed"] else [check["name"]])]
    return {
        **verdict,
        "checks": [*verdict.get("checks", []), check],
        "failed": failed,
        "publishable": bool(verdict["publishable"] and check["passed"]),
    }


def approval_check(approval: dict[str, Any]) -> dict[str, Any]:
    """A data steward's decision as a blocking check (``steward_approval``).

    Args:
        approval: ``{"decision": "approved" | "rejected", "by", "comment", ...}``.

    Returns:
        The check; it passes only for ``decision == "approved"``.
    """
    approved = approval.get("decision") == "approved"
    return {
        "name": "steward_approval",
        "category": "approval",
        "value": approval.get("decision"),
        "threshold": "approved",
        "op": "==",
        "severity": "block",
        "passed": approved,
        "status": "passed" if approved else "failed",
        "message": f"{approval.get('decision')} by {approval.get('by')}: "
        f"{approval.get('comment') or 'no comment'}",
    }


def chunk_leak_check(summary: dict[str, Any], cfg: GateConfig | None = None) -> dict[str, Any]:
    """The PII-leak scan over every part of a chunked output as a blocking privacy check.

    Args:
        summary: The chunk summary, with the leak count ``pii_leaks`` and the number of
            ``parts``.
        cfg: Thresholds (``pii_leaks_max``); None uses the defaults of :class:`GateConfig`.

    Returns:
        The ``pii_leaks_all_chunks`` check.
    """
    cfg = GateConfig() if cfg is None else cfg
    return gate_check(
        "pii_leaks_all_chunks",
        "privacy",
        "block",
        int(summary["pii_leaks"]),
        cfg.pii_leaks_max,
        "<=",
        fail_closed=True,
        why=f"real direct-identifier values appear in the {summary['parts']} parts",
        fix="Check the PII policies of the identifier columns.",
    )
