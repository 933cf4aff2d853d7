"""synthpipe.pii.matching: the one test of "a real value reappears" (fakes and leak scan)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.pii import fake_values
from synthpipe.pii.matching import RealValues, compact_form

REAL = {
    "ssn": pd.Series(["526-29-1789", "123-45-6789"]),
    "tag": pd.Series(["SSN:111-22-3333"]),
    "policy": pd.Series([767593, 104211]),
    "name": pd.Series(["Mary Okafor", "Al"]),
    "email": pd.Series(["Mary.Okafor@X.com"]),
    "zip": pd.Series(["60601"]),
}


@pytest.fixture(scope="module")
def real() -> RealValues:
    return RealValues.of(REAL)


@pytest.mark.parametrize(
    ("cell", "source", "match", "value"),
    [
        (" 526-29-1789 ", "ssn", "same", "526-29-1789"),
        ("ref 526-29-1789 ok", "ssn", "inside", "526-29-1789"),
        ("526 29 1789", "ssn", "inside", "526291789"),  # the same digits, other separators
        ("526291789", "ssn", "inside", "526291789"),
        ("x SSN:111-22-3333", "tag", "inside", "ssn:111-22-3333"),
        ("111-22-3333", "tag", "inside", "111-22-3333"),  # the identifier inside a real code
        ("see 767593.", "policy", "inside", "767593"),
        ("MARY OKAFOR called", "name", "inside", "mary okafor"),
        ("mail <mary.okafor@x.COM>", "email", "inside", "mary.okafor@x.com"),
        ("60601", "zip", "same", "60601"),
    ],
)
def test_real_values_are_found_whole_and_inside(real, cell, source, match, value) -> None:
    hits = real.hits(pd.Series([cell]))
    assert (source, match, value) in set(zip(hits["source"], hits["match"], hits["value"],
                                             strict=True))


@pytest.mark.parametrize(
    "cell",
    [
        "15262917890",  # inside a longer digit run: another number
        "x526-29-1789",  # glued to a letter
        "zip 60601 area",  # short values are compared whole only
        "Al Jones",  # so are short names
        "Mary Okaforr",
        "767594",
    ],
)
def test_near_misses_are_not_found(real, cell) -> None:
    assert real.hits(pd.Series([cell])).empty


def test_numbers_and_dates_are_compared_whole(real) -> None:
    hits = real.hits(pd.Series([767593.0, 767593.5, 1.0]))
    assert hits[["row", "match", "value"]].to_dict("records") == [
        {"row": 0, "match": "same", "value": "767593"},
    ]
    assert real.found(pd.Series(pd.to_datetime(["2020-01-01"]))).tolist() == [False]


def test_combining_keeps_each_source() -> None:
    both = RealValues.of({"a": ["526-29-1789"]}) | RealValues.of({"b": ["526-29-1789"]})
    hits = both.hits(pd.Series(["526-29-1789", "call 526-29-1789"]))
    assert sorted(zip(hits["row"], hits["source"], hits["match"], strict=True)) == [
        (0, "a", "same"), (0, "b", "same"), (1, "a", "inside"), (1, "b", "inside"),
    ]
    assert RealValues.of_keys({"x1"}).found(pd.Series(["X1 ", "x1 y"])).tolist() == [True, False]


def test_compact_form() -> None:
    assert compact_form("(555) 123-4567") == "5551234567"
    assert compact_form("de89 3704 0044 0532 0130 00") == "de89370400440532013000"
    assert compact_form("1985-03-12") is None  # too short
    assert compact_form("a@b 123456789") is None  # not separators only


def test_fakes_are_redrawn_when_a_forbidden_identifier_sits_inside(monkeypatch) -> None:
    # The generator offers a value holding a forbidden SSN first: it must be redrawn, by the
    # same test the leak scan applies, although no real value equals it whole.
    import synthpipe.pii.fakes as fakes

    def generator_for(*args, **kwargs):
        def gen(m: int, widen: int) -> np.ndarray:
            return np.array(["ref 526-29-1789" if widen == 0 else f"ref 111-{widen:02d}-0000"
                             for _ in range(m)], dtype=object)
        return gen

    monkeypatch.setattr(fakes, "generator_for", generator_for)
    like = pd.Series(["ref 222-33-4444"] * 3, name="note")
    out = fake_values(like, "other", 3, seed=0, forbidden={"SSN:526-29-1789"})
    assert out.tolist() == ["ref 111-01-0000"] * 3
