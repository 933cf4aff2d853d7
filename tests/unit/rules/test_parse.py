"""Declared rules: the syntax, and a rule the data breaks refused with its rows named."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.errors import InputError
from synthpipe.rules import declared_rules, parse_rule
from tests.hard_rules import claims_rules


@pytest.mark.parametrize(("text", "kind", "column", "sources"), [
    ("total = injury + property + vehicle", "sum", "total", ("injury", "property", "vehicle")),
    ("fee = hours * 37.5", "product", "fee", ("hours",)),
    ("fee = 37.5 * hours", "product", "fee", ("hours",)),
    ("region -> country", "dependency", "country", ("region",)),
    ("vehicle_kind, cover -> policy_type", "dependency", "policy_type", ("vehicle_kind", "cover")),
    ("total >= paid", "order", "total", ("paid",)),
    ("paid <= total", "order", "total", ("paid",)),
])
def test_the_syntax(text, kind, column, sources):
    rule = parse_rule(text)
    assert (rule.kind, rule.column, rule.sources, rule.declared) == (kind, column, sources, True)


@pytest.mark.parametrize("text", ["", "total", "a > b", "a = b - c", "a, b, c -> d", "a -> b, c"])
def test_what_it_cannot_keep_is_refused(text):
    with pytest.raises(InputError):
        parse_rule(text)


@pytest.fixture(scope="module")
def table():
    return claims_rules(300)


def modelled(df):
    return [c for c in df.columns if c != "claim_ref"]


def test_declared_rules_that_hold_are_kept_with_their_data(table):
    rules = declared_rules(["total = injury + property + vehicle", "fee = hours * 37.5",
                            "region -> country", "total >= paid"], table, modelled(table), "fraud")
    assert [r.support for r in rules] == [1.0] * 4
    assert rules[0].decimals == 0 and rules[1].decimals == 2
    assert rules[2].table[("Wales",)] == "UK"


def test_a_rule_the_data_breaks_names_the_rows(table):
    broken = table.copy()
    broken.loc[[4, 9], "total"] += 1
    with pytest.raises(InputError, match=r"broken by 2 of 300 real rows \(rows 5, 10"):
        declared_rules(["total = injury + property + vehicle"], broken, modelled(broken), None)


def test_a_dependency_the_data_breaks_names_the_rows(table):
    broken = table.copy()
    broken.loc[7, "country"] = "FR"
    with pytest.raises(InputError, match=r"rows 8"):
        declared_rules(["region -> country"], broken, modelled(broken), None)


@pytest.mark.parametrize(("rules", "message"), [
    (["totl = injury + property"], "did you mean 'total'"),
    (["claim_ref -> region"], "not modelled"),
    (["fraud -> region"], "target"),
    (["region = injury + property"], "not numeric"),
    (["total >= vehicle + injury"], "does not have"),
    (["total = injury + property + vehicle", "total = paid + fee"], "both fix"),
    (["total = injury + property + vehicle", "paid = total * 0.5"], "computes"),
])
def test_bad_declarations_are_input_errors(table, rules, message):
    with pytest.raises(InputError, match=message):
        declared_rules(rules, table, modelled(table), "fraud")


def test_an_empty_list_declares_nothing(table):
    assert declared_rules([], table, modelled(table), None) == []
    assert isinstance(table, pd.DataFrame)


def test_a_clock_rule_wraps_at_midnight():
    df = pd.DataFrame({"sched": [2350, 515, 2359, 100] * 20, "delay": [20, -5, 1, 1440] * 20,
                       "actual": [10, 510, 2400, 100] * 20})
    (rule,) = declared_rules(["actual = clock(sched + delay)"], df, list(df.columns))
    assert rule.kind == "clock" and rule.midnight == 2400
    assert rule.derive(df).tolist()[:4] == [10, 510, 2400, 100]
    df.loc[3, "actual"] = 101
    with pytest.raises(InputError, match="rows 4"):
        declared_rules(["actual = clock(sched + delay)"], df, list(df.columns))
