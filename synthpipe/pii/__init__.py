"""PII detection and protection: find personal data, then drop, pseudonymize, fake or keep it.

Typical use (what :func:`synthpipe.pipeline.protect` does)::

    findings = detect_pii(df, metadata)
    actions = plan_actions(findings, metadata, config.pii)
    key = pii_key_from_env(required=PIIAction.PSEUDONYMIZE in actions.values())
    protected, action_log = protect_table(df, actions, findings, key, seed)
    ...  # train on `protected`, sample
    published = fill_output_columns(synthetic, protected, never_modelled, kinds, types, seed)

What "the same value" means for all of it (detection, fakes, the leak scan) is defined once in
:mod:`synthpipe.pii.text`; identifiers inside values are found by :mod:`synthpipe.pii.embedded`,
and :class:`RealValues` is the one test of "a real value reappears here".
"""

from synthpipe.pii.dates import AgeLink, find_age_links, is_date_pii
from synthpipe.pii.detect import DIRECT_TYPES, QUASI_TYPES, PIIFinding, detect_pii
from synthpipe.pii.embedded import find_identifiers
from synthpipe.pii.fakes import fake_values, redraw_repeats
from synthpipe.pii.keys import pii_key_from_env, pseudonymize
from synthpipe.pii.matching import RealValues
from synthpipe.pii.policies import fallback_type, fill_output_columns, plan_actions, protect_table
from synthpipe.pii.text import canonical_text, canonical_texts, comparison_key

__all__ = [
    "AgeLink",
    "DIRECT_TYPES",
    "QUASI_TYPES",
    "PIIFinding",
    "RealValues",
    "canonical_text",
    "canonical_texts",
    "comparison_key",
    "detect_pii",
    "fake_values",
    "fallback_type",
    "fill_output_columns",
    "find_identifiers",
    "find_age_links",
    "is_date_pii",
    "pii_key_from_env",
    "plan_actions",
    "protect_table",
    "pseudonymize",
    "redraw_repeats",
]
