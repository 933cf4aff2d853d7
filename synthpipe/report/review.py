"""The review log: who approved or rejected a run's synthetic data, tamper-evident.

``review_log.jsonl`` in the run folder holds one JSON object per line, appended and never
rewritten. Each entry records the SHA-256 of ``report.html`` and ``manifest.json`` as they were
when the decision was taken (the manifest holds the SHA-256 of every output, so the entry
covers the synthetic data too), the run's verdict, the ``entry_hash`` of the previous entry
(``prev_hash``, 64 zeros for the first) and its own ``entry_hash``: the SHA-256 of the canonical
JSON (sorted keys, no spaces, UTF-8) of all its other fields. Editing any field of any entry,
removing an entry from the middle, or reordering entries breaks a hash or the chain, and
:func:`verify_reviews` names the entry.

``review_head.json`` beside the log records the last entry written by :func:`record_review`.
A chain alone cannot show that it was cut short, deleted, or extended by an entry forged with
correct hashes (no secret goes into them); the head can, unless it is rewritten too.

:func:`verify_reviews` also checks every output against the manifest
(:mod:`synthpipe.report.integrity`): an approval is worth something only if the files in the
folder are the ones the manifest it signed describes.

Approving a run that is quarantined (or has no recorded verdict) is refused unless
``force=True``; a forced approval records an ``override`` sentence in its entry.

A run *awaiting approval* (``approval: required``) is decided with ``synthpipe approve`` or
``reject`` (:mod:`synthpipe.pipeline.approval`), which records the entry here and then
finalizes the folder: the signed manifest and report are kept under ``review/<seq>/`` and the
new manifest names the entry. :func:`verify_reviews` accepts that entry's signature for the
kept files, and checks that the final folder is the signed one moved as decided
(:func:`synthpipe.report.integrity.finalization_problems`).

Limits a reviewer should know:

- The report hash in an entry is of the report *before* that entry: a report cannot contain
  its own hash, and the report's sign-off block lists the reviews recorded when it was built.
  Rebuilding the report after a review changes it; :func:`verify_reviews` then reports
  "report changed after review" until the next review signs the new file.
- Everything here lives in the run folder: someone who can rewrite the folder can roll it back
  to its unreviewed state (delete the log and its head) or rewrite log and head together.
  Keep the ``entry_hash`` that :func:`record_review` returns (the CLI prints it; paste it into
  the ticket) and pass it as ``expected_head``: that check does not depend on the folder.
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
from synthpipe.io import atomic_path
from synthpipe.report.integrity import (
    AWAITING,
    MANIFEST,
    finalization_problems,
    output_problems,
    read_manifest,
    run_verdict,
)

log = logging.getLogger(__name__)

REVIEW_LOG = "review_log.jsonl"
REVIEW_HEAD = "review_head.json"
DECISIONS = ("approve", "reject")
GENESIS = "0" * 64
#: Entries from this version on always have a head file beside the log.
LOG_VERSION = 2
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
        problems: One readable sentence per problem, naming the file (and the log entry by
            line and seq).
        notes: What a reviewer should know that is not tampering (no reviews yet, an approval
            that overrode a quarantine).
    """

    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def read_head(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The head file's ``{"seq", "entry_hash"}``, or None, and a problem if it is unreadable."""
    path = run_dir / REVIEW_HEAD
    if not path.is_file():
        return None, None
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{REVIEW_HEAD} is not readable JSON ({exc}): it was altered"
    if not isinstance(head, dict) or not isinstance(head.get("entry_hash"), str):
        return None, f"{REVIEW_HEAD} does not hold an entry_hash: it was altered"
    return head, None


def head_problems(run_dir: Path, entries: list[dict[str, Any]]) -> list[str]:
    """Whether the log ends at the entry its head file records (see the module docstring)."""
    head, problem = read_head(run_dir)
    if problem:
        return [problem]
    if head is None:
        if any(_num_field(e, "log_version") >= LOG_VERSION for e in entries):
            return [f"{REVIEW_HEAD} is missing: it is written with every review, so it was "
                    f"deleted (and {REVIEW_LOG} may have been cut short or extended)"]
        return []
    seq = head.get("seq")
    hashes = [e.get("entry_hash") for e in entries]
    if not entries:
        return [f"{REVIEW_LOG} is missing or empty, but {REVIEW_HEAD} records {seq} "
                "review(s): the review log was deleted"]
    if hashes[-1] == head["entry_hash"]:
        return []
    if head["entry_hash"] in hashes:
        k = hashes.index(head["entry_hash"])
        return [f"{REVIEW_LOG} has {len(entries) - k - 1} entry(ies) after the last review "
                f"recorded in {REVIEW_HEAD} (seq {seq}), from {_name(entries[k + 1])} on: "
                "they were not written by `synthpipe review` (forged or appended by hand)"]
    return [f"{REVIEW_LOG} does not hold the last review recorded in {REVIEW_HEAD} (seq "
            f"{seq}): the log was cut short or replaced"]


def _num_field(entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _write_head(run_dir: Path, entry: Mapping[str, Any]) -> None:
    text = json.dumps({"seq": entry["seq"], "entry_hash": entry["entry_hash"]}, sort_keys=True)
    with atomic_path(run_dir / REVIEW_HEAD) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())


def _current_report_sha(run_dir: Path) -> str:
    report = run_dir / "report.html"
    if not report.is_file():
        # A review binds the report the reviewer read: building one here would sign a page
        # nobody has seen.
        raise InputError(f"{report} does not exist: there is no report to review",
                         hint=f"run `synthpipe report {run_dir}`, read report.html, then review")
    return _sha256(report)


def _check_request(run_dir: Path, decision: str, by: Any, comment: Any) -> None:
    if decision not in DECISIONS:
        raise InputError(f"unknown review decision {decision!r}",
                         hint="use 'approve' or 'reject' (--approve / --reject)")
    if not isinstance(by, str) or not by.strip():
        raise InputError("a review needs the reviewer's name (by is empty)",
                         hint="pass --by NAME")
    if not isinstance(comment, str):
        raise InputError(f"comment must be text, got {type(comment).__name__}",
                         hint="pass --comment TEXT")
    if not (run_dir / MANIFEST).is_file():
        raise InputError(f"{run_dir} has no manifest.json: it is not a run folder",
                         hint="pass the folder a `synthpipe run` wrote")


def _approval_override(run_dir: Path, force: bool) -> str | None:
    """Refuse to approve a changed folder or a run not published, unless forced (for the
    latter); returns the override sentence a forced approval records."""
    changed = output_problems(run_dir)
    if changed:
        raise InputError(
            f"the outputs of {run_dir} do not match its manifest; refusing to record an "
            "approval: " + "; ".join(changed),
            hint="find out who changed the folder (`synthpipe review RUN_DIR --verify`); "
            "restore it or re-run the job",
        )
    verdict, failed = run_verdict(run_dir)
    if verdict in ("published", "secure_zone_only", AWAITING):
        return None
    what = ("the run is quarantined" + (f" (blocked by: {', '.join(failed)})" if failed else "")
            if verdict == "quarantined" else "the run has no recorded gate verdict")
    if not force:
        raise InputError(
            f"refusing to approve: {what}; its synthetic data failed a blocking gate or was "
            "never checked",
            hint="re-run the job until the gates pass, or, if you accept the risk, approve "
            "with --force (the override is recorded in the review log)",
        )
    return f"approved although {what}"


def record_review(
    run_dir: str | Path, decision: str, by: str, comment: str = "", force: bool = False,
    finalizing: bool = False,
) -> dict:
    """Append a reviewer's decision to the run's hash-chained review log.

    The entry binds the decision to the report the reviewer read (its SHA-256), to the run's
    manifest (which holds every output's SHA-256) and to the run's verdict. The log is opened
    in append mode, locked against concurrent reviewers, and fsync'ed; the head file is then
    replaced atomically.

    An approval is refused when the outputs no longer match the manifest, and when the run is
    quarantined or has no recorded verdict unless ``force`` is given; a forced approval
    carries an ``override`` sentence saying what was overridden. A rejection is always
    recorded.

    Args:
        run_dir: The run folder.
        decision: ``"approve"`` or ``"reject"``.
        by: Reviewer's name or id (required).
        comment: Free text (the reason, the ticket number...).
        force: Allow approving a quarantined run (or one with no recorded verdict).
        finalizing: The caller is :func:`synthpipe.pipeline.approval.finalize`, deciding a run
            that awaits approval (anyone else is sent there).

    Returns:
        The entry as written (with ``seq``, ``entry_hash`` and ``prev_hash``).

    Raises:
        InputError: Unknown decision, empty ``by``, a run folder without manifest.json or
            report.html (build it with ``synthpipe report RUN_DIR`` and read it first), a
            refused approval (see above), or a review log that is already damaged or does not
            end at its head (appending would hide the damage).
    """
    run_dir = Path(run_dir)
    _check_request(run_dir, decision, by, comment)
    if run_verdict(run_dir)[0] == AWAITING and not finalizing:
        raise InputError(
            f"{run_dir} awaits a steward's decision before it is published",
            hint=f"decide it with `synthpipe {decision} {run_dir} --by NAME --comment TEXT` "
            "(that resumes the paused flow and moves the table as decided)",
        )
    report_sha = _current_report_sha(run_dir)
    override = _approval_override(run_dir, force) if decision == "approve" else None
    verdict, _ = run_verdict(run_dir)
    manifest_sha = _sha256(run_dir / MANIFEST)
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
            problems += chain_problems(entries) + head_problems(run_dir, entries)
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
                "run_verdict": verdict,
                "log_version": LOG_VERSION,
                "prev_hash": entries[-1]["entry_hash"] if entries else GENESIS,
            }
            if override:
                entry["override"] = override
            entry["entry_hash"] = entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
            f.seek(0, os.SEEK_END)
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
            _write_head(run_dir, entry)
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    if override:
        log.warning("review %d: %s", entry["seq"], override)
    log.info("review %d recorded: %s by %s", entry["seq"], decision, entry["by"])
    return entry


def _reported_reviews(run_dir: Path) -> int:
    """How many reviews the report's sign-off block lists (0 when there is no readable one)."""
    try:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        sections = report["sections"]
        signoff = next(s for s in sections if isinstance(s, dict) and s.get("id") == "signoff")
        return len(signoff.get("entries") or [])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, StopIteration):
        return 0


def _finalizing_entry(run_dir: Path, entries: list[dict[str, Any]]
                     ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The current manifest's ``approval`` block when it records a decision that finalized the
    run, and the log entry it names (None when the log does not hold it)."""
    manifest, _ = read_manifest(run_dir)
    approval = (manifest or {}).get("approval")
    if not isinstance(approval, dict) or not approval.get("review_entry"):
        return None, None
    entry = next((e for e in entries if e.get("entry_hash") == approval["review_entry"]), None)
    return approval, entry


def _binding_problems(run_dir: Path, entries: list[dict[str, Any]]) -> list[str]:
    """The latest review signed the report in the folder; every review signed its manifest.

    The entry that decided an awaiting run signed the files kept under ``review/<seq>/``; the
    manifest and report written when the decision finalized the folder are checked against
    those (the report by the SHA-256 the final manifest records)."""
    problems = []
    approval, decider = _finalizing_entry(run_dir, entries)
    if approval is not None:
        manifest, _ = read_manifest(run_dir)
        problems += finalization_problems(run_dir, manifest or {}, decider)
    last = entries[-1]
    report = run_dir / "report.html"
    if not report.is_file():
        problems.append("report.html is missing: the reviewed report cannot be checked")
    elif _sha256(report) != last.get("report_sha256") and not (
            decider is last and _sha256(report) == approval.get("report_sha256")
            and _kept_sha(run_dir, approval.get("reviewed_report")) == last.get("report_sha256")):
        problems.append(f"report changed after review: report.html does not match the "
                        f"report_sha256 signed by the {_name(last)}")
    manifest = run_dir / MANIFEST
    current = _sha256(manifest) if manifest.is_file() else None
    unsigned = [e for e in entries if e.get("manifest_sha256") != current and e is not decider]
    if unsigned:
        problems.append(f"manifest changed after review: manifest.json does not match the "
                        f"manifest_sha256 signed by the {', '.join(_name(e) for e in unsigned)}")
    return problems


def _kept_sha(run_dir: Path, rel: Any) -> str | None:
    """SHA-256 of a file kept under ``review/`` (None when it is not there)."""
    path = run_dir / str(rel or "")
    return _sha256(path) if rel and path.is_file() else None


def verify_reviews(run_dir: str | Path, expected_head: str | None = None) -> VerifyResult:
    """Check a run folder against its manifest and its review log.

    Every output's SHA-256 against the manifest (a changed, missing or added file is named);
    every log entry's hash, the chain and the sequence; that the log ends at its head file;
    that the latest review signed the report in the folder and every review the manifest; and
    that a log the folder shows evidence of (a head file, or reviews listed in report.json) is
    there.

    Args:
        run_dir: The run folder.
        expected_head: The ``entry_hash`` of a review as kept elsewhere (a ticket); when
            given, a log that no longer holds that entry (e.g. cut short) fails.

    Returns:
        The verdict, the number of entries read, the problems found and notes.

    Raises:
        InputError: ``run_dir`` does not exist.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run folder {run_dir} does not exist",
                         hint="pass the folder a `synthpipe run` wrote")
    problems = output_problems(run_dir)
    entries, parse_problems = read_entries(run_dir / REVIEW_LOG)
    problems += [f"{REVIEW_LOG}: {p}" for p in parse_problems + chain_problems(entries)]
    problems += head_problems(run_dir, entries)
    notes = []
    if entries:
        problems += _binding_problems(run_dir, entries)
        notes += [f"{_name(e)}: {e['override']}" for e in entries
                  if e.get("decision") == "approve" and isinstance(e.get("override"), str)]
    else:
        approval, _ = _finalizing_entry(run_dir, entries)
        if approval is not None:
            problems.append(f"{REVIEW_LOG} is missing or empty, but manifest.json records the "
                            f"steward's decision ({approval.get('decision')} by "
                            f"{approval.get('by')}): the review log was deleted")
        listed = _reported_reviews(run_dir)
        if listed:
            problems.append(f"{REVIEW_LOG} is missing or empty, but report.json lists {listed} "
                            "review(s): the review log was deleted")
        notes.append("no reviews recorded yet")
    if expected_head is not None and not any(e.get("entry_hash") == expected_head
                                             for e in entries):
        # Later entries after the expected head are legitimate (other reviews); its absence
        # means the log was cut short or replaced.
        problems.append(f"{REVIEW_LOG}: the expected head entry is not in the log (the log was "
                        "cut short or replaced)")
    return VerifyResult(ok=not problems, entries=len(entries), problems=problems, notes=notes)


__all__ = [
    "DECISIONS",
    "REVIEW_HEAD",
    "REVIEW_LOG",
    "VerifyResult",
    "chain_problems",
    "entry_hash",
    "head_problems",
    "read_entries",
    "record_review",
    "verify_reviews",
]
