"""Does a run folder still hold what its run wrote? The outputs against ``manifest.json``.

The pipeline records the SHA-256 of every file it publishes in the manifest's ``outputs`` map
(the synthetic table or its parts, metrics, the derived suite, the model, the quarantine
notice). Files written after the manifest have their own protection and are not in the map:
the report (rebuilt from the folder, and signed by each review), the manifest itself (signed
by each review) and the review log with its head (hash-chained).

A review entry signs the manifest's hash, the manifest signs every output: checking both
links is what makes an approval cover the data that is in the folder now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthpipe.io import sha256_file

MANIFEST = "manifest.json"
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
    """``"published"``, ``"secure_zone_only"`` (augment mode, gates passed), ``"quarantined"``
    or ``"unknown"``, and the gates that blocked it.

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
    if verdict in ("published", "secure_zone_only") and gates.get("publishable") is not False:
        return verdict, failed
    return "unknown", failed


__all__ = ["MANIFEST", "NOT_OUTPUTS", "output_problems", "read_manifest", "run_verdict"]
