"""The outputs a decision moves, and the verdict a manifest records (pure parts of integrity)."""

from __future__ import annotations

import json

from synthpipe.report.integrity import finalized_outputs, run_verdict

SIGNED = {"pending/synthetic.parquet": "aa", "metrics.json": "bb",
          "pending/synthetic/part-0.parquet": "cc", "model/pending/x": "dd"}


def test_an_approval_moves_the_pending_table_to_the_top():
    assert finalized_outputs(SIGNED, "approve") == {
        "synthetic.parquet": "aa", "metrics.json": "bb", "synthetic/part-0.parquet": "cc",
        "model/pending/x": "dd"}  # only the top-level pending/ folder moves


def test_a_rejection_moves_it_under_quarantine():
    moved = finalized_outputs(SIGNED, "reject")
    assert moved["quarantine/synthetic.parquet"] == "aa"
    assert moved["quarantine/synthetic/part-0.parquet"] == "cc"
    assert moved["metrics.json"] == "bb" and len(moved) == 4


def test_an_awaiting_run_is_neither_published_nor_unknown(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"verdict": "awaiting_approval", "gates": {"publishable": True, "failed": []}}))
    assert run_verdict(tmp_path) == ("awaiting_approval", [])
    (tmp_path / "quarantine").mkdir()  # any record of quarantine wins (fail closed)
    assert run_verdict(tmp_path)[0] == "quarantined"
