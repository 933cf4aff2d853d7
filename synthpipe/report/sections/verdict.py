"""Section 1, the verdict: may the synthetic table be released, and which gates decided it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthpipe.evaluation.gates import approval_check, with_check
from synthpipe.report.data import get
from synthpipe.report.integrity import AWAITING


def verdict_section(manifest: dict, metrics: dict, reasons: str | None) -> dict[str, Any]:
    """Publishable or not (fail closed when the records disagree), and every gate check."""
    gates = get(metrics, "gates", default={})
    gates = gates if isinstance(gates, Mapping) else {}
    m_verdict = manifest.get("verdict")
    # A steward's decision is a blocking check of its own; metrics.json holds the gates as the
    # evaluation computed them, the manifest the decision taken on them.
    approval = manifest.get("approval") if isinstance(manifest.get("approval"), Mapping) else {}
    if approval.get("decision") in ("approved", "rejected"):
        gates = with_check(dict(gates) if "publishable" in gates else {"publishable": None},
                           approval_check(dict(approval)))
    votes = []
    if m_verdict in ("published", "secure_zone_only", "quarantined", AWAITING):
        votes.append(m_verdict != "quarantined")
    for src in (get(manifest, "gates", "publishable"), gates.get("publishable")):
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
                "status": check_status(c),
                "message": c.get("message"),
            }
        )
    order = {"fail": 0, "warn": 1, "skipped": 2, "pass": 3}
    checks.sort(key=lambda c: order.get(c["status"], 4))
    failed = [str(f) for f in (gates.get("failed") or get(manifest, "gates", "failed") or [])]
    for c in checks:
        if c["status"] == "fail" and c["name"] not in failed:
            failed.append(c["name"])
    label = {True: "PUBLISHABLE", False: "QUARANTINED", None: "NO VERDICT RECORDED"}[publishable]
    secure_zone = manifest.get("output_mode") == "augment"
    awaiting = bool(publishable and m_verdict == AWAITING)
    if publishable is None:
        summary = "No gate verdict was recorded for this run: treat it as not publishable."
    elif awaiting:
        label = "AWAITING APPROVAL"
        summary = ("Every blocking gate passed; the table waits under pending/ for a data "
                   "steward's decision on this report: `synthpipe approve RUN_DIR --by NAME "
                   "--comment TEXT` publishes it, `synthpipe reject ...` quarantines it. Until "
                   "then it must not be used.")
    elif publishable and secure_zone:
        label = "SECURE ZONE ONLY"
        summary = ("Every blocking gate passed, but augmented.parquet holds the real training "
                   "rows plus synthetic minority rows: use it inside the secure zone only (to "
                   "train models there); it is not synthetic data and must not be shared.")
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
        "secure_zone_only": bool(publishable and secure_zone),
        "awaiting_approval": awaiting,
        "label": label,
        "summary": summary,
        "failed": failed,
        "warnings": [c["name"] for c in checks if c["status"] == "warn"],
        "checks": checks,
        "gates_computed": bool(checks),
        "reasons": reasons,
        "notes": notes,
    }


def check_status(c: Mapping) -> str:
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


__all__ = ["check_status", "verdict_section"]
