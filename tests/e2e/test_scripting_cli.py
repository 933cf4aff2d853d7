"""The CLI for scripts: --json on run, evaluate and review; profile; exit codes; a quiet console.

Every --json answer is exactly one JSON object on stdout; progress and logs go to stderr.
"""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLE

#: Lines of Prefect, httpx or Great Expectations that must stay off the console without -v.
NOISE = ("Task run", "Flow run", "HTTP Request", "prefect.", "great_expectations", "Finished in")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scripting")
    rng = np.random.default_rng(9)
    n = 300
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(7, 1, n).round(2),
            "kind": rng.choice(["a", "b"], n),
            "label": rng.choice(["Y", "N"], n, p=[0.2, 0.8]),
        }
    )
    df.to_parquet(folder / "t.parquet")
    df.iloc[:200].to_parquet(folder / "train.parquet")
    df.iloc[200:].to_parquet(folder / "holdout.parquet")
    # No synthetic table has a share of 0 rows closer to train than to holdout: quarantined.
    (folder / "strict.yaml").write_text("gates:\n  dcr_share_max: 0.0\n")
    return folder


def _one_json(result) -> dict:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout is not one line: {result.stdout!r}"
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


RUN = ("--target", "label", "--model", "tvae", "--epochs", "1")


@pytest.fixture(scope="module")
def published(cli, tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "run"
    return cli("run", "--table", tiny / "t.parquet", *RUN, "--out", out, "--json"), out


def test_run_json_is_one_object_on_stdout(published):
    result, out = published
    assert result.exit_code == 0, result.output
    obj = _one_json(result)
    assert obj["status"] == "published" and obj["exit_code"] == 0 and obj["publishable"]
    assert obj["out_dir"] == str(out)
    assert (out / "synthetic.parquet").is_file() and obj["synthetic"].endswith("synthetic.parquet")
    assert obj["failed_gates"] == []


def test_quarantined_run_exits_3_with_a_quiet_console(cli, tiny, tmp_path):
    out = tmp_path / "q"
    result = cli("run", "--table", tiny / "t.parquet", *RUN, "--config", tiny / "strict.yaml",
                 "--out", out)
    assert result.exit_code == 3, result.output
    assert "QUARANTINED" in result.stdout and "dcr_share" in result.stdout
    assert (out / "quarantine" / "synthetic.parquet").is_file()
    noisy = [line for line in result.stderr.splitlines() if any(n in line for n in NOISE)]
    assert noisy == [], result.stderr


def test_quarantined_run_json(cli, tiny, tmp_path):
    result = cli("run", "--table", tiny / "t.parquet", *RUN, "--config", tiny / "strict.yaml",
                 "--out", tmp_path / "q", "--json")
    assert result.exit_code == 3
    obj = _one_json(result)
    assert obj["status"] == "quarantined" and obj["exit_code"] == 3
    assert "dcr_share" in obj["failed_gates"]


def test_run_json_error_is_one_object_too(cli, tmp_path):
    result = cli("run", "--table", tmp_path / "missing.csv", "--json")
    assert result.exit_code == 2
    obj = _one_json(result)
    assert obj["status"] == "error" and obj["exit_code"] == 2
    assert "missing.csv" in obj["error"]
    assert "error:" in result.stderr  # the readable line still goes to the console


def test_evaluate_json(cli, tiny, published, tmp_path):
    _, out = published
    metrics = tmp_path / "metrics.json"
    result = cli("evaluate", "--real", tiny / "train.parquet", "--holdout",
                 tiny / "holdout.parquet", "--synthetic", out / "synthetic.parquet",
                 "--target", "label", "--out", metrics, "--json")
    obj = _one_json(result)
    assert result.exit_code == obj["exit_code"] in (0, 3)
    assert obj["status"] == ("passed" if obj["publishable"] else "failed")
    assert obj["metrics"] == str(metrics) and metrics.is_file()
    assert {c["name"] for c in obj["checks"]} >= {"mia_auc", "dcr_share"}


def test_review_json_records_and_verifies(cli, published):
    _, out = published
    rec = cli("review", out, "--approve", "--by", "dana", "--comment", "ok", "--json")
    assert rec.exit_code == 0, rec.output
    entry = _one_json(rec)
    assert entry["status"] == "recorded" and entry["by"] == "dana"
    assert entry["decision"] == "approve" and entry["entry_hash"]
    ver = cli("review", out, "--verify", "--expected-head", entry["entry_hash"], "--json")
    assert ver.exit_code == 0
    verified = _one_json(ver)
    assert isinstance(verified.pop("notes"), list)
    assert verified == {"status": "intact", "ok": True, "entries": 1, "problems": [],
                        "exit_code": 0}
    bad = cli("review", out, "--approve", "--json")  # no --by
    assert bad.exit_code == 2 and _one_json(bad)["status"] == "error"


def test_profile_of_the_sample_shows_kinds_pii_actions_and_contract(cli):
    result = cli("profile", SAMPLE, "--target", "is_fraud", "--json")
    assert result.exit_code == 0, result.output
    obj = _one_json(result)
    cols = {c["name"]: c for c in obj["columns"]}
    assert obj["rows"] > 0 and obj["target"] == "is_fraud"
    assert cols["ssn"]["pii"]["category"] == "direct" and cols["ssn"]["action"] == "fake"
    assert not cols["ssn"]["modelled"]
    assert cols["is_fraud"]["action"] == "keep" and cols["is_fraud"]["modelled"]
    assert obj["contract"]["passed"] and obj["contract"]["evaluated"] > 0
    table = cli("profile", SAMPLE, "--target", "is_fraud")
    assert table.exit_code == 0
    assert "ssn" in table.stdout and "fake" in table.stdout and "input contract" in table.stdout


def test_profile_reports_a_failed_contract_with_exit_2(cli, tmp_path):
    df = pd.DataFrame({"a": range(50), "empty": [None] * 50, "y": ["p", "q"] * 25})
    path = tmp_path / "bad.parquet"
    df.to_parquet(path)
    result = cli("profile", path, "--target", "y", "--json")
    assert result.exit_code == 2
    obj = _one_json(result)
    assert obj["status"] == "contract_failed" and not obj["contract"]["passed"]
    assert any("empty" in line for line in obj["contract"]["failures"])
    assert {c["name"] for c in obj["columns"]} == {"a", "empty", "y"}


def test_unreachable_dask_address_is_refused_before_any_work(cli, tiny, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.perf_counter()
    result = cli("run", "--table", tiny / "t.parquet", *RUN, "--runner", "dask",
                 "--dask-address", address, "--out", tmp_path / "o")
    elapsed = time.perf_counter() - t0
    assert result.exit_code == 2, result.output
    assert address in result.stderr and "fix:" in result.stderr
    assert elapsed < 20, elapsed
    assert not (tmp_path / "o").exists()
