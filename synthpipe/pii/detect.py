"""Find personal data in a table: column names and value patterns -> :class:`PIIFinding`.

Two kinds of evidence are combined for every column:

- the **name**: regular expressions over the normalised column name, token by token (so ``zip``
  matches ``insured_zip`` but ``ip`` does not match ``zip``, and ``name`` does not match
  ``vehicle_make_name``);
- the **values**: a random sample of the non-missing values is matched against patterns (email,
  phone, SSN, credit card with the Luhn check, IPv4/IPv6, ZIP/postcode, street address, person
  name, date, identifier code).

A finding is ``direct`` (it identifies a person on its own and never reaches a model) or ``quasi``
(age, gender, state... identifying only in combination; modelled, and watched by the privacy
metrics). The rule that fired is recorded: ``name+pattern`` (both agree), ``pattern`` (the values
alone are conclusive) or ``name`` (the name is conclusive and the values are compatible with it,
for instance a ZIP stored as an integer).

False positives are kept low on purpose: numeric columns are never direct PII on their values
alone (amounts, years, counts), person names need high uniqueness plus known first names, and a
name-only identifier needs mostly unique values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind, TableMetadata, detect_metadata

log = logging.getLogger(__name__)

DIRECT_TYPES = (
    "email",
    "phone",
    "ssn",
    "credit_card",
    "ip_address",
    "person_name",
    "street_address",
    "postcode",
    "date_of_birth",
    "identifier",
    "free_text",
)
QUASI_TYPES = (
    "age",
    "birth_year",
    "gender",
    "state",
    "city",
    "country",
    "occupation",
    "education",
    "race",
    "marital_status",
    "religion",
)

# Rule strength: agreement of name and values beats values alone beats the name alone.
_STRENGTH = {"name+pattern": 3, "pattern": 2, "name": 1}


@dataclass
class PIIFinding:
    """One column that holds personal data.

    Attributes:
        column: Column name.
        pii_type: What the values are (see ``DIRECT_TYPES`` and ``QUASI_TYPES``).
        category: ``direct`` (identifies a person alone: never reaches a model) or ``quasi``
            (identifying only in combination with other columns: modelled).
        rule: Which evidence fired: ``name``, ``pattern`` or ``name+pattern``.
        match_share: Share of the sampled non-missing values that match the value pattern the
            decision used. For name-only findings it is the share with the type's looser shape
            (a ZIP stored as a 6-digit integer: digit codes). Identifiers and name-only
            quasi-identifiers have no value format of their own (any string can be an account
            number or an occupation), so there the name is the whole evidence and the share is
            1.0; for identifiers, uniqueness of the values is checked instead.
        evidence: One human-readable line explaining the decision.
    """

    column: str
    pii_type: str
    category: str
    rule: str
    match_share: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the manifest and the report)."""
        d = asdict(self)
        d["match_share"] = round(float(self.match_share), 4)
        return d


# ----------------------------------------------------------------------------- names


def normalize_name(name: object) -> str:
    """Lower-case snake form of a column name: ``InsuredZIPCode`` -> ``insured_zip_code``."""
    s = str(name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def _tok(alternatives: str) -> re.Pattern[str]:
    """Regex matching whole ``_``-separated tokens of a normalised name."""
    return re.compile(rf"(?:^|_)(?:{alternatives})(?:_|$)")


# Qualifiers that turn "name" into something other than a person's name.
_NOT_PERSON = _tok(
    r"make|model|product|company|business|brand|file|street|city|state|country|vendor|org|"
    r"organi[sz]ation|bank|host|domain|table|column|field|dataset|item|category|type|plan|"
    r"hospital|school|employer|store|shop|branch|team|event|project|app|device|pet|vehicle|car|"
    r"auto|drug|disease|user|account|group|role|job|title|service|provider|carrier|insurer|"
    r"agency|department|dept|region|district|county|place|location|site|facility|venue|course|"
    r"program|campaign|package|module|class|key|tag|label|feature|metric|test|stage|status|"
    r"colou?r|sku|game|song|album|book|movie|channel|queue|server|database|db|bucket|path|"
    r"image|font|list|sheet|workflow|screen"
)
_NAME_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "email": (_tok(r"e_?mail|mail|emails|emailaddress|email_?addr(?:ess)?"), None),
    "phone": (
        _tok(
            r"phone|phones|telephone|tel|mobile|cell|cellphone|phonenumber|fax|msisdn|"
            r"contact_number|phone_?no"
        ),
        None,
    ),
    "ssn": (_tok(r"ssn|social_security(?:_number|_no)?|socialsecurity\w*|social_sec"), None),
    "credit_card": (
        _tok(
            r"credit_?card(?:_number|_no|_num)?|card_?(?:number|no|num)|cc_?(?:number|num|no)|"
            r"cc|card|pan|cardnumber|creditcard"
        ),
        None,
    ),
    "ip_address": (
        _tok(r"ip|ips|ip_?addr(?:ess)?|ipaddress|ipv4|ipv6|client_ip|remote_addr|host_ip"),
        None,
    ),
    "person_name": (
        _tok(
            r"name|names|full_?name|fullname|first_?name|firstname|last_?name|lastname|"
            r"surname|given_?name|forename|middle_?name|maiden_?name|family_?name|fname|lname|"
            # The same words in the languages of European insurers' exports (accents become
            # "_" in the normalised name: Prénom -> pr_nom).
            r"nom|prenom|nom_?de_?famille|nombre|apellidos?|vorname|nachname|familienname|"
            r"naam|voornaam|achternaam|nome|cognome|nazwisko|imie|efternamn|fornavn|etternavn"
        ),
        _NOT_PERSON,
    ),
    "street_address": (
        _tok(
            r"address|addr|street|street_?address|address_?line\d?|address\d|addr\d|location|"
            r"residence|line1|line2"
        ),
        _tok(r"ip|e_?mail|mac|url|web|wallet|ipaddress|emailaddress"),
    ),
    "postcode": (
        _tok(
            r"zip|zipcode|zip_?code|zip5|zip4|post_?code|postcode|postal|postal_?code|"
            r"postalcode|plz|pin_?code|pincode"
        ),
        None,
    ),
    "date_of_birth": (
        _tok(r"dob|birth|birthdate|birthday|birth_?date|date_?of_?birth|dateofbirth|born|bday"),
        _tok(r"country|place|city|state|weight|order|rank|year|yr|month|cert|certificate"),
    ),
    "identifier": (
        re.compile(
            r"(?:^|_)(?:id|uuid|guid|vin|iban|mrn|npi|ein|passport|username|user_?name|login|"
            r"screen_?name|handle|license_?plate|licence_?plate|plate_?number|national_?id|tax_?id"
            r"|account|acct)(?:_|$)"
            r"|(?:^|_)(?:number|num|nbr|no|code|ref|reference|key)$"
            r"|^(?:id|key)_"
        ),
        None,
    ),
}
_QUASI_NAME_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "birth_year": (_tok(r"birth_?year|year_?of_?birth|yob|birthyear"), None),
    "age": (
        _tok(r"age|ages|age_?years|age_?group|age_?band"),
        _tok(
            r"vehicle|car|auto|policy|account|building|property|claim|loan|home|house|tenure|"
            r"page|asset|equipment|debt|receivable|invoice"
        ),
    ),
    "gender": (_tok(r"gender|sex|genders"), None),
    "state": (_tok(r"state|province|us_?state|state_?code"), _tok(r"status|machine|flow")),
    "city": (_tok(r"city|town|municipality|village"), None),
    "country": (_tok(r"country|nationality|native_?country|citizenship"), None),
    "occupation": (
        _tok(r"occupation|job|job_?title|profession|workclass|work_?class|employment"),
        None,
    ),
    "education": (_tok(r"education|education_?level|degree|schooling|edu"), None),
    "race": (_tok(r"race|ethnicity|ethnic|ethnic_?group"), None),
    "marital_status": (
        _tok(r"marital|marital_?status|relationship|married|spouse|civil_?status"),
        None,
    ),
    "religion": (_tok(r"religion|faith"), None),
}


# ----------------------------------------------------------------------------- value patterns

_EMAIL = r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"
_PHONE_US = (
    r"(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
)
_PHONE_INTL = r"\+\d{1,3}(?:[\s.\-]?\(?\d{1,5}\)?){2,5}"
_SSN = r"(?!000|666|9\d\d)\d{3}([\- ])(?!00)\d{2}\1(?!0000)\d{4}"
_IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}"
_IPV6 = (
    r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}"
)
STREET_SUFFIXES = (
    "St|Street|Ave|Av|Avenue|Rd|Road|Dr|Drive|Ln|Lane|Blvd|Boulevard|Ct|Court|Way|Pl|Place|Ter|"
    "Terrace|Hwy|Highway|Pkwy|Parkway|Cir|Circle|Sq|Square|Trl|Trail|Loop|Row|Aly|Alley|Pike|Plz|"
    "Plaza|Cres|Crescent|Close|Grove|Gardens|Ridge|Run|Path|Walk|Pass|Crossing|Xing|Bend|Point|"
    "Pt|Heights|Hts|Park|Commons|Expy|Expressway|Fwy|Freeway|Tpke|Turnpike|Hollow|Landing|Mews|"
    "View|Vista|Estates|Green|Center|Ctr|Junction|Jct|Route|Rte|Rt|Mall|Broadway"
)
_STREET = (
    rf"\d{{1,6}}[A-Za-z]?(?:-\d+)?\s+(?:(?:[NSEW]|North|South|East|West)\.?\s+)?"
    rf"(?:[A-Za-z0-9.'\-]+\s+){{0,4}}(?:{STREET_SUFFIXES})\.?"
    rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\.?)?"
    rf"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*#?\s*[A-Za-z0-9\-]+)?(?:,.*)?"
)
_POST_US = r"\d{5}(?:-\d{4})?"
_POST_UK = r"[A-Za-z]{1,2}\d[A-Za-z\d]?\s?\d[A-Za-z]{2}"
_POST_CA = r"[A-Za-z]\d[A-Za-z][ \-]?\d[A-Za-z]\d"
_WORD = r"[A-Z][A-Za-z'’\-]*[a-z][A-Za-z'’\-]*"
_PERSON = (
    rf"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+)?{_WORD}(?:\s+(?:[A-Z]\.?|{_WORD})){{1,3}}"
    rf"(?:,?\s+(?:Jr|Sr|II|III|IV|MD|PhD)\.?)?"
    rf"|{_WORD},\s*{_WORD}(?:\s+[A-Z]\.?)?"
)
_IDCODE = (
    r"[A-Za-z]{1,6}[\-_/.: ]?\d{3,}[A-Za-z0-9\-_/]*"
    r"|\d{4,}"
    r"|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,64}"
    r"|(?=(?:[A-Z]*\d){2})[A-Z0-9]{6,20}"
)
_DATE_SHAPE = r"\d{1,4}[\-/.]\d{1,2}[\-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?.*)?"

_GENDER_VALUES = {
    "m",
    "f",
    "x",
    "male",
    "female",
    "man",
    "woman",
    "men",
    "women",
    "nonbinary",
    "non-binary",
    "other",
    "u",
    "unknown",
    "d",
    "diverse",
}
US_STATES = {
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
}


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Lower-cased first names known to Faker (en_US and en_GB), the person-name anchor."""
    from faker.providers.person.en_GB import Provider as GB
    from faker.providers.person.en_US import Provider as US

    names: set[str] = set()
    for provider in (US, GB):
        for attr in ("first_names_female", "first_names_male", "first_names_nonbinary"):
            names.update(n.lower() for n in getattr(provider, attr, ()))
    return frozenset(names)


# ----------------------------------------------------------------------------- column context


@dataclass
class _Column:
    """What the rules need to know about one column (computed once)."""

    name: str
    norm: str
    kind: ColumnKind | None
    n: int  # non-missing values
    nunique: int
    is_numeric: bool
    is_bool: bool
    is_datetime: bool
    is_string: bool
    # Patterns run once per distinct sampled value, weighted by how often it was sampled: a
    # categorical column costs a handful of matches instead of thousands.
    values: pd.Series  # distinct sampled values as stripped strings
    weights: np.ndarray  # share of the sample each distinct value stands for (sums to 1)
    n_sampled: int

    @property
    def unique_share(self) -> float:
        return self.nunique / self.n if self.n else 0.0

    def frac(self, mask: pd.Series | np.ndarray) -> float:
        """Share of the sample for which ``mask`` (one entry per distinct value) holds."""
        if not len(self.values):
            return 0.0
        return float(np.dot(np.asarray(mask, dtype=bool).astype(float), self.weights))

    def share(self, pattern: str, flags: int = 0) -> float:
        """Share of sampled values that fully match ``pattern``."""
        return self.frac(self.values.str.fullmatch(pattern, flags=flags))


def _as_strings(sample: pd.Series) -> pd.Series:
    """Sampled values as strings; whole floats lose their ``.0`` (a ZIP read as 60601.0)."""
    if pd.api.types.is_numeric_dtype(sample) and not pd.api.types.is_bool_dtype(sample):
        num = pd.to_numeric(sample, errors="coerce").astype("float64")
        whole = np.isfinite(num) & (num % 1 == 0) & (num.abs() < 1e18)
        out = num.astype(str)
        out[whole] = num[whole].astype("int64").astype(str)
        return out
    return sample.astype(str).str.strip()


def _context(
    name: object, s: pd.Series, kind: ColumnKind | None, sample_size: int, seed: int
) -> _Column:
    non_null = s.dropna()
    n = len(non_null)
    raw = non_null.sample(n=sample_size, random_state=seed) if n > sample_size else non_null
    is_bool = pd.api.types.is_bool_dtype(s)
    is_dt = pd.api.types.is_datetime64_any_dtype(s)
    is_num = pd.api.types.is_numeric_dtype(s) and not is_bool
    counts = (_as_strings(raw) if not is_dt else raw.astype(str)).value_counts()
    return _Column(
        name=str(name),
        norm=normalize_name(name),
        kind=kind,
        n=n,
        nunique=int(non_null.nunique()) if n else 0,
        is_numeric=is_num,
        is_bool=is_bool,
        is_datetime=is_dt,
        is_string=not (is_bool or is_dt or is_num),
        values=pd.Series(counts.index, dtype=object),
        weights=(counts / max(len(raw), 1)).to_numpy(dtype=float),
        n_sampled=len(raw),
    )


# ----------------------------------------------------------------------------- helpers


def luhn_valid(digits: pd.Series) -> np.ndarray:
    """Luhn checksum of digit-only strings (13-19 digits), vectorised; other values are False."""
    digits = digits.astype(str)
    ok_len = digits.str.len().between(13, 19) & digits.str.fullmatch(r"\d+")
    result = np.zeros(len(digits), dtype=bool)
    if not ok_len.any():
        return result
    padded = digits[ok_len].str.zfill(19)  # leading zeros do not change the checksum
    arr = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).reshape(-1, 19) - 48
    rev = arr[:, ::-1].astype(np.int64)
    doubled = rev[:, 1::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = rev[:, ::2].sum(axis=1) + doubled.sum(axis=1)
    result[ok_len.to_numpy()] = total % 10 == 0
    return result


def _card_share(c: _Column) -> float:
    digits = c.values.str.replace(r"[ \-]", "", regex=True)
    shaped = c.values.str.fullmatch(r"\d{4}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}|\d{13,19}")
    # A card number has varied digits; runs like 0000000000000 pass Luhn trivially.
    varied = digits.str.count(r"0") < digits.str.len() - 2
    return c.frac(shaped.to_numpy() & luhn_valid(digits) & varied.to_numpy())


def _phone_share(c: _Column) -> float:
    us = c.values.str.fullmatch(_PHONE_US)
    intl = c.values.str.fullmatch(_PHONE_INTL) & c.values.str.count(r"\d").between(8, 15)
    return c.frac(us | intl)


def _digits_share(c: _Column, lo: int, hi: int) -> float:
    """Share of values that are ``lo``-``hi`` digits once separators are removed."""
    d = c.values.str.replace(r"[\s.\-()+/]", "", regex=True)
    return c.frac(d.str.fullmatch(rf"\d{{{lo},{hi}}}"))


def _date_share(c: _Column) -> float:
    if c.is_datetime:
        return 1.0
    if c.is_numeric:
        # yyyymmdd integers are the usual numeric encoding of a date
        parsed = pd.to_datetime(c.values, format="%Y%m%d", errors="coerce")
        return c.frac(parsed.notna())
    if not c.is_string:
        return 0.0
    shaped = c.values.str.fullmatch(_DATE_SHAPE)
    if c.frac(shaped) < 0.5:
        return 0.0
    parsed = pd.to_datetime(c.values.where(shaped), errors="coerce", format="mixed")
    return c.frac(parsed.notna())


def _person_shares(c: _Column) -> tuple[float, float, float]:
    """(full-name pattern share, single capitalised word share, known-first-name share)."""
    v = c.values.where(~c.values.str.isupper(), c.values.str.title())
    full = c.frac(v.str.fullmatch(_PERSON))
    single = c.frac(v.str.fullmatch(_WORD))
    # The first name is the first token, or the token after the comma in "Last, First".
    first = v.str.split(",").str[-1].str.strip().where(v.str.contains(","), v)
    first = first.str.replace(r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+", "", regex=True)
    first = first.str.split().str[0].str.lower()
    known = c.frac(first.isin(first_names()))
    return full, single, known


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# ----------------------------------------------------------------------------- direct rules

# Each rule returns (rule, match_share, evidence) or None. ``name_hit`` is the matched name
# fragment, or None when the name says nothing.
_Rule = Callable[[_Column, str | None], tuple[str, float, str] | None]


def _name_ev(hit: str) -> str:
    return f"column name matches '{hit}'"


def _decide(
    c: _Column,
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
) -> tuple[str, float, str] | None:
    """Shared decision: name+pattern, else pattern alone, else name with compatible values."""
    n_sampled = c.n_sampled
    if hit is not None and strict >= support:
        return (
            "name+pattern",
            strict,
            f"{_name_ev(hit)}; {_pct(strict)} of {n_sampled} sampled values match the {label} "
            "pattern",
        )
    if alone is not None and alone_ok and strict >= alone:
        return (
            "pattern",
            strict,
            f"{_pct(strict)} of {n_sampled} sampled values match the {label} pattern",
        )
    if hit is not None and loose is not None and loose >= loose_min:
        return (
            "name",
            loose,
            f"{_name_ev(hit)}; {_pct(loose)} of sampled values are {loose_label} "
            f"({_pct(strict)} match the strict {label} pattern)",
        )
    return None


def _rule_email(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not c.is_string:
        return None
    strict = c.share(_EMAIL)
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


def _rule_phone(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
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


def _rule_ssn(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = c.share(_SSN) if c.is_string else 0.0
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


def _rule_card(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
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


def _rule_ip(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not c.is_string:
        return None
    strict = c.share(f"{_IPV4}|{_IPV6}")
    # Version strings (1.2.3.4) repeat; addresses of a log or a user table do not.
    return _decide(c, hit, strict, "IPv4/IPv6", alone=0.8, alone_ok=c.nunique >= 20)


def _rule_street(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not c.is_string:
        return None
    strict = c.share(_STREET, flags=re.IGNORECASE)
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


def _rule_person(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
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
            f"{_name_ev(hit)}; {_pct(share)} of {n_sampled} sampled values match the {what} "
            f"pattern ({_pct(known)} start with a known first name)",
        )
    # Values alone: labels such as "New York" or "Grand Cherokee" look like names too, so
    # they must also be varied and mostly start with a known first name.
    if full >= 0.8 and known >= 0.3 and c.unique_share >= 0.3 and c.nunique >= 20:
        return (
            "pattern",
            full,
            f"{_pct(full)} of {n_sampled} sampled values match the full-name pattern, "
            f"{_pct(known)} start with a known first name, {_pct(c.unique_share)} distinct",
        )
    if hit is not None and c.nunique >= 10:
        wordy = c.frac(c.values.str.fullmatch(r"[^\d@]+"))
        if wordy >= 0.9:
            return (
                "name",
                wordy,
                f"{_name_ev(hit)}; {_pct(wordy)} of sampled values are words without digits "
                f"({_pct(full)} match the full-name pattern)",
            )
    return None


def _rule_postcode(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not (c.is_string or c.is_numeric):
        return None
    strict = c.share(f"{_POST_US}|{_POST_UK}|{_POST_CA}") if c.is_string else 0.0
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


def _rule_dob(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if hit is None:
        return None  # any date could be a birth date; only the name tells
    share = _date_share(c)
    if share < 0.9:
        return None
    return (
        "name+pattern",
        share,
        f"{_name_ev(hit)}; {_pct(share)} of sampled values are dates",
    )


def _rule_identifier(c: _Column, hit: str | None) -> tuple[str, float, str] | None:
    if not (c.is_string or c.is_numeric):
        return None
    is_id_kind = c.kind == ColumnKind.ID
    # A code shared by many rows (agent, branch) is a category, not a person key.
    mostly_unique = (c.unique_share >= 0.5 and c.nunique >= 10) or is_id_kind
    if not mostly_unique:
        return None
    strict = c.share(_IDCODE)
    uniq = f"{_pct(c.unique_share)} distinct"
    if hit is not None and strict >= 0.8:
        return (
            "name+pattern",
            strict,
            f"{_name_ev(hit)}; {_pct(strict)} of sampled values are identifier codes; {uniq}",
        )
    if hit is None and is_id_kind and strict >= 0.9:
        return (
            "pattern",
            strict,
            f"id column whose values are codes ({_pct(strict)} match the identifier pattern); "
            f"{uniq}",
        )
    if hit is not None and (is_id_kind or (c.unique_share >= 0.9 and c.nunique >= 10)):
        # Free-form ids have no format to check; the name plus near-uniqueness is the evidence.
        return ("name", 1.0, f"{_name_ev(hit)}; {uniq} (no fixed id format to check)")
    return None


_DIRECT_RULES: dict[str, _Rule] = {
    # Order breaks ties between rules of equal strength: the most specific first.
    "email": _rule_email,
    "ssn": _rule_ssn,
    "credit_card": _rule_card,
    "ip_address": _rule_ip,
    "phone": _rule_phone,
    "street_address": _rule_street,
    "date_of_birth": _rule_dob,
    "postcode": _rule_postcode,
    "person_name": _rule_person,
    "identifier": _rule_identifier,
}

_CONTAINED = {
    "email": _EMAIL,
    "phone": rf"(?<!\d)(?:{_PHONE_US})(?!\d)",
    "ssn": r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)",
    "credit_card": r"(?<!\d)\d{4}[ \-]\d{4}[ \-]\d{4}[ \-]\d{4}(?!\d)",
    "ip_address": rf"(?<![\d.]){_IPV4}(?![\d.])",
}


def _rule_free_text(c: _Column) -> PIIFinding | None:
    """Free text that carries contact details or numbers of a person."""
    if not c.is_string or not len(c.values):
        return None
    words = float(np.dot(c.values.str.split().str.len().to_numpy(dtype=float), c.weights))
    if c.kind != ColumnKind.TEXT and words < 3:
        return None
    found = {t: c.values.str.contains(p) for t, p in _CONTAINED.items()}
    any_hit = np.logical_or.reduce([m.to_numpy() for m in found.values()])
    share = c.frac(any_hit)
    # A few stray matches in thousands of notes still leak; 2% of values (and 3 values at
    # least) is the line between "contains PII" and a coincidence.
    if share < 0.02 or share * c.n_sampled < 2.5:
        return None
    parts = ", ".join(f"{t} {_pct(c.frac(m))}" for t, m in found.items() if m.any())
    return PIIFinding(
        column=c.name,
        pii_type="free_text",
        category="direct",
        rule="pattern",
        match_share=share,
        evidence=f"free text; {_pct(share)} of {c.n_sampled} sampled values contain "
        f"personal data ({parts})",
    )


# ----------------------------------------------------------------------------- quasi rules


def _quasi(c: _Column) -> PIIFinding | None:
    if c.is_bool:
        return None
    hits = {}
    for t, (pat, excl) in _QUASI_NAME_RULES.items():
        m = pat.search(c.norm)
        if m and not (excl and excl.search(c.norm)):
            hits[t] = m.group(0).strip("_")
    lowered = c.values.str.lower()
    gender_share = c.frac(lowered.isin(_GENDER_VALUES)) if c.is_string else 0.0
    gender_values = c.is_string and c.nunique <= 6 and gender_share >= 0.95
    gender_values &= bool(lowered.isin({"m", "male", "man"}).any())
    gender_values &= bool(lowered.isin({"f", "female", "woman"}).any())
    state_share = c.frac(c.values.str.upper().isin(US_STATES)) if c.is_string else 0.0
    state_values = c.is_string and c.nunique >= 3 and state_share >= 0.95
    for t, share, ok, label in (
        ("gender", gender_share, gender_values, "gender labels"),
        ("state", state_share, state_values, "US state codes"),
    ):
        if t in hits and ok:
            return PIIFinding(
                c.name,
                t,
                "quasi",
                "name+pattern",
                share,
                f"{_name_ev(hits[t])}; {_pct(share)} of sampled values are {label}",
            )
        if ok and not hits:
            return PIIFinding(
                c.name,
                t,
                "quasi",
                "pattern",
                share,
                f"{_pct(share)} of sampled values are {label}",
            )
    if not hits:
        return None
    t, hit = next(iter(hits.items()))
    return PIIFinding(
        c.name,
        t,
        "quasi",
        "name",
        1.0,
        f"{_name_ev(hit)} (a quasi-identifier: identifying only in combination)",
    )


# ----------------------------------------------------------------------------- entry point


def detect_column(
    name: object,
    s: pd.Series,
    kind: ColumnKind | None = None,
    sample_size: int = 2000,
    seed: int = 0,
) -> PIIFinding | None:
    """Classify one column; the strongest direct finding wins, else a quasi finding.

    Args:
        name: Column name.
        s: Column values.
        kind: Column kind from the table metadata (``id`` enables identifier-by-format).
        sample_size: Values sampled for the pattern checks.
        seed: Sampling seed.

    Returns:
        The finding, or None when the column holds no personal data.
    """
    c = _context(name, s, kind, sample_size, seed)
    if c.n == 0 or c.is_bool:
        return None
    best: tuple[int, int, PIIFinding] | None = None
    for order, (pii_type, rule) in enumerate(_DIRECT_RULES.items()):
        pat, excl = _NAME_RULES[pii_type]
        m = pat.search(c.norm)
        hit = m.group(0).strip("_") if m and not (excl and excl.search(c.norm)) else None
        if c.is_datetime and pii_type != "date_of_birth":
            continue
        out = rule(c, hit)
        if out is None:
            continue
        rule_name, share, evidence = out
        finding = PIIFinding(c.name, pii_type, "direct", rule_name, share, evidence)
        key = (_STRENGTH[rule_name], -order)
        if best is None or key > best[:2]:
            best = (*key, finding)
    if best is not None:
        return best[2]
    text = _rule_free_text(c)
    if text is not None:
        return text
    return _quasi(c)


def detect_pii(
    df: pd.DataFrame,
    metadata: TableMetadata | None = None,
    sample_size: int = 2000,
    seed: int = 0,
) -> list[PIIFinding]:
    """Find direct identifiers and quasi-identifiers in a table.

    Args:
        df: The table (CSV dates may be strings or parsed; both work).
        metadata: Column kinds; detected from ``df`` when None. An ``id`` column whose values
            are codes (``ABC-12345``) is an identifier even when its name says nothing.
        sample_size: Non-missing values per column checked against the value patterns.
        seed: Seed of the value sample (same seed, same findings).

    Returns:
        One finding per column that holds personal data, in column order.
    """
    if metadata is None:
        metadata = detect_metadata(df)
    findings = []
    for name in df.columns:
        meta = metadata.columns.get(name)
        finding = detect_column(
            name, df[name], meta.kind if meta else None, sample_size=sample_size, seed=seed
        )
        if finding is not None:
            log.debug("PII %s: %s", name, finding.evidence)
            findings.append(finding)
    log.info(
        "PII detection: %d direct, %d quasi of %d columns",
        sum(f.category == "direct" for f in findings),
        sum(f.category == "quasi" for f in findings),
        df.shape[1],
    )
    return findings
