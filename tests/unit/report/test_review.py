"""The hash-chained review log: record, verify, and catch every kind of tampering."""

from __future__ import annotations

import hashlib
import json

import pytest

from synthpipe.errors import InputError
from synthpipe.report import build_report, record_review, verify_reviews
from synthpipe.report.review import GENESIS, REVIEW_HEAD, REVIEW_LOG, entry_hash

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
    assert result.notes == ["no reviews recorded yet"]


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


def test_cut_tail_is_caught_by_the_head_file(run):
    record_review(run, "approve", "a", "")
    record_review(run, "reject", "b", "do not release")
    _write(run, _lines(run)[:1])
    result = verify_reviews(run)
    assert not result.ok
    assert any(p.startswith(REVIEW_LOG) and REVIEW_HEAD in p and "cut short" in p
               for p in result.problems)


def test_cut_tail_with_a_rewritten_head_needs_the_expected_head(run):
    """Log and head rewritten together look consistent; the hash kept elsewhere does not."""
    first = record_review(run, "approve", "a", "")
    head = record_review(run, "reject", "b", "do not release")["entry_hash"]
    assert verify_reviews(run, expected_head=head).ok
    _write(run, _lines(run)[:1])
    (run / REVIEW_HEAD).write_text(json.dumps({"seq": 1, "entry_hash": first["entry_hash"]}))
    assert verify_reviews(run).ok  # undetectable from the folder alone
    result = verify_reviews(run, expected_head=head)
    assert not result.ok and any("cut short" in p for p in result.problems)
    # Later legitimate reviews after the kept head are fine.
    (run / REVIEW_LOG).unlink()
    (run / REVIEW_HEAD).unlink()
    kept = record_review(run, "approve", "a", "")["entry_hash"]
    record_review(run, "approve", "b", "")
    assert verify_reviews(run, expected_head=kept).ok


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


# ----------------------------------------------------------------------------- outputs, log
# deletion, forgery and quarantine (folders written by a real run: tests/e2e/test_report_cli.py)


def _forge(run, **changes):
    """Append an entry with correct hashes, as someone who read this module could."""
    last = json.loads(_lines(run)[-1])
    entry = {k: v for k, v in last.items() if k != "entry_hash"}
    entry.update(seq=last["seq"] + 1, prev_hash=last["entry_hash"], **changes)
    entry["entry_hash"] = entry_hash(entry)
    with open(run / REVIEW_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def test_every_output_is_listed_in_the_manifest(run):
    outputs = json.loads((run / "manifest.json").read_text())["outputs"]
    assert set(outputs) == {"metrics.json", "model/config.json", "synthetic.parquet"}
    assert verify_reviews(run).ok


@pytest.mark.parametrize("name", ["synthetic.parquet", "metrics.json", "model/config.json"])
def test_output_changed_after_review_is_named(run, name):
    record_review(run, "approve", "Dana", "ok")
    with open(run / name, "ab") as f:
        f.write(b"\0")
    result = verify_reviews(run)
    assert not result.ok
    assert result.problems == [f"{name} changed after the run: its SHA-256 does not match "
                               "the one in manifest.json"]


def test_missing_and_added_outputs_are_named(run):
    record_review(run, "approve", "Dana", "ok")
    (run / "synthetic.parquet").rename(run / "synthetic_v2.parquet")
    problems = verify_reviews(run).problems
    assert any(p.startswith("synthetic.parquet is missing") for p in problems)
    assert any(p.startswith("synthetic_v2.parquet was added after the run") for p in problems)


def test_rewriting_the_manifest_to_match_breaks_the_review(run):
    record_review(run, "approve", "Dana", "ok")
    (run / "synthetic.parquet").write_bytes(b"other rows")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["outputs"]["synthetic.parquet"] = _sha(run / "synthetic.parquet")
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = verify_reviews(run)
    assert [p.split(":")[0] for p in result.problems] == ["manifest changed after review"]


def test_deleted_log_fails(run):
    record_review(run, "approve", "Dana", "ok")
    (run / REVIEW_LOG).unlink()
    result = verify_reviews(run)
    assert not result.ok
    assert any(p.startswith(f"{REVIEW_LOG} is missing") and "deleted" in p
               for p in result.problems)


def test_deleted_log_and_head_fail_when_the_report_lists_reviews(run):
    record_review(run, "reject", "Dana", "too close to train")
    build_report(run)  # the sign-off block now lists Dana's rejection
    (run / REVIEW_LOG).unlink()
    (run / REVIEW_HEAD).unlink()
    result = verify_reviews(run)
    assert any(p.startswith(f"{REVIEW_LOG} is missing") and "report.json lists 1" in p
               for p in result.problems)


def test_deleted_head_fails(run):
    record_review(run, "approve", "Dana", "ok")
    (run / REVIEW_HEAD).unlink()
    assert any(p.startswith(f"{REVIEW_HEAD} is missing") for p in verify_reviews(run).problems)


def test_forged_line_with_correct_hashes_fails(run):
    record_review(run, "reject", "Dana", "MIA too high")
    _forge(run, decision="approve", by="Eve", comment="fine")
    result = verify_reviews(run)
    assert not result.ok
    assert any(p.startswith(f"{REVIEW_LOG} has 1 entry(ies) after") and "seq 2" in p
               for p in result.problems)
    with pytest.raises(InputError, match="damaged"):  # a real review must not launder it
        record_review(run, "approve", "Lee", "")


def test_crude_forged_line_fails(run):
    record_review(run, "reject", "Dana", "MIA too high")
    last = json.loads(_lines(run)[-1])
    with open(run / REVIEW_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({**last, "seq": 2, "decision": "approve"}) + "\n")
    problems = verify_reviews(run).problems
    assert any(p.startswith(f"{REVIEW_LOG}: entry on line 2") for p in problems)


def test_entry_binds_the_run_verdict(run):
    entry = record_review(run, "approve", "Dana", "ok")
    assert entry["run_verdict"] == "published" and "override" not in entry
    assert json.loads((run / REVIEW_HEAD).read_text()) == {
        "seq": 1, "entry_hash": entry["entry_hash"]}


def test_approving_changed_outputs_is_refused_rejecting_is_not(run):
    (run / "metrics.json").write_text("{}")
    with pytest.raises(InputError, match="metrics.json changed"):
        record_review(run, "approve", "Dana", "")
    assert record_review(run, "reject", "Dana", "metrics were edited")["seq"] == 1


def test_quarantined_run_needs_force_to_approve(tmp_path):
    run = make_run(tmp_path, "quarantined")
    build_report(run)
    with pytest.raises(InputError, match="quarantined") as info:
        record_review(run, "approve", "Dana", "")
    assert "--force" in info.value.hint and not (run / REVIEW_LOG).exists()
    entry = record_review(run, "approve", "Dana", "accepted risk, ticket 7", force=True)
    assert entry["run_verdict"] == "quarantined"
    assert entry["override"].startswith("approved although the run is quarantined (blocked by:")
    assert "mia_auc" in entry["override"]
    result = verify_reviews(run)
    assert result.ok and any("approved although" in n for n in result.notes)
    assert record_review(run, "reject", "Lee", "")["run_verdict"] == "quarantined"


def test_run_without_a_verdict_needs_force_to_approve(run):
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["verdict"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="no recorded gate verdict"):
        record_review(run, "approve", "Dana", "")


def test_report_shows_an_override(tmp_path):
    run = make_run(tmp_path, "quarantined")
    build_report(run)
    record_review(run, "approve", "Dana", "accepted risk", force=True)
    html = build_report(run).read_text()
    assert "Override:</strong> approved although the run is quarantined" in html
