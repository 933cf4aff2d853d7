"""Fake values: new values of a column's kind and format that equal none of its real values.

:func:`fake_values` picks the generator for the column's PII type (person names, emails,
streets, IPs, free text, dates, or the format-preserving shape engine for everything else),
then redraws every value in which a real value reappears, by the test the leak scan applies
(:class:`synthpipe.pii.matching.RealValues`: the same comparison key, or a real identifier
inside the text), and every repeat where the real values were unique.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthpipe.errors import ModelError
from synthpipe.pii.dates import banned_day_numbers, fake_date_values, is_date_pii
from synthpipe.pii.generators import generator_for, place_values
from synthpipe.pii.matching import RealValues
from synthpipe.pii.text import canonical_text, comparison_key, key_set

# Redraw rounds before the value space is deemed exhausted.
MAX_ROUNDS = 60
# Types whose values must stay unique in the output when they were unique in the input.
_UNIQUE_TYPES = {"identifier", "ssn", "credit_card", "email", "phone", "ip_address"}


def fake_values(
    like: pd.Series,
    pii_type: str,
    n: int,
    seed: int,
    forbidden: set | None = None,
    *,
    avoid: RealValues | None = None,
) -> pd.Series:
    """``n`` new values of the kind and format of ``like`` that equal none of its values.

    Args:
        like: The real column (its formats, lengths, missing share and dtype are followed).
        pii_type: A finding's type (``email``, ``person_name``, ``postcode``...). Unknown types
            get the format-preserving engine.
        n: How many values.
        seed: Seed; the same seed gives the same values.
        forbidden: More values no output may equal or hold, on top of the values of ``like``
            (compared by :func:`synthpipe.pii.text.comparison_key`: case, surrounding blanks
            and a ``.0`` do not matter; identifiers inside them are not allowed inside an
            output either).
        avoid: Used instead of ``RealValues.of(forbidden)`` for everything but dates, when the
            caller has it already (indexing a large ``forbidden`` set is the slow part, and one
            set often serves many columns); dates always avoid the days of ``forbidden``.

    Returns:
        A Series of length ``n`` (RangeIndex), named like ``like``, with ``like``'s dtype and
        (rounded) missing share. Identifier-like types stay unique when ``like`` was unique.

    Raises:
        ModelError: The value space is too small to avoid every real value (a two-letter code,
            booleans, every day of the range taken).
    """
    rng = np.random.default_rng(abs(int(seed)))
    n = int(n)
    real = like.dropna()
    miss_share = float(like.isna().mean()) if len(like) else 0.0
    n_missing = int(round(miss_share * n))
    n_draw = n - n_missing
    dtype = like.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ModelError(
            f"column {like.name!r} is boolean: every fake value would equal a real one",
            hint="keep or drop the column instead of faking it",
        )

    if n_draw and is_date_pii(like, pii_type):
        return fake_date_values(like, n, seed, banned_day_numbers(like, forbidden))

    numeric = pd.api.types.is_numeric_dtype(dtype)
    real_text = canonical_text(real)
    if avoid is None:
        avoid = RealValues.of(forbidden)
    avoid = RealValues.of(real) | avoid
    banned = avoid.keys()
    unique = pii_type in _UNIQUE_TYPES and len(real) > 1 and bool(real_text.is_unique)
    if n_draw == 0:
        return place_values(pd.Series([], dtype=object), n, n_missing, rng, dtype, like.name)

    gen = generator_for(pii_type, real_text, rng, banned, numeric)
    values = pd.Series(gen(n_draw, 0), dtype=object)
    keys = comparison_key(values)
    real_in = avoid.found(values)
    for round_ in range(MAX_ROUNDS + 1):
        bad = real_in.copy()
        if unique:
            bad |= keys.duplicated().to_numpy()
        if not bad.any():
            break
        if round_ == MAX_ROUNDS:
            raise ModelError(
                f"could not draw {n_draw} fake {pii_type} values for column {like.name!r} that "
                f"avoid its {len(banned)} real values{' and stay unique' if unique else ''} "
                f"after {MAX_ROUNDS} rounds: the format leaves too few possibilities",
                hint="drop the column, or pseudonymize it instead of faking",
            )
        # Only the redrawn values need their comparison key and search recomputed.
        redrawn = pd.Series(gen(int(bad.sum()), round_ + 1), dtype=object)
        values[bad] = redrawn.to_numpy()
        keys[bad] = comparison_key(redrawn).to_numpy()
        real_in[bad] = avoid.found(redrawn)
    if numeric:
        num = pd.to_numeric(values, errors="coerce")
        if num.isna().any():
            raise ModelError(f"fake values for numeric column {like.name!r} are not numbers")
        values = num
    return place_values(values, n, n_missing, rng, dtype, like.name)


def redraw_repeats(values: pd.Series, like: pd.Series, pii_type: str, seed: int,
                   forbidden: set | None = None) -> pd.Series:
    """``values`` with every repeat of an earlier value replaced by a fresh fake.

    The parts of a large output are filled independently (in parallel, with no shared state),
    so an id drawn for one part can repeat one drawn for another. The replacements equal no
    value of ``values``, ``like`` or ``forbidden``, and no other replacement.

    Args:
        values: One column of the whole output (all parts, in order).
        like: The real column the fakes imitate.
        pii_type: Its PII type (``identifier`` for ids without a finding).
        seed: Seed of the replacements.
        forbidden: More values no replacement may equal (the real direct identifiers).
    """
    out = values.reset_index(drop=True).copy()
    real = RealValues.of(forbidden)
    for round_ in range(MAX_ROUNDS):
        dup = (out.duplicated(keep="first") & out.notna()).to_numpy()
        if not dup.any():
            return out
        texts = set(canonical_text(out).dropna())
        # The output's own values only need to differ as wholes (they are fakes already).
        taken = RealValues.of_keys(key_set(texts)) | real
        fresh = fake_values(like.dropna(), pii_type, int(dup.sum()), seed + round_,
                            texts | (forbidden or set()), avoid=taken)
        if not pd.api.types.is_dtype_equal(out.dtype, fresh.dtype):
            out = out.astype(object)
        out[dup] = fresh.to_numpy()
    raise ModelError(
        f"could not make the values of {values.name!r} unique across the output's parts",
        hint="raise chunk_rows so fewer parts are filled independently, or drop the column",
    )
