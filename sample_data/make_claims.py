"""Generate the bundled sample table: synthetic auto-insurance claims with PII and rare fraud.

The table is made up from scratch (no real person is in it) but follows the shape of a claims
extract a fraud team works with: a policy holder with contact details, a policy, a vehicle, a
claim, and a fraud label that depends on the usual red flags. Everything is drawn from one seeded
numpy Generator and one seeded Faker instance, so the same seed gives the same table.

Run ``python sample_data/make_claims.py`` (options ``--seed``, ``--rows``, ``--out``,
``--no-check``). See sample_data/README.md for the story behind every column.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

log = logging.getLogger(__name__)

DEFAULT_SEED = 7
DEFAULT_ROWS = 20_000
DEFAULT_OUT = Path(__file__).resolve().parent / "claims.parquet"
TARGET_FRAUD_RATE = 0.02

COLUMNS = [
    "claim_id",
    "policy_number",
    "claimant_name",
    "email",
    "phone",
    "ssn",
    "date_of_birth",
    "street_address",
    "zip_code",
    "state",
    "age",
    "gender",
    "occupation",
    "policy_start_date",
    "incident_date",
    "report_date",
    "claim_type",
    "vehicle_make",
    "vehicle_year",
    "claim_amount",
    "deductible",
    "annual_premium",
    "prior_claims",
    "police_report",
    "witness_present",
    "agent_id",
    "is_fraud",
]

# State -> (population in millions, 2020 census rounded; first and last 3-digit ZIP prefix).
# Population drives where policy holders live; the prefix range keeps each ZIP in its state.
STATES: dict[str, tuple[float, int, int]] = {
    "CA": (39.5, 900, 961),
    "TX": (29.1, 750, 799),
    "FL": (21.5, 320, 349),
    "NY": (20.2, 100, 149),
    "PA": (13.0, 150, 196),
    "IL": (12.8, 600, 629),
    "OH": (11.8, 430, 459),
    "GA": (10.7, 300, 319),
    "NC": (10.4, 270, 289),
    "MI": (10.1, 480, 499),
    "NJ": (9.3, 70, 89),
    "VA": (8.6, 220, 246),
    "WA": (7.7, 980, 994),
    "AZ": (7.2, 850, 865),
    "MA": (7.0, 10, 27),
    "TN": (6.9, 370, 385),
    "IN": (6.8, 460, 479),
    "MD": (6.2, 206, 219),
    "MO": (6.2, 630, 658),
    "WI": (5.9, 530, 549),
    "CO": (5.8, 800, 816),
    "MN": (5.7, 550, 567),
    "SC": (5.1, 290, 299),
    "AL": (5.0, 350, 369),
    "LA": (4.7, 700, 714),
    "KY": (4.5, 400, 427),
    "OR": (4.2, 970, 979),
    "OK": (4.0, 730, 749),
    "CT": (3.6, 60, 69),
    "UT": (3.3, 840, 847),
    "IA": (3.2, 500, 528),
    "NV": (3.1, 889, 898),
    "AR": (3.0, 716, 729),
    "MS": (3.0, 386, 397),
    "KS": (2.9, 660, 679),
    "NM": (2.1, 870, 884),
    "NE": (2.0, 680, 693),
    "ID": (1.8, 832, 838),
    "WV": (1.8, 247, 268),
    "HI": (1.5, 967, 968),
    "NH": (1.4, 30, 38),
    "ME": (1.4, 39, 49),
    "RI": (1.1, 28, 29),
    "MT": (1.1, 590, 599),
    "DE": (1.0, 197, 199),
    "SD": (0.9, 570, 577),
    "ND": (0.8, 580, 588),
    "AK": (0.7, 995, 999),
    "VT": (0.6, 50, 59),
    "WY": (0.6, 820, 831),
}
# No-fault states and dense cities make cover dearer there.
EXPENSIVE_STATES = {"MI", "LA", "FL", "NY", "NV", "DE", "CA", "NJ"}

# claim type -> (share of claims, median amount in USD, log-sd, P(police report), P(witness),
# fraud log-odds shift). Theft and injury claims are where staged fraud concentrates.
CLAIM_TYPES: dict[str, tuple[float, float, float, float, float, float]] = {
    "collision": (0.38, 5200.0, 0.75, 0.62, 0.35, 0.0),
    "liability": (0.16, 7000.0, 0.85, 0.72, 0.45, 0.1),
    "comprehensive": (0.13, 3100.0, 0.70, 0.30, 0.10, 0.0),
    "glass": (0.13, 450.0, 0.35, 0.05, 0.05, -0.9),
    "theft": (0.07, 9500.0, 0.60, 0.90, 0.08, 0.9),
    "vandalism": (0.06, 1800.0, 0.60, 0.55, 0.10, 0.2),
    "bodily_injury": (0.07, 18000.0, 0.95, 0.85, 0.50, 0.5),
}

MAKES: dict[str, float] = {
    "Toyota": 0.15,
    "Ford": 0.13,
    "Chevrolet": 0.12,
    "Honda": 0.10,
    "Nissan": 0.07,
    "Hyundai": 0.06,
    "Jeep": 0.05,
    "Kia": 0.05,
    "Subaru": 0.04,
    "Ram": 0.04,
    "Dodge": 0.03,
    "GMC": 0.03,
    "Volkswagen": 0.03,
    "BMW": 0.03,
    "Mercedes-Benz": 0.03,
    "Tesla": 0.02,
    "Mazda": 0.02,
}
LUXURY_MAKES = {"BMW", "Mercedes-Benz", "Tesla"}

# Working-age occupations with rough labour-force shares; students and retirees depend on age.
OCCUPATIONS: dict[str, float] = {
    "accountant": 0.04,
    "clerical": 0.08,
    "construction": 0.07,
    "driver": 0.06,
    "engineer": 0.05,
    "farmer": 0.02,
    "healthcare": 0.07,
    "homemaker": 0.04,
    "it_professional": 0.05,
    "lawyer": 0.02,
    "manager": 0.08,
    "mechanic": 0.04,
    "military": 0.02,
    "nurse": 0.05,
    "retail": 0.08,
    "sales": 0.08,
    "self_employed": 0.06,
    "teacher": 0.05,
    "unemployed": 0.04,
}

STREET_NAMES = [
    "Oak",
    "Maple",
    "Pine",
    "Cedar",
    "Elm",
    "Main",
    "Park",
    "Lake",
    "Hill",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Highland",
    "Sunset",
    "River",
    "Church",
    "Mill",
    "Spring",
    "Meadow",
    "Forest",
    "Walnut",
    "Chestnut",
    "Willow",
    "Center",
    "Ridge",
    "1st",
    "2nd",
    "3rd",
    "4th",
    "5th",
    "6th",
    "7th",
    "8th",
    "9th",
    "10th",
    "12th",
    "14th",
    "Market",
    "Union",
]
STREET_SUFFIXES = {
    "St": 0.27,
    "Ave": 0.20,
    "Dr": 0.14,
    "Rd": 0.12,
    "Ln": 0.09,
    "Ct": 0.06,
    "Blvd": 0.04,
    "Way": 0.04,
    "Pl": 0.04,
}
EMAIL_DOMAINS = {
    "gmail.com": 0.38,
    "yahoo.com": 0.14,
    "outlook.com": 0.10,
    "hotmail.com": 0.08,
    "icloud.com": 0.08,
    "aol.com": 0.05,
    "comcast.net": 0.05,
    "att.net": 0.03,
    "verizon.net": 0.03,
    "msn.com": 0.03,
    "protonmail.com": 0.03,
}

INCIDENT_START = pd.Timestamp("2022-01-01")
INCIDENT_END = pd.Timestamp("2025-12-31")


def _choice(rng: np.random.Generator, table: dict[str, float], size: int) -> np.ndarray:
    """Draw labels with the (renormalised) weights of ``table``."""
    labels = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return rng.choice(labels, size=size, p=p / p.sum())


def _unique_ints(rng: np.random.Generator, low: int, high: int, size: int) -> np.ndarray:
    """``size`` distinct integers in [low, high)."""
    # An int population lets numpy sample without materialising the whole range.
    return low + rng.choice(high - low, size=size, replace=False)


def _digits(rng: np.random.Generator, low: int, high: int, size: int, width: int) -> pd.Series:
    """Zero-padded decimal strings of integers drawn in [low, high)."""
    return pd.Series(rng.integers(low, high, size=size)).astype(str).str.zfill(width)


def _exact_age(born: pd.Series, on: pd.Series) -> np.ndarray:
    """Whole years between ``born`` and ``on`` (the age a claims form would record)."""
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    return (on.dt.year - born.dt.year - before_birthday.astype(int)).to_numpy()


def _people(rng: np.random.Generator, fake: Faker, n: int) -> pd.DataFrame:
    """One policy holder per policy: identity, contact details and home address."""
    gender = rng.choice(np.array(["F", "M", "X"], dtype=object), size=n, p=[0.495, 0.495, 0.01])
    first_by_gender = {
        "F": fake.first_name_female,
        "M": fake.first_name_male,
        "X": fake.first_name_nonbinary,
    }
    # Faker per person is the sanctioned exception to vectorising: ~16k calls, well under 1 s.
    first = np.array([first_by_gender[g]() for g in gender], dtype=object)
    last = np.array([fake.last_name() for _ in range(n)], dtype=object)
    name = pd.Series(first) + " " + pd.Series(last)

    # Email local parts follow the handful of styles people actually pick.
    f_low = pd.Series(first).str.lower().str.replace(r"[^a-z]", "", regex=True)
    l_low = pd.Series(last).str.lower().str.replace(r"[^a-z]", "", regex=True)
    style = rng.integers(0, 4, size=n)
    local = np.select(
        [style == 0, style == 1, style == 2],
        [f_low + "." + l_low, f_low.str[0] + l_low, f_low + "_" + l_low],
        default=f_low + l_low.str[0],
    )
    digits = pd.Series(rng.integers(1, 9999, size=n)).astype(str)
    with_digits = rng.random(n) < 0.65
    local = pd.Series(np.where(with_digits, pd.Series(local) + digits, local))
    domain = pd.Series(_choice(rng, EMAIL_DOMAINS, n))
    email = local + "@" + domain
    # Two people with the same name and style would share an address; real providers refuse
    # that, so the later ones get more digits.
    for _ in range(10):
        dup = email.duplicated().to_numpy()
        if not dup.any():
            break
        extra = pd.Series(rng.integers(10, 999, size=int(dup.sum()))).astype(str).to_numpy()
        local.loc[dup] = local.loc[dup] + extra
        email.loc[dup] = local.loc[dup] + "@" + domain.loc[dup]

    area = rng.integers(2, 10, size=n) * 100 + rng.integers(0, 9, size=n) * 10
    area = area + rng.integers(0, 10, size=n)
    area = np.where(area % 100 == 11, area + 1, area)  # N11 codes are service numbers
    exchange = rng.integers(200, 1000, size=n)
    exchange = np.where(exchange % 100 == 11, exchange + 1, exchange)
    line = pd.Series(rng.integers(0, 10_000, size=n)).astype(str).str.zfill(4)
    phone = "(" + pd.Series(area).astype(str) + ") " + pd.Series(exchange).astype(str) + "-" + line

    # SSN: area 001-899 without 666, group 01-99, serial 0001-9999; unique per person.
    ssn_area = rng.integers(1, 900, size=3 * n)
    ssn_area = ssn_area[ssn_area != 666]
    ssn = (
        pd.Series(ssn_area[: 2 * n]).astype(str).str.zfill(3)
        + "-"
        + _digits(rng, 1, 100, 2 * n, 2)
        + "-"
        + _digits(rng, 1, 10_000, 2 * n, 4)
    )
    ssn = ssn.drop_duplicates().iloc[:n].reset_index(drop=True)

    state = pd.Series(_choice(rng, {s: v[0] for s, v in STATES.items()}, n))
    lo = state.map({s: v[1] for s, v in STATES.items()}).to_numpy()
    hi = state.map({s: v[2] for s, v in STATES.items()}).to_numpy()
    prefix = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    zip_code = pd.Series(prefix * 100 + rng.integers(0, 100, size=n)).astype(str).str.zfill(5)

    house = np.clip(np.round(np.exp(rng.normal(6.3, 1.3, size=n))), 1, 19_999).astype(int)
    use_faker_street = rng.random(n) < 0.55
    street_base = np.where(
        use_faker_street,
        np.array([fake.last_name() for _ in range(n)], dtype=object),
        rng.choice(np.array(STREET_NAMES, dtype=object), size=n),
    )
    suffix = _choice(rng, STREET_SUFFIXES, n)
    address = pd.Series(house).astype(str) + " " + pd.Series(street_base) + " " + suffix
    has_apt = rng.random(n) < 0.06
    apt = " Apt " + pd.Series(rng.integers(1, 400, size=n)).astype(str)
    address = pd.Series(np.where(has_apt, address + apt, address))

    return pd.DataFrame(
        {
            "claimant_name": name,
            "email": email,
            "phone": phone,
            "ssn": ssn,
            "street_address": address,
            "zip_code": zip_code,
            "state": state,
            "gender": gender,
        }
    )


def _occupation(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Occupation with age structure: students young, retirees old, ~2% unknown."""
    n = len(age)
    occ = _choice(rng, OCCUPATIONS, n)
    u = rng.random(n)
    occ = np.where((age < 24) & (u < 0.45), "student", occ)
    occ = np.where((age >= 65) & (u < 0.65), "retired", occ)
    occ = np.where((age >= 58) & (age < 65) & (u < 0.15), "retired", occ)
    return np.where(rng.random(n) < 0.02, None, occ).astype(object)


def generate_claims(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the claims table.

    Args:
        rows: Number of claims.
        seed: Seed of the numpy Generator and of Faker; same seed, same table.

    Returns:
        The claims, one row per claim, in the columns and dtypes of ``COLUMNS`` (see README).

    Raises:
        ValueError: ``rows`` is smaller than 100 (too few to hold any fraud).
    """
    if rows < 100:
        raise ValueError(f"rows={rows} is too small; use at least 100 so some claims are fraud")
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)

    # Policies with 1-3 claims each, cut to exactly `rows` claims.
    per_policy = rng.choice([1, 2, 3], size=rows, p=[0.80, 0.15, 0.05])
    n_pol = int(np.searchsorted(np.cumsum(per_policy), rows) + 1)
    per_policy = per_policy[:n_pol]
    per_policy[-1] -= int(per_policy.sum() - rows)
    pol_idx = np.repeat(np.arange(n_pol), per_policy)
    claim_no = np.concatenate([np.arange(k) for k in per_policy])

    people = _people(rng, fake, n_pol)

    # Incident dates: uniform over the window; within a policy sorted so claim 1 comes first.
    span = (INCIDENT_END - INCIDENT_START).days + 1
    inc_days = rng.integers(0, span, size=rows)
    order = np.lexsort((inc_days, pol_idx))
    inc_days = inc_days[order]
    incident = pd.Series(INCIDENT_START + pd.to_timedelta(inc_days, unit="D"))
    first_inc_pol = incident.groupby(pol_idx).min()

    # Tenure at the first claim: mostly a couple of years, plus a band of brand-new policies.
    tenure = np.exp(rng.normal(6.4, 1.0, size=n_pol))
    new_pol = rng.random(n_pol) < 0.07
    tenure = np.where(new_pol, rng.uniform(1, 60, size=n_pol), tenure)
    tenure = np.clip(np.round(tenure), 1, 365 * 15).astype(int)
    policy_start = first_inc_pol.to_numpy() - pd.to_timedelta(tenure, unit="D").to_numpy()

    # Age at the first claim drives date of birth; later claims age the holder by < 4 years.
    age0 = np.clip(np.round(17.5 + rng.gamma(2.2, 12.5, size=n_pol)), 18, 86).astype(int)
    dob = first_inc_pol - pd.to_timedelta(
        np.round(age0 * 365.25 + rng.uniform(0, 364, size=n_pol)), unit="D"
    )
    dob = pd.Series(dob.to_numpy()).dt.normalize()
    dob_row = pd.Series(dob.to_numpy()[pol_idx])
    age = _exact_age(dob_row, incident)
    # The day arithmetic above can land a day either side of a birthday; nudge the rare
    # holder who comes out under 18 or over 90 into range by a year.
    age_first = _exact_age(dob, first_inc_pol.reset_index(drop=True))
    shift = np.where(age_first < 18, 366, 0) - np.where(age_first + 4 > 90, 366, 0)
    if shift.any():
        dob = dob + pd.to_timedelta(-shift, unit="D")
        dob_row = pd.Series(dob.to_numpy()[pol_idx])
        age = _exact_age(dob_row, incident)
    occupation = _occupation(rng, age0)

    # Vehicle per policy: mostly recent, never newer than the first incident year + 1.
    make = _choice(rng, MAKES, n_pol)
    inc_year = first_inc_pol.dt.year.to_numpy()
    year = inc_year + 1 - np.round(rng.gamma(2.0, 3.8, size=n_pol)).astype(int)
    year = np.where(make == "Tesla", np.maximum(year, 2012), year)
    year = np.clip(year, 1995, inc_year + 1)
    deductible = rng.choice([250, 500, 1000, 2000], size=n_pol, p=[0.15, 0.45, 0.30, 0.10])
    prior_base = np.minimum(rng.negative_binomial(1.2, 0.72, size=n_pol), 6)

    # Agents: ~200 with a skewed book size; a few work in areas rife with staged claims.
    agent_codes = _unique_ints(rng, 1, 10_000, 200)
    agent_share = rng.dirichlet(np.full(200, 1.5))
    agent_pol = rng.choice(200, size=n_pol, p=agent_share)
    exposed_agent = rng.random(200) < 0.08

    # Premium: a base rate scaled by the usual rating factors, with a little noise.
    age_factor = np.select([age0 < 25, age0 < 30, age0 < 65], [1.85, 1.25, 1.0], default=1.15)
    veh_factor = np.where(np.isin(make, list(LUXURY_MAKES)), 1.35, 1.0) * (
        1.0 + 0.02 * np.clip(year - 2010, -10, 16)
    )
    ded_factor = pd.Series(deductible).map({250: 1.15, 500: 1.0, 1000: 0.87, 2000: 0.75})
    state_factor = np.where(people["state"].isin(EXPENSIVE_STATES), 1.3, 1.0)
    premium = (
        1350.0
        * age_factor
        * veh_factor
        * ded_factor.to_numpy()
        * state_factor
        * (1.0 + 0.09 * prior_base)
        * np.exp(rng.normal(0.0, 0.12, size=n_pol))
    )

    # Claims.
    types = list(CLAIM_TYPES)
    spec = np.array([CLAIM_TYPES[t] for t in types])
    t_idx = rng.choice(len(types), size=rows, p=spec[:, 0] / spec[:, 0].sum())
    claim_type = np.array(types, dtype=object)[t_idx]
    log_median, log_sd = np.log(spec[t_idx, 1]), spec[t_idx, 2]
    z_amount = rng.normal(0.0, 1.0, size=rows)
    # A few large losses (total loss, litigation) fatten the tail beyond the lognormal.
    large = rng.random(rows) < 0.04
    log_amount = log_median + log_sd * z_amount + np.where(large, rng.normal(1.0, 0.4, rows), 0)
    claim_amount = np.round(np.maximum(np.exp(log_amount), 50.0), 2)

    delay_kind = rng.choice(3, size=rows, p=[0.70, 0.25, 0.05])
    delay = np.select(
        [delay_kind == 0, delay_kind == 1],
        [rng.geometric(0.45, size=rows) - 1, rng.integers(3, 31, size=rows)],
        default=np.clip(np.round(np.exp(rng.normal(4.0, 0.7, size=rows))), 31, 365),
    ).astype(int)
    report = incident + pd.to_timedelta(delay, unit="D")

    police = rng.random(rows) < spec[t_idx, 3]
    police_missing = rng.random(rows) < 0.03
    witness = rng.random(rows) < spec[t_idx, 4]
    prior_claims = np.minimum(prior_base[pol_idx] + claim_no, 8)
    days_on_policy = (incident - policy_start[pol_idx]).dt.days.to_numpy()

    # Fraud: a logistic score over the red flags investigators use, plus noise they cannot see.
    score = (
        0.9 * np.log1p(delay)
        + 1.6 * (days_on_policy < 60)
        + 0.7 * (days_on_policy < 180)
        + 0.9 * np.clip(z_amount + large * 1.5, -3.0, 4.0)
        + 1.1 * (~police & ~police_missing)
        + 0.5 * police_missing
        + 0.40 * prior_claims
        + 1.3 * exposed_agent[agent_pol][pol_idx]
        + 1.3 * spec[t_idx, 5]
        - 0.6 * witness
        + 0.4 * (age < 25)
        + rng.normal(0.0, 0.6, size=rows)
    )
    intercept = _calibrate_intercept(score, TARGET_FRAUD_RATE)
    is_fraud = rng.random(rows) < 1.0 / (1.0 + np.exp(-(score + intercept)))

    vehicle_year = pd.array(year[pol_idx], dtype="Int64")
    vehicle_year[rng.random(rows) < 0.01] = pd.NA
    police_report = pd.array(police, dtype="boolean")
    police_report[police_missing] = pd.NA
    email = people["email"].to_numpy()[pol_idx].astype(object)
    email[rng.random(rows) < 0.01] = None

    df = pd.DataFrame(
        {
            "policy_number": (
                "POL-" + pd.Series(_unique_ints(rng, 10**7, 10**8, n_pol)).astype(str)
            ).to_numpy()[pol_idx],
            "claimant_name": people["claimant_name"].to_numpy()[pol_idx],
            "email": email,
            "phone": people["phone"].to_numpy()[pol_idx],
            "ssn": people["ssn"].to_numpy()[pol_idx],
            "date_of_birth": dob_row.to_numpy(),
            "street_address": people["street_address"].to_numpy()[pol_idx],
            "zip_code": people["zip_code"].to_numpy()[pol_idx],
            "state": people["state"].to_numpy()[pol_idx],
            "age": age.astype("int64"),
            "gender": people["gender"].to_numpy()[pol_idx],
            "occupation": occupation[pol_idx],
            "policy_start_date": policy_start[pol_idx],
            "incident_date": incident.to_numpy(),
            "report_date": report.to_numpy(),
            "claim_type": claim_type,
            "vehicle_make": make[pol_idx],
            "vehicle_year": vehicle_year,
            "claim_amount": claim_amount,
            "deductible": deductible[pol_idx].astype("int64"),
            "annual_premium": np.round(premium[pol_idx], 2),
            "prior_claims": prior_claims.astype("int64"),
            "police_report": police_report,
            "witness_present": witness,
            "agent_id": ("AGT-" + pd.Series(agent_codes).astype(str).str.zfill(4)).to_numpy()[
                agent_pol
            ][pol_idx],
            "is_fraud": is_fraud,
        }
    )
    # Claim numbers are issued in the order claims are reported.
    df = df.sort_values(["report_date", "incident_date", "policy_number"], kind="stable")
    df = df.reset_index(drop=True)
    claim_ids = np.sort(_unique_ints(rng, 10**6, 10**7, rows))
    df.insert(0, "claim_id", "CLM-" + pd.Series(claim_ids).astype(str))
    for c in ("date_of_birth", "policy_start_date", "incident_date", "report_date"):
        df[c] = df[c].astype("datetime64[ns]")
    return df[COLUMNS]


def _calibrate_intercept(score: np.ndarray, rate: float) -> float:
    """Intercept that makes the mean fraud probability equal ``rate`` (bisection)."""
    lo, hi = -30.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(score + mid)))) > rate:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def fraud_features(df: pd.DataFrame) -> pd.DataFrame:
    """The features a fraud analyst would derive from the table (numbers and label codes)."""

    def cat(s: pd.Series) -> pd.Series:
        return s.astype("category").cat.codes.astype(float)

    return pd.DataFrame(
        {
            "report_delay": (df["report_date"] - df["incident_date"]).dt.days,
            "days_on_policy": (df["incident_date"] - df["policy_start_date"]).dt.days,
            "claim_amount": df["claim_amount"],
            "claim_type": cat(df["claim_type"]),
            "police_report": df["police_report"].astype("float64"),
            "witness_present": df["witness_present"].astype(float),
            "prior_claims": df["prior_claims"],
            "agent": cat(df["agent_id"]),
            "age": df["age"],
            "deductible": df["deductible"],
            "annual_premium": df["annual_premium"],
            "vehicle_year": df["vehicle_year"].astype("float64"),
        }
    )


def fraud_signal_check(df: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """Hold out 20%, fit a gradient-boosted classifier on 80%, score the holdout.

    Returns:
        ``fraud_rate``, ``roc_auc``, ``pr_auc`` (average precision) and ``holdout_fraud_rate``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    x = fraud_features(df)
    y = df["is_fraud"].to_numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    clf = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        categorical_features=["claim_type", "agent"],
        random_state=seed,
    )
    # One thread: on a small shared machine OpenMP threads contend and run far slower.
    with threadpool_limits(1):
        clf.fit(x_tr, y_tr)
        p = clf.predict_proba(x_te)[:, 1]
    return {
        "fraud_rate": float(y.mean()),
        "holdout_fraud_rate": float(y_te.mean()),
        "roc_auc": float(roc_auc_score(y_te, p)),
        "pr_auc": float(average_precision_score(y_te, p)),
    }


def write_parquet_atomic(df: pd.DataFrame, out: Path) -> None:
    """Write ``df`` to ``out`` via a temp file in the same folder and ``os.replace``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.to_parquet(tmp, engine="pyarrow", index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes the file owner-only; the table is shared data
        os.replace(tmp, out)
    finally:
        # After a successful replace the temp name is gone; after a failure, drop the debris.
        Path(tmp).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (7)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="claims (20000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output parquet")
    parser.add_argument(
        "--no-check", action="store_true", help="skip the held-out classifier check"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    df = generate_claims(args.rows, args.seed)
    write_parquet_atomic(df, args.out)
    log.info("wrote %s: %d rows x %d columns", args.out, len(df), df.shape[1])
    if not args.no_check:
        m = fraud_signal_check(df, seed=0)
        log.info(
            "fraud rate %.2f%%; held-out ROC-AUC %.3f, PR-AUC %.3f (base rate %.3f)",
            100 * m["fraud_rate"],
            m["roc_auc"],
            m["pr_auc"],
            m["holdout_fraud_rate"],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
