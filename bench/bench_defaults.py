"""Benchmark: what a user gets from ``synthpipe run`` at the defaults, on every real table.

Each (table, seed) is one whole ``synthpipe run --table T --target Y --seed S`` in its own process,
exactly as a user types it (``--extra`` adds options to every run, e.g. ``--rebalance 0.5``).
From each run folder it reads what the run wrote: fidelity (column shapes, pair trends, detection
AUC, each with the holdout's reference), the privacy gates (MIA AUC, DCR share), the downstream
fraud-model check (PR-AUC and recall at 1% FPR of a model trained on real, synthetic and
augmented rows, scored on the real holdout), where and why training stopped, and the wall time.

Tables: the bundled claims sample, the tables of ../shared/data with a label, and three
generated tables with the sharp dependencies of tests/hard_tables.py (``months``: accident and
claim month tied, 33 columns, 6% fraud; ``policy``: a category fixed by two others;
``balances``: monthly balances that follow one another), written once to a temporary folder.
The table printed at the end gives medians over the seeds.

Usage::

    python bench/bench_defaults.py --tables sample insurance adult bank churn loans --seeds 3
    python bench/bench_defaults.py --report

Writes ``docs/results/defaults.json`` after every run (a killed run keeps what finished).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
#: name -> (table, target)
TABLES: dict[str, tuple[Path, str]] = {
    "sample": (REPO / "sample_data" / "claims.parquet", "is_fraud"),
    "insurance": (DATA / "insurance_claims.csv", "fraud_reported"),
    "adult": (DATA / "adult.csv", "income"),
    "bank": (DATA / "bank-full.csv", "y"),
    "churn": (DATA / "churn.csv", "churn"),
    "loans": (DATA / "loans.csv", "loan_status"),
}
#: Generated tables: name -> (generator name in tests/hard_tables.py, target)
GENERATED: dict[str, tuple[str, str]] = {
    "months": ("claims_months", "fraud"),
    "policy": ("policy_parts", "fraud"),
    "balances": ("monthly_balances", "default"),
    "planted": ("planted_table", "fraud"),
}
OUT = REPO / "docs" / "results" / "defaults.json"


def table_of(name: str) -> tuple[Path, str]:
    """The file and target of a benchmark table (generated tables are written on first use)."""
    if name in TABLES:
        return TABLES[name]
    make, target = GENERATED[name]
    path = Path(tempfile.gettempdir()) / "synthpipe-bench-tables" / f"{name}.parquet"
    if not path.exists():
        sys.path.insert(0, str(REPO))
        from tests import hard_tables

        path.parent.mkdir(parents=True, exist_ok=True)
        getattr(hard_tables, make)().to_parquet(path, index=False)
    return path, target


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def summarise(run: Path, seconds: float, code: int) -> dict[str, Any]:
    """The numbers of one run folder (published or quarantined)."""
    metrics = json.loads((run / "metrics.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    checks = {c["name"]: c for c in _get(metrics, "gates", "checks") or []}
    down = _get(metrics, "downstream", "results") or {}
    return {
        "exit_code": code,
        "seconds": round(seconds, 1),
        "verdict": manifest.get("verdict"),
        "failed_gates": _get(metrics, "gates", "failed"),
        "column_shapes": _get(metrics, "fidelity", "column_shapes", "synthetic"),
        "pair_trends": _get(metrics, "fidelity", "pair_trends", "synthetic"),
        "detection": _get(metrics, "fidelity", "detection", "synthetic"),
        "detection_holdout": _get(metrics, "fidelity", "detection", "holdout"),
        "mia_auc": _get(checks, "mia_auc", "value"),
        "dcr_share": _get(checks, "dcr_share", "value"),
        "pr_auc": {k: _get(v, "pr_auc") for k, v in down.items()},
        "recall_at_1pct_fpr": {k: _get(v, "recall_at_1pct_fpr") for k, v in down.items()},
        "training": _get(metrics, "training") or _get(manifest, "model", "training"),
        "epochs": _get(manifest, "model", "params", "epochs"),
        "timings": manifest.get("timings_seconds"),
    }


def planted(name: str, run: Path) -> dict[str, Any] | None:
    """The planted dependencies (tests/hard_tables.planted_measures) of a generated table:
    measured on the real table and on the run's synthetic rows (published or quarantined)."""
    if name not in GENERATED:
        return None
    from tests.hard_tables import planted_measures

    real, _ = table_of(name)
    found = [p for p in (run / "synthetic.parquet", run / "quarantine" / "synthetic.parquet")
             if p.exists()]
    if not found:
        return None
    return {"real": planted_measures(pd.read_parquet(real)),
            "synthetic": planted_measures(pd.read_parquet(found[0]))}


def run_one(name: str, seed: int, extra: list[str], keep: Path | None) -> dict[str, Any]:
    """One whole CLI run in a fresh process; returns its summary."""
    table, target = table_of(name)
    base = Path(tempfile.mkdtemp(prefix=f"bench-defaults-{name}-"))
    out = (keep or base) / f"{name}-s{seed}"
    cmd = [sys.executable, "-m", "synthpipe.cli", "run", "--table", str(table), "--target",
           target, "--seed", str(seed), "--out", str(out), "--no-cache", *extra]
    env = {**os.environ, "PREFECT_HOME": str(base / "prefect")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if not (out / "metrics.json").exists():
        return {"exit_code": proc.returncode, "seconds": round(seconds, 1),
                "error": (proc.stderr or proc.stdout)[-2000:]}
    return {**summarise(out, seconds, proc.returncode), "planted": planted(name, out)}


def _median(values: list[Any]) -> Any:
    nums = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(nums) if nums else None


def _stops(runs: list[dict[str, Any]]) -> str:
    """Where each run's training stopped and why, e.g. ``time budget 187/360``."""
    out = []
    for r in runs:
        t = r.get("training") or {}
        if t:
            out.append(f"{t.get('stop_reason')} {t.get('epochs_run')}/{t.get('max_epochs')}")
    return "; ".join(out) or "-"


def report(results: dict[str, Any]) -> str:
    """A markdown table of medians over the seeds."""
    head = ("| table | runs | shapes | pairs | detection (holdout) | MIA | DCR | "
            "PR-AUC real / synth / aug | recall@1% real / synth | seconds | published | "
            "training stopped (epochs run / cap) |")
    lines = [head, "|" + "---|" * 12]
    for name, runs in results.get("runs", {}).items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            lines.append(f"| {name} | {len(runs)} | error |" + " |" * 8)
            continue

        def med(*keys: str, rows: list[dict] = ok) -> Any:
            return _median([_get(r, *keys) for r in rows])

        def f(x: Any, d: int = 3) -> str:
            return "-" if x is None else f"{x:.{d}f}"

        pr = " / ".join(f(med("pr_auc", k)) for k in ("real", "synthetic", "augmented"))
        rc = " / ".join(f(med("recall_at_1pct_fpr", k), 2) for k in ("real", "synthetic"))
        published = sum(r.get("verdict") == "published" for r in ok)
        lines.append(
            f"| {name} | {len(ok)} | {f(med('column_shapes'))} | {f(med('pair_trends'))} | "
            f"{f(med('detection'))} ({f(med('detection_holdout'))}) | {f(med('mia_auc'))} | "
            f"{f(med('dcr_share'))} | {pr} | {rc} | {f(med('seconds'), 0)} | "
            f"{published}/{len(ok)} | {_stops(ok)} |")
    planted_rows = []
    for name, runs in results.get("runs", {}).items():
        found = [r["planted"] for r in runs if r.get("planted")]
        for key in (found[0]["real"] if found else {}):
            syn = _median([_get(p, "synthetic", key) for p in found])
            planted_rows.append(f"| {name} | {key} | {found[0]['real'][key]:.3f} | "
                                f"{'-' if syn is None else f'{syn:.3f}'} | {len(found)} |")
    if planted_rows:
        lines += ["", "| table | planted dependency | real | synthetic (median) | runs |",
                  "|---|---|---|---|---|", *planted_rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES),
                        choices=[*TABLES, *GENERATED])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--extra", default="", help="options added to every run, one string")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--keep", type=Path, default=None, help="keep run folders here")
    parser.add_argument("--report", action="store_true", help="print the table of --out")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.out.read_text())))
        return
    results: dict[str, Any] = {"command": " ".join(sys.argv), "extra": args.extra, "runs": {}}
    for name in args.tables:
        for seed in range(args.seeds):
            row = run_one(name, seed, args.extra.split(), args.keep)
            results["runs"].setdefault(name, []).append({"seed": seed, **row})
            print(name, seed, {k: row.get(k) for k in ("seconds", "detection", "pair_trends",
                                                       "column_shapes", "verdict")}, flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
