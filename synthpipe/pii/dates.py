"""Fake dates: in the real range, on no real day, and agreeing with the table's age column.

:func:`fake_date_values` draws dates between the first and last real date on days no real
value (nor a forbidden one) falls on, in the column's dtype, timezone or text layout.

A table often holds both a date of birth and an age, the age being the whole years between
the birth date and another date of the row (``age`` on ``incident_date``, say). The date of
birth is a direct identifier, so it is never modelled: synthetic rows get fake dates. Drawn
independently of the synthetic age, those dates would contradict it in almost every row.

:func:`find_age_links` finds such relations in the REAL table (at least
:data:`MIN_AGREEMENT` of the complete rows must follow it); :func:`dates_for_ages` then draws,
for each synthetic row, a birth date uniformly among the days that give exactly the row's age
on the row's reference date, avoiding the days of real birth dates like every fake date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthpipe.errors import ModelError
from synthpipe.pii.generators import place_values
from synthpipe.pii.text import canonical_text

#: Share of the complete real rows that must follow the relation for it to be kept.
MIN_AGREEMENT = 0.99
#: Complete real rows needed before a relation is believed.
MIN_ROWS = 20
#: Ages outside this range are not ages.
MAX_AGE = 150


@dataclass(frozen=True)
class AgeLink:
    """``age == whole years from <date column> to on``, in the real table."""

    age: str
    on: str
    agreement: float

    def to_dict(self) -> dict:
        """JSON-able form (for the manifest)."""
        return {"age": self.age, "on": self.on, "agreement": round(self.agreement, 4)}


def _as_dates(s: pd.Series) -> pd.Series:
    """Timezone-naive dates at midnight (NaT where missing or unparsable)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize()


def whole_years(born: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years from ``born`` to ``on`` (the age on that date), float with NaN gaps."""
    b, o = _as_dates(born), _as_dates(on)
    years = o.dt.year - b.dt.year
    before_birthday = (o.dt.month < b.dt.month) | (
        (o.dt.month == b.dt.month) & (o.dt.day < b.dt.day)
    )
    return (years - before_birthday.astype("float64")).astype("float64")


def _age_like(s: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    v = pd.to_numeric(s, errors="coerce").dropna()
    return len(v) > 0 and bool(((v % 1) == 0).all()) and v.min() >= 0 and v.max() <= MAX_AGE


def find_age_links(real: pd.DataFrame, birth_columns: Iterable[str],
                   candidates: Iterable[str]) -> dict[str, AgeLink]:
    """Per birth-date column, the (age, reference date) pair of ``candidates`` it agrees with.

    Args:
        real: The real table (before any faking).
        birth_columns: Date columns to be faked.
        candidates: Columns that the synthetic rows will carry (modelled ones): ages are
            whole-number columns within [0, 150], reference dates are date columns.

    Returns:
        ``{birth column: AgeLink}`` for relations followed by at least ``MIN_AGREEMENT`` of at
        least ``MIN_ROWS`` complete rows; the best-agreeing pair when several qualify.
    """
    candidates = [c for c in candidates if c in real.columns]
    ages = [c for c in candidates if _age_like(real[c])]
    dates = [c for c in candidates if pd.api.types.is_datetime64_any_dtype(real[c])]
    links: dict[str, AgeLink] = {}
    for born in birth_columns:
        if born not in real.columns or not ages or not dates:
            continue
        best: AgeLink | None = None
        for on in (d for d in dates if d != born):
            years = whole_years(real[born], real[on])
            for age in ages:
                a = pd.to_numeric(real[age], errors="coerce").astype("float64")
                complete = years.notna() & a.notna()
                if int(complete.sum()) < MIN_ROWS:
                    continue
                share = float((years[complete] == a[complete]).mean())
                if share >= MIN_AGREEMENT and (best is None or share > best.agreement):
                    best = AgeLink(age=str(age), on=str(on), agreement=share)
        if best is not None:
            links[str(born)] = best
    return links


def _shift_years(on: pd.Series, years: np.ndarray) -> np.ndarray:
    """``on`` minus ``years`` calendar years as day numbers (29 Feb -> 28 Feb when needed)."""
    year = on.dt.year.to_numpy() - years
    month = on.dt.month.to_numpy()
    day = on.dt.day.to_numpy()
    first = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
    last_day = first.dt.days_in_month.to_numpy()
    shifted = first + pd.to_timedelta(np.minimum(day, last_day) - 1, unit="D")
    return shifted.to_numpy().astype("datetime64[D]").astype(np.int64)


def dates_for_ages(age: pd.Series, on: pd.Series, banned_days: set[int],
                   rng: np.random.Generator,
                   within: tuple[int, int] | None = None) -> pd.Series:
    """Birth dates giving exactly ``age`` on ``on``, avoiding ``banned_days``.

    Args:
        age: Whole-number ages (rows with a gap, or with no age, get NaT).
        on: Reference dates, aligned with ``age``.
        banned_days: Day numbers (days since 1970-01-01) no output may fall on.
        rng: Random source.
        within: First and last allowed day number (the real column's range: a synthetic age
            and date the real rows never combined can ask for a birth date before the oldest
            real one, which the output's derived suite rejects).

    Returns:
        ``datetime64[ns]`` birth dates at midnight, uniform over the allowed days of each
        row's window; NaT where ``age`` or ``on`` is missing or no day of the window is
        allowed.
    """
    a = pd.to_numeric(age, errors="coerce").to_numpy(dtype="float64")
    ref = _as_dates(on).reset_index(drop=True)
    ok = ~np.isnan(a) & ref.notna().to_numpy() & (a >= 0) & (a <= MAX_AGE)
    out = np.full(len(a), np.iinfo(np.int64).min, dtype=np.int64)
    if ok.any():
        years = a[ok].astype(np.int64)
        r = ref[ok]
        # Born on [on - (age + 1) years + 1 day, on - age years]: exactly `age` on `on`.
        latest = _shift_years(r, years)
        earliest = _shift_years(r, years + 1) + 1
        # Uniform over the free days of each row's window: the free days of the whole span,
        # sorted, and each window's slice of them found by binary search.
        lo, hi = earliest.min(), latest.max()
        if within is not None:
            lo, hi = max(lo, within[0]), min(hi, within[1])
        free = np.arange(lo, hi + 1, dtype=np.int64)
        if banned_days:
            free = free[~np.isin(free, np.fromiter(banned_days, dtype=np.int64))]
        first = np.searchsorted(free, earliest, side="left")
        count = np.searchsorted(free, latest, side="right") - first
        pick = first + (rng.random(len(years)) * count).astype(np.int64)
        has_free = count > 0
        days = np.full(len(years), np.iinfo(np.int64).min, dtype=np.int64)
        days[has_free] = free[pick[has_free]]
        out[ok] = days
    # The smallest int64 is NaT as a datetime64.
    result = out.astype("datetime64[D]").astype("datetime64[ns]")
    return pd.Series(result, name=getattr(age, "name", None))


# ----------------------------------------------------------------------------- fake dates


def _real_dates(like: pd.Series) -> pd.Series:
    """The parsable dates of ``like`` (its dtype and timezone kept)."""
    if pd.api.types.is_datetime64_any_dtype(like):
        return like.dropna()
    return pd.to_datetime(like.dropna(), errors="coerce", format="mixed").dropna()


def _day_numbers(dates: pd.Series) -> set[int]:
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return set(dates.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64).tolist())


def banned_day_numbers(like: pd.Series, forbidden: set | None) -> set[int]:
    """Days (since 1970-01-01) of the real dates in ``like`` and in ``forbidden``."""
    banned = _day_numbers(_real_dates(like))
    if forbidden:
        extra = pd.to_datetime(
            pd.Series(list(forbidden), dtype=object), errors="coerce", format="mixed"
        ).dropna()
        if len(extra):
            banned |= _day_numbers(extra)
    return banned


def _dates_out(drawn: pd.Series, like: pd.Series) -> pd.Series:
    """Naive ``datetime64[ns]`` dates in ``like``'s form: its dtype and timezone, or, for text
    dates, the real column's most common layout."""
    tz = getattr(_real_dates(like).dt, "tz", None)
    if tz is not None:
        drawn = drawn.dt.tz_localize(tz)
    if pd.api.types.is_datetime64_any_dtype(like):
        return drawn.astype(like.dtype)
    fmt = _date_format(canonical_text(like.dropna()))
    return drawn.dt.strftime(fmt).astype(object)


def is_date_pii(like: pd.Series, pii_type: str) -> bool:
    """Whether ``like`` is faked as dates (a date type, or a datetime dtype)."""
    return pii_type in ("date_of_birth", "date") or pd.api.types.is_datetime64_any_dtype(like)


def _fake_dates(
    like: pd.Series, banned: set[int], n_draw: int, rng: np.random.Generator
) -> pd.Series:
    """Dates in the real range on none of the ``banned`` days (see :func:`banned_days`)."""
    real = _real_dates(like)
    if not len(real):
        raise ModelError(
            f"column {like.name!r} has no parsable dates to fake from",
            hint="drop the column or declare its kind in the metadata file",
        )
    days = np.fromiter(_day_numbers(real), dtype=np.int64)
    candidates = np.arange(days.min(), days.max() + 1)
    candidates = candidates[~np.isin(candidates, np.fromiter(banned, dtype=np.int64))]
    if n_draw and not len(candidates):
        raise ModelError(
            f"every day between the first and last value of {like.name!r} occurs in the real "
            "column: no fake date in that range can avoid a real one",
            hint="drop the column, or pseudonymize it",
        )
    drawn = pd.Series(rng.choice(candidates, size=n_draw).astype("datetime64[D]"))
    return _dates_out(drawn.astype("datetime64[ns]"), like)


def fake_date_values(like: pd.Series, n: int, seed: int, banned: set[int]) -> pd.Series:
    """:func:`fake_values` for a date column, given its banned days (parsing ``forbidden``
    into days is the slow part: callers that need the days twice compute them once)."""
    rng = np.random.default_rng(abs(int(seed)))
    n_missing = int(round((float(like.isna().mean()) if len(like) else 0.0) * n))
    n_draw = n - n_missing
    drawn = (_fake_dates(like, banned, n_draw, rng) if n_draw
             else pd.Series([], dtype=object))
    return place_values(drawn, n, n_missing, rng, like.dtype, like.name)


def _date_format(text: pd.Series) -> str:
    sample = text.head(500)
    best, best_share = "%Y-%m-%d", 0.0
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d"):
        share = pd.to_datetime(sample, format=fmt, errors="coerce").notna().mean()
        # A day-first layout wins only when it parses more values; ties keep the earlier one.
        if share > best_share:
            best, best_share = fmt, share
    if best == "%m/%d/%Y" and not sample.str.match(r"^0\d/").any():
        best = "%-m/%-d/%Y"  # M/D/YYYY without padding, as many US exports write dates
    return best



def agree_with_age(values: pd.Series, like: pd.Series, synthetic: pd.DataFrame, link: AgeLink,
                    banned: set[int], seed: int) -> pd.Series:
    """``values`` (independent fake dates, in the real range) replaced, where the row has an age
    and a reference date, by a fake date in the real range giving that age on that date; the
    missing cells, and rows whose age needs a date outside the real range, keep ``values``."""
    rng = np.random.default_rng(abs(int(seed)))
    days = _day_numbers(_real_dates(like))
    within = (min(days), max(days)) if days else None
    born = dates_for_ages(synthetic[link.age].reset_index(drop=True),
                          synthetic[link.on].reset_index(drop=True), banned, rng, within)
    use = (values.notna() & born.notna()).to_numpy()
    if not use.any():
        return values
    out = values.copy()
    if not pd.api.types.is_datetime64_any_dtype(out.dtype):
        out = out.astype(object)
    out[use] = _dates_out(born[use].reset_index(drop=True), like).to_numpy()
    return out
