"""Identifiers planted in many shapes: detected, replaced, and found in no file of the run.

A small claims-like table (120 members, 300 claims, so member-level columns repeat and are
categorical, the kind a model learns) carries identifiers as whole cells, behind a prefix,
before a suffix, inside codes, in sentences, in only some cells of a column, as numbers with
and without separators, as emails, phones, IBANs, Luhn-valid card numbers and names in free
text; the column names say nothing (except for the whole-cell SSN and the policy number). The
real pipeline runs end to end with a tiny budget, then every file of the run folder is searched
for every planted identifier, as written and without separators, also inside longer text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIRST = ["Mary", "James", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David"]
LAST = ["Okafor", "Lindqvist", "Haverford", "Marchetti", "Brennan", "Castillo", "Nakamura"]
N_MEMBERS, N_ROWS = 120, 300


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _iban_de(bban: str) -> str:
    check = 98 - int(bban + "131400") % 97  # D=13, E=14, then "00"
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _battery(seed: int = 7) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """The table, and per shape the identifiers planted in it (as written)."""
    rng = np.random.default_rng(seed)

    def digits(k: int) -> str:
        return "".join(rng.choice(list("0123456789"), k))

    def ssn() -> str:
        return f"{rng.integers(100, 665)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"

    planted: dict[str, set[str]] = {}

    def plant(shape: str, value: str) -> str:
        planted.setdefault(shape, set()).add(value)
        return value

    members = []
    for m in range(N_MEMBERS):
        first, last = FIRST[m % len(FIRST)], LAST[(m * 3 + m // 7) % len(LAST)]
        local = f"{first.lower()}.{last.lower()}{rng.integers(10, 9999)}"
        email = plant("email", f"{local}@mail.example")
        card = _luhn_complete("4" + digits(14))
        members.append({
            "member_ssn": plant("ssn whole cell", ssn()),
            "member_tag": "SSN:" + plant("ssn behind a prefix", ssn()),
            "home_line": plant("phone before a suffix", f"{rng.integers(201, 989)}-"
                                                        f"{rng.integers(200, 999)}-"
                                                        f"{rng.integers(1000, 9999)}") + " (home)",
            "contact": email if m % 5 < 2 else str(rng.choice(["none", "unknown", "n/a"])),
            "alt_id": plant("ssn in some cells", ssn()) if m % 10 < 3 else "pending",
            "ledger": plant("number with separators", f"{digits(4)}-{digits(4)}-{digits(4)}"),
            "ledger_plain": plant("number without separators", "7" + digits(11)),
            "payout": plant("iban", _iban_de(digits(18))),
            "instrument": plant("card (Luhn)", " ".join(card[j:j + 4] for j in range(0, 16, 4))),
            "alt_line": plant("international phone", f"+44 20 {rng.integers(1000, 9999)} "
                                                     f"{rng.integers(1000, 9999)}"),
            "insured": plant("name", f"{first} {last}"),
            "policy_no": int(plant("6-digit number", str(rng.integers(100000, 999999)))),
        })
    rows = []
    for i in range(N_ROWS):
        mem = members[i] if i < N_MEMBERS else members[int(rng.integers(0, N_MEMBERS))]
        phone = f"({rng.integers(201, 989)}) {rng.integers(200, 999)}-{rng.integers(1000, 9999)}"
        mail = mem["contact"] if "@" in mem["contact"] else f"x{digits(6)}@mail.example"
        rows.append({
            **mem,
            "case_tag": "ID-" + plant("number inside a code", digits(9)) + "-X",
            "note": ("Please call " + plant("phone in a sentence", phone) + " after 5pm" if i % 2
                     else "Wrote to " + plant("email in a sentence", mail) + " about the claim"),
            "remarks": f"Adjuster met {plant('name in free text', mem['insured'])} on site",
            "region": str(rng.choice(["north", "south", "east", "west"])),
            "age": int(rng.integers(18, 90)),
            # Amounts in the policy numbers' range: equal values happen by chance.
            "claim_amount": float(rng.integers(100000, 999999)),
            "premium": round(float(rng.gamma(2.0, 400.0)), 2),
            "is_fraud": bool(rng.random() < 0.2),
        })
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df, planted


@pytest.fixture(scope="module")
def battery_run(tmp_path_factory):
    from synthpipe.config import ModelConfig, RunConfig
    from synthpipe.pipeline import run_pipeline

    folder = tmp_path_factory.mktemp("battery")
    table, planted = _battery()
    table.to_parquet(folder / "members.parquet", index=False)
    cfg = RunConfig(table=folder / "members.parquet", target="is_fraud", out=folder / "run",
                    seed=0, cache=False, model=ModelConfig(name="tvae", epochs=2))
    result = run_pipeline(cfg)
    return result, folder / "run", table, planted


def test_at_least_twelve_shapes_are_planted() -> None:
    _, planted = _battery()
    assert len(planted) >= 12
    assert all(len(v) >= 10 for v in planted.values()), {k: len(v) for k, v in planted.items()}


def test_every_column_holding_an_identifier_is_protected(battery_run) -> None:
    _, out, table, _ = battery_run
    manifest = json.loads((out / "manifest.json").read_text())
    actions = {c["name"]: c["action"] for c in manifest["columns"]}
    ordinary = {"region", "age", "claim_amount", "premium", "is_fraud"}
    for column in set(table.columns) - ordinary:
        assert actions[column] in ("fake", "drop"), (column, actions[column])
        assert not next(c for c in manifest["columns"] if c["name"] == column)["modelled"]


def _needles(planted: dict[str, set[str]]) -> dict[str, str]:
    """Each planted identifier, casefolded, and its separator-free form (9+ digits)."""
    out = {}
    for shape, values in planted.items():
        for value in values:
            out[value.casefold()] = shape
            compact = re.sub(r"[ \-./()+]", "", value).casefold()
            if sum(ch.isdigit() for ch in compact) >= 9:
                out.setdefault(compact, shape)
    return out


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        return "\n".join(" | ".join(map(str, row)) for row in df.itertuples(index=False))
    # Binary files (model weights) too: a string pickled inside shows in its bytes.
    return path.read_bytes().decode("latin-1")


def _occurs(needle: str, text: str) -> bool:
    """``needle`` in ``text`` with no letter or digit right before or after it (inside a
    longer digit run it is a different number)."""
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(needle, start + 1)
    return False


def test_no_planted_identifier_in_any_file_of_the_run(battery_run) -> None:
    result, out, _, planted = battery_run
    needles = _needles(planted)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    # A tiny model may fail other gates: the output then sits in quarantine/, searched too.
    assert result.synthetic_path.is_file() and result.synthetic_path in files
    assert {"metrics.json", "manifest.json", "report.html", "report.json", "model/config.json",
            "expectations/synthetic_suite.json"} <= {p.relative_to(out).as_posix() for p in files}
    found: dict[str, set[str]] = {}
    for path in files:
        text = _file_text(path).casefold()
        for needle, shape in needles.items():
            if _occurs(needle, text):
                found.setdefault(path.relative_to(out).as_posix(), set()).add(shape)
    assert found == {}


def test_the_leak_scan_agrees_and_numbers_equal_by_chance_are_not_leaks(battery_run) -> None:
    _, out, _, _ = battery_run
    metrics = json.loads((out / "metrics.json").read_text())
    leakage = metrics["privacy"]["pii_leakage"]
    assert leakage["total"] == 0, leakage["message"]
    assert all(not f["leak"] for f in leakage["findings"])
    pii_gate = next(c for c in metrics["gates"]["checks"] if c["name"] == "pii_leaks")
    assert pii_gate["passed"] is True
