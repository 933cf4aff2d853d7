"""Benchmark: synthpipe's column shapes and pair trends against sdmetrics' QualityReport.

Both score the same real training rows against the same synthetic rows (a TVAE sample), in
one process, alternating, several times: wall time (median) and the two scores side by side.
synthpipe's scores also compute the holdout reference (a second real-vs-real comparison), so
its time covers two comparisons to sdmetrics' one; the table reports both.

Usage::

    python bench/bench_quality_metrics.py --tables insurance adult --repeats 3

Writes ``docs/results/quality_metrics.json``.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "results" / "quality_metrics.json"
TABLES = {"insurance": "insurance", "adult": "adult", "churn": "churn", "loans": "loans"}


def _sdmetrics_metadata(df, meta) -> dict[str, Any]:
    from synthpipe.metadata import ColumnKind

    sdtype = {ColumnKind.NUMERICAL: "numerical", ColumnKind.CATEGORICAL: "categorical",
              ColumnKind.BOOLEAN: "boolean", ColumnKind.DATETIME: "datetime"}
    return {"columns": {c: {"sdtype": sdtype.get(meta.columns[c].kind, "categorical")}
                        for c in df.columns}}


def run(name: str, repeats: int) -> dict[str, Any]:
    from bench_rules import TABLES as RULE_TABLES  # the pipeline's own data preparation
    from bench_rules import prepare
    from sdmetrics.reports.single_table import QualityReport

    from synthpipe.evaluation import fidelity as fid
    from synthpipe.evaluation.columns import evaluated_columns
    from synthpipe.models import create_model

    if name not in RULE_TABLES:
        RULE_TABLES[name] = ({"adult": (REPO.parent / "shared" / "data" / "adult.csv",
                                        "income")}[name])
    data = prepare(name, 0)
    train, holdout, meta = data["train"], data["holdout"], data["meta"]
    model = create_model("tvae", epochs=30, seed=0)
    model.fit(train, meta, target=data["target"])
    synthetic = model.sample(len(train))
    sd_meta = _sdmetrics_metadata(train, meta)
    ours_s, theirs_s, ours, theirs = [], [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        # The two scores sdmetrics' report gives (the detection AUC is left out of the timing).
        cols = evaluated_columns(meta, {"train": train, "holdout": holdout,
                                            "synthetic": synthetic})
        ours = {"column_shapes": fid._column_shapes(train, holdout, synthetic, cols, meta),
                "pair_trends": fid._pair_trends(train, holdout, synthetic, cols, meta, seed=0,
                                                max_pairs=10**6)}
        ours_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = QualityReport()
        report.generate(train, synthetic, sd_meta, verbose=False)
        theirs_s.append(time.perf_counter() - t0)
        props = report.get_properties().set_index("Property")["Score"]
        theirs = {"column_shapes": float(props["Column Shapes"]),
                  "pair_trends": float(props["Column Pair Trends"])}
    return {
        "rows": len(train), "columns": train.shape[1],
        "synthpipe_seconds_median": round(statistics.median(ours_s), 2),
        "sdmetrics_seconds_median": round(statistics.median(theirs_s), 2),
        "synthpipe_seconds": [round(t, 2) for t in ours_s],
        "sdmetrics_seconds": [round(t, 2) for t in theirs_s],
        "synthpipe_includes": "column shapes and pair trends (all pairs), each also for the "
                              "holdout reference",
        "synthpipe": {"column_shapes": ours["column_shapes"]["synthetic"],
                      "pair_trends": ours["pair_trends"]["synthetic"]},
        "sdmetrics": theirs,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", default=["insurance", "adult"])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    sys.path.insert(0, str(REPO / "bench"))
    results = {"command": "python bench/bench_quality_metrics.py " + " ".join(sys.argv[1:]),
               "tables": {}}
    for name in args.tables:
        results["tables"][name] = run(name, args.repeats)
        print(name, json.dumps(results["tables"][name]), flush=True)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
