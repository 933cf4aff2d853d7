"""Keyed pseudonyms: HMAC-SHA256 tokens under a secret key from the environment."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

import pandas as pd

from synthpipe.errors import ConfigError
from synthpipe.pii.text import canonical_text

log = logging.getLogger(__name__)

KEY_ENV = "SYNTHPIPE_PII_KEY"
MIN_KEY_CHARS = 16
TOKEN_CHARS = 16


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
    text = canonical_text(values[mask])
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
