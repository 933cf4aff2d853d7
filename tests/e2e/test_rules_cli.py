"""Business rules through the CLI, on real tables: found and declared rules hold in every
published row, the report lists them, and a declared rule the data breaks stops the run."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

CLAIM_TOTAL = "total_claim_amount = injury_claim + property_claim + vehicle_claim"


def _synthetic(out, code):
    return pd.read_parquet(out / ("synthetic.parquet" if code == 0 else
                                  "quarantine/synthetic.parquet"))


def test_a_declared_total_holds_in_every_published_row(cli, shared_data, tmp_path):
    out = tmp_path / "run"
    result = cli("run", "--table", shared_data / "insurance_claims.csv",
                 "--target", "fraud_reported", "--epochs", "3", "--rule", CLAIM_TOTAL,
                 "--out", out)
    assert result.exit_code in (0, 3), result.output
    synth = _synthetic(out, result.exit_code)
    assert (synth["total_claim_amount"] == synth["injury_claim"] + synth["property_claim"]
            + synth["vehicle_claim"]).all()
    # Parts drawn apart could add up past any real total; they are scaled back into range.
    real = pd.read_csv(shared_data / "insurance_claims.csv")
    assert synth["total_claim_amount"].max() <= real["total_claim_amount"].max()
    metrics = json.loads((out / "metrics.json").read_text())
    rules = {r["rule"]: r for r in metrics["rules"]["rules"]}
    assert rules[CLAIM_TOTAL]["declared"] is True and rules[CLAIM_TOTAL]["violations"] == 0
    assert rules["auto_model -> auto_make"]["declared"] is False  # found, not declared
    assert metrics["rules"]["violations"] == 0
    gate = next(c for c in metrics["gates"]["checks"] if c["name"] == "business_rules")
    assert gate["status"] == "passed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert CLAIM_TOTAL in [r["text"] for r in manifest["rules"]]
    page = re.sub(r"<[^>]+>", " ", (out / "report.html").read_text())
    page = re.sub(r"\s+", " ", page)
    assert "Business rules" in page and CLAIM_TOTAL in page
    assert "auto_model -&gt; auto_make found 100.00% of" in page


def test_rates_hold_when_the_minority_is_rebalanced(cli, shared_data, tmp_path):
    out = tmp_path / "churn"
    result = cli("run", "--table", shared_data / "churn.csv", "--target", "churn",
                 "--model", "tvae", "--epochs", "2", "--rebalance", "0.5", "--out", out)
    assert result.exit_code in (0, 3), result.output
    synth = _synthetic(out, result.exit_code)
    assert (synth["churn"] == "yes").mean() == 0.5
    for period, rate in (("day", 0.17), ("eve", 0.085), ("night", 0.045), ("intl", 0.27)):
        charge = synth[f"total_{period}_charge"]
        expected = np.round(synth[f"total_{period}_minutes"] * rate, 2)
        assert np.abs(charge - expected).max() < 0.0051, period
    found = json.loads((out / "metrics.json").read_text())["rules"]["rules"]
    assert {r["rule"] for r in found} >= {"total_day_charge = total_day_minutes * 0.17",
                                          "total_intl_charge = total_intl_minutes * 0.27"}


def test_a_declared_rule_the_data_breaks_is_refused_before_training(cli, shared_data, tmp_path):
    out = tmp_path / "refused"
    result = cli("run", "--table", shared_data / "insurance_claims.csv",
                 "--target", "fraud_reported", "--epochs", "1", "--out", out,
                 "--rule", "total_claim_amount = injury_claim + property_claim")
    assert result.exit_code == 2
    assert re.search(r"broken by \d+ of 1000 real rows \(rows 1, 2", result.output)
    assert not out.exists()


def test_a_rule_naming_an_unknown_column_says_which(cli, shared_data, tmp_path):
    result = cli("run", "--table", shared_data / "insurance_claims.csv", "--epochs", "1",
                 "--out", tmp_path / "x", "--rule", "total_claim = injury_claim + property_claim")
    assert result.exit_code == 2
    assert "did you mean 'total_claim_amount'" in result.output


def test_profile_lists_the_rules_a_run_would_keep(cli, shared_data):
    result = cli("profile", shared_data / "churn.csv", "--target", "churn", "--json",
                 "--rule", "total_day_charge = total_day_minutes * 0.17")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    rules = {r["rule"]: r for r in obj["rules"]}
    assert rules["total_day_charge = total_day_minutes * 0.17"]["declared"] is True
    assert rules["total_eve_charge = total_eve_minutes * 0.085"]["declared"] is False
    assert all(r["support"] >= 0.995 and r["rows"] == 5000 for r in obj["rules"])
    broken = cli("profile", shared_data / "churn.csv", "--rule",
                 "total_day_charge = total_day_minutes * 0.18")
    assert broken.exit_code == 2 and "broken by" in broken.output
