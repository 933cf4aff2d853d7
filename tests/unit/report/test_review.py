"""The hash-chained review log: record, verify, and catch every kind of tampering."""

from __future__ import annotations

import hashlib
import json

import pytest

from synthpipe.errors import InputError
from synthpipe.report import build_report, record_review, verify_reviews
from synthpipe.report.review import GENESIS, REVIEW_LOG, entry_hash

from .fixtures.runs import make_run


@pytest.fixture
def run(tmp_path):
    run = make_run(tmp_path, "publishable")
    build_report(run)  # a reviewer reads the report before deciding
    return run


def _lines(run):
    return (run / REVIEW_LOG).read_text(encoding="utf-8").splitlines()


def _write(run, lines):
    (run / REVIEW_LOG).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_approve_then_reject_chain_and_verify(run):
    first = record_review(run, "approve", "Dana Steward", "fidelity fine, privacy gates passed")
    second = record_review(run, "reject", "Lee Risk", "detection AUC too high for release")
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["prev_hash"] == GENESIS
    assert second["prev_hash"] == first["entry_hash"]
    assert first["entry_hash"] == entry_hash(first)
    assert first["report_sha256"] == _sha(run / "report.html")
    assert first["manifest_sha256"] == _sha(run / "manifest.json")
    assert first["timestamp"].endswith("+00:00")
    stored = [json.loads(line) for line in _lines(run)]
    assert stored == [first, second]
    result = verify_reviews(run)
    assert result.ok and result.entries == 2 and result.problems == []


def test_no_log_verifies_as_empty(run):
    result = verify_reviews(run)
    assert result.ok and result.entries == 0


def test_edited_comment_is_detected_and_named(run):
    record_review(run, "approve", "Dana", "looks fine")
    record_review(run, "reject", "Lee", "too close to train")
    lines = _lines(run)
    entry = json.loads(lines[0])
    entry["comment"] = "approved without reservations"
    lines[0] = json.dumps(entry, sort_keys=True)
    _write(run, lines)
    result = verify_reviews(run)
    assert not result.ok
    assert any("line 1 (seq 1)" in p and "edited" in p for p in result.problems)


def test_edited_decision_with_recomputed_hash_breaks_the_chain(run):
    """A forger who re-hashes the edited entry still breaks the next entry's link."""
    record_review(run, "reject", "Dana", "no")
    record_review(run, "reject", "Lee", "no")
    lines = _lines(run)
    entry = json.loads(lines[0])
    entry["decision"] = "approve"
    entry["entry_hash"] = entry_hash(entry)
    lines[0] = json.dumps(entry, sort_keys=True)
    _write(run, lines)
    result = verify_reviews(run)
    assert not result.ok
    assert any("line 2 (seq 2)" in p and "prev_hash" in p for p in result.problems)


def test_deleted_line_is_detected(run):
    for who in ("a", "b", "c"):
        record_review(run, "approve", who, "")
    lines = _lines(run)
    _write(run, [lines[0], lines[2]])
    result = verify_reviews(run)
    assert not result.ok
    assert any("seq 3" in p and "prev_hash" in p for p in result.problems)
    assert any("seq is 3, expected 2" in p for p in result.problems)


def test_deleted_first_line_is_detected(run):
    record_review(run, "approve", "a", "")
    record_review(run, "reject", "b", "")
    _write(run, _lines(run)[1:])
    result = verify_reviews(run)
    assert not result.ok and result.entries == 1


def test_reordered_lines_are_detected(run):
    record_review(run, "approve", "a", "")
    record_review(run, "reject", "b", "")
    lines = _lines(run)
    _write(run, [lines[1], lines[0]])
    assert not verify_reviews(run).ok


def test_cut_tail_needs_the_expected_head(run):
    """A chain cannot show that its last entry was removed; the kept head hash can."""
    record_review(run, "approve", "a", "")
    head = record_review(run, "reject", "b", "do not release")["entry_hash"]
    assert verify_reviews(run, expected_head=head).ok
    _write(run, _lines(run)[:1])
    assert verify_reviews(run).ok  # undetectable from the log alone
    result = verify_reviews(run, expected_head=head)
    assert not result.ok and "cut short" in result.problems[0]
    # Later legitimate reviews after the kept head are fine.
    _write(run, [])
    (run / REVIEW_LOG).unlink()
    first = record_review(run, "approve", "a", "")["entry_hash"]
    record_review(run, "approve", "b", "")
    assert verify_reviews(run, expected_head=first).ok


def test_report_changed_after_review(run):
    record_review(run, "approve", "Dana", "ok")
    report = run / "report.html"
    report.write_text(report.read_text().replace("PUBLISHABLE", "PUBLISHABLE!"))
    result = verify_reviews(run)
    assert not result.ok
    assert any(p.startswith("report changed after review") for p in result.problems)


def test_manifest_changed_after_review(run):
    record_review(run, "approve", "Dana", "ok")
    (run / "manifest.json").write_text((run / "manifest.json").read_text() + " ")
    result = verify_reviews(run)
    assert any(p.startswith("manifest changed after review") for p in result.problems)


def test_rebuild_circularity(run):
    """The report lists the reviews it was built with, so a rebuild needs a fresh review."""
    build_report(run)
    assert verify_reviews(run).ok
    build_report(run)  # unchanged inputs: identical bytes, review (none yet) unaffected
    entry = record_review(run, "approve", "Dana", "ok")
    assert verify_reviews(run).ok
    build_report(run)  # now shows Dana's approval: a different file
    html = (run / "report.html").read_text()
    assert "Dana" in html and entry["entry_hash"][:12] in html
    assert "chain intact" in html
    assert not verify_reviews(run).ok
    record_review(run, "approve", "Lee", "signed the rebuilt report")
    assert verify_reviews(run).ok


def test_report_shows_a_broken_chain(run):
    record_review(run, "approve", "Dana", "ok")
    lines = _lines(run)
    _write(run, [lines[0].replace('"ok"', '"OK!"')])
    html = build_report(run).read_text()
    assert "failed its integrity check" in html


@pytest.mark.parametrize("decision", ["accept", "APPROVE", "", "yes"])
def test_unknown_decision_refused(run, decision):
    with pytest.raises(InputError, match="decision"):
        record_review(run, decision, "Dana", "")
    assert not (run / REVIEW_LOG).exists()


@pytest.mark.parametrize("by", ["", "   "])
def test_empty_reviewer_refused(run, by):
    with pytest.raises(InputError, match="name"):
        record_review(run, "approve", by, "")


def test_review_needs_a_report_to_sign(tmp_path):
    """Review does not build the report: it would sign a page nobody read."""
    run = make_run(tmp_path, "publishable")
    with pytest.raises(InputError, match="report.html") as info:
        record_review(run, "approve", "Dana", "")
    assert "synthpipe report" in info.value.hint
    assert not (run / "report.html").exists() and not (run / REVIEW_LOG).exists()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(InputError, match="manifest.json"):
        record_review(tmp_path, "approve", "Dana", "")


def test_refuses_to_append_to_a_damaged_log(run):
    record_review(run, "approve", "Dana", "ok")
    _write(run, [_lines(run)[0].replace("Dana", "Eve")])
    with pytest.raises(InputError, match="damaged"):
        record_review(run, "reject", "Lee", "")
    assert len(_lines(run)) == 1


def test_garbage_line_is_a_problem(run):
    record_review(run, "approve", "Dana", "ok")
    with open(run / REVIEW_LOG, "a", encoding="utf-8") as f:
        f.write("{truncated\n")
    result = verify_reviews(run)
    assert not result.ok and any("line 2" in p and "JSON" in p for p in result.problems)


def test_unicode_comment_round_trips(run):
    entry = record_review(run, "approve", "Zoë Ødegård", "ok \u2014 vérifié \u2713")
    assert json.loads(_lines(run)[0]) == entry
    assert verify_reviews(run).ok


def test_binary_garbage_and_missing_folder(run, tmp_path):
    record_review(run, "approve", "Dana", "ok")
    with open(run / REVIEW_LOG, "ab") as f:
        f.write(b"\xff\xfe\n")
    result = verify_reviews(run)
    assert not result.ok and "UTF-8" in result.problems[0]
    with pytest.raises(InputError, match="damaged"):
        record_review(run, "approve", "Lee", "")
    with pytest.raises(InputError, match="does not exist"):
        verify_reviews(tmp_path / "nowhere")
