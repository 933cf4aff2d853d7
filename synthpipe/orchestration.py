"""The Prefect flow: the steps of :mod:`synthpipe.pipeline`, each run as a Prefect task.

The flow takes the run configuration as a plain dict (so a deployment's parameters are the run
config) and hands :func:`synthpipe.pipeline.run_pipeline` a runner that wraps every step in a
task. With no ``PREFECT_API_URL`` set, Prefect starts its embedded server on SQLite; the
phone-home switches are turned off by :func:`quiet_defaults` before Prefect is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Environment defaults that keep every library offline and quiet (a user's setting wins).
PHONE_HOME_OFF = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "SDV_DISABLE_TELEMETRY": "1",
    # A fresh PREFECT_HOME on 2 cores can take more than Prefect's default 20 s to start.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def quiet_defaults() -> None:
    """Set the phone-home-off defaults in this process (before Prefect or GX are imported)."""
    for key, value in PHONE_HOME_OFF.items():
        os.environ.setdefault(key, value)


quiet_defaults()

from prefect import flow, get_run_logger, task  # noqa: E402  (after the environment defaults)
from prefect.cache_policies import NO_CACHE  # noqa: E402

from synthpipe.config import RunConfig  # noqa: E402
from synthpipe.pipeline import ProgressFn, RunResult, run_pipeline  # noqa: E402

#: Per-step task options: retries only where a retry can help (I/O and sampling are
#: deterministic given a seed, so a retry repeats the same work after a transient failure).
TASK_OPTIONS: dict[str, dict[str, Any]] = {
    "ingest": {"retries": 2, "retry_delay_seconds": 2},
    "publish": {"retries": 2, "retry_delay_seconds": 2},
}

# The CLI's progress bar cannot travel as a flow parameter (deployments serialize parameters),
# so the in-process caller registers it here for the duration of one run.
_progress: ProgressFn | None = None


def _train_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Prefect cache key of the train task: the pipeline's training key (input hash + config)."""
    return str(parameters["key"])


class PrefectRunner:
    """Runs each pipeline step as a Prefect task of the current flow run.

    ``map`` submits one task per call to the flow's task runner (threads by default, Dask
    workers with ``--runner dask``) and waits for all of them.
    """

    def _task(self, name: str, fn: Callable[..., Any]) -> Any:
        opts = dict(TASK_OPTIONS.get(name, {}))
        if name == "train":
            # The train task returns the saved model's folder; Prefect caches that path under
            # the training key, so an unchanged table and config skip training (state Cached).
            opts.update(
                cache_key_fn=_train_cache_key, persist_result=True, result_serializer="json"
            )
        else:
            opts.setdefault("cache_policy", NO_CACHE)
        return task(fn, name=name, **opts)

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._task(name, fn)(*args, **kwargs)

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        step_task = self._task(name, fn)
        if len(calls) == 1:
            return [step_task(*calls[0])]
        futures = [step_task.submit(*args) for args in calls]
        return [f.result() for f in futures]


@flow(name="synthesize-table", log_prints=False)
def synthesize_table(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Synthesize one table end to end (the ``synthesize-table`` flow).

    Args:
        config: A :class:`synthpipe.config.RunConfig` as a dict; None runs the bundled sample.

    Returns:
        A JSON-able summary: output folder, verdict, main scores.
    """
    logger = get_run_logger()
    cfg = RunConfig(**(config or {}))
    logger.info("synthesizing %s with %s", cfg.table, cfg.model.name)
    result = run_pipeline(cfg, progress=_progress, runner=PrefectRunner())
    logger.info(
        "run folder %s: %s", result.out_dir, "published" if result.publishable else "QUARANTINED"
    )
    return summarize(result)


def summarize(result: RunResult) -> dict[str, Any]:
    """The JSON-able summary a flow run returns."""
    return {
        "out_dir": str(result.out_dir),
        "publishable": result.publishable,
        "synthetic": str(result.synthetic_path),
        "manifest": str(result.manifest_path),
        "metrics": str(result.metrics_path),
        "report": str(result.report_path) if result.report_path else None,
        "failed_gates": result.metrics.get("gates", {}).get("failed", []),
    }


def run_flow(cfg: RunConfig, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run the flow in this process with an optional progress callback (used by the CLI).

    Errors raised inside a step surface unchanged (Prefect re-raises the task's exception).
    """
    global _progress
    _progress = progress
    try:
        return synthesize_table(cfg.public_dict())
    finally:
        _progress = None
