"""Find personal data in a table: column names and value patterns -> :class:`PIIFinding`.

Two kinds of evidence are combined for every column:

- the **name**: regular expressions over the normalised column name, token by token (so ``zip``
  matches ``insured_zip`` but ``ip`` does not match ``zip``, and ``name`` does not match
  ``vehicle_make_name``);
- the **values**: a random sample of the non-missing values is matched against patterns (email,
  phone, SSN, credit card with the Luhn check, IPv4/IPv6, ZIP/postcode, street address, person
  name, date, identifier code); when no value rule holds for whole values, the identifiers
  *inside* them are looked for (:mod:`synthpipe.pii.embedded`): an SSN behind a prefix
  (``SSN:526-29-1789``), a number inside a code (``ID-526291789-X``), emails in some cells of a
  contact column, phones or names in notes.

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
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.metadata import ColumnKind, TableMetadata, detect_metadata
from synthpipe.pii.column import Column, column_sample, pct
from synthpipe.pii.embedded import find_identifiers
from synthpipe.pii.names import NAME_RULES, QUASI_NAME_RULES, name_hit
from synthpipe.pii.patterns import GENDER_VALUES, US_STATES
from synthpipe.pii.rules import DIRECT_RULES, name_evidence

log = logging.getLogger(__name__)

DIRECT_TYPES = (
    "email",
    "phone",
    "ssn",
    "credit_card",
    "iban",
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



# Identifiers inside text: a few stray ones in thousands of notes still leak, so 2% of values
# (and 3 values at least) is the line between "contains PII" and a coincidence. Short cells
# (codes, labels, a contact field) need 5%: there a pattern inside is weaker evidence.
MIN_TEXT_SHARE = 0.02
MIN_INSIDE_SHARE = 0.05
MIN_INSIDE_VALUES = 3
# Long digit runs shared by many rows are product or batch codes, not a person's number.
MIN_NUMBER_DISTINCT = 0.2
_INSIDE_TYPES = ("email", "iban", "credit_card", "ssn", "phone", "number", "person_name")


def _rule_inside(c: Column) -> PIIFinding | None:
    """Identifiers inside the values: free text, codes (``SSN:...``), or only some cells.

    Free text (three words or more on average, or a text column) is ``free_text``; shorter
    values take the type of the identifier most of them hold (``number`` is ``identifier``).
    """
    if not c.is_string or not len(c.values):
        return None
    words = float(np.dot(c.values.str.split().str.len().to_numpy(dtype=float), c.weights))
    text_like = c.kind == ColumnKind.TEXT or words >= 3
    types = (*_INSIDE_TYPES, "ip_address") if text_like else _INSIDE_TYPES
    found = find_identifiers(c.values)
    found = found[found["type"].isin(types)]
    shares: dict[str, float] = {}
    for t, group in found.groupby("type", sort=False):
        rows = group["row"].unique()
        share = c.frac(np.isin(np.arange(len(c.values)), rows))
        distinct = group["text"].nunique()
        many = distinct >= MIN_INSIDE_VALUES and share * c.n_sampled >= 2.5
        varied = t != "number" or distinct >= MIN_NUMBER_DISTINCT * share * c.n_sampled
        if many and varied:
            shares[str(t)] = share
    share = c.frac(np.isin(np.arange(len(c.values)), found["row"][found["type"].isin(shares)]))
    if not shares or share < (MIN_TEXT_SHARE if text_like else MIN_INSIDE_SHARE):
        return None
    parts = ", ".join(f"{t} {pct(v)}" for t, v in sorted(shares.items(), key=lambda kv: -kv[1]))
    if text_like:
        return PIIFinding(c.name, "free_text", "direct", "pattern", share,
                          f"free text; {pct(share)} of {c.n_sampled} sampled values contain "
                          f"personal data ({parts})")
    top = max(shares, key=lambda t: shares[t])
    return PIIFinding(c.name, "identifier" if top == "number" else top, "direct", "pattern",
                      share, f"{pct(share)} of {c.n_sampled} sampled values hold an identifier "
                      f"inside a longer value or among other values ({parts})")


# ----------------------------------------------------------------------------- quasi rules


def _quasi(c: Column) -> PIIFinding | None:
    if c.is_bool:
        return None
    hits = {}
    for t, rule in QUASI_NAME_RULES.items():
        hit = name_hit(c.norm, rule)
        if hit is not None:
            hits[t] = hit
    lowered = c.values.str.lower()
    gender_share = c.frac(lowered.isin(GENDER_VALUES)) if c.is_string else 0.0
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
                f"{name_evidence(hits[t])}; {pct(share)} of sampled values are {label}",
            )
        if ok and not hits:
            return PIIFinding(
                c.name,
                t,
                "quasi",
                "pattern",
                share,
                f"{pct(share)} of sampled values are {label}",
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
        f"{name_evidence(hit)} (a quasi-identifier: identifying only in combination)",
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
    c = column_sample(name, s, kind, sample_size, seed)
    if c.n == 0 or c.is_bool:
        return None
    best: tuple[int, int, PIIFinding] | None = None
    for order, (pii_type, rule) in enumerate(DIRECT_RULES.items()):
        hit = name_hit(c.norm, NAME_RULES[pii_type])
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
    inside = _rule_inside(c)
    if inside is not None:
        return inside
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
