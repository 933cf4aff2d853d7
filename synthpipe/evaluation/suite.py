"""The whole evaluation in one call: fidelity, utility (with a target) and privacy.

:func:`evaluate` returns plain JSON-able numbers for metrics.json and the report; it does not
decide publication. The caller adds the Great Expectations result as ``"synthetic_suite"`` and
applies :func:`synthpipe.evaluation.gates.gates`.

A part that fails unexpectedly is recorded as ``{"error": ...}`` instead of stopping the run, so
the other parts still reach the report; the gates then treat a missing privacy number as a
failure (fail closed). Invalid inputs (missing columns, empty tables) raise
:class:`synthpipe.errors.InputError` straight away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from synthpipe.config import GateConfig
from synthpipe.errors import SynthpipeError
from synthpipe.evaluation.columns import evaluated_columns
from synthpipe.evaluation.fidelity import fidelity_report
from synthpipe.evaluation.privacy import DensityModel, privacy_report
from synthpipe.evaluation.utility import utility_report
from synthpipe.jsonutil import to_jsonable as jsonable
from synthpipe.metadata import TableMetadata

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def _run(part: str, fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except SynthpipeError:
        raise
    except Exception as exc:  # one failed part must not hide the others from the report
        logger.exception("evaluation part %s failed", part)
        return {"error": f"{type(exc).__name__}: {exc}"}


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: TableMetadata,
    target: str | None = None,
    *,
    gates_cfg: GateConfig | None = None,
    seed: int = 0,
    pii_values: dict[str, pd.Series] | None = None,
    published: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    density_model: DensityModel | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the fidelity, utility and privacy reports on one synthetic table.

    Args:
        train: Real rows the model was trained on (after PII protection).
        holdout: Real rows never trained on.
        synthetic: Synthetic rows (modelled columns at least).
        metadata: Column kinds of these tables.
        target: Label column for the utility report; None skips utility (``"utility": None``).
        gates_cfg: Not applied here (gates run after the suite result is added); when given,
            its thresholds are copied into the result under ``"gate_config"`` for the record.
        seed: Seed of every sample, split and model.
        pii_values: ``{column: real direct-identifier values before protection}``; None skips
            the PII scan, ``{}`` states there are none.
        published: The full output frame (faked ids included) scanned for PII; defaults to
            ``synthetic``.
        test: External real test set for the utility report (default: the holdout).
        density_model: Optional ``log_prob(df)`` model for the density-ratio attack.
        progress: Called as ``progress(part, done, total)`` before each part and at the end
            (``part == "done"``).

    Returns:
        ``{"fidelity", "utility", "privacy", "rows", "seconds"}`` (JSON-able); ``seconds`` has
        one entry per part and ``total``.

    Raises:
        InputError: A table is empty or lacks a modelled column, or the target is missing.
    """
    frames = {"train": train, "holdout": holdout, "synthetic": synthetic}
    evaluated_columns(metadata, frames)
    parts = ["fidelity", "privacy"] + (["utility"] if target is not None else [])
    total = len(parts)
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {"utility": None}
    start = time.perf_counter()

    def _step(part: str, fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        if progress is not None:
            progress(part, len(seconds), total)
        t0 = time.perf_counter()
        logger.info("evaluation: %s", part)
        results[part] = _run(part, fn, *args, **kwargs)
        seconds[part] = time.perf_counter() - t0

    if target is not None:
        _step("utility", utility_report, train, holdout, synthetic, target, metadata,
              seed=seed, test=test)
    _step("fidelity", fidelity_report, train, holdout, synthetic, metadata, seed=seed)
    # The published frame may carry faked ids that `synthetic` lacks; the PII scan must see
    # everything that leaves the building.
    _step("privacy", privacy_report, train, holdout, synthetic, metadata,
          seed=seed, pii_values=pii_values, density_model=density_model, pii_scan=published)
    seconds["total"] = time.perf_counter() - start
    if progress is not None:
        progress("done", total, total)

    out: dict[str, Any] = {
        "fidelity": results["fidelity"],
        "utility": results["utility"],
        "privacy": results["privacy"],
        "rows": {
            "train": len(train),
            "holdout": len(holdout),
            "synthetic": len(synthetic),
            "published": None if published is None else len(published),
            "test": None if test is None else len(test),
        },
        "seconds": seconds,
    }
    if gates_cfg is not None:
        out["gate_config"] = gates_cfg.model_dump()
    return jsonable(out)
