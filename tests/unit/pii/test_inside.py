"""Identifiers inside values: detected as direct identifiers, faked around their frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.metadata import detect_metadata
from synthpipe.pii import detect_pii, fake_values
from synthpipe.pii.embedded import find_identifiers, iban_valid, luhn_ok
from synthpipe.pii.matching import RealValues

N = 240


def _ssn(rng: np.random.Generator) -> str:
    return f"{rng.integers(100, 665)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Neutral column names; member-level values repeat (so they are categorical)."""
    rng = np.random.default_rng(3)
    members = 100
    ssns = [_ssn(rng) for _ in range(members)]
    emails = [f"user{i}x{rng.integers(100, 999)}@mail.example" for i in range(members)]
    pick = rng.integers(0, members, N)
    return pd.DataFrame({
        "tag": [f"SSN:{ssns[i]}" for i in pick],
        "case": [f"ID-{rng.integers(10**8, 10**9)}-X" for _ in range(N)],
        "contact": [emails[i] if i % 3 == 0 else ["none", "n/a"][i % 2] for i in pick],
        "alt": [ssns[i] if i % 4 == 0 else "pending" for i in pick],
        "ledger": [f"{1000 + i}-{2000 + 3 * i}-{3000 + 7 * i}" for i in pick],
        "remarks": [f"Adjuster met {['Mary', 'James', 'Linda'][i % 3]} Okafor{i} on site"
                    for i in pick],
        # Ordinary columns that must stay out.
        "product": rng.choice(["100200300400", "100200300401", "555000111222"], N),
        "amount_text": [f"total {rng.integers(1000, 99999)}.{rng.integers(10, 99)}"
                        for _ in range(N)],
        "version": rng.choice(["1.2.3.4", "1.2.3.5", "2.0.0.1"], N),
        "region": rng.choice(["north", "south"], N),
        "when": rng.choice(["2020-01-15", "2021-03-02", "2022-07-30"], N),
    })


def test_columns_holding_identifiers_inside_are_direct(frame: pd.DataFrame) -> None:
    meta = detect_metadata(frame)
    assert meta.kind("tag").value == "categorical"  # what a model would have learned
    found = {f.column: f for f in detect_pii(frame, meta)}
    expected = {"tag": "ssn", "case": "identifier", "contact": "email", "alt": "ssn",
                "ledger": "identifier", "remarks": "free_text"}
    assert {c: found[c].pii_type for c in expected} == expected
    assert all(found[c].category == "direct" for c in expected)
    assert "inside a longer value or among other values" in found["alt"].evidence
    for column in ("product", "amount_text", "version", "region"):
        assert column not in found or found[column].category != "direct", column


def test_an_identifier_behind_a_prefix_is_faked_with_its_frame(frame: pd.DataFrame) -> None:
    out = fake_values(frame["tag"], "ssn", 200, seed=1)
    assert out.str.fullmatch(r"SSN:\d{3}-\d{2}-\d{4}").all()
    assert not out.str.match(r"SSN:(?:000|666|9)").any()  # areas that are never issued
    assert not RealValues.of(frame["tag"]).found(out).any()


def test_a_mixed_column_keeps_its_share_of_identifiers(frame: pd.DataFrame) -> None:
    real_share = frame["contact"].str.contains("@").mean()
    out = fake_values(frame["contact"], "email", 2000, seed=1)
    assert abs(out.str.contains("@").mean() - real_share) < 0.05
    # The other cells are real values of a direct-identifier column: they are redrawn too.
    assert not RealValues.of(frame["contact"]).found(out).any()


@pytest.mark.parametrize(
    ("values", "pii_type", "valid"),
    [
        (["payout DE89 3704 0044 0532 0130 00", "payout DE44 5001 0517 5407 3249 31",
          "payout GB29 NWBK 6016 1331 9268 19"] * 10, "iban", iban_valid),
        (["card 4539 1488 0343 6467", "card 4716 2081 3049 9433", "card 4024 0071 5336 1885"]
         * 10, "credit_card", lambda v: luhn_ok(v.replace(" ", ""))),
    ],
)
def test_checksummed_identifiers_inside_stay_valid(values, pii_type, valid) -> None:
    like = pd.Series(values, name="x")
    assert all(valid(v.split(" ", 1)[1]) for v in values)
    out = fake_values(like, pii_type, 50, seed=2)
    cores = find_identifiers(out)
    assert len(cores) == 50 and (cores["type"] == pii_type).all()
    assert all(valid(v) for v in cores["text"])
    assert out.str.startswith(values[0].split()[0] + " ").all()


def test_whole_identifiers_keep_the_engine_they_had() -> None:
    # A column of whole SSNs does not take the framed path (and its output is unchanged).
    rng = np.random.default_rng(0)
    like = pd.Series([_ssn(rng) for _ in range(100)], name="ssn")
    out = fake_values(like, "ssn", 50, seed=4)
    assert out.str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
