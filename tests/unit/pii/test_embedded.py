"""synthpipe.pii.embedded: identifiers inside cells, with checks against look-alikes."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.pii.embedded import find_identifiers, iban_check_digits, iban_valid, luhn_ok


def _found(text: str) -> list[tuple[str, str]]:
    out = find_identifiers(pd.Series([text]))
    return list(zip(out["type"], out["text"], strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("526-29-1789", [("ssn", "526-29-1789")]),
        ("SSN:526-29-1789", [("ssn", "526-29-1789")]),
        ("526-29-1789 (primary)", [("ssn", "526-29-1789")]),
        ("ID-526291789-X", [("number", "526291789")]),
        ("Please call (555) 123-4567 after 5pm", [("phone", "(555) 123-4567")]),
        ("alt +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
        ("Wrote to mary.okafor12@mail.example today", [("email", "mary.okafor12@mail.example")]),
        ("DE89 3704 0044 0532 0130 00", [("iban", "DE89 3704 0044 0532 0130 00")]),
        ("iban:DE89370400440532013000.", [("iban", "DE89370400440532013000")]),
        ("pay 4539 1488 0343 6467 now", [("credit_card", "4539 1488 0343 6467")]),
        ("card 4539148803436467", [("credit_card", "4539148803436467")]),
        ("acct 1234-5678-9012", [("number", "1234-5678-9012")]),
        ("acct 123456789012", [("number", "123456789012")]),
        ("Called Mary Okafor on site", [("person_name", "Mary Okafor")]),
        ("met James T. Kirk", [("person_name", "James T. Kirk")]),
        ("host 10.0.0.1 down", [("ip_address", "10.0.0.1")]),
        ("call 555-123-4567 re 526-29-1789", [("phone", "555-123-4567"), ("ssn", "526-29-1789")]),
    ],
)
def test_identifiers_are_found_inside_text(text: str, expected: list) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "total 1234567.89",  # an amount
        "2020-01-15",  # a date has 8 digits
        "2020-01-15 10:30:00",
        "900-12-345",  # too few digits for anything
        "1134 Jefferson Dr",  # a street: "Jefferson Dr" is no person
        "claim CLM-1000029",  # 7 digits: a code, compared whole by the leak scan
        "Grand Cherokee",
        "",
    ],
)
def test_look_alikes_are_not_identifiers(text: str) -> None:
    assert _found(text) == []


def test_failed_checks_fall_back_to_a_number_or_nothing() -> None:
    assert _found("4539 1488 0343 6468") == [("number", "4539 1488 0343 6468")]  # not Luhn
    assert _found("DE00 3704 0044 0532 0130 00") == [("number", "DE00 3704 0044 0532 0130 00")]
    assert _found("000-12-3456") == [("number", "000-12-3456")]  # area 000 is never issued
    assert _found("+1 23") == []


def test_rows_and_positions_and_missing_values() -> None:
    out = find_identifiers(pd.Series([None, "x SSN:526-29-1789", "n/a"], index=[7, 8, 9]))
    assert out.to_dict("records") == [
        {"row": 1, "type": "ssn", "start": 6, "end": 17, "text": "526-29-1789"},
    ]
    assert find_identifiers(pd.Series(["Called Mary Okafor"]), names=False).empty


def test_checksums() -> None:
    assert luhn_ok("4539148803436467") and not luhn_ok("4539148803436468")
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE88 3704 0044 0532 0130 00")
    assert not iban_valid("DE89.3704") and not iban_valid("1234567890123456")
    fixed = iban_check_digits("DE00 3704 0044 0532 0130 00")
    assert fixed == "DE89 3704 0044 0532 0130 00"
