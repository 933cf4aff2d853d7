"""End to end: a default `synthpipe run` recovers sharp dependencies, and the evidence names
one that is broken on purpose (issue #20).

The table (tests/hard_tables.planted_table) holds the three kinds of dependency that averages
hide, side by side: an accident month and a claim month that are the same in 74% of rows, a
policy type fixed by two other columns, and six monthly bills where each follows from the last.
It has 6,500 rows, so the run trains to convergence as it would on a real table of that size
(5,000 training rows or more), with the default time budget: no option but the table and its
target, as a new user would run it.
"""

from __future__ import annotations

import html
import json
import shutil

import pandas as pd
import pytest

from tests.hard_tables import planted_measures, planted_table


@pytest.fixture(scope="module")
def planted_run(cli, tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    table = root / "planted.parquet"
    planted_table(n=6_500, seed=0).to_parquet(table, index=False)
    out = root / "run"
    result = cli("run", "--table", table, "--target", "fraud", "--out", out)
    return result, table, out


def test_default_run_publishes_and_trained_to_convergence(planted_run):
    result, _, out = planted_run
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["verdict"] == "published"
    training = json.loads((out / "metrics.json").read_text())["training"]
    assert training["budget"] == "converge"


def test_default_run_recovers_each_planted_dependency(planted_run):
    _, table, out = planted_run
    real = planted_measures(pd.read_parquet(table))
    syn = planted_measures(pd.read_parquet(out / "synthetic.parquet"))
    # The accident and claim months: same month in about 74% of real rows.
    assert abs(syn["same_month"] - real["same_month"]) <= 0.05, (real, syn)
    # The policy type is its two parts in every row (kept exactly by the detected rule).
    assert syn["policy_parts"] == real["policy_parts"] == 1.0
    # Consecutive monthly bills stay as correlated as in the real rows.
    assert syn["bill_corr_min"] >= real["bill_corr_min"] - 0.05, (real, syn)


def test_a_dependency_broken_on_purpose_is_named(planted_run, cli, tmp_path):
    # Take the run's own synthetic rows, break the month relation (claim months shuffled
    # across rows: each month's share unchanged, the tie gone) and evaluate them: the worst
    # pair, its sentence and the detector's columns must say which columns give it away.
    _, table, out = planted_run
    real = pd.read_parquet(table)
    syn = pd.read_parquet(out / "synthetic.parquet")
    syn["claim_month"] = syn["claim_month"].sample(frac=1.0, random_state=0).to_numpy()
    assert abs(planted_measures(syn)["same_month"] - 1 / 12) < 0.03
    paths = {}
    for name, frame in (("real", real.iloc[:5_000]), ("holdout", real.iloc[5_000:]),
                        ("synthetic", syn)):
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    metrics_path = tmp_path / "metrics.json"
    result = cli("evaluate", "--real", paths["real"], "--holdout", paths["holdout"],
                 "--synthetic", paths["synthetic"], "--target", "fraud", "--out", metrics_path)
    assert result.exit_code in (0, 3), result.output
    diagnosis = json.loads(metrics_path.read_text())["fidelity"]["diagnosis"]
    worst = diagnosis["worst_pairs"][0]
    assert set(worst["columns"]) == {"accident_month", "claim_month"}, worst
    assert "equal in" in worst["explanation"] and "accident_month" in worst["explanation"]
    top = {c["column"] for c in diagnosis["detection_importance"]["columns"][:2]}
    assert top & {"accident_month", "claim_month"}, diagnosis["detection_importance"]
    # The steward's page: the run folder rebuilt with these metrics names the pair and says
    # what is wrong in words.
    broken = tmp_path / "broken-run"
    shutil.copytree(out, broken)
    shutil.copy(metrics_path, broken / "metrics.json")
    assert cli("report", broken).exit_code == 0
    page = (broken / "report.html").read_text()
    section = page[page.index("What gives the data away"):]
    pair = html.escape(" × ".join(worst["columns"]), quote=False)
    assert pair in section[:20_000]
    assert html.escape(worst["explanation"], quote=False) in section
