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

:func:`planted_table` puts the three side by side in one table (one default run checks all of
them) and :func:`planted_measures` measures each dependency on any frame that has its columns,
so a synthetic table is judged by the same numbers as the real one.

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


def planted_table(n: int = 6_500, seed: int = 0) -> pd.DataFrame:
    """The three dependencies in one table: months, policy parts and balances side by side.

    The months table keeps 12 of its extra columns (width without the cost of 26); its fraud
    label is the target. The other blocks are drawn independently of it (their own labels
    dropped), so each dependency is learned, or not, on its own.
    """
    months = claims_months(n=n, seed=seed, extra=12)
    policy = policy_parts(n=n, seed=seed + 1).drop(columns=["fraud"])
    balances = monthly_balances(n=n, seed=seed + 2).drop(columns=["default"])
    return pd.concat([months.drop(columns=["fraud"]), policy, balances, months[["fraud"]]],
                     axis=1)


def planted_measures(df: pd.DataFrame) -> dict[str, float]:
    """Each planted dependency as one number, for every block ``df`` has.

    - ``same_month``: share of rows whose claim month is the accident month (real: 0.74);
    - ``policy_parts``: share of rows whose policy type is "<vehicle category> - <base
      policy>" (real: 1.0);
    - ``bill_corr_min``: the lowest Pearson correlation of two consecutive monthly bills (real:
      about 0.9), and ``bill_follows``: share of rows where every bill is at least the last
      one minus its payment (real: 1.0, spending is never negative).
    """
    out: dict[str, float] = {}
    if {"accident_month", "claim_month"} <= set(df.columns):
        out["same_month"] = float((df["accident_month"] == df["claim_month"]).mean())
    if {"vehicle_category", "base_policy", "policy_type"} <= set(df.columns):
        parts = df["vehicle_category"].astype(str) + " - " + df["base_policy"].astype(str)
        out["policy_parts"] = float((parts == df["policy_type"].astype(str)).mean())
    bills = [f"bill_{i}" for i in range(1, 7)]
    if set(bills) <= set(df.columns):
        b = df[bills].astype(float)
        out["bill_corr_min"] = float(min(b[bills[i]].corr(b[bills[i + 1]]) for i in range(5)))
        if {f"pay_{i}" for i in range(1, 6)} <= set(df.columns):
            ok = np.ones(len(df), dtype=bool)
            for i in range(1, 6):
                floor = df[f"bill_{i}"].astype(float) - df[f"pay_{i}"].astype(float)
                ok &= df[f"bill_{i + 1}"].astype(float).to_numpy() >= floor.to_numpy() - 0.5
            out["bill_follows"] = float(ok.mean())
    return out


__all__ = ["claims_months", "monthly_balances", "planted_measures", "planted_table",
           "policy_parts"]
