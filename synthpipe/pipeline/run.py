"""One run, composed: the steps in order, each executed by a :class:`StepRunner`.

The default runner calls each step directly; the Prefect flow (:mod:`synthpipe.orchestration`)
passes one that runs each step as a Prefect task. So the order of the steps is written once,
here, and every step's work lives in its stage module.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synthpipe.config import RunConfig
from synthpipe.metadata import TableMetadata
from synthpipe.pipeline.approval import approval_request, finalize
from synthpipe.pipeline.candidates import (
    Candidate,
    candidates_summary,
    select_candidate,
    try_candidates,
)
from synthpipe.pipeline.manifest import build_manifest
from synthpipe.pipeline.plan import RunPlan, make_plan
from synthpipe.pipeline.publish import RunResult, build_report, out_dir_for, publish
from synthpipe.pipeline.steps.assess import column_profiles, downstream
from synthpipe.pipeline.steps.input import (
    check_input_paths,
    ingest,
    table_stem,
    validate_input,
)
from synthpipe.pipeline.steps.protect import Protected, protect, split
from synthpipe.pipeline.steps.sample import augment, sample_all_chunks, staging_dir
from synthpipe.pipeline.steps.train import (
    ProgressFn,
    check_cache_dir,
    check_models,
    load_model,
)
from synthpipe.report.integrity import AWAITING

#: Temporary folders of the runs in progress in this process: a CLI stopped by a signal removes
#: them again after the run has unwound, in case a worker thread wrote after the first removal.
ACTIVE_WORKDIRS: set[str] = set()


def discard_workdirs() -> None:
    """Remove the temporary folders of every run still in progress in this process."""
    for path in list(ACTIVE_WORKDIRS):
        shutil.rmtree(path, ignore_errors=True)
        ACTIVE_WORKDIRS.discard(path)


class StepRunner(Protocol):
    """How the steps are executed: :class:`DirectRunner` here, Prefect tasks in orchestration."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one step and return its result."""
        ...

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        """Run one step once per argument tuple (concurrently where the runner can)."""
        ...


class DirectRunner:
    """Run every step in this process, one after the other (no orchestration)."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        return [fn(*args) for args in calls]


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


class _TimedRunner:
    """A runner that records each step's wall time, in seconds, under the step's name, and
    the process's peak resident memory when the step ended (``peak_rss_mb``: a high-water
    mark, so the step where it rises is the one that set it; Dask workers not counted)."""

    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self.timings: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float | None] = {}

    def _record(self, name: str, t0: float) -> None:
        self.timings[name] = round(time.perf_counter() - t0, 3)
        self.peak_rss_mb[name] = peak_rss_mb()

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = self.runner.run(name, fn, *args, **kwargs)
        self._record(name, t0)
        return result

    def map(self, name: str, fn: Callable[..., Any], calls: list[tuple]) -> list[Any]:
        t0 = time.perf_counter()
        result = self.runner.map(name, fn, calls)
        self._record(name, t0)
        return result


def preflight(cfg: RunConfig) -> Path:
    """Every check that needs no data, before any work: paths, then models.

    The input table must be readable, the metadata file and the expectation suite valid, the
    model cache (when on) and the run folder's parent writable, the run folder free, and every
    candidate model constructible. A caller may run it before starting an orchestrator, so a
    bad path fails in a second, not after a server start or a training.

    Returns:
        The run folder.

    Raises:
        SynthpipeError: The first problem found, naming the path or option and the fix.
    """
    out_dir = out_dir_for(cfg)
    check_input_paths(cfg)
    check_cache_dir(cfg)
    check_models(cfg)
    return out_dir


def run_pipeline(
    cfg: RunConfig,
    progress: ProgressFn | None = None,
    runner: StepRunner | None = None,
    approve: Callable[[dict], dict] | None = None,
) -> RunResult:
    """Run every step of a synthpipe job and publish (or quarantine) the result.

    Args:
        cfg: The run configuration.
        progress: Callback for training and sampling progress ``(phase, step, total, info)``.
        runner: How each step is executed (default: directly, in order).
        approve: With ``approval: required``: called once the run folder is written as
            awaiting approval (its report built, its table under ``pending/``), with the
            request of :func:`synthpipe.pipeline.approval.approval_request`; returns the
            steward's decision ``{"decision": "approve"|"reject", "by", "comment"}`` (and
            ``report_sha256``, the report as read), which finalizes the folder. Without it
            the run ends awaiting approval, for ``synthpipe approve|reject`` to decide.
            A rejection quarantines the dataset (gate ``steward_approval``).

    Returns:
        Paths of the outputs and the metrics; ``publishable`` False means quarantined.

    Raises:
        SynthpipeError: Bad input, configuration or contract, with a message naming the fix.
    """
    runner = runner or DirectRunner()
    started = datetime.now(UTC)
    out_dir = preflight(cfg)
    # Everything a run writes outside its run folder goes here or to the parts' staging
    # folder, and both go when the run ends, however it ends: without the cache, the trained
    # model (which holds category values of the real table) is only copied into the run folder.
    workdir = tempfile.mkdtemp(prefix="synthpipe-run-")
    ACTIVE_WORKDIRS.add(workdir)
    try:
        return _run(cfg, runner, out_dir, workdir, started, progress, approve)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        ACTIVE_WORKDIRS.discard(workdir)
        shutil.rmtree(staging_dir(out_dir), ignore_errors=True)


def _run(
    cfg: RunConfig,
    runner: StepRunner,
    out_dir: Path,
    workdir: str,
    started: datetime,
    progress: ProgressFn | None,
    approve: Callable[[dict], dict] | None,
) -> RunResult:
    """The steps of :func:`run_pipeline`, in order, once the paths are checked."""
    steps = _TimedRunner(runner)
    ing = steps.run("ingest", ingest, cfg)
    contract = steps.run("validate_input", validate_input, ing.df, cfg)
    prot = steps.run("protect", protect, ing.df, ing.metadata, cfg)
    ing.release()  # from here on every step reads the protected copy
    train, holdout = steps.run("split", split, prot.df, cfg)
    auto = None
    if cfg.rebalance.spec == "auto":
        cfg, auto = _choose_rebalance(steps, cfg, ing, prot, train, progress)
    plan = make_plan(cfg, ing.metadata, prot.actions, train)
    meta = ing.metadata.subset(list(plan.columns))
    # Declared rules are checked on every real row before any training (an input error names
    # the rows that break one); training checks them again on its split.
    from synthpipe.rules import declared_rules

    declared_rules(cfg.rules.declared, prot.df, list(plan.columns), cfg.target)
    candidates = try_candidates(
        steps, cfg, plan, ing, prot, train, holdout, meta, contract, progress, workdir,
        f"{table_stem(ing.path)}-{out_dir.name}-derived",
    )
    return _finish(steps, runner, cfg, plan, candidates, ing, prot, train, holdout, meta,
                   out_dir, started, approve, auto)


def _choose_rebalance(steps: _TimedRunner, cfg: RunConfig, ing: Any, prot: Protected,
                      train: pd.DataFrame, progress: ProgressFn | None
                      ) -> tuple[RunConfig, dict[str, Any]]:
    """``--rebalance auto``: the run's config with the chosen share, and the record of why."""
    from synthpipe.pipeline.steps.choose import choose_rebalance

    natural = cfg.model_copy(update={"rebalance": cfg.rebalance.model_copy(update={"spec": None})})
    base = make_plan(natural, ing.metadata, prot.actions, train)
    cols = list(base.columns)
    judge = "tabddpm" if cfg.model.name == "auto" else cfg.model.name
    choice = steps.run("choose_rebalance", choose_rebalance, train[cols],
                       ing.metadata.subset(cols), cfg, judge, progress)
    update: dict[str, Any] = {
        "rebalance": cfg.rebalance.model_copy(update={"spec": choice["spec"]})}
    if choice.get("guidance_scale") is not None and judge == cfg.model.name:
        # The run's model samples with the guidance the judge chose.
        update["model"] = cfg.model.model_copy(update={"params": {
            **cfg.model.params, "guidance_scale": choice["guidance_scale"]}})
    return cfg.model_copy(update=update), choice


def _finish(steps: _TimedRunner, runner: StepRunner, cfg: RunConfig, plan: RunPlan,
            candidates: list[Candidate], ing: Any, prot: Protected, train: pd.DataFrame,
            holdout: pd.DataFrame, meta: TableMetadata, out_dir: Any, started: datetime,
            approve: Callable[[dict], dict] | None, auto: dict | None = None) -> RunResult:
    """Choose, assess, gate and publish the best candidate (the rest of :func:`run_pipeline`)."""
    from synthpipe.config import Approval
    from synthpipe.evaluation.gates import chunk_leak_check, with_check

    best = candidates[select_candidate(candidates)]
    output, assessed = _assess_best(
        steps, cfg, plan, best, prot, ing.metadata, meta, train, holdout
    )
    if len(candidates) > 1:
        assessed["candidates"] = candidates_summary(candidates, best)
    verdict = best.verdict
    if plan.chunked:
        output, assessed["chunks"] = steps.run(
            "sample_chunks", sample_all_chunks,
            runner, best, list(plan.chunks), cfg, prot, ing.metadata, out_dir,
        )
        verdict = with_check(verdict, chunk_leak_check(assessed["chunks"], cfg.gates))
    metrics = {**best.metrics, "gates": verdict, **assessed}
    if auto is not None:
        metrics["rebalance_auto"] = auto
    manifest = build_manifest(
        cfg=cfg, plan=plan, ing=ing, prot=prot, train_rows=len(train), holdout_rows=len(holdout),
        best=best, model=load_model(best.model_path), output=output, verdict=verdict,
        timings=steps.timings, started=started, rebalance_auto=auto,
        peak_rss_mb=steps.peak_rss_mb,
    )
    result = steps.run(
        "publish", publish, out_dir, output, manifest, metrics, best.suite_json, best.model_path,
        verdict, build_report, prot.pii_values, cfg.approval == Approval.REQUIRED,
    )
    if result.verdict != AWAITING or approve is None:
        return result
    decision = approve(approval_request(result))
    return steps.run("finalize", finalize, out_dir, decision["decision"], decision["by"],
                     decision.get("comment", ""), decision.get("report_sha256"))


def _assess_best(
    steps: StepRunner,
    cfg: RunConfig,
    plan: RunPlan,
    best: Candidate,
    prot: Protected,
    metadata: TableMetadata,
    meta: TableMetadata,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """What only the chosen candidate gets: report profiles, the augmented table, the
    downstream check.

    ``metadata`` covers the input's columns, ``meta`` the modelled ones.

    Returns:
        The table to publish (the augmented one in ``augment`` mode) and the metrics sections
        ``profiles``, ``augment`` and ``downstream`` (those that apply), in that order.
    """
    cols = list(plan.columns)
    assessed: dict[str, Any] = {
        "profiles": column_profiles(train[cols], best.synthetic[cols], meta)
    }
    output, augmented = best.published, None
    if cfg.target is not None and cfg.rebalance.spec is not None:
        output, augmented, assessed["augment"] = steps.run(
            "augment", augment, best, train, prot, metadata, cols, plan.class_counts, cfg
        )
    if cfg.target is not None:
        assessed["downstream"] = steps.run(
            "downstream", downstream, train[cols], holdout[cols], best.synthetic[cols],
            augmented, plan.class_counts, meta, cfg,
        )
    return output, assessed


__all__ = ["DirectRunner", "RunResult", "StepRunner", "preflight", "run_pipeline"]
