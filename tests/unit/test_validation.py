"""Tests of synthpipe.validation: GX 1.x suites loaded, derived, saved and validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthpipe import validation as v
from synthpipe.errors import ConfigError, ContractError, InputError
from synthpipe.metadata import RARE_PLACEHOLDER, detect_metadata

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "claims.parquet"

CLAIM_TYPES = ["collision", "liability", "comprehensive", "glass", "theft", "vandalism",
               "bodily_injury"]


def claims_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small hand-made table with the schema of the bundled claims sample."""
    rng = np.random.default_rng(seed)

    def pick(values, size=n):
        return rng.choice(np.array(values, dtype=object), size=size)

    def digits(lo, hi, width):
        return pd.Series(rng.integers(lo, hi, n)).astype(str).str.zfill(width)

    first = pd.Series(pick(["Ann", "Bob", "Cleo", "Dev", "Eva", "Finn", "Gus", "Hana"]))
    last = pd.Series(pick(["Lee", "Ortiz", "Smith", "Nguyen", "Khan", "Brown"]))
    incident = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), unit="D")
    age = rng.integers(18, 91, n)
    dob = (incident - pd.to_timedelta(age * 366, unit="D")).normalize()
    email = (first.str.lower() + "." + last.str.lower() + pd.Series(np.arange(n)).astype(str)
             + "@example.com").astype(object)
    email[:3] = None
    occupation = pick(["clerk", "nurse", "driver", "teacher", "retired"])
    occupation[3:9] = None
    year = pd.array(rng.integers(1995, 2027, n), dtype="Int64")
    year[:3] = pd.NA
    police = pd.array(rng.random(n) < 0.6, dtype="boolean")
    police[:9] = pd.NA
    fraud = rng.random(n) < 0.1
    fraud[:2], fraud[2:4] = True, False
    return pd.DataFrame({
        "claim_id": "CLM-" + pd.Series(1_000_000 + 37 * np.arange(n)).astype(str),
        "policy_number": "POL-" + pd.Series(10**7 + 11 * np.arange(n)).astype(str),
        "claimant_name": first + " " + last,
        "email": email,
        "phone": "(" + digits(200, 1000, 3) + ") " + digits(200, 1000, 3) + "-"
                 + digits(0, 10_000, 4),
        "ssn": digits(1, 900, 3) + "-" + digits(1, 100, 2) + "-" + digits(1, 10_000, 4),
        "date_of_birth": dob.astype("datetime64[ns]"),
        "street_address": pd.Series(rng.integers(1, 9999, n)).astype(str) + " "
                          + pd.Series(pick(["Oak", "Main", "Elm"])) + " St",
        "zip_code": digits(501, 99_950, 5),
        "state": pick(["CA", "TX", "NY", "FL", "MA"]),
        "age": age.astype("int64"),
        "gender": pick(["F", "M", "X"]),
        "occupation": occupation,
        "policy_start_date": (incident - pd.to_timedelta(rng.integers(30, 3000, n), unit="D"))
        .astype("datetime64[ns]"),
        "incident_date": incident.astype("datetime64[ns]"),
        "report_date": (incident + pd.to_timedelta(rng.integers(0, 60, n), unit="D"))
        .astype("datetime64[ns]"),
        "claim_type": pick(CLAIM_TYPES),
        "vehicle_make": pick(["Toyota", "Ford", "Honda", "Tesla"]),
        "vehicle_year": year,
        "claim_amount": np.round(50 + rng.lognormal(8, 0.8, n), 2),
        "deductible": pick([250, 500, 1000, 2000]).astype("int64"),
        "annual_premium": np.round(rng.uniform(600, 3000, n), 2),
        "prior_claims": rng.integers(0, 5, n).astype("int64"),
        "police_report": police,
        "witness_present": rng.random(n) < 0.3,
        "agent_id": "AGT-" + pd.Series(pick(["0012", "0345", "7781", "9000"])),
        "is_fraud": fraud,
    })


def failed(report: v.ValidationReport) -> set[tuple[str, str | None]]:
    """(expectation, column or 'A/B') of every failed result."""
    out = set()
    for r in report.results:
        if not r.success:
            col = r.column or (f"{r.kwargs['column_A']}/{r.kwargs['column_B']}"
                               if "column_A" in r.kwargs else None)
            out.add((r.expectation, col))
    return out


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return claims_frame()


@pytest.fixture(scope="module")
def derived(train):
    return v.derive_suite(train, detect_metadata(train), target="is_fraud", name="claims_synth")


@pytest.fixture(scope="module")
def claims_suite():
    return v.load_suite("claims")


# --------------------------------------------------------------------------- baseline


def test_baseline_passes_on_good_frame(train):
    small = train[["claim_id", "age", "occupation", "is_fraud"]]
    report = v.validate(small, v.baseline_suite(small, "is_fraud"))
    assert report.success, report.failures
    assert report.evaluated == report.successful == len(report.results) > 0


def test_baseline_fails_on_empty_frame(train):
    small = train[["age", "is_fraud"]]
    suite = v.baseline_suite(small, "is_fraud")
    report = v.validate(small.iloc[0:0], suite)
    assert not report.success
    assert ("expect_table_row_count_to_be_between", None) in failed(report)
    assert report.failures[0] == (
        "table: expect_table_row_count_to_be_between(min_value=1) failed: 0 rows"
    )


def test_baseline_fails_on_one_class_target(train):
    small = train[["age", "is_fraud"]].copy()
    suite = v.baseline_suite(small, "is_fraud")
    small["is_fraud"] = False
    report = v.validate(small, suite)
    assert failed(report) == {("expect_column_unique_value_count_to_be_between", "is_fraud")}
    assert report.failures == [
        "is_fraud: expect_column_unique_value_count_to_be_between(min_value=2) failed: "
        "1 distinct value"
    ]


def test_baseline_fails_on_all_null_column(train):
    small = train[["age", "occupation", "is_fraud"]].copy()
    small["occupation"] = None
    report = v.validate(small, v.baseline_suite(small, "is_fraud"))
    assert failed(report) == {
        ("expect_column_proportion_of_non_null_values_to_be_between", "occupation")
    }
    assert report.failures[0].startswith("occupation: ")
    assert report.failures[0].endswith("failed: non-null share 0")


def test_baseline_names_a_missing_target(train):
    small = train[["age"]]
    report = v.validate(small, v.baseline_suite(small, "label"))
    assert ("expect_column_to_exist", "label") in failed(report)
    assert any("column 'label' is missing" in f for f in report.failures)


# --------------------------------------------------------------------------- derived


def test_derived_suite_has_the_expected_rules(train, derived):
    exps = [e.configuration for e in derived.expectations]
    by = {(c.type, c.kwargs.get("column", c.kwargs.get("column_A"))): c for c in exps}
    assert all(c.meta and c.meta.get("why") for c in exps), "every rule says why it exists"
    assert sorted(by[("expect_table_columns_to_match_set", None)].kwargs["column_set"]) == \
        sorted(train.columns)
    # Ranges are the real ones rounded outward (two significant digits of the width): ages
    # 18-90 stay, the largest claim is not printed.
    age = by[("expect_column_values_to_be_between", "age")].kwargs
    assert (age["min_value"], age["max_value"]) == (train["age"].min(), train["age"].max())
    claims = by[("expect_column_values_to_be_between", "claim_amount")].kwargs
    assert claims["min_value"] == 0
    assert train["claim_amount"].max() < claims["max_value"] <= 1.1 * train["claim_amount"].max()
    assert float(f"{claims['max_value']:.2g}") == claims["max_value"]  # two digits: 41000
    dob = by[("expect_column_values_to_be_between", "date_of_birth")].kwargs
    lo, hi = pd.Timestamp(dob["min_value"]), pd.Timestamp(dob["max_value"])
    assert (lo.day, hi.day) == (1, 1) and lo == lo.normalize() and hi == hi.normalize()
    assert lo <= train["date_of_birth"].min() and hi > train["date_of_birth"].max()
    # the encoders' rare-label token is allowed beside the real labels
    assert by[("expect_column_values_to_be_in_set", "gender")].kwargs["value_set"] == \
        ["F", "M", "X", "__rare__"]
    assert by[("expect_column_values_to_be_in_set", "deductible")].kwargs["value_set"] == \
        [250, 500, 1000, 2000]
    assert ("expect_column_values_to_be_unique", "claim_id") in by
    assert by[("expect_column_values_to_match_regex", "claim_id")].kwargs["regex"] == \
        r"^CLM\-\d{7}$"
    assert by[("expect_column_values_to_match_regex", "phone")].kwargs["regex"] == \
        r"^\(\d{3}\)\ \d{3}\-\d{4}$"
    assert ("expect_column_values_to_not_be_null", "claim_id") in by
    # values of varying length share no single format: no regex is guessed for them
    assert ("expect_column_values_to_match_regex", "email") not in by
    email_nulls = by[("expect_column_proportion_of_non_null_values_to_be_between", "email")]
    assert email_nulls.kwargs["min_value"] < 0.99 < email_nulls.kwargs["max_value"]
    assert by[("expect_column_values_to_be_in_type_list", "vehicle_year")].kwargs[
        "type_list"] == v.INT_TYPES
    pair = by[("expect_column_pair_values_a_to_be_greater_than_b", "report_date")]
    assert pair.kwargs["or_equal"] is True
    pairs = {(c.kwargs["column_A"], c.kwargs["column_B"]) for c in exps
             if c.type == "expect_column_pair_values_a_to_be_greater_than_b"}
    assert ("report_date", "incident_date") in pairs
    assert ("incident_date", "policy_start_date") in pairs
    assert ("incident_date", "report_date") not in pairs
    assert by[("expect_column_unique_value_count_to_be_between", "is_fraud")].kwargs[
        "min_value"] == 2


def test_outward_bounds_round_to_two_digits_of_the_width_and_keep_the_sign():
    assert v.outward_bounds(130.92, 822495.42) == (0, 830000)
    assert v.outward_bounds(613.61, 6911.19) == (600, 7000)
    assert v.outward_bounds(18, 90) == (18, 90)
    assert v.outward_bounds(-3.5, 2.25) == (-3.5, 2.3)
    assert v.outward_bounds(-822495.42, -130.92) == (-830000, 0)
    assert v.outward_bounds(5, 5) == (5, 5)
    lo, hi = v.outward_bounds(0.00123, 0.00456)
    assert lo <= 0.00123 and hi >= 0.00456 and (lo, hi) == (0.0012, 0.0046)
    assert v.outward_months(pd.Timestamp("1935-01-23"), pd.Timestamp("2007-06-19 13:00")) == \
        ("1935-01-01T00:00:00", "2007-07-01T00:00:00")


def test_published_suite_holds_no_real_extreme(train, derived):
    text = json.dumps(v.suite_to_json(derived))
    for col in ("claim_amount", "annual_premium"):
        for value in (train[col].min(), train[col].max()):
            assert str(value) not in text, (col, value)
    for value in (train["date_of_birth"].min(), train["date_of_birth"].max()):
        assert value.date().isoformat() not in text


@pytest.mark.slow
def test_derived_suite_passes_on_the_real_train(train, derived):
    report = v.validate(train, derived)
    assert report.success, report.failures
    assert report.evaluated == len(derived.expectations)
    assert [r.expectation for r in report.results] == [
        e.configuration.type for e in derived.expectations
    ], "results follow the suite's order"


@pytest.mark.slow
def test_corrupted_synthetic_fails_with_exactly_those_findings(train, derived):
    synth = train.copy()
    synth.loc[0, "claim_amount"] = train["claim_amount"].max() * 10
    synth.loc[1, "gender"] = "Q"
    late = int(synth["incident_date"].idxmax())
    synth.loc[late, "report_date"] = synth.loc[late, "incident_date"] - pd.Timedelta(days=1)
    synth.loc[4, "claim_id"] = synth.loc[3, "claim_id"]
    report = v.validate(synth, derived)
    assert not report.success
    assert failed(report) == {
        ("expect_column_values_to_be_between", "claim_amount"),
        ("expect_column_values_to_be_in_set", "gender"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "report_date/incident_date"),
        ("expect_column_values_to_be_unique", "claim_id"),
    }
    lines = report.failures
    assert len(lines) == 4
    text = "\n".join(lines)
    assert "claim_amount: expect_column_values_to_be_between(" in text
    assert "failed: 1 value above " in text
    assert "gender: expect_column_values_to_be_in_set(" in text
    assert "failed: 1 value outside the set (0.3%): ['Q']" in text
    assert "report_date/incident_date: " in text
    assert "1 row where report_date < incident_date" in text
    assert "claim_id: expect_column_values_to_be_unique() failed: 2 rows share a duplicated " \
           "value" in text
    assert report.evaluated - report.successful == 4
    json.dumps(report.to_dict())  # JSON-able, datetimes included


def test_derived_null_share_and_types_are_checked():
    real = pd.DataFrame({
        "n": np.arange(100, dtype="int64"),
        "f": np.arange(100, dtype="float64"),  # whole numbers in a float column
        "c": ["a", "b"] * 50,
        "s": [None] * 10 + ["x"] * 90,
    })
    suite = v.derive_suite(real, detect_metadata(real))
    assert v.validate(real, suite).success
    synth = real.copy()
    synth["n"] = synth["n"].astype("float64")  # integers decoded as floats
    synth.loc[5, "f"] = 2.5  # not a whole number
    synth.loc[0, "c"] = None  # real has no missing values
    synth.loc[10:50, "s"] = None  # 51% missing instead of 10%
    synth["extra"] = 1  # the column set is exact
    report = v.validate(synth, suite)
    assert failed(report) == {
        ("expect_table_columns_to_match_set", None),
        ("expect_column_values_to_be_in_type_list", "n"),
        ("expect_column_values_to_match_regex", "f"),
        ("expect_column_values_to_not_be_null", "c"),
        ("expect_column_proportion_of_non_null_values_to_be_between", "s"),
    }
    lines = "\n".join(report.failures)
    assert "failed: unexpected columns ['extra']" in lines
    assert "n: expect_column_values_to_be_in_type_list(" in lines
    assert "failed: column dtype is float64" in lines
    assert "c: expect_column_values_to_not_be_null() failed: 1 missing value (1.0%)" in lines
    assert "failed: non-null share 0.49" in lines
    assert "[2.5]" in lines


def test_derive_suite_rejects_mismatched_metadata(train):
    meta = detect_metadata(train[["age", "gender"]])
    with pytest.raises(ConfigError, match="not in metadata"):
        v.derive_suite(train[["age", "gender", "state"]], meta)
    with pytest.raises(ConfigError, match="target 'nope'"):
        v.derive_suite(train[["age", "gender"]], meta, target="nope")
    with pytest.raises(InputError, match="empty"):
        v.derive_suite(train[["age", "gender"]].iloc[0:0], meta)


# --------------------------------------------------------------------------- claims contract


@pytest.mark.slow
def test_claims_contract_passes_on_a_handmade_frame(train, claims_suite):
    assert claims_suite.name == "claims"
    assert v.check_input_contract(train, claims_suite).success


@pytest.mark.slow
def test_claims_contract_fails_readably_on_a_corrupted_copy(train, claims_suite):
    bad = train.drop(columns=["vehicle_make"])
    bad.loc[0, "zip_code"] = "1234"
    bad.loc[1, "state"] = "ZZ"
    bad.loc[2, "age"] = 17
    bad.loc[3, "report_date"] = bad.loc[3, "incident_date"] - pd.Timedelta(days=2)
    bad.loc[4, "claim_id"] = None
    bad.loc[6, "claim_id"] = bad.loc[5, "claim_id"]
    with pytest.raises(ContractError) as info:
        v.check_input_contract(bad, claims_suite)
    err = info.value
    assert "failed its contract 'claims'" in err.message
    text = "\n".join(err.failures)
    expected = [
        "table: expect_table_columns_to_match_set(",
        "failed: missing columns ['vehicle_make']",
        "vehicle_make: expect_column_values_to_not_be_null() failed: column 'vehicle_make' is "
        "missing",
        "zip_code: expect_column_values_to_match_regex(regex='^\\d{5}$') failed: 1 value not "
        "matching the pattern (0.3%): ['1234']",
        "state: expect_column_values_to_be_in_set(",
        "1 value outside the set (0.3%): ['ZZ']",
        "age: expect_column_values_to_be_between(min_value=18, max_value=90) failed: "
        "1 value below 18 (0.3%): [17]",
        "1 row where report_date < incident_date",
        "claim_id: expect_column_values_to_not_be_null() failed: 1 missing value (0.3%)",
        "claim_id: expect_column_values_to_be_unique() failed: 2 rows share a duplicated value",
    ]
    for piece in expected:
        assert piece in text, f"{piece!r} not in:\n{text}"
    assert len(err.failures) == 9  # one per broken rule (vehicle_make: set, type, null)
    assert "fix the listed columns" in str(err)


@pytest.mark.slow
def test_claims_contract_passes_on_the_bundled_sample(claims_suite):
    if not SAMPLE.is_file():
        pytest.skip(f"{SAMPLE} not generated yet")
    df = pd.read_parquet(SAMPLE)
    report = v.check_input_contract(df, claims_suite)
    assert report.success and report.evaluated == len(claims_suite.expectations)


def test_bundled_suite_lookup():
    found = v.bundled_suite_for(Path("/data/claims.parquet"))
    assert found is not None and found.name == "claims.json" and found.is_file()
    assert v.bundled_suite_for(Path("other_table.csv")) is None
    assert "claims" in v.bundled_suites()
    assert v.load_suite(found).name == v.load_suite("claims").name == "claims"


# --------------------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path, train, derived):
    path = tmp_path / "suites" / "synthetic_suite.json"
    v.save_suite(derived, path)
    assert [p.name for p in path.parent.iterdir()] == ["synthetic_suite.json"]  # no temp left
    on_disk = json.loads(path.read_text())
    assert on_disk == v.suite_to_json(derived)
    loaded = v.load_suite(path)
    assert loaded.name == "claims_synth"
    assert v.suite_to_json(loaded)["expectations"] == on_disk["expectations"]
    small = train[["age", "gender", "claim_id"]]
    mini = v.derive_suite(small, detect_metadata(small))
    v.save_suite(mini, path)  # overwrite in place
    again = v.load_suite(path)
    assert len(again.expectations) == len(mini.expectations)
    assert v.validate(small, again).success


def test_load_suite_reports_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="neither a file nor a bundled suite") as info:
        v.load_suite("no_such_suite")
    assert "claims" in info.value.hint
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="could not be read as JSON"):
        v.load_suite(broken)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"name": "t", "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "a"}},
        {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "a", "min_value": 0}},
    ]}))
    with pytest.raises(ConfigError, match=r"expectation #1 \(expect_column_values_to_be_betwen"):
        v.load_suite(typo)


def test_load_suite_reads_gx0_files_and_date_only_bounds(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({
        "expectation_suite_name": "legacy",
        "expectations": [{
            "expectation_type": "expect_column_values_to_be_between",
            "kwargs": {"column": "d", "min_value": "2022-01-01", "max_value": "2022-12-31"},
        }],
    }))
    suite = v.load_suite(old)
    assert suite.name == "legacy" and len(suite.expectations) == 1
    df = pd.DataFrame({"d": pd.to_datetime(["2022-03-01", "2023-02-01", None])})
    report = v.validate(df, suite)
    assert report.failures == [
        "d: expect_column_values_to_be_between(min_value='2022-01-01T00:00:00', "
        "max_value='2022-12-31T00:00:00') failed: 1 value above '2022-12-31T00:00:00' (50.0%): "
        "['2023-02-01T00:00:00']"
    ]


def test_validate_rejects_wrong_arguments(train):
    with pytest.raises(InputError, match="DataFrame"):
        v.validate(train.to_dict(), v.baseline_suite(train[["age"]], None))
    with pytest.raises(ConfigError, match="ExpectationSuite"):
        v.validate(train, {"name": "x"})


def _value_sets(suite) -> dict:
    configs = [e.configuration for e in suite.expectations]
    return {c.kwargs["column"]: c.kwargs["value_set"] for c in configs if "value_set" in c.kwargs}


def test_derived_value_sets_leave_out_rare_labels():
    # The suite is published with the synthetic data: a label the model merges as rare (here
    # seen fewer than 5 times) must not appear in it, except in the target, whose classes the
    # model samples as they are.
    real = pd.DataFrame({
        "job": ["clerk"] * 60 + ["nurse"] * 35 + ["astronaut"] * 4 + ["juggler"],
        "visits": [1] * 50 + [2] * 45 + [9] * 5,  # a numeric code: 9 seen exactly 5 times
        "owner": [True] * 97 + [False] * 3,  # booleans are never merged
        "label": ["no"] * 98 + ["yes"] * 2,
    })
    meta = detect_metadata(real)
    suite = v.derive_suite(real, meta, target="label", min_label_count=5)
    sets = _value_sets(suite)
    assert sets["job"] == sorted(["clerk", "nurse", RARE_PLACEHOLDER])
    assert sets["visits"] == [1, 2, 9]
    assert sets["owner"] == [False, True]
    assert sets["label"] == ["no", "yes"]
    why = next(c.meta["why"] for c in (e.configuration for e in suite.expectations)
               if c.kwargs.get("column") == "job" and "value_set" in c.kwargs)
    assert "(not listed: 2 rarer labels, which the model merges" in why
    # A synthetic row with a rare label now fails; the merged placeholder passes.
    synth = real.copy()
    synth.loc[95:, "job"] = RARE_PLACEHOLDER  # what the model emits for the rare labels
    assert v.validate(synth, suite).success
    synth.loc[0, "job"] = "astronaut"
    assert failed(v.validate(synth, suite)) == {("expect_column_values_to_be_in_set", "job")}
    # Without a threshold every label is listed, as before.
    assert "astronaut" in _value_sets(v.derive_suite(real, meta, target="label"))["job"]
    assert _value_sets(v.derive_suite(real, meta, min_label_count=6))["visits"] == [1, 2]


def test_generated_columns_get_no_value_set_and_a_labelless_target_is_not_expected():
    # A low-cardinality name column is faked (fresh names, none of them real) and a tenth of
    # the rows have no label (the models drop them): the output has other names and no
    # missing label, and both are as they should be.
    rng = np.random.default_rng(0)
    n = 200
    real = pd.DataFrame({
        "holder": rng.choice(["Anna Roth", "Ben Okafor", "Eva Rossi"], n),
        "claim": rng.gamma(2.0, 100.0, n),
        "fraud": pd.Series(rng.choice(["Y", "N"], n), dtype=object).where(
            rng.random(n) > 0.1, None),
    })
    meta = detect_metadata(real)
    suite = v.derive_suite(real, meta, target="fraud", generated=["holder"])
    assert "holder" not in _value_sets(suite)
    kinds = {(c.type, c.kwargs.get("column"))
             for c in (e.configuration for e in suite.expectations)}
    assert ("expect_column_values_to_not_be_null", "holder") in kinds  # still checked
    assert ("expect_column_values_to_not_be_null", "fraud") in kinds
    synth = pd.DataFrame({
        "holder": rng.choice(["Carl Diaz", "Dana Kim"], n),
        "claim": rng.permutation(real["claim"].to_numpy()),
        "fraud": rng.choice(["Y", "N"], n),
    })
    assert v.validate(synth, suite).success
    synth.loc[0, "fraud"] = None
    assert failed(v.validate(synth, suite)) == {("expect_column_values_to_not_be_null", "fraud")}
    # Not generated: the real names are the value set, and fresh names fail it.
    plain = v.derive_suite(real, meta, target="fraud")
    assert ("expect_column_values_to_be_in_set", "holder") in failed(v.validate(synth, plain))


def test_a_generated_number_column_gets_no_range():
    """Policy numbers are faked afresh for the output: the protect step's fakes set no range
    that the output's fakes must keep (one fell outside it and quarantined a run)."""
    rng = np.random.default_rng(1)
    n = 200
    real = pd.DataFrame({"policy_no": rng.integers(100_000, 200_000, n),
                         "claim": rng.gamma(2.0, 100.0, n)})
    meta = detect_metadata(real)
    suite = v.derive_suite(real, meta, target=None, generated=["policy_no"])
    ranged = {c.kwargs.get("column") for c in (e.configuration for e in suite.expectations)
              if c.type == "expect_column_values_to_be_between"}
    assert "policy_no" not in ranged and "claim" in ranged
    synth = real.assign(policy_no=rng.integers(900_000, 999_999, n))
    assert v.validate(synth, suite).success
