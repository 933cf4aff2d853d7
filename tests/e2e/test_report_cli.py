"""`synthpipe report` and `synthpipe review` as a steward would use them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from synthpipe.cli import app
from tests.unit.report.fixtures.runs import make_run

runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_report_then_review_chain_and_tamper_detection(tmp_path):
    run = make_run(tmp_path, "quarantined")
    res = _cli("report", run)
    assert res.exit_code == 0, res.output
    html = (run / "report.html").read_text()
    assert "QUARANTINED" in html and "http://" not in html and "https://" not in html
    assert json.loads((run / "report.json").read_text())

    first = _cli("review", run, "--reject", "--by", "Dana Steward", "--comment", "MIA too high")
    assert first.exit_code == 0, first.output
    second = _cli("review", run, "--approve", "--by", "Lee", "--comment", "after rerun")
    assert second.exit_code == 0
    head = second.output.split("entry hash ")[1].split()[0]  # kept in the ticket
    ok = _cli("review", run, "--verify", "--expected-head", head)
    assert ok.exit_code == 0 and "2 entries" in ok.output

    log = run / "review_log.jsonl"
    lines = log.read_text().splitlines()
    # cutting off the last decision leaves a valid chain, but not the head kept elsewhere
    log.write_text(lines[0] + "\n")
    assert _cli("review", run, "--verify").exit_code == 0
    assert _cli("review", run, "--verify", "--expected-head", head).exit_code == 4
    log.write_text("\n".join(lines) + "\n")
    entry = json.loads(lines[0])
    entry["comment"] = "looks fine"  # rewriting history
    log.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
    bad = _cli("review", run, "--verify")
    assert bad.exit_code == 4
    assert "FAILED" in bad.output


def test_review_needs_exactly_one_action_and_a_name(tmp_path):
    run = make_run(tmp_path, "publishable")
    assert _cli("review", run, "--approve", "--reject", "--by", "x").exit_code == 2
    assert _cli("review", run, "--approve").exit_code == 2
    missing = _cli("report", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "error:" in missing.output
