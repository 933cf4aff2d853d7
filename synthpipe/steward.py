"""A steward's decision on a paused run: how the flow asks, and how the shell answers.

With ``approval: required`` the flow (:mod:`synthpipe.orchestration`) writes the run folder as
awaiting approval and calls :func:`ask_steward`, which points at the report (a link artifact)
and pauses the flow run until an :class:`ApprovalInput` arrives. ``synthpipe approve|reject``
calls :func:`send_decision`, which resumes that flow run with the decision, or finalizes the
folder itself when no flow run is paused (:mod:`synthpipe.pipeline.approval`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from synthpipe._env import quiet_defaults

quiet_defaults()

from prefect.artifacts import create_link_artifact, create_markdown_artifact  # noqa: E402
from prefect.input import RunInput  # noqa: E402

log = logging.getLogger(__name__)


class ApprovalInput(RunInput):
    """What a steward sends to resume a paused run (``synthpipe approve|reject`` or the UI).

    ``report_sha256`` is the report as the steward read it (the CLI sends it); a report that
    changed since is refused.
    """

    approve: bool
    reviewer: str
    comment: str = ""
    report_sha256: str | None = None


def ask_steward(request: dict[str, Any]) -> dict[str, Any]:
    """Point the steward at the report, then pause the flow run until they decide."""
    from prefect.flow_runs import pause_flow_run

    if request.get("report"):
        create_link_artifact(
            key="synthpipe-report", link=Path(request["report"]).resolve().as_uri(),
            link_text="report.html", description="The report the steward decides on",
        )
    create_markdown_artifact(
        key="synthpipe-approval",
        markdown=f"# Awaiting a steward's decision\n\n- run folder: `{request['run']}`\n"
        f"- report: `{request.get('report')}`\n- approve: `{request['approve']}`\n"
        f"- reject: `{request['reject']}`\n",
        description="How to decide this run",
    )
    log.warning("awaiting approval: read %s, then `%s` (or reject)",
                request.get("report"), request["approve"])
    timeout = int(os.environ.get("SYNTHPIPE_APPROVAL_TIMEOUT", "86400"))
    answer = pause_flow_run(wait_for_input=ApprovalInput, timeout=timeout, poll_interval=2)
    return {
        "decision": "approve" if answer.approve else "reject",
        "by": answer.reviewer,
        "comment": answer.comment,
        "report_sha256": answer.report_sha256,
    }


def send_decision(run_dir: str | Path, decision: str, by: str, comment: str = "",
                  wait: float = 120.0) -> dict[str, Any]:
    """A steward's decision on an awaiting run, from the shell (``synthpipe approve|reject``).

    When the run's flow run (named in its manifest) is paused on the Prefect API, it is resumed
    with the decision and the report's SHA-256 as read now, and this waits up to ``wait``
    seconds for the flow to finalize the folder. Otherwise (a run made without a flow, a pause
    that timed out, a server that no longer knows the run) the folder is finalized here.

    Returns:
        ``{"how": "resumed"|"finalized here", "flow_run_id", "verdict", "entry"}``; ``entry`` is
        the review log entry that recorded the decision.

    Raises:
        InputError: The folder is not awaiting a decision, changed since the run, or the
            request is malformed; or the resumed flow did not finalize within ``wait``.
    """
    from synthpipe.errors import InputError
    from synthpipe.io import sha256_file
    from synthpipe.pipeline.approval import awaiting_manifest, finalize
    from synthpipe.report.review import REVIEW_LOG, read_entries

    run_dir = Path(run_dir)
    if decision not in ("approve", "reject"):
        raise InputError(f"unknown decision {decision!r}", hint="approve or reject")
    if not by or not by.strip():
        raise InputError("a decision needs the steward's name (by is empty)",
                         hint="pass --by NAME")
    manifest = awaiting_manifest(run_dir)
    report = run_dir / "report.html"
    if not report.is_file():
        raise InputError(f"{report} does not exist: there is no report to decide on",
                         hint=f"run `synthpipe report {run_dir}`, read it, then decide")
    flow_run_id = (manifest.get("prefect") or {}).get("flow_run_id")
    how = "finalized here"
    if flow_run_id and _is_paused(flow_run_id):
        from prefect.flow_runs import resume_flow_run

        resume_flow_run(flow_run_id, run_input={
            "approve": decision == "approve", "reviewer": by.strip(), "comment": comment,
            "report_sha256": sha256_file(report)})
        how = "resumed"
        if not _wait_finalized(run_dir, wait):
            raise InputError(
                f"the flow run {flow_run_id} was resumed but has not finalized {run_dir} "
                f"after {wait:g} s",
                hint="check the flow run's state and logs in Prefect (is its worker alive?)",
            )
        verdict = json.loads((run_dir / "manifest.json").read_text())["verdict"]
    else:
        verdict = finalize(run_dir, decision, by.strip(), comment).verdict
    entries, _ = read_entries(run_dir / REVIEW_LOG)
    return {"how": how, "flow_run_id": flow_run_id, "verdict": verdict,
            "entry": entries[-1] if entries else None}


def _is_paused(flow_run_id: str) -> bool:
    """Whether the Prefect API knows the flow run and it is paused."""
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run_id)
    except Exception:  # noqa: BLE001 - an unknown run or an unreachable API: finalize here
        log.info("flow run %s is not readable on the Prefect API: deciding here", flow_run_id)
        return False
    return bool(run.state and run.state.is_paused())


def _wait_finalized(run_dir: Path, wait: float) -> bool:
    """Poll the manifest until the run is no longer awaiting approval (or ``wait`` passes)."""
    from synthpipe.report.integrity import AWAITING, read_manifest

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        manifest, _ = read_manifest(run_dir)
        if manifest is not None and manifest.get("verdict") != AWAITING and (
                (manifest.get("approval") or {}).get("report_sha256")):
            return True
        time.sleep(0.5)
    return False


__all__ = ["ApprovalInput", "ask_steward", "send_decision"]
