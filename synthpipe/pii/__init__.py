"""PII detection and protection: find personal data, then drop, pseudonymize, fake or keep it.

Typical use (what :func:`synthpipe.pipeline.protect` does)::

    findings = detect_pii(df, metadata)
    actions = plan_actions(findings, metadata, config.pii)
    key = pii_key_from_env(required=PIIAction.PSEUDONYMIZE in actions.values())
    protected, action_log = protect_table(df, actions, findings, key, seed)
    ...  # train on `protected`, sample
    published = fill_output_columns(synthetic, protected, never_modelled, kinds, types, seed)
"""

from synthpipe.pii.dates import AgeLink, find_age_links, is_date_pii
from synthpipe.pii.detect import DIRECT_TYPES, QUASI_TYPES, PIIFinding, detect_pii
from synthpipe.pii.fakes import fake_values, redraw_repeats
from synthpipe.pii.keys import pii_key_from_env, pseudonymize
from synthpipe.pii.policies import fallback_type, fill_output_columns, plan_actions, protect_table

__all__ = [
    "AgeLink",
    "DIRECT_TYPES",
    "QUASI_TYPES",
    "PIIFinding",
    "detect_pii",
    "fake_values",
    "fallback_type",
    "fill_output_columns",
    "find_age_links",
    "is_date_pii",
    "pii_key_from_env",
    "plan_actions",
    "protect_table",
    "pseudonymize",
    "redraw_repeats",
]
