"""Approval stage: a steward decides an awaiting run on its report, and the folder is finalized.

With ``approval: required`` a run whose gates pass is written as *awaiting approval*
(:func:`synthpipe.pipeline.publish.publish` with ``pending``): the table under ``pending/``,
report.html built, the verdict ``awaiting_approval``. The steward reads the report and decides
(``synthpipe approve|reject RUN --by NAME --comment TEXT``). :func:`finalize` then

1. records the decision in the hash-chained review log; the entry signs the report and the
   manifest as they are (the evidence the steward read);
2. keeps those two files under ``review/<seq>/``;
3. moves the table to the top level (approved) or under ``quarantine/`` with REASONS.txt
   (rejected);
4. writes the final manifest (verdict, the decision, the entry's hash, where the signed files
   are) and rebuilds the report, whose SHA-256 the manifest then records.

``synthpipe review RUN --verify`` checks the whole chain: the entry signed the kept files, and
the final folder is the signed one with the table moved as decided
(:func:`synthpipe.report.integrity.finalization_problems`).

Finalizing again after a crash part-way picks up where it stopped: a log entry already signing
the awaiting manifest is reused, and files already moved stay moved.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthpipe.errors import InputError
from synthpipe.evaluation.gates import approval_check, with_check
from synthpipe.io import sha256_file, write_json
from synthpipe.pipeline.publish import (
    RunResult,
    _hash_outputs,
    _write_reasons,
    build_report,
    run_verdict_word,
)
from synthpipe.report.integrity import (
    AWAITING,
    MANIFEST,
    NOT_OUTPUTS,
    PENDING,
    REVIEWED,
    output_problems,
    read_manifest,
)
from synthpipe.report.review import REVIEW_LOG, read_entries, record_review


def awaiting_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a run that awaits a decision, its outputs checked against it.

    Raises:
        InputError: No readable manifest, a run that is not awaiting a decision (naming its
            verdict and the command for a review), or outputs that changed since the run.
    """
    manifest, why = read_manifest(run_dir)
    if manifest is None:
        raise InputError(f"{run_dir} is not a run folder: {why}",
                         hint="pass the folder a `synthpipe run` wrote")
    if manifest.get("verdict") != AWAITING:
        raise InputError(
            f"{run_dir} is not awaiting approval (its verdict is {manifest.get('verdict')!r})",
            hint="a run waits for a decision only with `--approval required`; to sign off a "
            f"finished run, use `synthpipe review {run_dir} --approve|--reject --by NAME`",
        )
    changed = output_problems(run_dir)
    if changed:
        raise InputError(
            f"the outputs of {run_dir} no longer match its manifest; refusing the decision: "
            + "; ".join(changed),
            hint=f"find out who changed the folder (`synthpipe review {run_dir} --verify`); "
            "restore it or re-run the job",
        )
    return manifest


def finalize(run_dir: str | Path, decision: str, by: str, comment: str = "",
             expected_report_sha: str | None = None) -> RunResult:
    """Record a steward's decision on an awaiting run and finalize its folder.

    Args:
        run_dir: The run folder, verdict ``awaiting_approval``.
        decision: ``"approve"`` or ``"reject"``.
        by: The steward's name (required).
        comment: Why (a ticket, what was checked).
        expected_report_sha: The SHA-256 of report.html as the steward read it; a report
            changed since is refused (the decision would sign a page nobody read).

    Returns:
        The finalized run: published (or secure-zone only) when approved, quarantined when
        rejected.

    Raises:
        InputError: The folder is not awaiting a decision, changed since the run, its report
            changed since it was read, or the request is malformed (decision, empty ``by``).
    """
    run_dir = Path(run_dir)
    signed = _signing_entry(run_dir)
    manifest = _resumable_manifest(run_dir, signed)
    report = run_dir / "report.html"
    if expected_report_sha is not None and report.is_file() and (
            sha256_file(report) != expected_report_sha):
        raise InputError(f"{report} changed after it was read; refusing to sign it",
                         hint="read the report again, then decide")
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    gates = metrics.get("gates")
    if not isinstance(gates, dict) or not isinstance(gates.get("publishable"), bool):
        # Fail closed: an awaiting run's gates passed, so a verdict that is missing now means
        # the file was replaced or damaged; nothing is signed or moved.
        raise InputError(f"{run_dir / 'metrics.json'} has no gate verdict; refusing to "
                         "publish on it",
                         hint="restore the run's metrics.json or re-run the job")
    entry = signed or record_review(run_dir, decision, by, comment, finalizing=True)
    decision = entry["decision"]
    kept = Path(REVIEWED) / str(entry["seq"])
    (run_dir / kept).mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST, "report.html"):
        if not (run_dir / kept / name).exists():
            shutil.copy2(run_dir / name, run_dir / kept / name)
    _move_pending(run_dir, decision)
    approval = {
        "required": True,
        "decision": "approved" if decision == "approve" else "rejected",
        "by": entry["by"],
        "comment": entry["comment"],
        "at": entry["timestamp"],
        "review_entry": entry["entry_hash"],
        "review_seq": entry["seq"],
        "reviewed_manifest": (kept / MANIFEST).as_posix(),
        "reviewed_report": (kept / "report.html").as_posix(),
    }
    verdict = with_check(gates, approval_check(approval))
    if not verdict["publishable"]:
        _write_reasons(run_dir, verdict)
    augment = manifest.get("output_mode") == "augment"
    final = {
        **manifest,
        "approval": approval,
        "gates": {"publishable": bool(verdict["publishable"]), "failed": verdict["failed"]},
        "verdict": run_verdict_word(bool(verdict["publishable"]), augment),
    }
    final["outputs"] = _hash_outputs(run_dir, skip=tuple(NOT_OUTPUTS))
    write_json(final, run_dir / MANIFEST)
    build_report(run_dir)
    final["approval"]["report_sha256"] = sha256_file(report)
    write_json(final, run_dir / MANIFEST)
    pending = [k.split("/")[1] for k in manifest.get("outputs", {}) if k.startswith(PENDING + "/")]
    table = Path("" if decision == "approve" else "quarantine") / (
        pending[0] if pending else "synthetic.parquet")
    return RunResult(
        out_dir=run_dir,
        publishable=bool(verdict["publishable"]),
        synthetic_path=run_dir / table,
        manifest_path=run_dir / MANIFEST,
        metrics_path=run_dir / "metrics.json",
        report_path=report,
        metrics={**metrics, "gates": verdict},
        verdict=final["verdict"],
    )


def _resumable_manifest(run_dir: Path, entry: dict[str, Any] | None) -> dict[str, Any]:
    """The awaiting manifest; after a crash part-way through finalizing (``entry``, the log
    entry that already signed it), the signed copy."""
    if entry is not None:
        kept = run_dir / REVIEWED / str(entry["seq"]) / MANIFEST
        source = kept if kept.is_file() else run_dir / MANIFEST
        return json.loads(source.read_text(encoding="utf-8"))
    return awaiting_manifest(run_dir)


def _signing_entry(run_dir: Path) -> dict[str, Any] | None:
    """The review entry that already signed this awaiting run without finalizing it (a crash
    between the two), or None.

    ``synthpipe review`` refuses to sign an awaiting run, so an entry signing one (the
    manifest in the folder, or its copy kept under ``review/<seq>/``) was written here.
    """
    current, _ = read_manifest(run_dir)
    if current is None or (current.get("approval") or {}).get("review_entry"):
        return None
    entries, _ = read_entries(run_dir / REVIEW_LOG)
    if not entries:
        return None
    last = entries[-1]
    for path in (run_dir / REVIEWED / str(last.get("seq")) / MANIFEST, run_dir / MANIFEST):
        if path.is_file() and sha256_file(path) == last.get("manifest_sha256"):
            signed = json.loads(path.read_text(encoding="utf-8"))
            return last if signed.get("verdict") == AWAITING else None
    return None


def _move_pending(run_dir: Path, decision: str) -> None:
    """Move everything under ``pending/`` to the top level or under ``quarantine/``."""
    pending = run_dir / PENDING
    if not pending.is_dir():
        return
    dest = run_dir if decision == "approve" else run_dir / "quarantine"
    dest.mkdir(exist_ok=True)
    for item in sorted(pending.iterdir()):
        item.replace(dest / item.name)
    pending.rmdir()


def approval_request(result: RunResult) -> dict[str, Any]:
    """What a steward needs to decide an awaiting run: where the report is, and how to answer."""
    run = result.out_dir
    return {
        "run": str(run),
        "report": str(result.report_path) if result.report_path else None,
        "report_sha256": sha256_file(result.report_path) if result.report_path else None,
        "approve": f"synthpipe approve {run} --by NAME --comment TEXT",
        "reject": f"synthpipe reject {run} --by NAME --comment TEXT",
        "asked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


__all__ = ["approval_request", "awaiting_manifest", "finalize"]
