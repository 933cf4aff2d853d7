"""A claims table with the business rules a reviewer checks first, and the traps around them.

- ``total = injury + property + vehicle`` in every row (parts in whole currency units);
- ``fee = hours * 37.5`` rounded to cents;
- ``region -> country`` (a region fixes its country), and ``policy_type`` fixing two parts;
- ``paid <= total`` (an order whose columns overlap);
- ``incident`` and ``severity``: a parked car is never a total loss, a theft never a minor
  damage (only the real combinations occur);
- ``claim_ref``: unique per row, so it "fixes" every column; no rule may be built on it;
- ``adjuster``: a rule that holds only because each adjuster handled one or two claims
  (small support); it must not be kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def claims_rules(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    injury = rng.integers(0, 20_000, n)
    prop = rng.integers(0, 15_000, n)
    vehicle = rng.integers(1_000, 60_000, n)
    total = injury + prop + vehicle
    hours = np.round(rng.gamma(2.0, 3.0, n), 1)
    regions = {"North": "NL", "South": "NL", "Bavaria": "DE", "Saxony": "DE", "Wales": "UK"}
    region = rng.choice(list(regions), n)
    vehicle_kind = rng.choice(["Sedan", "Sport", "Utility"], n)
    cover = rng.choice(["Collision", "Liability"], n)
    incident = rng.choice(["Collision", "Parked", "Theft"], n, p=[0.6, 0.25, 0.15])
    severity = np.where(incident == "Collision", rng.choice(["Minor", "Major", "Total"], n),
                        np.where(incident == "Parked", rng.choice(["Minor", "Major"], n),
                                 rng.choice(["Major", "Total"], n)))
    return pd.DataFrame({
        "claim_ref": [f"C{i:06d}" for i in rng.permutation(n)],
        "region": region,
        "country": [regions[r] for r in region],
        "policy_type": [f"{v} - {c}" for v, c in zip(vehicle_kind, cover, strict=True)],
        "vehicle_kind": vehicle_kind,
        "cover": cover,
        "injury": injury,
        "property": prop,
        "vehicle": vehicle,
        "total": total,
        "paid": np.round(total * rng.uniform(0.3, 1.0, n)).astype(int),
        "hours": hours,
        "fee": np.round(hours * 37.5, 2),
        "adjuster": rng.integers(0, n // 2, n),
        "incident": incident,
        "severity": severity,
        "fraud": rng.choice(["N", "Y"], n, p=[0.9, 0.1]),
    })


__all__ = ["claims_rules"]
