"""Benchmark: does rebalanced synthetic data help a fraud model? (issue: rebalancing)

For each model and table: train on the real training split, sample a rebalanced synthetic set
(the minority class at ``--share``), and score a gradient-boosting fraud model on the real
holdout when trained on (a) the real training rows, (b) the rebalanced synthetic rows, (c) real
rows plus synthetic minority rows. Also times minority-class sampling against unconditional
sampling (rows/s, median of ``--repeats`` runs, in the same process).

Usage::

    python bench/bench_rebalance.py --tables claims bank --models tvae ctgan tabddpm flow \
        --out docs/bench_rebalance.json

Writes a JSON file with every number, and prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")

import pandas as pd  # noqa: E402

from synthpipe.config import SAMPLE_TABLE, load_config  # noqa: E402
from synthpipe.evaluation.downstream import downstream_report  # noqa: E402
from synthpipe.pipeline import ingest, model_columns, protect, split  # noqa: E402
from synthpipe.rebalance import augment_counts, plan_counts, sample_counts  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TABLES = {
    "claims": (SAMPLE_TABLE, "is_fraud"),
    "bank": (SHARED / "bank-full.csv", "y"),
    "insurance": (SHARED / "insurance_claims.csv", "fraud_reported"),
}


def rows_per_second(fn, n: int, repeats: int) -> float:
    """Median rows/s of ``fn(n)`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def bench_table(name: str, models: list[str], share: float, repeats: int, epochs: int | None):
    path, target = TABLES[name]
    cfg = load_config(None, table=path, target=target, epochs=epochs)
    ing = ingest(cfg)
    prot = protect(ing.df, ing.metadata, cfg)
    train, holdout = split(prot.df, cfg)
    cols = model_columns(ing.metadata, prot.actions)
    if target not in cols:
        cols.append(target)
    meta = ing.metadata.subset(cols)
    class_counts = train[target].value_counts().to_dict()
    minority = min(class_counts, key=class_counts.get)
    results = []
    for model_name in models:
        from synthpipe.models import get_model

        model = get_model(model_name)(seed=0, epochs=epochs)
        t0 = time.perf_counter()
        model.fit(train[cols], meta, target=target)
        fit_s = time.perf_counter() - t0
        n = len(train)
        counts = plan_counts(str(share), class_counts, n, n)
        synthetic = sample_counts(model, target, counts, seed=1)
        extra = augment_counts(str(share), class_counts)
        extra = {c: k for c, k in extra.items() if k > 0}
        augmented = pd.concat(
            [train[cols], sample_counts(model, target, extra, seed=2)], ignore_index=True
        )
        report = downstream_report(
            train[cols], holdout[cols], synthetic, target, minority, meta, augmented=augmented
        )
        n_speed = min(20_000, 5 * n)
        uncond = rows_per_second(lambda k, m=model: m.sample(k, seed=3), n_speed, repeats)
        cond = rows_per_second(
            lambda k, m=model: m.sample(k, conditions={target: minority}, seed=3),
            n_speed,
            repeats,
        )
        results.append(
            {
                "table": name,
                "model": model_name,
                "train_rows": n,
                "fit_seconds": round(fit_s, 1),
                "downstream": report,
                "rows_per_s_unconditional": round(uncond),
                "rows_per_s_minority": round(cond),
                "minority_vs_unconditional": round(cond / uncond, 3),
            }
        )
        print(json.dumps(results[-1]["downstream"]["verdict"]), flush=True)
    return results


def markdown(results: list[dict]) -> str:
    lines = [
        "| table | model | fit s | PR-AUC a / b / c | recall@1%FPR a / b / c | "
        "minority rows/s | unconditional rows/s | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d = r["downstream"]["results"]

        def get(key, d=d):
            return " / ".join(
                f"{d[s][key]:.3f}" if key in d.get(s, {}) else "-"
                for s in ("real", "synthetic", "augmented")
            )

        lines.append(
            f"| {r['table']} | {r['model']} | {r['fit_seconds']} | {get('pr_auc')} | "
            f"{get('recall_at_1pct_fpr')} | {r['rows_per_s_minority']} | "
            f"{r['rows_per_s_unconditional']} | {r['minority_vs_unconditional']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=["claims", "bank"], choices=list(TABLES))
    parser.add_argument("--models", nargs="+", default=["tvae", "ctgan", "tabddpm", "flow"])
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="None: each model's default")
    parser.add_argument("--out", type=Path, default=Path("bench_rebalance.json"))
    args = parser.parse_args()
    results = []
    for table in args.tables:
        results += bench_table(table, args.models, args.share, args.repeats, args.epochs)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
