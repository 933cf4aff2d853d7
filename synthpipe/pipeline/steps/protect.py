"""Protect stage: apply the PII policies, choose the modelled columns, split train / holdout."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthpipe.config import PIIAction, RunConfig
from synthpipe.errors import InputError
from synthpipe.metadata import ColumnKind, TableMetadata

log = logging.getLogger(__name__)


@dataclass
class Protected:
    """The table after PII policies, plus what the leak scan needs."""

    df: pd.DataFrame
    actions: dict[str, str]
    findings: list[dict]
    action_log: list[dict]
    # Real values of direct identifiers of the INPUT, kept in memory only for the leak scan.
    pii_values: dict[str, pd.Series] = field(repr=False, default_factory=dict)
    # Faked date-of-birth columns whose real values agreed with an age column (see
    # synthpipe.pii.dates): their synthetic values are drawn to agree too.
    age_links: dict[str, Any] = field(default_factory=dict)

    def real_direct_strings(self) -> set[str]:
        """Every real direct-identifier value as text: no output cell may equal one (a fake
        zip code must not equal a real policy number either)."""
        from synthpipe.pii.text import canonical_texts

        return canonical_texts(self.pii_values)

    def fill_like(self, column: str) -> pd.Series:
        """The column new output values imitate: the REAL values of a faked direct identifier
        (its formats, and the values to avoid), else the protected column (a pseudonymized
        column's tokens, an id column). Imitating the protect step's fakes would only narrow
        the choice: for dates of birth, to the few days neither a real nor an earlier fake
        value fell on."""
        if self.imitates_real(column):
            return self.pii_values[column].reindex(self.df.index).astype(self.df[column].dtype)
        return self.df[column]

    def imitates_real(self, column: str) -> bool:
        """Whether :meth:`fill_like` gives the real values (a faked direct identifier)."""
        return self.actions.get(column) == "fake" and column in self.pii_values


def protect(df: pd.DataFrame, metadata: TableMetadata, cfg: RunConfig) -> Protected:
    """Detect PII and apply the per-column policies to the real table.

    Direct identifiers never reach a model: by default they are replaced by fake values here and
    regenerated for the synthetic rows in :func:`synthpipe.pipeline.steps.sample.finish_output`.
    """
    from synthpipe import pii

    findings = pii.detect_pii(df, metadata, seed=cfg.seed) if cfg.pii.detect else []
    actions = pii.plan_actions(findings, metadata, cfg.pii)
    if cfg.target in actions and actions[cfg.target] != PIIAction.KEEP:
        log.warning("target %s was flagged as PII; keeping it since it is the label", cfg.target)
        actions[cfg.target] = PIIAction.KEEP
    needs_key = any(a == PIIAction.PSEUDONYMIZE for a in actions.values())
    key = pii.pii_key_from_env(required=needs_key)
    protected, action_log = pii.protect_table(df, actions, findings, key, cfg.seed)
    by_col = {f.column: f for f in findings}
    pii_values = {
        c: df[c].dropna()
        for c, f in by_col.items()
        if f.category == "direct" and actions.get(c) != PIIAction.KEEP
    }
    plain = {c: PIIAction(a).value for c, a in actions.items()}
    # Faked dates of birth follow the synthetic age where the real ones followed an age column.
    births = [c for c, a in plain.items() if a == "fake" and pii.is_date_pii(
        df[c], by_col[c].pii_type if c in by_col else "")]
    age_links = pii.find_age_links(df, births, model_columns(metadata, plain)) if births else {}
    for entry in action_log:
        if entry["column"] in age_links:
            entry["consistent_with"] = age_links[entry["column"]].to_dict()
    return Protected(
        df=protected,
        actions=plain,
        findings=[f.to_dict() for f in findings],
        action_log=action_log,
        pii_values=pii_values,
        age_links=age_links,
    )


def model_columns(metadata: TableMetadata, actions: dict[str, str]) -> list[str]:
    """Columns a synthesizer learns: modelled kinds that PII policies did not take away.

    A pseudonymized column is modelled only if it is a categorical label (an agent code, say):
    its tokens keep the categories and their relations. Any other pseudonymized column (an id,
    a date turned into tokens) is regenerated like an id.
    """
    out = []
    for c in metadata.modelled:
        action = actions.get(c)
        if action in ("drop", "fake"):
            continue
        if action == "pseudonymize" and metadata.kind(c) != ColumnKind.CATEGORICAL:
            continue
        out.append(c)
    return out


def split(df: pd.DataFrame, cfg: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split into train and holdout, stratified on the target when given.

    The holdout is never trained on: it is the yardstick for fidelity and privacy.
    """
    from sklearn.model_selection import train_test_split

    if len(df) < 10:
        raise InputError(
            f"the table has {len(df)} rows; synthpipe needs at least 10 to hold some out",
            hint="provide a larger table",
        )
    stratify = None
    if cfg.target is not None:
        counts = df[cfg.target].value_counts(dropna=False)
        if counts.min() >= 2:
            stratify = df[cfg.target].astype(str)
        else:
            log.warning("a class of %s has a single row; the split is not stratified", cfg.target)
    train, holdout = train_test_split(
        df, test_size=cfg.holdout_fraction, random_state=cfg.seed, stratify=stratify
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)
