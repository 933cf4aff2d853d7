"""Benchmark: does rebalanced synthetic data help a fraud model?

Answers docs/rebalancing.md.

For each model and table: train on the real training split, sample a rebalanced synthetic set
(the minority class at ``--share``), and score a gradient-boosting fraud model on the real
holdout when trained on (a) the real training rows, (b) the rebalanced synthetic rows, (c) real
rows plus synthetic minority rows. Also: within-class fidelity of the synthetic minority rows
(column shapes, pair trends and detection AUC of real minority vs synthetic minority, with the
real holdout's minority rows as reference), and minority-class sampling against unconditional
sampling (rows/s, median of ``--repeats`` runs, in the same process).

``--seeds N`` fits every model N times (model seeds 0..N-1, same data split, same classifier
seed) and the table shows medians over the seeds; every seed's numbers are in the JSON.

``--guidance W [W ...]`` samples each fit of a model trained with label dropout (tabddpm,
flow) once per classifier-free guidance scale (1: plain conditional sampling).

``--class-balance A [B ...]`` fits the models trained by synthpipe's loop (tvae, tabddpm, flow)
once per value of their ``class_balance`` parameter (class-weighted batches; ``synthpipe run
--rebalance`` uses ``pipeline.REBALANCE_CLASS_BALANCE``, the default here); ctgan has its own
conditional training and is fitted once.

Models left at their default budget train to convergence on tables of 5,000 training rows or
more (both tables here; ctgan keeps its fixed budget); ``--epochs`` fixes every model's epochs.

Usage (the command behind docs/results/rebalance.json)::

    python bench/bench_rebalance.py --tables claims bank --models tvae ctgan tabddpm flow \
        --seeds 2 --class-balance 0 0.5
    python bench/bench_rebalance.py --report       # the table of docs/results/rebalance.json

Writes ``--out`` (default ``docs/results/rebalance.json``) after every fit (a killed run keeps
what finished), and prints the markdown table of docs/rebalancing.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from synthpipe._env import quiet_defaults  # noqa: E402

quiet_defaults()  # every library's telemetry off, before any of them loads

import pandas as pd  # noqa: E402

from synthpipe.config import SAMPLE_TABLE, load_config  # noqa: E402
from synthpipe.evaluation.downstream import downstream_report  # noqa: E402
from synthpipe.io import write_json  # noqa: E402
from synthpipe.pipeline import (  # noqa: E402
    REBALANCE_CLASS_BALANCE,
    ingest,
    model_columns,
    protect,
    split,
    within_class_fidelity,
)
from synthpipe.rebalance import augment_counts, plan_counts, sample_counts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TABLES = {
    "claims": (SAMPLE_TABLE, "is_fraud"),
    "bank": (SHARED / "bank-full.csv", "y"),
    "insurance": (SHARED / "insurance_claims.csv", "fraud_reported"),
}
#: Generated tables (tests/hard_tables.py), written on first use by bench_defaults.table_of:
#: ``months`` stands in for the unseen auto-insurance fraud table of issue #21 (7,500 claims,
#: 33 columns, 6% fraud).
GENERATED = ("months", "policy")


def table_of(name: str) -> tuple[Path, str]:
    """The file and target of a benchmark table."""
    if name in TABLES:
        return TABLES[name]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_defaults import table_of as generated_table

    return generated_table(name)


def rows_per_second(fn, n: int, repeats: int) -> float:
    """Median rows/s of ``fn(n)`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def bench_table(name: str, models: list[str], share: float, repeats: int, epochs: int | None,
                seeds: int, done: list[dict], save,
                class_balances: tuple[float, ...] = (REBALANCE_CLASS_BALANCE,),
                guidance: tuple[float, ...] = (1.0,)) -> None:
    """Fit every model ``seeds`` times (per ``class_balance`` value where the model has that
    parameter) on one table; append one result per fit to ``done`` and call ``save()`` after
    each."""
    path, target = table_of(name)
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
    from synthpipe.models import get_model

    runs = []
    for model_name in models:
        has_cb = "class_balance" in get_model(model_name).param_names()
        for cb in (class_balances if has_cb else (None,)):
            runs += [(model_name, cb, seed) for seed in range(seeds)]
    for model_name, cb, seed in runs:
        params = {} if cb is None else {"class_balance": cb}
        model = get_model(model_name)(seed=seed, epochs=epochs, **params)
        t0 = time.perf_counter()
        model.fit(train[cols], meta, target=target)
        fit_s = time.perf_counter() - t0
        n = len(train)
        n_speed = min(20_000, 5 * n)
        uncond = rows_per_second(lambda k, m=model: m.sample(k, seed=3), n_speed, repeats)
        cond = rows_per_second(
            lambda k, m=model: m.sample(k, conditions={target: minority}, seed=3),
            n_speed,
            repeats,
        )
        guided = float(getattr(model, "p_uncond", 0) or 0) > 0
        for scale in (guidance if guided else (None,)):
            if scale is not None:
                model.guidance_scale = scale
            counts = plan_counts(str(share), class_counts, n, n)
            synthetic = sample_counts(model, target, counts, seed=1000 + seed)
            extra = augment_counts(str(share), class_counts)
            extra = {c: k for c, k in extra.items() if k > 0}
            augmented = pd.concat(
                [train[cols], sample_counts(model, target, extra, seed=2000 + seed)],
                ignore_index=True,
            )
            report = downstream_report(
                train[cols], holdout[cols], synthetic, target, minority, meta,
                augmented=augmented,
            )
            within = within_class_fidelity(train[cols], holdout[cols], synthetic, meta, target,
                                           seed=0).get(str(minority), {})
            done.append(
                {
                    "table": name,
                    "model": model_name,
                    "seed": seed,
                    "class_balance": cb,
                    "guidance_scale": scale,
                    "train_rows": n,
                    "minority": str(minority),
                    "fit_seconds": round(fit_s, 1),
                    "downstream": report,
                    "within_class_minority": within,
                    "rows_per_s_unconditional": round(uncond),
                    "rows_per_s_minority": round(cond),
                    "minority_vs_unconditional": round(cond / uncond, 3),
                }
            )
            save()
            print(name, model_name, f"class_balance={cb}", f"guidance={scale}", seed,
                  json.dumps(report["verdict"]), flush=True)


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def markdown(results: list[dict]) -> str:
    """One row per (table, model): medians over the seeds."""
    lines = [
        "| table | model | seeds | fit s | PR-AUC a / b / c | recall@1%FPR a / b / c | "
        "minority shapes / pairs / detection (holdout) | minority rows/s | "
        "unconditional rows/s | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        cb, g = r.get("class_balance"), r.get("guidance_scale")
        label = r["model"] if cb is None else f"{r['model']} (a={cb:g})"
        if g is not None and g != 1.0:
            label += f" w={g:g}"
        groups.setdefault((r["table"], label), []).append(r)
    for (table, model), runs in groups.items():

        def med(*keys, runs=runs):
            vals = []
            for r in runs:
                v = r
                for k in keys:
                    v = v.get(k) if isinstance(v, dict) else None
                vals.append(v)
            return _median(vals)

        def abc(key, med=med):
            return " / ".join(_fmt(med("downstream", "results", s, key))
                              for s in ("real", "synthetic", "augmented"))

        def within(key, med=med):
            return (f"{_fmt(med('within_class_minority', key, 'synthetic'))} "
                    f"({_fmt(med('within_class_minority', key, 'holdout'))})")

        lines.append(
            f"| {table} | {model} | {len(runs)} | {_fmt(med('fit_seconds'), '.1f')} | "
            f"{abc('pr_auc')} | {abc('recall_at_1pct_fpr')} | "
            f"{within('column_shapes')} / {within('pair_trends')} / {within('detection')} | "
            f"{_fmt(med('rows_per_s_minority'), ',.0f')} | "
            f"{_fmt(med('rows_per_s_unconditional'), ',.0f')} | "
            f"{_fmt(med('minority_vs_unconditional'), '.2f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=["claims", "bank"],
                        choices=[*TABLES, *GENERATED])
    parser.add_argument("--models", nargs="+", default=["tvae", "ctgan", "tabddpm", "flow"])
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="None: each model's default")
    parser.add_argument("--seeds", type=int, default=1, help="model seeds per (table, model)")
    parser.add_argument("--class-balance", type=float, nargs="+",
                        default=[REBALANCE_CLASS_BALANCE],
                        help="class_balance values for tvae/tabddpm/flow (one fit set each)")
    parser.add_argument("--guidance", type=float, nargs="+", default=[1.0],
                        help="classifier-free guidance scales sampled from each tabddpm/flow "
                        "fit (1: plain conditional)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "rebalance.json",
                        help="results JSON (default docs/results/rebalance.json)")
    parser.add_argument("--report", action="store_true",
                        help="print the markdown table from --out instead of running")
    args = parser.parse_args()
    if args.report:
        print(markdown(json.loads(args.out.read_text())))
        return
    results: list[dict] = []

    def save() -> None:
        write_json(results, args.out)

    for table in args.tables:
        bench_table(table, args.models, args.share, args.repeats, args.epochs, args.seeds,
                    results, save, tuple(args.class_balance), tuple(args.guidance))
    print(markdown(results))


if __name__ == "__main__":
    main()
