"""Benchmark: whole runs on large tables, wall time and peak memory.

Each run is ``synthpipe run`` as a user types it, in its own process under ``/usr/bin/time
-v`` (peak resident memory of the whole command), with a training time budget: the real
flights table (336,776 rows x 19), and a generated table of 40 columns (numbers, categories,
dates, a label) at several sizes, which shows how time and memory grow with the rows. Step
timings and the run's peak memory after each step come from each run's manifest.

Usage::

    python bench/bench_load.py --sizes 100000 300000 1000000 --flights --time-budget 1m

Writes ``docs/results/load.json`` after every run (a killed run keeps what finished).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
FLIGHTS = REPO.parent / "shared" / "data" / "flights.csv.gz"
OUT = REPO / "docs" / "results" / "load.json"


def wide_table(n: int, seed: int = 0) -> pd.DataFrame:
    """40 columns: 20 numbers (some tied to others), 14 categories, 4 dates, 1 id, a label."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {"customer_id": np.arange(n) + 10_000_000}
    base = rng.gamma(2.0, 500.0, n)
    for i in range(20):
        cols[f"amount_{i}"] = np.round(base * rng.uniform(0.2, 2.0) + rng.normal(0, 50, n), 2)
    for i in range(14):
        k = [3, 5, 8, 12, 30][i % 5]
        cols[f"cat_{i}"] = rng.choice([f"c{i}_{j}" for j in range(k)], n)
    start = np.datetime64("2020-01-01")
    days = rng.integers(0, 1500, n)
    cols["opened"] = start + days.astype("timedelta64[D]")
    cols["incident"] = cols["opened"] + rng.integers(0, 400, n).astype("timedelta64[D]")
    cols["reported"] = cols["incident"] + rng.integers(0, 60, n).astype("timedelta64[D]")
    cols["closed"] = cols["reported"] + rng.integers(0, 120, n).astype("timedelta64[D]")
    logit = -3.0 + 0.0005 * base + 0.8 * (cols["cat_0"] == "c0_1")
    cols["fraud"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Y", "N")
    return pd.DataFrame(cols)


def run(table: Path, target: str | None, out: Path, budget: str) -> dict[str, Any]:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "synthpipe.cli", "run",
           "--table", str(table), "--time-budget", budget, "--no-cache", "--out", str(out)]
    if target:
        cmd += ["--target", target]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                                                     "DO_NOT_TRACK": "1"})
    wall = time.perf_counter() - t0
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    manifest = json.loads((out / "manifest.json").read_text()) if (
        out / "manifest.json").is_file() else {}
    return {"exit_code": proc.returncode, "wall_seconds": round(wall, 1),
            "peak_rss_gb": round(int(peak.group(1)) / 2**20, 2) if peak else None,
            "steps_seconds": manifest.get("timings_seconds"),
            # the run's own high-water mark after each step: where it rises, that step set it
            "peak_rss_mb_after_step": manifest.get("peak_rss_mb_after_step"),
            "error": None if proc.returncode in (0, 3) else proc.stderr[-2000:]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="*", type=int, default=[100_000, 300_000, 1_000_000])
    p.add_argument("--flights", action="store_true", help="also the flights table")
    p.add_argument("--time-budget", default="1m")
    p.add_argument("--out", type=Path, default=OUT, help="result file [docs/results/load.json]")
    args = p.parse_args()
    results: dict[str, Any] = {"command": "python bench/bench_load.py " + " ".join(sys.argv[1:]),
                               "runs": {}}
    if args.out.is_file():
        results["runs"] = json.loads(args.out.read_text()).get("runs", {})
    with tempfile.TemporaryDirectory() as tmp:
        jobs: list[tuple[str, Path, str | None]] = []
        if args.flights:
            jobs.append(("flights", FLIGHTS, None))
        for n in args.sizes:
            path = Path(tmp) / f"wide_{n}.parquet"
            wide_table(n).to_parquet(path)
            jobs.append((f"wide_{n}", path, "fraud"))
        for name, table, target in jobs:
            results["runs"][name] = run(table, target, Path(tmp) / f"run-{name}",
                                        args.time_budget)
            print(name, json.dumps(results["runs"][name])[:600], flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
