"""The bundled sample claims table: shape, dtypes, consistency, and a learnable fraud signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.config import SAMPLE_TABLE

EXPECTED_DTYPES = {
    "claim_id": "object",
    "policy_number": "object",
    "claimant_name": "object",
    "email": "object",
    "phone": "object",
    "ssn": "object",
    "date_of_birth": "datetime64[ns]",
    "street_address": "object",
    "zip_code": "object",
    "state": "object",
    "age": "int64",
    "gender": "object",
    "occupation": "object",
    "policy_start_date": "datetime64[ns]",
    "incident_date": "datetime64[ns]",
    "report_date": "datetime64[ns]",
    "claim_type": "object",
    "vehicle_make": "object",
    "vehicle_year": "Int64",
    "claim_amount": "float64",
    "deductible": "int64",
    "annual_premium": "float64",
    "prior_claims": "int64",
    "police_report": "boolean",
    "witness_present": "bool",
    "agent_id": "object",
    "is_fraud": "bool",
}


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    assert SAMPLE_TABLE.is_file(), f"{SAMPLE_TABLE} is missing: run sample_data/make_claims.py"
    return pd.read_parquet(SAMPLE_TABLE)


def test_columns_and_dtypes_exactly(claims: pd.DataFrame) -> None:
    assert {c: str(t) for c, t in claims.dtypes.items()} == EXPECTED_DTYPES
    assert list(claims.columns) == list(EXPECTED_DTYPES)
    assert 19_000 <= len(claims) <= 21_000


def test_fraud_rate(claims: pd.DataFrame) -> None:
    assert 0.015 <= claims["is_fraud"].mean() <= 0.025


def test_formats(claims: pd.DataFrame) -> None:
    assert claims["claim_id"].is_unique
    patterns = {
        "claim_id": r"CLM-\d{7}",
        "policy_number": r"POL-\d{8}",
        "phone": r"\(\d{3}\) \d{3}-\d{4}",
        "ssn": r"\d{3}-\d{2}-\d{4}",
        "zip_code": r"\d{5}",
        "state": r"[A-Z]{2}",
        "agent_id": r"AGT-\d{4}",
        "email": r"[a-z0-9._]+@[a-z.]+\.[a-z]+",
        "street_address": r"\d+ \S+ [A-Za-z]+(?: Apt \d+)?",
    }
    for col, pat in patterns.items():
        assert claims[col].dropna().str.fullmatch(pat).all(), col
    assert claims["zip_code"].str.startswith("0").any()  # leading zeros kept (MA, NJ, CT...)
    assert set(claims["gender"]) == {"F", "M", "X"}
    assert claims["gender"].eq("X").mean() < 0.03
    assert set(claims["deductible"]) == {250, 500, 1000, 2000}
    assert claims["occupation"].nunique() in range(15, 26)
    assert claims["vehicle_make"].nunique() in range(12, 19)
    assert claims["agent_id"].nunique() in range(150, 201)
    assert claims["policy_number"].value_counts().max() <= 3
    assert claims["state"].value_counts().index[:4].isin(["CA", "TX", "FL", "NY"]).all()
    amounts = claims["claim_amount"]
    assert (amounts > 0).all() and (amounts.round(2) == amounts).all()
    assert amounts.max() > 20 * amounts.median()  # heavy tail
    by_type = amounts.groupby(claims["claim_type"]).median()
    assert by_type["glass"] < by_type["collision"] < by_type["bodily_injury"]


def test_missing_values(claims: pd.DataFrame) -> None:
    share = claims.isna().mean()
    assert 0.005 <= share["email"] <= 0.015
    assert 0.01 <= share["occupation"] <= 0.03
    assert 0.005 <= share["vehicle_year"] <= 0.015
    assert 0.02 <= share["police_report"] <= 0.04
    others = share.drop(["email", "occupation", "vehicle_year", "police_report"])
    assert (others == 0).all()


def test_dates_and_ages_are_consistent(claims: pd.DataFrame) -> None:
    assert (claims["report_date"] >= claims["incident_date"]).all()
    assert (claims["incident_date"] > claims["policy_start_date"]).all()
    assert claims["incident_date"].min() >= pd.Timestamp("2022-01-01")
    assert claims["incident_date"].max() <= pd.Timestamp("2025-12-31")
    assert claims["age"].between(18, 90).all()
    born, on = claims["date_of_birth"], claims["incident_date"]
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    assert (on.dt.year - born.dt.year - before_birthday.astype(int)).eq(claims["age"]).all()
    year = claims["vehicle_year"].dropna()
    assert year.between(1995, 2026).all()
    assert (year <= claims.loc[year.index, "incident_date"].dt.year + 1).all()
    # one holder per policy
    assert claims.groupby("policy_number")["ssn"].nunique().max() == 1


def test_fraud_is_learnable_on_held_out_claims(claims: pd.DataFrame) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    x = pd.DataFrame(
        {
            "delay": (claims["report_date"] - claims["incident_date"]).dt.days,
            "tenure": (claims["incident_date"] - claims["policy_start_date"]).dt.days,
            "amount": claims["claim_amount"],
            "type": claims["claim_type"].astype("category").cat.codes,
            "police": claims["police_report"].astype("float64"),
            "witness": claims["witness_present"].astype(int),
            "prior": claims["prior_claims"],
            "agent": claims["agent_id"].astype("category").cat.codes,
            "age": claims["age"],
        }
    )
    y = claims["is_fraud"].to_numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=1, stratify=y)
    clf = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.08,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        categorical_features=["type", "agent"],
        random_state=0,
    )
    # One thread: OpenMP threads fighting over 2 busy cores are ten times slower, not faster.
    with threadpool_limits(1):
        p = clf.fit(x_tr, y_tr).predict_proba(x_te)[:, 1]
    assert roc_auc_score(y_te, p) > 0.7
    assert average_precision_score(y_te, p) > 3 * y_te.mean()


def test_generator_is_deterministic() -> None:
    from synthpipe.sample_data.make_claims import COLUMNS, generate_claims

    a = generate_claims(rows=400, seed=7)
    b = generate_claims(rows=400, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == COLUMNS and len(a) == 400
    c = generate_claims(rows=400, seed=8)
    assert not np.array_equal(a["claim_amount"].to_numpy(), c["claim_amount"].to_numpy())
    with pytest.raises(ValueError, match="rows"):
        generate_claims(rows=10)
