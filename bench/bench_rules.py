"""Benchmark: business rules kept by construction, and what keeping them costs.

For each table and model, two models are trained on the same split, with the run's rule
handling (found rules kept by construction) and without it (``--no-detect-rules``). Both are
sampled plainly and, for a labelled table, with the rarest class only (what rebalancing asks
for). For each sample it records the share of rows that break each rule found in the real
training rows, and fidelity (column shapes, pair trends, detection AUC) against the holdout.
It also times rule detection on a generated 50,000 x 40 table (median of 3).

The pipeline's own steps prepare the data (ingest, PII protection, split, model columns), so
the columns are those a ``synthpipe run`` models.

Usage::

    python bench/bench_rules.py --tables insurance churn loans sample \
        --models tvae ctgan tabddpm flow
    python bench/bench_rules.py --report

Writes ``docs/results/rules.json`` after every table (a killed run keeps what finished).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
TABLES: dict[str, tuple[Path, str]] = {
    "sample": (REPO / "sample_data" / "claims.parquet", "is_fraud"),
    "insurance": (DATA / "insurance_claims.csv", "fraud_reported"),
    "churn": (DATA / "churn.csv", "churn"),
    "loans": (DATA / "loans.csv", "loan_status"),
}
OUT = REPO / "docs" / "results" / "rules.json"


def prepare(name: str, seed: int) -> dict[str, Any]:
    """Train and holdout rows of the modelled columns, as ``synthpipe run`` prepares them."""
    from synthpipe.config import load_config
    from synthpipe.pipeline.plan import make_plan
    from synthpipe.pipeline.steps.input import ingest
    from synthpipe.pipeline.steps.protect import protect, split

    table, target = TABLES[name]
    cfg = load_config(None, table=table, target=target, seed=seed)
    ing = ingest(cfg)
    prot = protect(ing.df, ing.metadata, cfg)
    train, holdout = split(prot.df, cfg)
    plan = make_plan(cfg, ing.metadata, prot.actions, train)
    cols = list(plan.columns)
    return {"train": train[cols].reset_index(drop=True),
            "holdout": holdout[cols].reset_index(drop=True),
            "meta": ing.metadata.subset(cols), "target": target}


def measure(data: dict[str, Any], model_name: str, keep_rules: bool, seed: int,
            budget: float) -> dict[str, Any]:
    from synthpipe.evaluation.fidelity import fidelity_report
    from synthpipe.models import create_model
    from synthpipe.rules import TableRules, check_rules

    train, holdout, meta, target = data["train"], data["holdout"], data["meta"], data["target"]
    model = create_model(model_name, seed=seed)
    started = time.perf_counter()
    model.fit(train, meta, target=target, time_budget=budget,
              rules=TableRules(detect=keep_rules))
    fit_s = time.perf_counter() - started
    plain = model.sample(len(train))
    rare = train[target].value_counts().index[-1]
    minority = model.sample(min(len(train), 2_000), conditions={target: rare})
    rules = data["rules"]

    def broken(df: pd.DataFrame) -> dict[str, float]:
        return {c["rule"]: round(c["violation_share"], 5) for c in check_rules(rules, df)}

    fid = fidelity_report(train, holdout, plain, meta, seed=seed, max_rows=10_000)
    return {
        "fit_seconds": round(fit_s, 1),
        "broken_share": broken(plain),
        "broken_share_minority": broken(minority),
        "column_shapes": fid["column_shapes"]["synthetic"],
        "pair_trends": fid["pair_trends"]["synthetic"],
        "detection_auc": fid["detection"]["synthetic"],
    }


def detection_speed() -> dict[str, Any]:
    """Median wall time of rule detection on a 50,000 x 40 table with planted rules."""
    from synthpipe.metadata import detect_metadata
    from synthpipe.rules import detect_rules

    rng = np.random.default_rng(0)
    n = 50_000
    cols = {f"n{i}": rng.gamma(2.0, 50.0, n).round(2) for i in range(16)}
    cols.update({f"c{i}": rng.choice([f"v{j}" for j in range(12)], n) for i in range(16)})
    df = pd.DataFrame(cols)
    df["total"] = df["n0"] + df["n1"] + df["n2"]
    df["charge"] = (df["n3"] * 0.17).round(2)
    df["group"] = df["c0"].str[:2] + "-" + df["c0"].str[-1]
    df["region"] = df["c1"].map({f"v{j}": f"r{j % 3}" for j in range(12)})
    for i in range(4):
        df[f"upper{i}"] = df[f"n{4 + i}"] + rng.gamma(1.0, 5.0, n).round(2)
    meta = detect_metadata(df)
    times, rules = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        rules = detect_rules(df, meta)
        times.append(time.perf_counter() - t0)
    return {"rows": n, "columns": df.shape[1], "seconds_median": round(statistics.median(times), 2),
            "seconds": [round(t, 2) for t in times], "rules": [r.text() for r in rules]}


def print_report(results: dict[str, Any]) -> None:
    """The rules page's table: rows breaking a rule, and fidelity, with and without rules."""
    speed = results["detection_speed"]
    print(f"detection on {speed['rows']:,} x {speed['columns']}: "
          f"{speed['seconds_median']} s (median of {len(speed['seconds'])})\n")
    print("| table | model | rows breaking a rule: with / without rules (worst rule; "
          "minority-only sample) | detection AUC with / without | pair trends with / without "
          "| column shapes with / without |")
    print("|---|---|---|---|---|---|")
    for table, entry in results["tables"].items():
        for model, m in entry["models"].items():
            w, wo = m["with_rules"], m["without_rules"]

            def worst(v: dict[str, Any], key: str) -> str:
                return f"{100 * max(v[key].values(), default=0):.1f}%"

            print(f"| {table} | {model} | {worst(w, 'broken_share')} / "
                  f"{worst(wo, 'broken_share')} ({worst(w, 'broken_share_minority')} / "
                  f"{worst(wo, 'broken_share_minority')}) | {w['detection_auc']:.3f} / "
                  f"{wo['detection_auc']:.3f} | {w['pair_trends']:.3f} / "
                  f"{wo['pair_trends']:.3f} | {w['column_shapes']:.3f} / "
                  f"{wo['column_shapes']:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", default=list(TABLES))
    p.add_argument("--models", nargs="+", default=["tvae", "ctgan", "tabddpm", "flow"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-budget", type=float, default=60.0, help="seconds per model")
    p.add_argument("--report", action="store_true", help="print the saved results")
    p.add_argument("--keep", action="store_true",
                   help="keep the tables already in the result file (add or replace these)")
    args = p.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if args.report:
        print_report(json.loads(OUT.read_text()))
        return
    from synthpipe.rules import detect_rules

    results: dict[str, Any] = {
        "command": "python bench/bench_rules.py " + " ".join(sys.argv[1:]),
        "seed": args.seed, "time_budget_seconds": args.time_budget,
        "detection_speed": detection_speed(), "tables": {},
    }
    if args.keep and OUT.is_file():
        # Add to the tables measured before (their commands are kept beside this one).
        before = json.loads(OUT.read_text())
        results["tables"] = before.get("tables", {})
        results["earlier_commands"] = [*before.get("earlier_commands", []), before["command"]]
    print("detection:", results["detection_speed"]["seconds_median"], "s", flush=True)
    for name in args.tables:
        data = prepare(name, args.seed)
        features = data["train"].drop(columns=[data["target"]])
        t0 = time.perf_counter()
        data["rules"] = detect_rules(features, data["meta"].subset(list(features.columns)))
        entry: dict[str, Any] = {
            "rows": len(data["train"]), "columns": data["train"].shape[1],
            "detect_seconds": round(time.perf_counter() - t0, 2),
            "rules": [{"rule": r.text(), "support": r.support} for r in data["rules"]],
            "models": dict(results["tables"].get(name, {}).get("models", {})),
        }
        for model_name in args.models:
            entry["models"][model_name] = {
                variant: measure(data, model_name, variant == "with_rules", args.seed,
                                 args.time_budget)
                for variant in ("with_rules", "without_rules")
            }
            m = entry["models"][model_name]
            print(name, model_name,
                  {v: (max(m[v]["broken_share"].values(), default=0), m[v]["detection_auc"],
                       m[v]["pair_trends"]) for v in m}, flush=True)
            results["tables"][name] = entry
            OUT.parent.mkdir(parents=True, exist_ok=True)
            OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
