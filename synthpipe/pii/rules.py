"""The direct-identifier rules: one per type, each weighing name and value evidence.

Each rule returns ``(rule, match_share, evidence)`` or None; ``hit`` is the matched name
fragment, or None when the column name says nothing. :data:`DIRECT_RULES` lists them in the
order that breaks ties between rules of equal strength (the most specific first).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind
from synthpipe.pii.column import Column, pct
from synthpipe.pii.embedded import iban_valid
from synthpipe.pii.patterns import (
    DATE_SHAPE,
    EMAIL,
    IBAN,
    IDCODE,
    IPV4,
    IPV6,
    PERSON,
    PHONE_INTL,
    PHONE_US,
    POST_CA,
    POST_UK,
    POST_US,
    SSN,
    STREET,
    WORD,
    first_names,
    luhn_valid,
)

Verdict = tuple[str, float, str]
Rule = Callable[[Column, "str | None"], "Verdict | None"]


def _card_share(c: Column) -> float:
    digits = c.values.str.replace(r"[ \-]", "", regex=True)
    shaped = c.values.str.fullmatch(r"\d{4}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}|\d{13,19}")
    # A card number has varied digits; runs like 0000000000000 pass Luhn trivially.
    varied = digits.str.count(r"0") < digits.str.len() - 2
    return c.frac(shaped.to_numpy() & luhn_valid(digits) & varied.to_numpy())


def _phone_share(c: Column) -> float:
    us = c.values.str.fullmatch(PHONE_US)
    intl = c.values.str.fullmatch(PHONE_INTL) & c.values.str.count(r"\d").between(8, 15)
    return c.frac(us | intl)


def _digits_share(c: Column, lo: int, hi: int) -> float:
    """Share of values that are ``lo``-``hi`` digits once separators are removed."""
    d = c.values.str.replace(r"[\s.\-()+/]", "", regex=True)
    return c.frac(d.str.fullmatch(rf"\d{{{lo},{hi}}}"))


def _date_share(c: Column) -> float:
    if c.is_datetime:
        return 1.0
    if c.is_numeric:
        # yyyymmdd integers are the usual numeric encoding of a date
        parsed = pd.to_datetime(c.values, format="%Y%m%d", errors="coerce")
        return c.frac(parsed.notna())
    if not c.is_string:
        return 0.0
    shaped = c.values.str.fullmatch(DATE_SHAPE)
    if c.frac(shaped) < 0.5:
        return 0.0
    parsed = pd.to_datetime(c.values.where(shaped), errors="coerce", format="mixed")
    return c.frac(parsed.notna())


def _person_shares(c: Column) -> tuple[float, float, float]:
    """(full-name pattern share, single capitalised word share, known-first-name share)."""
    v = c.values.where(~c.values.str.isupper(), c.values.str.title())
    full = c.frac(v.str.fullmatch(PERSON))
    single = c.frac(v.str.fullmatch(WORD))
    # The first name is the first token, or the token after the comma in "Last, First".
    first = v.str.split(",").str[-1].str.strip().where(v.str.contains(","), v)
    first = first.str.replace(r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+", "", regex=True)
    first = first.str.split().str[0].str.lower()
    known = c.frac(first.isin(first_names()))
    return full, single, known


def name_evidence(hit: str) -> str:
    """The evidence line of a column-name match."""
    return f"column name matches '{hit}'"


def _decide(
    c: Column,
    hit: str | None,
    strict: float,
    label: str,
    *,
    alone: float | None,
    alone_ok: bool = True,
    support: float = 0.5,
    loose: float | None = None,
    loose_label: str = "",
    loose_min: float = 0.8,
) -> Verdict | None:
    """Shared decision: name+pattern, else pattern alone, else name with compatible values."""
    n_sampled = c.n_sampled
    if hit is not None and strict >= support:
        return (
            "name+pattern",
            strict,
            f"{name_evidence(hit)}; {pct(strict)} of {n_sampled} sampled values match the {label} "
            "pattern",
        )
    if alone is not None and alone_ok and strict >= alone:
        return (
            "pattern",
            strict,
            f"{pct(strict)} of {n_sampled} sampled values match the {label} pattern",
        )
    if hit is not None and loose is not None and loose >= loose_min:
        return (
            "name",
            loose,
            f"{name_evidence(hit)}; {pct(loose)} of sampled values are {loose_label} "
            f"({pct(strict)} match the strict {label} pattern)",
        )
    return None


def _rule_email(c: Column, hit: str | None) -> Verdict | None:
    if not c.is_string:
        return None
    strict = c.share(EMAIL)
    loose = c.unique_share if c.nunique >= 10 else 0.0
    return _decide(
        c,
        hit,
        strict,
        "email",
        alone=0.8,
        loose=loose,
        loose_min=0.5,
        loose_label="mostly distinct strings (unique share)",
    )


def _rule_phone(c: Column, hit: str | None) -> Verdict | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = _phone_share(c) if c.is_string else 0.0
    loose = _digits_share(c, 7, 15) if c.nunique >= 10 else 0.0
    return _decide(
        c,
        hit,
        strict,
        "phone number",
        alone=0.8,
        alone_ok=c.nunique >= 10,
        loose=loose,
        loose_label="7-15 digit numbers",
    )


def _rule_ssn(c: Column, hit: str | None) -> Verdict | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = c.share(SSN) if c.is_string else 0.0
    loose = _digits_share(c, 9, 9) if c.nunique >= 10 else 0.0
    return _decide(
        c,
        hit,
        strict,
        "SSN",
        alone=0.8,
        alone_ok=c.nunique >= 10,
        loose=loose,
        loose_label="9-digit numbers",
    )


def _rule_card(c: Column, hit: str | None) -> Verdict | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = _card_share(c)
    loose = _digits_share(c, 13, 19) if c.nunique >= 10 else 0.0
    return _decide(
        c,
        hit,
        strict,
        "credit card (Luhn-valid)",
        alone=0.8,
        alone_ok=c.nunique >= 10,
        loose=loose,
        loose_label="13-19 digit numbers",
    )


def _rule_iban(c: Column, hit: str | None) -> Verdict | None:
    if not c.is_string:
        return None
    shaped = c.values.str.fullmatch(IBAN)
    valid = np.array([bool(ok) and iban_valid(v) for v, ok in zip(c.values, shaped, strict=True)])
    strict = c.frac(valid)
    return _decide(c, hit, strict, "IBAN (checksum-valid)", alone=0.8, alone_ok=c.nunique >= 10)


def _rule_ip(c: Column, hit: str | None) -> Verdict | None:
    if not c.is_string:
        return None
    strict = c.share(f"{IPV4}|{IPV6}")
    # Version strings (1.2.3.4) repeat; addresses of a log or a user table do not.
    return _decide(c, hit, strict, "IPv4/IPv6", alone=0.8, alone_ok=c.nunique >= 20)


def _rule_street(c: Column, hit: str | None) -> Verdict | None:
    if not c.is_string:
        return None
    strict = c.share(STREET, flags=re.IGNORECASE)
    mixed = c.values.str.contains(r"\d") & c.values.str.contains(r"[A-Za-z]{2}")
    mixed &= c.values.str.contains(r"\s")
    loose = c.frac(mixed) if c.unique_share >= 0.3 else 0.0
    return _decide(
        c,
        hit,
        strict,
        "street address",
        alone=0.7,
        alone_ok=c.nunique >= 10,
        loose=loose,
        loose_min=0.5,
        loose_label="strings mixing numbers and words",
    )


def _rule_person(c: Column, hit: str | None) -> Verdict | None:
    if not c.is_string:
        return None
    full, single, known = _person_shares(c)
    n_sampled = c.n_sampled
    if hit is not None and max(full, single) >= 0.5:
        share = max(full, single)
        what = "full-name" if full >= single else "capitalised-name"
        return (
            "name+pattern",
            share,
            f"{name_evidence(hit)}; {pct(share)} of {n_sampled} sampled values match the {what} "
            f"pattern ({pct(known)} start with a known first name)",
        )
    # Values alone: labels such as "New York" or "Grand Cherokee" look like names too, so
    # they must also be varied and mostly start with a known first name.
    if full >= 0.8 and known >= 0.3 and c.unique_share >= 0.3 and c.nunique >= 20:
        return (
            "pattern",
            full,
            f"{pct(full)} of {n_sampled} sampled values match the full-name pattern, "
            f"{pct(known)} start with a known first name, {pct(c.unique_share)} distinct",
        )
    if hit is not None and c.nunique >= 10:
        wordy = c.frac(c.values.str.fullmatch(r"[^\d@]+"))
        if wordy >= 0.9:
            return (
                "name",
                wordy,
                f"{name_evidence(hit)}; {pct(wordy)} of sampled values are words without digits "
                f"({pct(full)} match the full-name pattern)",
            )
    return None


def _rule_postcode(c: Column, hit: str | None) -> Verdict | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = c.share(f"{POST_US}|{POST_UK}|{POST_CA}") if c.is_string else 0.0
    codes = c.values.str.fullmatch(r"(?=.*\d)[A-Za-z0-9][A-Za-z0-9 \-]{2,9}")
    loose = c.frac(codes) if c.nunique >= 5 else 0.0
    # Only strings can be postcodes on their values alone: a 5-digit integer is as likely an
    # amount as a ZIP.
    return _decide(
        c,
        hit,
        strict,
        "ZIP/postcode",
        alone=0.95,
        alone_ok=c.is_string and c.nunique >= 20,
        loose=loose,
        loose_min=0.9,
        loose_label="3-10 character codes with digits",
    )


def _rule_dob(c: Column, hit: str | None) -> Verdict | None:
    if hit is None:
        return None  # any date could be a birth date; only the name tells
    share = _date_share(c)
    if share < 0.9:
        return None
    return (
        "name+pattern",
        share,
        f"{name_evidence(hit)}; {pct(share)} of sampled values are dates",
    )


def _rule_identifier(c: Column, hit: str | None) -> Verdict | None:
    if not (c.is_string or c.is_numeric):
        return None
    is_id_kind = c.kind == ColumnKind.ID
    # A code shared by many rows (agent, branch) is a category, not a person key; hundreds of
    # codes each on a few rows (a policy number over its claims) are person keys.
    mostly_unique = (c.unique_share >= 0.5 and c.nunique >= 10) or is_id_kind
    mostly_unique |= c.unique_share >= 0.2 and c.nunique >= 100
    if not mostly_unique:
        return None
    strict = c.share(IDCODE)
    uniq = f"{pct(c.unique_share)} distinct"
    if hit is not None and strict >= 0.8:
        return (
            "name+pattern",
            strict,
            f"{name_evidence(hit)}; {pct(strict)} of sampled values are identifier codes; {uniq}",
        )
    if hit is None and is_id_kind and strict >= 0.9:
        return (
            "pattern",
            strict,
            f"id column whose values are codes ({pct(strict)} match the identifier pattern); "
            f"{uniq}",
        )
    if hit is not None and (is_id_kind or (c.unique_share >= 0.9 and c.nunique >= 10)):
        # Free-form ids have no format to check; the name plus near-uniqueness is the evidence.
        return ("name", 1.0, f"{name_evidence(hit)}; {uniq} (no fixed id format to check)")
    return None


DIRECT_RULES: dict[str, Rule] = {
    # Order breaks ties between rules of equal strength: the most specific first.
    "email": _rule_email,
    "ssn": _rule_ssn,
    "credit_card": _rule_card,
    "iban": _rule_iban,
    "ip_address": _rule_ip,
    "phone": _rule_phone,
    "street_address": _rule_street,
    "date_of_birth": _rule_dob,
    "postcode": _rule_postcode,
    "person_name": _rule_person,
    "identifier": _rule_identifier,
}
