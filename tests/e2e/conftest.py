"""Helpers for driving the CLI as a user would."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthpipe.cli import app


@pytest.fixture(scope="session")
def cli(prefect_harness):
    """Invoke ``synthpipe`` in-process (one Prefect server for the session)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def direct_values(df: pd.DataFrame, columns: list[str]) -> set[str]:
    """Real values of direct-identifier columns, as normalised strings (4+ characters)."""
    vals = set()
    for c in columns:
        s = df[c].dropna().astype(str).str.strip().str.lower()
        vals |= set(s[s.str.len() >= 4])
    return vals


def cells(df: pd.DataFrame) -> set[str]:
    """Every cell of ``df`` as a normalised string."""
    out = set()
    for c in df.columns:
        out |= set(df[c].dropna().astype(str).str.strip().str.lower())
    return out
