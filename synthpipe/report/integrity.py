"""Does a run folder still hold what its run wrote? The outputs against ``manifest.json``.

The pipeline records the SHA-256 of every file it publishes in the manifest's ``outputs`` map
(the synthetic table or its parts, metrics, the derived suite, the model, the quarantine
notice). Files written after the manifest have their own protection and are not in the map:
the report (rebuilt from the folder, and signed by each review), the manifest itself (signed
by each review) and the review log with its head (hash-chained).

A review entry signs the manifest's hash, the manifest signs every output: checking both
links is what makes an approval cover the data that is in the folder now.

A run with ``approval: required`` is written first as *awaiting approval*: its table under
``pending/``, its report built, nothing at the top level a consumer could pick up. The
steward's decision then *finalizes* the folder (:mod:`synthpipe.pipeline.approval`): the
manifest and report the steward signed are kept under ``review/<seq>/``, the table moves to
the top level (approved) or under ``quarantine/`` (rejected), and a new manifest names the
review entry. :func:`finalization_problems` checks that the new manifest describes exactly the
signed one's outputs after that move, so the signature carries over to the final folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthpipe.io import sha256_file

MANIFEST = "manifest.json"
#: The verdict of a run whose gates passed and that waits for a steward's decision.
AWAITING = "awaiting_approval"
#: Where an awaiting run's table waits (never at the top level).
PENDING = "pending"
#: Where a finalized run keeps the manifest and report its steward signed (``review/<seq>/``).
REVIEWED = "review"
#: Files of a run folder that are not outputs of the run (see the module docstring).
NOT_OUTPUTS = frozenset(
    {MANIFEST, "report.html", "report.json", "review_log.jsonl", "review_head.json"}
)


def read_manifest(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed manifest, or None and a sentence saying why it cannot be read."""
    path = run_dir / MANIFEST
    if not path.is_file():
        return None, f"{MANIFEST} is missing: the outputs cannot be checked"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{MANIFEST} is not readable JSON ({exc}): the outputs cannot be checked"
    if not isinstance(manifest, dict):
        return None, f"{MANIFEST} does not hold an object: the outputs cannot be checked"
    return manifest, None


def output_problems(run_dir: str | Path) -> list[str]:
    """Every output that changed, went missing or appeared since the manifest was written.

    Args:
        run_dir: The run folder.

    Returns:
        One sentence per problem, each naming the file (empty when the folder matches).
    """
    run_dir = Path(run_dir)
    manifest, why = read_manifest(run_dir)
    if manifest is None:
        return [why or f"{MANIFEST} cannot be read"]
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return [f"{MANIFEST} has no outputs map (SHA-256 per file): the outputs cannot be "
                "checked"]
    recorded = {str(k).replace("\\", "/"): v for k, v in outputs.items()}
    problems = []
    for rel, digest in sorted(recorded.items()):
        path = run_dir / rel
        if not path.is_file():
            problems.append(f"{rel} is missing: {MANIFEST} lists it as an output of the run")
        elif sha256_file(path) != digest:
            problems.append(f"{rel} changed after the run: its SHA-256 does not match the one "
                            f"in {MANIFEST}")
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir).as_posix()
        if path.is_file() and rel not in recorded and rel not in NOT_OUTPUTS:
            problems.append(f"{rel} was added after the run: it is not an output in {MANIFEST}")
    return problems


def run_verdict(run_dir: str | Path) -> tuple[str, list[str]]:
    """``"published"``, ``"secure_zone_only"`` (augment mode, gates passed),
    ``"awaiting_approval"``, ``"quarantined"`` or ``"unknown"``, and the gates that blocked it.

    Fail closed, as the report does: any record of quarantine (the manifest's verdict, its
    gate summary, a ``quarantine/`` folder) makes the run quarantined, and a run with no
    recorded verdict is ``"unknown"``, not published.
    """
    run_dir = Path(run_dir)
    manifest, _ = read_manifest(run_dir)
    manifest = manifest or {}
    gates = manifest.get("gates") if isinstance(manifest.get("gates"), dict) else {}
    failed = [str(f) for f in gates.get("failed") or []]
    verdict = manifest.get("verdict")
    if (verdict == "quarantined" or gates.get("publishable") is False
            or (run_dir / "quarantine").exists()):
        return "quarantined", failed
    if (verdict in ("published", "secure_zone_only", AWAITING)
            and gates.get("publishable") is not False):
        return verdict, failed
    return "unknown", failed


def finalized_outputs(reviewed: dict[str, str], decision: str) -> dict[str, str]:
    """The outputs a signed awaiting manifest lists, after the decision moved the table.

    ``pending/X`` becomes ``X`` when approved and ``quarantine/X`` when rejected; every other
    output stays where it was, with the same SHA-256.
    """
    dest = "" if decision == "approve" else "quarantine/"
    prefix = PENDING + "/"
    return {(dest + k[len(prefix):] if k.startswith(prefix) else k): v
            for k, v in reviewed.items()}


def finalization_problems(run_dir: Path, manifest: dict[str, Any],
                          entry: dict[str, Any] | None) -> list[str]:
    """Does a finalized run folder hold exactly what its steward signed, moved as decided?

    Args:
        run_dir: The run folder.
        manifest: Its current manifest, whose ``approval`` names the review entry.
        entry: That entry of the review log (None when the log does not hold it).

    Returns:
        One sentence per problem (empty when the finalization checks out).
    """
    approval = manifest.get("approval") or {}
    name = f"the review entry {str(approval.get('review_entry'))[:12]}"
    if entry is None:
        return [f"manifest.json says {name} decided this run, but the review log does not "
                "hold it (the log was cut short, replaced or deleted)"]
    signed = run_dir / str(approval.get("reviewed_manifest", ""))
    if not signed.is_file() or sha256_file(signed) != entry.get("manifest_sha256"):
        return [f"{approval.get('reviewed_manifest')}: the manifest the steward signed is "
                f"missing or changed (it does not match {name})"]
    try:
        reviewed = json.loads(signed.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return [f"{approval.get('reviewed_manifest')} is not readable JSON"]
    problems = []
    if reviewed.get("verdict") != AWAITING:
        problems.append(f"{approval.get('reviewed_manifest')} was not awaiting approval")
    decided = "approve" if manifest.get("verdict") in ("published", "secure_zone_only") else (
        "reject" if manifest.get("verdict") == "quarantined" else None)
    if entry.get("decision") != decided:
        problems.append(f"manifest.json's verdict {manifest.get('verdict')!r} is not what "
                        f"{name} decided ({entry.get('decision')})")
    current = {str(k): v for k, v in (manifest.get("outputs") or {}).items()}
    expected = finalized_outputs(reviewed.get("outputs") or {}, str(entry.get("decision")))
    for rel, digest in expected.items():
        if current.get(rel) != digest:
            problems.append(f"{rel}: not the file the steward signed, moved as decided")
    # What finalizing adds: the signed evidence, and the notice of a rejection.
    added = {"quarantine/REASONS.txt"} if entry.get("decision") == "reject" else set()
    for rel in current:
        if rel not in expected and not rel.startswith(REVIEWED + "/") and rel not in added:
            problems.append(f"{rel} is an output the steward never signed")
    return problems


__all__ = [
    "AWAITING",
    "MANIFEST",
    "NOT_OUTPUTS",
    "PENDING",
    "REVIEWED",
    "finalization_problems",
    "finalized_outputs",
    "output_problems",
    "read_manifest",
    "run_verdict",
]
