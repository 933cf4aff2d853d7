"""What gives synthetic data away, on tables with a dependency broken on purpose."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthpipe.evaluation import fidelity_report
from synthpipe.evaluation.diagnosis import (
    MIN_CELL_ROWS,
    OTHER,
    detection_importance,
    diagnose,
    worst_pairs,
)
from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata


def _months(n: int, rng: np.random.Generator, dependent: bool) -> pd.DataFrame:
    """An accident month and a claim month: the same month in 74% of rows, the next in 21%
    (``dependent``), or independent; plus an unrelated amount and a region."""
    accident = rng.integers(1, 13, n)
    step = rng.choice([0, 1, 2], size=n, p=[0.74, 0.21, 0.05])
    claim = (accident - 1 + step) % 12 + 1 if dependent else rng.integers(1, 13, n)
    return pd.DataFrame({
        "accident_month": accident.astype(str),
        "claim_month": claim.astype(str),
        "amount": rng.lognormal(8, 1, n).round(2),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })


META = TableMetadata({
    "accident_month": ColumnMeta("accident_month", ColumnKind.CATEGORICAL, "object"),
    "claim_month": ColumnMeta("claim_month", ColumnKind.CATEGORICAL, "object"),
    "amount": ColumnMeta("amount", ColumnKind.NUMERICAL, "float64"),
    "region": ColumnMeta("region", ColumnKind.CATEGORICAL, "object"),
})


def test_a_broken_month_relation_is_named_first_and_explained() -> None:
    rng = np.random.default_rng(0)
    train, holdout = _months(3000, rng, True), _months(3000, rng, True)
    synthetic = _months(3000, rng, False)
    report = fidelity_report(train, holdout, synthetic, META, max_rows=3000)
    out = diagnose(train, synthetic, META, report["pair_trends"], report["columns"])
    first = out["worst_pairs"][0]
    assert first["columns"] == ["accident_month", "claim_month"]
    assert first["gap"] > 0.3
    pattern = r"equal in (\d+)% of real rows and in (\d+)% of synthetic"
    found = re.search(pattern, first["explanation"])
    assert found, first["explanation"]
    assert abs(int(found[1]) - 74) <= 3 and abs(int(found[2]) - 8) <= 3  # 1/12 by chance
    table = first["table"]
    assert len(table["rows"]) == len(table["real"]) == len(table["synthetic"])
    assert abs(sum(map(sum, table["real"])) - 1.0) < 0.01
    top = out["detection_importance"]["columns"][:2]
    assert {d["column"] for d in top} == {"accident_month", "claim_month"}
    assert "relying most on" in out["detection_importance"]["explanation"]


def test_a_faithful_sample_names_no_column() -> None:
    rng = np.random.default_rng(1)
    train, synthetic = _months(2000, rng, True), _months(2000, rng, True)
    cols = list(META.columns)
    imp = detection_importance(train, synthetic, cols, META)
    assert imp["auc"] < 0.6
    assert "no single column stands out" in imp["explanation"]


def test_worst_pairs_rank_by_the_gap_to_the_holdout() -> None:
    per_pair = [
        {"columns": ["a", "b"], "synthetic": 0.60, "holdout": 0.62},  # noisy, not broken
        {"columns": ["a", "c"], "synthetic": 0.70, "holdout": 0.95},
        {"columns": ["b", "c"], "synthetic": None, "holdout": 0.9},
    ]
    ranked = worst_pairs(per_pair)
    assert [p["columns"] for p in ranked] == [["a", "c"], ["a", "b"]]
    assert ranked[0]["gap"] == 0.95 - 0.70


def test_rare_labels_are_not_named_in_a_published_table() -> None:
    rng = np.random.default_rng(2)
    train = _months(500, rng, True)
    train.loc[:2, "region"] = "Smallville"  # 3 rows: fewer than MIN_CELL_ROWS
    assert 3 < MIN_CELL_ROWS
    report = fidelity_report(train, train, train, META, max_rows=500)
    per_pair = [dict(p, holdout=1.0, synthetic=0.0) if "region" in p["columns"] else p
                for p in report["pair_trends"]["per_pair"]]
    out = diagnose(train, train, META, {"per_pair": per_pair}, report["columns"])
    tables = [p["table"] for p in out["worst_pairs"] if "table" in p]
    labels = {label for t in tables for label in t["rows"] + t["cols"]}
    assert "Smallville" not in labels
    assert OTHER in labels
