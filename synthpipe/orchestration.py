"""The Prefect flow: the steps of :mod:`synthpipe.pipeline`, each run as a Prefect task.

The flow takes the run configuration as a plain dict (so a deployment's parameters are the run
config) and hands :func:`synthpipe.pipeline.run_pipeline` a runner that wraps every step in a
task. With no ``PREFECT_API_URL`` set, Prefect starts its embedded server on SQLite; the
phone-home switches are turned off by :func:`quiet_defaults` before Prefect is imported.

Scale-out: with ``runner: dask`` the same flow runs as a subflow on prefect-dask's
``DaskTaskRunner``, on a local cluster or on an existing scheduler (``dask_address``); candidate
models then train on separate workers. Approval: with ``approval: required`` the flow pauses
before publishing until a steward resumes it with an :class:`ApprovalInput`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from synthpipe._env import quiet_defaults

quiet_defaults()

from prefect import flow, get_run_logger, task  # noqa: E402  (after the environment defaults)
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.input import RunInput  # noqa: E402

from synthpipe.config import Approval, RunConfig, Runner  # noqa: E402
from synthpipe.errors import ConfigError, SynthpipeError  # noqa: E402
from synthpipe.pipeline import ProgressFn, RunResult, run_pipeline  # noqa: E402


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only errors that may pass: a SynthpipeError (bad input, config) never will."""
    return not isinstance(getattr(state, "data", None), SynthpipeError)


#: Per-step task options: retries only where a retry can help (reading and writing files can
#: meet a transient storage error; training and sampling are deterministic given a seed).
TASK_OPTIONS: dict[str, dict[str, Any]] = {
    "ingest": {"retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": _transient},
    "publish": {"retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": _transient},
}

# The CLI's progress bar cannot travel as a flow parameter (deployments serialize parameters),
# so the in-process caller registers it here for the duration of one run.
_progress: ProgressFn | None = None


def _train_cache_key(context: Any, parameters: dict[str, Any]) -> str | None:
    """Prefect cache key of the train task: the pipeline's training key (input hash + config).

    None (no caching: Prefect neither looks up nor stores a result) when the run's config turns
    the cache off (``--no-cache``), so such a run always trains.
    """
    if not parameters["cfg"].cache:
        return None
    return str(parameters["key"])


#: Mapped steps whose every call already keeps all cores busy (torch training; evaluation's
#: classifiers and attacks). On one machine they run in turn: side by side in threads of one
#: process, ``--model auto``'s candidates trained 1.09x and were evaluated 1.48x slower
#: (insurance_claims, tvae + tabddpm, medians of 3 runs). Sampling output parts still overlaps
#: (its decoding and parquet writing are single-threaded): 18-21 s side by side against 23 s
#: in turn for four 25,000-row parts.
ALL_CORES_STEPS = frozenset({"train", "evaluate"})


class PrefectRunner:
    """Runs each pipeline step as a Prefect task of the current flow run.

    ``map`` submits one task per call to the flow's task runner (threads by default, Dask
    workers with ``runner: dask``) and waits for all of them; without Dask, the steps in
    :data:`ALL_CORES_STEPS` run one after another instead.

    Args:
        distributed: The flow's task runner spreads tasks over several workers (Dask).
    """

    def __init__(self, distributed: bool = False) -> None:
        self.distributed = distributed

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
        if len(calls) == 1 or (name in ALL_CORES_STEPS and not self.distributed):
            return [step_task(*args) for args in calls]
        futures = [step_task.submit(*args) for args in calls]
        return [f.result() for f in futures]


class ApprovalInput(RunInput):
    """What a steward sends to resume a paused run (Prefect UI or :func:`send_decision`)."""

    approve: bool
    reviewer: str
    comment: str = ""


def _ask_steward(summary: dict[str, Any]) -> dict[str, Any]:
    """Pause the flow run until a steward approves or rejects publication."""
    from prefect.flow_runs import pause_flow_run

    logger = get_run_logger()
    logger.warning(
        "waiting for steward approval: gates %s; resume the flow run with approve/reviewer/comment",
        "passed" if summary["publishable"] else "FAILED",
    )
    timeout = int(os.environ.get("SYNTHPIPE_APPROVAL_TIMEOUT", "86400"))
    answer = pause_flow_run(wait_for_input=ApprovalInput, timeout=timeout, poll_interval=2)
    return {
        "decision": "approved" if answer.approve else "rejected",
        "by": answer.reviewer,
        "comment": answer.comment,
        "at": datetime.now(UTC).isoformat(),
    }


def _dask_task_runner(cfg: RunConfig) -> Any:
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            "runner 'dask' needs prefect-dask and distributed",
            hint="pip install 'synthpipe[dask]'",
        ) from exc
    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(cfg.dask_workers))


def local_cluster_kwargs(workers: int, cores: int | None = None) -> dict[str, Any]:
    """Keyword arguments of the local Dask cluster: ``workers`` processes of one task each.

    Each worker's torch gets ``cores // workers`` threads (at least 1), set through the worker
    processes' environment (libgomp reads it at load): with 2 trainings on 2 cores, each at 2
    threads, a step took 1.2-2.7x longer than at 1 thread each (bench/bench_threads.py, "pair").
    """
    cores = cores or os.cpu_count() or 1
    return {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "host": "127.0.0.1",
        "env": {"OMP_NUM_THREADS": str(max(1, cores // max(1, workers)))},
    }


def _run(cfg: RunConfig) -> dict[str, Any]:
    logger = get_run_logger()
    logger.info("synthesizing %s with %s", cfg.table, cfg.model.name)
    # The progress bar lives in this process; Dask workers report through Prefect's logs.
    progress = _progress if cfg.runner == Runner.LOCAL else None
    approve = _ask_steward if cfg.approval == Approval.REQUIRED else None
    runner = PrefectRunner(distributed=cfg.runner == Runner.DASK)
    result = run_pipeline(cfg, progress=progress, runner=runner, approve=approve)
    status = "published" if result.publishable else "QUARANTINED"
    logger.info("run folder %s: %s", result.out_dir, status)
    _artifacts(result)
    return summarize(result)


@flow(name="synthesize-table-dask", log_prints=False)
def _synthesize_on_dask(config: dict[str, Any]) -> dict[str, Any]:
    """The same run with the tasks on Dask (its task runner is set per call)."""
    return _run(RunConfig(**config))


@flow(name="synthesize-table", log_prints=False)
def synthesize_table(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Synthesize one table end to end (the ``synthesize-table`` flow).

    Args:
        config: A :class:`synthpipe.config.RunConfig` as a dict; None runs the bundled sample.

    Returns:
        A JSON-able summary: output folder, verdict, failed gates.
    """
    cfg = RunConfig(**(config or {}))
    if cfg.runner == Runner.DASK:
        dask_flow = _synthesize_on_dask.with_options(task_runner=_dask_task_runner(cfg))
        return dask_flow(cfg.public_dict())
    return _run(cfg)


def _artifacts(result: RunResult) -> None:
    """Prefect artifacts: a markdown summary, the gate table and the report's path."""
    gates = result.metrics.get("gates", {})
    rows = [
        {
            "gate": c["name"],
            "category": c.get("category", ""),
            "value": _fmt(c.get("value")),
            "threshold": f"{c.get('op', '')} {_fmt(c.get('threshold'))}",
            "status": c.get("status", "passed" if c.get("passed") else "failed"),
        }
        for c in gates.get("checks", [])
    ]
    create_table_artifact(key="synthpipe-gates", table=rows, description="Publication gates")
    fid = result.metrics.get("fidelity", {})
    lines = [
        f"# synthpipe run: {'published' if result.publishable else 'QUARANTINED'}",
        "",
        f"- output: `{result.synthetic_path}`",
        f"- report: `{result.report_path}`" if result.report_path else "- report: not built",
        f"- failed gates: {', '.join(gates.get('failed', [])) or 'none'}",
    ]
    for key in ("column_shapes", "pair_trends", "detection"):
        score = fid.get(key) or {}
        if "synthetic" in score:
            lines.append(
                f"- {key}: {_fmt(score.get('synthetic'))} (holdout {_fmt(score.get('holdout'))})"
            )
    create_markdown_artifact(
        key="synthpipe-summary", markdown="\n".join(lines), description="synthpipe run"
    )


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


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


# ----------------------------------------------------------------------------- deployments


def deploy(
    cfg: RunConfig,
    name: str,
    cron: str | None = None,
    work_pool: str = "synthpipe",
) -> str:
    """Register a scheduled deployment of ``synthesize-table`` with the Prefect API.

    The deployment's parameters are the run config; its code is this installed package (the
    entrypoint ``synthpipe/orchestration.py:synthesize_table`` under the package's parent
    folder), run by a process worker of ``work_pool`` (created when missing):
    ``prefect worker start --pool synthpipe``.

    Returns:
        The deployment id.
    """
    import asyncio
    from pathlib import Path

    import synthpipe

    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "deploy needs a Prefect server: PREFECT_API_URL is not set",
            hint="start one with `prefect server start --host 127.0.0.1` and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (or use `synthpipe serve`)",
        )
    asyncio.run(_ensure_pool(work_pool))
    source = str(Path(synthpipe.__file__).resolve().parent.parent)
    remote = synthesize_table.from_source(
        source=source, entrypoint="synthpipe/orchestration.py:synthesize_table"
    )
    deployment_id = remote.deploy(
        name=name,
        work_pool_name=work_pool,
        cron=cron,
        parameters={"config": cfg.public_dict()},
        description=f"synthpipe: synthesize {cfg.table}",
        tags=["synthpipe"],
        print_next_steps=False,
        build=False,
        push=False,
    )
    return str(deployment_id)


async def _ensure_pool(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        try:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            pass


def serve(cfg: RunConfig, name: str, cron: str | None = None) -> None:
    """Register the deployment and serve it from this process (no work pool needed)."""
    synthesize_table.serve(
        name=name,
        cron=cron,
        parameters={"config": cfg.public_dict()},
        description=f"synthpipe: synthesize {cfg.table}",
        tags=["synthpipe"],
        print_starting_message=True,
    )
