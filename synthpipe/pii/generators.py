"""Generators of fake values, one per kind: names, emails, streets, IPs, text, shapes.

:func:`generator_for` picks one; each builds, from the real column's canonical text, a
function ``gen(m, widen)`` that draws ``m`` values; ``widen`` counts the redraw rounds so far
(a generator may open its value space as rounds go by, when the first draws keep colliding
with real values).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import ModelError
from synthpipe.pii.embedded import find_identifiers, iban_check_digits
from synthpipe.pii.patterns import (
    EMAIL,
    IBAN,
    PHONE_US,
    POST_CA,
    POST_UK,
    POST_US,
    SSN,
    STREET_SUFFIXES,
)
from synthpipe.pii.shapes import PROFILE_ROWS, WIDEN_DIGITS, WIDEN_LETTERS, ShapeProfile
from synthpipe.pii.text import comparison_key

MAX_TEXT_WORDS = 80

_DEFAULT_TEMPLATES = {
    "phone": "(999) 999-9999",
    "ssn": "999-99-9999",
    "postcode": "99999",
    "credit_card": "9999999999999999",
    "identifier": "AAA-99999999",
    "iban": "AA99 9999 9999 9999 9999 99",
}
_TYPE_CHECKS = {
    "phone": PHONE_US + r"|\+?[\d\s().\-]{7,20}",
    "ssn": SSN + r"|\d{9}",
    "postcode": f"{POST_US}|{POST_UK}|{POST_CA}|[A-Za-z0-9 \\-]{{3,10}}",
    "credit_card": r"[\d \-]{13,23}",
    "iban": IBAN,
}
# What one whole value of these types looks like; a column whose values mostly do not is
# faked cell by cell around the identifiers inside (see _gen_inside).
_WHOLE = {**_TYPE_CHECKS, "email": EMAIL}
_INSIDE_TYPES = ("email", "ssn", "phone", "credit_card", "iban")


def _names_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Faker's en_US first and last names with their frequency weights."""
    from faker.providers.person.en_US import Provider

    first: dict[str, float] = {}
    for attr in ("first_names_female", "first_names_male"):
        for name, w in getattr(Provider, attr).items():
            first[name] = first.get(name, 0.0) + float(w)
    last = dict(Provider.last_names)
    fn, fw = np.array(list(first), dtype=object), np.array(list(first.values()))
    ln, lw = np.array(list(last), dtype=object), np.array(list(last.values()), dtype=float)
    return fn, fw / fw.sum(), ln, lw / lw.sum()


def _gen_names(text: pd.Series, rng: np.random.Generator, banned: set[str]):
    """Generator of person names in the real column's style (tokens, comma order, case)."""
    fn, fw, ln, lw = _names_pool()
    if len(text):
        tokens = text.str.replace(",", " ").str.split().str.len()
        comma = float(text.str.contains(",").mean())
        upper = float(text.str.isupper().mean())
        single = float((tokens == 1).mean())
        three = float((tokens >= 3).mean())
        first_like = float(text.str.lower().isin({n.lower() for n in fn}).mean())
    else:
        comma = upper = single = three = first_like = 0.0

    if single >= 0.5:
        # A first- or last-name column: draw from the names that never occur in it.
        pool, w = (fn, fw) if first_like >= 0.3 else (ln, lw)
        keep = ~comparison_key(pd.Series(pool)).isin(banned).to_numpy()
        if not keep.any():
            raise ModelError(
                f"every known name occurs in column {text.name!r}; fake names cannot avoid "
                "real ones",
                hint="drop the column or pseudonymize it instead",
            )
        pool, w = pool[keep], w[keep] / w[keep].sum()

        def single_gen(m: int, widen: int) -> np.ndarray:
            out = pd.Series(rng.choice(pool, size=m, p=w))
            return (out.str.upper() if upper >= 0.5 else out).to_numpy(dtype=object)

        return single_gen

    def gen(m: int, widen: int) -> np.ndarray:
        first = pd.Series(rng.choice(fn, size=m, p=fw))
        last = pd.Series(rng.choice(ln, size=m, p=lw))
        middle = pd.Series(rng.choice(list("ABCDEFGHJKLMNPRSTW"), size=m)) + "."
        with_mid = rng.random(m) < three
        given = first.where(~with_mid, first + " " + middle)
        as_comma = rng.random(m) < comma
        out = (given + " " + last).where(~as_comma, last + ", " + given)
        return (out.str.upper() if upper >= 0.5 else out).to_numpy(dtype=object)

    return gen


def _gen_emails(real: pd.Series, rng: np.random.Generator):
    from faker.providers.internet.en_US import Provider as Internet

    fn, fw, ln, lw = _names_pool()
    domains = np.array(list(Internet.free_email_domains) + ["outlook.com", "icloud.com", "aol.com"])

    def gen(m: int, widen: int) -> np.ndarray:
        first = (
            pd.Series(rng.choice(fn, size=m, p=fw))
            .str.lower()
            .str.replace(r"[^a-z]", "", regex=True)
        )
        last = (
            pd.Series(rng.choice(ln, size=m, p=lw))
            .str.lower()
            .str.replace(r"[^a-z]", "", regex=True)
        )
        style = rng.integers(0, 4, size=m)
        local = pd.Series(
            np.select(
                [style == 0, style == 1, style == 2],
                [first + "." + last, first.str[0] + last, first + "_" + last],
                default=first + last.str[0],
            )
        )
        # Each redraw round adds digits, so collisions die out quickly.
        digits = pd.Series(rng.integers(1, 10 ** (2 + min(widen, 4)), size=m)).astype(str)
        bare = (rng.random(m) < 0.3) & (widen == 0)
        local = local.where(bare, local + digits)
        return (local + "@" + pd.Series(rng.choice(domains, size=m))).to_numpy(dtype=object)

    return gen


# The street type is the last suffix word before an optional direction and unit number.
_SUFFIX_AT_END = (
    rf"^\d.*\s({STREET_SUFFIXES})\.?(?:\s+[NSEW]{{1,2}}\.?)?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*#?\s*[A-Za-z0-9\-]+)?(?:,.*)?$"
)
_STREET_WORDS = np.array((
    "Oak Maple Pine Cedar Elm Main Park Lake Hill Washington Lincoln Jefferson "
    "Highland Sunset River Church Mill Spring Meadow Forest Walnut Willow Center "
    "Market Union 1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th 11th 12th"
).split(), dtype=object)


def _gen_streets(text: pd.Series, rng: np.random.Generator):
    """Street addresses with the real column's house-number lengths and suffix mix."""
    _, _, ln, lw = _names_pool()
    numbers = text.str.extract(r"^(\d{1,6})\s")[0].dropna()
    lengths = numbers.str.len().value_counts(normalize=True)
    if lengths.empty:
        lengths = pd.Series({3: 0.3, 4: 0.6, 2: 0.1})
    suffix = text.str.extract(_SUFFIX_AT_END, flags=re.IGNORECASE)[0]
    suffix = suffix.dropna().value_counts(normalize=True)
    if suffix.empty:
        suffix = pd.Series({"St": 0.35, "Ave": 0.25, "Dr": 0.15, "Rd": 0.15, "Ln": 0.1})
    apt_share = float(text.str.contains(r"(?:Apt|Suite|Ste|Unit|#)", case=False).mean())

    def gen(m: int, widen: int) -> np.ndarray:
        n_len = rng.choice(lengths.index.to_numpy(dtype=int), size=m, p=lengths.to_numpy())
        lo = np.where(n_len > 1, 10 ** (n_len - 1), 1)
        house = pd.Series(rng.integers(lo, 10**n_len)).astype(str)
        word = np.where(
            rng.random(m) < 0.5,
            rng.choice(ln, size=m, p=lw),
            rng.choice(_STREET_WORDS, size=m),
        )
        suf = rng.choice(suffix.index.to_numpy(dtype=object), size=m, p=suffix.to_numpy())
        out = house + " " + pd.Series(word) + " " + pd.Series(suf)
        apt = " Apt " + pd.Series(rng.integers(1, 500, size=m)).astype(str)
        out = out.where(rng.random(m) >= apt_share, out + apt)
        return out.to_numpy(dtype=object)

    return gen


def _gen_ips(real: pd.Series, rng: np.random.Generator):
    v6 = float(real.str.contains(":").mean()) > 0.5 if len(real) else False

    def gen(m: int, widen: int) -> np.ndarray:
        if v6:
            groups = rng.integers(0, 0x10000, size=(m, 8))
            parts = [pd.Series(groups[:, i]).map("{:x}".format) for i in range(8)]
            out = parts[0]
            for p in parts[1:]:
                out = out + ":" + p
            return out.to_numpy(dtype=object)
        octets = rng.integers(1, 255, size=(m, 4))
        octets[:, 0] = rng.integers(11, 224, size=m)  # public unicast range, not 10.x or 0.x
        s = [pd.Series(octets[:, i]).astype(str) for i in range(4)]
        return (s[0] + "." + s[1] + "." + s[2] + "." + s[3]).to_numpy(dtype=object)

    return gen


def _gen_text(real: pd.Series, rng: np.random.Generator):
    from faker.providers.lorem.en_US import Provider as Lorem

    words = np.array(Lorem.word_list, dtype=object)
    counts = real.str.split().str.len().clip(1, MAX_TEXT_WORDS)
    counts = counts.to_numpy() if len(counts) else np.array([8])

    def gen(m: int, widen: int) -> np.ndarray:
        k = rng.choice(counts, size=m)
        drawn = rng.choice(words, size=(m, int(k.max())))
        out = pd.Series(drawn[:, 0]).str.capitalize()
        for j in range(1, drawn.shape[1]):
            out = out.where(k <= j, out + " " + pd.Series(drawn[:, j]))
        return (out + ".").to_numpy(dtype=object)

    return gen


def _luhn_fix(values: np.ndarray) -> np.ndarray:
    """Set the last digit of each 13-19 digit card number so the Luhn check passes."""
    s = pd.Series(values, dtype=object)
    digits = s.str.replace(r"\D", "", regex=True)
    fixable = digits.str.len().between(13, 19).to_numpy()
    if not fixable.any():
        return s.to_numpy(dtype=object)
    body = (digits[fixable].str[:-1] + "0").str.zfill(19)
    arr = np.frombuffer("".join(body).encode("ascii"), dtype=np.uint8).reshape(-1, 19) - 48
    rev = arr[:, ::-1].astype(np.int64)
    doubled = rev[:, 1::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    # With check digit 0 the sum is off by r; the digit that fixes it is (10 - r) % 10, and the
    # check digit sits at an undoubled position.
    check = (10 - (rev[:, ::2].sum(axis=1) + doubled.sum(axis=1)) % 10) % 10
    fixed = s.copy()
    fixed[fixable] = s[fixable].str[:-1] + pd.Series(check.astype(str), index=s.index[fixable])
    return fixed.to_numpy(dtype=object)


def _gen_shape(real_text: pd.Series, rng: np.random.Generator, pii_type: str, numeric: bool):
    """Format-preserving generator from the real strings (or the type's template)."""
    check = _TYPE_CHECKS.get(pii_type)
    usable = real_text
    if check is not None and len(real_text):
        usable = real_text[real_text.str.fullmatch(check)]
    if len(usable) < max(1, 0.5 * len(real_text)) or not len(usable):
        # Values that do not look like the type (pseudonymized tokens, say) get its template.
        template = _DEFAULT_TEMPLATES.get(pii_type, "AAA-99999999" if not numeric else "9999999")
        profile = ShapeProfile.from_template(template)
    else:
        profile = ShapeProfile(usable.head(PROFILE_ROWS), no_leading_zero=numeric)

    def gen(m: int, widen: int) -> np.ndarray:
        out = profile.sample(
            m, rng, widen=0 if widen < WIDEN_DIGITS else (1 if widen < WIDEN_LETTERS else 2)
        )
        if pii_type == "credit_card":
            out = _luhn_fix(out)
        if pii_type == "iban":
            out = np.array([iban_check_digits(v) for v in out], dtype=object)
        if pii_type == "ssn":
            # Areas 000, 666 and 9xx are never issued.
            s = pd.Series(out, dtype=object)
            bad = s.str.match(r"^(?:000|666|9)")
            fix = pd.Series(rng.integers(1, 9, size=len(s))).astype(str)
            out = s.where(~bad, fix + s.str[1:]).to_numpy(dtype=object)
        return out

    return gen


def generator_for(
    pii_type: str, real_text: pd.Series, rng: np.random.Generator, banned: set[str],
    numeric: bool,
):
    """The generator of fake values for a column of ``pii_type`` (see the module docstring).

    Args:
        pii_type: The column's PII type; types without a generator of their own get the
            format-preserving shape engine.
        real_text: The real values as canonical text.
        rng: Random source.
        banned: Comparison keys no value may have (a name column draws from the others).
        numeric: Whether the column is numeric (its fakes must parse as numbers).
    """
    if pii_type in _INSIDE_TYPES and len(real_text):
        inside = _identifiers_inside(real_text, pii_type)
        if inside is not None:
            return _gen_inside(real_text, inside, rng, numeric)
    if pii_type == "person_name":
        return _gen_names(real_text, rng, banned)
    if pii_type == "email":
        return _gen_emails(real_text, rng)
    if pii_type == "street_address" and not numeric:
        return _gen_streets(real_text, rng)
    if pii_type == "ip_address":
        return _gen_ips(real_text, rng)
    if pii_type == "free_text":
        return _gen_text(real_text, rng)
    return _gen_shape(real_text, rng, pii_type, numeric)


def _identifiers_inside(real_text: pd.Series, pii_type: str) -> pd.DataFrame | None:
    """The first identifier inside each value, when most values are not one whole identifier
    of ``pii_type`` (``SSN:526-29-1789``, or emails in some cells of a contact field)."""
    if real_text.str.fullmatch(_WHOLE[pii_type]).mean() >= 0.5:
        return None
    found = find_identifiers(real_text, names=False)
    return found.drop_duplicates("row") if len(found) else None


def _gen_inside(real_text: pd.Series, inside: pd.DataFrame, rng: np.random.Generator,
                numeric: bool):
    """Values framed like the real ones around a fake identifier of the same type.

    A share of the outputs equal to the real share of values holding an identifier gets one:
    the text before and after it follows the shapes of the real frames (a prefix such as
    ``SSN:`` that most values share is kept, rarer frames are redrawn by character class), the
    identifier is a fake of its type. The other outputs follow the values without one.
    """
    text = real_text.reset_index(drop=True).to_numpy(dtype=object)
    rows = inside["row"].to_numpy()
    has = np.zeros(len(text), dtype=bool)
    has[rows] = True
    share = float(has.mean())
    before = pd.Series([text[r][:a] for r, a in zip(rows, inside["start"], strict=True)])
    after = pd.Series([text[r][b:] for r, b in zip(rows, inside["end"], strict=True)])
    kinds = inside["type"].value_counts(normalize=True)
    cores = {k: _core_generator(str(k), inside["text"][inside["type"] == k], rng)
             for k in kinds.index}
    frames = (ShapeProfile(before.head(PROFILE_ROWS)), ShapeProfile(after.head(PROFILE_ROWS)))
    plain = pd.Series(text[~has], dtype=object)
    rest = _gen_shape(plain, rng, "other", numeric) if len(plain) else None

    def gen(m: int, widen: int) -> np.ndarray:
        level = 0 if widen < WIDEN_DIGITS else (1 if widen < WIDEN_LETTERS else 2)
        framed = rng.random(m) < share if rest is not None else np.ones(m, dtype=bool)
        out = np.empty(m, dtype=object)
        k = int(framed.sum())
        if k:
            kind = rng.choice(kinds.index.to_numpy(dtype=object), size=k, p=kinds.to_numpy())
            core = np.empty(k, dtype=object)
            for t in np.unique(kind):
                core[kind == t] = cores[t](int((kind == t).sum()), widen)
            pre, post = (f.sample(k, rng, widen=level) for f in frames)
            out[framed] = pd.Series(pre) + pd.Series(core) + pd.Series(post)
        if m - k:
            # Whole character classes from the first draw: these cells are redrawn on their
            # own, and copying the characters of a few real labels would mostly give them back
            # (each redraw of a cell picks its kind anew, so slow kinds would shrink).
            out[~framed] = rest(m - k, max(widen, WIDEN_LETTERS))
        return out

    return gen


def _core_generator(kind: str, real: pd.Series, rng: np.random.Generator):
    """The generator of the identifiers themselves, by the type found inside the values."""
    real = real.reset_index(drop=True)
    if kind == "email":
        return _gen_emails(real, rng)
    if kind == "ip_address":
        return _gen_ips(real, rng)
    return _gen_shape(real, rng, "identifier" if kind == "number" else kind, False)


def place_values(
    values: pd.Series,
    n: int,
    n_missing: int,
    rng: np.random.Generator,
    dtype: Any,
    name: Any,
) -> pd.Series:
    """Spread ``values`` over ``n`` rows with ``n_missing`` random gaps, cast to ``dtype``."""
    missing = np.zeros(n, dtype=bool)
    if n_missing:
        missing[rng.choice(n, size=n_missing, replace=False)] = True
    arr = np.full(n, None, dtype=object)
    arr[~missing] = values.to_numpy(dtype=object)
    out = pd.Series(arr, dtype=object, name=name)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.to_datetime(out).astype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        return out.astype("category")  # fresh values are new categories
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and n_missing:
        return out.astype("Int64")  # only when asked for gaps an int64 column never had
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return pd.to_numeric(out).astype(dtype)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
        dtype, pd.CategoricalDtype
    ):
        return out.astype(dtype)
    return out
