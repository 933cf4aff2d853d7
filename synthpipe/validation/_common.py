"""What every part of the validation package shares: Great Expectations itself, one ephemeral
context per process, building expectations and suites, and the table check.

Great Expectations is imported inside functions because importing it takes seconds.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pandas as pd

from synthpipe.errors import InputError

# Validations share one GX context, which is not thread-safe.
LOCK = threading.RLock()
_BATCH_DEFINITION: Any = None


def gx_module():
    """Import great_expectations with analytics off (the caller may still turn it on)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def batch_definition():
    """The process-wide whole-dataframe batch definition of an ephemeral GX context.

    Creating a context, data source and asset is cheap but not free, and each validation only
    swaps the dataframe, so one is kept per process.
    """
    global _BATCH_DEFINITION
    with LOCK:
        if _BATCH_DEFINITION is None:
            gx = gx_module()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                # In-memory stores and no Data Docs site: nothing is written anywhere.
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                analytics_enabled=False,
                # tqdm bars on stderr would garble the CLI's own progress display.
                progress_bars=ProgressBarsConfig(globally=False),
            )
            context = gx.get_context(project_config=config, mode="ephemeral")
            source = context.data_sources.add_pandas(name="synthpipe")
            asset = source.add_dataframe_asset(name="table")
            _BATCH_DEFINITION = asset.add_batch_definition_whole_dataframe(name="whole_table")
        return _BATCH_DEFINITION


def expect(kind: str, meta_why: str | None = None, **kwargs: Any):
    """Build a GX expectation by class name, with a ``meta["why"]`` note when given."""
    cls = getattr(gx_module().expectations, kind)
    if meta_why is not None:
        kwargs["meta"] = {"why": meta_why}
    return cls(**kwargs)


def new_suite(name: str, expectations: list, meta: dict[str, Any] | None = None):
    gx = gx_module()
    suite_meta = {"synthpipe": meta} if meta else None
    return gx.ExpectationSuite(name=name, expectations=expectations, meta=suite_meta)


def require_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}",
                         hint="read the table with synthpipe.io.read_table first")


__all__ = ["LOCK", "batch_definition", "expect", "gx_module", "new_suite", "require_frame"]
