"""What happens to personal data: plan, pseudonymize, fake, protect, and fill the output.

The order in a run:

1. :func:`plan_actions` turns findings and the configuration into one action per column
   (direct identifiers are faked by default; quasi-identifiers are kept and modelled; an
   explicit per-column policy always wins, and keeping a direct identifier is only possible
   through such an explicit policy).
2. :func:`protect_table` applies the actions to the REAL table before anything is trained, so
   real direct identifiers never travel further than this step.
3. :func:`fill_output_columns` completes the synthetic rows with the columns no model learned
   (ids, free text, faked or pseudonymized identifiers): fresh, format-preserving values in
   which no real value reappears (:mod:`synthpipe.pii.matching`, the leak scan's own test).

The pieces live beside this module: :mod:`synthpipe.pii.keys` (HMAC pseudonyms),
:mod:`synthpipe.pii.text` (what "the same value" means) and :mod:`synthpipe.pii.embedded`
(identifiers inside values),
:mod:`synthpipe.pii.fakes` (fake values, format preserving through :mod:`synthpipe.pii.shapes`
and :mod:`synthpipe.pii.generators`) and :mod:`synthpipe.pii.dates` (fake dates).
"""

from __future__ import annotations

import logging
import zlib

import numpy as np
import pandas as pd

from synthpipe.config import PIIAction, PIIConfig
from synthpipe.errors import ConfigError
from synthpipe.metadata import TableMetadata
from synthpipe.pii.dates import (
    AgeLink,
    agree_with_age,
    banned_day_numbers,
    fake_date_values,
    is_date_pii,
)
from synthpipe.pii.detect import PIIFinding
from synthpipe.pii.fakes import fake_values
from synthpipe.pii.keys import KEY_ENV, MIN_KEY_CHARS, pseudonymize
from synthpipe.pii.matching import RealValues

log = logging.getLogger(__name__)


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
    synthetic row gets a new format-preserving value that neither equals nor holds a value of
    ``real`` (nor of ``forbidden``). Ids stay unique when the real column was unique.

    Args:
        synthetic: The sampled rows (not modified).
        real: The (protected) real table: formats, missing shares and column order.
        columns: The columns to fill.
        kinds: Column kind per column (``id``, ``text``...), for columns without a PII type.
        pii_types: PII type per column, from the findings.
        seed: Seed.
        forbidden: Per column, more values no output may equal or hold (the original real
            values of columns that were faked or pseudonymized in the protected table). Pass
            one set object for many columns: it is indexed once.
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
    indexes: dict[int, RealValues] = {}  # one index per distinct forbidden set
    out = synthetic.copy()
    for col in columns:
        pii_type = pii_types.get(col) or fallback_type(real[col], kinds.get(col))
        fill_seed = _column_seed(seed, col, "fill")
        link = (age_links or {}).get(col)
        if (link is not None and link.age in synthetic.columns and link.on in synthetic.columns
                and is_date_pii(real[col], pii_type)):
            banned = banned_day_numbers(real[col], forbidden.get(col))
            values = fake_date_values(real[col], len(out), fill_seed, banned)
            values = agree_with_age(values, real[col], synthetic, link, banned,
                                     _column_seed(seed, col, "age"))
        else:
            values = fake_values(real[col], pii_type, len(out), fill_seed, forbidden.get(col),
                                 avoid=_index(indexes, forbidden.get(col)))
        out[col] = values.set_axis(out.index)
    order = [c for c in real.columns if c in out.columns]
    order += [c for c in out.columns if c not in real.columns]
    return out[order]


def _index(cache: dict[int, RealValues], values: set | None) -> RealValues:
    """``RealValues.of(values)``, built once per set object (callers pass one set for many
    columns; the cache lives for one call, while the sets are alive)."""
    if values is None:
        return RealValues()
    if id(values) not in cache:
        cache[id(values)] = RealValues.of(values)
    return cache[id(values)]
