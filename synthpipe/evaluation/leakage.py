"""The PII leak scan: do real direct-identifier values reappear anywhere in the output?

Every output cell is compared with the real values of every direct identifier of the input by
:class:`synthpipe.pii.matching.RealValues`, the test the fake values were drawn to pass:

- ``same``: the cell is a real value (comparison keys: case, blanks and a ``.0`` do not
  matter); values shorter than :data:`MIN_PII_LENGTH` characters are ignored (initials,
  "n/a");
- ``inside``: a real identifier sits inside a longer text cell (``ref 526-29-1789``, an email
  in a sentence, ``526291789`` for ``526-29-1789``).

A number is judged by chance before it counts. A modelled number column (an amount) takes
values the model learned from *its own* real column; that one of them equals some policy
number says nothing about anyone, and with thousands of 6-digit policy numbers it happens by
chance. So when a cell of another column equals a real identifier *as a number*, the hits are
compared with what chance predicts: the real identifier numbers are ``r`` values spread over a
range of ``w`` integers, so each of the ``n`` whole numbers the column has in that range equals
one of them with probability ``r / w``. Hits that Poisson(``n r / w``) makes plausible (tail
probability at least :data:`CHANCE_ALPHA`) are reported as ``coincidences``, not leaks; many
more mean the column copies the identifier, and they are leaks. Text is never judged by
chance: an identifier's text in another column is a leak.

Each finding says which real column's values were found in which output column, how, how
often, and what to do about it. The real values of a date identifier (a date of birth) are
not looked for in the *other* date columns: a policy start on some customer's birthday
discloses nothing, and over a range of days such coincidences are certain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthpipe.pii.matching import RealValues
from synthpipe.pii.text import comparison_key

MIN_PII_LENGTH = 4
# Tail probability under chance below which equal numbers count as a leak.
CHANCE_ALPHA = 1e-6
MAX_EXAMPLES = 5


def pii_leakage(published: pd.DataFrame, pii_values: dict[str, pd.Series]) -> dict[str, Any]:
    """Real direct-identifier values in ``published``, by identifier and output column.

    Args:
        published: The output table (every column is searched).
        pii_values: ``{column: real values before protection}`` of the direct identifiers.

    Returns:
        ``total`` (cells holding a real value, coincidences not counted), ``per_column``
        (per identifier: ``count``, ``values_checked``, ``found_in``, ``coincidences`` and
        masked ``examples``), ``findings`` (one per identifier and output column, with
        ``match``, ``cells``, ``leak``, ``expected_by_chance`` and ``advice``) and ``message``.
    """
    date_columns = {str(c) for c in published.columns
                    if pd.api.types.is_datetime64_any_dtype(published[c])}
    date_pii = {str(c) for c, v in pii_values.items()
                if pd.api.types.is_datetime64_any_dtype(pd.Series(v))}
    real = RealValues.of({str(c): v for c, v in pii_values.items()})
    per_column = {str(c): {"count": 0, "values_checked": 0, "found_in": {}, "coincidences": {},
                           "examples": []} for c in pii_values}
    for part in real.parts:
        per_column[part.source]["values_checked"] = sum(
            len(k) >= MIN_PII_LENGTH for k in part.keys)
    findings: list[dict[str, Any]] = []
    for c in published.columns:
        column = str(c)
        skip = date_pii - {column} if column in date_columns else set()
        scan = RealValues(tuple(p for p in real.parts if p.source not in skip))
        hits = scan.hits(published[c])
        hits = hits[(hits["match"] == "inside") | (hits["value"].str.len() >= MIN_PII_LENGTH)]
        for (source, match), group in hits.groupby(["source", "match"], sort=False):
            finding = _finding(str(source), column, str(match), group, published[c], real,
                               in_pii=column in per_column)
            findings.append(finding)
            _tally(per_column[str(source)], finding)
    total = sum(v["count"] for v in per_column.values())
    return {
        "name": "pii_leakage",
        "status": "ok",
        "goal": "minimize",
        "total": total,
        "per_column": per_column,
        "findings": findings,
        "message": _message(findings),
        "columns_scanned": [str(c) for c in published.columns],
        "date_identifiers_not_searched_in": sorted(date_columns - date_pii) if date_pii else [],
        "min_length": MIN_PII_LENGTH,
    }


def _finding(source: str, column: str, match: str, group: pd.DataFrame, cells: pd.Series,
             real: RealValues, *, in_pii: bool) -> dict[str, Any]:
    """One identifier's values in one output column: how, how often, and what to do."""
    cells_hit = int(group["row"].nunique())
    values = list(dict.fromkeys(group["value"]))
    out: dict[str, Any] = {
        "identifier": source,
        "column": column,
        "match": match,
        "cells": cells_hit,
        "leak": True,
        "expected_by_chance": None,
        "examples": [f"{v[:2]}***" for v in values[:MAX_EXAMPLES]],
    }
    if match == "same" and column != source and all(v.isdigit() for v in values):
        expected = _expected_by_chance(real, source, cells)
        out["match"] = "number"
        out["expected_by_chance"] = round(expected, 4)
        out["leak"] = _beyond_chance(cells_hit, expected)
    out["advice"] = _advice(out, in_pii=in_pii)
    return out


def _expected_by_chance(real: RealValues, source: str, cells: pd.Series) -> float:
    """Cells of ``cells`` expected to equal one of ``source``'s real numbers by chance."""
    numbers = np.array(sorted(int(k) for p in real.parts if p.source == source
                              for k in p.keys if k.isdigit() and len(k) >= MIN_PII_LENGTH))
    lo, hi = int(numbers.min()), int(numbers.max())
    keys = comparison_key(cells).dropna()
    whole = keys[keys.str.fullmatch(r"\d{1,18}")].astype("int64")
    in_range = int(((whole >= lo) & (whole <= hi)).sum())
    return in_range * len(numbers) / (hi - lo + 1)


def _beyond_chance(hits: int, expected: float) -> bool:
    from scipy.stats import poisson

    return bool(poisson.sf(hits - 1, expected) < CHANCE_ALPHA)


def _advice(f: dict[str, Any], *, in_pii: bool) -> str:
    """What the finding means and what to do, for its case."""
    src, col, n = f["identifier"], f["column"], f["cells"]
    if f["match"] == "number" and not f["leak"]:
        return (f"{n} cells of {col} equal a real {src} value as a number, about as often as "
                f"chance predicts ({f['expected_by_chance']:.3g}): a coincidence of magnitudes "
                f"in a column that never saw {src}, not counted as a leak; nothing to do")
    if f["match"] == "number":
        return (f"{n} cells of {col} equal real {src} numbers, far more than chance predicts "
                f"({f['expected_by_chance']:.3g}): {col} holds {src}'s values (a copy or a key "
                f"derived from it); set a fake or drop policy for {col} in pii.policies")
    how = "are real values of" if f["match"] == "same" else "hold a real value of"
    if col == src or in_pii:
        return (f"{n} cells of {col} {how} {src}, although {col} was filled with fake values: "
                f"a defect of the fake values, to be reported; until it is fixed, set "
                f"'{col}: drop' in pii.policies")
    return (f"{n} cells of {col} {how} {src}: {col} is learned or copied from the real table "
            f"and carries {src}'s values; set a fake or drop policy for {col} in pii.policies")


def _tally(entry: dict[str, Any], f: dict[str, Any]) -> None:
    if not f["leak"]:
        entry["coincidences"][f["column"]] = f["cells"]
        return
    entry["count"] += f["cells"]
    entry["found_in"][f["column"]] = entry["found_in"].get(f["column"], 0) + f["cells"]
    for e in f["examples"]:
        if e not in entry["examples"] and len(entry["examples"]) < MAX_EXAMPLES:
            entry["examples"].append(e)


def _message(findings: list[dict[str, Any]]) -> str:
    leaks = [f for f in findings if f["leak"]]
    chance = [f for f in findings if not f["leak"]]
    if not leaks:
        note = (f" ({len(chance)} numeric coincidences, as often as chance predicts)"
                if chance else "")
        return f"no real direct-identifier value in the output{note}"
    return "; ".join(f"{f['identifier']} found in {f['column']} ({f['match']}, "
                     f"{f['cells']} cells): {f['advice']}" for f in leaks)
