"""`synthpipe report` and `synthpipe review` as a steward would use them.

The tamper tests read folders written by a real `synthpipe run` (the bundled sample, two
epochs); the hand-made fixture folders of tests/unit/report add the chain's corner cases.
"""

from __future__ import annotations

import html
import json
import shutil

import pytest
from typer.testing import CliRunner

from synthpipe.cli import app
from synthpipe.report.review import REVIEW_HEAD, REVIEW_LOG, entry_hash
from tests.unit.report.fixtures.runs import make_run

runner = CliRunner()

# Gates opened wide (published) or shut (quarantined), so the verdict does not depend on how
# well two epochs of training went: these tests are about the review, not the model.
OPEN_GATES = {"mia_auc_max": 1.0, "dcr_share_max": 1.0, "identical_match_margin": 1.0,
              "pii_leaks_max": 1_000_000, "require_suite_pass": False}
SHUT_GATES = {"dcr_share_max": 0.0}


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _real_run(cli, root, gates):
    config = root / "config.json"
    config.write_text(json.dumps({"gates": gates}))
    out = root / "run"
    result = cli("run", "--target", "is_fraud", "--rows", "400", "--epochs", "2", "--seed", "0",
                 "--config", config, "--out", out)
    assert result.exit_code in (0, 3), result.output
    return out


@pytest.fixture(scope="module")
def published_run(cli, tmp_path_factory):
    return _real_run(cli, tmp_path_factory.mktemp("published"), OPEN_GATES)


@pytest.fixture(scope="module")
def quarantined_run(cli, tmp_path_factory):
    return _real_run(cli, tmp_path_factory.mktemp("quarantined"), SHUT_GATES)


@pytest.fixture
def approved(published_run, tmp_path):
    """A copy of the real run folder, approved by a steward."""
    run = tmp_path / "run"
    shutil.copytree(published_run, run)
    res = _cli("review", run, "--approve", "--by", "Dana Steward", "--comment", "gates pass")
    assert res.exit_code == 0, res.output
    assert _cli("review", run, "--verify").exit_code == 0
    return run


def _outputs(run):
    return json.loads((run / "manifest.json").read_text())["outputs"]


def _verify_fails_naming(run, name):
    res = _cli("review", run, "--verify")
    assert res.exit_code == 4, res.output
    assert "FAILED" in res.output and name in res.output, res.output
    return res.output


def test_real_run_folder_is_verified_intact(published_run):
    outputs = _outputs(published_run)
    assert {"synthetic.parquet", "metrics.json", "model/config.json",
            "expectations/synthetic_suite.json"} <= set(outputs)
    assert (published_run / "report.html").is_file()
    res = _cli("review", published_run, "--verify")
    assert res.exit_code == 0, res.output
    assert "outputs match manifest.json" in res.output and "no reviews recorded" in res.output


def test_each_output_changed_after_approval_is_named(approved):
    for name in _outputs(approved):
        path = approved / name
        original = path.read_bytes()
        path.write_bytes(original + b"\0")
        out = _verify_fails_naming(approved, name)
        assert f"{name} changed after the run" in out.replace("\n", " ")
        path.write_bytes(original)
    assert _cli("review", approved, "--verify").exit_code == 0


def test_rewritten_synthetic_table_is_caught(approved):
    import pandas as pd

    table = approved / "synthetic.parquet"
    df = pd.read_parquet(table)
    df.iloc[:50].to_parquet(table, index=False)  # a different table under the approved name
    _verify_fails_naming(approved, "synthetic.parquet")


def test_missing_and_added_files_are_named(approved):
    (approved / "model" / "weights.pt").unlink()
    (approved / "extra.csv").write_text("a,b\n1,2\n")
    out = _verify_fails_naming(approved, "model/weights.pt")
    assert "extra.csv was added" in out


def test_deleted_log_fails(approved):
    (approved / REVIEW_LOG).unlink()
    _verify_fails_naming(approved, REVIEW_LOG)


def test_forged_approval_line_fails(approved):
    last = json.loads((approved / REVIEW_LOG).read_text().splitlines()[-1])
    forged = {k: v for k, v in last.items() if k != "entry_hash"}
    forged.update(seq=2, prev_hash=last["entry_hash"], by="Eve", comment="me too")
    forged["entry_hash"] = entry_hash(forged)
    with open(approved / REVIEW_LOG, "a") as f:
        f.write(json.dumps(forged, sort_keys=True) + "\n")
    out = _verify_fails_naming(approved, REVIEW_LOG)
    assert REVIEW_HEAD in out
    refused = _cli("review", approved, "--reject", "--by", "Lee")
    assert refused.exit_code == 2 and "damaged" in refused.output


def test_quarantined_real_run_needs_force(quarantined_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(quarantined_run, run)
    assert json.loads((run / "manifest.json").read_text())["verdict"] == "quarantined"
    assert "quarantine/synthetic.parquet" in _outputs(run)
    refused = _cli("review", run, "--approve", "--by", "Dana")
    assert refused.exit_code == 2
    assert "quarantined" in refused.output and "--force" in refused.output
    assert not (run / REVIEW_LOG).exists()
    forced = _cli("review", run, "--approve", "--force", "--by", "Dana", "--comment", "risk ok")
    assert forced.exit_code == 0, forced.output
    assert "warning:" in forced.output and "approved although the run is quarantined" in (
        forced.output.replace("\n", " "))
    entry = json.loads((run / REVIEW_LOG).read_text().splitlines()[-1])
    assert entry["run_verdict"] == "quarantined" and "dcr_share" in entry["override"]
    ok = _cli("review", run, "--verify")
    assert ok.exit_code == 0 and "approved although" in ok.output


def test_report_then_review_chain_and_tamper_detection(tmp_path):
    run = make_run(tmp_path, "quarantined")
    res = _cli("report", run)
    assert res.exit_code == 0, res.output
    html = (run / "report.html").read_text()
    assert "QUARANTINED" in html and "http://" not in html and "https://" not in html
    assert json.loads((run / "report.json").read_text())

    first = _cli("review", run, "--reject", "--by", "Dana Steward", "--comment", "MIA too high")
    assert first.exit_code == 0, first.output
    second = _cli("review", run, "--approve", "--force", "--by", "Lee", "--comment", "accepted")
    assert second.exit_code == 0
    head = second.output.split("entry hash ")[1].split()[0]  # kept in the ticket
    ok = _cli("review", run, "--verify", "--expected-head", head)
    assert ok.exit_code == 0 and "2 entries" in ok.output

    log = run / REVIEW_LOG
    lines = log.read_text().splitlines()
    # cutting off the last decision leaves a valid chain, but not the head file's entry
    log.write_text(lines[0] + "\n")
    assert _cli("review", run, "--verify").exit_code == 4
    assert _cli("review", run, "--verify", "--expected-head", head).exit_code == 4
    log.write_text("\n".join(lines) + "\n")
    entry = json.loads(lines[0])
    entry["comment"] = "looks fine"  # rewriting history
    log.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
    bad = _cli("review", run, "--verify")
    assert bad.exit_code == 4
    assert "FAILED" in bad.output


def test_review_needs_exactly_one_action_a_name_and_a_report(tmp_path):
    run = make_run(tmp_path, "publishable")
    assert _cli("review", run, "--approve", "--reject", "--by", "x").exit_code == 2
    assert _cli("review", run, "--approve").exit_code == 2
    assert _cli("review", run, "--reject", "--force", "--by", "x").exit_code == 2
    no_report = _cli("review", run, "--approve", "--by", "x")
    assert no_report.exit_code == 2 and "synthpipe report" in no_report.output
    missing = _cli("report", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "error:" in missing.output


def test_the_report_says_what_gives_the_data_away(published_run):
    # Read from the run's own metrics: the worst pair, its sentence and the detector's columns
    # must be on the page the steward reads.
    metrics = json.loads((published_run / "metrics.json").read_text())
    diagnosis = metrics["fidelity"]["diagnosis"]
    page = (published_run / "report.html").read_text()
    assert "What gives the data away" in page
    worst = diagnosis["worst_pairs"][0]
    assert " × ".join(worst["columns"]) in page
    if worst.get("explanation"):
        assert html.escape(worst["explanation"], quote=False) in page
    top = diagnosis["detection_importance"]["columns"][0]["column"]
    assert f"<td>{html.escape(top)}</td>" in page
    if worst.get("table"):
        assert "share of rows in each cell, real / synthetic" in page
