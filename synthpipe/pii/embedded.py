"""Identifiers inside cells: an SSN behind a prefix, an email in a sentence, a card number...

A cell need not *be* an identifier to hold one: ``SSN:526-29-1789``, ``ID-526291789-X``,
``Please call (555) 123-4567`` or ``Adjuster met Mary Okafor on site``. :func:`find_identifiers`
finds them wherever they sit in the text, with checks that keep chance look-alikes out:

- ``email``: ``local@domain.tld``;
- ``iban``: two letters, two check digits and 11-30 more characters (grouped by four or not),
  whose ISO 13616 mod-97 checksum holds;
- ``credit_card``: 13-19 digits, in groups of four or not, passing the Luhn check and not a run
  of zeros;
- ``ssn``: ``ddd-dd-dddd`` with an area that is issued (not 000, 666 or 9xx);
- ``phone``: a North American number with separators, or an international one (``+44 20 ...``,
  8-15 digits);
- ``ip_address``: an IPv4 address;
- ``number``: any other run of at least 9 digits, plain or in groups joined by one separator
  (``123456789012``, ``1234-5678-9012``): account, policy and member numbers;
- ``person_name``: a known first name followed by a capitalised word that is no street suffix
  (``Mary Okafor``, ``James T. Kirk``); only where names are asked for.

Overlapping candidates are resolved by that order (a card number is not also a ``number``).
A candidate failing its check falls back to ``number`` when it has 9 digits or more.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthpipe.pii.patterns import EMAIL, IBAN, IPV4, PHONE_US, STREET_SUFFIXES, first_names

EMBEDDED_TYPES = (
    "email", "iban", "credit_card", "ssn", "phone", "ip_address", "number", "person_name",
)
MIN_NUMBER_DIGITS = 9

_EDGE = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"
# One alternation, in the order that wins overlaps: scanning left to right, the first
# alternative that matches at a position takes the span.
_TYPED = {
    "email": rf"(?<![A-Za-z0-9._%+'\-]){EMAIL}(?![A-Za-z0-9\-])",
    "iban": rf"{_EDGE}{IBAN}{_END}",
    "credit_card": rf"{_EDGE}(?:\d{{4}}[ \-]){{3}}\d{{1,7}}{_END}|{_EDGE}\d{{13,19}}{_END}",
    "ssn": rf"{_EDGE}(?!000|666|9\d\d)\d{{3}}-(?!00)\d{{2}}-(?!0000)\d{{4}}{_END}",
    "phone": rf"(?<![A-Za-z0-9+])(?:{PHONE_US}){_END}"
    rf"|(?<![A-Za-z0-9+])\+\d{{1,3}}(?:[ .\-]?\(?\d{{1,5}}\)?){{2,5}}{_END}",
    "ip_address": rf"(?<![\d.]){IPV4}(?![\d.])",
    "number": rf"{_EDGE}\d{{2,}}(?:(?P<sep>[ \-./])\d{{2,}}(?:(?P=sep)\d{{2,}})*)?{_END}",
}
_TYPED_RE = re.compile("|".join(f"(?P<{t}>{p})" for t, p in _TYPED.items()))
# The fewest digits any typed identifier has (an IPv4 address aside, looked for apart).
_MIN_TYPED_DIGITS = 8
_IP_LIKE = r"\d\.\d+\.\d+\.\d"
# A capitalised word pair starting anywhere (a lookahead, so "Called Mary Okafor" also yields
# "Mary Okafor"); a middle initial may sit between.
_NAME_WORD = r"[A-Z][a-z]+(?:['’\-][A-Za-z]+)*"
_NAME = re.compile(rf"(?<![\w'’\-])(?=({_NAME_WORD})\s+((?:[A-Z]\.\s+)?{_NAME_WORD}))")
_STREET_WORDS = frozenset(w.lower() for w in STREET_SUFFIXES.split("|"))
_MAYBE_NAME = r"[A-Z][a-z]+\s+[A-Z]"


def find_identifiers(texts: pd.Series, *, names: bool = True) -> pd.DataFrame:
    """Identifiers inside each text (see the module docstring for the types and checks).

    Args:
        texts: Canonical texts (:func:`synthpipe.pii.text.canonical_text`); case matters for
            names and IBANs. Missing values hold nothing.
        names: Whether to look for person names too.

    Returns:
        One row per identifier found: ``row`` (position in ``texts``), ``type``, ``start``,
        ``end`` and ``text`` (the identifier as written), ordered by row and start.
    """
    s = pd.Series(texts, dtype=object).reset_index(drop=True)
    text = s.where(s.notna(), "").astype(str)
    # Cheap vectorised filters first: most cells of most columns hold neither.
    typed = (text.str.count(r"\d") >= _MIN_TYPED_DIGITS) | text.str.contains("@", regex=False)
    typed = (typed | text.str.contains(_IP_LIKE)).to_numpy()
    named = text.str.contains(_MAYBE_NAME).to_numpy() if names else np.zeros(len(s), bool)
    known = first_names() if names else frozenset()
    found: list[tuple[int, str, int, int, str]] = []
    for i in np.flatnonzero(typed | named):
        value = text.iat[i]
        taken = np.zeros(len(value) + 1, dtype=bool)
        spans = _typed_spans(value, taken) if typed[i] else []
        if named[i]:
            spans += _name_spans(value, known, taken)
        found.extend((int(i), *span) for span in spans)
    out = pd.DataFrame(found, columns=["row", "type", "start", "end", "text"])
    return out.sort_values(["row", "start"], kind="stable").reset_index(drop=True)


def _typed_spans(text: str, taken: np.ndarray) -> list[tuple[str, int, int, str]]:
    """The typed identifiers of one text (marked in ``taken``)."""
    spans = []
    for m in _TYPED_RE.finditer(text):
        kind = next(t for t in _TYPED if m.group(t) is not None)
        verdict = _check(kind, m.group(0))
        if verdict is None:
            continue
        start, end = m.span()
        taken[start:end] = True
        spans.append((verdict, start, end, m.group(0)))
    return spans


def _check(kind: str, value: str) -> str | None:
    """The type ``value`` is accepted as (its own, ``number`` as a fallback, or None)."""
    digits = re.sub(r"\D", "", value)
    ok = True
    if kind == "iban":
        ok = iban_valid(value)
    elif kind == "credit_card":
        ok = 13 <= len(digits) <= 19 and luhn_ok(digits) and digits.count("0") < len(digits) - 2
    elif kind == "phone" and value.startswith("+"):
        ok = 8 <= len(digits) <= 15
    elif kind == "number":
        # Two dot-separated groups are a decimal amount (1234567.89), not an identifier.
        ok = len(digits) >= MIN_NUMBER_DIGITS and not re.fullmatch(r"\d+\.\d+", value)
        return kind if ok else None
    if ok:
        return kind
    return "number" if len(digits) >= MIN_NUMBER_DIGITS else None


def _name_spans(
    text: str, known: frozenset[str], taken: np.ndarray
) -> list[tuple[str, int, int, str]]:
    """Known first name + capitalised word, outside the typed identifiers and earlier names."""
    spans = []
    for m in _NAME.finditer(text):
        first, rest = m.group(1), m.group(2)
        start, end = m.start(1), m.end(2)
        if first.lower() not in known or rest.split()[-1].lower() in _STREET_WORDS:
            continue
        if taken[start:end].any():
            continue
        taken[start:end] = True
        spans.append(("person_name", start, end, text[start:end]))
    return spans


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """ISO 13616 check of an IBAN (spaces allowed): mod 97 of the rearranged number is 1."""
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def iban_check_digits(value: str) -> str:
    """``value`` (an IBAN shape, spaces kept) with the two check digits that make it valid."""
    compact = value.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:2] + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rearranged)) % 97
    digits = f"{check:02d}"
    # The check digits are the third and fourth characters, wherever the spaces fall.
    positions = [i for i, ch in enumerate(value) if ch != " "][2:4]
    chars = list(value)
    for pos, d in zip(positions, digits, strict=True):
        chars[pos] = d
    return "".join(chars)
