"""What happens to personal data: plan, pseudonymize, fake, protect, and fill the output.

The order in a run:

1. :func:`plan_actions` turns findings and the configuration into one action per column
   (direct identifiers are faked by default; quasi-identifiers are kept and modelled; an
   explicit per-column policy always wins, and keeping a direct identifier is only possible
   through such an explicit policy).
2. :func:`protect_table` applies the actions to the REAL table before anything is trained, so
   real direct identifiers never travel further than this step.
3. :func:`fill_output_columns` completes the synthetic rows with the columns no model learned
   (ids, free text, faked or pseudonymized identifiers): fresh, format-preserving values that
   equal no real value.

Fake values are format preserving: every character class is kept (digit -> digit, upper ->
upper, lower -> lower, separators unchanged), the length distribution follows the real column,
and at each position only characters seen there in the real column are used first, so fixed
prefixes (``CLM-``) and rules such as "an area code never starts with 0" survive.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import zlib
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.config import PIIAction, PIIConfig
from synthpipe.errors import ConfigError, ModelError
from synthpipe.metadata import TableMetadata
from synthpipe.pii.dates import AgeLink, dates_for_ages
from synthpipe.pii.detect import (
    _PHONE_US,
    _POST_CA,
    _POST_UK,
    _POST_US,
    _SSN,
    STREET_SUFFIXES,
    PIIFinding,
)

log = logging.getLogger(__name__)

KEY_ENV = "SYNTHPIPE_PII_KEY"
MIN_KEY_CHARS = 16
TOKEN_CHARS = 16
# Collision redraws: digit positions widen to 0-9 after WIDEN_DIGITS rounds, letter positions
# to the whole alphabet after WIDEN_LETTERS; after MAX_ROUNDS the space is deemed exhausted.
WIDEN_DIGITS = 3
WIDEN_LETTERS = 6
MAX_ROUNDS = 60
MAX_SHAPES = 200
# Shapes seen fewer times than this take whole character classes at their varying positions.
MIN_SHAPE_MEMBERS = 20
MAX_TEXT_WORDS = 80
# Real values up to this many are read for the shape profile; more adds nothing but time.
PROFILE_ROWS = 50_000

# Types whose values must stay unique in the output when they were unique in the input.
_UNIQUE_TYPES = {"identifier", "ssn", "credit_card", "email", "phone", "ip_address"}

_DEFAULT_TEMPLATES = {
    "phone": "(999) 999-9999",
    "ssn": "999-99-9999",
    "postcode": "99999",
    "credit_card": "9999999999999999",
    "identifier": "AAA-99999999",
}
_TYPE_CHECKS = {
    "phone": _PHONE_US + r"|\+?[\d\s().\-]{7,20}",
    "ssn": _SSN + r"|\d{9}",
    "postcode": f"{_POST_US}|{_POST_UK}|{_POST_CA}|[A-Za-z0-9 \\-]{{3,10}}",
    "credit_card": r"[\d \-]{13,23}",
}


# ----------------------------------------------------------------------------- planning


def plan_actions(
    findings: list[PIIFinding], metadata: TableMetadata, config: PIIConfig
) -> dict[str, PIIAction]:
    """Decide one action per column that has a finding or an explicit policy.

    Args:
        findings: Output of :func:`synthpipe.pii.detect_pii`.
        metadata: The table's metadata (to check that policies name real columns).
        config: The run's PII configuration.

    Returns:
        ``{column: action}``: direct findings get ``config.default_direct`` unless
        ``config.policies`` names the column; quasi findings get KEEP (they are modelled);
        every explicit policy is applied as written, also on columns without a finding.

    Raises:
        ConfigError: A policy names a column the table does not have.
    """
    unknown = sorted(set(config.policies) - set(metadata.columns))
    if unknown:
        raise ConfigError(
            f"PII policies name columns the table does not have: {unknown}",
            hint=f"use column names of the input ({', '.join(list(metadata.columns)[:12])}...)",
        )
    actions: dict[str, PIIAction] = {}
    for f in findings:
        if f.column in config.policies:
            actions[f.column] = PIIAction(config.policies[f.column])
        elif f.category == "direct":
            actions[f.column] = PIIAction(config.default_direct)
        else:
            actions[f.column] = PIIAction.KEEP
    for col, action in config.policies.items():
        actions.setdefault(col, PIIAction(action))
    for f in findings:
        if f.category == "direct" and actions[f.column] == PIIAction.KEEP:
            log.warning(
                "direct identifier %s (%s) is KEPT by explicit policy: its real values will "
                "reach the model",
                f.column,
                f.pii_type,
            )
    return actions


# ----------------------------------------------------------------------------- keys and HMAC


def pii_key_from_env(required: bool) -> bytes | None:
    """The pseudonymization key from ``SYNTHPIPE_PII_KEY``.

    There is no built-in default: a key everybody knows would make the tokens reversible by
    anyone with a list of candidate values.

    Args:
        required: Whether a key is needed (some column is to be pseudonymized).

    Returns:
        The key as UTF-8 bytes, or None when not required and not (validly) set.

    Raises:
        ConfigError: ``required`` and the variable is absent, empty or shorter than 16
            characters.
    """
    raw = os.environ.get(KEY_ENV, "")
    if len(raw.strip()) >= MIN_KEY_CHARS:
        return raw.encode("utf-8")
    problem = "is not set" if not raw.strip() else f"has only {len(raw.strip())} characters"
    if required:
        raise ConfigError(
            f"pseudonymization needs a secret key: {KEY_ENV} {problem} "
            f"(at least {MIN_KEY_CHARS} characters)",
            hint=f"export {KEY_ENV}=\"$(python -c 'import secrets; print(secrets.token_hex(32))')\""
            " and keep it in your secret store: the same key gives the same tokens across runs",
        )
    if raw:
        log.warning("%s %s; it is ignored (nothing is pseudonymized)", KEY_ENV, problem)
    return None


def _canonical_text(values: pd.Series) -> pd.Series:
    """Values as strings, with 60601 and 60601.0 alike and dates in ISO form."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype(str)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(values, errors="coerce").astype("float64")
        whole = np.isfinite(num) & (num % 1 == 0) & (num.abs() < 1e18)
        out = num.astype(str)
        out[whole] = num[whole].astype("int64").astype(str)
        return out
    return values.astype(str)


def pseudonymize(values: pd.Series, key: bytes, prefix: str = "") -> pd.Series:
    """Replace values by keyed HMAC-SHA256 tokens.

    The same value gives the same token under the same key (joins across tables keep working),
    a different key gives unrelated tokens, and without the key a token cannot be traced back
    by hashing candidate values.

    Args:
        values: The column.
        key: Secret key (at least 16 bytes), see :func:`pii_key_from_env`.
        prefix: Prepended to every token (``"tok_"``, say).

    Returns:
        Tokens (``prefix`` + 16 hex characters), same index; missing values stay missing.

    Raises:
        ConfigError: ``key`` is not bytes of at least 16 bytes.
    """
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"the pseudonymization key must be at least {MIN_KEY_CHARS} bytes",
            hint=f"set {KEY_ENV} to a long random secret",
        )
    mask = values.notna()
    text = _canonical_text(values[mask])
    uniques = pd.unique(text)
    # HMAC has no vectorised form; it runs once per distinct value, then a vectorised map.
    tokens = {
        u: prefix
        + hmac.new(bytes(key), u.encode("utf-8"), hashlib.sha256).hexdigest()[:TOKEN_CHARS]
        for u in uniques
    }
    out = pd.Series(None, index=values.index, dtype=object, name=values.name)
    out[mask] = text.map(tokens).to_numpy()
    return out


# ----------------------------------------------------------------------------- normalisation


def _norm(text: pd.Series) -> pd.Series:
    """Comparison form of string values: case, blanks, ``.0`` and midnight do not matter."""
    s = text.astype(str).str.strip().str.lower()
    s = s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return s.str.replace(r"[ t]00:00:00(?:\.0+)?$", "", regex=True)


def _norm_set(values: pd.Series | set | None) -> set[str]:
    if values is None:
        return set()
    s = pd.Series(list(values)) if isinstance(values, set) else values.dropna()
    if not len(s):
        return set()
    return set(_norm(_canonical_text(s) if not isinstance(values, set) else s.astype(str)))


# ----------------------------------------------------------------------------- shape engine


def _char_matrix(strings: np.ndarray, length: int) -> np.ndarray:
    """Fixed-length strings as an (n, length) array of single characters."""
    return np.ascontiguousarray(strings.astype(f"<U{length}")).view("<U1").reshape(-1, length)


class _ShapeProfile:
    """Character classes by position for each shape of the real values.

    A shape is the value with digits as ``9``, upper-case letters as ``A`` and lower-case
    letters as ``a`` (``CLM-1000029`` -> ``AAA-9999999``). Generation draws a shape by its
    frequency, then each position from the characters seen there in the real column.
    """

    _CLASSES = {
        "9": np.array(list("0123456789")),
        "A": np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        "a": np.array(list("abcdefghijklmnopqrstuvwxyz")),
    }

    def __init__(self, strings: pd.Series, no_leading_zero: bool = False) -> None:
        shapes = (
            strings.str.replace(r"\d", "9", regex=True)
            .str.replace(r"[A-Z]", "A", regex=True)
            .str.replace(r"[a-z]", "a", regex=True)
        )
        counts = shapes.value_counts().head(MAX_SHAPES)
        self.shapes = counts.index.to_list()
        self.p = (counts / counts.sum()).to_numpy()
        self.no_leading_zero = no_leading_zero
        self.seen: dict[str, list[np.ndarray]] = {}
        for shape in self.shapes:
            members = strings[shapes == shape].to_numpy(dtype=str)
            chars = _char_matrix(members, len(shape)) if len(shape) else None
            seen = [np.unique(chars[:, i]) for i in range(len(shape))] if len(shape) else []
            if len(members) < MIN_SHAPE_MEMBERS:
                # A handful of values says little about which characters a position allows, and
                # copying their characters would make near-copies of them: keep only the fixed
                # characters (a prefix such as CLM-) and open the rest to their whole class.
                fixed_ok = len(members) >= 3  # one or two values agree everywhere trivially
                seen = [
                    pool if (len(pool) == 1 and fixed_ok) else self._CLASSES.get(ch, pool)
                    for ch, pool in zip(shape, seen, strict=True)
                ]
            self.seen[shape] = seen

    @classmethod
    def from_template(cls, template: str) -> _ShapeProfile:
        """A profile of one shape that allows every character of each class."""
        prof = cls(pd.Series([template]))
        prof.seen[template] = [cls._CLASSES.get(ch, np.array([ch])) for ch in template]
        return prof

    def sample(self, n: int, rng: np.random.Generator, widen: int = 0) -> np.ndarray:
        """``n`` strings; ``widen`` 1 opens digit positions to 0-9, 2 also letters."""
        out = np.empty(n, dtype=object)
        if n == 0:
            return out
        which = rng.choice(len(self.shapes), size=n, p=self.p)
        for k in np.unique(which):
            shape = self.shapes[k]
            idx = np.flatnonzero(which == k)
            if not shape:
                out[idx] = ""
                continue
            cols = np.empty((len(idx), len(shape)), dtype="<U1")
            for i, ch in enumerate(shape):
                pool = self.seen[shape][i]
                if ch in self._CLASSES and widen >= (1 if ch == "9" else 2):
                    pool = self._CLASSES[ch]
                if i == 0 and ch == "9" and self.no_leading_zero and len(shape) > 1:
                    pool = pool[pool != "0"] if (pool != "0").any() else np.array(["1"])
                cols[:, i] = pool[rng.integers(0, len(pool), size=len(idx))]
            out[idx] = cols.view(f"<U{len(shape)}").ravel()
        return out


# ----------------------------------------------------------------------------- generators


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


def _gen_names(real: pd.Series, rng: np.random.Generator, banned: set[str]):
    """Generator of person names in the real column's style (tokens, comma order, case)."""
    fn, fw, ln, lw = _names_pool()
    text = real.astype(str).str.strip()
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
        keep = ~pd.Series(pool).str.lower().isin(banned).to_numpy()
        if not keep.any():
            raise ModelError(
                f"every known name occurs in column {real.name!r}; fake names cannot avoid "
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
_STREET_WORDS = np.array(
    [
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
        "Willow",
        "Center",
        "Market",
        "Union",
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
        "11th",
        "12th",
    ],
    dtype=object,
)


def _gen_streets(real: pd.Series, rng: np.random.Generator):
    """Street addresses with the real column's house-number lengths and suffix mix."""
    _, _, ln, lw = _names_pool()
    text = real.astype(str).str.strip()
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
    v6 = float(real.astype(str).str.contains(":").mean()) > 0.5 if len(real) else False

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
    counts = real.astype(str).str.split().str.len().clip(1, MAX_TEXT_WORDS)
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
        profile = _ShapeProfile.from_template(template)
    else:
        profile = _ShapeProfile(usable.head(PROFILE_ROWS), no_leading_zero=numeric)

    def gen(m: int, widen: int) -> np.ndarray:
        out = profile.sample(
            m, rng, widen=0 if widen < WIDEN_DIGITS else (1 if widen < WIDEN_LETTERS else 2)
        )
        if pii_type == "credit_card":
            out = _luhn_fix(out)
        if pii_type == "ssn":
            # Areas 000, 666 and 9xx are never issued.
            s = pd.Series(out, dtype=object)
            bad = s.str.match(r"^(?:000|666|9)")
            fix = pd.Series(rng.integers(1, 9, size=len(s))).astype(str)
            out = s.where(~bad, fix + s.str[1:]).to_numpy(dtype=object)
        return out

    return gen


# ----------------------------------------------------------------------------- fake_values


def _real_dates(like: pd.Series) -> pd.Series:
    """The parsable dates of ``like`` (its dtype and timezone kept)."""
    if pd.api.types.is_datetime64_any_dtype(like):
        return like.dropna()
    return pd.to_datetime(like.dropna(), errors="coerce", format="mixed").dropna()


def _day_numbers(dates: pd.Series) -> set[int]:
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return set(dates.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64).tolist())


def _banned_days(like: pd.Series, forbidden: set | None) -> set[int]:
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
    fmt = _date_format(like.dropna().astype(str))
    return drawn.dt.strftime(fmt).astype(object)


def is_date_pii(like: pd.Series, pii_type: str) -> bool:
    """Whether ``like`` is faked as dates (a date type, or a datetime dtype)."""
    return pii_type in ("date_of_birth", "date") or pd.api.types.is_datetime64_any_dtype(like)


def _fake_dates(
    like: pd.Series, banned: set[int], n_draw: int, rng: np.random.Generator
) -> pd.Series:
    """Dates in the real range on none of the ``banned`` days (see :func:`_banned_days`)."""
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


def _fake_date_values(like: pd.Series, n: int, seed: int, banned: set[int]) -> pd.Series:
    """:func:`fake_values` for a date column, given its banned days (parsing ``forbidden``
    into days is the slow part: callers that need the days twice compute them once)."""
    rng = np.random.default_rng(abs(int(seed)))
    n_missing = int(round((float(like.isna().mean()) if len(like) else 0.0) * n))
    n_draw = n - n_missing
    drawn = (_fake_dates(like, banned, n_draw, rng) if n_draw
             else pd.Series([], dtype=object))
    return _place(drawn, n, n_missing, rng, like.dtype, like.name)


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


def fake_values(
    like: pd.Series,
    pii_type: str,
    n: int,
    seed: int,
    forbidden: set | None = None,
) -> pd.Series:
    """``n`` new values of the kind and format of ``like`` that equal none of its values.

    Args:
        like: The real column (its formats, lengths, missing share and dtype are followed).
        pii_type: A finding's type (``email``, ``person_name``, ``postcode``...). Unknown types
            get the format-preserving engine.
        n: How many values.
        seed: Seed; the same seed gives the same values.
        forbidden: More values no output may equal (strings; compared case-insensitively and
            with ``12345.0`` equal to ``12345``), on top of the values of ``like``.

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
        return _fake_date_values(like, n, seed, _banned_days(like, forbidden))

    numeric = pd.api.types.is_numeric_dtype(dtype)
    real_text = _canonical_text(real) if numeric else real.astype(str)
    banned = _norm_set(real) | _norm_set(forbidden)
    unique = pii_type in _UNIQUE_TYPES and len(real) > 1 and bool(real_text.is_unique)
    if n_draw == 0:
        return _place(pd.Series([], dtype=object), n, n_missing, rng, dtype, like.name)

    if pii_type == "person_name":
        gen = _gen_names(real_text, rng, banned)
    elif pii_type == "email":
        gen = _gen_emails(real_text, rng)
    elif pii_type == "street_address" and not numeric:
        gen = _gen_streets(real_text, rng)
    elif pii_type == "ip_address":
        gen = _gen_ips(real_text, rng)
    elif pii_type == "free_text":
        gen = _gen_text(real_text, rng)
    else:
        gen = _gen_shape(real_text, rng, pii_type, numeric)

    values = pd.Series(gen(n_draw, 0), dtype=object)
    keys = _norm(values)
    for round_ in range(1, MAX_ROUNDS + 1):
        bad = keys.isin(banned).to_numpy()
        if unique:
            bad |= keys.duplicated().to_numpy()
        if not bad.any():
            break
        # Only the redrawn values need their comparison key recomputed.
        redrawn = pd.Series(gen(int(bad.sum()), round_), dtype=object)
        values[bad] = redrawn.to_numpy()
        keys[bad] = _norm(redrawn).to_numpy()
    else:
        raise ModelError(
            f"could not draw {n_draw} fake {pii_type} values for column {like.name!r} that "
            f"avoid its {len(banned)} real values{' and stay unique' if unique else ''} "
            f"after {MAX_ROUNDS} rounds: the format leaves too few possibilities",
            hint="drop the column, or pseudonymize it instead of faking",
        )
    if numeric:
        num = pd.to_numeric(values, errors="coerce")
        if num.isna().any():
            raise ModelError(f"fake values for numeric column {like.name!r} are not numbers")
        values = num
    return _place(values, n, n_missing, rng, dtype, like.name)


def _place(
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


# ----------------------------------------------------------------------------- table level


def _column_seed(seed: int, column: object, salt: str) -> int:
    """A per-column seed, stable when other columns are added or removed."""
    crc = zlib.crc32(f"{salt}:{column}".encode())
    return int(np.random.SeedSequence([abs(int(seed)), crc]).generate_state(1)[0])


def fallback_type(s: pd.Series, kind: str | None = None) -> str:
    """PII type of a column filled without a finding (by its kind or dtype)."""
    if kind == "id":
        return "identifier"
    if kind == "text":
        return "free_text"
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    return "other"


def protect_table(
    df: pd.DataFrame,
    actions: dict[str, PIIAction],
    findings: list[PIIFinding],
    key: bytes | None,
    seed: int,
) -> tuple[pd.DataFrame, list[dict]]:
    """Apply the PII actions to the real table, before anything is trained on it.

    Args:
        df: The real table (never modified).
        actions: Output of :func:`plan_actions`.
        findings: The detection findings (their types choose the fake generator).
        key: Pseudonymization key; required when any action is PSEUDONYMIZE.
        seed: Seed for fake values.

    Returns:
        The protected copy (DROP removes a column, PSEUDONYMIZE replaces values by HMAC tokens,
        FAKE replaces the column by fake values of the same format, KEEP leaves it) and the
        action log: one dict per column in ``actions`` with ``column``, ``pii_type``,
        ``category``, ``action``, ``rule`` and ``evidence``.

    Raises:
        ConfigError: An action names a missing column, or PSEUDONYMIZE without a key.
        ModelError: A column cannot be faked without reproducing real values.
    """
    unknown = sorted(set(actions) - set(df.columns))
    if unknown:
        raise ConfigError(
            f"PII actions name columns the table does not have: {unknown}",
            hint="fix the column names in the pii.policies section of the config",
        )
    if key is None and any(PIIAction(a) == PIIAction.PSEUDONYMIZE for a in actions.values()):
        cols = [c for c, a in actions.items() if PIIAction(a) == PIIAction.PSEUDONYMIZE]
        raise ConfigError(
            f"columns {cols} are to be pseudonymized but no key was given",
            hint=f"set {KEY_ENV} to a secret of at least {MIN_KEY_CHARS} characters",
        )
    by_col = {f.column: f for f in findings}
    out = df.copy()
    action_log: list[dict] = []
    for col in [c for c in df.columns if c in actions]:
        action = PIIAction(actions[col])
        f = by_col.get(col)
        pii_type = f.pii_type if f else fallback_type(df[col])
        if action == PIIAction.DROP:
            out = out.drop(columns=[col])
        elif action == PIIAction.PSEUDONYMIZE:
            out[col] = pseudonymize(df[col], key)  # type: ignore[arg-type]
        elif action == PIIAction.FAKE:
            fake = fake_values(df[col], pii_type, len(df), _column_seed(seed, col, "protect"))
            out[col] = fake.set_axis(df.index)
        action_log.append(
            {
                "column": str(col),
                "pii_type": pii_type,
                "category": f.category if f else "declared",
                "action": action.value,
                "rule": f.rule if f else "policy",
                "evidence": f.evidence if f else "named in the PII policies of the config",
            }
        )
        log.info("PII %s (%s): %s", col, pii_type, action.value)
    return out, action_log


def fill_output_columns(
    synthetic: pd.DataFrame,
    real: pd.DataFrame,
    columns: list[str],
    kinds: dict[str, str],
    pii_types: dict[str, str],
    seed: int,
    forbidden: dict[str, set] | None = None,
    age_links: dict[str, AgeLink] | None = None,
) -> pd.DataFrame:
    """Add the never-modelled columns to the synthetic rows, with fresh values.

    Ids, free text and faked or pseudonymized identifiers are not learned by any model; each
    synthetic row gets a new format-preserving value that equals no value of ``real`` (nor of
    ``forbidden``). Ids stay unique when the real column was unique.

    Args:
        synthetic: The sampled rows (not modified).
        real: The (protected) real table: formats, missing shares and column order.
        columns: The columns to fill.
        kinds: Column kind per column (``id``, ``text``...), for columns without a PII type.
        pii_types: PII type per column, from the findings.
        seed: Seed.
        forbidden: Per column, more values no output may equal (the original real values
            of columns that were faked or pseudonymized in the protected table).
        age_links: Per date-of-birth column, the age and reference-date columns the real
            dates agreed with (:func:`synthpipe.pii.dates.find_age_links`): its fake dates
            then give each synthetic row's age on its reference date.

    Returns:
        A new frame: ``synthetic`` plus the filled columns, in ``real``'s column order (columns
        only in ``synthetic`` come last).

    Raises:
        ConfigError: A column to fill is not in ``real``.
        ModelError: A column cannot be faked without reproducing real values.
    """
    unknown = [c for c in columns if c not in real.columns]
    if unknown:
        raise ConfigError(
            f"columns to fill are not in the real table: {unknown}",
            hint="fill only columns of the input table",
        )
    forbidden = forbidden or {}
    out = synthetic.copy()
    for col in columns:
        pii_type = pii_types.get(col) or fallback_type(real[col], kinds.get(col))
        fill_seed = _column_seed(seed, col, "fill")
        link = (age_links or {}).get(col)
        if (link is not None and link.age in synthetic.columns and link.on in synthetic.columns
                and is_date_pii(real[col], pii_type)):
            banned = _banned_days(real[col], forbidden.get(col))
            values = _fake_date_values(real[col], len(out), fill_seed, banned)
            values = _agree_with_age(values, real[col], synthetic, link, banned,
                                     _column_seed(seed, col, "age"))
        else:
            values = fake_values(real[col], pii_type, len(out), fill_seed, forbidden.get(col))
        out[col] = values.set_axis(out.index)
    order = [c for c in real.columns if c in out.columns]
    order += [c for c in out.columns if c not in real.columns]
    return out[order]


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
    for round_ in range(MAX_ROUNDS):
        dup = (out.duplicated(keep="first") & out.notna()).to_numpy()
        if not dup.any():
            return out
        taken = set(out.dropna().astype(str)) | (forbidden or set())
        fresh = fake_values(like.dropna(), pii_type, int(dup.sum()), seed + round_, taken)
        if not pd.api.types.is_dtype_equal(out.dtype, fresh.dtype):
            out = out.astype(object)
        out[dup] = fresh.to_numpy()
    raise ModelError(
        f"could not make the values of {values.name!r} unique across the output's parts",
        hint="raise chunk_rows so fewer parts are filled independently, or drop the column",
    )


def _agree_with_age(values: pd.Series, like: pd.Series, synthetic: pd.DataFrame, link: AgeLink,
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
