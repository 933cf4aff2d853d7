"""Time the privacy report (chunked nearest neighbours, attacks) at a chosen size.

Answers "how long do the privacy attacks take" in docs/privacy-attacks.md.

Usage::

    python bench/bench_privacy.py --rows 20000            # train = holdout = synthetic = 20k
    python bench/bench_privacy.py --rows 100000 --columns 25

The table is generated (numerical, categorical, datetime and boolean columns with some missing
values), so any size can be measured without data files. Prints one JSON object: sizes, the
encoded width, wall seconds per part, CPU seconds, the load average (wall time on a shared
machine depends on the neighbours), the peak resident memory and an estimate for 100,000 rows
(the nearest-neighbour and kernel-density parts grow with the square of the rows, the rest
linearly). The object is also written to ``--out`` (default ``docs/results/privacy.json``).

The three tables are independent draws of one distribution, so the attack scores it reports
(DCR share about 0.5, MIA AUC about 0.5) are the no-leak baseline, not a model's privacy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthpipe._env import quiet_defaults  # noqa: E402

quiet_defaults()  # every library's telemetry off, before any of them loads

from synthpipe.evaluation.privacy import privacy_report  # noqa: E402
from synthpipe.io import write_json  # noqa: E402
from synthpipe.metadata import detect_metadata  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "results" / "privacy.json"


def make_table(rows: int, columns: int, seed: int) -> pd.DataFrame:
    """A mixed-type table: 40% numbers, 40% labels, one date, the rest flags."""
    rng = np.random.default_rng(seed)
    n_num = max(1, int(columns * 0.4))
    n_cat = max(1, int(columns * 0.4))
    n_bool = max(0, columns - n_num - n_cat - 1)
    base = rng.normal(size=rows)
    data: dict[str, object] = {}
    for i in range(n_num):
        v = base * rng.uniform(0.2, 1.0) + rng.normal(size=rows)
        v[rng.random(rows) < 0.02] = np.nan
        data[f"num_{i}"] = np.round(v * 100, 2)
    for i in range(n_cat):
        k = int(rng.integers(3, 40))
        codes = np.clip((base * 3 + rng.normal(size=rows) * 3 + k / 2).astype(int), 0, k - 1)
        data[f"cat_{i}"] = np.array([f"c{j}" for j in range(k)], dtype=object)[codes]
    data["date"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        rng.integers(0, 3000, rows), unit="D"
    )
    for i in range(n_bool):
        data[f"is_flag_{i}"] = rng.random(rows) < 0.3
    return pd.DataFrame(data)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of each table")
    parser.add_argument("--columns", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--block-rows", type=int, default=None)
    parser.add_argument("--out", type=Path, default=OUT,
                        help="results JSON (default docs/results/privacy.json)")
    args = parser.parse_args(argv)

    table = make_table(3 * args.rows, args.columns, args.seed)
    metadata = detect_metadata(table)
    train = table.iloc[: args.rows]
    holdout = table.iloc[args.rows : 2 * args.rows]
    synthetic = table.iloc[2 * args.rows :]
    start, cpu_start = time.perf_counter(), time.process_time()
    report = privacy_report(
        train, holdout, synthetic, metadata,
        seed=args.seed, max_rows=args.rows, block_rows=args.block_rows,
    )
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    seconds = report["seconds"]
    quadratic = seconds["dcr"] + seconds["membership_inference"]
    scale = (100_000 / args.rows) ** 2
    result = {
        "command": " ".join(["bench/bench_privacy.py", *(argv if argv is not None
                                                        else sys.argv[1:])]),
        "rows": args.rows,
        "columns": args.columns,
        "encoding_width": report["encoding_width"],
        "threads": os.cpu_count(),
        "seconds": {**seconds, "total": total},
        # CPU seconds of all threads: on a shared machine wall time depends on the neighbours.
        "cpu_seconds": cpu,
        "load_average_1min": os.getloadavg()[0],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # Wall-time estimate at this run's load, and a CPU-time estimate (the quadratic share of
        # CPU taken from the wall-time split) that does not depend on the neighbours.
        "estimate_100k_seconds": quadratic * scale + (total - quadratic) * 100_000 / args.rows,
        "estimate_100k_cpu_seconds": cpu * (quadratic / total * scale
                                            + (1 - quadratic / total) * 100_000 / args.rows),
        "dcr_share": report["dcr"].get("dcr_share"),
        "mia_auc": report["membership_inference"].get("synthetic"),
    }
    write_json(result, args.out)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
