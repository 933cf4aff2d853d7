"""PII policies: planning, keyed pseudonyms, fake values, protecting and filling tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.config import SAMPLE_TABLE, PIIAction, PIIConfig
from synthpipe.errors import ConfigError, ModelError
from synthpipe.metadata import detect_metadata
from synthpipe.pii import (
    PIIFinding,
    fake_values,
    fill_output_columns,
    pii_key_from_env,
    plan_actions,
    protect_table,
    pseudonymize,
    redraw_repeats,
)
from synthpipe.pii.patterns import luhn_valid

KEY = b"k" * 32
SAMPLE_ROWS = 4000


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return pd.read_parquet(SAMPLE_TABLE).head(SAMPLE_ROWS)


@pytest.fixture(scope="module")
def insurance(shared_data) -> pd.DataFrame:
    return pd.read_csv(
        shared_data / "insurance_claims.csv", keep_default_na=False, na_values=["?", ""]
    )


def _f(column: str, pii_type: str, category: str = "direct") -> PIIFinding:
    return PIIFinding(column, pii_type, category, "name", 1.0, "test")


# ----------------------------------------------------------------------------- plan_actions


@pytest.fixture()
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": [f"a{i}@x.com" for i in range(30)],
            "ssn": [f"123-45-{i:04d}" for i in range(30)],
            "age": np.arange(30) + 20,
            "amount": np.linspace(1, 2, 30),
        }
    )


def test_plan_actions_defaults(small: pd.DataFrame) -> None:
    meta = detect_metadata(small)
    findings = [_f("email", "email"), _f("ssn", "ssn"), _f("age", "age", "quasi")]
    actions = plan_actions(findings, meta, PIIConfig())
    assert actions == {
        "email": PIIAction.FAKE,
        "ssn": PIIAction.FAKE,
        "age": PIIAction.KEEP,
    }
    actions = plan_actions(findings, meta, PIIConfig(default_direct="drop"))
    assert actions["email"] == PIIAction.DROP and actions["age"] == PIIAction.KEEP


def test_plan_actions_explicit_policies_win(small: pd.DataFrame) -> None:
    meta = detect_metadata(small)
    findings = [_f("email", "email"), _f("ssn", "ssn"), _f("age", "age", "quasi")]
    cfg = PIIConfig(policies={"email": "keep", "age": "drop", "amount": "pseudonymize"})
    actions = plan_actions(findings, meta, cfg)
    assert actions == {
        "email": PIIAction.KEEP,  # the opt-in: only through an explicit policy
        "ssn": PIIAction.FAKE,
        "age": PIIAction.DROP,
        "amount": PIIAction.PSEUDONYMIZE,  # no finding, but named: applied
    }


def test_plan_actions_unknown_column(small: pd.DataFrame) -> None:
    cfg = PIIConfig(policies={"e_mail": "drop"})
    with pytest.raises(ConfigError, match="e_mail"):
        plan_actions([], detect_metadata(small), cfg)


# ----------------------------------------------------------------------------- keys, HMAC


def test_pseudonymize_is_keyed_deterministic_and_keeps_gaps() -> None:
    s = pd.Series(["alice@x.com", "bob@y.org", None, "alice@x.com"], index=[5, 6, 7, 8])
    a = pseudonymize(s, KEY)
    assert a.index.tolist() == [5, 6, 7, 8]
    assert a[5] == a[8] and a[5] != a[6]
    assert a.isna().tolist() == [False, False, True, False]
    assert a.dropna().str.fullmatch(r"[0-9a-f]{16}").all()
    assert pseudonymize(s, KEY).equals(a)  # same key, same tokens
    b = pseudonymize(s, b"another key of 32 bytes........", prefix="tok_")
    assert b.dropna().str.startswith("tok_").all()
    assert not set(b.dropna().str[4:]) & set(a.dropna())  # different key, unrelated tokens
    # 60601 read as int or as float is the same value
    assert pseudonymize(pd.Series([60601]), KEY)[0] == pseudonymize(pd.Series([60601.0]), KEY)[0]


def test_pseudonymize_refuses_a_short_key() -> None:
    with pytest.raises(ConfigError, match="16"):
        pseudonymize(pd.Series(["a"]), b"short")


def test_pii_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHPIPE_PII_KEY", raising=False)
    assert pii_key_from_env(required=False) is None
    with pytest.raises(ConfigError, match="SYNTHPIPE_PII_KEY") as err:
        pii_key_from_env(required=True)
    assert "export SYNTHPIPE_PII_KEY" in (err.value.hint or "")
    monkeypatch.setenv("SYNTHPIPE_PII_KEY", "")
    with pytest.raises(ConfigError):
        pii_key_from_env(required=True)
    monkeypatch.setenv("SYNTHPIPE_PII_KEY", "tooshort")
    with pytest.raises(ConfigError, match="8 characters"):
        pii_key_from_env(required=True)
    assert pii_key_from_env(required=False) is None
    monkeypatch.setenv("SYNTHPIPE_PII_KEY", "s3cret-s3cret-s3cret")
    assert pii_key_from_env(required=True) == b"s3cret-s3cret-s3cret"


# ----------------------------------------------------------------------------- fake_values

FORMATS = {
    "claim_id": ("identifier", r"CLM-\d{7}"),
    "policy_number": ("identifier", r"POL-\d{8}"),
    "ssn": ("ssn", r"(?!000|666|9)\d{3}-\d{2}-\d{4}"),
    "phone": ("phone", r"\([2-9]\d{2}\) \d{3}-\d{4}"),
    "zip_code": ("postcode", r"\d{5}"),
    "email": ("email", r"[a-z0-9._]+@[a-z0-9.\-]+\.[a-z]{2,}"),
    "claimant_name": ("person_name", r"[A-Z][A-Za-z'\-]+(?: [A-Z]\.)? [A-Z][A-Za-z'\-]+"),
    "street_address": ("street_address", r"\d{1,6} [A-Za-z0-9]+ [A-Za-z]+(?: Apt \d+)?"),
}


@pytest.mark.parametrize("column", list(FORMATS))
def test_fake_values_keep_the_format_and_avoid_real_values(
    claims: pd.DataFrame, column: str
) -> None:
    pii_type, pattern = FORMATS[column]
    real = claims[column]
    fake = fake_values(real, pii_type, 3000, seed=1)
    assert len(fake) == 3000 and fake.dtype == real.dtype and fake.name == column
    values = fake.dropna()
    assert values.str.fullmatch(pattern).all(), values[~values.str.fullmatch(pattern)].head()
    assert not values.str.lower().isin(set(real.dropna().str.lower())).any()


def test_fake_ids_are_unique_when_the_real_ones_are(claims: pd.DataFrame) -> None:
    assert claims["claim_id"].is_unique
    assert fake_values(claims["claim_id"], "identifier", 20_000, seed=0).is_unique


def test_fake_zip_never_hits_a_real_zip(insurance: pd.DataFrame, claims: pd.DataFrame) -> None:
    real = insurance["insured_zip"]  # 6-digit ints, ~1000 distinct
    fake = fake_values(real, "postcode", 20_000, seed=2)
    assert fake.dtype == np.int64
    assert not fake.isin(set(real)).any()
    assert fake.astype(str).str.len().isin(set(real.astype(str).str.len())).all()
    # string ZIPs with leading zeros, thousands of distinct values
    z = claims["zip_code"]
    fz = fake_values(z, "postcode", 20_000, seed=2)
    assert not fz.isin(set(z)).any() and fz.str.fullmatch(r"\d{5}").all()
    assert fz.str.startswith("0").any()  # leading zeros survive


def test_fake_values_honour_forbidden_and_case() -> None:
    real = pd.Series([f"AB{i:02d}" for i in range(60)])
    forbidden = {f"ab{i:02d}" for i in range(60, 100)}  # other case: still forbidden
    fake = fake_values(real, "identifier", 200, seed=0, forbidden=forbidden)
    taken = {v.lower() for v in real} | forbidden
    assert not fake.str.lower().isin(taken).any()
    assert fake.str.fullmatch(r"[A-Z]{2}\d{2}").all()


def test_fake_values_reproduce_missing_share_and_dtypes(claims: pd.DataFrame) -> None:
    email = claims["email"]
    fake = fake_values(email, "email", 10_000, seed=3)
    assert fake.isna().mean() == pytest.approx(email.isna().mean(), abs=1e-4)
    year = claims["vehicle_year"]  # nullable Int64 with gaps
    fy = fake_values(year, "other", 5000, seed=3)
    assert str(fy.dtype) == "Int64"
    assert fy.isna().mean() == pytest.approx(year.isna().mean(), abs=2e-4)
    amount = fake_values(claims["claim_amount"], "other", 500, seed=3)
    assert amount.dtype == np.float64 and amount.notna().all()


def test_fake_dates_stay_in_range_on_unused_days(claims: pd.DataFrame) -> None:
    dob = claims["date_of_birth"]
    fake = fake_values(dob, "date_of_birth", 5000, seed=4)
    assert fake.dtype == dob.dtype
    assert fake.min() >= dob.min() and fake.max() <= dob.max()
    assert not fake.dt.normalize().isin(set(dob.dt.normalize())).any()
    # string dates come back as strings in the real layout (M/D/YYYY here)
    s = pd.Series(["1/5/1980", "12/31/1975", "7/4/1990", "3/3/1969"] * 5)
    fs = fake_values(s, "date_of_birth", 50, seed=4)
    assert fs.dtype == object and fs.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}").all()
    assert not fs.isin(set(s)).any()


def test_fake_values_are_deterministic_by_seed(claims: pd.DataFrame) -> None:
    for col, t in (("claimant_name", "person_name"), ("ssn", "ssn"), ("date_of_birth", "dob")):
        a = fake_values(claims[col], t, 500, seed=11)
        assert a.equals(fake_values(claims[col], t, 500, seed=11))
        assert not a.equals(fake_values(claims[col], t, 500, seed=12))


def test_fake_cards_pass_luhn() -> None:
    real = pd.Series(["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881"])
    fake = fake_values(real, "credit_card", 300, seed=0)
    assert fake.str.fullmatch(r"\d{4} \d{4} \d{4} \d{4}").all()
    assert luhn_valid(fake.str.replace(" ", "")).all()
    assert not fake.isin(set(real)).any()


def test_fake_values_refuse_when_collisions_cannot_be_avoided() -> None:
    with pytest.raises(ModelError, match="digit|possibilities"):
        fake_values(pd.Series(list(range(10)) * 3), "identifier", 50, seed=0)
    with pytest.raises(ModelError, match="boolean"):
        fake_values(pd.Series([True, False]), "other", 5, seed=0)


# ----------------------------------------------------------------------------- tables


def test_protect_table_applies_actions_without_mutating(claims: pd.DataFrame) -> None:
    df = claims.head(500)
    before = df.copy(deep=True)
    findings = [
        _f("claimant_name", "person_name"),
        _f("ssn", "ssn"),
        _f("email", "email"),
        _f("policy_number", "identifier"),
        _f("age", "age", "quasi"),
    ]
    actions = {
        "claimant_name": PIIAction.FAKE,
        "ssn": PIIAction.DROP,
        "email": PIIAction.KEEP,
        "policy_number": PIIAction.PSEUDONYMIZE,
        "age": PIIAction.KEEP,
    }
    out, log = protect_table(df, actions, findings, KEY, seed=0)
    pd.testing.assert_frame_equal(df, before)
    assert "ssn" not in out.columns and len(out) == len(df)
    assert out.index.equals(df.index)
    assert not out["claimant_name"].isin(set(df["claimant_name"])).any()
    assert out["email"].equals(df["email"]) and out["age"].equals(df["age"])
    assert out["policy_number"].equals(pseudonymize(df["policy_number"], KEY))
    assert [(e["column"], e["action"]) for e in log] == [
        ("policy_number", "pseudonymize"),
        ("claimant_name", "fake"),
        ("email", "keep"),
        ("ssn", "drop"),
        ("age", "keep"),
    ]
    assert set(log[0]) == {"column", "pii_type", "category", "action", "rule", "evidence"}


def test_protect_table_needs_a_key_and_known_columns(claims: pd.DataFrame) -> None:
    df = claims.head(50)
    with pytest.raises(ConfigError, match="key"):
        protect_table(df, {"ssn": PIIAction.PSEUDONYMIZE}, [], None, seed=0)
    with pytest.raises(ConfigError, match="nope"):
        protect_table(df, {"nope": PIIAction.DROP}, [], KEY, seed=0)


def test_fill_output_columns(claims: pd.DataFrame) -> None:
    real = claims.head(2000)
    synthetic = real[["age", "state", "claim_amount"]].sample(700, random_state=0)
    synthetic = synthetic.reset_index(drop=True)
    before = synthetic.copy()
    original_names = {"Zed Original"}
    out = fill_output_columns(
        synthetic,
        real,
        ["claim_id", "claimant_name", "date_of_birth"],
        {"claim_id": "id", "claimant_name": "id", "date_of_birth": "datetime"},
        {"claimant_name": "person_name", "date_of_birth": "date_of_birth"},
        seed=0,
        forbidden={"claimant_name": original_names},
    )
    pd.testing.assert_frame_equal(synthetic, before)
    assert list(out.columns) == [
        c
        for c in real.columns
        if c in {"claim_id", "claimant_name", "date_of_birth", "age", "state", "claim_amount"}
    ]
    assert len(out) == 700 and out["claim_id"].is_unique
    assert out["claim_id"].str.fullmatch(r"CLM-\d{7}").all()
    assert not out["claim_id"].isin(set(real["claim_id"])).any()
    assert not out["claimant_name"].isin(set(real["claimant_name"]) | original_names).any()
    assert out["date_of_birth"].dtype == real["date_of_birth"].dtype
    assert out[["age", "state", "claim_amount"]].equals(synthetic)
    with pytest.raises(ConfigError, match="not_there"):
        fill_output_columns(synthetic, real, ["not_there"], {}, {}, seed=0)


def test_redraw_repeats_keeps_first_values_and_makes_the_rest_unique(claims: pd.DataFrame):
    real = claims["claim_id"]
    parts = [fake_values(real, "identifier", 500, seed=s) for s in (1, 2)]
    whole = pd.concat([parts[0], parts[0].iloc[:40], parts[1]], ignore_index=True)
    assert whole.duplicated().sum() >= 40
    fixed = redraw_repeats(whole, real, "identifier", seed=9, forbidden={"CLM-0000001"})
    assert fixed.is_unique and len(fixed) == len(whole)
    first = ~whole.duplicated(keep="first")
    assert fixed[first].equals(whole[first])  # first occurrences stay
    assert fixed.str.fullmatch(r"CLM-\d{7}").all()
    assert not fixed[~first].isin(set(real) | {"CLM-0000001"}).any()
