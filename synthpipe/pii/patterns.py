"""Value patterns of personal data: what an email, a phone number, an SSN... look like.

Detection (:mod:`synthpipe.pii.detect`) matches them against sampled values, the fake value
generators check their real templates with them, and :mod:`synthpipe.pii.text` finds the
identifiers they describe inside longer cells.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

EMAIL = r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"
PHONE_US = (
    r"(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
)
PHONE_INTL = r"\+\d{1,3}(?:[\s.\-]?\(?\d{1,5}\)?){2,5}"
SSN = r"(?!000|666|9\d\d)\d{3}([\- ])(?!00)\d{2}\1(?!0000)\d{4}"
IBAN = r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"
_IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}"
IPV6 = (
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
STREET = (
    rf"\d{{1,6}}[A-Za-z]?(?:-\d+)?\s+(?:(?:[NSEW]|North|South|East|West)\.?\s+)?"
    rf"(?:[A-Za-z0-9.'\-]+\s+){{0,4}}(?:{STREET_SUFFIXES})\.?"
    rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\.?)?"
    rf"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*#?\s*[A-Za-z0-9\-]+)?(?:,.*)?"
)
POST_US = r"\d{5}(?:-\d{4})?"
POST_UK = r"[A-Za-z]{1,2}\d[A-Za-z\d]?\s?\d[A-Za-z]{2}"
POST_CA = r"[A-Za-z]\d[A-Za-z][ \-]?\d[A-Za-z]\d"
WORD = r"[A-Z][A-Za-z'’\-]*[a-z][A-Za-z'’\-]*"
PERSON = (
    rf"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+)?{WORD}(?:\s+(?:[A-Z]\.?|{WORD})){{1,3}}"
    rf"(?:,?\s+(?:Jr|Sr|II|III|IV|MD|PhD)\.?)?"
    rf"|{WORD},\s*{WORD}(?:\s+[A-Z]\.?)?"
)
IDCODE = (
    r"[A-Za-z]{1,6}[\-_/.: ]?\d{3,}[A-Za-z0-9\-_/]*"
    r"|\d{4,}"
    r"|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,64}"
    r"|(?=(?:[A-Z]*\d){2})[A-Z0-9]{6,20}"
)
DATE_SHAPE = r"\d{1,4}[\-/.]\d{1,2}[\-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?.*)?"

GENDER_VALUES = frozenset(
    "m f x male female man woman men women nonbinary non-binary other u unknown d diverse".split()
)
US_STATES = frozenset((
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
).split())


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
