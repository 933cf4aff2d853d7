"""Generated tables with the sharp dependencies that averages hide.

Real tables outside this repository showed synthpipe's defaults three kinds of dependency that a
model must learn exactly or be caught by any reviewer. Each generator below plants one kind, with
a rare fraud label whose signal lives in a few columns, so tests and benchmarks can check that a
default run recovers it:

- :func:`claims_months`: the month of the accident and the month of the claim are the same in
  74% of rows and the next month in 21% (an auto-insurance fraud table);
- :func:`policy_parts`: a policy type is fixed by two other columns (vehicle category and base
  policy are its parts);
- :func:`monthly_balances`: six monthly balances where each follows from the last (a
  credit-default table).

Used by tests/ (small sizes) and bench/ (real sizes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _fraud(logit: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A label with mean ``rate`` whose log-odds follow ``logit`` (intercept solved)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() > rate:
            hi = mid
        else:
            lo = mid
    p = 1 / (1 + np.exp(-(logit + lo)))
    return np.where(rng.random(len(p)) < p, "Yes", "No")


def claims_months(n: int = 7_500, seed: int = 0, fraud_rate: float = 0.06,
                  extra: int = 26) -> pd.DataFrame:
    """An auto-insurance claims table whose accident and claim months are tied.

    ``claim_month`` is the accident month in 74% of rows, the next month in 21% and two months
    later in 5%. Fraud is likelier for young drivers, collision claims, high amounts and claims
    filed a month or more after the accident. ``extra`` categorical columns (2 to 8 levels, half
    of them tied to the driver's age or the region) make it as wide as such tables are: a model
    then spreads its capacity over many columns, as on the real table.
    """
    rng = np.random.default_rng(seed)
    accident = rng.integers(0, 12, n)
    lag = rng.choice([0, 1, 2], size=n, p=[0.74, 0.21, 0.05])
    age = rng.choice(["16-25", "26-35", "36-50", "51-65", "66+"], n,
                     p=[0.12, 0.25, 0.33, 0.2, 0.1])
    kind = rng.choice(["Collision", "Liability", "All Perils"], n, p=[0.4, 0.35, 0.25])
    region = rng.choice(["North", "South", "East", "West", "Central"], n)
    amount = np.round(rng.lognormal(8.0, 0.7, n), 2)
    logit = (1.2 * (age == "16-25") + 0.8 * (kind == "Collision") + 0.9 * (lag > 0)
             + 0.6 * (amount > np.quantile(amount, 0.8)))
    out = pd.DataFrame({
        "accident_month": [MONTHS[m] for m in accident],
        "claim_month": [MONTHS[(m + d) % 12] for m, d in zip(accident, lag, strict=True)],
        "driver_age": age,
        "claim_kind": kind,
        "region": region,
        "amount": amount,
    })
    for j in range(extra):
        levels = [f"L{k}" for k in range(2 + j % 7)]
        draw = rng.integers(0, len(levels), n)
        if j % 2:  # tied to another column for most rows
            anchor = pd.factorize(age if j % 4 == 1 else region)[0]
            draw = np.where(rng.random(n) < 0.6, anchor % len(levels), draw)
        out[f"attr_{j + 1}"] = [levels[k] for k in draw]
    out["fraud"] = _fraud(logit, fraud_rate, rng)
    return out


def policy_parts(n: int = 5_000, seed: int = 0, fraud_rate: float = 0.06) -> pd.DataFrame:
    """A table where ``policy_type`` is fixed by ``vehicle_category`` and ``base_policy``."""
    rng = np.random.default_rng(seed)
    vehicle = rng.choice(["Sedan", "Sport", "Utility"], n, p=[0.6, 0.25, 0.15])
    base = rng.choice(["Collision", "Liability", "All Perils"], n, p=[0.4, 0.35, 0.25])
    deductible = rng.choice([300, 400, 500, 700], n, p=[0.1, 0.6, 0.2, 0.1])
    price = np.round(rng.lognormal(10, 0.5, n) * np.where(vehicle == "Sport", 1.6, 1.0), 0)
    logit = 1.0 * (vehicle == "Sport") + 0.7 * (base == "Collision") + 0.5 * (deductible == 700)
    return pd.DataFrame({
        "vehicle_category": vehicle,
        "base_policy": base,
        "policy_type": [f"{v} - {b}" for v, b in zip(vehicle, base, strict=True)],
        "deductible": deductible,
        "vehicle_price": price,
        "fraud": _fraud(logit, fraud_rate, rng),
    })


def monthly_balances(n: int = 5_000, seed: int = 0, default_rate: float = 0.2) -> pd.DataFrame:
    """Six monthly bill amounts, each the last one plus spending minus a payment.

    ``bill_2 .. bill_6`` follow ``bill_1`` closely (correlations above 0.9 in real credit
    tables); default is likelier for high utilisation and small payments.
    """
    rng = np.random.default_rng(seed)
    limit = np.round(rng.choice([10, 20, 50, 80, 120, 200], n) * 1000.0)
    bill = np.round(limit * rng.beta(2, 3, n), 0)
    bills, pays = [bill], []
    for _ in range(5):
        pay = np.round(bill * rng.beta(1, 4, n), 0)
        spend = np.round(rng.gamma(2.0, 0.02, n) * limit, 0)
        bill = np.clip(bill - pay + spend, 0, None)
        bills.append(bill)
        pays.append(pay)
    util = bills[-1] / limit
    logit = 2.5 * util - 3.0 * (pays[-1] / np.maximum(bills[-2], 1))
    out = {"limit": limit}
    out.update({f"bill_{i + 1}": b for i, b in enumerate(bills)})
    out.update({f"pay_{i + 1}": p for i, p in enumerate(pays)})
    out["default"] = _fraud(logit, default_rate, rng)
    return pd.DataFrame(out)


__all__ = ["claims_months", "monthly_balances", "policy_parts"]
