"""Session-wide test settings: offline, quiet, fast."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Phone-home off and Prefect's start-up timeout raised, before any library is imported.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # as the CLI's default
# Trained-model cache of this test session only: tests never reuse a developer's models.
os.environ["SYNTHPIPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="synthpipe-test-cache-")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "sample_data" / "claims.parquet"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets (../shared/data); their absence is a setup error, not a skip."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"{SHARED_DATA} is missing: tests need ../shared/data beside the repo")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (start-up costs 10-30 s on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def window_outside(age: Any, on: Any, lo: Any, hi: Any) -> Any:
    """Rows whose birth-date window for ``age`` on ``on`` (pandas Series) lies wholly outside
    ``[lo, hi]``: born after ``on`` minus ``age + 1`` years and no later than ``on`` minus
    ``age`` years."""
    import pandas as pd

    pairs = list(zip(age, on, strict=True))
    latest = pd.Series([d - pd.DateOffset(years=int(a)) for a, d in pairs], index=age.index)
    earliest = pd.Series([d - pd.DateOffset(years=int(a) + 1) + pd.Timedelta(days=1)
                          for a, d in pairs], index=age.index)
    return (latest < lo) | (earliest > hi)
