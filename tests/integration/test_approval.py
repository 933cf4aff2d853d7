"""Approval on the evidence: a real run written as awaiting approval, decided, verified.

One real run (no Prefect: ``run_pipeline`` without an approver ends awaiting a decision) is
copied for each case, then decided with :func:`synthpipe.pipeline.approval.finalize` and
checked with ``verify_reviews`` as a steward or an auditor would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.io import sha256_file
from synthpipe.pipeline.approval import finalize
from synthpipe.report.review import REVIEW_LOG, read_entries, record_review, verify_reviews


@pytest.fixture(scope="module")
def awaiting(tmp_path_factory) -> tuple[Path, object]:
    from synthpipe.config import RunConfig
    from synthpipe.pipeline.run import run_pipeline

    base = tmp_path_factory.mktemp("approval")
    rng = np.random.default_rng(5)
    n = 600
    pd.DataFrame({
        "amount": rng.lognormal(7, 1, n).round(2),
        "kind": rng.choice(["a", "b", "c"], n),
        "age": rng.integers(18, 80, n),
        "label": rng.choice(["Y", "N"], n, p=[0.1, 0.9]),
    }).to_parquet(base / "small.parquet")
    cfg = RunConfig(table=str(base / "small.parquet"), target="label", out=str(base / "run"),
                    model={"name": "tvae", "epochs": 2}, approval="required")
    return base / "run", run_pipeline(cfg)


@pytest.fixture
def run(awaiting, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(awaiting[0], copy)
    return copy


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def test_an_awaiting_run_holds_its_table_back_and_has_its_report(awaiting):
    folder, result = awaiting
    assert result.verdict == "awaiting_approval" and result.publishable
    assert result.synthetic_path == folder / "pending" / "synthetic.parquet"
    assert result.synthetic_path.is_file() and not (folder / "synthetic.parquet").exists()
    manifest = _manifest(folder)
    assert manifest["verdict"] == "awaiting_approval"
    assert manifest["approval"] == {"required": True, "decision": None}
    assert "pending/synthetic.parquet" in manifest["outputs"]
    report = json.loads((folder / "report.json").read_text())
    assert report["verdict"]["label"] == "AWAITING APPROVAL"
    assert "AWAITING APPROVAL" in (folder / "report.html").read_text()
    assert verify_reviews(folder).ok


def test_an_awaiting_run_is_decided_by_approve_not_by_review(run):
    with pytest.raises(InputError, match="awaits a steward") as err:
        record_review(run, "approve", "dana")
    assert "synthpipe approve" in err.value.hint
    assert not (run / REVIEW_LOG).exists()


def test_approval_publishes_and_binds_the_report_the_steward_read(run):
    read = sha256_file(run / "report.html")
    signed_manifest = sha256_file(run / "manifest.json")
    table = sha256_file(run / "pending" / "synthetic.parquet")
    result = finalize(run, "approve", "dana", "checked the privacy section", read)
    assert result.verdict == "published" and result.publishable
    assert result.synthetic_path == run / "synthetic.parquet"
    assert sha256_file(run / "synthetic.parquet") == table
    assert not (run / "pending").exists() and not (run / "quarantine").exists()
    [entry], _ = read_entries(run / REVIEW_LOG)
    assert entry["decision"] == "approve" and entry["by"] == "dana"
    assert entry["report_sha256"] == read == sha256_file(run / "review/1/report.html")
    assert entry["manifest_sha256"] == signed_manifest == sha256_file(
        run / "review/1/manifest.json")
    manifest = _manifest(run)
    assert manifest["verdict"] == "published"
    assert manifest["approval"]["review_entry"] == entry["entry_hash"]
    assert manifest["approval"]["report_sha256"] == sha256_file(run / "report.html")
    assert manifest["outputs"]["synthetic.parquet"] == table
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"]["label"] == "PUBLISHABLE"
    check = verify_reviews(run)
    assert check.ok, check.problems
    assert check.entries == 1


def test_rejection_quarantines_with_the_steward_as_the_reason(run):
    result = finalize(run, "reject", "eve", "income looks off")
    assert result.verdict == "quarantined" and not result.publishable
    assert (run / "quarantine" / "synthetic.parquet").is_file()
    assert not (run / "synthetic.parquet").exists()
    reasons = (run / "quarantine" / "REASONS.txt").read_text()
    # only the blocking check that failed: skipped checks are not reasons
    assert [line for line in reasons.splitlines() if line.startswith("- ")] == [
        "- steward_approval: rejected by eve: income looks off"]
    assert _manifest(run)["gates"] == {"publishable": False, "failed": ["steward_approval"]}
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"]["label"] == "QUARANTINED"
    assert report["verdict"]["failed"] == ["steward_approval"]
    assert verify_reviews(run).ok


def test_a_report_changed_after_it_was_read_is_not_signed(run):
    read = sha256_file(run / "report.html")
    (run / "report.html").write_text("<p>another page</p>")
    with pytest.raises(InputError, match="changed after it was read"):
        finalize(run, "approve", "dana", expected_report_sha=read)
    assert not (run / REVIEW_LOG).exists() and (run / "pending").is_dir()


def test_a_decided_run_cannot_be_decided_again(run):
    finalize(run, "approve", "dana")
    with pytest.raises(InputError, match="not awaiting approval"):
        finalize(run, "reject", "eve")


def test_changed_outputs_refuse_the_decision(run):
    (run / "pending" / "synthetic.parquet").write_bytes(b"not the table")
    with pytest.raises(InputError, match="no longer match its manifest"):
        finalize(run, "approve", "dana")
    assert not (run / REVIEW_LOG).exists()


def _tamper_kept_report(run: Path) -> None:
    (run / "review/1/report.html").write_text("<p>a page nobody read</p>")


def _tamper_kept_manifest(run: Path) -> None:
    kept = run / "review/1/manifest.json"
    kept.write_text(kept.read_text().replace('"awaiting_approval"', '"published"'))


def _swap_table(run: Path) -> None:
    df = pd.read_parquet(run / "synthetic.parquet")
    df.iloc[:5].to_parquet(run / "synthetic.parquet")


def _rebuild_report(run: Path) -> None:
    (run / "report.html").write_text((run / "report.html").read_text() + "<!-- edited -->")


def _delete_log(run: Path) -> None:
    (run / REVIEW_LOG).unlink()
    (run / "review_head.json").unlink()


def _forge_verdict(run: Path) -> None:
    # a rejection turned into a publication, hashes made consistent by the forger
    from synthpipe.pipeline.publish import _hash_outputs
    from synthpipe.report.integrity import NOT_OUTPUTS

    (run / "quarantine" / "synthetic.parquet").replace(run / "synthetic.parquet")
    (run / "quarantine" / "REASONS.txt").unlink()
    (run / "quarantine").rmdir()
    manifest = _manifest(run)
    manifest.update(verdict="published", gates={"publishable": True, "failed": []})
    manifest["outputs"] = _hash_outputs(run, skip=tuple(NOT_OUTPUTS))
    (run / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(("decision", "tamper", "problem"), [
    ("approve", _tamper_kept_report, "report changed after review"),
    ("approve", _tamper_kept_manifest, "the manifest the steward signed is missing or changed"),
    ("approve", _swap_table, "synthetic.parquet changed after the run"),
    ("approve", _rebuild_report, "report changed after review"),
    ("approve", _delete_log, "the review log was deleted"),
    ("reject", _forge_verdict, "is not what the review entry"),
])
def test_every_tampering_of_a_decided_run_is_caught(run, decision, tamper, problem):
    finalize(run, decision, "dana")
    assert verify_reviews(run).ok
    tamper(run)
    check = verify_reviews(run)
    assert not check.ok
    assert any(problem in p for p in check.problems), check.problems


def test_a_decision_interrupted_after_it_was_recorded_is_finished_once(run):
    # The entry is written first; a crash before the folder moved leaves it awaiting.
    entry = record_review(run, "approve", "dana", "ok", finalizing=True)
    assert _manifest(run)["verdict"] == "awaiting_approval"
    result = finalize(run, "approve", "dana", "ok")
    entries, _ = read_entries(run / REVIEW_LOG)
    assert [e["entry_hash"] for e in entries] == [entry["entry_hash"]]
    assert result.verdict == "published"
    assert verify_reviews(run).ok


def test_metrics_without_a_gate_verdict_fail_closed(run):
    # A metrics.json whose gate verdict is gone publishes nothing, even with the manifest's
    # hash rewritten to match (else the hash check refuses first): the decision is refused
    # before it is recorded, and the table stays pending.
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["gates"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    manifest = _manifest(run)
    manifest["outputs"]["metrics.json"] = sha256_file(run / "metrics.json")
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError) as err:
        finalize(run, "approve", "dana")
    assert "gate verdict" in str(err.value)
    assert not (run / REVIEW_LOG).exists() and (run / "pending").is_dir()
    assert not (run / "synthetic.parquet").exists()
