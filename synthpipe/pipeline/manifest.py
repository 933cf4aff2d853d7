"""manifest.json: where a run's output came from (input, columns, model, config, versions)."""

from __future__ import annotations

import getpass
import platform
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.pipeline.candidates import Candidate
from synthpipe.pipeline.plan import RunPlan
from synthpipe.pipeline.steps.input import Ingested
from synthpipe.pipeline.steps.protect import Protected

#: Packages whose versions the manifest records.
RECORDED_PACKAGES = (
    "synthpipe",
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "sdv",
    "ctgan",
    "rdt",
    "sdmetrics",
    "great-expectations",
    "prefect",
    "faker",
    "pydantic",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a run's result."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_manifest(
    *,
    cfg: RunConfig,
    plan: RunPlan,
    ing: Ingested,
    prot: Protected,
    train_rows: int,
    holdout_rows: int,
    best: Candidate,
    model: Any,
    output: pd.DataFrame | Any,
    verdict: dict,
    timings: dict[str, float],
    started: datetime,
    rebalance_auto: dict | None = None,
    peak_rss_mb: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """The manifest of a run, before :func:`synthpipe.pipeline.publish.publish` adds the verdict
    and the hashes of the files written.

    Args:
        cfg: The run configuration.
        plan: The run plan (candidates, modelled columns, output rows).
        ing: The ingested table.
        prot: The protected table (PII findings and actions).
        train_rows: Rows of the training split.
        holdout_rows: Rows of the holdout split.
        best: The candidate published.
        model: Its loaded synthesizer (parameters and device).
        output: The table published, or the folder of parts of a chunked output.
        verdict: The final gate verdict.
        timings: Seconds per step so far.
        peak_rss_mb: The process's peak resident memory (MB) at the end of each step so far.
        started: When the run started (UTC).
        rebalance_auto: What ``--rebalance auto`` tried and chose, or None.

    Returns:
        The manifest as a JSON-ready dict.
    """
    versions = package_versions()
    return {
        "synthpipe_version": versions["synthpipe"],
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "user": _user(),
        "host": platform.node(),
        "input": {
            "path": ing.path,
            "sha256": ing.sha256,
            "rows": ing.rows,
            "columns": ing.n_columns,
        },
        "rows": {
            "input": ing.rows,
            "train": train_rows,
            "holdout": holdout_rows,
            "synthetic": plan.n_rows,
            "published": len(output) if isinstance(output, pd.DataFrame) else plan.n_rows,
        },
        "columns": [
            {
                **m.to_dict(),
                "action": prot.actions.get(c, "keep" if c in plan.columns else "regenerate"),
                "modelled": c in plan.columns,
            }
            for c, m in ing.metadata.columns.items()
        ],
        "output_columns": list(best.published.columns),
        "output_mode": cfg.rebalance.mode if cfg.rebalance.spec else "synthetic",
        # --rebalance auto: every share tried on a validation part of the training rows.
        "rebalance_auto": rebalance_auto,
        # Augment mode's table is real training rows plus synthetic minority rows.
        "contains_real_rows": bool(cfg.rebalance.spec and cfg.rebalance.mode == "augment"),
        "use": ("inside the secure zone only: the table holds real training rows"
                if cfg.rebalance.spec and cfg.rebalance.mode == "augment"
                else "synthetic rows only"),
        "pii": {"findings": prot.findings, "actions": prot.action_log},
        "model": {
            "name": best.name,
            "requested": cfg.model.name,
            "candidates": list(plan.candidates),
            "cache_key": best.cache_key,
            "params": model.get_params(),
            "device": str(getattr(model, "device_", cfg.device.value)),
        },
        # Rule texts and support only: a dependency's lookup table stays in the model folder.
        "rules": [
            {k: r.to_state()[k] for k in ("text", "kind", "declared", "support", "rows")}
            for r in getattr(getattr(model, "rules_", None), "rules_", [])
        ],
        "sampling": best.plan,
        "config": cfg.public_dict(),
        "seed": cfg.seed,
        "versions": versions,
        "timings_seconds": timings,
        "peak_rss_mb_after_step": peak_rss_mb or {},
        "gates": {
            "publishable": verdict["publishable"],
            "failed": verdict.get("failed", []),
        },
        # Publishing marks a run that waits for a steward; finalizing records the decision.
        "approval": None,
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
