"""The review log: who approved or rejected a run's synthetic data, tamper-evident.

``review_log.jsonl`` in the run folder holds one JSON object per line, appended and never
rewritten. Each entry records the SHA-256 of ``report.html`` and ``manifest.json`` as they were
when the decision was taken, the ``entry_hash`` of the previous entry (``prev_hash``, 64 zeros
for the first) and its own ``entry_hash``: the SHA-256 of the canonical JSON (sorted keys, no
spaces, UTF-8) of all its other fields. Editing any field of any entry, removing an entry from
the middle, or reordering entries breaks a hash or the chain, and :func:`verify_reviews` names
the entry.

Two limits a reviewer should know:

- The report hash in an entry is of the report *before* that entry: a report cannot contain
  its own hash, and the report's sign-off block lists the reviews recorded when it was built.
  Rebuilding the report after a review changes it; :func:`verify_reviews` then reports
  "report changed after review" until the next review signs the new file.
- A hash chain cannot by itself reveal that its *last* entries were cut off (the shorter chain
  is still valid). Keep the ``entry_hash`` that :func:`record_review` returns (the CLI prints
  it; paste it into the ticket) and pass it as ``expected_head`` to detect truncation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthpipe.errors import InputError

log = logging.getLogger(__name__)

REVIEW_LOG = "review_log.jsonl"
DECISIONS = ("approve", "reject")
GENESIS = "0" * 64
_FIELDS = ("seq", "timestamp", "decision", "by", "comment", "report_sha256", "manifest_sha256",
           "prev_hash")

try:  # POSIX: serialise concurrent reviewers on the log file itself.
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; appends are then unlocked
    fcntl = None  # type: ignore[assignment]


@dataclass
class VerifyResult:
    """Outcome of :func:`verify_reviews`.

    Attributes:
        ok: True when no problem was found.
        entries: Entries read from the log.
        problems: One readable sentence per problem, naming the entry (by line and seq).
    """

    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every field of ``entry`` except ``entry_hash``."""
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _parse(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    entries, problems = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            problems.append(f"line {lineno}: blank line in the review log")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {lineno}: not a JSON object")
            continue
        obj["_line"] = lineno
        entries.append(obj)
    return entries, problems


def read_entries(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Read a review log.

    Args:
        path: The ``review_log.jsonl`` file (missing means no reviews yet).

    Returns:
        The entries (each with a ``_line`` key: its 1-based line number) and the problems met
        while parsing (lines that are not JSON objects).
    """
    path = Path(path)
    if not path.is_file():
        return [], []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"the review log is not UTF-8 text (byte {exc.start}): it was altered"]
    return _parse(text)


def _name(e: Mapping[str, Any]) -> str:
    return f"entry on line {e.get('_line', '?')} (seq {e.get('seq', '?')})"


def chain_problems(entries: list[dict[str, Any]]) -> list[str]:
    """Integrity problems of parsed entries: fields, own hashes, the chain and the sequence.

    Args:
        entries: As returned by :func:`read_entries`.

    Returns:
        One sentence per problem (empty when the chain is intact).
    """
    problems = []
    prev = GENESIS
    for i, e in enumerate(entries):
        stored = {k: v for k, v in e.items() if k != "_line"}
        missing = [k for k in (*_FIELDS, "entry_hash") if k not in stored]
        if missing:
            problems.append(f"{_name(e)}: missing field(s) {', '.join(missing)}")
        if stored.get("entry_hash") != entry_hash(stored):
            problems.append(f"{_name(e)}: entry_hash does not match its content "
                            "(the entry was edited)")
        if stored.get("prev_hash") != prev:
            problems.append(f"{_name(e)}: prev_hash does not match the previous entry "
                            "(an entry was removed, inserted or reordered before it)")
        if stored.get("seq") != i + 1:
            problems.append(f"{_name(e)}: seq is {stored.get('seq')!r}, expected {i + 1} "
                            "(entries removed or reordered)")
        if stored.get("decision") not in DECISIONS:
            problems.append(f"{_name(e)}: unknown decision {stored.get('decision')!r}")
        prev = stored.get("entry_hash")
    return problems


def _current_report_sha(run_dir: Path) -> str:
    report = run_dir / "report.html"
    if not report.is_file():
        # A review binds the report the reviewer read: building one here would sign a page
        # nobody has seen.
        raise InputError(f"{report} does not exist: there is no report to review",
                         hint=f"run `synthpipe report {run_dir}`, read report.html, then review")
    return _sha256(report)


def record_review(run_dir: str | Path, decision: str, by: str, comment: str = "") -> dict:
    """Append a reviewer's decision to the run's hash-chained review log.

    The entry binds the decision to the report the reviewer read (its SHA-256) and to the run's
    manifest. The log is opened in append
    mode, locked against concurrent reviewers, and fsync'ed.

    Args:
        run_dir: The run folder.
        decision: ``"approve"`` or ``"reject"``.
        by: Reviewer's name or id (required).
        comment: Free text (the reason, the ticket number...).

    Returns:
        The entry as written (with ``seq``, ``entry_hash`` and ``prev_hash``).

    Raises:
        InputError: Unknown decision, empty ``by``, a run folder without manifest.json or
            report.html (build it with ``synthpipe report RUN_DIR`` and read it first), or a
            review log whose chain is already broken (appending would hide the damage).
    """
    run_dir = Path(run_dir)
    if decision not in DECISIONS:
        raise InputError(f"unknown review decision {decision!r}",
                         hint="use 'approve' or 'reject' (--approve / --reject)")
    if not isinstance(by, str) or not by.strip():
        raise InputError("a review needs the reviewer's name (by is empty)",
                         hint="pass --by NAME")
    if not isinstance(comment, str):
        raise InputError(f"comment must be text, got {type(comment).__name__}",
                         hint="pass --comment TEXT")
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"{run_dir} has no manifest.json: it is not a run folder",
                         hint="pass the folder a `synthpipe run` wrote")
    report_sha = _current_report_sha(run_dir)
    manifest_sha = _sha256(manifest)
    path = run_dir / REVIEW_LOG
    with open(path, "a+", encoding="utf-8", newline="\n") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            f.seek(0)
            try:
                entries, problems = _parse(f.read())
            except UnicodeDecodeError:
                entries, problems = [], ["the review log is not UTF-8 text"]
            problems += chain_problems(entries)
            if problems:
                raise InputError(
                    f"the review log {path} is damaged; refusing to append to it: "
                    + "; ".join(problems),
                    hint="investigate who changed it and restore it from a trusted copy",
                )
            entry: dict[str, Any] = {
                "seq": len(entries) + 1,
                "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "decision": decision,
                "by": by.strip(),
                "comment": comment,
                "report_sha256": report_sha,
                "manifest_sha256": manifest_sha,
                "prev_hash": entries[-1]["entry_hash"] if entries else GENESIS,
            }
            entry["entry_hash"] = entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
            f.seek(0, os.SEEK_END)
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    log.info("review %d recorded: %s by %s", entry["seq"], decision, entry["by"])
    return entry


def verify_reviews(run_dir: str | Path, expected_head: str | None = None) -> VerifyResult:
    """Check a run's review log: every entry's hash, the chain, the sequence, and that the
    latest review signed the report and manifest that are in the folder now.

    Args:
        run_dir: The run folder.
        expected_head: The ``entry_hash`` of a review as kept elsewhere (a ticket); when
            given, a log that no longer holds that entry (e.g. cut short) fails.

    Returns:
        The verdict, the number of entries read and the problems found.

    Raises:
        InputError: ``run_dir`` does not exist.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run folder {run_dir} does not exist",
                         hint="pass the folder a `synthpipe run` wrote")
    entries, problems = read_entries(run_dir / REVIEW_LOG)
    problems = problems + chain_problems(entries)
    if entries:
        last = entries[-1]
        report = run_dir / "report.html"
        if not report.is_file():
            problems.append("report.html is missing: the reviewed report cannot be checked")
        elif _sha256(report) != last.get("report_sha256"):
            problems.append(f"report changed after review: report.html does not match the "
                            f"report_sha256 signed by the {_name(last)}")
        manifest = run_dir / "manifest.json"
        if not manifest.is_file() or _sha256(manifest) != last.get("manifest_sha256"):
            problems.append(f"manifest changed after review: manifest.json does not match the "
                            f"manifest_sha256 signed by the {_name(last)}")
    if expected_head is not None and not any(e.get("entry_hash") == expected_head
                                             for e in entries):
        # Later entries after the expected head are legitimate (other reviews); its absence
        # means the log was cut short or replaced.
        problems.append("the expected head entry is not in the log (the log was cut short "
                        "or replaced)")
    return VerifyResult(ok=not problems, entries=len(entries), problems=problems)


__all__ = [
    "DECISIONS",
    "REVIEW_LOG",
    "VerifyResult",
    "chain_problems",
    "entry_hash",
    "read_entries",
    "record_review",
    "verify_reviews",
]
