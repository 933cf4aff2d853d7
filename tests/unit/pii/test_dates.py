"""Fake dates of birth that agree with the age column (synthpipe.pii.dates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthpipe.config import SAMPLE_TABLE
from synthpipe.pii import fill_output_columns, find_age_links
from synthpipe.pii.dates import dates_for_ages, whole_years
from tests.conftest import window_outside


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return pd.read_parquet(SAMPLE_TABLE).head(3000)


def test_whole_years_counts_completed_birthdays():
    born = pd.Series(pd.to_datetime(["2000-03-15", "2000-03-15", "2000-03-15", "2000-02-29",
                                     None]))
    on = pd.Series(pd.to_datetime(["2020-03-14", "2020-03-15", "2021-01-01", "2021-02-28",
                                   "2020-01-01"]))
    assert whole_years(born, on).tolist()[:4] == [19.0, 20.0, 20.0, 20.0]
    assert np.isnan(whole_years(born, on).iloc[4])


def test_find_age_links_finds_the_sample_relation_and_nothing_false(claims):
    candidates = [c for c in claims.columns if c != "date_of_birth"]
    links = find_age_links(claims, ["date_of_birth"], candidates)
    assert set(links) == {"date_of_birth"}
    link = links["date_of_birth"]
    assert (link.age, link.on) == ("age", "incident_date") and link.agreement >= 0.99
    # Without the reference date, or with the birth dates shuffled, there is no relation.
    assert find_age_links(claims, ["date_of_birth"], ["age", "policy_start_date"]) == {}
    shuffled = claims.assign(date_of_birth=claims["date_of_birth"].sample(
        frac=1.0, random_state=0).to_numpy())
    assert find_age_links(shuffled, ["date_of_birth"], candidates) == {}


def test_dates_for_ages_give_exactly_the_age_and_avoid_banned_days():
    rng = np.random.default_rng(0)
    n = 5000
    age = pd.Series(rng.integers(18, 91, n)).astype("float64")
    age[:50] = np.nan
    on = pd.Series(pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 1460, n), "D"))
    on[3] = pd.Timestamp("2024-02-29")  # a leap day: the birthday window must still be whole
    # Ban every other day of the whole span: each row's window still has ~182 free days.
    all_days = np.arange(np.datetime64("1920-01-01"), np.datetime64("2010-01-01")).astype(
        np.int64)
    banned = set(all_days[::2].tolist())
    born = dates_for_ages(age, on, banned, np.random.default_rng(1))
    assert born.iloc[:50].isna().all() and born.iloc[50:].notna().all()
    assert (whole_years(born, on)[50:] == age[50:]).all()
    days = born.dropna().to_numpy().astype("datetime64[D]").astype(np.int64)
    assert not np.isin(days, list(banned)).any()
    # Birthdays spread over the year, not piled on the reference day.
    assert born.dropna().dt.month.nunique() == 12


def test_fill_output_columns_follows_the_synthetic_age(claims):
    links = find_age_links(claims, ["date_of_birth"],
                           [c for c in claims.columns if c != "date_of_birth"])
    rng = np.random.default_rng(3)
    synthetic = pd.DataFrame({
        "age": rng.integers(18, 91, 800),
        "incident_date": claims["incident_date"].sample(800, random_state=1).to_numpy(),
        "claim_amount": rng.gamma(2.0, 1000.0, 800),
    })
    forbidden = {"date_of_birth": set(claims["date_of_birth"].astype(str))}
    out = fill_output_columns(
        synthetic, claims, ["date_of_birth"], {"date_of_birth": "datetime"},
        {"date_of_birth": "date_of_birth"}, seed=0, forbidden=forbidden, age_links=links,
    )
    assert out["date_of_birth"].dtype == claims["date_of_birth"].dtype
    born = out["date_of_birth"]
    known = born.notna()
    assert known.mean() > 0.9
    # Every birth date stays in the real range; it gives the row's age unless that age on that
    # date needs a birth date wholly outside the range (an age and date no real row combined).
    real_lo, real_hi = claims["date_of_birth"].min(), claims["date_of_birth"].max()
    assert born[known].between(real_lo, real_hi).all()
    agrees = whole_years(born[known], out.loc[known, "incident_date"]) == out.loc[known, "age"]
    outside = window_outside(out.loc[known, "age"], out.loc[known, "incident_date"],
                             real_lo, real_hi)
    assert outside.any(), "the test draws ages the real range cannot hold"
    assert (agrees | outside).all() and agrees[~outside].all()
    assert not born[known].isin(set(claims["date_of_birth"])).any()
    # Without the link the same call draws independent dates: most rows then disagree.
    plain = fill_output_columns(
        synthetic, claims, ["date_of_birth"], {"date_of_birth": "datetime"},
        {"date_of_birth": "date_of_birth"}, seed=0, forbidden=forbidden,
    )
    agree = whole_years(plain["date_of_birth"], plain["incident_date"]) == plain["age"]
    assert agree.mean() < 0.2


def test_text_dates_keep_their_layout(claims):
    real = claims[["date_of_birth", "age", "incident_date"]].copy()
    real["date_of_birth"] = real["date_of_birth"].dt.strftime("%m/%d/%Y")
    links = find_age_links(real, ["date_of_birth"], ["age", "incident_date"])
    assert set(links) == {"date_of_birth"}
    synthetic = real[["age", "incident_date"]].sample(300, random_state=2).reset_index(drop=True)
    out = fill_output_columns(synthetic, real, ["date_of_birth"], {},
                              {"date_of_birth": "date_of_birth"}, seed=1, age_links=links)
    text = out["date_of_birth"].dropna()
    assert text.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    parsed = pd.to_datetime(text, format="%m/%d/%Y")
    assert (whole_years(parsed, out.loc[text.index, "incident_date"])
            == out.loc[text.index, "age"]).all()


def test_dates_for_ages_stay_within_the_given_range():
    on = pd.Series(pd.to_datetime(["2022-06-15", "2022-06-15", "2022-06-15"]))
    age = pd.Series([30.0, 30.0, 95.0])
    lo = np.datetime64("1991-09-01").astype(np.int64)
    hi = np.datetime64("2000-01-01").astype(np.int64)
    born = dates_for_ages(age, on, set(), np.random.default_rng(0), within=(int(lo), int(hi)))
    # Age 30 on 2022-06-15: born 1991-06-16 .. 1992-06-15, cut to 1991-09-01 .. 1992-06-15.
    assert born.iloc[:2].between(pd.Timestamp("1991-09-01"), pd.Timestamp("1992-06-15")).all()
    assert (whole_years(born.iloc[:2], on.iloc[:2]) == 30).all()
    assert pd.isna(born.iloc[2])  # age 95 needs a date before 1991: none allowed
