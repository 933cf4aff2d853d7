"""Section 9, review and sign-off: the review log's entries and whether its chain holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthpipe.report.review import REVIEW_LOG, chain_problems, read_entries

CIRCULARITY_NOTE = (
    "Each review records the SHA-256 of report.html as the reviewer saw it, which is the "
    "report before that review was added: a report cannot contain its own hash. Rebuilding the "
    "report after a review (so that this block lists it) changes report.html; until the next "
    "review signs the new file, 'synthpipe review RUN_DIR --verify' says the report changed "
    "after review. Rebuilding an unchanged run folder gives an identical file."
)


def signoff_section(run_dir: Path) -> dict[str, Any]:
    """The review log's entries and the integrity problems found in its chain."""
    path = run_dir / REVIEW_LOG
    entries, parse_problems = read_entries(path)
    problems = parse_problems + chain_problems(entries)
    return {
        "log_file": REVIEW_LOG,
        "entries": [
            {k: e.get(k) for k in ("seq", "timestamp", "decision", "by", "comment",
                                   "report_sha256", "manifest_sha256", "entry_hash")}
            # An approval that overrode a quarantine says so; other entries keep their shape.
            | ({"override": str(e["override"])} if "override" in e else {})
            for e in entries
        ],
        "chain_ok": not problems,
        "problems": problems,
        "note": CIRCULARITY_NOTE,
    }


__all__ = ["CIRCULARITY_NOTE", "signoff_section"]
