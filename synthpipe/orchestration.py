"""The Prefect flow: the steps of :mod:`synthpipe.pipeline`, each run as a Prefect task.

The flow takes the run configuration as a plain dict (so a deployment's parameters are the run
config) and hands :func:`synthpipe.pipeline.run_pipeline` a runner that wraps every step in a
task. With no ``PREFECT_API_URL`` set, Prefect starts its embedded server on SQLite; the
phone-home switches are turned off by :func:`quiet_defaults` before Prefect is imported.

States: a published run ends Completed; a quarantined one (a blocking gate failed, or a steward
rejected it) ends ``Failed(name="Quarantined")`` with a message naming the failed gates, so the
server's UI, automations and alerts see it as a failure; its summary stays the state's result.
Logs: synthpipe's own loggers (INFO and up) go to the Prefect API while a flow or task run is
active, whatever ``PREFECT_LOGGING_LEVEL`` says about Prefect's own lines.

Scale-out: with ``runner: dask`` the same flow runs as a subflow on prefect-dask's
``DaskTaskRunner``, on a local cluster or on an existing scheduler (``dask_address``); candidate
models then train on separate workers.

Approval: with ``approval: required`` the run folder is written as awaiting approval (report
built, table under ``pending/``), a link artifact points at the report, and the flow pauses
until a steward answers (:mod:`synthpipe.steward`: ``synthpipe approve|reject RUN`` or the
Prefect UI). The decision then finalizes the folder and is
recorded in its review log (:mod:`synthpipe.pipeline.approval`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthpipe._env import quiet_defaults

quiet_defaults()

from prefect import flow, task  # noqa: E402  (after the environment defaults)
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.logging.handlers import APILogHandler  # noqa: E402
from prefect.states import Failed, State  # noqa: E402

from synthpipe.config import Approval, RunConfig, Runner  # noqa: E402
from synthpipe.dask_runner import dask_task_runner  # noqa: E402
from synthpipe.errors import ConfigError, SynthpipeError  # noqa: E402
from synthpipe.pipeline import ProgressFn, RunResult, run_pipeline  # noqa: E402
from synthpipe.steward import ask_steward  # noqa: E402

log = logging.getLogger(__name__)

#: Name of the Failed state a quarantined run ends in.
QUARANTINED = "Quarantined"


class _InRun(logging.Filter):
    """Pass records emitted inside a Prefect flow or task run (the API handler needs one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.context import FlowRunContext, TaskRunContext

        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def send_logs_to_api() -> None:
    """Send the ``synthpipe`` loggers' records (INFO and up) to the Prefect API during runs.

    Idempotent. Prefect forwards only its run loggers by itself; the pipeline logs through
    ``synthpipe.*`` loggers, which would otherwise never reach the server. The logger's level
    is set only when nobody set it (an application that configured it keeps its choice).
    """
    pkg = logging.getLogger("synthpipe")
    if not any(isinstance(h, APILogHandler) for h in pkg.handlers):
        handler = APILogHandler()
        handler.addFilter(_InRun())
        pkg.addHandler(handler)
    if pkg.level == logging.NOTSET:
        pkg.setLevel(logging.INFO)


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
#: process, ``--model auto``'s candidates trained and were evaluated slower than one after the
#: other (docs/cpu-efficiency.md). Sampling output parts still overlaps (its decoding and
#: parquet writing are single-threaded, so two parts side by side finish sooner).
ALL_CORES_STEPS = frozenset({"train", "evaluate"})

#: In one process, at most this many calls of a mapped step run side by side (the rest wait
#: for a slot). Each output part holds its synthetic rows, their decoding and the faked
#: columns in memory: three 250,000-row parts of a 40-column table side by side took a
#: million-row run from 4.9 to 6.4 GB (docs/scale.md); two keep the overlap that helps.
LOCAL_PARALLEL_CALLS = 2


#: With ``runner: dask``, whether a step called once (one model's training, sampling and
#: evaluation) is sent to a Dask worker too. Measured on 2 cores (docs/dask.md): a single
#: model gains nothing there and loses the cluster's start-up, so Dask serves the steps that
#: fan out (``--model auto``'s candidates, the chunks of a large output) and single calls run
#: in the flow's process, recorded as ``local``.
SINGLE_CALLS_ON_DASK = False


class PrefectRunner:
    """Runs each pipeline step as a Prefect task of the current flow run.

    ``map`` submits one task per call to the flow's task runner (threads by default, Dask
    workers with ``runner: dask``) and waits for all of them; without Dask, the steps in
    :data:`ALL_CORES_STEPS` run one after another instead. A step called once runs in the
    flow's process (see :data:`SINGLE_CALLS_ON_DASK`). :attr:`placement` records where each
    step ran: ``dask`` (on Dask workers) or ``local`` (in the flow's process).

    Args:
        distributed: The flow's task runner spreads tasks over several workers (Dask).
    """

    def __init__(self, distributed: bool = False) -> None:
        self.distributed = distributed
        self.placement: dict[str, str] = {}

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

    def _place(self, name: str, where: str) -> None:
        # A step seen twice (train_again after a lost cache) keeps the wider placement.
        if self.placement.get(name) != "dask":
            self.placement[name] = where

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._place(name, "local")
        if name == "publish":
            args = tuple(self._with_placement(a) for a in args)
        return self._task(name, fn)(*args, **kwargs)

    def _with_placement(self, arg: Any) -> Any:
        """The manifest handed to publish, plus where the steps ran (``placement``).

        The manifest's ``config.runner`` is what was asked for; ``placement.steps`` is what
        happened (with ``runner: dask`` a single model's steps run in the flow's process).
        """
        if isinstance(arg, dict) and "timings_seconds" in arg and "config" in arg:
            from prefect.runtime import flow_run

            requested = (arg.get("config") or {}).get("runner")
            return {**arg, "placement": {"requested": requested, "steps": dict(self.placement)},
                    "prefect": {"flow_run_id": flow_run.id, "flow_run_name": flow_run.name}}
        return arg

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        step_task = self._task(name, fn)
        on_dask = self.distributed and (len(calls) > 1 or SINGLE_CALLS_ON_DASK)
        if not on_dask and (len(calls) == 1 or name in ALL_CORES_STEPS):
            self._place(name, "local")
            return [step_task(*args) for args in calls]
        self._place(name, "dask" if self.distributed else "local")
        if on_dask:
            futures = [step_task.submit(*args) for args in calls]
            return [f.result() for f in futures]
        results: list[Any] = []
        for start in range(0, len(calls), LOCAL_PARALLEL_CALLS):
            wave = [step_task.submit(*args) for args in calls[start:start + LOCAL_PARALLEL_CALLS]]
            results += [f.result() for f in wave]
        return results


def _run(cfg: RunConfig) -> dict[str, Any] | State:
    log.info("synthesizing %s with %s", cfg.table, cfg.model.name)
    # The progress bar lives in this process; Dask workers report through Prefect's logs.
    progress = _progress if cfg.runner == Runner.LOCAL else None
    approve = ask_steward if cfg.approval == Approval.REQUIRED else None
    runner = PrefectRunner(distributed=cfg.runner == Runner.DASK)
    result = run_pipeline(cfg, progress=progress, runner=runner, approve=approve)
    _artifacts(result)
    summary = {**summarize(result), "placement": dict(runner.placement)}
    if result.publishable:
        log.info("run folder %s: published", result.out_dir)
        return summary
    message = quarantine_message(summary)
    log.info("run folder %s: %s", result.out_dir, message)
    return Failed(name=QUARANTINED, message=message, data=summary)


def quarantine_message(summary: dict[str, Any]) -> str:
    """The one line a quarantined run's state carries: which gates failed, where the data is."""
    gates = ", ".join(summary.get("failed_gates") or []) or "unknown"
    return f"quarantined: failed gates {gates}; dataset held in {summary['synthetic']}"


def is_quarantined(state: State) -> bool:
    """Whether a flow run's final state is the quarantine of a finished run."""
    return state.is_failed() and state.name == QUARANTINED


@flow(name="synthesize-table-dask", log_prints=False)
def _synthesize_on_dask(config: dict[str, Any]) -> dict[str, Any] | State:
    """The same run with the tasks on Dask (its task runner is set per call)."""
    return _run(RunConfig(**config))


@flow(name="synthesize-table", log_prints=False)
def synthesize_table(config: dict[str, Any] | None = None) -> dict[str, Any] | State:
    """Synthesize one table end to end (the ``synthesize-table`` flow).

    A published run completes with the summary as its result. A quarantined run ends in
    ``Failed(name="Quarantined")`` (message: the failed gates), its result still the summary:
    call with ``return_state=True`` and read it with ``state.result(raise_on_failure=False)``.

    Args:
        config: A :class:`synthpipe.config.RunConfig` as a dict; None runs the bundled sample.

    Returns:
        A JSON-able summary: output folder, verdict, failed gates.
    """
    send_logs_to_api()
    cfg = RunConfig(**(config or {}))
    if cfg.runner == Runner.DASK:
        dask_flow = _synthesize_on_dask.with_options(task_runner=dask_task_runner(cfg))
        state = dask_flow(cfg.public_dict(), return_state=True)
        if is_quarantined(state):
            # The parent ends in the same named state (a returned child state would be
            # summarised as a plain "Failed").
            return Failed(
                name=QUARANTINED, message=state.message,
                data=state.result(raise_on_failure=False),
            )
        return state.result()  # a step's error surfaces unchanged
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
        f"# synthpipe run: {_headline(result)}",
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


def _headline(result: RunResult) -> str:
    if not result.publishable:
        return "QUARANTINED"
    return "published" if result.verdict == "published" else "secure zone only (real rows)"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def summarize(result: RunResult) -> dict[str, Any]:
    """The JSON-able summary a flow run returns."""
    return {
        "out_dir": str(result.out_dir),
        "publishable": result.publishable,
        "verdict": result.verdict,
        "synthetic": str(result.synthetic_path),
        "manifest": str(result.manifest_path),
        "metrics": str(result.metrics_path),
        "report": str(result.report_path) if result.report_path else None,
        "failed_gates": result.metrics.get("gates", {}).get("failed", []),
    }


def run_flow(cfg: RunConfig, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run the flow in this process with an optional progress callback (used by the CLI).

    Returns the run's summary, for a quarantined run too (``publishable`` False). Errors raised
    inside a step surface unchanged (Prefect re-raises the task's exception).
    """
    global _progress
    _progress = progress
    try:
        state = synthesize_table(cfg.public_dict(), return_state=True)
    finally:
        _progress = None
    if is_quarantined(state):
        return state.result(raise_on_failure=False)
    return state.result()


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
