"""`synthpipe run --target COL --rebalance SPEC` as a user runs it: exact class counts in the
published table, both output modes recorded in the manifest, the downstream fraud check on the
real holdout in metrics.json, and bad specs refused before any work."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from synthpipe.config import SAMPLE_TABLE
from synthpipe.io import read_table

METRICS = {"pr_auc", "roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr",
           "precision_at_threshold"}


def _published(out, code):
    return out / ("synthetic.parquet" if code == 0 else "quarantine/synthetic.parquet")


def _check_downstream(metrics: dict, sets: set[str]) -> None:
    down = metrics["downstream"]
    assert set(down["results"]) == sets
    for name in sets:
        scores = down["results"][name]
        assert METRICS <= set(scores), (name, scores)
        assert 0.0 <= scores["pr_auc"] <= 1.0 and 0.0 <= scores["roc_auc"] <= 1.0
    assert 0.0 < down["holdout_positive_rate"] < 0.5
    assert isinstance(down["verdict"], str) and "PR-AUC" in down["verdict"]


def test_sample_rebalanced_to_half_fraud(cli, tmp_path):
    real = pd.read_parquet(SAMPLE_TABLE)
    assert 0.01 < real["is_fraud"].mean() < 0.03  # the bundled sample's rare class (~2%)
    out = tmp_path / "run"
    result = cli("run", "--target", "is_fraud", "--rebalance", "0.5", "--rows", "2000",
                 "--epochs", "3", "--out", out)
    assert result.exit_code in (0, 3), result.output
    synth = pd.read_parquet(_published(out, result.exit_code))
    assert synth["is_fraud"].value_counts().to_dict() == {True: 1000, False: 1000}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["output_mode"] == "synthetic"
    assert manifest["model"]["params"]["class_balance"] == 0.5  # class-balanced training
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sampling"]["mode"] == "rebalanced"
    assert metrics["sampling"]["class_counts"] == {"True": 1000, "False": 1000}
    _check_downstream(metrics, {"real", "synthetic", "augmented"})


def test_insurance_claims_augment_mode(cli, shared_data, tmp_path):
    src = shared_data / "insurance_claims.csv"
    real = read_table(src)
    out = tmp_path / "run"
    result = cli("run", "--table", src, "--target", "fraud_reported", "--rebalance",
                 "Y=0.5,N=0.5", "--mode", "augment", "--model", "flow", "--epochs", "3",
                 "--out", out)
    assert result.exit_code in (0, 3), result.output
    # Real training rows plus synthetic ones: named so nobody takes it for synthetic data.
    name = "augmented.parquet" if result.exit_code == 0 else "quarantine/augmented.parquet"
    published = pd.read_parquet(out / name)
    assert not list(out.rglob("synthetic.parquet"))
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert manifest["output_mode"] == "augment" and manifest["contains_real_rows"] is True
    assert "secure zone" in manifest["use"]
    if result.exit_code == 0:
        assert manifest["verdict"] == "secure_zone_only"
        assert "secure zone only" in result.output and "published" not in result.output
        page = (out / "report.html").read_text()
        assert "SECURE ZONE ONLY" in page and "PUBLISHABLE" not in page
    n_train = manifest["rows"]["train"]
    train_counts = metrics["augment"]["class_counts"]
    # Every real training row stays; synthetic Y rows bring Y up to exactly half.
    assert metrics["augment"]["real_rows"] == n_train
    assert train_counts["Y"] == train_counts["N"]
    assert published["fraud_reported"].value_counts().to_dict() == {
        "Y": train_counts["Y"], "N": train_counts["N"]
    }
    assert (real["fraud_reported"] == "Y").mean() < 0.3
    _check_downstream(metrics, {"real", "synthetic", "augmented"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "is_fraud", "--rebalance", "maybe=0.5,False=0.5"], "maybe"),
        (["--target", "is_fraud", "--rebalance", "True=0.3,False=0.5"], "add up to 0.8"),
        (["--target", "is_fraud", "--rebalance", "True=-5,False=10"], "must not be negative"),
        (["--rebalance", "0.5"], "add --target"),
        (["--target", "is_fraud", "--mode", "augment"], "add --rebalance"),
    ],
)
def test_bad_specs_fail_before_training(cli, tmp_path, args, message):
    out = tmp_path / "run"
    result = cli("run", *args, "--epochs", "1", "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("model", ["tvae", "tabddpm"])
def test_rebalance_auto_chooses_a_share_on_training_rows_and_records_why(cli, shared_data,
                                                                          tmp_path, model):
    out = tmp_path / "auto"
    result = cli("run", "--table", shared_data / "insurance_claims.csv",
                 "--target", "fraud_reported", "--rebalance", "auto", "--model", model,
                 "--epochs", "3", "--out", out)
    assert result.exit_code in (0, 3), result.output
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    auto = manifest["rebalance_auto"]
    assert auto == metrics["rebalance_auto"]
    tried = {c["share"] for c in auto["candidates"]}
    assert auto["natural_share"] in tried and {0.3, 0.5} <= tried
    assert auto["chosen_share"] in tried and auto["why"]
    # Judged on a validation part of the 800 training rows, never on the 200 holdout rows.
    assert auto["rows"] == {"fit": 600, "validation": 200}
    synth = pd.read_parquet(_published(out, result.exit_code))
    share = (synth["fraud_reported"] == "Y").mean()
    if auto["spec"] is None:
        assert metrics["sampling"]["mode"] == "unconditional"
    else:
        assert share == pytest.approx(float(auto["spec"]), abs=0.002)
    # Guidance is judged for a model trained with label dropout (TabDDPM), not for TVAE.
    scales = [g["guidance_scale"] for g in auto["guidance"]]
    assert scales == ([1.0, 1.5, 2.0] if model == "tabddpm" else [])
    params = manifest["model"]["params"]
    assert params.get("guidance_scale", 1.0) == (auto["guidance_scale"] or 1.0)


def test_rebalance_auto_in_augment_mode_judges_real_plus_synthetic_rows(cli, shared_data,
                                                                        tmp_path):
    out = tmp_path / "auto-augment"
    result = cli("run", "--table", shared_data / "insurance_claims.csv",
                 "--target", "fraud_reported", "--rebalance", "auto", "--mode", "augment",
                 "--model", "tvae", "--epochs", "3", "--out", out)
    assert result.exit_code in (0, 3), result.output
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    auto = manifest["rebalance_auto"]
    assert auto["mode"] == "augment" and auto["rows"] == {"fit": 600, "validation": 200}
    assert any(c["natural"] for c in auto["candidates"])  # the real rows alone, judged too
    assert manifest["output_mode"] == "augment" and manifest["contains_real_rows"] is True
    name = "augmented.parquet" if result.exit_code == 0 else "quarantine/augmented.parquet"
    published = pd.read_parquet(out / name)
    added = sum(metrics["augment"]["synthetic_rows_added"].values())
    assert metrics["augment"]["real_rows"] == manifest["rows"]["train"]
    assert len(published) == manifest["rows"]["train"] + added
    if auto["chosen_share"] == auto["natural_share"]:
        assert added == 0 and "no synthetic row added" in auto["why"]
    else:
        share = (published["fraud_reported"] == "Y").mean()
        assert share == pytest.approx(auto["chosen_share"], abs=0.002)
    _check_downstream(metrics, {"real", "synthetic", "augmented"})
