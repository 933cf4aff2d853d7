"""Finding rules: what must be found, what must not (identifiers, small support, noise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.metadata import detect_metadata
from synthpipe.rules import detect_rules
from synthpipe.rules.detect import MIN_SUPPORT
from tests.hard_rules import claims_rules


@pytest.fixture(scope="module")
def found():
    df = claims_rules().drop(columns=["fraud"])
    return {r.text(): r for r in detect_rules(df, detect_metadata(df))}


def test_the_planted_rules_are_found(found):
    assert set(found) == {
        "total = vehicle + injury + property",
        "fee = hours * 37.5",
        "region -> country",
        "policy_type -> vehicle_kind",
        "policy_type -> cover",
        "total >= paid",
        "only real combinations of (incident, severity)",
    }
    assert all(r.support == 1.0 and r.rows == 2_000 for r in found.values())


def test_no_rule_is_built_on_an_identifier_or_on_a_handful_of_rows(found):
    # claim_ref is unique per row and adjuster has about two rows per value: both "fix"
    # every other column, and neither may become a source.
    used = {c for r in found.values() for c in r.columns}
    assert "claim_ref" not in used and "adjuster" not in used


def test_a_dependency_table_keeps_only_combinations_behind_enough_rows():
    rng = np.random.default_rng(1)
    n = 3_000
    code = rng.choice([f"k{i}" for i in range(40)], n)
    df = pd.DataFrame({"code": code, "group": [c[:2] for c in code],
                       "x": rng.normal(size=n)})
    df.loc[:2, "code"] = "rare"  # three rows
    df.loc[:2, "group"] = "zz"
    rules = detect_rules(df, detect_metadata(df))
    dep = next(r for r in rules if r.text() == "code -> group")
    assert ("rare",) not in dep.table and len(dep.table) == 40


def test_a_near_rule_is_kept_with_its_support_and_a_weaker_one_is_not():
    rng = np.random.default_rng(2)
    n = 4_000
    a = rng.integers(0, 500, n).astype(float)
    df = pd.DataFrame({"a": a, "b": rng.integers(0, 500, n).astype(float)})
    df["t"] = df["a"] + df["b"]
    df.loc[:5, "t"] += 7  # 6 of 4,000 rows break it: 99.85% support
    df["u"] = df["a"] + df["b"]
    df.loc[: int(n * (1 - MIN_SUPPORT)) + 5, "u"] += 7  # just below the floor
    rules = {r.column: r for r in detect_rules(df, detect_metadata(df))}
    assert rules["t"].kind == "sum" and rules["t"].support == pytest.approx(1 - 6 / n)
    assert "u" not in rules or rules["u"].kind != "sum"


def test_a_rate_is_written_with_its_fewest_digits_and_in_the_business_direction():
    rng = np.random.default_rng(3)
    minutes = np.round(rng.uniform(0, 300, 2_000), 1)
    df = pd.DataFrame({"minutes": minutes, "charge": np.round(minutes * 0.085, 2)})
    (rule,) = detect_rules(df, detect_metadata(df))
    assert rule.text() == "charge = minutes * 0.085"


def test_unrelated_columns_give_no_rule():
    rng = np.random.default_rng(4)
    n = 5_000
    df = pd.DataFrame({"x": rng.normal(size=n), "y": rng.exponential(size=n),
                       "k": rng.choice(list("abcde"), n), "j": rng.choice(list("uvw"), n)})
    assert detect_rules(df, detect_metadata(df)) == []


def test_a_total_is_found_among_forty_columns():
    # Speed (50,000 x 40 in seconds) is measured in bench/bench_rules.py, not here.
    rng = np.random.default_rng(5)
    n = 5_000
    cols = {f"n{i}": rng.gamma(2.0, 10.0, n).round(2) for i in range(20)}
    cols.update({f"c{i}": rng.choice([f"v{j}" for j in range(8)], n) for i in range(20)})
    df = pd.DataFrame(cols)
    df["n_total"] = df["n3"] + df["n7"] + df["n11"]
    rules = detect_rules(df, detect_metadata(df))
    sums = [r for r in rules if r.kind == "sum"]
    assert [(r.column, sorted(r.sources)) for r in sums] == [("n_total", ["n11", "n3", "n7"])]


def test_real_fixed_combinations_are_found(shared_data):
    # insurance_claims: a parked car or a theft has no collision type and one vehicle.
    df = pd.read_csv(shared_data / "insurance_claims.csv")
    meta = detect_metadata(df)
    groups = [set(r.columns) for r in detect_rules(df.drop(columns=["fraud_reported"]), meta)
              if r.kind == "combination"]
    assert {"incident_type", "collision_type"} <= set().union(*groups)


def test_a_dense_combination_is_modelled_jointly_a_sparse_one_repaired(shared_data):
    # The accident and claim months (36 real combinations over thousands of rows, 74% the same
    # month) are modelled as one joint column, so their joint shares are learned as a
    # marginal; insurance_claims' groups (1,000 rows) are too sparse for that and repaired.
    from synthpipe.rules.detect import JOINT_MIN_MEAN_ROWS
    from tests.hard_tables import claims_months

    df = claims_months(n=5_000, seed=3, extra=2).drop(columns=["fraud"])
    (months,) = [r for r in detect_rules(df, detect_metadata(df)) if r.kind == "combination"]
    assert set(months.columns) == {"accident_month", "claim_month"}
    assert months.mode == "joint" and len(df) / len(months.allowed) >= JOINT_MIN_MEAN_ROWS
    real = pd.read_csv(shared_data / "insurance_claims.csv").drop(columns=["fraud_reported"])
    modes = {r.mode for r in detect_rules(real, detect_metadata(real)) if r.kind == "combination"}
    assert modes == {"repair"}
