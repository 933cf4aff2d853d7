"""Benchmark: when does Dask pay? ``--model auto`` on two local Dask workers versus local.

Each run is ``synthpipe run --model auto`` as a user types it, in its own process, once with
``--runner local`` and once with ``--runner dask`` (a local cluster of ``dask_workers: 2``
processes, each worker's torch at one thread). The two runs of a pair go one after the other,
their order alternating from pair to pair, and the ratio dask/local is taken pair by pair, so a
drift in the machine's speed moves both. The work is held fixed (``--epochs``), not the time:
under a time budget Dask would "win" by training each candidate less.

What Dask changes on one machine: the four candidates train two at a time (one thread each)
instead of one after another (all cores each), and the cluster's start-up and the shipping of
the tables to the workers are added. The break-even is the local run's length at which the
two lines cross.

Usage::

    python bench/bench_dask.py --tables churn adult --epochs 2 10 40 --runs 3
    python bench/bench_dask.py --keep --tables churn --epochs 20 --model tabddpm

Writes ``docs/results/dask.json`` after every pair (a killed bench keeps what finished).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "docs" / "results" / "dask.json"
TABLES = {
    "insurance_claims": ("insurance_claims.csv", "fraud_reported"),
    "churn": ("churn.csv", "churn"),
    "adult": ("adult.csv", "income"),
    "bank": ("bank-full.csv", "y"),
}


def run(table: str, runner: str, epochs: int, seed: int, model: str = "auto") -> dict[str, Any]:
    """One ``synthpipe run --model MODEL``: wall seconds, exit code, step times, the choice."""
    file, target = TABLES[table]
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "synthpipe.cli", "run", "--table", str(DATA / file),
               "--target", target, "--model", model, "--epochs", str(epochs), "--seed",
               str(seed), "--no-cache", "--runner", runner, "--out", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        manifest = _read(out / "manifest.json")
        metrics = _read(out / "metrics.json")
    placement = (manifest.get("placement") or {}).get("steps", {})
    chosen = (metrics.get("candidates") or {}).get("chosen")
    detection = ((metrics.get("fidelity") or {}).get("detection") or {}).get("synthetic")
    return {
        "runner": runner, "wall_s": round(wall, 1), "exit": proc.returncode,
        "steps_s": manifest.get("timings_seconds", {}), "placement": placement,
        "chosen": chosen, "detection_auc": detection,
        "error": proc.stderr.strip().splitlines()[-1] if proc.returncode not in (0, 3)
        and proc.stderr.strip() else None,
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def summarise(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of each runner's wall time and of the paired ratio dask / local."""
    ok = [p for p in pairs if p["local"]["exit"] in (0, 3) and p["dask"]["exit"] in (0, 3)]
    if not ok:
        return {"pairs": 0}
    return {
        "pairs": len(ok),
        "local_s": statistics.median(p["local"]["wall_s"] for p in ok),
        "dask_s": statistics.median(p["dask"]["wall_s"] for p in ok),
        "ratio_dask_over_local": round(statistics.median(
            p["dask"]["wall_s"] / p["local"]["wall_s"] for p in ok), 3),
        "local_train_s": statistics.median(p["local"]["steps_s"].get("train", 0) for p in ok),
        "dask_train_s": statistics.median(p["dask"]["steps_s"].get("train", 0) for p in ok),
    }


def report(doc: dict[str, Any]) -> str:
    """The markdown table of docs/dask.md: one row per cell, medians over its pairs."""
    lines = ["| table | model | epochs | pairs | local (train step) | dask, 2 workers (train step) "
             "| dask / local |", "|---|---|---|---|---|---|---|"]
    for cell in doc.get("cells", {}).values():
        sm = cell.get("summary") or {}
        if not sm.get("pairs"):
            continue
        lines.append(
            f"| {cell['table']} | {cell.get('model', 'auto')} | {cell['epochs']} | "
            f"{sm['pairs']} | {sm['local_s']:.0f} s ({sm['local_train_s']:.0f} s) | "
            f"{sm['dask_s']:.0f} s ({sm['dask_train_s']:.0f} s) | "
            f"{sm['ratio_dask_over_local']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=["churn", "adult"], choices=sorted(TABLES))
    ap.add_argument("--epochs", nargs="+", type=int, default=[2, 10, 40])
    ap.add_argument("--runs", type=int, default=3, help="pairs per cell")
    ap.add_argument("--model", default="auto",
                    help="auto (the candidates fan out) or one model (nothing to fan out)")
    ap.add_argument("--keep", action="store_true", help="add to the existing result file")
    ap.add_argument("--report", action="store_true", help="print the table of the result file")
    args = ap.parse_args()
    if args.report:
        print(report(_read(OUT)))
        return
    doc = _read(OUT) if args.keep else {}
    doc.setdefault("cells", {})
    doc["machine"] = {"cores": __import__("os").cpu_count(), "python": sys.version.split()[0]}
    for table in args.tables:
        for epochs in args.epochs:
            key = f"{table}@{epochs}" + ("" if args.model == "auto" else f"/{args.model}")
            cell = {"table": table, "epochs": epochs, "model": args.model, "pairs_raw": []}
            doc["cells"][key] = cell
            for i in range(args.runs):
                order = ("local", "dask") if i % 2 == 0 else ("dask", "local")
                pair = {r: run(table, r, epochs, seed=i, model=args.model) for r in order}
                cell["pairs_raw"].append(pair)
                cell["summary"] = summarise(cell["pairs_raw"])
                print(key, i, {r: (pair[r]["wall_s"], pair[r]["exit"]) for r in order},
                      flush=True)
                OUT.parent.mkdir(parents=True, exist_ok=True)
                OUT.write_text(json.dumps(doc, indent=2) + "\n")
    for key, cell in doc["cells"].items():
        print(key, cell.get("summary"))


if __name__ == "__main__":
    main()
