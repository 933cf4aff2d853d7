"""synthpipe.pii.text: one meaning of "the same value" for detection, fakes and the leak scan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.evaluation.privacy import pii_leakage
from synthpipe.pii import detect_pii, fake_values, pseudonymize
from synthpipe.pii.text import canonical_text, comparison_key, key_of, key_set, text_of

TRICKY = [
    12345, 12345.0, np.int64(12345), np.float32(12345.0), "12345", "12345.0", " 12345 ",
    "02134", 12.5, -0.0, 1e20, True, "TRUE", "John.Doe@Corp.com", " JOHN.DOE@corp.COM ",
    "Mary   Ann  Lee", "Straße", pd.Timestamp("1985-03-12"), "1985-03-12 00:00:00",
    "1985-03-12T00:00:00", pd.Timestamp("2020-01-02 10:30"),
    pd.Timestamp("2020-01-02", tz="Europe/Paris"), 4111111111111111111, None, np.nan, pd.NaT,
]


def test_the_column_form_equals_the_scalar_form_value_by_value() -> None:
    s = pd.Series(TRICKY, dtype=object)
    texts = canonical_text(s)
    keys = comparison_key(s)
    for value, text, key in zip(TRICKY, texts, keys, strict=True):
        assert (None if pd.isna(text) else text) == text_of(value), value
        assert (None if pd.isna(key) else key) == key_of(value), value


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([12345, 2, None], "Int64"),
        ([4111111111111111111, 1], "int64"),
        ([12345.0, 2.5, np.nan], "float64"),
        (["a ", None, " B"], "string"),
        (["x", "y", None], "category"),
        ([True, None], "boolean"),
        (pd.to_datetime(["2020-01-01", "2020-01-02 10:00", None], format="mixed"), None),
    ],
)
def test_every_dtype_agrees_with_the_scalar_form(values, dtype) -> None:
    s = pd.Series(values, dtype=dtype)
    got = [None if pd.isna(v) else v for v in canonical_text(s)]
    assert got == [text_of(v) for v in s]


def test_what_the_same_value_means() -> None:
    same = [12345, 12345.0, "12345", "12345.0", " 12345 "]
    assert {key_of(v) for v in same} == {"12345"}
    assert key_of("02134") != key_of(2134)  # a leading zero makes a code
    assert key_of(" JOHN.DOE@corp.COM ") == key_of("John.Doe@Corp.com") == "john.doe@corp.com"
    assert key_of("Mary   Ann  Lee") == "mary ann lee"
    assert key_of("STRASSE") == key_of("Straße")
    assert {key_of(pd.Timestamp("1985-03-12")), key_of("1985-03-12T00:00:00")} == {"1985-03-12"}
    assert key_of("526-29-1789") != key_of("526291789")  # separators are part of the text
    assert key_of(4111111111111111111) == "4111111111111111111"  # no float rounding
    assert key_of(None) is None and key_of(np.nan) is None
    assert key_set([12345.0, "12345", None]) == {"12345"}


def test_detection_reads_a_zip_stored_as_float_as_its_digits() -> None:
    df = pd.DataFrame({"zip": [60601.0 + 7 * i for i in range(40)]})
    (finding,) = detect_pii(df)
    assert finding.pii_type == "postcode"
    assert "5-digit" not in finding.evidence  # the evidence reads codes, not "60601.0"


def test_fakes_avoid_forbidden_values_by_their_comparison_key() -> None:
    # One-digit codes 1..7 are real and "9.0" is forbidden: 9 is the same value, so the codes
    # left are 0 and 8.
    like = pd.Series([str(d) for d in range(1, 8)] * 5, name="code")
    out = fake_values(like, "other", 30, seed=3, forbidden={"9.0"})
    assert set(out) <= {"0", "8"}
    # Letters a..t are real and " Z ", "Y" are forbidden: case and blanks do not matter.
    like = pd.Series(list("abcdefghijklmnopqrst") * 2, name="letter")
    out = fake_values(like, "other", 20, seed=3, forbidden={" Z ", "Y"})
    assert set(out) <= {"u", "v", "w", "x"}


def test_the_leak_scan_uses_the_same_key() -> None:
    real = {"zip": pd.Series([60601.0, 2134.0]), "email": pd.Series(["John.Doe@Corp.com"])}
    published = pd.DataFrame({
        "zip": ["60601", " 02134", "x"],  # "02134" is a code, not the number 2134
        "c": ["n/a", " JOHN.DOE@corp.COM ", "y"],
    })
    out = pii_leakage(published, real)
    assert out["per_column"]["zip"]["found_in"] == {"zip": 1}
    assert out["per_column"]["email"]["found_in"] == {"c": 1}


def test_pseudonyms_follow_the_canonical_text() -> None:
    key = b"k" * 32
    tokens = pseudonymize(pd.Series([60601, 60601.0, "60601", " 60601 "], dtype=object), key)
    assert tokens.nunique() == 1
    # Case is kept: tokens are joins across tables, and changing them would break old joins.
    assert pseudonymize(pd.Series(["Ann", "ANN"]), key).nunique() == 2
