"""PII detection: true positives, false positives, and the two shared real tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.metadata import ColumnKind, ColumnMeta, TableMetadata, parse_date_columns
from synthpipe.pii import PIIFinding, detect_pii
from synthpipe.pii.names import normalize_name
from synthpipe.pii.patterns import luhn_valid

N = 300


def _luhn_complete(bodies: pd.Series) -> pd.Series:
    """Append to each digit string the check digit that makes it Luhn-valid."""
    out = pd.Series("", index=bodies.index)
    for d in "0123456789":
        cand = bodies + d
        ok = luhn_valid(cand) & (out == "").to_numpy()
        out[ok] = cand[ok]
    return out


@pytest.fixture(scope="module")
def pii_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    first = rng.choice(["James", "Mary", "Robert", "Patricia", "Linda", "Michael", "Sarah"], N)
    last = rng.choice(["Smith", "Nguyen", "Garcia", "O'Brien", "Kowalski", "Lee", "Okafor"], N)
    num = pd.Series(rng.integers(100, 9999, N)).astype(str)
    serial = pd.Series(np.arange(N) + 10_000).astype(str)
    emails = (
        pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + serial + "@example.com"
    )
    phones = (
        "("
        + pd.Series(rng.integers(201, 989, N)).astype(str)
        + ") "
        + pd.Series(rng.integers(200, 999, N)).astype(str)
        + "-"
        + pd.Series(rng.integers(0, 9999, N)).astype(str).str.zfill(4)
    )
    phones[::3] = "+44 20 7946 " + pd.Series(rng.integers(1000, 9999, N)).astype(str)[::3]
    ssn = (
        pd.Series(rng.integers(1, 665, N)).astype(str).str.zfill(3)
        + "-"
        + pd.Series(rng.integers(10, 99, N)).astype(str)
        + "-"
        + pd.Series(rng.integers(1000, 9999, N)).astype(str)
    )
    cards = _luhn_complete("4" + pd.Series(rng.integers(0, 10**14, N)).astype(str).str.zfill(14))
    ips = (
        pd.Series(rng.integers(11, 223, N)).astype(str)
        + "."
        + pd.Series(rng.integers(0, 255, N)).astype(str)
        + ".1."
        + pd.Series(rng.integers(1, 254, N)).astype(str)
    )
    streets = (
        num
        + " "
        + pd.Series(rng.choice(["Oak", "Elm", "5th", "Main"], N))
        + " "
        + pd.Series(rng.choice(["St", "Avenue", "Rd", "Drive", "Ln"], N))
    )
    names = pd.Series(first) + " " + pd.Series(last) + np.where(np.arange(N) % 2, "", " Jr.")
    notes = pd.Series(["call back re: claim"] * N)
    notes[::4] = "customer asked to email " + emails[::4] + " with the form"
    return pd.DataFrame(
        {
            "customer_id": "CUS-" + pd.Series(np.arange(N) + 100_000).astype(str),
            "E-Mail": emails,
            "mobile": phones,
            "SSN": ssn,
            "cc_number": cards,
            "client_ip": ips,
            # lower-case names miss the capitalised-name pattern: the name rule alone fires
            "insured_name": pd.Series(first + " " + last).str.lower(),
            "fullName": names,
            "home_address": streets,
            "zip": pd.Series(rng.integers(501, 99950, N)).astype(str).str.zfill(5),
            "insured_zip": rng.integers(430_000, 480_000, N),
            "DOB": pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 18000, N), "D"),
            "notes": notes,
            # values alone must be enough for these (names say nothing)
            "contact": emails.str.upper(),
            "col_a": ssn,
            "field7": streets,
            "who": names,
            # quasi-identifiers
            "age": rng.integers(18, 90, N),
            "sex": rng.choice(["M", "F"], N),
            "occupation": rng.choice(["nurse", "driver", "teacher"], N),
            "policy_state": rng.choice(["OH", "IN", "IL"], N),
            "marital_status": rng.choice(["married", "single"], N),
        }
    )


EXPECTED_DIRECT = {
    "customer_id": ("identifier", "name+pattern"),
    "E-Mail": ("email", "name+pattern"),
    "mobile": ("phone", "name+pattern"),
    "SSN": ("ssn", "name+pattern"),
    "cc_number": ("credit_card", "name+pattern"),
    "client_ip": ("ip_address", "name+pattern"),
    "insured_name": ("person_name", "name"),
    "fullName": ("person_name", "name+pattern"),
    "home_address": ("street_address", "name+pattern"),
    "zip": ("postcode", "name+pattern"),
    "insured_zip": ("postcode", "name"),
    "DOB": ("date_of_birth", "name+pattern"),
    "notes": ("free_text", "pattern"),
    "contact": ("email", "pattern"),
    "col_a": ("ssn", "pattern"),
    "field7": ("street_address", "pattern"),
    "who": ("person_name", "pattern"),
}
EXPECTED_QUASI = {
    "age": "age",
    "sex": "gender",
    "occupation": "occupation",
    "policy_state": "state",
    "marital_status": "marital_status",
}


def test_true_positives_type_category_and_rule(pii_frame: pd.DataFrame) -> None:
    found = {f.column: f for f in detect_pii(pii_frame)}
    for col, (pii_type, rule) in EXPECTED_DIRECT.items():
        assert col in found, f"{col} not detected"
        assert (found[col].pii_type, found[col].category, found[col].rule) == (
            pii_type,
            "direct",
            rule,
        ), (col, found[col])
    for col, pii_type in EXPECTED_QUASI.items():
        assert (found[col].pii_type, found[col].category) == (pii_type, "quasi"), found[col]
    assert set(found) == set(EXPECTED_DIRECT) | set(EXPECTED_QUASI)


def test_findings_carry_share_and_readable_evidence(pii_frame: pd.DataFrame) -> None:
    found = {f.column: f for f in detect_pii(pii_frame)}
    assert found["E-Mail"].match_share == pytest.approx(1.0)
    assert "email" in found["E-Mail"].evidence and "100.0%" in found["E-Mail"].evidence
    # the text column: a quarter of the notes hold an address
    assert found["notes"].match_share == pytest.approx(0.25, abs=0.01)
    assert "email" in found["notes"].evidence
    d = found["SSN"].to_dict()
    assert set(d) == {"column", "pii_type", "category", "rule", "match_share", "evidence"}
    assert isinstance(found["SSN"], PIIFinding) and d["column"] == "SSN"


def test_person_name_headers_in_other_languages() -> None:
    rng = np.random.default_rng(1)
    n = 300
    first = rng.choice(["Anna", "Pierre", "Lucia", "Jan", "Marta", "Jonas", "Elena", "Tomas"], n)
    last = rng.choice(["Müller", "Dubois", "Rossi", "de Vries", "Nowak", "García", "Larsen",
                       "Schmidt", "Moreau", "Bianchi", "Jansen", "Kowalski"], n)
    df = pd.DataFrame({"Prénom": first, "Nachname": last, "Nombre": first, "cognome": last,
                       "achternaam": last, "Betrag": rng.gamma(2.0, 100.0, n)})
    found = {f.column: f.pii_type for f in detect_pii(df)}
    assert found == {c: "person_name" for c in
                     ("Prénom", "Nachname", "Nombre", "cognome", "achternaam")}


def test_false_positives_stay_out() -> None:
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "claim_amount": np.round(rng.lognormal(8, 1, n), 2),
            "amount_int": rng.integers(10_000, 99_999, n),  # 5 digits, but a number
            "serial_amt": rng.integers(10**9, 10**10, n),  # 10 digits, but no phone name
            "year": rng.integers(1990, 2024, n),
            "count": rng.integers(0, 10, n),
            "flag": rng.choice(["Y", "N"], n),
            "make": rng.choice(["Honda Civic", "Toyota Camry", "Grand Cherokee", "Ford F150"], n),
            "city_label": rng.choice(["New York", "San Francisco", "Los Angeles", "Las Vegas"], n),
            "version": rng.choice(["1.2.3.4", "2.0.0.1", "10.0.19041.1"], n),
            "make_name": rng.choice(["Honda", "Toyota", "Ford"], n),
            "score_code": rng.integers(100, 999, n),
            "agent_id": rng.choice([f"AGT-{i:04d}" for i in range(40)], n),
            "email_opt_in": rng.choice([True, False], n),
            "timestamp": pd.date_range("2020-01-01", periods=n, freq="h"),
            "birth_weight": rng.normal(3.4, 0.5, n),
            "mileage": rng.integers(1000, 200_000, n),
            "ratio": rng.random(n),
            "comment": rng.choice(["windshield crack reported on highway", "no action today"], n),
        }
    )
    direct = [f for f in detect_pii(df) if f.category == "direct"]
    assert direct == []


def test_shared_insurance_claims(shared_data) -> None:
    df = pd.read_csv(
        shared_data / "insurance_claims.csv", keep_default_na=False, na_values=["?", ""]
    )
    for frame in (df, parse_date_columns(df)):  # strings or parsed dates, same verdict
        found = {f.column: f for f in detect_pii(frame)}
        direct = {c for c, f in found.items() if f.category == "direct"}
        assert direct == {"policy_number", "insured_zip", "incident_location"}
        assert found["insured_zip"].pii_type == "postcode"
        assert found["incident_location"].pii_type == "street_address"
        assert found["policy_number"].pii_type == "identifier"
        assert "policy_bind_date" not in found and "incident_date" not in found
        quasi = {c: f.pii_type for c, f in found.items() if f.category == "quasi"}
        assert quasi["insured_sex"] == "gender"
        assert quasi["insured_occupation"] == "occupation"
        assert quasi["age"] == "age"
        assert quasi["policy_state"] == "state"
        assert quasi["incident_city"] == "city"
        assert quasi["insured_education_level"] == "education"


def test_shared_adult_has_no_direct_pii(shared_data) -> None:
    df = pd.read_csv(shared_data / "adult.csv", keep_default_na=False, na_values=["?", ""])
    found = detect_pii(df)
    assert [f for f in found if f.category == "direct"] == []
    quasi = {f.column: f.pii_type for f in found}
    assert quasi["sex"] == "gender" and quasi["race"] == "race"
    assert quasi["native-country"] == "country" and "fnlwgt" not in quasi


def test_id_kind_with_code_format_is_identifier_without_a_telling_name() -> None:
    df = pd.DataFrame({"ref_x": [f"ABC-{i:05d}" for i in range(200)], "v": np.arange(200) % 7})
    meta = TableMetadata(
        {
            "ref_x": ColumnMeta("ref_x", ColumnKind.ID, "object"),
            "v": ColumnMeta("v", ColumnKind.CATEGORICAL, "int64"),
        }
    )
    found = detect_pii(df, meta)
    assert [(f.column, f.pii_type, f.rule) for f in found] == [("ref_x", "identifier", "pattern")]
    # without the metadata the same column is a category-like string: nothing is claimed
    meta.columns["ref_x"].kind = ColumnKind.CATEGORICAL
    assert detect_pii(df, meta) == []


def test_names_are_not_confused_with_labels() -> None:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            # unique-ish two-word labels that are not people
            "place": [
                f"{a} {b}"
                for a, b in zip(
                    rng.choice(["New", "San", "Port", "Fort", "Lake"], n),
                    rng.choice(["York", "Diego", "Haven", "Worth", "Placid", "Jose", "Angeles"], n),
                    strict=True,
                )
            ],
            "vehicle_make_name": rng.choice(["Honda Civic", "Toyota Camry"], n),
        }
    )
    assert detect_pii(df) == []


def test_detection_is_deterministic_and_handles_missing(pii_frame: pd.DataFrame) -> None:
    df = pii_frame.copy()
    df.loc[::2, "E-Mail"] = None
    df["empty"] = None
    a = [f.to_dict() for f in detect_pii(df, seed=5)]
    b = [f.to_dict() for f in detect_pii(df, seed=5)]
    assert a == b
    found = {f["column"]: f for f in a}
    assert found["E-Mail"]["match_share"] == pytest.approx(1.0)  # share of non-missing
    assert "empty" not in found


def test_luhn_and_name_normalisation() -> None:
    ok = luhn_valid(
        pd.Series(["4111111111111111", "5555555555554444", "4111111111111112", "12345"])
    )
    assert ok.tolist() == [True, True, False, False]
    assert normalize_name("InsuredZIPCode") == "insured_zip_code"
    assert normalize_name("e-mail Address") == "e_mail_address"
    assert normalize_name("DOB") == "dob"
